/* spool.c -- the SQLite spool between capture and upload (see spool.h).
 *
 * Durability: journal_mode=WAL with synchronous=NORMAL. In WAL mode NORMAL
 * never corrupts the database; a committed transaction survives a crash of
 * llmtap (the WAL is in the OS page cache) and only a power loss or kernel
 * crash can roll back the last transactions. For a tap, whose input is lost
 * in that case anyway, that is the right trade against an fsync per commit.
 *
 * Schema changes are migrations: an ordered list of SQL scripts; PRAGMA
 * user_version records how many have run. A database written by a newer
 * llmtap (higher user_version) is refused rather than misread.
 *
 * Records are unique per (table, id) (the index is (table, time, id): see
 * entries): INSERT OR IGNORE makes replaying the
 * same capture idempotent. A record is two rows with one rowid: a small
 * `entries` row (table, id, times, size, delivery state, attempts, error)
 * and a `bodies` row (the JSON text, written once, never updated), so that
 * delivery, counting and eviction touch only the small rows (schema v2; the
 * view `records` shows them joined, with the columns of v1). The file (and its -wal/-shm) is created 0600:
 * records hold prompts.
 *
 * Faults of the machine: when the disk is full or the spool turned
 * read-only, SQLite refuses the write and (for a full disk) may roll back
 * the open transaction. Records are counted as stored only when their
 * transaction commits; the ones a failed write or commit took are counted
 * in store_errors, logged once when storing starts failing and once when it
 * works again, and nothing already committed is touched, so storing
 * resumes by itself when space returns. A file that is not a database or
 * fails SQLite's quick_check when the process first opens it (later
 * connections of the same process skip the check, which reads the whole
 * file) is moved aside (PATH.corrupt-TIME)
 * with a loud error and a fresh spool is started: losing the old rows is
 * bad, refusing to capture forever is worse. */
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "../common/jtext.h"
#include "../common/clock.h"
#include "../common/counters.h"
#include "../common/log.h"
#include "spool.h"

static const char *const lt_spool_migrations[] = {
    /* v1 */
    "CREATE TABLE records ("
    "  rowid INTEGER PRIMARY KEY,"
    "  tbl INTEGER NOT NULL,"
    "  id TEXT NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  json TEXT NOT NULL,"
    "  bytes INTEGER NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER,"
    "  error TEXT,"
    "  UNIQUE (tbl, id));"
    "CREATE INDEX records_state ON records (state, tbl, rowid);",
    /* v2: the JSON text moves to its own table, so that the rows the uploader
     * updates (state, attempts, updated) are small: marking a record delivered
     * rewrote the page holding its JSON (about 1.5 KB a record, 2-3 records a
     * page) in the WAL and again at the checkpoint, and counting or evicting
     * scanned every JSON byte. `records` stays, as a view with the old
     * columns, for `llmtap query`, sqlite3 users and scripts (its triggers
     * insert, update and delete through it). */
    "CREATE TABLE entries ("
    "  rowid INTEGER PRIMARY KEY,"
    "  tbl INTEGER NOT NULL,"
    "  id TEXT NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  bytes INTEGER NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER,"
    "  error TEXT,"
    /* time first: a record's id is a hash (of its connection and its time),
     * so an index on (tbl, id) took each insert to a random page, one 4 KiB
     * index page rewritten per record in the WAL and again at the checkpoint;
     * ordered by time, inserts land at the end. The same pairs are unique:
     * the id already covers the time. */
    "  UNIQUE (tbl, time, id));"
    "CREATE TABLE bodies (rowid INTEGER PRIMARY KEY, json TEXT NOT NULL);"
    "INSERT INTO entries (rowid, tbl, id, time, bytes, state, attempts, created, updated, error)"
    "  SELECT rowid, tbl, id, time, bytes, state, attempts, created, updated, error FROM records ORDER BY rowid;"
    "INSERT INTO bodies (rowid, json) SELECT rowid, json FROM records ORDER BY rowid;"
    "DROP TABLE records;"
    "CREATE INDEX entries_state ON entries (state, tbl, rowid);"
    "CREATE TRIGGER entries_delete AFTER DELETE ON entries BEGIN"
    "  DELETE FROM bodies WHERE rowid = OLD.rowid; END;"
    "CREATE VIEW records AS SELECT e.rowid AS rowid, e.tbl AS tbl, e.id AS id, e.time AS time, b.json AS json,"
    "  e.bytes AS bytes, e.state AS state, e.attempts AS attempts, e.created AS created, e.updated AS updated,"
    "  e.error AS error FROM entries e JOIN bodies b ON b.rowid = e.rowid;"
    "CREATE TRIGGER records_insert INSTEAD OF INSERT ON records BEGIN"
    "  INSERT INTO entries (tbl, id, time, bytes, state, attempts, created, updated, error) VALUES (NEW.tbl, NEW.id,"
    "    NEW.time, coalesce(NEW.bytes, length(CAST(NEW.json AS BLOB))), coalesce(NEW.state, 0),"
    "    coalesce(NEW.attempts, 0), coalesce(NEW.created, NEW.time), coalesce(NEW.updated, NEW.created, NEW.time),"
    "    NEW.error);"
    "  INSERT INTO bodies (rowid, json) VALUES (last_insert_rowid(), NEW.json); END;"
    "CREATE TRIGGER records_update INSTEAD OF UPDATE ON records BEGIN"
    "  UPDATE entries SET tbl = NEW.tbl, id = NEW.id, time = NEW.time, bytes = NEW.bytes, state = NEW.state,"
    "    attempts = NEW.attempts, created = NEW.created, updated = NEW.updated, error = NEW.error"
    "    WHERE rowid = OLD.rowid;"
    "  UPDATE bodies SET json = NEW.json WHERE rowid = OLD.rowid AND json IS NOT NEW.json; END;"
    "CREATE TRIGGER records_delete INSTEAD OF DELETE ON records BEGIN"
    "  DELETE FROM entries WHERE rowid = OLD.rowid; END;",
};

