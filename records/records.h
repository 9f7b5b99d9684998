/* records.h -- an exchange becomes its records.
 *
 * The one step that knows both sides: HTTP exchanges from parsers/ in,
 * opaque records (record.h) out. Only the producers of records (the capture
 * pipeline, the inline proxy) include this; the store and the uploader see
 * record.h alone and never an HTTP message. */
#ifndef LT_RECORDS_H
#define LT_RECORDS_H

#include "../common/counters.h"
#include "../parsers/http_msg.h"
#include "record.h"
#include "redact.h"

typedef struct lt_record_cfg {
    int xff_trusted_hops;   /* X-Forwarded-For hops to trust; -1 = take the first (client) hop */
    int store_embeddings;   /* keep embedding vectors (default 0: count and dimension only) */
    size_t raw_body_cap;    /* bytes of raw body kept for unknown /openai calls (default 64 KiB) */
    lt_redact_cfg redact;   /* secret names: the built-in lists plus the configured ones */
} lt_record_cfg;

void lt_record_cfg_defaults(lt_record_cfg *cfg);

/* Builds the records of one exchange and hands each to cb (which must not
 * keep rec; it may json_incref(rec->obj)). Counts into ctr (NULL: not
 * counted). Returns the number of records. */
int lt_records_from_exchange(const lt_record_cfg *cfg, const lt_exchange *ex, lt_counters *ctr,
                             lt_record_cb cb, void *ud);

#endif
