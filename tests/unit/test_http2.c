/* test_http2.c -- the HTTP/2 parser (parsers/http2_conn.c), one behaviour per
 * case. Connections are built by hand: frames from raw bytes, header blocks
 * from libnghttp2's HPACK deflater (one per direction, like a real peer), so
 * the dynamic table is really used and really has to be tracked. Covered:
 * preface and SETTINGS, request/response, every byte split, CONTINUATION,
 * padding, PRIORITY, trailers, RST_STREAM, GOAWAY, 200 interleaved streams,
 * header table size changes, server push, the stream cap, unknown frames,
 * gzip bodies, holes (inside a frame and between frames), a mid-connection
 * start, framing errors and the h2c upgrade. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "common/counters.h"
#include "parsers/http2_conn.h"

/* The counters every object under test counts into. */
static lt_counters tctr;

/* ---- collecting exchanges ---------------------------------------------------- */

#define MAXEX 512
typedef struct ex_sum {
    uint32_t sid, seq;
    char method[16], target[256], authority[64], ctype[64], trailer[64], big[32];
    char body_req[256], body_resp[1024];
    int status, incomplete, req_present, resp_present, version, nhdrs_req, truncated;
    size_t big_len, nmarks;
    lt_time_us req_start, resp_start, resp_end;
} ex_sum;

typedef struct col {
    ex_sum ex[MAXEX];
    int n;
} col;

static void cp(char *dst, size_t cap, const char *src) { snprintf(dst, cap, "%s", src ? src : ""); }

static void on_ex(void *ud, lt_exchange *e)
{
    col *c = ud;
    assert_true(c->n < MAXEX);
    ex_sum *s = &c->ex[c->n++];
    memset(s, 0, sizeof *s);
    s->sid = e->stream_id;
    s->seq = e->seq;
    s->version = e->version;
    cp(s->method, sizeof s->method, e->req.method);
    cp(s->target, sizeof s->target, e->req.target);
    cp(s->authority, sizeof s->authority, e->req.authority);
    cp(s->ctype, sizeof s->ctype, lt_http_msg_header(&e->resp, "content-type"));
    cp(s->trailer, sizeof s->trailer, lt_http_msg_header(&e->resp, "x-trailer"));
    const char *big = lt_http_msg_header(&e->req, "x-big");
    s->big_len = big ? strlen(big) : 0;
    cp(s->big, sizeof s->big, big);
    snprintf(s->body_req, sizeof s->body_req, "%.*s", (int)e->req.body.len, e->req.body.data ? (char *)e->req.body.data : "");
    snprintf(s->body_resp, sizeof s->body_resp, "%.*s", (int)e->resp.body.len, e->resp.body.data ? (char *)e->resp.body.data : "");
    s->status = e->resp.status;
    s->incomplete = e->incomplete;
    s->req_present = e->req.present;
    s->resp_present = e->resp.present;
    s->nhdrs_req = (int)e->req.nhdrs;
    s->truncated = e->resp.body_truncated;
    s->nmarks = e->resp.nmarks;
    s->req_start = e->req.start_ts;
    s->resp_start = e->resp.start_ts;
    s->resp_end = e->resp.end_ts;
}

static ex_sum *find_sid(col *c, uint32_t sid)
{
    for (int i = 0; i < c->n; i++)
        if (c->ex[i].sid == sid) return &c->ex[i];
    return NULL;
}

static lt_conn_info conn;

static void *mk(col *c, size_t streams_max, int missed)
{
    memset(c, 0, sizeof *c);
    memset(&conn, 0, sizeof conn);
    conn.missed_start = missed;
    lt_parser_cfg cfg;
    lt_parser_cfg_defaults(&cfg);
    if (streams_max) cfg.h2_streams_max = streams_max;
    lt_app_sink sink = {on_ex, NULL, c, &tctr};
    lt_counters_reset(&tctr);
    void *p = lt_http2_conn_create(&cfg, &conn, &sink);
    assert_non_null(p);
    return p;
}

static void finish(void *p)
{
    lt_http2_conn_close(p, 0, 999999);
    lt_http2_conn_destroy(p);
}

/* ---- building connections ---------------------------------------------------- */

typedef struct tconn {
    lt_buf w[2];
    nghttp2_hd_deflater *df[2];
} tconn;