#define LT_SPOOL_VERSION ((int)(sizeof lt_spool_migrations / sizeof *lt_spool_migrations))

enum { ST_PUT, ST_PUT_BODY, ST_FETCH, ST_DELIVER, ST_ATTEMPT, ST_QUARANTINE, ST__COUNT };

/* A record is an `entries` row (ids, times, size, delivery state) and a
 * `bodies` row with the same rowid (its JSON), written in one transaction;
 * deleting the entry deletes the body (trigger entries_delete). The uploader
 * and the counts touch only entries. */
static const char *const lt_spool_sql[ST__COUNT] = {
    "INSERT OR IGNORE INTO entries (tbl, id, time, bytes, created, updated) VALUES (?, ?, ?, ?, ?, ?5)",
    "INSERT INTO bodies (rowid, json) VALUES (?, ?)",
    ("SELECT e.rowid, e.tbl, e.id, e.time, b.json, e.attempts FROM entries e JOIN bodies b ON b.rowid = e.rowid"
     " WHERE e.state = 0 AND e.tbl = ? ORDER BY e.rowid LIMIT ?"),
    "UPDATE entries SET state = 1, updated = ?1 WHERE rowid IN (SELECT value FROM json_each(?2))",
    "UPDATE entries SET attempts = attempts + 1, updated = ?1 WHERE rowid IN (SELECT value FROM json_each(?2))",
    "UPDATE entries SET state = 2, error = ?, updated = ? WHERE rowid = ?",
};

struct lt_spool {
    sqlite3 *db;
    sqlite3_stmt *st[ST__COUNT];
    int in_txn;
    uint64_t txn_inserted;  /* inserted in the open transaction, not yet committed */
    uint64_t failing;       /* records lost since storing started failing (0 = healthy) */
    lt_counters own_ctr;
    lt_counters *ctr;       /* the caller's (lt_spool_set_counters) or own_ctr */
};


