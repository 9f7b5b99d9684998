/* hpack.h -- HPACK header-block decoding for the HTTP/2 parser (RFC 7541).
 *
 * A thin wrapper around libnghttp2's inflater (nghttp2_hd_inflate_*), one per
 * direction of a connection, so the dynamic table follows the peer's encoder
 * exactly. Header blocks can be fed fragment by fragment (HEADERS, then
 * CONTINUATION frames, even split across TCP segments): the inflater keeps a
 * partial field internally, so nothing is buffered here.
 *
 * After an error the dynamic table is unknown. lt_hpack_reset() starts a new,
 * empty table: later blocks then decode correctly or fail, never wrongly,
 * because every entry inserted after the reset sits at the same index in the
 * peer's table (the newest entries are a prefix of it). The same code path is
 * used by tests/tools/hpack_decode.c for the cross-check with python3-hpack. */
#ifndef LT_HPACK_H
#define LT_HPACK_H

#include <stddef.h>
#include <stdint.h>

typedef struct lt_hpack lt_hpack;

/* One decoded field. never_indexed: the encoder marked it sensitive. */
typedef void (*lt_hpack_field_cb)(void *ud, const uint8_t *name, size_t nlen,
                                  const uint8_t *value, size_t vlen, int never_indexed);

/* settings_max: the decoder's SETTINGS_HEADER_TABLE_SIZE (4096 by default). */
lt_hpack *lt_hpack_create(size_t settings_max);
void lt_hpack_destroy(lt_hpack *h);

/* Decodes one fragment of a header block; last=1 for the fragment that ends
 * the block (END_HEADERS). cb may be NULL (decode only to keep the table in
 * sync). Returns 0, or -1 when the block is undecodable; after -1 the decoder
 * refuses everything until lt_hpack_reset(). */
int lt_hpack_decode(lt_hpack *h, const uint8_t *in, size_t len, int last,
                    lt_hpack_field_cb cb, void *ud);

/* The acknowledged SETTINGS_HEADER_TABLE_SIZE changed. Returns 0 or -1. */
int lt_hpack_set_settings_max(lt_hpack *h, size_t settings_max);

/* Forgets the dynamic table (hole, mid-connection start, after an error). */
int lt_hpack_reset(lt_hpack *h, size_t settings_max);

int lt_hpack_failed(const lt_hpack *h);      /* 1 after an error, until reset */
int lt_hpack_in_block(const lt_hpack *h);    /* 1 inside a header block */

#endif