static void frame(lt_buf *b, uint8_t type, uint8_t flags, uint32_t sid, const void *pl, size_t len)
{
    uint8_t h[9] = {(uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, type, flags,
                    (uint8_t)(sid >> 24), (uint8_t)(sid >> 16), (uint8_t)(sid >> 8), (uint8_t)sid};
    lt_buf_append(b, h, 9);
    if (len) lt_buf_append(b, pl, len);
}

static void tc_init_raw(tconn *t)
{
    memset(t, 0, sizeof *t);
    lt_buf_init(&t->w[0]);
    lt_buf_init(&t->w[1]);
    assert_int_equal(nghttp2_hd_deflate_new(&t->df[0], 4096), 0);
    assert_int_equal(nghttp2_hd_deflate_new(&t->df[1], 4096), 0);
}

/* Preface, empty SETTINGS both ways, both ACKs. */
static void tc_init(tconn *t)
{
    tc_init_raw(t);
    lt_buf_append(&t->w[0], "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    static const uint8_t win[4] = {0, 0x0f, 0, 0};
    frame(&t->w[0], 4, 0, 0, NULL, 0);
    frame(&t->w[0], 8, 0, 0, win, 4);
    frame(&t->w[1], 4, 0, 0, NULL, 0);
    frame(&t->w[1], 4, 1, 0, NULL, 0);
    frame(&t->w[0], 4, 1, 0, NULL, 0);
}

static void tc_free(tconn *t)
{
    lt_buf_free(&t->w[0]);
    lt_buf_free(&t->w[1]);
    nghttp2_hd_deflate_del(t->df[0]);
    nghttp2_hd_deflate_del(t->df[1]);
}

/* Encodes NULL-terminated name/value pairs with direction dir's deflater. */
static size_t hblock(tconn *t, int dir, uint8_t *out, size_t cap, const char **kv)
{
    nghttp2_nv nv[64];
    size_t n = 0;
    for (; kv[2 * n]; n++) {
        nv[n].name = (uint8_t *)kv[2 * n];
        nv[n].namelen = strlen(kv[2 * n]);
        nv[n].value = (uint8_t *)kv[2 * n + 1];
        nv[n].valuelen = strlen(kv[2 * n + 1]);
        nv[n].flags = NGHTTP2_NV_FLAG_NONE;
    }
    ssize_t r = nghttp2_hd_deflate_hd(t->df[dir], out, cap, nv, n);
    assert_true(r > 0);
    return (size_t)r;
}

static void tc_headers(tconn *t, int dir, uint32_t sid, uint8_t flags, const char **kv)
{
    static uint8_t blk[65536];
    size_t n = hblock(t, dir, blk, sizeof blk, kv);
    frame(&t->w[dir], 1, flags | 0x4, sid, blk, n);
}

static void tc_data(tconn *t, int dir, uint32_t sid, uint8_t flags, const char *s)
{
    frame(&t->w[dir], 0, flags, sid, s, strlen(s));
}

static const char *REQ[] = {":method", "POST", ":scheme", "http", ":authority", "aoai.example",
                            ":path", "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
                            "content-type", "application/json", "api-key", "sk-secret", NULL};
static const char *RESP[] = {":status", "200", "content-type", "application/json", "x-request-id", "req-1", NULL};

/* A full request/response on sid. */
static void tc_exchange(tconn *t, uint32_t sid, const char *req, const char *resp)
{
    tc_headers(t, 0, sid, 0, REQ);
    tc_data(t, 0, sid, 1, req);
    tc_headers(t, 1, sid, 0, RESP);
    tc_data(t, 1, sid, 1, resp);
}

static void feed_all(void *p, tconn *t)
{
    lt_http2_conn_feed(p, 0, t->w[0].data, t->w[0].len, 100);
    lt_http2_conn_feed(p, 1, t->w[1].data, t->w[1].len, 200);
}

/* ---- cases ----------------------------------------------------------------------- */

static void test_request_response(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    tc_exchange(&t, 1, "{\"messages\":[]}", "{\"id\":\"chatcmpl-1\"}");
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    assert_int_equal(c.n, 1); /* emitted as soon as both sides ended */
    finish(p);
    ex_sum *e = &c.ex[0];
    assert_int_equal(e->sid, 1);
    assert_int_equal(e->version, 20);
    assert_string_equal(e->method, "POST");
    assert_string_equal(e->target, "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
    assert_string_equal(e->authority, "aoai.example");
    assert_int_equal(e->status, 200);
    assert_string_equal(e->ctype, "application/json");
    assert_string_equal(e->body_req, "{\"messages\":[]}");
    assert_string_equal(e->body_resp, "{\"id\":\"chatcmpl-1\"}");
    assert_int_equal(e->nhdrs_req, 2); /* pseudo-headers are not regular headers */
    assert_int_equal(e->incomplete, LT_INC_NONE);
    assert_int_equal(e->req_start, 100);
    assert_int_equal(e->resp_start, 200);
    assert_int_equal(tctr.http2_frame_errors, 0);
    tc_free(&t);
}

static void test_preface_required(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init_raw(&t);
    lt_buf_append(&t.w[0], "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", 24);
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    finish(p);
    assert_int_equal(tctr.http2_frame_errors, 1);
    assert_int_equal(c.n, 0);
    tc_free(&t);
}

/* SETTINGS with parameters (and a large max frame size) are accepted; a
 * frame larger than 16384 is then legal from the peer. */
static void test_settings_max_frame_size(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init_raw(&t);
    lt_buf_append(&t.w[0], "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    uint8_t set[12] = {0, 5, 0, 1, 0, 0, /* MAX_FRAME_SIZE 65536 */ 0, 3, 0, 0, 0, 100};
    frame(&t.w[0], 4, 0, 0, set, 12);
    frame(&t.w[1], 4, 0, 0, NULL, 0);
    frame(&t.w[1], 4, 1, 0, NULL, 0);
    tc_headers(&t, 0, 1, 1, (const char *[]){":method", "GET", ":scheme", "http", ":path", "/big", NULL});
    tc_headers(&t, 1, 1, 0, RESP);
    static char big[40001];
    memset(big, 'a', 40000);
    tc_data(&t, 1, 1, 1, big);
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    finish(p);
    assert_int_equal(tctr.http2_frame_errors, 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ex[0].incomplete, LT_INC_NONE);
    tc_free(&t);
}

/* Feeding the same connection in two pieces, cut at every byte, in each
 * direction, gives the same exchanges as feeding it whole. */
static void test_every_split(void **st)
{
    (void)st;
    tconn t;
    tc_init(&t);
    tc_exchange(&t, 1, "{\"a\":1}", "{\"b\":2}");
    tc_headers(&t, 0, 3, 1, (const char *[]){":method", "GET", ":scheme", "http", ":authority", "aoai.example", ":path", "/x", NULL});
    tc_headers(&t, 1, 3, 0, RESP);
    tc_data(&t, 1, 3, 0, "part1-");
    tc_data(&t, 1, 3, 1, "part2");
    col c;
    for (int dir = 0; dir < 2; dir++) {
        for (size_t cut = 0; cut <= t.w[dir].len; cut++) {
            void *p = mk(&c, 0, 0);
            const lt_buf *a = &t.w[dir], *b = &t.w[!dir];
            if (dir == 0) {
                lt_http2_conn_feed(p, 0, a->data, cut, 1);
                lt_http2_conn_feed(p, 0, a->data + cut, a->len - cut, 2);
                lt_http2_conn_feed(p, 1, b->data, b->len, 3);
            } else {
                lt_http2_conn_feed(p, 0, b->data, b->len, 1);
                lt_http2_conn_feed(p, 1, a->data, cut, 2);
                lt_http2_conn_feed(p, 1, a->data + cut, a->len - cut, 3);
            }
            finish(p);
            assert_int_equal(c.n, 2);
            ex_sum *e1 = find_sid(&c, 1), *e3 = find_sid(&c, 3);
            assert_non_null(e1);
            assert_non_null(e3);
            assert_string_equal(e1->body_req, "{\"a\":1}");
            assert_string_equal(e1->body_resp, "{\"b\":2}");
            assert_string_equal(e3->target, "/x");
            assert_string_equal(e3->body_resp, "part1-part2");
            assert_int_equal(e1->incomplete, 0);
            assert_int_equal(e3->incomplete, 0);
            assert_int_equal(tctr.http2_frame_errors, 0);
        }
    }
    /* one byte at a time */
    void *p = mk(&c, 0, 0);
    for (size_t i = 0; i < t.w[0].len; i++) lt_http2_conn_feed(p, 0, t.w[0].data + i, 1, (lt_time_us)i);
    for (size_t i = 0; i < t.w[1].len; i++) lt_http2_conn_feed(p, 1, t.w[1].data + i, 1, (lt_time_us)i);
    finish(p);
    assert_int_equal(c.n, 2);
    assert_string_equal(find_sid(&c, 3)->body_resp, "part1-part2");
    assert_true(find_sid(&c, 3)->nmarks >= 2); /* arrival time of every DATA piece */
    tc_free(&t);
}

/* A 20 KB header split over HEADERS + 2 CONTINUATION frames. */
static void test_continuation(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    static char big[20001];
    memset(big, 'z', 20000);
    memcpy(big, "start", 5);
    static uint8_t blk[65536];
    size_t n = hblock(&t, 0, blk, sizeof blk,
                      (const char *[]){":method", "POST", ":scheme", "http", ":path", "/c", "x-big", big, NULL});
    assert_true(n > 16384);
    size_t a = 8000, b = 8000;
    frame(&t.w[0], 1, 0, 1, blk, a);
    frame(&t.w[0], 9, 0, 1, blk + a, b);
    frame(&t.w[0], 9, 0x4, 1, blk + a + b, n - a - b);
    tc_data(&t, 0, 1, 1, "body");
    tc_headers(&t, 1, 1, 1, RESP);
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    finish(p);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ex[0].big_len, 20000);
    assert_memory_equal(c.ex[0].big, "startzzz", 8);
    assert_string_equal(c.ex[0].body_req, "body");
    assert_int_equal(c.ex[0].incomplete, 0);
    tc_free(&t);
}

/* A frame other than CONTINUATION inside a header block is a framing error. */
static void test_continuation_interrupted(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    static uint8_t blk[4096];
    size_t n = hblock(&t, 0, blk, sizeof blk, REQ);
    frame(&t.w[0], 1, 0, 1, blk, n / 2);
    tc_data(&t, 0, 1, 1, "oops");
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    finish(p);
    assert_true(tctr.http2_frame_errors >= 1);
    assert_int_equal(c.n, 0);
    assert_int_equal(tctr.http2_streams_dropped, 1);
    tc_free(&t);
}

static void test_padding(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    static uint8_t blk[4096], pl[8192];
    size_t n = hblock(&t, 0, blk, sizeof blk, REQ);
    pl[0] = 7; /* pad length */
    memcpy(pl + 1, blk, n);
    memset(pl + 1 + n, 0, 7);
    frame(&t.w[0], 1, 0x4 | 0x8, 1, pl, 1 + n + 7);
    pl[0] = 3;
    memcpy(pl + 1, "padded body", 11);
    memset(pl + 12, 0, 3);
    frame(&t.w[0], 0, 0x1 | 0x8, 1, pl, 15);
    tc_headers(&t, 1, 1, 0, RESP);
    pl[0] = 0; /* PADDED with zero padding */
    memcpy(pl + 1, "ok", 2);
    frame(&t.w[1], 0, 0x1 | 0x8, 1, pl, 3);
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    finish(p);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ex[0].target, REQ[7]);
    assert_string_equal(c.ex[0].body_req, "padded body");
    assert_string_equal(c.ex[0].body_resp, "ok");
    assert_int_equal(c.ex[0].incomplete, 0);
    tc_free(&t);
}

/* Padding longer than the frame is a framing error, not a crash. */
static void test_bad_padding(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    uint8_t pl[4] = {200, 'a', 'b', 'c'};
    frame(&t.w[0], 0, 0x8, 1, pl, 4);
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    finish(p);
    assert_int_equal(tctr.http2_frame_errors, 1);
    tc_free(&t);
}

static void test_priority(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    static uint8_t blk[4096], pl[8192];
    size_t n = hblock(&t, 0, blk, sizeof blk, REQ);
    uint8_t prio[5] = {0x80, 0, 0, 0, 15}; /* exclusive on stream 0, weight 16 */
    memcpy(pl, prio, 5);
    memcpy(pl + 5, blk, n);
    frame(&t.w[0], 1, 0x4 | 0x20 | 0x1, 1, pl, 5 + n);
    frame(&t.w[0], 2, 0, 1, prio, 5); /* PRIORITY frame */
    frame(&t.w[0], 2, 0, 3, prio, 5); /* PRIORITY for an idle stream */
    tc_headers(&t, 1, 1, 1, RESP);
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    finish(p);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ex[0].method, "POST");
    assert_int_equal(c.ex[0].status, 200);
    assert_int_equal(c.ex[0].incomplete, 0);
    assert_int_equal(tctr.http2_frame_errors, 0);
    tc_free(&t);
}

static void test_trailers(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    tc_headers(&t, 0, 1, 0, REQ);
    tc_data(&t, 0, 1, 1, "{}");
    tc_headers(&t, 1, 1, 0, RESP);
    tc_data(&t, 1, 1, 0, "streamed");
    tc_headers(&t, 1, 1, 1, (const char *[]){"x-trailer", "done", NULL});
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    finish(p);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ex[0].trailer, "done");
    assert_string_equal(c.ex[0].body_resp, "streamed");
    assert_int_equal(c.ex[0].status, 200);
    assert_int_equal(c.ex[0].incomplete, 0);
    tc_free(&t);
}

