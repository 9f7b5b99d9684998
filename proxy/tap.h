/* tap.h -- the proxy's logging: the bytes each client saw, turned into the
 * same records as the tap, off the forwarding path.
 *
 * Workers only copy bytes into a bounded queue and go on forwarding (a
 * worker loop gathers the events of one loop iteration in one block and
 * hands it over with one mutex hold and at most one wake-up, lt_tap_batch);
 * one logging thread owns every connection's
 * parser (parsers/conn.h), builds the records (records/record.h), adds the
 * proxy's columns (BackendId, Attempts, ...) to the gateway record and hands
 * records to the spool writer (store/writer.h) and/or prints them as JSON
 * lines. Because one thread does all the parsing, the parsers' counters need
 * no locking. When the queue is full, data is dropped and counted, and the
 * parser is told of a gap of that many bytes, so the affected exchange comes
 * out marked incomplete rather than wrong or missing: forwarding never waits
 * for logging. */
#ifndef LT_TAP_H
#define LT_TAP_H

#include <jansson.h>
#include <stdint.h>
#include "../common/counters.h"
#include "../common/lt.h"
#include "../store/writer.h"
#include "proxy_cfg.h"

typedef struct lt_tap lt_tap;

/* A client connection as its worker sees it (embedded in the worker's state). */
typedef struct lt_tap_conn {
    uint64_t id;
    uint64_t gap[2];   /* bytes dropped per direction, reported with the next data */
    int version;       /* set before lt_tap_open: 20 = the client spoke HTTP/2 (the bytes fed are
                        * the HTTP/1.1 rebuilt by forward.c), so records say HTTP/2; 0 = as parsed */
} lt_tap_conn;

typedef struct lt_tap_stats {
    uint64_t events, dropped_events, dropped_bytes, records;
    uint64_t conns_unlogged;       /* connections not parsed: memory ran out at their start */
    uint64_t records_no_columns;   /* gateway records written without the proxy's columns
                                    * (their event or the merge ran out of memory) */
    size_t queued_bytes;
} lt_tap_stats;

/* writer may be NULL (no spool); json: print every record on stdout. */
lt_tap *lt_tap_create(const lt_proxy_cfg *cfg, lt_writer *writer, int json);
/* Worker side: never blocks on anything but the queue's mutex. */
void lt_tap_open(lt_tap *t, lt_tap_conn *tc, const lt_conn_info *info);
void lt_tap_data(lt_tap *t, lt_tap_conn *tc, int dir, const void *p, size_t n, lt_time_us ts);
/* Columns to add to the gateway record of the exchange just finished (stolen). */
void lt_tap_extras(lt_tap *t, lt_tap_conn *tc, json_t *extras);
void lt_tap_close(lt_tap *t, lt_tap_conn *tc, int reset, lt_time_us ts);
/* Worker side: from now on the calling thread's events wait in a
 * thread-local batch until lt_tap_commit (one block, one lock, a wake-up
 * only if the logging thread waits); arm(arg) is called when a batch gets its first event, so
 * the worker can run the commit at the end of its loop iteration. t NULL:
 * back to one hand-over per event (after committing what waits). */
void lt_tap_batch(lt_tap *t, void (*arm)(void *), void *arg);
/* Hands over the calling thread's batch for t, if any. */
void lt_tap_commit(lt_tap *t);
/* Waits until everything queued so far is parsed and handed on. */
void lt_tap_flush(lt_tap *t);
void lt_tap_stats_get(lt_tap *t, lt_tap_stats *st);
/* Drains the queue, closes every connection, stops the thread; copies the
 * parsers' counters into out (may be NULL). */
void lt_tap_destroy(lt_tap *t, lt_counters *out);

#endif
