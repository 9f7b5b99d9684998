/* test_store.c -- the SQLite spool and the configuration file: migrations,
 * refusal of newer schemas, 0600 files, idempotent puts, the delivery state
 * machine, counted eviction; config keys, units and file:line errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "agent/config.h"
#include "common/counters.h"
#include "common/clock.h"
#include "store/spool.h"
#include "tmpdir.h"

/* The counters every object under test counts into. */
static lt_counters tctr;

static int setup(void **st) { (void)st; return tmpdir_make("store"); }

static lt_record rec(const char *id, lt_time_us t, const char *text)
{
    lt_record r = {.table = LT_TABLE_LLM, .time = t, .obj = json_pack("{s:s}", "Text", text)};
    snprintf(r.id, sizeof r.id, "%s", id);
    return r;
}

static void test_put_idempotent_and_mode(void **st)
{
    (void)st;
    char p[128], *err = NULL;
    tmpdir_path(p, "a.db");
    lt_spool *s = lt_spool_open(p, &err);
    assert_non_null(s);
    lt_record r = rec("id1", 1, "x");
    assert_int_equal(lt_spool_put(s, &r), 1);
    assert_int_equal(lt_spool_put(s, &r), 0);
    lt_record_clear(&r);
    lt_spool_close(s);
    s = lt_spool_open(p, &err);                 /* reopen keeps data */
    lt_spool_stats stt;
    lt_spool_stats_get(s, &stt);
    assert_int_equal(stt.pending, 1);
    lt_spool_close(s);
    struct stat sb;
    stat(p, &sb);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_newer_schema_refused(void **st)
{
    (void)st;
    char p[128], *err = NULL;
    tmpdir_path(p, "b.db");
    lt_spool_close(lt_spool_open(p, &err));
    sqlite3 *db;
    sqlite3_open(p, &db);
    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_null(lt_spool_open(p, &err));
    assert_non_null(strstr(err, "newer"));
    free(err);
}

static void test_delivery_flow(void **st)
{
    (void)st;
    char p[128], *err = NULL;
    tmpdir_path(p, "c.db");
    lt_spool *s = lt_spool_open(p, &err);
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        lt_record r = rec(id, i, "payload");
        lt_spool_put(s, &r);
        lt_record_clear(&r);
    }
    lt_spool_row *rows; int n;
    lt_spool_fetch_pending(s, LT_TABLE_LLM, 3, 0, &rows, &n);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].id, "r0");
    int64_t ids[2] = {rows[0].rowid, rows[1].rowid};
    lt_spool_mark_delivered(s, ids, 2);
    lt_spool_quarantine(s, rows[2].rowid, "400: bad column");
    lt_spool_rows_free(rows, n);
    lt_spool_fetch_pending(s, LT_TABLE_LLM, 10, 0, &rows, &n);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].id, "r3");
    lt_spool_rows_free(rows, n);
    lt_spool_stats stt;
    lt_spool_stats_get(s, &stt);
    assert_int_equal(stt.delivered, 2);
    assert_int_equal(stt.quarantined, 1);
    lt_spool_close(s);
}

/* Age is counted from when a record entered the spool, never from when the
 * call happened: a replay of last month's capture must upload last month's
 * calls (the records here are from 1970). */
