/* test_sse.c -- the SSE parser, one behaviour per case, including a realistic
 * Azure stream split at every byte boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "parsers/sse.h"

typedef struct got {
    char log[8192];
    int n, unterminated;
} got;

static void on_ev(void *ud, const lt_sse_event *ev)
{
    got *g = ud;
    size_t l = strlen(g->log);
    snprintf(g->log + l, sizeof g->log - l, "[%.*s|%.*s|%.*s]", (int)ev->event_len, ev->event,
             (int)ev->data_len, ev->data, (int)ev->id_len, ev->id);
    g->n++;
    g->unterminated += ev->unterminated;
}

static void parse_split(const char *in, size_t split, got *g)
{
    memset(g, 0, sizeof *g);
    lt_sse *s = lt_sse_create(on_ev, g);
    size_t n = strlen(in);
    if (split > n) split = n;
    lt_sse_feed(s, (const uint8_t *)in, split);
    lt_sse_feed(s, (const uint8_t *)in + split, n - split);
    lt_sse_finish(s);
    lt_sse_destroy(s);
}

static void expect_all_splits(const char *in, const char *want)
{
    got g;
    for (size_t i = 0; i <= strlen(in); i++) {
        parse_split(in, i, &g);
        if (strcmp(g.log, want)) fail_msg("split at %zu: got %s want %s", i, g.log, want);
    }
}

static void test_lf(void **st) { (void)st; expect_all_splits("data: a\n\ndata: b\n\n", "[|a|][|b|]"); }
static void test_crlf(void **st) { (void)st; expect_all_splits("data: a\r\n\r\ndata: b\r\n\r\n", "[|a|][|b|]"); }
static void test_cr_only(void **st) { (void)st; expect_all_splits("data: a\r\rdata: b\r\r", "[|a|][|b|]"); }
static void test_multiline(void **st) { (void)st; expect_all_splits("data: one\ndata: two\ndata:three\n\n", "[|one\ntwo\nthree|]"); }
static void test_comment(void **st) { (void)st; expect_all_splits(": keep-alive\n\ndata: x\n: note\n\n", "[|x|]"); }
static void test_event_id(void **st) { (void)st; expect_all_splits("event: response.completed\nid: 7\ndata: {}\n\n", "[response.completed|{}|7]"); }
static void test_done(void **st) { (void)st; expect_all_splits("data: {\"a\":1}\n\ndata: [DONE]\n\n", "[|{\"a\":1}|][|[DONE]|]"); }
static void test_bom(void **st) { (void)st; expect_all_splits("\xEF\xBB\xBF" "data: a\n\n", "[|a|]"); }
static void test_no_space(void **st) { (void)st; expect_all_splits("data:a\ndata:  b\n\n", "[|a\n b|]"); }
static void test_empty_event_not_dispatched(void **st) { (void)st; expect_all_splits("event: x\n\n\n\ndata: y\n\n", "[|y|]"); }

static void test_unterminated(void **st)
{
    (void)st;
    got g;
    parse_split("data: a\n\ndata: cut", 3, &g);
    assert_string_equal(g.log, "[|a|][|cut|]");
    assert_int_equal(g.unterminated, 1);
}

static void test_azure_stream_every_split(void **st)
{
    (void)st;
    const char *in =
        "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"prompt_filter_results\":[]}\r\n\r\n"
        "data: {\"choices\":[{\"delta\":{\"content\":\"\xEC\x95\x88\xEB\x85\x95\"}}]}\r\n\r\n"
        "data: {\"choices\":[],\"usage\":{\"total_tokens\":9}}\r\n\r\n"
        "data: [DONE]\r\n\r\n";
    got whole;
    parse_split(in, 0, &whole);
    assert_int_equal(whole.n, 4);
    expect_all_splits(in, whole.log);
}

static void test_offsets(void **st)
{
    (void)st;
    const char *in = "data: a\n\ndata: bb\n\n";
    struct { uint64_t off[4]; int n; } o = {{0}, 0};
    void cb(void *ud, const lt_sse_event *ev);
    lt_sse_parse_all((const uint8_t *)in, strlen(in), cb, &o);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.off[0], 0);
    assert_int_equal(o.off[1], 9);
}
void cb(void *ud, const lt_sse_event *ev)
{
    struct { uint64_t off[4]; int n; } *o = ud;
    o->off[o->n++] = ev->off;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lf), cmocka_unit_test(test_crlf), cmocka_unit_test(test_cr_only),
        cmocka_unit_test(test_multiline), cmocka_unit_test(test_comment), cmocka_unit_test(test_event_id),
        cmocka_unit_test(test_done), cmocka_unit_test(test_bom), cmocka_unit_test(test_no_space),
        cmocka_unit_test(test_empty_event_not_dispatched), cmocka_unit_test(test_unterminated),
        cmocka_unit_test(test_azure_stream_every_split), cmocka_unit_test(test_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
