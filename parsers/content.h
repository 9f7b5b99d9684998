/* content.h -- streaming Content-Encoding decoders (gzip, deflate, br).
 *
 * Used by HTTP/1 and HTTP/2 alike: feed the body as it arrives, decoded bytes
 * are appended to an lt_buf up to a cap (decompression-bomb protection).
 * Stacked codings ("gzip, br") are undone in reverse order. An unknown coding
 * or corrupt data is not fatal: the decoder switches to passing raw bytes and
 * reports the error so the record can say so. */
#ifndef LT_CONTENT_H
#define LT_CONTENT_H

#include <stddef.h>
#include <stdint.h>
#include "../common/lt.h"

typedef struct lt_content lt_content;

/* encoding: the Content-Encoding header value, or NULL/"" for identity.
 * cap: decoded bytes appended to out at most. */
lt_content *lt_content_create(const char *encoding, size_t cap);
/* Decodes in and appends to out (never beyond the cap). Returns the number of
 * decoded bytes produced, including those beyond the cap (not stored). */
uint64_t lt_content_feed(lt_content *c, const uint8_t *in, size_t len, lt_buf *out);
int lt_content_error(const lt_content *c);      /* 1 once decoding failed */
int lt_content_truncated(const lt_content *c);  /* 1 once output hit the cap */
int lt_content_identity(const lt_content *c);   /* 1 when no decoding happens */
void lt_content_destroy(lt_content *c);

#endif
