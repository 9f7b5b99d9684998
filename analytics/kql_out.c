/* kql_out.c -- running a compiled KQL query on the spool and printing it:
 * an aligned table (for people), one JSON object per line (for programs;
 * keys are the result's columns, values typed: datetimes as ISO strings,
 * dynamic values as JSON), or CSV with a header row (RFC 4180 quoting).
 *
 * Cells are formatted by the column's KQL type, not SQLite's storage
 * class: a datetime is an integer in SQL and a timestamp on output, a bool
 * is 0/1 in SQL and true/false on output. The table is buffered to align
 * it and shows at most 120 characters of a cell (newlines as spaces);
 * --json and --csv always carry whole values.
 *
 * The spool is opened read-only: a query never changes delivery state. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "kql_int.h"

#define LT_KQL_OUT_CELL_MAX 120

sqlite3 *lt_kql_out_open(const char *path, char *err, size_t errlen)
{
    struct stat st;
    sqlite3 *db = NULL;
    if (stat(path, &st) < 0) { snprintf(err, errlen, "no spool at %s", path); return NULL; }
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "SELECT 1 FROM records LIMIT 0", NULL, NULL, NULL) != SQLITE_OK ||
        lt_kql_fn_register(db) < 0) {
        snprintf(err, errlen, "%s is not a readable llmtap spool: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

void lt_kql_out_close(sqlite3 *db)
{
    sqlite3_close(db);
}

char *lt_kql_out_cell(sqlite3_stmt *st, int i, lt_kql_type type)
{
    int t = sqlite3_column_type(st, i);
    char buf[64];
    if (t == SQLITE_NULL) return strdup("");
    if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
        long long v = sqlite3_column_int64(st, i);
        if (type == LT_KQL_BOOL) return strdup(v ? "true" : "false");
        if (type == LT_KQL_DATETIME) return strdup(lt_time_iso(v, buf, sizeof buf));
        if (type == LT_KQL_TIMESPAN) { lt_kql_fn_timespan(v, buf, sizeof buf); return strdup(buf); }
        if (t == SQLITE_FLOAT) { snprintf(buf, sizeof buf, "%.15g", sqlite3_column_double(st, i)); return strdup(buf); }
    }
    const char *s = (const char *)sqlite3_column_text(st, i);
    return strdup(s ? s : "");
}

static json_t *lt_kql_out_json_value(sqlite3_stmt *st, int i, lt_kql_type type)
{
    int t = sqlite3_column_type(st, i);
    if (t == SQLITE_NULL) return json_null();
    if (type == LT_KQL_DYNAMIC && t == SQLITE_TEXT) {
        json_t *j = json_loads((const char *)sqlite3_column_text(st, i), JSON_DECODE_ANY, NULL);
        if (j) return j;
    }
    if (type == LT_KQL_BOOL && t == SQLITE_INTEGER) return json_boolean(sqlite3_column_int64(st, i));
    if (t == SQLITE_INTEGER && type != LT_KQL_DATETIME && type != LT_KQL_TIMESPAN)
        return type == LT_KQL_REAL ? json_real((double)sqlite3_column_int64(st, i)) : json_integer(sqlite3_column_int64(st, i));
    if (t == SQLITE_FLOAT && (type == LT_KQL_REAL || type == LT_KQL_LONG || type == LT_KQL_DYNAMIC))
        return json_real(sqlite3_column_double(st, i));
    char *s = lt_kql_out_cell(st, i, type);
    json_t *j = s ? json_string(s) : NULL;
    if (!j && s) j = json_stringn_nocheck("\xef\xbf\xbd", 3);   /* not UTF-8: U+FFFD, never a broken line */
    free(s);
    return j;
}

static void lt_kql_out_json_row(sqlite3_stmt *st, const lt_kql *q, FILE *out)
{
    json_t *o = json_object();
    for (int i = 0; i < lt_kql_ncols(q); i++)
        json_object_set_new(o, lt_kql_col_name(q, i), lt_kql_out_json_value(st, i, lt_kql_col_type(q, i)));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s) { fputs(s, out); fputc('\n', out); }
    free(s);
    json_decref(o);
}

static void lt_kql_out_csv_cell(const char *s, FILE *out)
{
    if (!strpbrk(s, ",\"\r\n")) { fputs(s, out); return; }
    fputc('"', out);
    for (; *s; s++) { if (*s == '"') fputc('"', out); fputc(*s, out); }
    fputc('"', out);
}