static void test_interim_100_continue(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    tc_headers(&t, 0, 1, 0, REQ);
    tc_headers(&t, 1, 1, 0, (const char *[]){":status", "100", NULL});
    tc_data(&t, 0, 1, 1, "{}");
    tc_headers(&t, 1, 1, 1, (const char *[]){":status", "429", "retry-after", "3", NULL});
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    finish(p);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ex[0].status, 429);
    assert_int_equal(c.ex[0].incomplete, 0);
    tc_free(&t);
}

static void test_rst_stream(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    tc_headers(&t, 0, 1, 0, REQ);
    tc_data(&t, 0, 1, 1, "{}");
    tc_headers(&t, 1, 1, 0, RESP);
    tc_data(&t, 1, 1, 0, "data: {\"partial\":");
    uint8_t code[4] = {0, 0, 0, 8}; /* CANCEL */
    frame(&t.w[0], 3, 0, 1, code, 4);
    void *p = mk(&c, 0, 0);
    lt_http2_conn_feed(p, 0, t.w[0].data, t.w[0].len, 1);
    assert_int_equal(c.n, 1); /* emitted at the RST_STREAM */
    lt_http2_conn_feed(p, 1, t.w[1].data, t.w[1].len, 2); /* late DATA: ignored, not counted */
    finish(p);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ex[0].incomplete, LT_INC_RESET);
    assert_int_equal(tctr.http2_streams_dropped, 0);
    tc_free(&t);
}

