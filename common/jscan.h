/* jscan.h -- a strict, allocation-free JSON scanner over a byte span.
 *
 * For the hot path of streamed answers (parsers/aoai.c), and for the uploader
 * to tell a stored record it can send as it is (uploader/uploader.c): thousands of small
 * SSE chunks of a few known shapes, where building a jansson tree per chunk
 * cost more than everything else together. The scanner walks objects and
 * arrays in place, hands out strings as spans of the input (decoded only
 * when their bytes are kept), and skips every other value.
 *
 * It accepts only what jansson's decoder accepts (RFC 8259 grammar, valid
 * UTF-8, no control characters or \u0000 in strings, no lone surrogates, no
 * trailing bytes, integers that fit, no leading zeros) and rejects some
 * valid input it does not bother with (very long numbers, deep nesting):
 * on any rejection the caller parses the input with jansson instead, so the
 * scanner decides speed, never meaning. */
#ifndef LT_JSCAN_H
#define LT_JSCAN_H

#include <stddef.h>
#include <string.h>
#include <jansson.h>
#include "lt.h"

typedef struct lt_jscan {
    const char *p, *end;
    int depth;
} lt_jscan;

/* A string of the input: the bytes between the quotes, still escaped. */
typedef struct lt_jstr {
    const char *s;
    size_t n;
    int escaped;        /* contains a backslash escape */
} lt_jstr;

void lt_jscan_init(lt_jscan *j, const char *p, size_t n);
/* Skips whitespace; the next byte, or -1 at the end. Inline for the usual
 * case (no whitespace: the chunks of the hot path have none), the loop in
 * lt_jscan_peek_ws. */
int lt_jscan_peek_ws(lt_jscan *j);
static inline int lt_jscan_peek(lt_jscan *j)
{
    if (j->p < j->end && (unsigned char)*j->p > ' ') return (unsigned char)*j->p;
    return lt_jscan_peek_ws(j);
}
/* Consumes byte c (after whitespace); 0, or -1 if something else is there. */
int lt_jscan_expect(lt_jscan *j, char c);
/* A string value; 0, or -1 (invalid or not a string). */
int lt_jscan_string(lt_jscan *j, lt_jstr *out);
/* A plain integer (no fraction or exponent, fits in a long); 0 or -1. */
int lt_jscan_int(lt_jscan *j, long *out);
/* The literal null; 1 if it was there (consumed), 0 if another value is. */
int lt_jscan_null(lt_jscan *j);
/* Skips one value of any type, validating it; 0 or -1. span: where it was. */
int lt_jscan_skip(lt_jscan *j, lt_jstr *span);
/* Object members: call after the '{' (lt_jscan_expect); *first = 1 before the
 * first call. 1: a key was read and the value follows; 0: the object ended
 * ('}' consumed); -1: invalid. */
int lt_jscan_member(lt_jscan *j, lt_jstr *key, int *first);
/* Array elements, the same way after '[': 1 an element follows, 0 ended, -1. */
int lt_jscan_element(lt_jscan *j, int *first);
/* Only whitespace is left. */
int lt_jscan_at_end(lt_jscan *j);

/* The jansson tree json_loadb(p, n, 0, ...) gives, built from the scan (no
 * lexer, strings copied once), or NULL when the scanner rejects the input or
 * meets something it leaves to jansson (a real number): the caller then calls
 * json_loadb, which decides. */
json_t *lt_jscan_tree(const char *p, size_t n);

/* Does the (unescaped) string equal the string literal lit? */
#define lt_jstr_is(str, lit) \
    ((str)->n == sizeof(lit) - 1 && !(str)->escaped && !memcmp((str)->s, (lit), sizeof(lit) - 1))
/* Appends the decoded string (it was validated by lt_jscan_string). */
void lt_jstr_append(const lt_jstr *s, lt_buf *b);

#endif
