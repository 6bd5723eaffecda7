/* utf8.c — keeps token pieces from splitting a UTF-8 character across two stream events. */
#include "neuronos.h"

size_t neuronos_utf8_complete_prefix(const char *s, size_t n) {
    /* look back at most 3 bytes for the lead byte of the last sequence */
    size_t i = n;
    size_t back = 0;
    while (i > 0 && back < 4) {
        const unsigned char b = (unsigned char)s[i - 1];
        if ((b & 0xC0) != 0x80) { /* lead or ASCII byte */
            size_t need = 1;
            if (b >= 0xF0) need = 4;
            else if (b >= 0xE0) need = 3;
            else if (b >= 0xC0) need = 2;
            /* complete when the sequence starting at i-1 has all its bytes */
            return (n - (i - 1) >= need) ? n : i - 1;
        }
        i--;
        back++;
    }
    return n; /* only continuation bytes (invalid UTF-8): pass them on rather than hold forever */
}
