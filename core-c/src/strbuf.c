/* strbuf.c — growable byte strings and JSON string escaping. */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool grow(strbuf *b, size_t extra) {
    if (b->oom) return false;
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = true;
        return false;
    }
    b->s = s;
    b->cap = cap;
    return true;
}

void strbuf_put(strbuf *b, const char *data, size_t n) {
    if (!grow(b, n)) return;
    memcpy(b->s + b->len, data, n);
    b->len += n;
    b->s[b->len] = 0;
}

void strbuf_puts(strbuf *b, const char *s) { strbuf_put(b, s, strlen(s)); }

void strbuf_putc(strbuf *b, char c) { strbuf_put(b, &c, 1); }

void strbuf_printf(strbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !grow(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void strbuf_json_str(strbuf *b, const char *s) {
    strbuf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': strbuf_puts(b, "\\\""); break;
        case '\\': strbuf_puts(b, "\\\\"); break;
        case '\n': strbuf_puts(b, "\\n"); break;
        case '\r': strbuf_puts(b, "\\r"); break;
        case '\t': strbuf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20) strbuf_printf(b, "\\u%04x", *p);
            else strbuf_putc(b, (char)*p);
        }
    }
    strbuf_putc(b, '"');
}

void strbuf_consume(strbuf *b, size_t n) {
    if (n >= b->len) {
        strbuf_clear(b);
        return;
    }
    memmove(b->s, b->s + n, b->len - n);
    b->len -= n;
    b->s[b->len] = 0;
}

void strbuf_clear(strbuf *b) {
    b->len = 0;
    if (b->s) b->s[0] = 0;
}

void strbuf_free(strbuf *b) {
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

char *strbuf_take(strbuf *b) {
    char *s = b->s;
    if (!s) s = calloc(1, 1);
    b->s = NULL;
    b->len = b->cap = 0;
    b->oom = false;
    return s;
}
