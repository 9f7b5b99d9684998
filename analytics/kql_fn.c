/* kql_fn.c -- the SQL functions compiled KQL calls, registered on the
 * connection: KQL semantics SQLite does not have built in.
 *
 * String operators follow Kusto: has = whole term, case-insensitive
 * (terms are runs of letters and digits); contains/startswith/endswith are
 * case-insensitive unless _cs. Conversions return NULL on bad input (KQL's
 * tolong("x") is null, not SQLite's 0). Datetimes are microseconds since the
 * epoch; kql_dtstr/kql_tsstr format them. kql_percentile is nearest-rank
 * over the exact values (Kusto estimates; on exact data both agree to a
 * row). Dynamic values travel as JSON text and are read with jansson. */
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "kql_int.h"

static const char *lt_fn_text(sqlite3_value *v) { return (const char *)sqlite3_value_text(v); }

static int lt_fn_match(const char *h, const char *n, size_t len, int cs)
{
    return cs ? !strncmp(h, n, len) : !strncasecmp(h, n, len);
}

static int lt_fn_word(char ch) { return isalnum((unsigned char)ch) || (unsigned char)ch >= 0x80; }

/* mode: 0 contains, 1 has, 2 startswith, 3 endswith */
static int lt_fn_strop(const char *h, const char *n, int mode, int cs)
{
    size_t hl = strlen(h), nl = strlen(n);
    if (nl > hl) return 0;
    if (mode == 2) return lt_fn_match(h, n, nl, cs);
    if (mode == 3) return lt_fn_match(h + hl - nl, n, nl, cs);
    for (size_t i = 0; i + nl <= hl; i++) {
        if (!lt_fn_match(h + i, n, nl, cs)) continue;
        if (mode == 0) return 1;
        int left_ok = i == 0 || !nl || !lt_fn_word(n[0]) || !lt_fn_word(h[i - 1]);
        int right_ok = i + nl == hl || !nl || !lt_fn_word(n[nl - 1]) || !lt_fn_word(h[i + nl]);
        if (left_ok && right_ok) return 1;
    }
    return 0;
}

static void lt_fn_strop_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    intptr_t flags = (intptr_t)sqlite3_user_data(ctx);
    const char *h = lt_fn_text(argv[0]), *n = lt_fn_text(argv[1]);
    sqlite3_result_int(ctx, lt_fn_strop(h ? h : "", n ? n : "", (int)(flags & 3), (int)(flags >> 2)));
}

static json_t *lt_fn_json(sqlite3_value *v)
{
    const char *s = lt_fn_text(v);
    return s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
}

static void lt_fn_dynval(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    json_t *j = lt_fn_json(argv[0]);
    if (!j) { sqlite3_result_value(ctx, argv[0]); return; }
    if (json_is_string(j)) sqlite3_result_text(ctx, json_string_value(j), -1, SQLITE_TRANSIENT);
    else if (json_is_integer(j)) sqlite3_result_int64(ctx, json_integer_value(j));
    else if (json_is_real(j)) sqlite3_result_double(ctx, json_real_value(j));
    else if (json_is_boolean(j)) sqlite3_result_int(ctx, json_is_true(j));
    else if (json_is_null(j)) sqlite3_result_null(ctx);
    else sqlite3_result_value(ctx, argv[0]);
    json_decref(j);
}

static void lt_fn_dynstr(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) { sqlite3_result_text(ctx, "", 0, SQLITE_STATIC); return; }
    json_t *j = lt_fn_json(argv[0]);
    if (j && json_is_string(j)) sqlite3_result_text(ctx, json_string_value(j), -1, SQLITE_TRANSIENT);
    else if (j && json_is_null(j)) sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
    else sqlite3_result_value(ctx, argv[0]);
    json_decref(j);
}

