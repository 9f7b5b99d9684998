/* jtext.c -- JSON text helpers (see jtext.h). The escaping rules are
 * jansson's dump.c: '"' and '\\' escaped, \b \f \n \r \t by name, other
 * control bytes as \u00XX in upper-case hex, '/' and non-ASCII as they are;
 * a string that is not valid UTF-8 makes the whole dump fail. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "jtext.h"
#include "lt.h"

size_t lt_jtext_utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!n || (size_t)(end - p) < n) return 0;
    uint32_t v = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    return n;
}

const unsigned char *lt_jtext_plain_run(const unsigned char *p, const unsigned char *end)
{
    return lt_jtext_plain_run_inline(p, end);
}

/* A JSON integer as decimal text (snprintf's "%lld" without its format
 * parsing); 64-bit values, the most negative one included. */
void lt_jtext_put_int(lt_jtext *w, long long v)
{
    char num[24], *e = num + sizeof num, *p = e;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do { *--p = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) *--p = '-';
    lt_jtext_put(w, p, (size_t)(e - p));
}

/* The valid UTF-8 sequences from p on (p[0] >= 0x80): the end of the run,
 * NULL at an invalid sequence. Two- and three-byte sequences (the letters of
 * most non-English text) are checked here without a call, with the same
 * rules as lt_jtext_utf8_len: no overlong form (E0 needs A0-BF next), no
 * surrogate (ED needs 80-9F); four-byte ones go through lt_jtext_utf8_len. */
static inline const unsigned char *lt_jtext_utf8_run(const unsigned char *p, const unsigned char *end)
{
    while (p < end && *p >= 0x80) {
        unsigned c = p[0];
        if (c >= 0xC2 && c <= 0xDF && end - p >= 2 && (p[1] & 0xC0) == 0x80) {
            p += 2;
            continue;
        }
        if (c >= 0xE0 && c <= 0xEF && end - p >= 3 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
            (c != 0xE0 || p[1] >= 0xA0) && (c != 0xED || p[1] < 0xA0)) {
            p += 3;
            continue;
        }
        size_t k = lt_jtext_utf8_len(p, end);
        if (!k) return NULL;
        p += k;
    }
    return p;
}

/* lt_jtext_plain_run for a run inside the string [s, end): the last bytes of
 * a run (fewer than 16 before the string's end) are looked at with one load
 * of the string's last 16 bytes, shifted, instead of a byte at a time (every
 * string ends so, and a run ends at each letter beyond ASCII); a string
 * shorter than 16 bytes is looked at in a padded copy. The loads stay inside
 * the string. */
static inline const unsigned char *lt_jtext_run_in(const unsigned char *s, const unsigned char *p,
                                                   const unsigned char *end)
{
#ifdef __SSE2__
    p = lt_jtext_plain_blocks(p, end);
    if (end - p >= 16 || p == end) return p;   /* a byte found in a block, or nothing left */
    unsigned m;   /* the tail; a byte already found there is found again at its start */
    if (end - s >= 16) {
        m = lt_jtext_special_mask(_mm_loadu_si128((const __m128i *)(const void *)(end - 16))) >> (16 - (end - p));
    } else {
        unsigned char pad[16];
        memset(pad, ' ', sizeof pad);
        memcpy(pad, p, (size_t)(end - p));
        m = lt_jtext_special_mask(_mm_loadu_si128((const __m128i *)(const void *)pad));
    }
    return m ? p + __builtin_ctz(m) : end;
#else
    (void)s;
    return lt_jtext_plain_run_inline(p, end);
#endif
}

/* Bit 7 of some byte set if any of the 8 bytes in x is one that
 * lt_jtext_special_mask flags: below 0x20 (x - 0x20 borrows), a quote or a
 * backslash (x ^ c is zero, and zero - 1 borrows), or 0x80 and above. A
 * borrow only ever runs upward from a byte that is itself flagged, so the
 * answer is exact for "any", which is all this is asked. */
