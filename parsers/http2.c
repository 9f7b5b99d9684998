/* http2.c -- lt_http2_ops: the HTTP/2 parser as seen by the session layer.
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

void lt_http2_upgrade(void *parser, lt_http_msg *req, lt_time_us ts)
{
    lt_http2_conn_upgrade(parser, req, ts);
}
