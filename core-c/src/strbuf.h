/* strbuf.h — a growable byte string (internal to the core). */
#ifndef NEURONOS_STRBUF_H
#define NEURONOS_STRBUF_H
#include <stdbool.h>
#include <stddef.h>

typedef struct strbuf {
    char *s;    /* NUL-terminated when non-NULL */
    size_t len, cap;
    bool oom;   /* an append failed; the content is incomplete */
} strbuf;

void strbuf_put(strbuf *b, const char *data, size_t n);
void strbuf_puts(strbuf *b, const char *s);
void strbuf_putc(strbuf *b, char c);
void strbuf_printf(strbuf *b, const char *fmt, ...);
/* Appends s as a JSON string literal, quotes included. */
void strbuf_json_str(strbuf *b, const char *s);
void strbuf_consume(strbuf *b, size_t n); /* drops the first n bytes */
void strbuf_clear(strbuf *b);
void strbuf_free(strbuf *b);
/* Returns the malloc'd string (owned by the caller, "" when empty) and resets b. */
char *strbuf_take(strbuf *b);
#endif