static inline uint64_t lt_jtext_swar_special(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = x ^ (ones * '"'), k = x ^ (ones * '\\');
    return ((x - ones * 0x20) | (q - ones) | (k - ones) | x) & high;
}

/* A string of at most 32 bytes with nothing to escape or check, written
 * whole with its quotes: its bytes are read and written as two overlapping
 * words (16, 8 or 4 bytes; three single bytes below 4), without the calls
 * and the padded copy of the general path. Most strings of a record are
 * such (keys, ids, times, enum values). 0 when it does not apply: the string
 * is longer, needs a look, or the buffer lacks room. */
static inline int lt_jtext_short_string(lt_jtext *w, const unsigned char *s, size_t n)
{
    lt_buf *b = &w->b;
    if (n > 32 || b->cap - b->len <= n + 2) return 0;
    unsigned char *o = b->data + b->len + 1;
    if (n >= 16) {
#ifdef __SSE2__
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
        __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(s + n - 16));
        if (lt_jtext_special_mask(x) | lt_jtext_special_mask(y)) return 0;
        _mm_storeu_si128((__m128i *)(void *)o, x);
        _mm_storeu_si128((__m128i *)(void *)(o + n - 16), y);
#else
        return 0;
#endif
    } else if (n >= 8) {
        uint64_t x, y;
        memcpy(&x, s, 8);
        memcpy(&y, s + n - 8, 8);
        if (lt_jtext_swar_special(x) | lt_jtext_swar_special(y)) return 0;
        memcpy(o, &x, 8);
        memcpy(o + n - 8, &y, 8);
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, s, 4);
        memcpy(&y, s + n - 4, 4);
        if (lt_jtext_swar_special((uint64_t)x | (uint64_t)y << 32)) return 0;
        memcpy(o, &x, 4);
        memcpy(o + n - 4, &y, 4);
    } else if (n) {
        unsigned char c0 = s[0], c1 = s[n / 2], c2 = s[n - 1];   /* every byte of 1-3 */
        if (lt_jtext_swar_special(c0 | (uint64_t)c1 << 8 | (uint64_t)c2 << 16 | 0x2020202020ull << 24)) return 0;
        o[0] = c0;
        o[n / 2] = c1;
        o[n - 1] = c2;
    }
    o[-1] = '"';
    o[n] = '"';
    b->len += n + 2;
    return 1;
}

/* Any string: runs of plain bytes copied as found, the rest escaped or
 * checked. Out of line, so its frame is only set up for the strings that
 * need it. */
static __attribute__((noinline)) int lt_jtext_string_any(lt_jtext *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    lt_jtext_put(b, "\"", 1);
    while (p < end) {
        const unsigned char *q = lt_jtext_run_in((const unsigned char *)s, p, end);
        while (q < end && *q >= 0x80) { /* valid UTF-8 is copied as it is */
            if (!(q = lt_jtext_utf8_run(q, end))) return -1;
            q = lt_jtext_run_in((const unsigned char *)s, q, end);
        }
        if (q > p) lt_jtext_put(b, p, (size_t)(q - p));
        if (q >= end) break;
        char esc[8];
        const char *e = *q == '"' ? "\\\"" : *q == '\\' ? "\\\\" : *q == '\b' ? "\\b" : *q == '\f' ? "\\f" :
                        *q == '\n' ? "\\n" : *q == '\r' ? "\\r" : *q == '\t' ? "\\t" : NULL;
        if (!e) { snprintf(esc, sizeof esc, "\\u%04X", (unsigned)*q); e = esc; }
        lt_jtext_put(b, e, strlen(e));
        p = q + 1;
    }
    lt_jtext_put(b, "\"", 1);
    return 0;
}

static inline int lt_jtext_string(lt_jtext *b, const char *s, size_t n)
{
    return lt_jtext_short_string(b, (const unsigned char *)s, n) ? 0 : lt_jtext_string_any(b, s, n);
}

static int lt_jtext_value(lt_jtext *b, const json_t *v, int depth);