static void test_goaway_pending(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    tc_headers(&t, 0, 1, 1, REQ);
    tc_headers(&t, 0, 3, 1, REQ);
    tc_headers(&t, 0, 5, 1, REQ);
    tc_headers(&t, 1, 1, 0, RESP);
    tc_data(&t, 1, 1, 0, "half");
    uint8_t ga[8] = {0, 0, 0, 3, 0, 0, 0, 0}; /* last stream 3 */
    frame(&t.w[1], 7, 0, 0, ga, 8);
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    assert_int_equal(c.n, 1); /* stream 5 refused at once */
    assert_int_equal(c.ex[0].sid, 5);
    assert_int_equal(c.ex[0].incomplete, LT_INC_NO_RESPONSE);
    finish(p);
    assert_int_equal(c.n, 3);
    assert_int_equal(find_sid(&c, 1)->incomplete, LT_INC_TRUNCATED);
    assert_string_equal(find_sid(&c, 1)->body_resp, "half");
    assert_int_equal(find_sid(&c, 3)->incomplete, LT_INC_NO_RESPONSE);
    tc_free(&t);
}

/* 200 streams opened at once, answered in reverse order with interleaved
 * DATA frames: every body lands on its own stream. */
static void test_interleaved_200(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    char path[64], body[64];
    for (uint32_t i = 0; i < 200; i++) {
        snprintf(path, sizeof path, "/s/%u", 2 * i + 1);
        tc_headers(&t, 0, 2 * i + 1, 1, (const char *[]){":method", "GET", ":scheme", "http", ":authority", "a", ":path", path, NULL});
    }
    for (int i = 199; i >= 0; i--) tc_headers(&t, 1, 2 * (uint32_t)i + 1, 0, RESP);
    for (int part = 0; part < 2; part++)
        for (uint32_t i = 0; i < 200; i++) {
            snprintf(body, sizeof body, "<%u.%d>", 2 * i + 1, part);
            tc_data(&t, 1, 2 * i + 1, part ? 1 : 0, body);
        }
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    finish(p);
    assert_int_equal(c.n, 200);
    for (uint32_t i = 0; i < 200; i++) {
        ex_sum *e = find_sid(&c, 2 * i + 1);
        assert_non_null(e);
        snprintf(path, sizeof path, "/s/%u", 2 * i + 1);
        snprintf(body, sizeof body, "<%u.0><%u.1>", 2 * i + 1, 2 * i + 1);
        assert_string_equal(e->target, path);
        assert_string_equal(e->body_resp, body);
        assert_int_equal(e->seq, i);
        assert_int_equal(e->incomplete, 0);
    }
    tc_free(&t);
}

