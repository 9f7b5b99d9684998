/* workers.h -- one capture file, N pipelines on N threads (replay --workers N).
 *
 * A pipeline is single-threaded by design (its flow table, parsers and
 * counters are its own), so cores are used by running several. Each thread
 * reads the whole file and runs only the frames of the flows placed on its
 * pipeline: a flow is placed on the least-loaded pipeline when first seen
 * and stays there (both directions land in the same pipeline, as
 * PACKET_FANOUT_HASH ensures for `llmtap run`), and every thread computes
 * the same placement from the same frames, so nothing is handed between
 * threads. Records are emitted from all of these threads: the record
 * callback must be thread-safe. */
#ifndef LT_WORKERS_H
#define LT_WORKERS_H

#include "pipeline.h"

#define LT_WORKERS_MAX 64

typedef struct lt_workers lt_workers;

/* n pipelines (2..LT_WORKERS_MAX), for n threads. */
lt_workers *lt_workers_create(int n, const lt_pipeline_cfg *cfg, lt_record_cb cb, void *ud);
/* Reads a capture file on n threads (the caller's one of them; one thread
 * for stdin, a pipe or a device), then finishes the pipelines (end of input
 * at the file's last timestamp). 0 ok, -1 error (*err set, malloc'd). */
int lt_workers_file(lt_workers *w, const char *path, char **err);
/* Adds every pipeline's counters to sum (after lt_workers_file). */
void lt_workers_counters(lt_workers *w, lt_counters *sum);
/* Destroys the pipelines. */
void lt_workers_destroy(lt_workers *w);

#endif
