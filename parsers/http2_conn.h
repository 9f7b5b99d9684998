/* http2_conn.h -- the HTTP/2 connection parser (RFC 9113), as plain functions.
 *
 * This is the implementation behind lt_http2_ops (http2.h): parsers/http2.c
 * only has to point the ops table and lt_http2_upgrade() at these. Each
 * direction's reassembled bytes are cut into frames; header blocks go
 * through one HPACK decoder per direction (hpack.h); every stream becomes
 * one lt_exchange (version 20, stream_id set) delivered to sink->on_exchange.
 *
 * Damage: a hole (gap) or a framing error desynchronizes the frames and the
 * HPACK table of that direction. Open streams are marked incomplete, the
 * parser resynchronizes on a chain of plausible frame headers and restarts
 * HPACK with an empty table; a stream whose header block then fails to
 * decode is dropped (counter http2_streams_dropped), never given headers
 * decoded from a table we do not have. A connection joined mid-way
 * (conn->missed_start without a preface) starts in that state. */
#ifndef LT_HTTP2_CONN_H
#define LT_HTTP2_CONN_H

#include "app.h"

void *lt_http2_conn_create(const lt_parser_cfg *cfg, const lt_conn_info *conn, const lt_app_sink *sink);
void lt_http2_conn_feed(void *p, int dir, const uint8_t *data, size_t len, lt_time_us ts);
void lt_http2_conn_gap(void *p, int dir, uint64_t len, lt_time_us ts);
void lt_http2_conn_eof(void *p, int dir, lt_time_us ts);
void lt_http2_conn_close(void *p, int reset, lt_time_us ts);
void lt_http2_conn_destroy(void *p);
/* HTTP/1.1 Upgrade: h2c. req (moved, left empty) becomes stream 1, whose
 * response follows in HTTP/2; its HTTP2-Settings header is applied. */
void lt_http2_conn_upgrade(void *p, lt_http_msg *req, lt_time_us ts);

#endif