static void test_stream_cap(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    for (uint32_t i = 0; i < 5; i++) tc_headers(&t, 0, 2 * i + 1, 1, REQ);
    for (uint32_t i = 0; i < 5; i++) { tc_headers(&t, 1, 2 * i + 1, 0, RESP); tc_data(&t, 1, 2 * i + 1, 1, "x"); }
    void *p = mk(&c, 3, 0);
    feed_all(p, &t);
    finish(p);
    assert_int_equal(c.n, 3);
    assert_int_equal(tctr.http2_streams_dropped, 2);
    for (int i = 0; i < 3; i++) assert_int_equal(c.ex[i].incomplete, 0); /* HPACK stayed in sync */
    tc_free(&t);
}

/* SETTINGS_HEADER_TABLE_SIZE 256 from the client, acknowledged by the server,
 * whose encoder then shrinks its table (size update) and evicts; then back
 * to 4096. Headers must decode exactly throughout. */
static void test_table_size_update(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init_raw(&t);
    lt_buf_append(&t.w[0], "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    uint8_t set[6] = {0, 1, 0, 0, 1, 0}; /* HEADER_TABLE_SIZE 256 */
    frame(&t.w[0], 4, 0, 0, set, 6);
    frame(&t.w[1], 4, 0, 0, NULL, 0);
    frame(&t.w[1], 4, 1, 0, NULL, 0); /* server ACKs: its encoder follows from here */
    assert_int_equal(nghttp2_hd_deflate_change_table_size(t.df[1], 256), 0);
    char v[64];
    for (uint32_t i = 0; i < 6; i++) {
        tc_headers(&t, 0, 2 * i + 1, 1, REQ);
        snprintf(v, sizeof v, "value-%u-%s", i, "0123456789abcdef0123456789abcdef0123456789");
        tc_headers(&t, 1, 2 * i + 1, 1, (const char *[]){":status", "200", "content-type", v, "x-other", v, NULL});
    }
    /* raise it again to 4096 */
    uint8_t set2[6] = {0, 1, 0, 0, 0x10, 0};
    frame(&t.w[0], 4, 0, 0, set2, 6);
    size_t ack2 = t.w[1].len;
    frame(&t.w[1], 4, 1, 0, NULL, 0);
    assert_int_equal(nghttp2_hd_deflate_change_table_size(t.df[1], 4096), 0);
    tc_headers(&t, 0, 13, 1, REQ);
    tc_headers(&t, 1, 13, 1, (const char *[]){":status", "200", "content-type", "after-raise", NULL});
    void *p = mk(&c, 0, 0);
    /* in capture order: each SETTINGS is seen before its ACK */
    lt_http2_conn_feed(p, 0, t.w[0].data, 24 + 9 + 6, 1);
    lt_http2_conn_feed(p, 1, t.w[1].data, ack2, 2);
    lt_http2_conn_feed(p, 0, t.w[0].data + 39, t.w[0].len - 39, 3);
    lt_http2_conn_feed(p, 1, t.w[1].data + ack2, t.w[1].len - ack2, 4);
    finish(p);
    assert_int_equal(tctr.http2_streams_dropped, 0);
    assert_int_equal(c.n, 7);
    for (uint32_t i = 0; i < 6; i++) {
        snprintf(v, sizeof v, "value-%u-%s", i, "0123456789abcdef0123456789abcdef0123456789");
        assert_string_equal(find_sid(&c, 2 * i + 1)->ctype, v);
    }
    assert_string_equal(find_sid(&c, 13)->ctype, "after-raise");
    tc_free(&t);
}

/* Without the SETTINGS ACK the decoder must not accept a table larger than
 * what was acknowledged: a size update to 8192 is an HPACK error, and the
 * stream is dropped rather than decoded with a wrong table. */
static void test_table_size_over_limit(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    nghttp2_hd_deflate_del(t.df[1]);
    assert_int_equal(nghttp2_hd_deflate_new(&t.df[1], 16384), 0);
    assert_int_equal(nghttp2_hd_deflate_change_table_size(t.df[1], 8192), 0);
    tc_headers(&t, 0, 1, 1, REQ);
    tc_headers(&t, 1, 1, 1, RESP);
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    finish(p);
    assert_int_equal(c.n, 0);
    assert_int_equal(tctr.http2_streams_dropped, 1);
    tc_free(&t);
}

static void test_push_promise(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    tc_headers(&t, 0, 1, 1, REQ);
    static uint8_t blk[4096], pl[8192];
    size_t n = hblock(&t, 1, blk, sizeof blk,
                      (const char *[]){":method", "GET", ":scheme", "http", ":authority", "aoai.example", ":path", "/pushed.css", NULL});
    uint8_t prom[4] = {0, 0, 0, 2};
    memcpy(pl, prom, 4);
    memcpy(pl + 4, blk, n);
    frame(&t.w[1], 5, 0x4, 1, pl, 4 + n);
    tc_headers(&t, 1, 1, 0, RESP);
    tc_headers(&t, 1, 2, 0, (const char *[]){":status", "200", "content-type", "text/css", NULL});
    tc_data(&t, 1, 2, 1, "body{}");
    tc_data(&t, 1, 1, 1, "{\"ok\":true}");
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    finish(p);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ex[0].sid, 1);
    assert_string_equal(c.ex[0].body_resp, "{\"ok\":true}");
    assert_string_equal(c.ex[0].ctype, "application/json");
    assert_int_equal(tctr.http2_streams_dropped, 1); /* the pushed stream, counted */
    tc_free(&t);
}

static void test_unknown_frame_and_ping(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    frame(&t.w[0], 0xfa, 0xff, 0, "whatever", 8);
    frame(&t.w[0], 6, 0, 0, "12345678", 8);
    frame(&t.w[1], 6, 1, 0, "12345678", 8);
    tc_exchange(&t, 1, "{}", "{}");
    uint8_t wu[4] = {0, 0, 1, 0};
    frame(&t.w[1], 8, 0, 1, wu, 4);
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    finish(p);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ex[0].incomplete, 0);
    assert_int_equal(tctr.http2_frame_errors, 0);
    tc_free(&t);
}

