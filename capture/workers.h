/* workers.h -- one packet source, N pipelines on N threads (replay --workers N).
 *
 * A pipeline is single-threaded by design (its flow table, parsers and
 * counters are its own), so cores are used by running several: each flow is
 * placed on the least-loaded pipeline when first seen and stays there (both
 * directions land in the same pipeline, as PACKET_FANOUT_HASH ensures for
 * `llmtap run`) and each packet is copied into its pipeline's current batch.
 * Full batches go through a small bounded queue per pipeline, so the only
 * lock is taken once per batch of packets, never per packet, and memory
 * stays bounded when the reader is faster than the pipelines. The threads
 * are the reader and N-1 workers; any of them runs a pipeline's next batch
 * (one thread at a time per pipeline, its batches in order). Records are
 * emitted from all of these threads: the record callback must be
 * thread-safe. */
#ifndef LT_WORKERS_H
#define LT_WORKERS_H

#include "pipeline.h"

#define LT_WORKERS_MAX 64

typedef struct lt_workers lt_workers;

/* Starts n threads (2..LT_WORKERS_MAX), each with its own pipeline. */
lt_workers *lt_workers_create(int n, const lt_pipeline_cfg *cfg, lt_record_cb cb, void *ud);
/* Reads a capture file into the workers, then finishes them (end of input at the file's
 * last timestamp). 0 ok, -1 error (*err set, malloc'd). */
int lt_workers_file(lt_workers *w, const char *path, char **err);
/* Adds every pipeline's counters to sum (after lt_workers_file). */
void lt_workers_counters(lt_workers *w, lt_counters *sum);
/* Stops and joins the threads, destroys the pipelines. */
void lt_workers_destroy(lt_workers *w);

#endif
