/* conn.c -- protocol detection and parser dispatch for one connection
 * (see conn.h). Detection looks only at the first bytes of each direction,
 * so it costs nothing per byte afterwards. Like Suricata's
 * app-layer-detect-proto.c it belongs to the parsers: whoever has the bytes
 * (the tap's reassembly, the inline proxy) hands them here and never learns
 * which protocol they were. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "../common/counters.h"
#include "../common/log.h"
#include "conn.h"
#include "http1.h"
#include "http2.h"
#include "http2_conn.h"

enum { PROTO_UNKNOWN = 0, PROTO_HTTP1, PROTO_HTTP2, PROTO_NONE };

static const char lt_h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct lt_conn_parser {
    lt_parser_cfg pcfg;
    const lt_conn_info *conn;
    lt_app_sink out;        /* the caller's sink: exchanges and counters */
    int proto;
    const lt_app_ops *ops;
    void *parser;
    lt_app_sink sink;
    lt_buf early;           /* server bytes that came before any client byte */
    lt_time_us early_ts;
    lt_http_msg upgrade_req;
    int upgrade_pending;
    lt_time_us upgrade_ts;
    lt_counters own_ctr;    /* used when the caller brings no counters */
};

static void lt_conn_parser_on_exchange(void *ud, lt_exchange *ex)
{
    lt_conn_parser *s = ud;
    s->out.ctr->http_exchanges++;
    if (ex->incomplete) s->out.ctr->http_incomplete++;
    if (s->out.on_exchange) s->out.on_exchange(s->out.ud, ex);
}

static void lt_conn_parser_on_upgrade(void *ud, const char *proto, lt_http_msg *req, lt_time_us ts)
{
    lt_conn_parser *s = ud;
    (void)proto;
    lt_http_msg_free(&s->upgrade_req);
    s->upgrade_req = *req;          /* take ownership of the request */
    lt_http_msg_init(req);
    s->upgrade_pending = 1;
    s->upgrade_ts = ts;
}

lt_conn_parser *lt_conn_parser_create(const lt_parser_cfg *pcfg, const lt_conn_info *conn,
                                      const lt_app_sink *out)
{
    lt_conn_parser *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (pcfg) s->pcfg = *pcfg;
    else lt_parser_cfg_defaults(&s->pcfg);
    s->conn = conn;
    s->out = *out;
    if (!s->out.ctr) s->out.ctr = &s->own_ctr;
    s->sink.on_exchange = lt_conn_parser_on_exchange;
    s->sink.on_upgrade = lt_conn_parser_on_upgrade;
    s->sink.ud = s;
    s->sink.ctr = s->out.ctr;
    lt_http_msg_init(&s->upgrade_req);
    return s;
}

int lt_conn_parser_looks_http1(int dir, const uint8_t *p, size_t n)
{
    if (dir == LT_DIR_TO_CLIENT) return n >= 5 && !memcmp(p, "HTTP/", 5);
    static const char *m[] = {"GET ", "POST ", "PUT ", "DELETE ", "HEAD ", "OPTIONS ", "PATCH ", "TRACE ", "CONNECT "};
    for (size_t i = 0; i < LT_ARRAY_LEN(m); i++) {
        size_t l = strlen(m[i]);
        if (!memcmp(p, m[i], n < l ? n : l)) return 1;
    }
    return 0;
}

/* A chain of at least two plausible HTTP/2 frame headers starting at p. */
static int lt_conn_parser_looks_h2_frames(const uint8_t *p, size_t n)
{
    size_t off = 0;
    int frames = 0;
    while (off + 9 <= n && frames < 4) {
        uint32_t len = (uint32_t)p[off] << 16 | (uint32_t)p[off + 1] << 8 | p[off + 2];
        uint8_t type = p[off + 3];
        if (type > 9 || len > (1u << 20) || (p[off + 5] & 0x80)) return 0;
        off += 9 + len;
        frames++;
    }
    return frames >= 2 || (frames == 1 && off == n);
}

static void lt_conn_parser_start(lt_conn_parser *s, const lt_app_ops *ops, int proto)
{
    s->proto = proto;
    s->ops = ops;
    s->parser = ops->create(&s->pcfg, s->conn, &s->sink);
    if (!s->parser) {
        s->proto = PROTO_NONE;
        s->out.ctr->connections_unparsed++;
        lt_error("conn %llu: out of memory, its parser could not start; not parsed",
                 (unsigned long long)s->conn->conn_id);
    }
}