static void test_eviction_counted(void **st)
{
    (void)st;
    char p[128], *err = NULL;
    tmpdir_path(p, "d.db");
    lt_spool *s = lt_spool_open(p, &err);
    lt_spool_set_counters(s, &tctr);
    for (int i = 0; i < 100; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%d", i);
        lt_record r = rec(id, (lt_time_us)i * 1000000, "0123456789012345678901234567890123456789");
        lt_spool_put(s, &r);
        lt_record_clear(&r);
    }
    uint64_t before = tctr.store_evicted;
    lt_time_us now = lt_clock_now_us();
    lt_spool_limits week = {.max_bytes = 0, .max_age_s = 7 * 86400};
    int64_t ev = lt_spool_enforce(s, &week, now);
    assert_int_equal(ev, 0);                    /* old calls, freshly spooled: kept */
    lt_spool_limits lim2 = {.max_bytes = 1000};
    ev = lt_spool_enforce(s, &lim2, now);
    assert_true(ev > 0);
    lt_spool_stats stt;
    lt_spool_stats_get(s, &stt);
    assert_true(stt.pending_bytes <= 1000);
    assert_int_equal(tctr.store_evicted, before + (uint64_t)ev);
    lt_spool_row *rows; int n;
    lt_spool_fetch_pending(s, LT_TABLE_LLM, 1, 0, &rows, &n);
    assert_true(n == 1 && rows[0].time >= 70 * 1000000LL);   /* oldest went first */
    lt_spool_rows_free(rows, n);
    int64_t left = stt.pending;
    ev = lt_spool_enforce(s, &week, now + 8 * 86400 * 1000000LL);
    assert_int_equal(ev, left);                 /* a week after they were spooled: evicted */
    lt_spool_close(s);
}

static void test_config_keys(void **st)
{
    (void)st;
    char p[128], err[256];
    tmpdir_path(p, "ok.conf");
    tmpdir_write(p, "; comment\n[capture]\nserver_ports = 443, 8080\nbody_cap = 2M\nidle_timeout = 5m\n"
                  "[records]\nxff_trusted_hops = 1\n[store]\npath = /tmp/x.db\nmax_bytes = 1G\nmax_age = 2d\n"
                  "[upload]\nendpoint = https://dce.example.com\n[log]\nlevel = info\n");
    lt_config c;
    lt_config_defaults(&c);
    assert_int_equal(lt_config_load(&c, p, err, sizeof err), 0);
    assert_int_equal(c.pipeline.server_ports[0], 443);
    assert_int_equal(c.pipeline.server_ports[1], 8080);
    assert_int_equal(c.pipeline.parser.body_cap, 2u << 20);
    assert_int_equal(c.pipeline.idle_timeout_s, 300);
    assert_int_equal(c.pipeline.record.xff_trusted_hops, 1);
    assert_string_equal(c.db_path, "/tmp/x.db");
    assert_int_equal(c.spool.max_bytes, 1ull << 30);
    assert_int_equal(c.spool.max_age_s, 2 * 86400);
    assert_string_equal(c.upload.endpoint, "https://dce.example.com");
    lt_config_free(&c);
}

static void expect_error(const char *text, const char *want)
{
    char p[128], err[256];
    tmpdir_path(p, "bad.conf");
    tmpdir_write(p, text);
    lt_config c;
    lt_config_defaults(&c);
    assert_int_equal(lt_config_load(&c, p, err, sizeof err), -1);
    char full[300];
    snprintf(full, sizeof full, "%s:%s", p, want);
    assert_string_equal(err, full);
    lt_config_free(&c);
}

static void test_config_errors(void **st)
{
    (void)st;
    expect_error("[capture]\n\nbody_cap = lots\n", "3: body_cap: invalid size 'lots' (a number with optional K, M or G)");
    expect_error("[capture]\nnope = 1\n", "2: unknown key 'nope' in [capture]");
    expect_error("[wat]\nx = 1\n", "2: unknown section [wat]");
    expect_error("[upload]\nendpoint = http://plain\n", "2: endpoint: must start with https:// (got 'http://plain')");
    expect_error("[capture]\nthis line has no equals\n", "2: syntax error");
    char err[256];
    lt_config c;
    lt_config_defaults(&c);
    assert_int_equal(lt_config_load(&c, "/nonexistent/llmtap.conf", err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file"));
    lt_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_idempotent_and_mode), cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_delivery_flow), cmocka_unit_test(test_eviction_counted),
        cmocka_unit_test(test_config_keys), cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, setup, tmpdir_teardown);
}