static void lt_fn_tolong(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int t = sqlite3_value_type(argv[0]);
    if (t == SQLITE_INTEGER) { sqlite3_result_int64(ctx, sqlite3_value_int64(argv[0])); return; }
    if (t == SQLITE_FLOAT) { sqlite3_result_int64(ctx, (sqlite3_int64)sqlite3_value_double(argv[0])); return; }
    const char *s = lt_fn_text(argv[0]);
    char *end;
    if (!s || !*s) { sqlite3_result_null(ctx); return; }
    long long v = strtoll(s, &end, 10);
    if (*end) { double d = strtod(s, &end); v = (long long)d; }
    if (*end) sqlite3_result_null(ctx);
    else sqlite3_result_int64(ctx, v);
}

static void lt_fn_todouble(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int t = sqlite3_value_type(argv[0]);
    if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) { sqlite3_result_double(ctx, sqlite3_value_double(argv[0])); return; }
    const char *s = lt_fn_text(argv[0]);
    char *end;
    double d = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end) sqlite3_result_null(ctx);
    else sqlite3_result_double(ctx, d);
}

static void lt_fn_todatetime(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_INTEGER) { sqlite3_result_value(ctx, argv[0]); return; }
    const char *s = lt_fn_text(argv[0]);
    long long us;
    if (s && lt_kql_lex_datetime(s, &us) == 0) sqlite3_result_int64(ctx, us);
    else sqlite3_result_null(ctx);
}

static void lt_fn_dtstr(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    char buf[40] = "";
    if (sqlite3_value_type(argv[0]) != SQLITE_NULL) lt_time_iso(sqlite3_value_int64(argv[0]), buf, sizeof buf);
    sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
}

void lt_kql_fn_timespan(long long us, char *buf, size_t len)
{
    const char *sign = us < 0 ? "-" : "";
    unsigned long long u = us < 0 ? (unsigned long long)-us : (unsigned long long)us;
    unsigned long long d = u / 86400000000ULL, s = u / 1000000ULL % 86400, f = u % 1000000ULL;
    char days[24] = "", frac[16] = "";
    if (d) snprintf(days, sizeof days, "%llu.", d);
    if (f) snprintf(frac, sizeof frac, ".%06llu", f);
    snprintf(buf, len, "%s%s%02llu:%02llu:%02llu%s", sign, days, s / 3600, s / 60 % 60, s % 60, frac);
}

static void lt_fn_tsstr(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    char buf[64] = "";
    if (sqlite3_value_type(argv[0]) != SQLITE_NULL) lt_kql_fn_timespan(sqlite3_value_int64(argv[0]), buf, sizeof buf);
    sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
}

static void lt_fn_parse_json(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) { sqlite3_result_null(ctx); return; }
    json_t *j = lt_fn_json(argv[0]);
    if (!j) j = json_string(lt_fn_text(argv[0]));
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (s) sqlite3_result_text(ctx, s, -1, free);
    else sqlite3_result_null(ctx);
    json_decref(j);
}

static void lt_fn_strcat_array(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    json_t *a = lt_fn_json(argv[0]);
    const char *delim = lt_fn_text(argv[1]);
    sqlite3_str *out = sqlite3_str_new(NULL);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (i && delim) sqlite3_str_appendall(out, delim);
        if (json_is_string(v)) sqlite3_str_append(out, json_string_value(v), (int)json_string_length(v));
        else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            if (s) sqlite3_str_appendall(out, s);
            free(s);
        }
    }
    json_decref(a);
    int n = sqlite3_str_length(out);
    char *s = sqlite3_str_finish(out);
    if (s) sqlite3_result_text(ctx, s, n, sqlite3_free);
    else sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
}

static void lt_fn_bin(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) { sqlite3_result_null(ctx); return; }
    if (sqlite3_value_type(argv[0]) == SQLITE_INTEGER && sqlite3_value_type(argv[1]) == SQLITE_INTEGER) {
        long long x = sqlite3_value_int64(argv[0]), s = sqlite3_value_int64(argv[1]);
        if (s <= 0) { sqlite3_result_null(ctx); return; }
        long long q = x / s;
        if (x % s && x < 0) q--;
        sqlite3_result_int64(ctx, q * s);
        return;
    }
    double x = sqlite3_value_double(argv[0]), s = sqlite3_value_double(argv[1]);
    if (s <= 0) { sqlite3_result_null(ctx); return; }
    double q = (double)(long long)(x / s);
    if (q * s > x) q -= 1;
    sqlite3_result_double(ctx, q * s);
}