static int lt_spool_exec(lt_spool *s, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
    lt_error("spool: %s", msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    return -1;
}

static int lt_spool_user_version(lt_spool *s)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int lt_spool_migrate(lt_spool *s, char **err)
{
    int v = lt_spool_user_version(s);
    if (v < 0) { if (asprintf(err, "cannot read schema version: %s", sqlite3_errmsg(s->db)) < 0) *err = NULL; return -1; }
    if (v > LT_SPOOL_VERSION) {
        if (asprintf(err, "database schema version %d is newer than this llmtap supports (%d)", v,
                     LT_SPOOL_VERSION) < 0) *err = NULL;
        return -1;
    }
    for (; v < LT_SPOOL_VERSION; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d;", v + 1);
        if (lt_spool_exec(s, "BEGIN IMMEDIATE") < 0 || lt_spool_exec(s, lt_spool_migrations[v]) < 0 ||
            lt_spool_exec(s, bump) < 0 || lt_spool_exec(s, "COMMIT") < 0) {
            lt_spool_exec(s, "ROLLBACK");
            if (asprintf(err, "migration to schema version %d failed", v + 1) < 0) *err = NULL;
            return -1;
        }
    }
    return 0;
}

/* Records of a transaction that did not commit: counted, logged once per failure spell. */
static void lt_spool_lost(lt_spool *s, uint64_t n, const char *why)
{
    if (!n) return;
    s->ctr->store_errors += n;
    if (!s->failing)
        lt_error("spool: storing failed (%s); records are counted in store_errors until it works again", why);
    s->failing += n;
}

static void lt_spool_healthy(lt_spool *s)
{
    if (!s->failing) return;
    lt_error("spool: storing works again; %llu records were lost meanwhile", (unsigned long long)s->failing);
    s->failing = 0;
}

/* The spool files this process has already checked. PRAGMA quick_check
 * reads the whole file (about 1.3 s per GB here), and a process opens one
 * spool several times (the daemon: writer, status, uploader; the proxy:
 * writer, uploader), so a file that passed is not checked again: a file that
 * turns bad while open is SQLITE_CORRUPT on the statement that meets it, which
 * the spool reports as a failing store. */
static pthread_mutex_t lt_spool_checked_mu = PTHREAD_MUTEX_INITIALIZER;
static char **lt_spool_checked;
static size_t lt_spool_nchecked;

static int lt_spool_was_checked(const char *path)
{
    int found = 0;
    pthread_mutex_lock(&lt_spool_checked_mu);
    for (size_t i = 0; i < lt_spool_nchecked && !found; i++) found = !strcmp(lt_spool_checked[i], path);
    pthread_mutex_unlock(&lt_spool_checked_mu);
    return found;
}

static void lt_spool_mark_checked(const char *path)
{
    pthread_mutex_lock(&lt_spool_checked_mu);
    char **n = realloc(lt_spool_checked, (lt_spool_nchecked + 1) * sizeof *n);
    if (n) {
        lt_spool_checked = n;
        if ((n[lt_spool_nchecked] = strdup(path))) lt_spool_nchecked++;
    }
    pthread_mutex_unlock(&lt_spool_checked_mu);
}

/* 1 when the file at path is a usable database (or empty/new). */
static int lt_spool_sane(sqlite3 *db)
{
    sqlite3_stmt *st;
    int ok = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK) return 0;
    if (sqlite3_step(st) == SQLITE_ROW) ok = !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    return ok;
}

/* Moves path and its -wal/-shm aside as PATH.corrupt-TIME. */
static void lt_spool_move_aside(const char *path)
{
    char to[4096], from[4096];
    long long t = (long long)lt_clock_now_s();
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
        snprintf(from, sizeof from, "%s%s", path, sfx[i]);
        snprintf(to, sizeof to, "%s.corrupt-%lld%s", path, t, sfx[i]);
        if (rename(from, to) == 0 && !i)
            lt_error("spool: %s is corrupt or not a database: moved aside to %s; starting a fresh spool", path, to);
    }
}

static lt_spool *lt_spool_open_once(const char *path, char **err, int *corrupt);

/* SQLite's process-wide settings, before its first use: no count of the
 * memory it has allocated (that count takes one global mutex on every
 * allocation and free of every connection, and nothing here reads it). A
 * process whose SQLite was already initialized (sqlite3_config then says
 * SQLITE_MISUSE) keeps the defaults. */
static pthread_once_t lt_spool_config_once = PTHREAD_ONCE_INIT;

