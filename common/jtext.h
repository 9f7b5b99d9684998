/* jtext.h -- JSON text: the UTF-8 rules jansson applies, and a compact writer.
 *
 * Every record is serialized once on its way to the spool (and again for
 * --json); jansson's json_dumps walks strings a code point at a time through a
 * callback and was most of the cost of storing. lt_jtext_dump writes the same
 * bytes as json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER), copying runs of
 * plain string bytes found 16 at a time, and a string of up to 32 bytes with
 * nothing to escape (most keys and values of a record) whole, tested a word
 * at a time; reals (rare in records) are written by jansson itself so their
 * formatting cannot drift. */
#ifndef LT_JTEXT_H
#define LT_JTEXT_H

#include <jansson.h>
#include <stddef.h>
#include <string.h>
#include "lt.h"
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Length of the UTF-8 sequence at p (lead byte >= 0x80), 0 when jansson would
 * reject it (bad lead or continuation, overlong, surrogate, above U+10FFFF). */
size_t lt_jtext_utf8_len(const unsigned char *p, const unsigned char *end);

#ifdef __SSE2__
/* Bit i set: byte i of v needs a look (a quote, a backslash, a control byte
 * or a byte >= 0x80; the signed compare puts those below 0x20 too). */
static inline unsigned lt_jtext_special_mask(__m128i v)
{
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                   _mm_cmplt_epi8(v, space));
    return (unsigned)_mm_movemask_epi8(special);
}
#endif

/* First byte at or after p that is a quote, a backslash, a control byte or
 * >= 0x80 (end if none). Inline too, for the scanner's short keys, where the
 * call cost as much as the scan. */
const unsigned char *lt_jtext_plain_run(const unsigned char *p, const unsigned char *end);

/* The 16-byte blocks of lt_jtext_plain_run: the first byte that needs a
 * look within them, or the start of the last < 16 bytes (which the caller
 * looks at its own way). Without SSE2: p. */
static inline const unsigned char *lt_jtext_plain_blocks(const unsigned char *p, const unsigned char *end)
{
#ifdef __SSE2__
    while (end - p >= 16) {
        unsigned m = lt_jtext_special_mask(_mm_loadu_si128((const __m128i *)(const void *)p));
        if (m) return p + __builtin_ctz(m);
        p += 16;
    }
#else
    (void)end;
#endif
    return p;
}

static inline const unsigned char *lt_jtext_plain_run_inline(const unsigned char *p, const unsigned char *end)
{
    p = lt_jtext_plain_blocks(p, end);
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
    return p;
}

/* json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER), byte for byte; malloc'ed,
 * *len set; NULL where json_dumps would fail (invalid UTF-8 in a string). */
char *lt_jtext_dump(const json_t *v, size_t *len);

/* A JSON text written piece by piece, with the same bytes for each value as
 * lt_jtext_dump: records/ writes its rows so, without a jansson tree per
 * column. A failed allocation is remembered and fails lt_jtext_finish; a
 * piece that is refused (invalid UTF-8) writes nothing. */
typedef struct lt_jtext {
    lt_buf b;
    int err;
} lt_jtext;

int lt_jtext_init(lt_jtext *w, size_t reserve);     /* 0, or -1 out of memory */
void lt_jtext_put_slow(lt_jtext *w, const void *p, size_t n);

/* Bytes as they are. Inline with the room check first: a record's text is
 * written in pieces of a few bytes (punctuation, keys, numbers), nearly
 * always into room the buffer already has. The room left is always at least
 * one byte (the check is strict, and lt_buf_append keeps one), and the NUL
 * goes there once, at the end (lt_jtext_finish). */
static inline void lt_jtext_put(lt_jtext *w, const void *p, size_t n)
{
    lt_buf *b = &w->b;
    if (b->cap - b->len > n) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
    } else {
        lt_jtext_put_slow(w, p, n);
    }
}
void lt_jtext_put_int(lt_jtext *w, long long v);
/* A quoted string; -1 (nothing written) where json_string would refuse it. */
int lt_jtext_put_string(lt_jtext *w, const char *s, size_t n);
/* Any value as lt_jtext_dump writes it; -1 (nothing written) on failure. */
int lt_jtext_put_value(lt_jtext *w, const json_t *v);
/* Whether s[0, n) is UTF-8 jansson accepts (NUL bytes aside). */
int lt_jtext_utf8_valid(const char *s, size_t n);
/* The text (malloc'd, NUL after it, *len set), or NULL after any failed
 * allocation; w is spent either way. */
char *lt_jtext_finish(lt_jtext *w, size_t *len);
void lt_jtext_discard(lt_jtext *w);

#endif
