/* test_writer.c -- the spool writer thread: every submitted record is
 * committed after flush (counted by a second SQLite connection, as the
 * uploader would see it), a full queue drops and counts instead of blocking,
 * destroy commits what is still queued, the record's text is taken by the
 * writer (not copied, not freed early), the committed texts held for a
 * lagging producer to free stay bounded, submit_wait never drops, a fast producer gets full
 * batches (group commit), a lone record is committed by the linger
 * without any flush, and each stored text is json_dumps' bytes of its record
 * even though the producer released the record at once (a record that cannot
 * be serialized is counted in store_errors, not stored). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "store/spool.h"
#include "store/writer.h"
#include "tmpdir.h"

static char db[128];

static int setup(void **st)
{
    (void)st;
    if (tmpdir_make("writer") < 0) return -1;
    tmpdir_path(db, "spool.db");
    return 0;
}

/* A record whose text is obj's (consumed). */
static lt_record mkrec_from(int i, json_t *obj)
{
    lt_record r = {.table = i % 2 ? LT_TABLE_LLM : LT_TABLE_GATEWAY, .time = 1000 + i};
    snprintf(r.id, sizeof r.id, "rec%08d", i);
    lt_record_set_json(&r, obj);
    json_decref(obj);
    return r;
}

static lt_record mkrec(int i) { return mkrec_from(i, json_pack("{s:i}", "N", i)); }

static int64_t pending_seen_by_other_connection(void)
{
    char *err = NULL;
    lt_spool *s = lt_spool_open(db, &err);
    assert_non_null(s);
    lt_spool_stats st;
    lt_spool_stats_get(s, &st);
    lt_spool_close(s);
    return st.pending;
}

static void test_flush_commits_everything(void **st)
{
    (void)st;
    char *err = NULL;
    lt_spool *s = lt_spool_open(db, &err);
    lt_writer *w = lt_writer_create(s, 100000);
    assert_non_null(w);
    for (int i = 0; i < 5000; i++) {
        lt_record r = mkrec(i);
        assert_int_equal(lt_writer_submit(w, &r), 0);
        assert_null(r.text);   /* the writer took it */
        lt_record_clear(&r);
    }
    lt_writer_flush(w);
    int64_t seen = pending_seen_by_other_connection();
    if (seen != 5000) fprintf(stderr, "expected 5000 committed rows after flush, got %lld\n", (long long)seen);
    assert_int_equal(seen, 5000);
    lt_writer_stats ws;
    lt_writer_stats_get(w, &ws);
    assert_int_equal(ws.submitted, 5000);
    assert_int_equal(ws.written, 5000);
    assert_int_equal(ws.dropped, 0);
    assert_int_equal(ws.queued, 0);
    assert_true(ws.batches >= 5);   /* at most 1000 records per transaction */
    lt_writer_destroy(w);
    lt_spool_close(s);
}

/* Large records: a batch stops at 256 KiB of text, not at 1000 records, so
 * what the writer holds in memory is bounded in bytes. 64 records of 40 KB
 * (2.5 MiB) need at least 10 transactions; all of them land. */
static void test_batches_bounded_by_bytes(void **st)
{
    (void)st;
    char *err = NULL;
    lt_spool *s = lt_spool_open(db, &err);
    lt_writer *w = lt_writer_create(s, 100000);
    assert_non_null(w);
    char *big = malloc(40001);
    memset(big, 'x', 40000);
    big[40000] = 0;
    for (int i = 0; i < 64; i++) {
        lt_record r = mkrec_from(i, json_pack("{s:i, s:s}", "N", i, "Body", big));
        assert_int_equal(lt_writer_submit(w, &r), 0);
        lt_record_clear(&r);
    }
    free(big);
    lt_writer_flush(w);
    lt_writer_stats ws;
    lt_writer_stats_get(w, &ws);
    if (ws.written != 64 || ws.batches < 10)
        fprintf(stderr, "expected 64 records in >= 10 batches, got %llu in %llu\n", (unsigned long long)ws.written,
                (unsigned long long)ws.batches);
    assert_int_equal(ws.written, 64);
    assert_true(ws.batches >= 10);
    assert_int_equal(pending_seen_by_other_connection(), 64);
    lt_writer_destroy(w);
    lt_spool_close(s);
}

static void test_full_queue_drops_and_counts(void **st)
{
    (void)st;
    char *err = NULL;
    lt_spool *s = lt_spool_open(db, &err);
    lt_writer *w = lt_writer_create(s, 4);
    int accepted = 0, dropped = 0;
    for (int i = 0; i < 20000; i++) {
        lt_record r = mkrec(i);
        if (lt_writer_submit(w, &r) == 0) accepted++;
        else dropped++;
        lt_record_clear(&r);
    }
    lt_writer_destroy(w);      /* commits what was queued */
    int64_t seen = pending_seen_by_other_connection();
    if (seen != accepted)
        fprintf(stderr, "expected %d rows (accepted), got %lld; %d dropped\n", accepted, (long long)seen, dropped);
    assert_int_equal(seen, accepted);
    assert_int_equal(accepted + dropped, 20000);
    assert_true(dropped > 0);  /* 20000 submits into 4 slots cannot all fit */
    lt_spool_close(s);
}

