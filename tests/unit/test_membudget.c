/* test_membudget.c -- the process-wide parser memory budget: its arithmetic
 * (levels, release, high-water, buffer growth), and HTTP/1 under it: a body
 * the budget refuses is kept truncated and flagged "memcap" while another
 * connection, within the budget, completes; queued requests past it keep
 * their framing; everything charged is released when the parsers go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/counters.h"
#include "common/membudget.h"
#include "parsers/http1.h"

static lt_counters tctr;

static void test_levels(void **st)
{
    (void)st;
    lt_membudget mb;
    lt_membudget_init(&mb, 8000); /* bulk share: 7000 */
    assert_int_equal(lt_membudget_try_charge(&mb, 6000, LT_MEMBUDGET_BULK), 0);
    assert_int_equal(lt_membudget_try_charge(&mb, 1001, LT_MEMBUDGET_BULK), -1);
    assert_int_equal(lt_membudget_used(&mb), 6000);
    assert_int_equal(lt_membudget_try_charge(&mb, 1500, LT_MEMBUDGET_STATE), 0); /* state may use the rest */
    assert_int_equal(lt_membudget_try_charge(&mb, 501, LT_MEMBUDGET_STATE), -1);
    assert_true(lt_membudget_over(&mb, LT_MEMBUDGET_BULK));
    assert_false(lt_membudget_over(&mb, LT_MEMBUDGET_STATE));
    lt_membudget_charge(&mb, 1000); /* forced: memory that exists */
    assert_int_equal(lt_membudget_used(&mb), 8500);
    lt_membudget_release(&mb, 8500);
    assert_int_equal(lt_membudget_used(&mb), 0);
    assert_int_equal(lt_membudget_high(&mb), 8500);
    assert_int_equal(atomic_load(&mb.refusals), 2);
    /* a NULL budget charges and refuses nothing */
    assert_int_equal(lt_membudget_try_charge(NULL, 1u << 30, LT_MEMBUDGET_STATE), 0);
    assert_false(lt_membudget_over(NULL, LT_MEMBUDGET_BULK));
}

static void test_buf_room(void **st)
{
    (void)st;
    static const char fill[1024];   /* the bytes appended: only their count matters */
    lt_membudget mb;
    lt_membudget_init(&mb, 1024 * 8 / 7 + 8); /* bulk share just over 1024 */
    lt_buf b;
    lt_buf_init(&b);
    size_t charged = 0;
    size_t n = lt_membudget_buf_room(&mb, &b, 200, &charged, LT_MEMBUDGET_BULK);
    assert_int_equal(n, 200);               /* grows to 256: charged */
    assert_int_equal(charged, 256);
    lt_buf_append(&b, fill, 200);
    assert_int_equal(lt_buf_grown_cap(&b, 600), 1024);
    n = lt_membudget_buf_room(&mb, &b, 600, &charged, LT_MEMBUDGET_BULK);
    assert_int_equal(n, 600);               /* 256 -> 1024: 768 more, 1024 in all */
    assert_int_equal(charged, 1024);
    lt_buf_append(&b, fill, 600);
    n = lt_membudget_buf_room(&mb, &b, 1000, &charged, LT_MEMBUDGET_BULK);
    assert_int_equal(n, 1024 - 800 - 1);    /* refused: what the capacity still holds */
    assert_int_equal(charged, 1024);
    assert_int_equal(lt_membudget_used(&mb), 1024);
    lt_membudget_release(&mb, charged);
    lt_buf_free(&b);
    assert_int_equal(lt_membudget_used(&mb), 0);
}

typedef struct col {
    int n;
    int incomplete[8];
    size_t req_body[8];
    int req_truncated[8];
    size_t req_hdrs[8];
    char target[8][32];
} col;

