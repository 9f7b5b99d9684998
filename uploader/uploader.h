/* uploader.h -- the uploader: spool → Logs Ingestion API, at least once. */
#ifndef LT_UPLOADER_H
#define LT_UPLOADER_H

#include "../common/counters.h"
#include <stdint.h>
#include "../store/spool.h"
#include "upload_cfg.h"

typedef struct lt_uploader lt_uploader;

/* What to do with a batch after one POST (a pure function of the answer). */
enum lt_upload_verdict {
    LT_UPLOAD_OK = 0,      /* 2xx: mark delivered */
    LT_UPLOAD_SPLIT,       /* 413: send the batch in halves */
    LT_UPLOAD_BAD,         /* 400 and other 4xx: bisect down to the record, quarantine it */
    LT_UPLOAD_RETRY,       /* transport error, 408, 429, 5xx, 401/403 after a refresh: back off */
    LT_UPLOAD_REFRESH,     /* 401/403: get a new token and send again at once */
};
/* transport_ok: an HTTP answer arrived; token_refreshed: this batch already
 * forced a new token. */
int lt_uploader_classify(int transport_ok, int status, int token_refreshed);

lt_uploader *lt_uploader_create(const lt_upload_cfg *cfg, lt_spool *spool);
/* Sends every pending record once (retrying within the run's budget).
 * 0 when the spool has no pending record left, -1 when some stay pending. */
int lt_uploader_drain(lt_uploader *u, long *delivered);
/* Where the uploader counts (default: a private struct). */
void lt_uploader_set_counters(lt_uploader *u, lt_counters *ctr);
/* For the daemon's upload thread: a run stops retrying (records stay
 * pending) once *cancel is non-zero (read atomically; may be NULL) or when a
 * back-off wait would pass deadline_mono_us (lt_clock_mono_us(); 0 = none). */
void lt_uploader_set_limits(lt_uploader *u, const int *cancel, int64_t deadline_mono_us);
/* Expiry of the uploader's cached token (Unix seconds); 0 = none yet. */
int64_t lt_uploader_token_expiry(const lt_uploader *u);
void lt_uploader_destroy(lt_uploader *u);

#endif