static void test_gzip_body(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    const char *plain = "{\"id\":\"chatcmpl-gz\",\"choices\":[]}";
    uint8_t gz[256];
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)plain;
    z.avail_in = (uInt)strlen(plain);
    z.next_out = gz;
    z.avail_out = sizeof gz;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t gzlen = sizeof gz - z.avail_out;
    deflateEnd(&z);
    tc_headers(&t, 0, 1, 1, REQ);
    tc_headers(&t, 1, 1, 0, (const char *[]){":status", "200", "content-encoding", "gzip", NULL});
    frame(&t.w[1], 0, 0, 1, gz, 10);
    frame(&t.w[1], 0, 1, 1, gz + 10, gzlen - 10);
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    finish(p);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ex[0].body_resp, plain);
    tc_free(&t);
}

/* A hole inside a DATA frame: frame sync survives, only that exchange is
 * marked, and later streams (including HPACK) are intact. */
static void test_gap_inside_data(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    tc_headers(&t, 0, 1, 1, REQ);
    tc_headers(&t, 0, 3, 1, REQ);
    tc_headers(&t, 1, 1, 0, RESP);
    size_t cut = t.w[1].len + 9 + 5;
    tc_data(&t, 1, 1, 1, "0123456789abcdefghij");
    tc_headers(&t, 1, 3, 0, RESP);
    tc_data(&t, 1, 3, 1, "fine");
    void *p = mk(&c, 0, 0);
    lt_http2_conn_feed(p, 0, t.w[0].data, t.w[0].len, 1);
    lt_http2_conn_feed(p, 1, t.w[1].data, cut, 2);
    lt_http2_conn_gap(p, 1, 4, 3);
    lt_http2_conn_feed(p, 1, t.w[1].data + cut + 4, t.w[1].len - cut - 4, 4);
    finish(p);
    assert_int_equal(c.n, 2);
    assert_int_equal(find_sid(&c, 1)->incomplete, LT_INC_HOLE);
    assert_int_equal(find_sid(&c, 3)->incomplete, 0);
    assert_string_equal(find_sid(&c, 3)->body_resp, "fine");
    assert_string_equal(find_sid(&c, 3)->ctype, "application/json");
    tc_free(&t);
}

/* A hole swallowing whole frames: the open stream is marked, the parser
 * resynchronizes, and a later stream whose headers refer to the lost
 * dynamic table is dropped and counted, never decoded wrongly. A stream
 * with literal-only headers after that is still reported. */
static void test_gap_between_frames(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    tc_headers(&t, 0, 1, 1, REQ);
    tc_headers(&t, 0, 3, 1, REQ);
    tc_headers(&t, 0, 5, 1, REQ);
    tc_headers(&t, 1, 1, 0, RESP);
    tc_data(&t, 1, 1, 0, "before");
    size_t hole_at = t.w[1].len;
    tc_data(&t, 1, 1, 0, "lost");
    size_t hole_end = t.w[1].len;
    tc_data(&t, 1, 1, 1, "after");
    tc_headers(&t, 1, 3, 1, RESP); /* fully indexed: needs the table */
    nghttp2_hd_deflater *fresh;
    assert_int_equal(nghttp2_hd_deflate_new(&fresh, 0), 0); /* table size 0: literal only */
    nghttp2_hd_deflate_del(t.df[1]);
    t.df[1] = fresh;
    tc_headers(&t, 1, 5, 0, (const char *[]){":status", "403", "content-type", "text/plain", NULL});
    tc_data(&t, 1, 5, 1, "IP_BLOCKED");
    void *p = mk(&c, 0, 0);
    lt_http2_conn_feed(p, 0, t.w[0].data, t.w[0].len, 1);
    lt_http2_conn_feed(p, 1, t.w[1].data, hole_at, 2);
    lt_http2_conn_gap(p, 1, hole_end - hole_at, 3);
    lt_http2_conn_feed(p, 1, t.w[1].data + hole_end, t.w[1].len - hole_end, 4);
    finish(p);
    ex_sum *e1 = find_sid(&c, 1), *e3 = find_sid(&c, 3), *e5 = find_sid(&c, 5);
    assert_non_null(e1);
    assert_int_equal(e1->incomplete, LT_INC_HOLE);
    assert_null(e3); /* dropped: its response headers referred to the lost table */
    assert_int_equal(tctr.http2_streams_dropped, 1);
    assert_non_null(e5);
    assert_int_equal(e5->status, 403);
    assert_string_equal(e5->ctype, "text/plain");
    assert_string_equal(e5->body_resp, "IP_BLOCKED");
    assert_int_equal(e5->incomplete, 0);
    assert_true(tctr.http_resyncs >= 1);
    tc_free(&t);
}

/* Joined mid-connection (no preface, inside a DATA frame): streams whose
 * header blocks use the dynamic table we never saw are dropped and counted;
 * a stream encoded with literals only is reported with the right headers. */