static void test_destroy_commits_queue(void **st)
{
    (void)st;
    char *err = NULL;
    lt_spool *s = lt_spool_open(db, &err);
    lt_writer *w = lt_writer_create(s, 0);
    for (int i = 0; i < 300; i++) {
        lt_record r = mkrec(i);
        lt_writer_submit(w, &r);
        lt_record_clear(&r);
    }
    lt_writer_destroy(w);
    assert_int_equal(pending_seen_by_other_connection(), 300);
    lt_spool_close(s);
}

static void test_submit_wait_never_drops_and_batches_fill(void **st)
{
    (void)st;
    char *err = NULL;
    lt_spool *s = lt_spool_open(db, &err);
    lt_writer *w = lt_writer_create(s, 16);   /* far smaller than what is submitted */
    for (int i = 0; i < 20000; i++) {
        lt_record r = mkrec(i);
        assert_int_equal(lt_writer_submit_wait(w, &r), 0);
        lt_record_clear(&r);
    }
    lt_writer_flush(w);
    lt_writer_stats ws;
    lt_writer_stats_get(w, &ws);
    if (ws.written != 20000 || ws.dropped)
        fprintf(stderr, "expected 20000 written, 0 dropped; got %llu written, %llu dropped\n",
                (unsigned long long)ws.written, (unsigned long long)ws.dropped);
    assert_int_equal(ws.written, 20000);
    assert_int_equal(ws.dropped, 0);
    lt_writer_destroy(w);
    assert_int_equal(pending_seen_by_other_connection(), 20000);
    lt_spool_close(s);

    /* a queue large enough: records submitted faster than one transaction
     * commits are grouped, not committed one wake-up at a time */
    s = lt_spool_open(db, &err);
    w = lt_writer_create(s, 100000);
    for (int i = 20000; i < 40000; i++) {
        lt_record r = mkrec(i);
        lt_writer_submit(w, &r);
        lt_record_clear(&r);
    }
    lt_writer_flush(w);
    lt_writer_stats_get(w, &ws);
    if (ws.batches > 400) fprintf(stderr, "expected grouped commits (<= 400 for 20000 records), got %llu\n",
                                  (unsigned long long)ws.batches);
    assert_true(ws.batches <= 400);
    lt_writer_destroy(w);
    lt_spool_close(s);
}

/* n records through a fresh writer (queue_max) with submit, or submit_wait
 * when wait, then flush: the writer's stats, after its spool is closed. */
static lt_writer_stats feed_and_flush(int n, size_t queue_max, int wait)
{
    char *err = NULL;
    lt_spool *s = lt_spool_open(db, &err);
    lt_writer *w = lt_writer_create(s, queue_max);
    assert_non_null(w);
    for (int i = 0; i < n; i++) {
        lt_record r = mkrec(i);
        assert_int_equal(wait ? lt_writer_submit_wait(w, &r) : lt_writer_submit(w, &r), 0);
        lt_record_clear(&r);
    }
    lt_writer_flush(w);
    lt_writer_stats ws;
    lt_writer_stats_get(w, &ws);
    lt_writer_destroy(w);
    lt_spool_close(s);
    return ws;
}

/* A producer that stops submitting (the proxy's logging thread waiting for
 * the one core it shares with the event loop) frees no committed text, so
 * they pile up for it: the writer keeps at most LT_WRITER_SPENT_MAX of them
 * and frees the rest itself. 3,000 small records commit in batches of up to
 * 1,000 while the producer only waits in flush. */
static void test_spent_texts_bounded(void **st)
{
    (void)st;
    lt_writer_stats ws = feed_and_flush(3000, 100000, 0);
    if (ws.written != 3000 || ws.spent_peak > LT_WRITER_SPENT_MAX)
        fprintf(stderr, "expected 3000 written and at most %d texts held for the producer, got %llu and %zu\n",
                LT_WRITER_SPENT_MAX, (unsigned long long)ws.written, ws.spent_peak);
    assert_int_equal(ws.written, 3000);
    assert_true(ws.spent_peak <= LT_WRITER_SPENT_MAX);
    assert_true(ws.spent_peak > 0);   /* the producers still free most of them */
    assert_int_equal(pending_seen_by_other_connection(), 3000);
}

/* The queue's ring starts at 1,024 slots and doubles up to queue_max while
 * the writer takes records from it, so it grows while wrapped: every record
 * must still land once, in order of submission (a slot lost or repeated in
 * the copy would show as a missing row, a duplicate id ignored). */