/* percentile: nearest rank over the non-null values. */
typedef struct lt_fn_pct { double *v; int n, cap, all_int; double p; } lt_fn_pct;

static void lt_fn_pct_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    lt_fn_pct *a = sqlite3_aggregate_context(ctx, sizeof *a);
    if (!a) { sqlite3_result_error_nomem(ctx); return; }
    if (!a->v && !a->cap) a->all_int = 1;
    a->p = sqlite3_value_double(argv[1]);
    int t = sqlite3_value_type(argv[0]);
    if (t != SQLITE_INTEGER && t != SQLITE_FLOAT) return;
    if (a->n == a->cap) {
        int cap = a->cap ? a->cap * 2 : 64;
        double *v = realloc(a->v, (size_t)cap * sizeof *v);
        if (!v) { sqlite3_result_error_nomem(ctx); return; }
        a->v = v;
        a->cap = cap;
    }
    if (t == SQLITE_FLOAT) a->all_int = 0;
    a->v[a->n++] = sqlite3_value_double(argv[0]);
}

static int lt_fn_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static void lt_fn_pct_final(sqlite3_context *ctx)
{
    lt_fn_pct *a = sqlite3_aggregate_context(ctx, 0);
    if (!a || !a->n) { if (a) free(a->v); sqlite3_result_null(ctx); return; }
    qsort(a->v, (size_t)a->n, sizeof *a->v, lt_fn_cmp);
    double p = a->p < 0 ? 0 : a->p > 100 ? 100 : a->p;
    int rank = (int)(p / 100.0 * a->n + 0.999999999);
    if (rank < 1) rank = 1;
    double v = a->v[rank - 1];
    if (a->all_int) sqlite3_result_int64(ctx, (sqlite3_int64)v);
    else sqlite3_result_double(ctx, v);
    free(a->v);
}

int lt_kql_fn_register(sqlite3 *db)
{
    static const struct { const char *name; int mode; } strops[] = {
        {"kql_contains", 0}, {"kql_has", 1}, {"kql_startswith", 2}, {"kql_endswith", 3},
        {"kql_contains_cs", 4}, {"kql_has_cs", 5}, {"kql_startswith_cs", 6}, {"kql_endswith_cs", 7},
    };
    static const struct { const char *name; int nargs; void (*fn)(sqlite3_context *, int, sqlite3_value **); } fns[] = {
        {"kql_dynval", 1, lt_fn_dynval}, {"kql_dynstr", 1, lt_fn_dynstr}, {"kql_tolong", 1, lt_fn_tolong},
        {"kql_todouble", 1, lt_fn_todouble}, {"kql_todatetime", 1, lt_fn_todatetime}, {"kql_dtstr", 1, lt_fn_dtstr},
        {"kql_tsstr", 1, lt_fn_tsstr}, {"kql_parse_json", 1, lt_fn_parse_json},
        {"kql_strcat_array", 2, lt_fn_strcat_array}, {"kql_bin", 2, lt_fn_bin},
    };
    const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
    for (size_t i = 0; i < sizeof strops / sizeof strops[0]; i++)
        if (sqlite3_create_function(db, strops[i].name, 2, flags, (void *)(intptr_t)strops[i].mode, lt_fn_strop_sql,
                                    NULL, NULL) != SQLITE_OK)
            return -1;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (sqlite3_create_function(db, fns[i].name, fns[i].nargs, flags, NULL, fns[i].fn, NULL, NULL) != SQLITE_OK)
            return -1;
    return sqlite3_create_function(db, "kql_percentile", 2, flags, NULL, NULL, lt_fn_pct_step, lt_fn_pct_final) ==
                   SQLITE_OK ? 0 : -1;
}