static void test_missed_start(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    tc_headers(&t, 0, 1, 0, REQ);
    tc_data(&t, 0, 1, 1, "{\"first\":1}");
    size_t join0 = t.w[0].len, join1 = t.w[1].len + 3; /* inside stream 1's response HEADERS */
    tc_headers(&t, 1, 1, 0, RESP);
    tc_data(&t, 1, 1, 1, "{\"long\":\"0123456789012345678901234567890123456789\"}");
    tc_headers(&t, 0, 3, 0, REQ); /* refers to stream 1's entries */
    tc_data(&t, 0, 3, 1, "{}");
    tc_headers(&t, 1, 3, 0, RESP);
    tc_data(&t, 1, 3, 1, "{}");
    const char *req5[] = {":method", "POST", ":scheme", "https", ":authority", "other.example", ":path", "/openai/v1/embeddings",
                          "x-new", "1", NULL};
    tc_headers(&t, 0, 5, 0, req5);
    tc_data(&t, 0, 5, 1, "{\"input\":\"x\"}");
    tc_headers(&t, 1, 5, 0, (const char *[]){":status", "429", "retry-after", "7", "x-fresh", "yes", NULL});
    tc_data(&t, 1, 5, 1, "{\"error\":{}}");
    void *p = mk(&c, 0, 1);
    lt_http2_conn_feed(p, 0, t.w[0].data + join0, t.w[0].len - join0, 1);
    lt_http2_conn_feed(p, 1, t.w[1].data + join1, t.w[1].len - join1, 2);
    finish(p);
    assert_null(find_sid(&c, 1));
    assert_null(find_sid(&c, 3));
    assert_true(tctr.http2_streams_dropped >= 2); /* stream 1 (DATA only) and 3 */
    ex_sum *e5 = find_sid(&c, 5);
    assert_non_null(e5);
    assert_int_equal(c.n, 1);
    assert_string_equal(e5->target, "/openai/v1/embeddings");
    assert_string_equal(e5->authority, "other.example");
    assert_int_equal(e5->status, 429);
    assert_string_equal(e5->body_resp, "{\"error\":{}}");
    tc_free(&t);
}

/* Garbage in the middle of a frame stream: counted, resynchronized. */
static void test_framing_error_resync(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    tc_headers(&t, 0, 1, 1, REQ);
    frame(&t.w[0], 4, 0, 5, "bad", 3); /* SETTINGS on a stream, odd length */
    nghttp2_hd_deflater *fresh;
    assert_int_equal(nghttp2_hd_deflate_new(&fresh, 0), 0);
    nghttp2_hd_deflate_del(t.df[0]);
    t.df[0] = fresh;
    tc_headers(&t, 0, 3, 1, (const char *[]){":method", "GET", ":scheme", "http", ":path", "/after", NULL});
    frame(&t.w[0], 6, 0, 0, "12345678", 8);
    frame(&t.w[0], 6, 0, 0, "12345678", 8);
    tc_headers(&t, 1, 1, 1, RESP);
    tc_headers(&t, 1, 3, 1, RESP);
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    finish(p);
    assert_int_equal(tctr.http2_frame_errors, 1);
    assert_int_equal(c.n, 2);
    assert_string_equal(find_sid(&c, 3)->target, "/after");
    assert_int_equal(find_sid(&c, 3)->incomplete, 0);
    tc_free(&t);
}

/* h2c: the HTTP/1.1 request becomes stream 1; HTTP2-Settings applies. */
static void test_upgrade(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    void *p = mk(&c, 0, 0);
    lt_http_msg req;
    lt_http_msg_init(&req);
    req.present = 1;
    req.version = 11;
    req.method = strdup("POST");
    req.target = strdup("/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
    req.start_ts = 5;
    lt_http_msg_add_header(&req, "HTTP2-Settings", 14, "AAMAAABkAAQCAAAAAAIAAAAA", 24);
    lt_buf_append(&req.body, "{\"upgraded\":true}", 17);
    lt_http2_conn_upgrade(p, &req, 6);
    assert_null(req.method); /* moved */
    tc_headers(&t, 1, 1, 0, RESP);
    tc_data(&t, 1, 1, 1, "{\"id\":\"chatcmpl-up\"}");
    tc_headers(&t, 0, 3, 1, REQ);
    tc_headers(&t, 1, 3, 1, RESP);
    feed_all(p, &t);
    finish(p);
    assert_int_equal(c.n, 2);
    ex_sum *e1 = find_sid(&c, 1);
    assert_non_null(e1);
    assert_int_equal(e1->version, 20);
    assert_string_equal(e1->method, "POST");
    assert_string_equal(e1->body_req, "{\"upgraded\":true}");
    assert_string_equal(e1->body_resp, "{\"id\":\"chatcmpl-up\"}");
    assert_int_equal(e1->status, 200);
    assert_int_equal(e1->seq, 0);
    assert_int_equal(e1->incomplete, 0);
    assert_int_equal(find_sid(&c, 3)->incomplete, 0);
    tc_free(&t);
}

/* The connection ends while a response streams: truncated, not lost. */
static void test_close_truncated(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    tc_headers(&t, 0, 1, 1, REQ);
    tc_headers(&t, 1, 1, 0, RESP);
    tc_data(&t, 1, 1, 0, "data: {}\n\n");
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    lt_http2_conn_eof(p, 1, 50);
    lt_http2_conn_close(p, 1, 60);
    lt_http2_conn_destroy(p);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ex[0].incomplete, LT_INC_RESET);
    assert_string_equal(c.ex[0].body_resp, "data: {}\n\n");
    tc_free(&t);
}

/* A connection that closes before the END_STREAM of an answer whose DATA
 * reached its content-length (Node sends END_STREAM late, in a frame of its
 * own): that answer is whole and counted in http2_length_complete; one whose
 * DATA fell short stays truncated and is not counted. */
