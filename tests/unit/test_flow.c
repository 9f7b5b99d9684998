/* test_flow.c -- the flow table (capture/flow.c): both directions of a
 * connection find the same flow with their own side, the LRU order follows
 * activity so the idle timeout and eviction take the oldest, and removal
 * unlinks from both the hash and the LRU list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include "capture/flow.h"

static lt_endpoint ep(uint8_t last, uint16_t port)
{
    lt_endpoint e = {.family = 4, .port = port};
    e.addr[0] = 10; e.addr[3] = last;
    return e;
}

static void test_both_directions_one_flow(void **st)
{
    (void)st;
    lt_flow_table t;
    assert_int_equal(lt_flow_table_init(&t, 16), 0);
    lt_endpoint c = ep(1, 50000), s = ep(2, 443);
    int side_c, side_s;
    assert_null(lt_flow_find(&t, &c, &s, &side_c));
    lt_flow *f = lt_flow_create(&t, &c, &s, 10, &side_c);
    assert_non_null(f);
    assert_ptr_equal(lt_flow_find(&t, &s, &c, &side_s), f);
    assert_int_not_equal(side_c, side_s);
    assert_ptr_equal(lt_flow_find(&t, &c, &s, &side_s), f);
    assert_int_equal(side_c, side_s);
    assert_int_equal(t.count, 1);
    lt_flow_remove(&t, f);
    assert_int_equal(t.count, 0);
    assert_null(lt_flow_find(&t, &c, &s, &side_c));
    lt_flow_table_free(&t);
}

/* Many flows looked up in turns from either side (the last-found cache and
 * the hash): each finds its own flow, and the side follows memcmp's order of
 * the address bytes then the port (10.0.1.0 sorts after 10.0.0.255). */
static void test_many_flows_sides(void **st)
{
    (void)st;
    enum { N = 300 };
    lt_flow_table t;
    assert_int_equal(lt_flow_table_init(&t, N), 0);
    lt_endpoint c[N], s[N];
    lt_flow *f[N];
    for (int i = 0; i < N; i++) {
        c[i] = ep((uint8_t)i, (uint16_t)(40000 + i));
        c[i].addr[2] = (uint8_t)(i & 1);
        s[i] = ep((uint8_t)(255 - i % 7), 443);
        int side;
        f[i] = lt_flow_create(&t, &c[i], &s[i], 1, &side);
        assert_non_null(f[i]);
        int cmp = memcmp(c[i].addr, s[i].addr, 4);
        int want = cmp > 0 || (cmp == 0 && c[i].port > s[i].port);
        if (side != want) fail_msg("flow %d: side %d on create, expected %d", i, side, want);
    }
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < N; k++) {
            int i = (k * 7 + r) % N, side_c = -1, side_s = -1;
            assert_ptr_equal(lt_flow_find(&t, &c[i], &s[i], &side_c), f[i]);
            assert_ptr_equal(lt_flow_find(&t, &c[i], &s[i], &side_c), f[i]);
            assert_ptr_equal(lt_flow_find(&t, &s[i], &c[i], &side_s), f[i]);
            if (side_c + side_s != 1) fail_msg("flow %d: sides %d and %d, expected 0 and 1", i, side_c, side_s);
        }
    for (int i = 0; i < N; i++) {
        int side;
        assert_ptr_equal(lt_flow_find(&t, &s[i], &c[i], &side), f[i]);
        lt_flow_remove(&t, f[i]);
        assert_null(lt_flow_find(&t, &s[i], &c[i], &side));
    }
    assert_int_equal(t.count, 0);
    lt_flow_table_free(&t);
}

static void test_lru_follows_activity(void **st)
{
    (void)st;
    lt_flow_table t;
    lt_flow_table_init(&t, 16);
    lt_endpoint s = ep(2, 443), c1 = ep(1, 1001), c2 = ep(1, 1002), c3 = ep(1, 1003);
    int side;
    lt_flow *f1 = lt_flow_create(&t, &c1, &s, 1, &side);
    lt_flow *f2 = lt_flow_create(&t, &c2, &s, 2, &side);
    lt_flow *f3 = lt_flow_create(&t, &c3, &s, 3, &side);
    assert_ptr_equal(lt_flow_oldest(&t), f1);
    lt_flow_touch(&t, f1, 4);
    assert_ptr_equal(lt_flow_oldest(&t), f2);
    lt_flow_remove(&t, f2);
    assert_ptr_equal(lt_flow_oldest(&t), f3);
    assert_true(f1->info.conn_id != f3->info.conn_id);  /* ids unique within a run */
    lt_flow_remove(&t, f3);
    lt_flow_remove(&t, f1);
    assert_null(lt_flow_oldest(&t));
    lt_flow_table_free(&t);
}

static void test_ipv6_and_ports_distinguish(void **st)
{
    (void)st;
    lt_flow_table t;
    lt_flow_table_init(&t, 16);
    lt_endpoint s = ep(2, 443), a = ep(1, 1000), b = ep(1, 1000);
    b.family = 6;
    int side;
    lt_flow *fa = lt_flow_create(&t, &a, &s, 1, &side);
    assert_null(lt_flow_find(&t, &b, &s, &side));
    lt_endpoint s2 = ep(2, 444);
    assert_null(lt_flow_find(&t, &a, &s2, &side));
    lt_flow_remove(&t, fa);
    lt_flow_table_free(&t);
}

/* The bucket array starts at LT_FLOW_BUCKETS_MIN and doubles as flows are
 * added, never past twice the maximum: 20,000 flows, each found from both
 * sides after every doubling, then removed one by one (each still found
 * until its turn). */
static void test_buckets_grow(void **st)
{
    (void)st;
    enum { N = 20000 };
    lt_flow_table t;
    assert_int_equal(lt_flow_table_init(&t, N), 0);
    if (t.nbuckets != LT_FLOW_BUCKETS_MIN) fail_msg("first size %zu buckets, expected %d", t.nbuckets, LT_FLOW_BUCKETS_MIN);
    static lt_endpoint c[N];
    static lt_flow *f[N];
    lt_endpoint s = ep(200, 443);
    for (int i = 0; i < N; i++) {
        c[i] = ep((uint8_t)(i & 0xff), (uint16_t)(1024 + i));
        c[i].addr[2] = (uint8_t)(i >> 8);
        int side;
        assert_non_null(f[i] = lt_flow_create(&t, &c[i], &s, 1, &side));
    }
    if (t.nbuckets != 32768) fail_msg("%zu buckets for %d flows (max %d), expected 32768", t.nbuckets, N, N);
    for (int i = 0; i < N; i++) {
        int side;
        if (lt_flow_find(&t, &c[i], &s, &side) != f[i] || lt_flow_find(&t, &s, &c[i], &side) != f[i])
            fail_msg("flow %d not found after the table grew", i);
    }
    for (int i = 0; i < N; i++) {
        int side;
        if (lt_flow_find(&t, &s, &c[i], &side) != f[i]) fail_msg("flow %d lost before its removal", i);
        lt_flow_remove(&t, f[i]);
        if (lt_flow_find(&t, &c[i], &s, &side)) fail_msg("flow %d found after its removal", i);
    }
    assert_int_equal(t.count, 0);
    lt_flow_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_directions_one_flow), cmocka_unit_test(test_many_flows_sides),
        cmocka_unit_test(test_lru_follows_activity), cmocka_unit_test(test_buckets_grow),
        cmocka_unit_test(test_ipv6_and_ports_distinguish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
