/* buf.c -- the growable byte buffer used for message heads, bodies and
 * reassembly. Grows geometrically; keeps a NUL after the data so text parsers
 * (jansson, strtol) can read it in place without a copy. */
#include <stdlib.h>
#include <string.h>
#include "lt.h"
#include "oom.h"

void lt_buf_init(lt_buf *b) { b->data = NULL; b->len = b->cap = 0; }

size_t lt_buf_grown_cap(const lt_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return b->cap;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    return cap;
}

/* Out of line, so the note does not keep lt_buf_reserve from being inlined. */
__attribute__((cold, noinline)) static int lt_buf_oom(void)
{
    lt_oom_note();
    return -1;
}

int lt_buf_reserve(lt_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return 0;
    size_t cap = lt_buf_grown_cap(b, extra);
    uint8_t *d = realloc(b->data, cap);
    if (!d) return lt_buf_oom();
    b->data = d;
    b->cap = cap;
    return 0;
}

int lt_buf_append(lt_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap && lt_buf_reserve(b, n) < 0) return -1;   /* the room test inline */
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

void lt_buf_consume(lt_buf *b, size_t n)
{
    if (n >= b->len) { b->len = 0; if (b->data) b->data[0] = 0; return; }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = 0;
}

void lt_buf_reset(lt_buf *b) { b->len = 0; if (b->data) b->data[0] = 0; }

void lt_buf_free(lt_buf *b) { free(b->data); lt_buf_init(b); }
