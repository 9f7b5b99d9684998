/* writer.h -- the spool writer thread: records in without waiting, SQLite
 * commits in batches beside the capture.
 *
 * Capture and parsing must never wait on SQLite. lt_writer_submit() puts a
 * record (its JSON text, which the writer takes from the record: rec->text
 * is NULL afterwards) in a bounded queue and returns at once; a writer thread takes everything queued, writes
 * it in one transaction with the spool's prepared statements and commits.
 * When the queue is full the record is dropped, counted and logged: a full
 * queue means the disk cannot keep up, and blocking the capture would lose
 * packets in the kernel instead, uncounted per record.
 *
 * The spool handed to create() belongs to the writer thread from then on
 * (SQLite connections are used by one thread each); other threads open their
 * own connection to the same file (WAL lets them read and write beside it).
 * Used by `llmtap run`, `llmtap replay` and the inline proxy. */
#ifndef LT_WRITER_H
#define LT_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include "../records/record.h"
#include "spool.h"

typedef struct lt_writer lt_writer;

typedef struct lt_writer_stats {
    uint64_t submitted;   /* records accepted into the queue */
    uint64_t dropped;     /* records refused because the queue was full */
    uint64_t written;     /* records handed to the spool in committed batches */
    uint64_t batches;     /* transactions committed */
    uint64_t commit_errors;
    size_t queued;        /* records waiting now (in memory only) */
    size_t spent_peak;    /* most committed texts held at once for their producers to free */
} lt_writer_stats;

/* Committed texts the writer holds for their producers to free, at most (it
 * frees the rest itself). */
#define LT_WRITER_SPENT_MAX 512

/* Starts the thread. queue_max: records held in memory at most (0 = 10000). */
lt_writer *lt_writer_create(lt_spool *spool, size_t queue_max);
/* Never blocks on I/O. 0 queued; -1 dropped (queue full or writer stopped). */
int lt_writer_submit(lt_writer *w, lt_record *rec);
/* For a producer that may wait (replay of a file): blocks while the queue is
 * full instead of dropping. 0 queued; -1 the writer is stopping. */
int lt_writer_submit_wait(lt_writer *w, lt_record *rec);
/* Waits until every record submitted before the call is committed. */
void lt_writer_flush(lt_writer *w);
void lt_writer_stats_get(lt_writer *w, lt_writer_stats *st);
/* Commits what is queued, stops the thread. Does not close the spool. */
void lt_writer_destroy(lt_writer *w);

#endif