static void lt_spool_config(void) { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

lt_spool *lt_spool_open(const char *path, char **err)
{
    pthread_once(&lt_spool_config_once, lt_spool_config);
    int corrupt = 0;
    lt_spool *s = lt_spool_open_once(path, err, &corrupt);
    if (s || !corrupt) return s;
    free(*err);
    lt_spool_move_aside(path);
    s = lt_spool_open_once(path, err, &corrupt);
    if (s) s->own_ctr.store_corrupt_moved++;
    return s;
}

static lt_spool *lt_spool_open_once(const char *path, char **err, int *corrupt)
{
    *err = NULL;
    *corrupt = 0;
    lt_spool *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->ctr = &s->own_ctr;
    mode_t old = umask(077); /* database, -wal and -shm: 0600 */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
    /* NOMUTEX: a connection is used by one thread at a time (the writer's,
     * the uploader's, the status thread's each have their own), so SQLite
     * need not lock it around every call. */
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(s->db, 5000);
        /* A page cache of 512 KiB instead of SQLite's 2 MiB: inserts land at
         * the end of the tables (the rightmost pages), the uploader reads
         * pending rows in order, so the larger cache only held pages nobody
         * reads again, in every process's resident memory (the proxy's
         * peak RSS with logging 23.5 -> 22.0 MB). */
        rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-512;", NULL,
                          NULL, NULL);
    }
    if (rc == SQLITE_OK) chmod(path, 0600);
    umask(old);
    int checked = rc == SQLITE_OK && lt_spool_was_checked(path);
    if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT || (rc == SQLITE_OK && !checked && !lt_spool_sane(s->db))) *corrupt = 1;
    else if (rc == SQLITE_OK && !checked) lt_spool_mark_checked(path);
    if (*corrupt) {
        if (asprintf(err, "%s: not a database or corrupt", path) < 0) *err = NULL;
        lt_spool_close(s);
        return NULL;
    }
    if (rc != SQLITE_OK) {
        if (asprintf(err, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "cannot open") < 0) *err = NULL;
        lt_spool_close(s);
        return NULL;
    }
    if (lt_spool_migrate(s, err) < 0) { lt_spool_close(s); return NULL; }
    for (int i = 0; i < ST__COUNT; i++) {
        if (sqlite3_prepare_v2(s->db, lt_spool_sql[i], -1, &s->st[i], NULL) != SQLITE_OK) {
            if (asprintf(err, "%s: %s", path, sqlite3_errmsg(s->db)) < 0) *err = NULL;
            lt_spool_close(s);
            return NULL;
        }
    }
    return s;
}

void lt_spool_set_counters(lt_spool *s, lt_counters *ctr)
{
    if (ctr && s->ctr == &s->own_ctr) { /* what open() counted before the caller's counters */
        lt_counters_add(ctr, &s->own_ctr);
        lt_counters_reset(&s->own_ctr);
    }
    s->ctr = ctr ? ctr : &s->own_ctr;
}

lt_counters *lt_spool_counters(lt_spool *s)
{
    return s->ctr;
}

void lt_spool_close(lt_spool *s)
{
    if (!s) return;
    if (s->in_txn) lt_spool_commit(s);
    for (int i = 0; i < ST__COUNT; i++) sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    free(s);
}

int lt_spool_begin(lt_spool *s)
{
    if (s->in_txn) return 0;
    if (lt_spool_exec(s, "BEGIN") < 0) return -1;
    s->in_txn = 1;
    return 0;
}

int lt_spool_commit(lt_spool *s)
{
    if (!s->in_txn) return 0;
    s->in_txn = 0;
    uint64_t n = s->txn_inserted;
    s->txn_inserted = 0;
    if (sqlite3_get_autocommit(s->db)) {  /* SQLite already rolled it back (disk full) */
        lt_spool_lost(s, n, "the transaction was rolled back");
        return -1;
    }
    char *msg = NULL;
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
        char why[256];
        snprintf(why, sizeof why, "commit: %s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        lt_spool_lost(s, n, why);
        return -1;
    }
    s->ctr->store_inserted += n;
    if (n) lt_spool_healthy(s);
    return 0;
}

int lt_spool_put(lt_spool *s, const lt_record *rec)
{
    return lt_spool_put_text(s, rec->table, rec->id, rec->time, rec->text, rec->len);
}

