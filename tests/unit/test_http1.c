/* test_http1.c -- the HTTP/1.x parser, one protocol behaviour per case:
 * pipelining, every body framing, bodies without framing (HEAD/204/304),
 * 100-continue, content encodings, caps, holes, resynchronization, missed
 * starts, close handling, h2c upgrade. Inputs are split at every byte where
 * that matters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <brotli/encode.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "common/counters.h"
#include "parsers/http1.h"

/* The counters every object under test counts into. */
static lt_counters tctr;

#define MAXEX 16
typedef struct ex_sum {
    char method[16], target[128], body_req[512], body_resp[4096];
    int status, incomplete, resp_present, req_present, truncated, decode_error;
} ex_sum;
typedef struct col {
    ex_sum ex[MAXEX];
    int n, upgrades;
} col;

static void on_ex(void *ud, lt_exchange *e)
{
    col *c = ud;
    if (c->n >= MAXEX) return;
    ex_sum *s = &c->ex[c->n++];
    memset(s, 0, sizeof *s);
    if (e->req.method) snprintf(s->method, sizeof s->method, "%s", e->req.method);
    if (e->req.target) snprintf(s->target, sizeof s->target, "%s", e->req.target);
    snprintf(s->body_req, sizeof s->body_req, "%.*s", (int)e->req.body.len, e->req.body.data ? (char *)e->req.body.data : "");
    snprintf(s->body_resp, sizeof s->body_resp, "%.*s", (int)e->resp.body.len, e->resp.body.data ? (char *)e->resp.body.data : "");
    s->status = e->resp.status;
    s->incomplete = e->incomplete;
    s->req_present = e->req.present;
    s->resp_present = e->resp.present;
    s->truncated = e->resp.body_truncated;
    s->decode_error = e->resp.decode_error;
}

static void on_up(void *ud, const char *proto, lt_http_msg *req, lt_time_us ts)
{
    (void)proto; (void)req; (void)ts;
    ((col *)ud)->upgrades++;
}

static lt_conn_info conn;

static void *mk(col *c, size_t body_cap)
{
    memset(c, 0, sizeof *c);
    lt_parser_cfg cfg;
    lt_parser_cfg_defaults(&cfg);
    if (body_cap) cfg.body_cap = body_cap;
    lt_app_sink sink = {on_ex, on_up, c, &tctr};
    return lt_http1_ops.create(&cfg, &conn, &sink);
}

static void feed(void *p, int dir, const char *s, size_t n) { lt_http1_ops.feed(p, dir, (const uint8_t *)s, n, 1000); }
static void feeds(void *p, int dir, const char *s) { feed(p, dir, s, strlen(s)); }
static void done(void *p) { lt_http1_ops.close(p, 0, 2000); lt_http1_ops.destroy(p); }

#define REQ(path, body) "POST " path " HTTP/1.1\r\nHost: x\r\nContent-Length: " #body "\r\n\r\n"