static void test_ring_grows_while_draining(void **st)
{
    (void)st;
    lt_writer_stats ws = feed_and_flush(30000, 5000, 1);
    int64_t seen = pending_seen_by_other_connection();
    if (ws.written != 30000 || seen != 30000)
        fprintf(stderr, "expected 30000 written and stored, got %llu written, %lld stored\n",
                (unsigned long long)ws.written, (long long)seen);
    assert_int_equal(ws.written, 30000);
    assert_int_equal(seen, 30000);
}

static void test_linger_commits_a_lone_record(void **st)
{
    (void)st;
    char *err = NULL;
    lt_spool *s = lt_spool_open(db, &err);
    lt_writer *w = lt_writer_create(s, 0);
    lt_record r = mkrec(1);
    lt_writer_submit(w, &r);
    lt_record_clear(&r);
    int64_t seen = 0;
    for (int i = 0; i < 500 && seen != 1; i++) {   /* no flush: the linger alone commits it */
        usleep(10000);
        seen = pending_seen_by_other_connection();
    }
    if (seen != 1) fprintf(stderr, "expected the lone record committed without flush, got %lld rows\n", (long long)seen);
    assert_int_equal(seen, 1);
    lt_writer_destroy(w);
    lt_spool_close(s);
}

/* A record's columns with nested values, escapes and UTF-8. */
static json_t *mkrich_obj(int i)
{
    return json_pack("{s:i, s:s, s:[i, {s:n, s:b}], s:{s:s}}", "N", i, "Text", "caf\xc3\xa9 \"q\"\n\t\x01", "A", -i, "b",
                     "t", 1, "O", "k", "/v");
}

/* The record of those columns; bad: one of them is not UTF-8, so it has no text. */
static lt_record mkrich(int i, int bad)
{
    lt_record r = {.table = LT_TABLE_LLM, .time = 5000 + i};
    snprintf(r.id, sizeof r.id, "rich%08d", i);
    json_t *o = mkrich_obj(i);
    if (bad) json_object_set_new(o, "Bad", json_stringn_nocheck("\xff\xfe", 2)); /* not UTF-8 */
    assert_int_equal(lt_record_set_json(&r, o), bad ? -1 : 0);
    json_decref(o);
    return r;
}

static void test_text_written_from_the_tree(void **st)
{
    (void)st;
    char *err = NULL;
    lt_spool *s = lt_spool_open(db, &err);
    lt_counters ctr;
    lt_counters_reset(&ctr);
    lt_spool_set_counters(s, &ctr);
    lt_writer *w = lt_writer_create(s, 100000);
    const int n = 2500, bad = 7;
    for (int i = 0; i < n; i++) {
        lt_record r = mkrich(i, i == bad);
        assert_int_equal(lt_writer_submit(w, &r), 0);
        lt_record_clear(&r);   /* the producer is done with it before the batch is committed */
    }
    lt_writer_flush(w);
    lt_writer_stats ws;
    lt_writer_stats_get(w, &ws);
    assert_int_equal(ws.submitted, n);
    assert_int_equal(ws.written, n);
    if (ctr.store_errors != 1) fprintf(stderr, "expected 1 store error (invalid UTF-8), got %llu\n",
                                       (unsigned long long)ctr.store_errors);
    assert_int_equal(ctr.store_errors, 1);
    lt_writer_destroy(w);
    lt_spool_set_counters(s, NULL);
    lt_spool_close(s);

    s = lt_spool_open(db, &err);
    lt_spool_row *rows = NULL;
    int nrows = 0;
    lt_spool_fetch_pending(s, LT_TABLE_LLM, n, 0, &rows, &nrows);
    if (nrows != n - 1) fprintf(stderr, "expected %d rows, got %d\n", n - 1, nrows);
    assert_int_equal(nrows, n - 1);
    for (int k = 0; k < nrows; k++) {
        int i = atoi(rows[k].id + 4);
        json_t *o = mkrich_obj(i);
        char *want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (strcmp(rows[k].json, want) || rows[k].len != strlen(want))
            fprintf(stderr, "record %d: expected %s, got %s\n", i, want, rows[k].json);
        assert_string_equal(rows[k].json, want);
        assert_int_equal(rows[k].len, strlen(want));
        assert_int_not_equal(i, bad);
        free(want);
        json_decref(o);
    }
    lt_spool_rows_free(rows, nrows);
    lt_spool_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batches_bounded_by_bytes, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_flush_commits_everything, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_full_queue_drops_and_counts, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_destroy_commits_queue, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_submit_wait_never_drops_and_batches_fill, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_spent_texts_bounded, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_ring_grows_while_draining, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_linger_commits_a_lone_record, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_text_written_from_the_tree, setup, tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
