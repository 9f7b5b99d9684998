/* record.h -- the log record: what llmtap stores, prints and uploads.
 *
 * An exchange becomes up to two records: a gateway record (one per HTTP
 * exchange, columns of APIM's ApiManagementGatewayLogs) and, for Azure OpenAI
 * / OpenAI-compatible calls, an LLM record (columns of
 * ApiManagementGatewayLlmLog plus llmtap's own). Both are JSON objects
 * (jansson) whose keys are the Log Analytics column names, so `--json`, the
 * SQLite spool and the Logs Ingestion upload all carry the same object.
 *
 * Ids are derived from the connection and the request time, never random,
 * so replaying the same capture twice yields the same ids and the store can
 * refuse duplicates. */
#ifndef LT_RECORD_H
#define LT_RECORD_H

#include <jansson.h>
#include "../common/counters.h"
#include "../common/lt.h"
#include "../parsers/http_msg.h"

enum lt_table { LT_TABLE_LLM = 0, LT_TABLE_GATEWAY = 1, LT_TABLE__COUNT };

/* "ApiManagementGatewayLlmLog" / "ApiManagementGatewayLogs": the APIM tables
 * whose columns a record mirrors (the upload target adds _CL). */
const char *lt_table_name(int table);
int lt_table_from_name(const char *name);   /* -1 if unknown */

typedef struct lt_record {
    int table;              /* enum lt_table */
    char id[33];            /* 32 hex chars, unique per record, stable across replays */
    lt_time_us time;        /* TimeGenerated */
    json_t *obj;            /* owned: column name -> value */
} lt_record;

typedef struct lt_record_cfg {
    int xff_trusted_hops;   /* X-Forwarded-For hops to trust; -1 = take the first (client) hop */
    int store_embeddings;   /* keep embedding vectors (default 0: count and dimension only) */
    size_t raw_body_cap;    /* bytes of raw body kept for unknown /openai calls (default 64 KiB) */
} lt_record_cfg;

void lt_record_cfg_defaults(lt_record_cfg *cfg);

typedef void (*lt_record_cb)(void *ud, lt_record *rec);

/* Builds the records of one exchange and hands each to cb (which must not
 * keep rec; it may json_incref(rec->obj)). Counts into ctr (NULL: not
 * counted). Returns the number of records. */
int lt_records_from_exchange(const lt_record_cfg *cfg, const lt_exchange *ex, lt_counters *ctr,
                             lt_record_cb cb, void *ud);

void lt_record_clear(lt_record *rec);   /* releases obj */

/* First 12 hex chars of SHA-256(value): the only form in which a secret
 * (api-key, Authorization, Ocp-Apim-Subscription-Key) leaves the parser. */
void lt_fingerprint(const char *value, char out[13]);

#endif
