/* jtext.h -- JSON text: the UTF-8 rules jansson applies, and a compact writer.
 *
 * Every record is serialized once on its way to the spool (and again for
 * --json); jansson's json_dumps walks strings a code point at a time through a
 * callback and was most of the cost of storing. lt_jtext_dump writes the same
 * bytes as json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER), copying runs of
 * plain string bytes found 16 at a time; reals (rare in records) are written
 * by jansson itself so their formatting cannot drift. */
#ifndef LT_JTEXT_H
#define LT_JTEXT_H

#include <jansson.h>
#include <stddef.h>

/* Length of the UTF-8 sequence at p (lead byte >= 0x80), 0 when jansson would
 * reject it (bad lead or continuation, overlong, surrogate, above U+10FFFF). */
size_t lt_jtext_utf8_len(const unsigned char *p, const unsigned char *end);

/* First byte at or after p that is a quote, a backslash, a control byte or
 * >= 0x80 (end if none). */
const unsigned char *lt_jtext_plain_run(const unsigned char *p, const unsigned char *end);

/* json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER), byte for byte; malloc'ed,
 * *len set; NULL where json_dumps would fail (invalid UTF-8 in a string). */
char *lt_jtext_dump(const json_t *v, size_t *len);

#endif
