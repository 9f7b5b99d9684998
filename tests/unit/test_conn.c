/* test_conn.c -- protocol detection (parsers/conn.c): which parser a
 * connection gets from its first bytes, the h2c upgrade, server bytes that
 * arrive before the client's, and streams that are not HTTP (counted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include "parsers/conn.h"

typedef struct got {
    int n, version, status;
    char target[128];
} got;

static void on_ex(void *ud, lt_exchange *ex)
{
    got *g = ud;
    g->n++;
    g->version = ex->version;
    g->status = ex->resp.status;
    if (ex->req.target) snprintf(g->target, sizeof g->target, "%s", ex->req.target);
}

static lt_conn_info conn = {.conn_id = 7};

static lt_conn_parser *mk(got *g, lt_counters *c)
{
    memset(g, 0, sizeof *g);
    memset(c, 0, sizeof *c);
    lt_app_sink sink = {.on_exchange = on_ex, .ud = g, .ctr = c};
    return lt_conn_parser_create(NULL, &conn, &sink);
}

static void feed(lt_conn_parser *p, int dir, const char *s, lt_time_us ts)
{
    lt_conn_parser_feed(p, dir, (const uint8_t *)s, strlen(s), ts);
}

static void test_http1_detected(void **st)
{
    (void)st;
    got g; lt_counters c;
    lt_conn_parser *p = mk(&g, &c);
    feed(p, LT_DIR_TO_SERVER, "GET /openai/models HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    feed(p, LT_DIR_TO_CLIENT, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 2);
    lt_conn_parser_close(p, 0, 3);
    lt_conn_parser_destroy(p);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.version, 11);
    assert_string_equal(g.target, "/openai/models");
    assert_int_equal(c.http_exchanges, 1);
    assert_int_equal(c.http2_connections, 0);
}

static void test_not_http_counted(void **st)
{
    (void)st;
    got g; lt_counters c;
    lt_conn_parser *p = mk(&g, &c);
    feed(p, LT_DIR_TO_SERVER, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 1); /* a TLS ClientHello */
    lt_conn_parser_close(p, 0, 2);
    lt_conn_parser_destroy(p);
    assert_int_equal(g.n, 0);
    assert_int_equal(c.streams_non_http, 1);
}

static void test_h2_preface_detected(void **st)
{
    (void)st;
    got g; lt_counters c;
    lt_conn_parser *p = mk(&g, &c);
    /* server SETTINGS before the client's preface: held until the client speaks */
    static const uint8_t settings[] = {0, 0, 0, 4, 0, 0, 0, 0, 0};
    lt_conn_parser_feed(p, LT_DIR_TO_CLIENT, settings, sizeof settings, 1);
    assert_int_equal(c.http2_connections, 0);
    feed(p, LT_DIR_TO_SERVER, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 2);
    lt_conn_parser_close(p, 0, 3);
    lt_conn_parser_destroy(p);
    assert_int_equal(c.http2_connections, 1);
    assert_int_equal(c.streams_non_http, 0);
    assert_int_equal(c.http2_frame_errors, 0);
}

static void test_h2c_upgrade(void **st)
{
    (void)st;
    got g; lt_counters c;
    lt_conn_parser *p = mk(&g, &c);
    feed(p, LT_DIR_TO_SERVER,
         "GET /openai/models HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
         "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n", 1);
    /* 101, then the server's SETTINGS and the response on stream 1 (HEADERS :status 200, END_STREAM) */
    static const uint8_t resp[] = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
                                  "\x00\x00\x00\x04\x00\x00\x00\x00\x00"
                                  "\x00\x00\x01\x01\x05\x00\x00\x00\x01\x88";
    lt_conn_parser_feed(p, LT_DIR_TO_CLIENT, resp, sizeof resp - 1, 2);
    lt_conn_parser_close(p, 0, 3);
    lt_conn_parser_destroy(p);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.version, 20);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.target, "/openai/models");
    assert_int_equal(c.http2_connections, 1);
}

static void test_looks_http1(void **st)
{
    (void)st;
    assert_true(lt_conn_parser_looks_http1(LT_DIR_TO_SERVER, (const uint8_t *)"POST /x", 7));
    assert_true(lt_conn_parser_looks_http1(LT_DIR_TO_SERVER, (const uint8_t *)"PO", 2)); /* a prefix */
    assert_true(lt_conn_parser_looks_http1(LT_DIR_TO_CLIENT, (const uint8_t *)"HTTP/1.1 200", 12));
    assert_false(lt_conn_parser_looks_http1(LT_DIR_TO_CLIENT, (const uint8_t *)"GET / ", 6));
    assert_false(lt_conn_parser_looks_http1(LT_DIR_TO_SERVER, (const uint8_t *)"\x16\x03\x01", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http1_detected),
        cmocka_unit_test(test_not_http_counted),
        cmocka_unit_test(test_h2_preface_detected),
        cmocka_unit_test(test_h2c_upgrade),
        cmocka_unit_test(test_looks_http1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