static void test_close_length_complete(void **st)
{
    (void)st;
    static const char *resp10[] = {":status", "200", "content-type", "application/json", "content-length", "10", NULL};
    col c;
    tconn t;
    tc_init(&t);
    tc_headers(&t, 0, 1, 0, REQ);
    tc_data(&t, 0, 1, 1, "{}");
    tc_headers(&t, 1, 1, 0, resp10);
    tc_data(&t, 1, 1, 0, "{\"a\":1234}");   /* 10 bytes, no END_STREAM */
    tc_headers(&t, 0, 3, 0, REQ);
    tc_data(&t, 0, 3, 1, "{}");
    tc_headers(&t, 1, 3, 0, resp10);
    tc_data(&t, 1, 3, 0, "{\"a\":");        /* 5 of 10 bytes */
    void *p = mk(&c, 0, 0);
    feed_all(p, &t);
    lt_http2_conn_close(p, 0, 300);
    lt_http2_conn_destroy(p);
    assert_int_equal(c.n, 2);
    ex_sum *whole = find_sid(&c, 1), *cut = find_sid(&c, 3);
    assert_non_null(whole);
    assert_non_null(cut);
    assert_int_equal(whole->incomplete, 0);
    assert_string_equal(whole->body_resp, "{\"a\":1234}");
    assert_int_equal(cut->incomplete, LT_INC_TRUNCATED);
    assert_int_equal(tctr.http2_length_complete, 1);
    tc_free(&t);
}

/* The response direction fed before the request direction (capture order
 * across directions is not guaranteed): still one complete exchange. */
static void test_response_fed_first(void **st)
{
    (void)st;
    col c;
    tconn t;
    tc_init(&t);
    tc_exchange(&t, 1, "{\"q\":1}", "{\"a\":1}");
    void *p = mk(&c, 0, 0);
    lt_http2_conn_feed(p, 1, t.w[1].data, t.w[1].len, 1);
    assert_int_equal(c.n, 0); /* the request may still come */
    lt_http2_conn_feed(p, 0, t.w[0].data, t.w[0].len, 2);
    finish(p);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ex[0].method, "POST");
    assert_string_equal(c.ex[0].body_req, "{\"q\":1}");
    assert_string_equal(c.ex[0].body_resp, "{\"a\":1}");
    assert_int_equal(c.ex[0].incomplete, 0);
    tc_free(&t);
}

/* Issue 11 item 5: HPACK amplification. One 4000-byte table entry
 * referenced by 1-byte indexes in HEADERS + CONTINUATION frames decodes to
 * over 1 MB per stream. The message is dropped once its header list passes
 * 64 KiB (counted), the table stays in sync (the next stream decodes), and
 * nothing over the limit is kept. */
static void test_hpack_amplification(void **st)
{
    (void)st;
    col c;
    void *p = mk(&c, 0, 0);
    tconn t;
    tc_init(&t);
    static uint8_t blk[8192];
    size_t n = 0;
    blk[n++] = 0x83; blk[n++] = 0x86; blk[n++] = 0x84;          /* :method POST, :scheme http, :path / */
    blk[n++] = 0x40; blk[n++] = 3; memcpy(blk + n, "x-a", 3); n += 3; /* literal, incremental indexing */
    blk[n++] = 0x7f; blk[n++] = 0xa1; blk[n++] = 0x1e;          /* value length 127 + 3873 = 4000 */
    memset(blk + n, 'v', 4000); n += 4000;
    frame(&t.w[0], 1, 0, 1, blk, n);                             /* HEADERS without END_HEADERS */
    static uint8_t refs[4096];
    memset(refs, 0xbe, sizeof refs);                             /* index 62: the 4000-byte entry */
    for (int i = 0; i < 8; i++) frame(&t.w[0], 9, i == 7 ? 0x4 : 0, 1, refs, sizeof refs);
    tc_data(&t, 0, 1, 1, "{}");
    tc_headers(&t, 1, 1, 1, RESP);
    tc_exchange(&t, 3, "{\"a\":1}", "{\"b\":2}");
    feed_all(p, &t);
    finish(p);
    tc_free(&t);
    if (tctr.http2_header_limit_hits != 1)
        fail_msg("expected 1 header-limit hit for stream 1 (131 MB of decoded headers), got %llu",
                 (unsigned long long)tctr.http2_header_limit_hits);
    assert_null(find_sid(&c, 1));
    ex_sum *e = find_sid(&c, 3);
    assert_non_null(e);
    assert_string_equal(e->body_req, "{\"a\":1}");
    assert_int_equal(e->status, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_response),
        cmocka_unit_test(test_preface_required),
        cmocka_unit_test(test_settings_max_frame_size),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_continuation),
        cmocka_unit_test(test_continuation_interrupted),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_bad_padding),
        cmocka_unit_test(test_priority),
        cmocka_unit_test(test_trailers),
        cmocka_unit_test(test_interim_100_continue),
        cmocka_unit_test(test_rst_stream),
        cmocka_unit_test(test_goaway_pending),
        cmocka_unit_test(test_interleaved_200),
        cmocka_unit_test(test_stream_cap),
        cmocka_unit_test(test_table_size_update),
        cmocka_unit_test(test_table_size_over_limit),
        cmocka_unit_test(test_push_promise),
        cmocka_unit_test(test_unknown_frame_and_ping),
        cmocka_unit_test(test_gzip_body),
        cmocka_unit_test(test_gap_inside_data),
        cmocka_unit_test(test_gap_between_frames),
        cmocka_unit_test(test_missed_start),
        cmocka_unit_test(test_framing_error_resync),
        cmocka_unit_test(test_upgrade),
        cmocka_unit_test(test_close_truncated),
        cmocka_unit_test(test_close_length_complete),
        cmocka_unit_test(test_response_fed_first),
        cmocka_unit_test(test_hpack_amplification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
