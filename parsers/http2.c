/* http2.c -- placeholder until the HTTP/2 parser lands: connections are
 * counted and ignored. */
#include <stdlib.h>
#include "../common/counters.h"
#include "http2.h"

static void *lt_h2_create(const lt_parser_cfg *cfg, const lt_conn_info *conn, const lt_app_sink *sink)
{
    (void)cfg; (void)conn; (void)sink;
    return calloc(1, 1);
}
static void lt_h2_feed(void *p, int dir, const uint8_t *d, size_t n, lt_time_us ts) { (void)p; (void)dir; (void)d; (void)n; (void)ts; }
static void lt_h2_gap(void *p, int dir, uint64_t n, lt_time_us ts) { (void)p; (void)dir; (void)n; (void)ts; }
static void lt_h2_eof(void *p, int dir, lt_time_us ts) { (void)p; (void)dir; (void)ts; }
static void lt_h2_close(void *p, int reset, lt_time_us ts) { (void)p; (void)reset; (void)ts; }
static void lt_h2_destroy(void *p) { free(p); }
void lt_http2_upgrade(void *parser, lt_http_msg *req, lt_time_us ts) { (void)parser; (void)ts; lt_http_msg_free(req); }
const lt_app_ops lt_http2_ops = {"http2", lt_h2_create, lt_h2_feed, lt_h2_gap, lt_h2_eof, lt_h2_close, lt_h2_destroy};
