/* uploadloop.h -- continuous upload: the uploader `llmtap upload` uses,
 * run in its own thread every [upload] flush_interval.
 *
 * The thread opens its own connection to the spool (the writer thread has
 * another), applies the spool's size/age bound, then drains pending records
 * with uploader/uploader.c (back-off, 413 split, 400 quarantine). A new
 * [upload] section (SIGHUP) is taken between runs. Stopping interrupts a
 * back-off wait within 100 ms; the records stay pending in the spool. */
#ifndef LT_UPLOADLOOP_H
#define LT_UPLOADLOOP_H

#include <jansson.h>
#include "../common/counters.h"
#include "../store/spool.h"
#include "../uploader/upload_cfg.h"

typedef struct lt_uploadloop lt_uploadloop;

/* Takes ownership of *cfg's contents (the struct is moved, *cfg zeroed). */
lt_uploadloop *lt_uploadloop_create(const char *db, lt_upload_cfg *cfg, const lt_spool_limits *lim,
                                    lt_counters *ctr);
int lt_uploadloop_start(lt_uploadloop *l);
/* Hands a new [upload] section to the thread (moved, like create). */
void lt_uploadloop_reload(lt_uploadloop *l, lt_upload_cfg *cfg);
/* Stops the thread, then makes one last drain bounded by deadline_ms. */
void lt_uploadloop_finish(lt_uploadloop *l, int deadline_ms);
/* last success, last error, runs, delivered: for `llmtap status`. */
json_t *lt_uploadloop_status(lt_uploadloop *l);
void lt_uploadloop_destroy(lt_uploadloop *l);

#endif
