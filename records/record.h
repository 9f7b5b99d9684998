/* record.h -- the log record: what llmtap stores, prints and uploads.
 *
 * An exchange becomes up to two records: a gateway record (one per HTTP
 * exchange, columns of APIM's ApiManagementGatewayLogs) and, for Azure OpenAI
 * / OpenAI-compatible calls, an LLM record (columns of
 * ApiManagementGatewayLlmLog plus llmtap's own). Both are JSON objects whose
 * keys are the Log Analytics column names, kept as their text (written once,
 * by records/record.c), so `--json`, the SQLite spool and the Logs Ingestion
 * upload all carry the same bytes.
 *
 * Ids are derived from the connection and the request time, never random,
 * so replaying the same capture twice yields the same ids and the store can
 * refuse duplicates. */
#ifndef LT_RECORD_H
#define LT_RECORD_H

#include <jansson.h>
#include "../common/lt.h"

enum lt_table { LT_TABLE_LLM = 0, LT_TABLE_GATEWAY = 1, LT_TABLE__COUNT };

/* "ApiManagementGatewayLlmLog" / "ApiManagementGatewayLogs": the APIM tables
 * whose columns a record mirrors (the upload target adds _CL). */
const char *lt_table_name(int table);
int lt_table_from_name(const char *name);   /* -1 if unknown */

typedef struct lt_record {
    int table;              /* enum lt_table */
    char id[33];            /* 32 hex chars, unique per record, stable across replays */
    lt_time_us time;        /* TimeGenerated */
    char *text;             /* owned: the JSON object, compact (json_dumps' bytes); NULL if it could not be written */
    size_t len;             /* of text */
    const char *incomplete; /* the IncompleteReason column's value, or NULL (a static string) */
} lt_record;

typedef void (*lt_record_cb)(void *ud, lt_record *rec);

void lt_record_clear(lt_record *rec);   /* releases text */
/* The text of obj as the record's (tests and tools make records so); 0, or
 * -1 when obj cannot be written (text NULL). */
int lt_record_set_json(lt_record *rec, const json_t *obj);
/* json_object_update(record, extras) done on the text: a column of extras
 * takes its new value where it stands, the others come last in extras'
 * order (the proxy's columns). 0, or -1 (the record unchanged). */
int lt_record_update(lt_record *rec, const json_t *extras);

/* The record as one line of --json output (replay, run, proxy), without the
 * newline: {"Table":"<its table>", then its columns}, the bytes json_dumps
 * gives for that object (no column is named Table). *len its length; NULL
 * when it cannot be serialized. Malloc'd. */
char *lt_record_line(const lt_record *rec, size_t *len);

/* First 12 hex chars of SHA-256(value): the only form in which a secret
 * (api-key, Authorization, Ocp-Apim-Subscription-Key) leaves the parser. */
void lt_fingerprint(const char *value, char out[13]);
void lt_fingerprintn(const char *value, size_t n, char out[13]);   /* value[0, n) */

#endif