static void test_simple_cl(void **st)
{
    (void)st;
    col c;
    void *p = mk(&c, 0);
    feeds(p, 0, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    feeds(p, 1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    done(p);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ex[0].method, "POST");
    assert_string_equal(c.ex[0].target, "/a");
    assert_string_equal(c.ex[0].body_req, "hello");
    assert_string_equal(c.ex[0].body_resp, "ok");
    assert_int_equal(c.ex[0].incomplete, 0);
}

static void test_every_split(void **st)
{
    (void)st;
    const char *req = "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    const char *resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nxyz\r\n2\r\n!!\r\n0\r\nX-Trailer: t\r\n\r\n";
    for (size_t i = 0; i <= strlen(resp); i++) {
        col c;
        void *p = mk(&c, 0);
        size_t j = i % (strlen(req) + 1);
        feed(p, 0, req, j);
        feed(p, 0, req + j, strlen(req) - j);
        feed(p, 1, resp, i);
        feed(p, 1, resp + i, strlen(resp) - i);
        done(p);
        assert_int_equal(c.n, 1);
        assert_string_equal(c.ex[0].body_req, "abc");
        assert_string_equal(c.ex[0].body_resp, "xyz!!");
        assert_int_equal(c.ex[0].incomplete, 0);
    }
}

/* Chunk sizes are read as strtoull(s, &e, 16) read them (the parser used it
 * before reading the digits itself): "0x" before a digit, leading zeros,
 * both cases, an extension right after the digits; at every split. */
static void test_chunk_size_forms(void **st)
{
    (void)st;
    const char *req = "GET /c HTTP/1.1\r\n\r\n";
    const char *resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nxyz\r\n00b;a=b\r\nhello world\r\n"
                       "0X2\r\n!!\r\n0\r\nX-T: 1\r\n\r\n";
    for (size_t i = 0; i <= strlen(resp); i++) {
        col c;
        void *p = mk(&c, 0);
        feeds(p, 0, req);
        feed(p, 1, resp, i);
        feed(p, 1, resp + i, strlen(resp) - i);
        done(p);
        assert_int_equal(c.n, 1);
        assert_string_equal(c.ex[0].body_resp, "xyzhello world!!");
        assert_int_equal(c.ex[0].incomplete, 0);
    }
}

static void test_pipelining(void **st)
{
    (void)st;
    col c;
    void *p = mk(&c, 0);
    feeds(p, 0, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n");
    feeds(p, 1, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 201 OK\r\nContent-Length: 1\r\n\r\nB"
                "HTTP/1.1 202 OK\r\nContent-Length: 1\r\n\r\nC");
    done(p);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.ex[0].target, "/1"); assert_string_equal(c.ex[0].body_resp, "A");
    assert_string_equal(c.ex[2].target, "/3"); assert_int_equal(c.ex[2].status, 202);
}

static void test_close_delimited(void **st)
{
    (void)st;
    col c;
    void *p = mk(&c, 0);
    feeds(p, 0, "GET / HTTP/1.0\r\n\r\n");
    feeds(p, 1, "HTTP/1.0 200 OK\r\n\r\nuntil close");
    assert_int_equal(c.n, 0);
    lt_http1_ops.eof(p, 1, 1500);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ex[0].body_resp, "until close");
    assert_int_equal(c.ex[0].incomplete, 0);
    done(p);
}

static void test_no_body_responses(void **st)
{
    (void)st;
    col c;
    void *p = mk(&c, 0);
    feeds(p, 0, "HEAD /h HTTP/1.1\r\n\r\nGET /n HTTP/1.1\r\n\r\nGET /m HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\n");
    feeds(p, 1, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
                "HTTP/1.1 204 No Content\r\n\r\n"
                "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nZ");
    done(p);
    assert_int_equal(c.n, 4);
    for (int i = 0; i < 4; i++) assert_int_equal(c.ex[i].incomplete, 0);
    assert_string_equal(c.ex[3].body_resp, "Z");
}

