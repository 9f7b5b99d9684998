/* spool.h -- the durable SQLite buffer between capture and upload.
 *
 * Records are written once, with a unique id (INSERT OR IGNORE, so a replay
 * never duplicates them) and a delivery state. The uploader claims pending
 * rows in order, marks them delivered only after Log Analytics answered 204,
 * quarantines rows Log Analytics refused, and the spool is bounded by size
 * and age with counted eviction. The schema is versioned with
 * PRAGMA user_version and upgraded by migrations on open.
 *
 * Durability: WAL journal with synchronous=NORMAL. A committed record
 * survives a crash of llmtap; a power loss may lose the last transactions
 * (the capture itself is lost in that case anyway). See spool.c. */
#ifndef LT_SPOOL_H
#define LT_SPOOL_H

#include <stdint.h>
#include "../common/counters.h"
#include "../records/record.h"

enum lt_spool_state { LT_SPOOL_PENDING = 0, LT_SPOOL_DELIVERED = 1, LT_SPOOL_QUARANTINED = 2 };

typedef struct lt_spool lt_spool;

typedef struct lt_spool_limits {
    uint64_t max_bytes;       /* 0 = unbounded; oldest pending rows evicted beyond it */
    int64_t max_age_s;        /* 0 = unbounded; pending rows older than this are evicted */
    int64_t keep_delivered_s; /* delivered rows kept this long for dedupe, then deleted */
} lt_spool_limits;

/* Opens (creating and migrating) the spool; file mode 0600. A corrupt file
 * is moved aside (PATH.corrupt-TIME, counted in store_corrupt_moved) and a
 * fresh spool started. NULL + *err on failure. */
lt_spool *lt_spool_open(const char *path, char **err);
void lt_spool_close(lt_spool *s);
/* Where the spool counts (default: a private struct); the current one. */
void lt_spool_set_counters(lt_spool *s, lt_counters *ctr);
lt_counters *lt_spool_counters(lt_spool *s);

/* 1 inserted, 0 already present (same id), -1 error (logged, counted). Inside
 * begin/commit a record counts as stored only when the commit succeeds;
 * records of a failed transaction are counted in store_errors. */
int lt_spool_put(lt_spool *s, const lt_record *rec);
/* The same for a record's text given apart (NULL counts as a record that
 * could not be serialized). The text stays the caller's: SQLite copies it
 * into the page during the call. */
int lt_spool_put_text(lt_spool *s, int table, const char *id, lt_time_us time, const char *text, size_t len);
int lt_spool_begin(lt_spool *s);    /* group puts into one transaction */
int lt_spool_commit(lt_spool *s);

/* A row handed to the uploader. */
typedef struct lt_spool_row {
    int64_t rowid;
    int table;
    char id[33];
    lt_time_us time;
    char *json;               /* owned; NUL-terminated */
    size_t len;               /* bytes of json */
    int attempts;
} lt_spool_row;

/* Up to max rows (max_bytes of JSON) of one table, pending, oldest first. */
int lt_spool_fetch_pending(lt_spool *s, int table, int max, uint64_t max_bytes,
                           lt_spool_row **rows, int *nrows);
void lt_spool_rows_free(lt_spool_row *rows, int nrows);
int lt_spool_mark_delivered(lt_spool *s, const int64_t *rowids, int n);
int lt_spool_mark_attempt(lt_spool *s, const int64_t *rowids, int n);
int lt_spool_quarantine(lt_spool *s, int64_t rowid, const char *error);
/* Applies limits; returns rows evicted (counted in lt_ctr.store_evicted). */
int64_t lt_spool_enforce(lt_spool *s, const lt_spool_limits *lim, lt_time_us now);

typedef struct lt_spool_stats {
    int64_t pending, delivered, quarantined;
    int64_t pending_bytes;
    lt_time_us oldest_pending;  /* when the oldest pending record entered the spool; 0 = none */
} lt_spool_stats;
int lt_spool_stats_get(lt_spool *s, lt_spool_stats *st);

#endif
