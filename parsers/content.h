/* content.h -- streaming Content-Encoding decoders (gzip, deflate, br).
 *
 * Used by HTTP/1 and HTTP/2 alike: feed the body as it arrives, decoded bytes
 * are appended to an lt_buf up to a cap (decompression-bomb protection:
 * decoding stops at the cap, or earlier when the output outgrows the input
 * by more than the expansion-ratio limit).
 * Stacked codings ("gzip, br") are undone in reverse order. An unknown coding
 * or corrupt data is not fatal: the decoder switches to passing raw bytes and
 * reports the error so the record can say so. */
#ifndef LT_CONTENT_H
#define LT_CONTENT_H

#include <stddef.h>
#include <stdint.h>
#include "../common/lt.h"

typedef struct lt_content lt_content;

/* Default expansion-ratio limit (decoded / encoded bytes) and the decoded
 * bytes always allowed before the ratio is enforced. JSON and SSE bodies
 * compress 5-50x; a nested-gzip bomb reaches 500000x. */
#define LT_CONTENT_RATIO_DEFAULT 256u
#define LT_CONTENT_RATIO_SLACK (1u << 20)

/* encoding: the Content-Encoding header value, or NULL/"" for identity.
 * cap: decoded bytes appended to out at most. */
lt_content *lt_content_create(const char *encoding, size_t cap);
/* Expansion-ratio limit; 0 disables it. */
void lt_content_set_ratio(lt_content *c, unsigned ratio);
/* Decodes in and appends to out (never beyond the cap). Returns the number of
 * decoded bytes produced (for an identity body, also those beyond the cap;
 * a decoder stops at the cap, so at most one 16 KiB block past it). */
uint64_t lt_content_feed(lt_content *c, const uint8_t *in, size_t len, lt_buf *out);
int lt_content_bomb(const lt_content *c);       /* 1 once the ratio limit stopped decoding */
int lt_content_error(const lt_content *c);      /* 1 once decoding failed */
int lt_content_truncated(const lt_content *c);  /* 1 once output hit the cap */
int lt_content_identity(const lt_content *c);   /* 1 when no decoding happens */
/* Charges the decoded output's growth to mb (with *charged, the output
 * buffer's charged capacity, kept by its owner) and the decoders' own
 * allocations (zlib and brotli state, windows) to mb as well: what mb
 * refuses stops decoding, and the body is kept truncated. */
struct lt_membudget;
void lt_content_set_budget(lt_content *c, struct lt_membudget *mb, size_t *charged);
int lt_content_budget_hit(const lt_content *c); /* 1 once the budget, or the allocator, refused memory and decoding stopped */
void lt_content_destroy(lt_content *c);

#endif
