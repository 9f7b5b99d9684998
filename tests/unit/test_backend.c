/* test_backend.c -- the proxy's pure backend decisions: priority groups,
 * smooth weighted round robin shares over 10,000 picks, plain round robin
 * for equal weights, skipping tried backends, 429 cooldown (capped) and
 * recovery, the circuit breaker (opens on N failures in the window, one
 * half-open probe, closes or re-opens), Retry-After parsing in all forms,
 * and the soonest-recovery time used for the 503's Retry-After. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "proxy/backend.h"

#define S 1000000LL
static const lt_time_us T0 = 1800000000LL * S;

static void mk(lt_backend *b, const char *name, int prio, int weight)
{
    memset(b, 0, sizeof *b);
    b->name = (char *)name;
    b->url = (char *)"http://x";
    b->priority = prio;
    b->weight = weight;
}

static void test_weights_share(void **st)
{
    (void)st;
    lt_backend p[3];
    mk(&p[0], "a", 1, 3); mk(&p[1], "b", 1, 1); mk(&p[2], "c", 2, 10);
    int count[3] = {0};
    for (int i = 0; i < 10000; i++) count[lt_backend_pick(p, 3, NULL, T0)]++;
    printf("shares: a=%d b=%d c=%d (expected 7500 2500 0)\n", count[0], count[1], count[2]);
    assert_true(count[0] >= 7300 && count[0] <= 7700);
    assert_true(count[1] >= 2300 && count[1] <= 2700);
    assert_int_equal(count[2], 0);
}

static void test_equal_weights_round_robin(void **st)
{
    (void)st;
    lt_backend p[3];
    mk(&p[0], "a", 1, 1); mk(&p[1], "b", 1, 1); mk(&p[2], "c", 1, 1);
    int seq[9];
    for (int i = 0; i < 9; i++) seq[i] = lt_backend_pick(p, 3, NULL, T0);
    for (int i = 3; i < 9; i++) {
        if (seq[i] != seq[i - 3]) fail_msg("pick %d: expected %d (period 3), got %d", i, seq[i - 3], seq[i]);
    }
    assert_true(seq[0] != seq[1] && seq[1] != seq[2] && seq[0] != seq[2]);
}

static void test_skip_and_priority_failover(void **st)
{
    (void)st;
    lt_backend p[3];
    mk(&p[0], "a", 1, 1); mk(&p[1], "b", 2, 1); mk(&p[2], "c", 3, 1);
    uint8_t skip[3] = {1, 0, 0};
    assert_int_equal(lt_backend_pick(p, 3, skip, T0), 1);
    skip[1] = 1;
    assert_int_equal(lt_backend_pick(p, 3, skip, T0), 2);
    skip[2] = 1;
    assert_int_equal(lt_backend_pick(p, 3, skip, T0), -1);
}

static void test_cooldown_and_recovery(void **st)
{
    (void)st;
    lt_backend p[2];
    mk(&p[0], "a", 1, 1); mk(&p[1], "b", 2, 1);
    lt_backend_cool(&p[0], 1500, 1000, 60000, T0);
    assert_int_equal(lt_backend_pick(p, 2, NULL, T0), 1);
    assert_int_equal(lt_backend_pick(p, 2, NULL, T0 + 1499 * 1000), 1);
    assert_int_equal(lt_backend_pick(p, 2, NULL, T0 + 1500 * 1000), 0);
    /* 86400 s from a quota error is capped */
    lt_backend_cool(&p[0], 86400LL * 1000, 1000, 60000, T0);
    assert_int_equal(p[0].cool_until, T0 + 60 * S);
    /* no header: the default */
    lt_backend_cool(&p[1], -1, 1000, 60000, T0);
    assert_int_equal(p[1].cool_until, T0 + 1 * S);
    assert_int_equal(p[0].responses_429, 2);
    assert_int_equal(lt_backend_next_ready(p, 2, T0), T0 + 1 * S);
    assert_int_equal(lt_backend_pick(p, 2, NULL, T0 + 500000), -1);
}