static void test_100_continue(void **st)
{
    (void)st;
    col c;
    void *p = mk(&c, 0);
    feeds(p, 0, "POST /u HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    feeds(p, 1, "HTTP/1.1 100 Continue\r\n\r\n");
    feeds(p, 0, "data");
    feeds(p, 1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    done(p);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ex[0].status, 200);
    assert_string_equal(c.ex[0].body_req, "data");
}

static size_t gz(const char *in, uint8_t *out, size_t cap, int raw)
{
    z_stream z = {0};
    deflateInit2(&z, 6, Z_DEFLATED, raw ? -15 : 31, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)in; z.avail_in = (uInt)strlen(in); z.next_out = out; z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

static void encoded_response(const char *enc, const uint8_t *b, size_t n, const char *want)
{
    col c;
    void *p = mk(&c, 0);
    char head[256];
    feeds(p, 0, "GET / HTTP/1.1\r\n\r\n");
    snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %zu\r\n\r\n", enc, n);
    feeds(p, 1, head);
    for (size_t i = 0; i < n; i++) feed(p, 1, (const char *)b + i, 1); /* byte by byte */
    done(p);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ex[0].body_resp, want);
    assert_int_equal(c.ex[0].decode_error, 0);
}

static void test_gzip_deflate_br(void **st)
{
    (void)st;
    const char *txt = "{\"choices\":[{\"message\":{\"content\":\"compressed hello\"}}]}";
    uint8_t buf[512];
    encoded_response("gzip", buf, gz(txt, buf, sizeof buf, 0), txt);
    encoded_response("deflate", buf, gz(txt, buf, sizeof buf, 1), txt);
    size_t n = sizeof buf;
    BrotliEncoderCompress(5, 22, BROTLI_MODE_TEXT, strlen(txt), (const uint8_t *)txt, &n, buf);
    encoded_response("br", buf, n, txt);
}

static void test_bomb_capped(void **st)
{
    (void)st;
    static char big[1 << 20];
    memset(big, 'a', sizeof big - 1);
    static uint8_t z[1 << 16];
    size_t n = gz(big, z, sizeof z, 0);
    col c;
    void *p = mk(&c, 1000);
    char head[256];
    feeds(p, 0, "GET / HTTP/1.1\r\n\r\n");
    snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", n);
    feeds(p, 1, head);
    feed(p, 1, (const char *)z, n);
    done(p);
    assert_int_equal(c.n, 1);
    assert_int_equal(strlen(c.ex[0].body_resp), 1000);
    assert_int_equal(c.ex[0].truncated, 1);
}

static void test_gap_in_cl_body(void **st)
{
    (void)st;
    col c;
    void *p = mk(&c, 0);
    feeds(p, 0, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
    feeds(p, 1, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    lt_http1_ops.gap(p, 1, 4, 1100);
    feeds(p, 1, "xyzHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    done(p);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.ex[0].incomplete, LT_INC_HOLE);
    assert_string_equal(c.ex[0].body_resp, "abcxyz");
    assert_int_equal(c.ex[1].incomplete, 0);
    assert_string_equal(c.ex[1].body_resp, "ok");
}

static void test_gap_in_chunked_resyncs(void **st)
{
    (void)st;
    col c;
    void *p = mk(&c, 0);
    feeds(p, 0, "GET /1 HTTP/1.1\r\n\r\n");
    feeds(p, 1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
    lt_http1_ops.gap(p, 1, 20, 1100);
    feeds(p, 1, "garbage\r\n0\r\n\r\n");
    feeds(p, 0, "GET /2 HTTP/1.1\r\n\r\n");
    feeds(p, 1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    done(p);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.ex[0].incomplete, LT_INC_HOLE);
    assert_string_equal(c.ex[1].target, "/2");
    assert_string_equal(c.ex[1].body_resp, "ok");
    assert_int_equal(c.ex[1].incomplete, 0);
}

static void test_garbage_then_request(void **st)
{
    (void)st;
    col c;
    uint64_t before = tctr.http_parse_errors;
    void *p = mk(&c, 0);
    feeds(p, 0, "\x16\x03\x01 not http at all\r\n\r\nGET /ok HTTP/1.1\r\n\r\n");
    feeds(p, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    done(p);
    assert_true(tctr.http_parse_errors > before);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ex[0].target, "/ok");
}

static void test_missed_start(void **st)
{
    (void)st;
    col c;
    conn.missed_start = 1;
    void *p = mk(&c, 0);
    feeds(p, 0, "ent\": \"tail of a body\"}GET /next HTTP/1.1\r\n\r\n");
    feeds(p, 1, "tail of a response\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    done(p);
    conn.missed_start = 0;
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ex[0].target, "/next");
    assert_int_equal(c.ex[0].incomplete, 0);
}

static void test_close_pending(void **st)
{
    (void)st;
    col c;
    void *p = mk(&c, 0);
    feeds(p, 0, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
    feeds(p, 1, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    done(p);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.ex[0].incomplete, LT_INC_TRUNCATED);
    assert_int_equal(c.ex[1].incomplete, LT_INC_NO_RESPONSE);
}

static void test_response_without_request(void **st)
{
    (void)st;
    col c;
    void *p = mk(&c, 0);
    feeds(p, 1, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    done(p);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ex[0].req_present, 0);
    assert_int_equal(c.ex[0].incomplete, LT_INC_NO_REQUEST);
}

static void test_upgrade_h2c(void **st)
{
    (void)st;
    col c;
    void *p = mk(&c, 0);
    feeds(p, 0, "GET / HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n");
    const char *resp = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n\x00\x00\x00\x04";
    feed(p, 1, resp, strlen(resp) + 1);
    assert_int_equal(c.upgrades, 1);
    assert_int_equal(lt_http1_upgrade_offset(p), strlen(resp)); /* the HTTP/2 bytes are left over */
    done(p);
    assert_int_equal(c.n, 0);
}

/* Issue 11 item 1: the server answers (413) before the request body has
 * finished; the request side must not write into a freed exchange, and the
 * exchange is emitted once, with the whole request body, when both ended. */
static void test_early_response(void **st)
{
    (void)st;
    col c;
    void *p = mk(&c, 0);
    feeds(p, 0, "POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    feeds(p, 1, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(c.n, 0); /* the request is still arriving */
    feeds(p, 0, "defghij");
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ex[0].status, 413);
    assert_string_equal(c.ex[0].body_req, "abcdefghij");
    assert_int_equal(c.ex[0].incomplete, LT_INC_NONE);
    feeds(p, 0, "GET /next HTTP/1.1\r\n\r\n");
    feeds(p, 1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    done(p);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.ex[1].target, "/next");
    assert_string_equal(c.ex[1].body_resp, "ok");
}

/* The same, but the request body never ends: close emits it truncated. */
static void test_early_response_cut(void **st)
{
    (void)st;
    col c;
    void *p = mk(&c, 0);
    feeds(p, 0, "POST /u HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
    feeds(p, 1, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 1\r\n\r\nx");
    done(p);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ex[0].status, 401);
    assert_int_equal(c.ex[0].incomplete, LT_INC_TRUNCATED);
}

/* Issue 11 item 2: an invalid Content-Length after a Content-Encoding
 * leaked the decoder on resync (ASan's leak check in make asan). The message
 * is closed as a parse error and the next one parses. */
static void test_bad_length_after_encoding(void **st)
{
    (void)st;
    col c;
    void *p = mk(&c, 0);
    lt_counters before = tctr;
    for (int i = 0; i < 3; i++) {
        feeds(p, 0, "GET /x HTTP/1.1\r\n\r\n");
        feeds(p, 1, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: zz\r\n\r\n");
    }
    feeds(p, 0, "GET /y HTTP/1.1\r\n\r\n");
    feeds(p, 1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    done(p);
    assert_int_equal(tctr.http_parse_errors - before.http_parse_errors, 3);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.ex[0].incomplete, LT_INC_PARSE_ERROR);
    assert_string_equal(c.ex[3].target, "/y");
    assert_string_equal(c.ex[3].body_resp, "ok");
}

/* Issue 11 item 8: one 64 KB segment of malformed messages used to recurse
 * once per message (thousands of frames, and a copy of the rest of the
 * window per frame: over 100 MB). Now a loop: it runs on a thread with a
 * 128 KiB stack, every malformed message is a counted parse error and the
 * response after them still parses. */
typedef struct resync_job { col c; uint64_t errors; } resync_job;

static void *resync_thread(void *arg)
{
    resync_job *j = arg;
    void *p = mk(&j->c, 0);
    lt_counters before = tctr;
    const char *bad = "HTTP/1.1 200 \r\nContent-Length: x\r\n\r\n";
    size_t bl = strlen(bad), n = 65536 / bl;
    const char *good = "HTTP/1.1 204 No Content\r\n\r\n";
    char *seg = malloc(n * bl + strlen(good));
    for (size_t i = 0; i < n; i++) memcpy(seg + i * bl, bad, bl);
    memcpy(seg + n * bl, good, strlen(good));
    for (size_t i = 0; i <= n; i++) feeds(p, 0, "GET /a HTTP/1.1\r\n\r\n");
    feed(p, 1, seg, n * bl + strlen(good));
    free(seg);
    done(p);
    j->errors = tctr.http_parse_errors - before.http_parse_errors;
    return NULL;
}

static void test_resync_is_a_loop(void **st)
{
    (void)st;
    static resync_job j;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 128u << 10);
    pthread_t t;
    assert_int_equal(pthread_create(&t, &a, resync_thread, &j), 0);
    pthread_join(t, NULL);
    pthread_attr_destroy(&a);
    size_t n = 65536 / strlen("HTTP/1.1 200 \r\nContent-Length: x\r\n\r\n");
    assert_int_equal(j.errors, n);
    assert_int_equal(j.c.n, MAXEX); /* n + 1 exchanges; the collector keeps the first 16 */
    assert_int_equal(j.c.ex[0].incomplete, LT_INC_PARSE_ERROR);
}

/* Issue 11 item 6: request bodies are decoded under the same rules: a
 * "gzip, gzip" request body stops at the expansion ratio, is kept truncated
 * and counted, and the response still pairs. */
static size_t gz_bin(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    z_stream z = {0};
    deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)in; z.avail_in = (uInt)len; z.next_out = out; z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

static void test_request_body_bomb(void **st)
{
    (void)st;
    size_t n = 256u << 20;
    uint8_t *zeros = calloc(1, n), *z1 = malloc(1 << 20), *z2 = malloc(1 << 20);
    size_t n1 = gz_bin(zeros, n, z1, 1 << 20), n2 = gz_bin(z1, n1, z2, 1 << 20);
    free(zeros);
    col c;
    void *p = mk(&c, 0);
    lt_counters before = tctr;
    char head[256];
    snprintf(head, sizeof head, "POST /b HTTP/1.1\r\nContent-Encoding: gzip, gzip\r\nContent-Length: %zu\r\n\r\n", n2);
    feeds(p, 0, head);
    feed(p, 0, (const char *)z2, n2);
    feeds(p, 1, "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nno");
    done(p);
    free(z1);
    free(z2);
    if (tctr.http_decode_bombs - before.http_decode_bombs != 1)
        fail_msg("expected the request body counted as a decompression bomb once, got %llu",
                 (unsigned long long)(tctr.http_decode_bombs - before.http_decode_bombs));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ex[0].status, 400);
    assert_string_equal(c.ex[0].body_resp, "no");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_cl), cmocka_unit_test(test_every_split), cmocka_unit_test(test_pipelining),
        cmocka_unit_test(test_close_delimited), cmocka_unit_test(test_no_body_responses),
        cmocka_unit_test(test_100_continue), cmocka_unit_test(test_gzip_deflate_br), cmocka_unit_test(test_bomb_capped),
        cmocka_unit_test(test_gap_in_cl_body), cmocka_unit_test(test_chunk_size_forms), cmocka_unit_test(test_gap_in_chunked_resyncs),
        cmocka_unit_test(test_garbage_then_request), cmocka_unit_test(test_missed_start),
        cmocka_unit_test(test_close_pending), cmocka_unit_test(test_response_without_request),
        cmocka_unit_test(test_upgrade_h2c), cmocka_unit_test(test_early_response),
        cmocka_unit_test(test_early_response_cut), cmocka_unit_test(test_bad_length_after_encoding),
        cmocka_unit_test(test_resync_is_a_loop), cmocka_unit_test(test_request_body_bomb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
