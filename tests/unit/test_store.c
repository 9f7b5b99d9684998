/* test_store.c -- the SQLite spool and the configuration file: migrations,
 * refusal of newer schemas, 0600 files, idempotent puts, the delivery state
 * machine, counted eviction, a version-1 spool carried on after migration;
 * config keys, units and file:line errors. */
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
    lt_record r = {.table = LT_TABLE_LLM, .time = t};
    json_t *o = json_pack("{s:s}", "Text", text);
    lt_record_set_json(&r, o);
    json_decref(o);
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

/* quick_check reads the whole file, so a process checks a spool on its first
 * open only: a second connection to a file that passed is not checked again,
 * while a file this process has not opened yet still is. */
static void test_checked_once_per_process(void **st)
{
    (void)st;
    char p[128], *err = NULL;
    tmpdir_path(p, "once.db");
    lt_spool *s = lt_spool_open(p, &err);
    assert_non_null(s);
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    for (int i = 0; i < 200; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        lt_record r = rec(id, i + 1, big);
        assert_int_equal(lt_spool_put(s, &r), 1);
        lt_record_clear(&r);
    }
    lt_spool_close(s);
    FILE *f = fopen(p, "r+b"); /* garbage over a page in the middle of the file */
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    assert_true(size > 16 * 4096);
    char junk[4096];
    memset(junk, 0xA5, sizeof junk);
    fseek(f, (size / 4096 / 2) * 4096, SEEK_SET);
    assert_int_equal(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    fclose(f);
    s = lt_spool_open(p, &err); /* checked when first opened: not read again */
    if (!s) fail_msg("expected the second open of a checked spool to skip quick_check, got: %s", err ? err : "NULL");
    lt_spool_close(s);
    char dir[128];
    tmpdir_path(dir, "");
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q 'once.db.corrupt-'", dir);
    if (system(cmd) == 0) fail_msg("expected %s kept (checked on its first open), found it moved aside in %s", p, dir);

    tmpdir_path(p, "fresh-bad.db"); /* a file this process never opened is checked */
    f = fopen(p, "wb");
    assert_non_null(f);
    for (int i = 0; i < 8; i++) fwrite(junk, 1, sizeof junk, f);
    fclose(f);
    s = lt_spool_open(p, &err);
    assert_non_null(s);
    lt_spool_close(s);
    snprintf(cmd, sizeof cmd, "ls %s | grep -q 'fresh-bad.db.corrupt-'", dir);
    if (system(cmd) != 0) fail_msg("expected %s moved aside as corrupt, found no fresh-bad.db.corrupt-* in %s", p, dir);
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

static int64_t count(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t n = -1;
    sqlite3_open(path, &db);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* A spool written by the schema of version 1 (one `records` table holding
 * the JSON and the delivery state) is opened and carried on: its rows keep
 * their state, JSON and ids (a replayed record is still a duplicate), and
 * the view `records` shows them as before. */
static void test_v1_spool_migrated(void **st)
{
    (void)st;
    char p[128], *err = NULL;
    tmpdir_path(p, "v1.db");
    sqlite3 *db;
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE records (rowid INTEGER PRIMARY KEY, tbl INTEGER NOT NULL, id TEXT NOT NULL,"
        "  time INTEGER NOT NULL, json TEXT NOT NULL, bytes INTEGER NOT NULL, state INTEGER NOT NULL DEFAULT 0,"
        "  attempts INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL, updated INTEGER, error TEXT,"
        "  UNIQUE (tbl, id));"
        "CREATE INDEX records_state ON records (state, tbl, rowid);"
        "INSERT INTO records (tbl, id, time, json, bytes, state, attempts, created, updated, error) VALUES"
        "  (0, 'old-delivered', 1, '{\"Text\":\"a\"}', 12, 1, 1, 10, 20, NULL),"
        "  (0, 'old-pending', 2, '{\"Text\":\"b\"}', 12, 0, 2, 11, 11, NULL),"
        "  (0, 'old-refused', 3, '{\"Text\":\"c\"}', 12, 2, 1, 12, 30, '400: bad'),"
        "  (1, 'old-gateway', 4, '{\"Text\":\"d\"}', 12, 0, 0, 13, 13, NULL);"
        "PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    chmod(p, 0600);

    lt_spool *s = lt_spool_open(p, &err);
    assert_non_null(s);
    lt_spool_stats stt;
    assert_int_equal(lt_spool_stats_get(s, &stt), 0);
    assert_int_equal(stt.pending, 2);
    assert_int_equal(stt.delivered, 1);
    assert_int_equal(stt.quarantined, 1);
    assert_int_equal(stt.pending_bytes, 24);
    assert_int_equal(stt.oldest_pending, 11);
    lt_spool_row *rows; int n;
    assert_int_equal(lt_spool_fetch_pending(s, LT_TABLE_LLM, 10, 0, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].id, "old-pending");
    assert_string_equal(rows[0].json, "{\"Text\":\"b\"}");
    assert_int_equal(rows[0].attempts, 2);
    int64_t id = rows[0].rowid;
    lt_spool_rows_free(rows, n);
    lt_record dup = rec("old-delivered", 1, "again");      /* replayed: still a duplicate */
    assert_int_equal(lt_spool_put(s, &dup), 0);
    lt_record_clear(&dup);
    lt_record fresh = rec("new", 5, "e");
    assert_int_equal(lt_spool_put(s, &fresh), 1);
    lt_record_clear(&fresh);
    assert_int_equal(lt_spool_mark_delivered(s, &id, 1), 0);
    lt_spool_stats_get(s, &stt);
    assert_int_equal(stt.pending, 2);                      /* old-gateway and new */
    assert_int_equal(stt.delivered, 2);
    lt_spool_close(s);

    assert_int_equal(count(p, "PRAGMA user_version"), 2);
    assert_int_equal(count(p, "SELECT count(*) FROM records"), 5);
    assert_int_equal(count(p, "SELECT count(*) FROM records WHERE state = 2 AND error = '400: bad' AND "
                              "json = '{\"Text\":\"c\"}'"), 1);
    assert_int_equal(count(p, "SELECT count(*) FROM bodies"), 5);
    struct stat sb;
    stat(p, &sb);
    assert_int_equal(sb.st_mode & 0777, 0600);

    /* Delivered rows past keep_delivered go with their JSON. */
    s = lt_spool_open(p, &err);
    lt_spool_limits keep = {.keep_delivered_s = 1};
    lt_spool_enforce(s, &keep, lt_clock_now_us() + 10 * 1000000LL);
    lt_spool_close(s);
    assert_int_equal(count(p, "SELECT count(*) FROM entries WHERE state = 1"), 0);
    assert_int_equal(count(p, "SELECT count(*) FROM bodies"), 3);
    assert_int_equal(count(p, "SELECT count(*) FROM bodies WHERE rowid NOT IN (SELECT rowid FROM entries)"), 0);
}

/* Scripts and tests write rows through the view as they did into the v1
 * table; the trigger fills both tables and the uploader sees the row. */
static void test_view_insert(void **st)
{
    (void)st;
    char p[128], *err = NULL;
    tmpdir_path(p, "view.db");
    lt_spool_close(lt_spool_open(p, &err));
    sqlite3 *db;
    sqlite3_open(p, &db);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO records (tbl, id, time, json, bytes, created) VALUES"
                                      " (1, 'hand', 7, '{\"Url\":\"x\"}', 13, 8)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    lt_spool *s = lt_spool_open(p, &err);
    lt_spool_row *rows; int n;
    lt_spool_fetch_pending(s, LT_TABLE_GATEWAY, 10, 0, &rows, &n);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].id, "hand");
    assert_string_equal(rows[0].json, "{\"Url\":\"x\"}");
    lt_spool_quarantine(s, rows[0].rowid, "refused");
    lt_spool_rows_free(rows, n);
    lt_spool_close(s);
    assert_int_equal(count(p, "SELECT count(*) FROM records WHERE state = 2 AND error = 'refused'"), 1);
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
        cmocka_unit_test(test_v1_spool_migrated), cmocka_unit_test(test_view_insert),
        cmocka_unit_test(test_checked_once_per_process),
    };
    return cmocka_run_group_tests(tests, setup, tmpdir_teardown);
}