static void test_breaker(void **st)
{
    (void)st;
    lt_breaker_cfg c;
    lt_backend_breaker_defaults(&c);
    lt_backend p[2];
    mk(&p[0], "a", 1, 1); mk(&p[1], "b", 2, 1);
    /* 4 failures spread over more than the window do not open it */
    for (int i = 0; i < 4; i++) lt_backend_result(&p[0], &c, 1, T0 + i * 4 * S);
    assert_int_equal(p[0].breaker, LT_BREAKER_CLOSED);
    /* 5 within 10 s do */
    for (int i = 0; i < 5; i++) lt_backend_result(&p[0], &c, 1, T0 + 20 * S + i * S);
    assert_int_equal(p[0].breaker, LT_BREAKER_OPEN);
    lt_time_us opened = T0 + 24 * S;
    assert_int_equal(p[0].open_until, opened + 30 * S);
    assert_int_equal(lt_backend_pick(p, 2, NULL, opened + 29 * S), 1);
    /* after 30 s: one probe, and only one */
    assert_int_equal(lt_backend_pick(p, 2, NULL, opened + 30 * S), 0);
    assert_int_equal(p[0].breaker, LT_BREAKER_HALF_OPEN);
    assert_int_equal(lt_backend_pick(p, 2, NULL, opened + 30 * S), 1);
    /* the probe fails: open again for 30 s */
    lt_backend_result(&p[0], &c, 1, opened + 31 * S);
    assert_int_equal(p[0].breaker, LT_BREAKER_OPEN);
    assert_int_equal(lt_backend_pick(p, 2, NULL, opened + 60 * S), 1);
    assert_int_equal(lt_backend_pick(p, 2, NULL, opened + 61 * S), 0);
    /* the probe succeeds: closed */
    lt_backend_result(&p[0], &c, 0, opened + 62 * S);
    assert_int_equal(p[0].breaker, LT_BREAKER_CLOSED);
    assert_int_equal(lt_backend_pick(p, 2, NULL, opened + 62 * S), 0);
    assert_int_equal(p[0].breaker_opens, 2);
}

static void test_probe_cancel(void **st)
{
    (void)st;
    lt_breaker_cfg c;
    lt_backend_breaker_defaults(&c);
    c.failures = 1;
    lt_backend b;
    mk(&b, "a", 1, 1);
    lt_backend_result(&b, &c, 1, T0);
    assert_int_equal(lt_backend_pick(&b, 1, NULL, T0 + 30 * S), 0);
    assert_int_equal(lt_backend_pick(&b, 1, NULL, T0 + 30 * S), -1);
    lt_backend_probe_cancel(&b);
    assert_int_equal(lt_backend_pick(&b, 1, NULL, T0 + 30 * S), 0);
}

static void test_retry_after(void **st)
{
    (void)st;
    assert_int_equal(lt_backend_retry_after_ms("1500", "9", "7", T0), 1500);
    assert_int_equal(lt_backend_retry_after_ms(NULL, "250", "7", T0), 250);
    assert_int_equal(lt_backend_retry_after_ms(NULL, NULL, "7", T0), 7000);
    assert_int_equal(lt_backend_retry_after_ms(" 12.5 ", NULL, NULL, T0), 13);
    assert_int_equal(lt_backend_retry_after_ms(NULL, NULL, "86400", T0), 86400000LL);
    /* HTTP date, 20 s after T0 (1800000000 = Fri, 15 Jan 2027 08:00:00 GMT) */
    assert_int_equal(lt_backend_retry_after_ms(NULL, NULL, "Fri, 15 Jan 2027 08:00:20 GMT", T0), 20000);
    /* a date in the past: no wait */
    assert_int_equal(lt_backend_retry_after_ms(NULL, NULL, "Fri, 15 Jan 2027 07:00:00 GMT", T0), 0);
    assert_int_equal(lt_backend_retry_after_ms(NULL, NULL, NULL, T0), -1);
    assert_int_equal(lt_backend_retry_after_ms("soon", "-3", "later", T0), -1);
    assert_int_equal(lt_backend_retry_after_ms("5x", NULL, NULL, T0), -1);
}

static void test_json(void **st)
{
    (void)st;
    lt_backend b;
    mk(&b, "east", 1, 2);
    for (uint32_t i = 1; i <= 100; i++) lt_backend_latency(&b, i);
    b.requests = 100;
    lt_backend_cool(&b, 5000, 1000, 60000, T0);
    json_t *o = lt_backend_json(&b, T0);
    assert_string_equal(json_string_value(json_object_get(o, "name")), "east");
    assert_int_equal(json_integer_value(json_object_get(o, "latency_p50_ms")), 50);
    assert_int_equal(json_integer_value(json_object_get(o, "latency_p99_ms")), 99);
    assert_int_equal(json_integer_value(json_object_get(o, "responses_429")), 1);
    assert_string_equal(json_string_value(json_object_get(o, "breaker")), "closed");
    assert_true(json_is_string(json_object_get(o, "cooling_until")));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weights_share),     cmocka_unit_test(test_equal_weights_round_robin),
        cmocka_unit_test(test_skip_and_priority_failover), cmocka_unit_test(test_cooldown_and_recovery),
        cmocka_unit_test(test_breaker),           cmocka_unit_test(test_probe_cancel),
        cmocka_unit_test(test_retry_after),       cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