static int lt_jtext_object(lt_jtext *b, const json_t *v, int depth)
{
    lt_jtext_put(b, "{", 1);
    int first = 1;
    for (void *it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it)) {
        if (!first) lt_jtext_put(b, ",", 1);
        first = 0;
        if (lt_jtext_string(b, json_object_iter_key(it), json_object_iter_key_len(it)) < 0) return -1;
        lt_jtext_put(b, ":", 1);
        if (lt_jtext_value(b, json_object_iter_value(it), depth + 1) < 0) return -1;
    }
    lt_jtext_put(b, "}", 1);
    return 0;
}

static int lt_jtext_array(lt_jtext *b, const json_t *v, int depth)
{
    lt_jtext_put(b, "[", 1);
    for (size_t i = 0; i < json_array_size(v); i++) {
        if (i) lt_jtext_put(b, ",", 1);
        if (lt_jtext_value(b, json_array_get(v, i), depth + 1) < 0) return -1;
    }
    lt_jtext_put(b, "]", 1);
    return 0;
}

/* Reals go through jansson: its shortest-round-trip formatting is the reference. */
static int lt_jtext_real(lt_jtext *b, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) return -1;
    lt_jtext_put(b, s, strlen(s));
    free(s);
    return 0;
}

static int lt_jtext_value(lt_jtext *b, const json_t *v, int depth)
{
    if (depth > 2048) return -1; /* jansson's own nesting limit */
    switch (json_typeof(v)) {
    case JSON_OBJECT: return lt_jtext_object(b, v, depth);
    case JSON_ARRAY: return lt_jtext_array(b, v, depth);
    case JSON_STRING: return lt_jtext_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: lt_jtext_put_int(b, json_integer_value(v)); return 0;
    case JSON_REAL: return lt_jtext_real(b, v);
    case JSON_TRUE: lt_jtext_put(b, "true", 4); return 0;
    case JSON_FALSE: lt_jtext_put(b, "false", 5); return 0;
    case JSON_NULL: lt_jtext_put(b, "null", 4); return 0;
    }
    return -1;
}

char *lt_jtext_dump(const json_t *v, size_t *len)
{
    lt_jtext w;
    if (!json_is_object(v) && !json_is_array(v)) return NULL; /* as json_dumps without JSON_ENCODE_ANY */
    if (lt_jtext_init(&w, 2048) < 0) return NULL; /* most records fit: no 256, 512, 1024 steps */
    if (lt_jtext_value(&w, v, 0) < 0) w.err = 1;
    return lt_jtext_finish(&w, len);
}

/* ---- the writer for text made piece by piece (records/) -------------------- */

int lt_jtext_init(lt_jtext *w, size_t reserve)
{
    w->err = 0;
    lt_buf_init(&w->b);
    return lt_buf_reserve(&w->b, reserve ? reserve : 1);
}

void lt_jtext_put_slow(lt_jtext *w, const void *p, size_t n)
{
    if (lt_buf_append(&w->b, p, n) < 0) w->err = 1;
}

/* A failed piece leaves no bytes behind: what it wrote is cut off again. */
int lt_jtext_put_string(lt_jtext *w, const char *s, size_t n)
{
    size_t at = w->b.len;
    if (lt_jtext_string(w, s, n) == 0) return 0;
    w->b.len = at;
    return -1;
}

int lt_jtext_put_value(lt_jtext *w, const json_t *v)
{
    size_t at = w->b.len;
    if (v && lt_jtext_value(w, v, 0) == 0) return 0;
    w->b.len = at;
    return -1;
}

int lt_jtext_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        while (p < end && *p < 0x80) p++;
        if (p < end && !(p = lt_jtext_utf8_run(p, end))) return 0;
    }
    return 1;
}

char *lt_jtext_finish(lt_jtext *w, size_t *len)
{
    if (w->err || !w->b.data) { lt_buf_free(&w->b); return NULL; }
    w->b.data[w->b.len] = 0;   /* the room lt_jtext_put always leaves */
    *len = w->b.len;
    return (char *)w->b.data; /* lt_buf keeps a NUL after the data */
}

void lt_jtext_discard(lt_jtext *w) { lt_buf_free(&w->b); }