static void lt_conn_parser_detect(lt_conn_parser *s, int dir, const uint8_t *p, size_t n)
{
    size_t pl = sizeof lt_h2_preface - 1;
    if (dir == LT_DIR_TO_SERVER && !memcmp(p, lt_h2_preface, n < pl ? n : pl)) {
        lt_conn_parser_start(s, &lt_http2_ops, PROTO_HTTP2);
        s->out.ctr->http2_connections++;
    } else if (lt_conn_parser_looks_http1(dir, p, n)) {
        lt_conn_parser_start(s, &lt_http1_ops, PROTO_HTTP1);
    } else if (s->conn->missed_start && lt_conn_parser_looks_h2_frames(p, n)) {
        lt_conn_parser_start(s, &lt_http2_ops, PROTO_HTTP2);
        s->out.ctr->http2_connections++;
    } else if (s->conn->missed_start) {
        lt_conn_parser_start(s, &lt_http1_ops, PROTO_HTTP1); /* resyncs at the next message */
    } else {
        s->proto = PROTO_NONE;
        s->out.ctr->streams_non_http++;
        lt_info("conn %llu is not HTTP; ignored", (unsigned long long)s->conn->conn_id);
    }
}

/* HTTP/1 switched to h2c inside the last feed: start HTTP/2 with the rest. */
static void lt_conn_parser_switch_h2(lt_conn_parser *s, int dir, const uint8_t *p, size_t n, size_t used,
                                 lt_time_us ts)
{
    void *h1 = s->parser;
    lt_conn_parser_start(s, &lt_http2_ops, PROTO_HTTP2);
    s->out.ctr->http2_connections++;
    lt_http1_ops.destroy(h1);
    if (s->proto != PROTO_HTTP2) return;
    lt_http2_conn_upgrade(s->parser, &s->upgrade_req, s->upgrade_ts);
    lt_http_msg_free(&s->upgrade_req);
    s->upgrade_pending = 0;
    if (used < n) s->ops->feed(s->parser, dir, p + used, n - used, ts);
}

/* An HTTP/2 server speaks first (its SETTINGS), so server bytes that do not
 * look like HTTP/1 wait for the client's first bytes to decide. */
static int lt_conn_parser_hold_early(lt_conn_parser *s, int dir, const uint8_t *p, size_t n, lt_time_us ts)
{
    if (dir != LT_DIR_TO_CLIENT || s->conn->missed_start || lt_conn_parser_looks_http1(dir, p, n)) return 0;
    if (s->early.len + n > 65536) return 0;
    if (lt_buf_append(&s->early, p, n) < 0) return 0;   /* out of memory: decided on these bytes */
    if (s->early.len == n) s->early_ts = ts;
    return 1;
}

void lt_conn_parser_feed(lt_conn_parser *s, int dir, const uint8_t *p, size_t n, lt_time_us ts)
{
    if (!n) return;
    if (s->proto == PROTO_UNKNOWN && lt_conn_parser_hold_early(s, dir, p, n, ts)) return;
    if (s->proto == PROTO_UNKNOWN) {
        lt_conn_parser_detect(s, dir, p, n);
        if (s->early.len && s->proto != PROTO_NONE)
            s->ops->feed(s->parser, LT_DIR_TO_CLIENT, s->early.data, s->early.len, s->early_ts);
        lt_buf_free(&s->early);
    }
    if (s->proto == PROTO_NONE) return;
    s->ops->feed(s->parser, dir, p, n, ts);
    if (s->proto == PROTO_HTTP1 && s->upgrade_pending) {
        size_t used = lt_http1_upgrade_offset(s->parser);
        lt_conn_parser_switch_h2(s, dir, p, n, used == (size_t)-1 ? n : used, ts);
    }
}

void lt_conn_parser_gap(lt_conn_parser *s, int dir, uint64_t n, lt_time_us ts)
{
    if (s->proto == PROTO_HTTP1 || s->proto == PROTO_HTTP2) s->ops->gap(s->parser, dir, n, ts);
}

void lt_conn_parser_eof(lt_conn_parser *s, int dir, lt_time_us ts)
{
    if (s->proto == PROTO_HTTP1 || s->proto == PROTO_HTTP2) s->ops->eof(s->parser, dir, ts);
}

void lt_conn_parser_close(lt_conn_parser *s, int reset, lt_time_us ts)
{
    if (s->proto == PROTO_HTTP1 || s->proto == PROTO_HTTP2) s->ops->close(s->parser, reset, ts);
}

void lt_conn_parser_destroy(lt_conn_parser *s)
{
    if (!s) return;
    if (s->parser) s->ops->destroy(s->parser);
    if (s->proto == PROTO_UNKNOWN && s->early.len) s->out.ctr->streams_non_http++;
    lt_buf_free(&s->early);
    lt_http_msg_free(&s->upgrade_req);
    free(s);
}