/* One step of a put: SQLITE_DONE, or the failure (counted as lost with why). */
static int lt_spool_put_step(lt_spool *s, sqlite3_stmt *st, const char *id)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        char why[256];
        snprintf(why, sizeof why, "record %s: %s", id, sqlite3_errmsg(s->db));
        lt_spool_lost(s, 1, why);
    }
    return rc;
}

/* The entry and its body go in one transaction: the caller's (lt_spool_begin)
 * or, outside one, a transaction of their own. */
int lt_spool_put_text(lt_spool *s, int table, const char *id, lt_time_us time, const char *js, size_t n)
{
    if (!js) { s->ctr->store_errors++; lt_error("spool: record %s could not be serialized", id); return -1; }
    int own = !s->in_txn;
    if (own && lt_spool_begin(s) < 0) { lt_spool_lost(s, 1, "cannot begin a transaction"); return -1; }
    sqlite3_stmt *st = s->st[ST_PUT];
    sqlite3_bind_int(st, 1, table);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, time);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)n);
    sqlite3_bind_int64(st, 5, lt_clock_now_us());
    int rc = lt_spool_put_step(s, st, id), added = rc == SQLITE_DONE && sqlite3_changes(s->db) > 0;
    if (added) {
        sqlite3_int64 rowid = sqlite3_last_insert_rowid(s->db);
        st = s->st[ST_PUT_BODY];
        sqlite3_bind_int64(st, 1, rowid);
        sqlite3_bind_text(st, 2, js, (int)n, SQLITE_STATIC); /* the step runs now; its bindings are cleared after */
        rc = lt_spool_put_step(s, st, id);
        if (rc != SQLITE_DONE && !sqlite3_get_autocommit(s->db)) { /* no entry without its body */
            char del[80];
            snprintf(del, sizeof del, "DELETE FROM entries WHERE rowid = %lld", (long long)rowid);
            sqlite3_exec(s->db, del, NULL, NULL, NULL);
        }
    }
    if (rc != SQLITE_DONE) {
        if (s->in_txn && sqlite3_get_autocommit(s->db)) {  /* the whole transaction went with it */
            lt_spool_lost(s, s->txn_inserted, "the transaction was rolled back");
            s->txn_inserted = 0;
            s->in_txn = 0;
        }
        if (own && s->in_txn) { /* its own transaction holds nothing else */
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            s->in_txn = 0;
            s->txn_inserted = 0;
        }
        return -1;
    }
    if (!added) {
        s->ctr->store_duplicates++;
        if (own) lt_spool_commit(s);
        return 0;
    }
    s->txn_inserted++;
    if (own && lt_spool_commit(s) < 0) return -1;
    return 1;
}

int lt_spool_fetch_pending(lt_spool *s, int table, int max, uint64_t max_bytes, lt_spool_row **rows, int *nrows)
{
    sqlite3_stmt *st = s->st[ST_FETCH];
    *rows = NULL;
    *nrows = 0;
    lt_spool_row *r = calloc((size_t)(max > 0 ? max : 1), sizeof *r);
    if (!r) return -1;
    uint64_t bytes = 0;
    int n = 0, rc;
    sqlite3_bind_int(st, 1, table);
    sqlite3_bind_int(st, 2, max);
    while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *js = (const char *)sqlite3_column_text(st, 4);
        uint64_t len = (uint64_t)sqlite3_column_bytes(st, 4);
        if (n > 0 && max_bytes && bytes + len > max_bytes) break;
        r[n].rowid = sqlite3_column_int64(st, 0);
        r[n].table = sqlite3_column_int(st, 1);
        snprintf(r[n].id, sizeof r[n].id, "%s", (const char *)sqlite3_column_text(st, 2));
        r[n].time = sqlite3_column_int64(st, 3);
        if (!js || !(r[n].json = malloc(len + 1))) break; /* out of memory: the rest stays pending */
        memcpy(r[n].json, js, len + 1);
        r[n].len = len;
        r[n].attempts = sqlite3_column_int(st, 5);
        bytes += len;
        n++;
    }
    sqlite3_reset(st);
    *rows = r;
    *nrows = n;
    return 0;
}

