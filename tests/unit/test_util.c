/* test_util.c -- common/util.c: lt_time_iso writes its digits itself (it runs
 * for every time column of every record), so it must give exactly what the
 * snprintf of the same gmtime_r fields gives, for any time, before 1970 and
 * past year 9999 included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "common/lt.h"

static void reference(lt_time_us t, char *out, size_t outlen)
{
    time_t sec = (time_t)(t / 1000000);
    long usec = (long)(t % 1000000);
    if (usec < 0) { usec += 1000000; sec -= 1; }
    struct tm tm;
    gmtime_r(&sec, &tm);
    snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
}

static void check(lt_time_us t, size_t outlen)
{
    char want[64], got[64];
    reference(t, want, outlen);
    const char *r = lt_time_iso(t, got, outlen);
    assert_ptr_equal(r, got);
    if (strcmp(want, got)) fail_msg("time %lld (buffer %zu): expected %s, got %s", (long long)t, outlen, want, got);
}

static void test_time_iso_as_snprintf(void **st)
{
    (void)st;
    static const lt_time_us fixed[] = {
        0, 1, 999999, 1000000, -1, -999999, -1000000, -1000001, 1763800000123456LL, 951782400000000LL,
        253402300799999999LL /* 9999-12-31T23:59:59.999999Z */, 253402300800000000LL /* year 10000 */,
        -62135596800000000LL /* year 1 */, -62135596800000001LL /* year 0 */, -62198755200000001LL /* year -1 */,
    };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        check(fixed[i], 64);
        check(fixed[i], 28); /* exactly the room of a four-digit year */
        check(fixed[i], 20); /* truncated */
    }
    for (lt_time_us t = -400000000000000000LL; t < 400000000000000000LL; t += 7919LL * 1000003 * 997)
        check(t, 64);
    char got[40];
    assert_string_equal(lt_time_iso(1763800000123456LL, got, sizeof got), "2025-11-22T08:26:40.123456Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_iso_as_snprintf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
