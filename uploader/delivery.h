/* delivery.h -- the uploader: spool → Logs Ingestion API, at least once. */
#ifndef LT_DELIVERY_H
#define LT_DELIVERY_H

#include "../store/spool.h"
#include "upload_cfg.h"

typedef struct lt_uploader lt_uploader;

lt_uploader *lt_uploader_create(const lt_upload_cfg *cfg, lt_spool *spool);
/* Sends every pending record once (retrying within the run's budget).
 * 0 when the spool has no pending record left, -1 when some stay pending. */
int lt_uploader_drain(lt_uploader *u, long *delivered);
void lt_uploader_destroy(lt_uploader *u);

#endif