void lt_spool_rows_free(lt_spool_row *rows, int nrows)
{
    for (int i = 0; i < nrows; i++) free(rows[i].json);
    free(rows);
}

/* One statement for a batch of rows, their rowids as a JSON array: a
 * single-row UPDATE per record cost more in statement setup than in the
 * change itself. */
static int lt_spool_update_rows(lt_spool *s, int which, const int64_t *rowids, int n)
{
    if (n <= 0) return 0;
    char *ids = malloc((size_t)n * 21 + 3), *o = ids;
    if (!ids) return -1;
    *o++ = '[';
    for (int i = 0; i < n; i++) o += sprintf(o, i ? ",%lld" : "%lld", (long long)rowids[i]);
    *o++ = ']';
    int own = !s->in_txn;
    if (own && lt_spool_begin(s) < 0) { free(ids); return -1; }
    sqlite3_stmt *st = s->st[which];
    sqlite3_bind_int64(st, 1, lt_clock_now_us());
    sqlite3_bind_text(st, 2, ids, (int)(o - ids), free);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (own && lt_spool_commit(s) < 0) rc = -1;
    return rc;
}

int lt_spool_mark_delivered(lt_spool *s, const int64_t *rowids, int n)
{
    return lt_spool_update_rows(s, ST_DELIVER, rowids, n);
}

int lt_spool_mark_attempt(lt_spool *s, const int64_t *rowids, int n)
{
    return lt_spool_update_rows(s, ST_ATTEMPT, rowids, n);
}

int lt_spool_quarantine(lt_spool *s, int64_t rowid, const char *error)
{
    sqlite3_stmt *st = s->st[ST_QUARANTINE];
    sqlite3_bind_text(st, 1, error ? error : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, lt_clock_now_us());
    sqlite3_bind_int64(st, 3, rowid);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return rc;
}

static int64_t lt_spool_count_changes(lt_spool *s, const char *sql, int64_t a)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return 0;
    sqlite3_bind_int64(st, 1, a);
    int64_t n = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(s->db) : 0;
    sqlite3_finalize(st);
    return n;
}

int64_t lt_spool_enforce(lt_spool *s, const lt_spool_limits *lim, lt_time_us now)
{
    int64_t evicted = 0;
    if (lim->max_age_s > 0)
        evicted += lt_spool_count_changes(s, "DELETE FROM entries WHERE state = 0 AND created < ?",
                                          now - lim->max_age_s * 1000000);
    if (lim->keep_delivered_s > 0)
        lt_spool_count_changes(s, "DELETE FROM entries WHERE state = 1 AND updated < ?",
                               now - lim->keep_delivered_s * 1000000);
    if (lim->max_bytes > 0) {
        lt_spool_stats st;
        while (lt_spool_stats_get(s, &st) == 0 && (uint64_t)st.pending_bytes > lim->max_bytes && st.pending > 0) {
            int64_t n = lt_spool_count_changes(
                s, "DELETE FROM entries WHERE rowid IN (SELECT rowid FROM entries WHERE state = 0 ORDER BY rowid LIMIT ?)",
                st.pending / 10 + 1);
            if (n <= 0) break;
            evicted += n;
        }
    }
    if (evicted) {
        s->ctr->store_evicted += (uint64_t)evicted;
        lt_warn("spool: evicted %lld undelivered records (size/age bound reached)", (long long)evicted);
    }
    return evicted;
}

int lt_spool_stats_get(lt_spool *s, lt_spool_stats *out)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(s->db, "SELECT state, count(*), coalesce(sum(bytes),0), min(created) FROM entries GROUP BY state",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int state = sqlite3_column_int(st, 0);
        int64_t n = sqlite3_column_int64(st, 1);
        if (state == LT_SPOOL_PENDING) {
            out->pending = n;
            out->pending_bytes = sqlite3_column_int64(st, 2);
            out->oldest_pending = sqlite3_column_int64(st, 3);
        }
        else if (state == LT_SPOOL_DELIVERED) out->delivered = n;
        else if (state == LT_SPOOL_QUARANTINED) out->quarantined = n;
    }
    sqlite3_finalize(st);
    return 0;
}