static void lt_kql_out_csv_row(sqlite3_stmt *st, const lt_kql *q, FILE *out)
{
    for (int i = 0; i < lt_kql_ncols(q); i++) {
        char *s = lt_kql_out_cell(st, i, lt_kql_col_type(q, i));
        if (i) fputc(',', out);
        lt_kql_out_csv_cell(s ? s : "", out);
        free(s);
    }
    fputs("\r\n", out);
}

/* The aligned table: rows buffered as display strings. */
typedef struct lt_kql_grid { char **cells; long rows, cap; int ncols; size_t *width; } lt_kql_grid;

static char *lt_kql_out_display(char *s)
{
    if (!s) return NULL;
    for (char *p = s; *p; p++) if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
    if (strlen(s) > LT_KQL_OUT_CELL_MAX) strcpy(s + LT_KQL_OUT_CELL_MAX - 3, "...");
    return s;
}

static int lt_kql_grid_add(lt_kql_grid *g, char **row)
{
    if (g->rows == g->cap) {
        long cap = g->cap ? g->cap * 2 : 64;
        char **c = realloc(g->cells, (size_t)cap * (size_t)g->ncols * sizeof *c);
        if (!c) return -1;
        g->cells = c;
        g->cap = cap;
    }
    for (int i = 0; i < g->ncols; i++) {
        char *s = row[i] ? row[i] : strdup("");
        g->cells[g->rows * g->ncols + i] = s;
        if (s && strlen(s) > g->width[i]) g->width[i] = strlen(s);
    }
    g->rows++;
    return 0;
}

static void lt_kql_grid_print(lt_kql_grid *g, FILE *out)
{
    for (long r = 0; r < g->rows; r++) {
        for (int i = 0; i < g->ncols; i++) {
            const char *s = g->cells[r * g->ncols + i];
            int last = i == g->ncols - 1;
            fprintf(out, "%-*s%s", last ? 0 : (int)g->width[i], s ? s : "", last ? "\n" : "  ");
        }
        if (r == 0) {
            for (int i = 0; i < g->ncols; i++) {
                for (size_t k = 0; k < g->width[i]; k++) fputc('-', out);
                fputs(i == g->ncols - 1 ? "\n" : "  ", out);
            }
        }
    }
}

static void lt_kql_grid_free(lt_kql_grid *g)
{
    for (long i = 0; i < g->rows * g->ncols; i++) free(g->cells[i]);
    free(g->cells);
    free(g->width);
}

static int lt_kql_out_table_row(lt_kql_grid *g, sqlite3_stmt *st, const lt_kql *q)
{
    char *row[g->ncols];
    for (int i = 0; i < g->ncols; i++)
        row[i] = st ? lt_kql_out_display(lt_kql_out_cell(st, i, lt_kql_col_type(q, i))) : strdup(lt_kql_col_name(q, i));
    return lt_kql_grid_add(g, row);
}

long lt_kql_out_run(sqlite3 *db, const lt_kql *q, lt_kql_format fmt, FILE *out, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, lt_kql_sql(q), -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "SQL error: %s", sqlite3_errmsg(db));
        return -1;
    }
    int n = lt_kql_ncols(q);
    lt_kql_grid g = {.ncols = n, .width = calloc((size_t)n + 1, sizeof(size_t))};
    if (fmt == LT_KQL_TABLE) lt_kql_out_table_row(&g, NULL, q);
    if (fmt == LT_KQL_CSV)
        for (int i = 0; i < n; i++) { if (i) fputc(',', out); lt_kql_out_csv_cell(lt_kql_col_name(q, i), out); }
    if (fmt == LT_KQL_CSV) fputs("\r\n", out);
    long rows = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rows++;
        if (fmt == LT_KQL_JSON) lt_kql_out_json_row(st, q, out);
        else if (fmt == LT_KQL_CSV) lt_kql_out_csv_row(st, q, out);
        else if (lt_kql_out_table_row(&g, st, q) < 0) { rc = SQLITE_NOMEM; break; }
    }
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "SQL error: %s", rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
        rows = -1;
    } else if (fmt == LT_KQL_TABLE) lt_kql_grid_print(&g, out);
    lt_kql_grid_free(&g);
    sqlite3_finalize(st);
    return rows;
}