static void on_ex(void *ud, lt_exchange *e)
{
    col *c = ud;
    if (c->n >= 8) return;
    c->incomplete[c->n] = e->incomplete;
    c->req_body[c->n] = e->req.body.len;
    c->req_truncated[c->n] = e->req.body_truncated;
    c->req_hdrs[c->n] = e->req.nhdrs;
    snprintf(c->target[c->n], sizeof c->target[0], "%s", e->req.target ? e->req.target : "");
    c->n++;
}

static lt_conn_info conn;

static void *mk(col *c, lt_membudget *mb)
{
    memset(c, 0, sizeof *c);
    lt_parser_cfg cfg;
    lt_parser_cfg_defaults(&cfg);
    cfg.budget = mb;
    lt_app_sink sink = {on_ex, NULL, c, &tctr};
    return lt_http1_ops.create(&cfg, &conn, &sink);
}

static void feeds(void *p, int dir, const char *s)
{
    lt_http1_ops.feed(p, dir, (const uint8_t *)s, strlen(s), 1000);
}

static void test_body_cut_other_completes(void **st)
{
    (void)st;
    lt_membudget mb;
    lt_membudget_init(&mb, 64 << 10); /* bulk share 56 KiB */
    uint64_t before = tctr.parser_budget_truncations;
    col ca, cb;
    void *a = mk(&ca, &mb), *b = mk(&cb, &mb);
    feeds(a, 0, "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n");
    char *chunk = malloc(10001);
    memset(chunk, 'a', 10000);
    chunk[10000] = 0;
    for (int i = 0; i < 20; i++) feeds(a, 0, chunk); /* 200 KB in flight: past the budget */
    free(chunk);
    assert_true(lt_membudget_high(&mb) <= 64 << 10);
    /* A's body stopped growing; B's small body still fits in what is left */
    feeds(b, 0, "POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    feeds(b, 1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    feeds(a, 1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assert_int_equal(ca.n, 1);
    assert_int_equal(cb.n, 1);
    assert_int_equal(ca.incomplete[0], LT_INC_MEMCAP);
    assert_true(ca.req_truncated[0]);
    assert_true(ca.req_body[0] < 64 << 10);
    assert_int_equal(cb.incomplete[0], LT_INC_NONE);
    assert_int_equal(cb.req_body[0], 5);
    assert_int_equal(tctr.parser_budget_truncations, before + 1);
    lt_http1_ops.close(a, 0, 2000);
    lt_http1_ops.destroy(a);
    lt_http1_ops.close(b, 0, 2000);
    lt_http1_ops.destroy(b);
    assert_int_equal(lt_membudget_used(&mb), 0); /* everything charged came back */
}

static void test_queue_keeps_framing(void **st)
{
    (void)st;
    lt_membudget mb;
    lt_membudget_init(&mb, 3000); /* the head buffers and about one queued request */
    col c;
    void *p = mk(&c, &mb);
    /* four pipelined requests with bodies, no response yet */
    for (int i = 0; i < 4; i++) {
        char req[128];
        snprintf(req, sizeof req, "POST /r%d HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", i);
        feeds(p, 0, req);
    }
    for (int i = 0; i < 4; i++) feeds(p, 1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assert_int_equal(c.n, 4);
    int cut = 0;
    for (int i = 0; i < 4; i++) {
        char want[16];
        snprintf(want, sizeof want, "/r%d", i);
        assert_string_equal(c.target[i], want); /* each response still pairs with its request */
        if (c.req_hdrs[i] == 0) { /* refused: kept for pairing, without headers or body */
            cut++;
            assert_int_equal(c.incomplete[i], LT_INC_MEMCAP);
            assert_int_equal(c.req_body[i], 0);
        }
    }
    assert_true(cut >= 1);
    assert_true(c.req_hdrs[0] > 0); /* the first one fitted */
    lt_http1_ops.close(p, 0, 2000);
    lt_http1_ops.destroy(p);
    assert_int_equal(lt_membudget_used(&mb), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_buf_room),
        cmocka_unit_test(test_body_cut_other_completes),
        cmocka_unit_test(test_queue_keeps_framing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
