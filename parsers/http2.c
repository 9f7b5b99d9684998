/* http2.c -- lt_http2_ops: the HTTP/2 parser as seen by parsers/conn.c.
 * The implementation is http2_conn.c (frames, streams, damage handling) over
 * hpack.c (libnghttp2's HPACK decoder, one per direction). */
#include "http2.h"
#include "http2_conn.h"

const lt_app_ops lt_http2_ops = {
    .name = "http2",
    .create = lt_http2_conn_create,
    .feed = lt_http2_conn_feed,
    .gap = lt_http2_conn_gap,
    .eof = lt_http2_conn_eof,
    .close = lt_http2_conn_close,
    .destroy = lt_http2_conn_destroy,
};
