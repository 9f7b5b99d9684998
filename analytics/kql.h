/* kql.h -- a subset of the Kusto Query Language compiled to SQLite SQL over
 * the local spool, so the queries users run in Log Analytics (kql/, the
 * README's token and 403 queries, the Workbook's) run unchanged on the VM.
 *
 * A query is compiled once into one SQL statement: a chain of common table
 * expressions, one per pipe stage, over the spool's `records` table, where
 * every column of packaging/azure/schema.json is read from the record's JSON
 * (json ->> '$.Col'; dynamic columns as JSON text with ->). Datetimes and
 * timespans are integers (microseconds) inside SQL and are formatted back by
 * their KQL type on output; the compiler tracks each column's type for that.
 * "now" (ago(), now()) is fixed at compile time, so a run is reproducible.
 *
 * Anything outside the subset is rejected at compile time with the line and
 * column of the offending token; there is never a partial result. */
#ifndef LT_KQL_H
#define LT_KQL_H

#include <stddef.h>
#include <stdio.h>
#include <sqlite3.h>
#include "../common/lt.h"

typedef enum lt_kql_type {
    LT_KQL_NULL, LT_KQL_BOOL, LT_KQL_LONG, LT_KQL_REAL, LT_KQL_STRING,
    LT_KQL_DATETIME, LT_KQL_TIMESPAN, LT_KQL_DYNAMIC,
} lt_kql_type;

typedef struct lt_kql lt_kql;

/* Compiles `src` with "now" = now_us. NULL and a message (with line:col and
 * the offending line) in err on failure. */
lt_kql *lt_kql_compile(const char *src, lt_time_us now_us, char *err, size_t errlen);
void lt_kql_destroy(lt_kql *q);

const char *lt_kql_sql(const lt_kql *q);
int lt_kql_ncols(const lt_kql *q);
const char *lt_kql_col_name(const lt_kql *q, int i);
lt_kql_type lt_kql_col_type(const lt_kql *q, int i);
const char *lt_kql_type_name(lt_kql_type t);

/* Registers the SQL functions the compiled SQL calls (kql_has, kql_percentile,
 * kql_todatetime, ...) on a connection. 0 ok, -1 error. */
int lt_kql_fn_register(sqlite3 *db);

/* Opens a spool read-only for querying (functions registered). NULL + err. */
sqlite3 *lt_kql_out_open(const char *path, char *err, size_t errlen);
void lt_kql_out_close(sqlite3 *db);

/* The text of result cell i of a row of q's statement as KQL shows it
 * (datetimes ISO, bools true/false, dynamic as JSON); malloc'd. */
char *lt_kql_out_cell(sqlite3_stmt *st, int i, lt_kql_type type);

/* Output of a compiled query. */
typedef enum lt_kql_format { LT_KQL_TABLE, LT_KQL_JSON, LT_KQL_CSV } lt_kql_format;

/* Runs q on db and writes every row in the format to out. Returns rows
 * written, -1 on an SQL error (message in err). */
long lt_kql_out_run(sqlite3 *db, const lt_kql *q, lt_kql_format fmt, FILE *out, char *err, size_t errlen);

#endif
