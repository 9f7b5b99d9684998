/* kql_expr.c -- KQL scalar expressions compiled to SQLite expressions.
 *
 * Recursive descent in KQL's precedence order (or < and < comparisons and
 * string operators < + - < * / % < unary minus < member access < primary).
 * Each node returns its SQL and its KQL type; the type decides the SQL
 * (datetime arithmetic, tostring of a bool, comparisons with a dynamic
 * value) and is checked where KQL would reject the query, so a query that
 * Kusto refuses is refused here too instead of giving a different answer.
 * Aggregates are accepted only inside `summarize` (agg_ok). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kql_int.h"

typedef lt_kex (*lt_kfn)(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n);

static lt_kex lt_kex_make(const char *sql, lt_kql_type type, const char *col)
{
    lt_kex e = {sql, type, col};
    return e;
}

static int lt_kex_numeric(lt_kql_type t) { return t == LT_KQL_LONG || t == LT_KQL_REAL || t == LT_KQL_BOOL; }

/* The SQLite value of a dynamic JSON text (string unquoted, numbers as numbers). */
static const char *lt_kex_plain(lt_kc *c, lt_kex e)
{
    return e.type == LT_KQL_DYNAMIC ? lt_kql_fmt(c, "kql_dynval(%s)", e.sql) : e.sql;
}

const char *lt_kql_expr_string(lt_kc *c, lt_kex e)
{
    switch (e.type) {
    case LT_KQL_STRING: return lt_kql_fmt(c, "coalesce(%s, '')", e.sql);
    case LT_KQL_BOOL: return lt_kql_fmt(c, "(CASE WHEN %s IS NULL THEN '' WHEN %s THEN 'true' ELSE 'false' END)", e.sql, e.sql);
    case LT_KQL_DATETIME: return lt_kql_fmt(c, "kql_dtstr(%s)", e.sql);
    case LT_KQL_TIMESPAN: return lt_kql_fmt(c, "kql_tsstr(%s)", e.sql);
    case LT_KQL_DYNAMIC: return lt_kql_fmt(c, "kql_dynstr(%s)", e.sql);
    case LT_KQL_NULL: return "''";
    default: return lt_kql_fmt(c, "coalesce(CAST(%s AS TEXT), '')", e.sql);
    }
}

const char *lt_kql_expr_name(lt_kc *c, lt_kex e, const char *prefix, int *ncol)
{
    if (e.col && prefix) return lt_kql_fmt(c, "%s_%s", prefix, e.col);
    if (prefix) return lt_kql_fmt(c, "%s_", prefix);
    if (e.col) return e.col;
    return lt_kql_fmt(c, "Column%d", ++*ncol);
}

static void lt_kex_need(lt_kc *c, const lt_kql_token *t, int n, int lo, int hi)
{
    if (n < lo || n > hi) lt_kql_fail(c, t, "%s() takes %d to %d arguments, got %d", t->text, lo, hi, n);
}

/* ---- conversions ---- */

static lt_kex lt_kf_tolong(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 1);
    switch (a[0].type) {
    case LT_KQL_LONG: case LT_KQL_BOOL: return lt_kex_make(a[0].sql, LT_KQL_LONG, a[0].col);
    case LT_KQL_REAL: return lt_kex_make(lt_kql_fmt(c, "CAST(%s AS INTEGER)", a[0].sql), LT_KQL_LONG, a[0].col);
    case LT_KQL_DATETIME: case LT_KQL_TIMESPAN:
        return lt_kex_make(lt_kql_fmt(c, "(%s * 10)", a[0].sql), LT_KQL_LONG, a[0].col);
    default: return lt_kex_make(lt_kql_fmt(c, "kql_tolong(%s)", lt_kex_plain(c, a[0])), LT_KQL_LONG, a[0].col);
    }
}

static lt_kex lt_kf_todouble(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 1);
    if (lt_kex_numeric(a[0].type) || a[0].type == LT_KQL_TIMESPAN || a[0].type == LT_KQL_DATETIME)
        return lt_kex_make(lt_kql_fmt(c, "CAST(%s AS REAL)", a[0].sql), LT_KQL_REAL, a[0].col);
    return lt_kex_make(lt_kql_fmt(c, "kql_todouble(%s)", lt_kex_plain(c, a[0])), LT_KQL_REAL, a[0].col);
}

static lt_kex lt_kf_tostring(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 1);
    return lt_kex_make(lt_kql_expr_string(c, a[0]), LT_KQL_STRING, a[0].col);
}

static lt_kex lt_kf_todatetime(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 1);
    if (a[0].type == LT_KQL_DATETIME) return a[0];
    if (a[0].type != LT_KQL_STRING && a[0].type != LT_KQL_DYNAMIC)
        lt_kql_fail(c, t, "todatetime() of a %s is not supported", lt_kql_type_name(a[0].type));
    return lt_kex_make(lt_kql_fmt(c, "kql_todatetime(%s)", lt_kex_plain(c, a[0])), LT_KQL_DATETIME, a[0].col);
}

static lt_kex lt_kf_parse_json(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 1);
    if (a[0].type == LT_KQL_DYNAMIC) return a[0];
    if (a[0].type == LT_KQL_STRING)
        return lt_kex_make(lt_kql_fmt(c, "kql_parse_json(%s)", a[0].sql), LT_KQL_DYNAMIC, a[0].col);
    return lt_kex_make(lt_kql_fmt(c, "kql_parse_json(%s)", lt_kql_expr_string(c, a[0])), LT_KQL_DYNAMIC, a[0].col);
}

/* ---- time ---- */

static lt_kex lt_kf_ago(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 1);
    if (a[0].type != LT_KQL_TIMESPAN) lt_kql_fail(c, t, "ago() needs a timespan, got a %s", lt_kql_type_name(a[0].type));
    return lt_kex_make(lt_kql_fmt(c, "(%lld - %s)", (long long)c->now, a[0].sql), LT_KQL_DATETIME, NULL);
}

static lt_kex lt_kf_now(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 0, 1);
    if (n && a[0].type != LT_KQL_TIMESPAN) lt_kql_fail(c, t, "now() takes a timespan offset");
    return lt_kex_make(lt_kql_fmt(c, "(%lld + %s)", (long long)c->now, n ? a[0].sql : "0"), LT_KQL_DATETIME, NULL);
}

static lt_kex lt_kf_bin(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 2, 2);
    lt_kql_type ty = a[0].type;
    if (ty != LT_KQL_DATETIME && ty != LT_KQL_TIMESPAN && !lt_kex_numeric(ty))
        lt_kql_fail(c, t, "bin() of a %s", lt_kql_type_name(ty));
    if ((ty == LT_KQL_DATETIME || ty == LT_KQL_TIMESPAN) && a[1].type != LT_KQL_TIMESPAN)
        lt_kql_fail(c, t, "bin() of a %s needs a timespan bin size", lt_kql_type_name(ty));
    return lt_kex_make(lt_kql_fmt(c, "kql_bin(%s, %s)", a[0].sql, a[1].sql), ty, a[0].col);
}

static lt_kex lt_kf_startofday(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 1);
    if (a[0].type != LT_KQL_DATETIME) lt_kql_fail(c, t, "startofday() needs a datetime");
    return lt_kex_make(lt_kql_fmt(c, "kql_bin(%s, 86400000000)", a[0].sql), LT_KQL_DATETIME, a[0].col);
}

/* ---- strings and logic ---- */

static lt_kex lt_kf_strcat(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 64);
    const char *s = lt_kql_expr_string(c, a[0]);
    for (int i = 1; i < n; i++) s = lt_kql_fmt(c, "%s || %s", s, lt_kql_expr_string(c, a[i]));
    return lt_kex_make(lt_kql_fmt(c, "(%s)", s), LT_KQL_STRING, a[0].col);
}

static lt_kex lt_kf_strcat_array(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 2, 2);
    if (a[0].type != LT_KQL_DYNAMIC) lt_kql_fail(c, t, "strcat_array() needs a dynamic array");
    return lt_kex_make(lt_kql_fmt(c, "kql_strcat_array(%s, %s)", a[0].sql, lt_kql_expr_string(c, a[1])),
                       LT_KQL_STRING, a[0].col);
}

static lt_kex lt_kf_strlen(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 1);
    return lt_kex_make(lt_kql_fmt(c, "length(%s)", lt_kql_expr_string(c, a[0])), LT_KQL_LONG, a[0].col);
}

static lt_kex lt_kf_case_fold(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 1);
    const char *fn = !strcmp(t->text, "tolower") ? "lower" : "upper";
    return lt_kex_make(lt_kql_fmt(c, "%s(%s)", fn, lt_kql_expr_string(c, a[0])), LT_KQL_STRING, a[0].col);
}

static lt_kql_type lt_kex_common(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kql_type ty = LT_KQL_NULL;
    for (int i = 0; i < n; i++) {
        if (a[i].type == LT_KQL_NULL) continue;
        if (ty == LT_KQL_NULL) { ty = a[i].type; continue; }
        if (ty == a[i].type) continue;
        if (lt_kex_numeric(ty) && lt_kex_numeric(a[i].type)) { ty = LT_KQL_REAL; continue; }
        lt_kql_fail(c, t, "%s() mixes %s and %s", t->text, lt_kql_type_name(ty), lt_kql_type_name(a[i].type));
    }
    return ty;
}

static lt_kex lt_kf_coalesce(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 2, 64);
    lt_kql_type ty = lt_kex_common(c, t, a, n);
    const char *s = NULL;
    for (int i = 0; i < n; i++) {
        const char *v = ty == LT_KQL_STRING ? lt_kql_fmt(c, "nullif(%s, '')", a[i].sql) : a[i].sql;
        s = s ? lt_kql_fmt(c, "%s, %s", s, v) : v;
    }
    return lt_kex_make(lt_kql_fmt(c, "coalesce(%s)", s), ty, a[0].col);
}

static lt_kex lt_kf_iff(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 3, 3);
    lt_kql_type ty = lt_kex_common(c, t, a + 1, 2);
    return lt_kex_make(lt_kql_fmt(c, "(CASE WHEN %s THEN %s ELSE %s END)", a[0].sql, a[1].sql, a[2].sql), ty,
                       a[1].col ? a[1].col : a[2].col);
}

static lt_kex lt_kf_case(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    if (n < 3 || n % 2 == 0) lt_kql_fail(c, t, "case() takes condition/value pairs and an else value");
    const char *s = "CASE";
    lt_kex vals[33];
    int nv = 0;
    for (int i = 0; i + 1 < n && nv < 32; i += 2) {
        s = lt_kql_fmt(c, "%s WHEN %s THEN %s", s, a[i].sql, a[i + 1].sql);
        vals[nv++] = a[i + 1];
    }
    vals[nv++] = a[n - 1];
    lt_kql_type ty = lt_kex_common(c, t, vals, nv);
    return lt_kex_make(lt_kql_fmt(c, "(%s ELSE %s END)", s, a[n - 1].sql), ty, NULL);
}

static const char *lt_kex_empty_sql(lt_kc *c, lt_kex e)
{
    if (e.type == LT_KQL_STRING) return lt_kql_fmt(c, "(%s IS NULL OR %s = '')", e.sql, e.sql);
    if (e.type == LT_KQL_DYNAMIC) return lt_kql_fmt(c, "(%s IS NULL OR %s IN ('', '\"\"', 'null'))", e.sql, e.sql);
    return lt_kql_fmt(c, "(%s IS NULL)", e.sql);
}

static lt_kex lt_kf_isempty(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 1);
    const char *s = lt_kex_empty_sql(c, a[0]);
    if (!strcmp(t->text, "isnotempty")) s = lt_kql_fmt(c, "(NOT %s)", s);
    return lt_kex_make(s, LT_KQL_BOOL, a[0].col);
}

static lt_kex lt_kf_isnull(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 1);
    const char *op = !strcmp(t->text, "isnull") ? "IS NULL" : "IS NOT NULL";
    return lt_kex_make(lt_kql_fmt(c, "(%s %s)", a[0].sql, op), LT_KQL_BOOL, a[0].col);
}

static lt_kex lt_kf_not(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 1);
    return lt_kex_make(lt_kql_fmt(c, "(NOT %s)", a[0].sql), LT_KQL_BOOL, a[0].col);
}

static lt_kex lt_kf_round(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 2);
    if (!lt_kex_numeric(a[0].type)) lt_kql_fail(c, t, "round() needs a number");
    return lt_kex_make(lt_kql_fmt(c, "round(%s, %s)", a[0].sql, n > 1 ? a[1].sql : "0"), LT_KQL_REAL, a[0].col);
}

/* ---- aggregates (summarize only) ---- */

static const char *lt_kex_listval(lt_kc *c, lt_kex e)
{
    if (e.type == LT_KQL_DYNAMIC) return lt_kql_fmt(c, "json(%s)", e.sql);
    if (e.type == LT_KQL_BOOL) return lt_kql_fmt(c, "json(CASE WHEN %s THEN 'true' ELSE 'false' END)", e.sql);
    if (e.type == LT_KQL_DATETIME || e.type == LT_KQL_TIMESPAN) return lt_kql_expr_string(c, e);
    return e.sql;
}

static lt_kex lt_ka_count(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 0, 0);
    (void)a;
    return lt_kex_make("count(*)", LT_KQL_LONG, NULL);
}

static lt_kex lt_ka_countif(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 1);
    return lt_kex_make(lt_kql_fmt(c, "count(CASE WHEN %s THEN 1 END)", a[0].sql), LT_KQL_LONG, NULL);
}

/* The argument of sum()/sumif() and avg()/avgif() (iffn names the -if
 * form): a number or a timespan, NULL (left out by the aggregate) where the
 * -if form's condition does not hold. */
static const char *lt_ka_value(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n, const char *iffn)
{
    int cond = !strcmp(t->text, iffn);
    lt_kex_need(c, t, n, 1 + cond, 1 + cond);
    if (!lt_kex_numeric(a[0].type) && a[0].type != LT_KQL_TIMESPAN)
        lt_kql_fail(c, t, "%s() of a %s (use tolong()/todouble())", t->text, lt_kql_type_name(a[0].type));
    return cond ? lt_kql_fmt(c, "CASE WHEN %s THEN %s END", a[1].sql, a[0].sql) : a[0].sql;
}

static lt_kex lt_ka_sum(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    const char *v = lt_ka_value(c, t, a, n, "sumif");
    lt_kql_type ty = a[0].type == LT_KQL_BOOL ? LT_KQL_LONG : a[0].type;
    return lt_kex_make(lt_kql_fmt(c, "coalesce(sum(%s), 0)", v), ty, a[0].col);
}

static lt_kex lt_ka_avg(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    const char *v = lt_ka_value(c, t, a, n, "avgif");
    return lt_kex_make(lt_kql_fmt(c, "avg(%s)", v), a[0].type == LT_KQL_TIMESPAN ? LT_KQL_TIMESPAN : LT_KQL_REAL, a[0].col);
}

static lt_kex lt_ka_minmax(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 1);
    if (a[0].type == LT_KQL_DYNAMIC) lt_kql_fail(c, t, "%s() of a dynamic value", t->text);
    return lt_kex_make(lt_kql_fmt(c, "%s(%s)", t->text, a[0].sql), a[0].type, a[0].col);
}

static lt_kex lt_ka_dcount(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 1, 2);
    return lt_kex_make(lt_kql_fmt(c, "count(DISTINCT %s)", a[0].sql), LT_KQL_LONG, a[0].col);
}

static lt_kex lt_ka_percentile(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    lt_kex_need(c, t, n, 2, 2);
    if (!lt_kex_numeric(a[0].type) && a[0].type != LT_KQL_TIMESPAN && a[0].type != LT_KQL_DATETIME)
        lt_kql_fail(c, t, "percentile() of a %s", lt_kql_type_name(a[0].type));
    if (!lt_kex_numeric(a[1].type)) lt_kql_fail(c, t, "percentile() needs a numeric percentage");
    return lt_kex_make(lt_kql_fmt(c, "kql_percentile(%s, %s)", a[0].sql, a[1].sql), a[0].type, a[0].col);
}

static lt_kex lt_ka_make_list(lt_kc *c, const lt_kql_token *t, lt_kex *a, int n)
{
    int cond = strstr(t->text, "_if") != NULL, set = strstr(t->text, "set") != NULL;
    lt_kex_need(c, t, n, 1 + cond, 1 + cond);
    const char *filter = cond ? lt_kql_fmt(c, "(%s) AND %s IS NOT NULL", a[1].sql, a[0].sql)
                              : lt_kql_fmt(c, "%s IS NOT NULL", a[0].sql);
    return lt_kex_make(lt_kql_fmt(c, "json_group_array(%s%s) FILTER (WHERE %s)", set ? "DISTINCT " : "",
                                 lt_kex_listval(c, a[0]), filter),
                       LT_KQL_DYNAMIC, a[0].col);
}

typedef struct lt_kfn_def { const char *name; lt_kfn fn; int agg; } lt_kfn_def;

static const lt_kfn_def lt_kfns[] = {
    {"tolong", lt_kf_tolong, 0}, {"toint", lt_kf_tolong, 0}, {"todouble", lt_kf_todouble, 0},
    {"toreal", lt_kf_todouble, 0}, {"tostring", lt_kf_tostring, 0}, {"todatetime", lt_kf_todatetime, 0},
    {"parse_json", lt_kf_parse_json, 0}, {"todynamic", lt_kf_parse_json, 0}, {"ago", lt_kf_ago, 0},
    {"now", lt_kf_now, 0}, {"bin", lt_kf_bin, 0}, {"floor", lt_kf_bin, 0}, {"startofday", lt_kf_startofday, 0},
    {"strcat", lt_kf_strcat, 0}, {"strcat_array", lt_kf_strcat_array, 0}, {"strlen", lt_kf_strlen, 0},
    {"tolower", lt_kf_case_fold, 0}, {"toupper", lt_kf_case_fold, 0}, {"coalesce", lt_kf_coalesce, 0},
    {"iff", lt_kf_iff, 0}, {"iif", lt_kf_iff, 0}, {"case", lt_kf_case, 0}, {"isempty", lt_kf_isempty, 0},
    {"isnotempty", lt_kf_isempty, 0}, {"isnull", lt_kf_isnull, 0}, {"isnotnull", lt_kf_isnull, 0},
    {"not", lt_kf_not, 0}, {"round", lt_kf_round, 0},
    {"count", lt_ka_count, 1}, {"countif", lt_ka_countif, 1}, {"sum", lt_ka_sum, 1}, {"sumif", lt_ka_sum, 1},
    {"avg", lt_ka_avg, 1}, {"avgif", lt_ka_avg, 1}, {"min", lt_ka_minmax, 1}, {"max", lt_ka_minmax, 1},
    {"dcount", lt_ka_dcount, 1}, {"percentile", lt_ka_percentile, 1}, {"make_list", lt_ka_make_list, 1},
    {"make_list_if", lt_ka_make_list, 1}, {"make_set", lt_ka_make_list, 1}, {"make_set_if", lt_ka_make_list, 1},
};

/* KQL's default name prefix for an aggregate's result column. */
const char *lt_kql_expr_agg_prefix(const char *fn)
{
    if (!strncmp(fn, "make_list", 9)) return "list";
    if (!strncmp(fn, "make_set", 8)) return "set";
    return fn;
}

static lt_kex lt_kex_call(lt_kc *c, const lt_kql_token *t)
{
    const lt_kfn_def *def = NULL;
    for (size_t i = 0; i < sizeof lt_kfns / sizeof lt_kfns[0]; i++)
        if (!strcmp(lt_kfns[i].name, t->text)) def = &lt_kfns[i];
    if (!def) lt_kql_fail(c, t, "unsupported function '%s'", t->text);
    if (def->agg && !c->agg_ok) lt_kql_fail(c, t, "aggregate '%s' is only allowed in summarize", t->text);
    lt_kql_expect(c, "(");
    lt_kex a[64];
    int n = 0, agg_ok = c->agg_ok;
    c->agg_ok = def->agg ? 0 : agg_ok;   /* no aggregate inside an aggregate */
    while (!lt_kql_is(c, ")")) {
        if (n == 64) lt_kql_fail(c, lt_kql_tok(c), "too many arguments");
        a[n++] = lt_kql_expr_parse(c);
        if (!lt_kql_accept(c, ",")) break;
    }
    c->agg_ok = agg_ok;
    lt_kql_expect(c, ")");
    if (def->agg) c->agg_seen++;
    lt_kex r = def->fn(c, t, a, n);
    if (!r.col) for (int i = 0; i < n && !r.col; i++) r.col = a[i].col;
    return r;
}

static lt_kex lt_kex_ident(lt_kc *c, const lt_kql_token *t)
{
    if (!strcmp(t->text, "true") || !strcmp(t->text, "false"))
        return lt_kex_make(t->text[0] == 't' ? "1" : "0", LT_KQL_BOOL, NULL);
    if (lt_kql_is(c, "(")) return lt_kex_call(c, t);
    const lt_kcol *col = lt_kql_find(&c->cur, t->text);
    if (col) return lt_kex_make(lt_kql_quote(c, col->name), col->type, col->name);
    for (int i = c->nlets - 1; i >= 0; i--)
        if (!c->lets[i].tabular && !strcmp(c->lets[i].name, t->text)) return c->lets[i].val;
    lt_kql_fail(c, t, "unknown column or name '%s'", t->text);
}

static lt_kex lt_kex_primary(lt_kc *c)
{
    const lt_kql_token *t = lt_kql_tok(c);
    c->pos++;
    switch (t->kind) {
    case LT_TK_INT: return lt_kex_make(lt_kql_fmt(c, "%lld", t->ival), LT_KQL_LONG, NULL);
    case LT_TK_REAL: return lt_kex_make(lt_kql_fmt(c, "%.17g", t->rval), LT_KQL_REAL, NULL);
    case LT_TK_TIMESPAN: return lt_kex_make(lt_kql_fmt(c, "%lld", t->ival), LT_KQL_TIMESPAN, NULL);
    case LT_TK_DATETIME: return lt_kex_make(lt_kql_fmt(c, "%lld", t->ival), LT_KQL_DATETIME, NULL);
    case LT_TK_STRING: {
        char *q = sqlite3_mprintf("%Q", t->text);
        const char *s = lt_kql_fmt(c, "%s", q ? q : "''");
        sqlite3_free(q);
        return lt_kex_make(s, LT_KQL_STRING, NULL);
    }
    case LT_TK_IDENT: return lt_kex_ident(c, t);
    default: break;
    }
    if (!strcmp(t->text, "(")) {
        lt_kex e = lt_kql_expr_parse(c);
        lt_kql_expect(c, ")");
        return lt_kex_make(lt_kql_fmt(c, "(%s)", e.sql), e.type, e.col);
    }
    lt_kql_fail(c, t, "expected an expression, got '%s'", t->kind == LT_TK_END ? "end of query" : t->text);
}

static lt_kex lt_kex_postfix(lt_kc *c)
{
    lt_kex e = lt_kex_primary(c);
    for (;;) {
        const lt_kql_token *t = lt_kql_tok(c);
        const char *path;
        if (lt_kql_accept(c, ".")) path = lt_kql_fmt(c, "$.\"%s\"", lt_kql_ident(c, "a member name"));
        else if (lt_kql_accept(c, "[")) {
            const lt_kql_token *k = lt_kql_tok(c);
            if (k->kind == LT_TK_STRING) path = lt_kql_fmt(c, "$.\"%s\"", k->text);
            else if (k->kind == LT_TK_INT) path = lt_kql_fmt(c, "$[%lld]", k->ival);
            else lt_kql_fail(c, k, "expected a string or integer index");
            c->pos++;
            lt_kql_expect(c, "]");
        } else return e;
        if (e.type != LT_KQL_DYNAMIC) lt_kql_fail(c, t, "member access on a %s (not dynamic)", lt_kql_type_name(e.type));
        if (strchr(path + 3, '\'')) lt_kql_fail(c, t, "quote in a member name");
        e = lt_kex_make(lt_kql_fmt(c, "(%s -> '%s')", e.sql, path), LT_KQL_DYNAMIC, e.col);
    }
}

static lt_kex lt_kex_unary(lt_kc *c)
{
    const lt_kql_token *t = lt_kql_tok(c);
    if (lt_kql_accept(c, "-")) {
        lt_kex e = lt_kex_unary(c);
        if (!lt_kex_numeric(e.type) && e.type != LT_KQL_TIMESPAN) lt_kql_fail(c, t, "minus of a %s", lt_kql_type_name(e.type));
        return lt_kex_make(lt_kql_fmt(c, "(-%s)", e.sql), e.type, e.col);
    }
    return lt_kex_postfix(c);
}

/* Result type of arithmetic, or fails. */
static lt_kql_type lt_kex_arith_type(lt_kc *c, const lt_kql_token *t, char op, lt_kex l, lt_kex r)
{
    lt_kql_type a = l.type, b = r.type;
    if (a == LT_KQL_DYNAMIC || b == LT_KQL_DYNAMIC) return LT_KQL_REAL;
    if (lt_kex_numeric(a) && lt_kex_numeric(b)) return a == LT_KQL_REAL || b == LT_KQL_REAL ? LT_KQL_REAL : LT_KQL_LONG;
    if (op == '-' && a == LT_KQL_DATETIME && b == LT_KQL_DATETIME) return LT_KQL_TIMESPAN;
    if ((op == '+' || op == '-') && a == LT_KQL_DATETIME && b == LT_KQL_TIMESPAN) return LT_KQL_DATETIME;
    if (op == '+' && a == LT_KQL_TIMESPAN && b == LT_KQL_DATETIME) return LT_KQL_DATETIME;
    if ((op == '+' || op == '-') && a == LT_KQL_TIMESPAN && b == LT_KQL_TIMESPAN) return LT_KQL_TIMESPAN;
    if (op == '/' && a == LT_KQL_TIMESPAN && b == LT_KQL_TIMESPAN) return LT_KQL_REAL;
    if ((op == '*' || op == '/') && a == LT_KQL_TIMESPAN && lt_kex_numeric(b)) return LT_KQL_TIMESPAN;
    if (op == '*' && lt_kex_numeric(a) && b == LT_KQL_TIMESPAN) return LT_KQL_TIMESPAN;
    lt_kql_fail(c, t, "'%c' between %s and %s", op, lt_kql_type_name(a), lt_kql_type_name(b));
}

static lt_kex lt_kex_arith(lt_kc *c, const lt_kql_token *t, lt_kex l, lt_kex r)
{
    char op = t->text[0];
    lt_kql_type ty = lt_kex_arith_type(c, t, op, l, r);
    const char *ls = lt_kex_plain(c, l), *rs = lt_kex_plain(c, r);
    if (op == '/' && ty == LT_KQL_REAL) ls = lt_kql_fmt(c, "CAST(%s AS REAL)", ls);
    return lt_kex_make(lt_kql_fmt(c, "(%s %c %s)", ls, op, rs), ty, l.col ? l.col : r.col);
}

static lt_kex lt_kex_mul(lt_kc *c)
{
    lt_kex e = lt_kex_unary(c);
    while (lt_kql_is(c, "*") || lt_kql_is(c, "/") || lt_kql_is(c, "%")) {
        const lt_kql_token *t = lt_kql_tok(c);
        c->pos++;
        e = lt_kex_arith(c, t, e, lt_kex_unary(c));
    }
    return e;
}

static lt_kex lt_kex_add(lt_kc *c)
{
    lt_kex e = lt_kex_mul(c);
    while (lt_kql_is(c, "+") || lt_kql_is(c, "-")) {
        const lt_kql_token *t = lt_kql_tok(c);
        c->pos++;
        e = lt_kex_arith(c, t, e, lt_kex_mul(c));
    }
    return e;
}

/* Both sides comparable the way Kusto allows; dynamic compares by value. */
static void lt_kex_comparable(lt_kc *c, const lt_kql_token *t, lt_kex *l, lt_kex *r)
{
    lt_kql_type a = l->type, b = r->type;
    if (a == LT_KQL_DYNAMIC) l->sql = lt_kex_plain(c, *l);
    if (b == LT_KQL_DYNAMIC) r->sql = lt_kex_plain(c, *r);
    if (a == b || a == LT_KQL_DYNAMIC || b == LT_KQL_DYNAMIC || a == LT_KQL_NULL || b == LT_KQL_NULL) return;
    if (lt_kex_numeric(a) && lt_kex_numeric(b)) return;
    lt_kql_fail(c, t, "cannot compare a %s with a %s", lt_kql_type_name(a), lt_kql_type_name(b));
}

static lt_kex lt_kex_in(lt_kc *c, const lt_kql_token *t, lt_kex l, int neg)
{
    lt_kql_expect(c, "(");
    const char *list = NULL, *lsql = l.sql;
    do {
        lt_kex v = lt_kql_expr_parse(c), l2 = l;
        lt_kex_comparable(c, t, &l2, &v);
        lsql = l2.sql;
        list = list ? lt_kql_fmt(c, "%s, %s", list, v.sql) : v.sql;
    } while (lt_kql_accept(c, ","));
    lt_kql_expect(c, ")");
    return lt_kex_make(lt_kql_fmt(c, "(%s %sIN (%s))", lsql, neg ? "NOT " : "", list), LT_KQL_BOOL, l.col);
}

static lt_kex lt_kex_between(lt_kc *c, const lt_kql_token *t, lt_kex l, int neg)
{
    lt_kql_expect(c, "(");
    lt_kex lo = lt_kex_add(c);
    lt_kql_expect(c, "..");
    lt_kex hi = lt_kex_add(c);
    lt_kql_expect(c, ")");
    lt_kex l2 = l;
    lt_kex_comparable(c, t, &l, &lo);
    lt_kex_comparable(c, t, &l2, &hi);
    return lt_kex_make(lt_kql_fmt(c, "(%s %sBETWEEN %s AND %s)", l.sql, neg ? "NOT " : "", lo.sql, hi.sql),
                       LT_KQL_BOOL, l.col);
}

static const struct { const char *op, *fn; } lt_kex_strops[] = {
    {"has", "kql_has"}, {"contains", "kql_contains"}, {"startswith", "kql_startswith"},
    {"endswith", "kql_endswith"}, {"has_cs", "kql_has_cs"}, {"contains_cs", "kql_contains_cs"},
    {"startswith_cs", "kql_startswith_cs"}, {"endswith_cs", "kql_endswith_cs"},
};

static int lt_kex_strop(lt_kc *c, lt_kex *e)
{
    const lt_kql_token *t = lt_kql_tok(c);
    if (t->kind != LT_TK_IDENT) return 0;
    int neg = t->text[0] == '!';
    const char *op = t->text + neg;
    for (size_t i = 0; i < sizeof lt_kex_strops / sizeof lt_kex_strops[0]; i++) {
        if (strcmp(op, lt_kex_strops[i].op)) continue;
        c->pos++;
        lt_kex r = lt_kex_add(c);
        *e = lt_kex_make(lt_kql_fmt(c, "(%s%s(%s, %s))", neg ? "NOT " : "", lt_kex_strops[i].fn,
                                   lt_kql_expr_string(c, *e), lt_kql_expr_string(c, r)),
                         LT_KQL_BOOL, e->col);
        return 1;
    }
    if (!strcmp(op, "in")) { c->pos++; *e = lt_kex_in(c, t, *e, neg); return 1; }
    if (!strcmp(op, "between")) { c->pos++; *e = lt_kex_between(c, t, *e, neg); return 1; }
    return 0;
}

static lt_kex lt_kex_cmp(lt_kc *c)
{
    static const struct { const char *op, *sql; } cmps[] = {
        {"==", "="}, {"!=", "<>"}, {"<>", "<>"}, {"<", "<"}, {"<=", "<="}, {">", ">"}, {">=", ">="},
    };
    lt_kex e = lt_kex_add(c);
    for (;;) {
        const lt_kql_token *t = lt_kql_tok(c);
        if (lt_kex_strop(c, &e)) continue;
        if (lt_kql_is(c, "=~") || lt_kql_is(c, "!~")) {
            c->pos++;
            lt_kex r = lt_kex_add(c);
            e = lt_kex_make(lt_kql_fmt(c, "(lower(%s) %s lower(%s))", lt_kql_expr_string(c, e),
                                      t->text[0] == '=' ? "=" : "<>", lt_kql_expr_string(c, r)),
                            LT_KQL_BOOL, e.col);
            continue;
        }
        size_t i, n = sizeof cmps / sizeof cmps[0];
        for (i = 0; i < n; i++) if (t->kind == LT_TK_PUNCT && !strcmp(t->text, cmps[i].op)) break;
        if (i == n) return e;
        c->pos++;
        lt_kex r = lt_kex_add(c);
        lt_kex_comparable(c, t, &e, &r);
        e = lt_kex_make(lt_kql_fmt(c, "(%s %s %s)", e.sql, cmps[i].sql, r.sql), LT_KQL_BOOL, e.col);
    }
}

static lt_kex lt_kex_and(lt_kc *c)
{
    lt_kex e = lt_kex_cmp(c);
    while (lt_kql_accept(c, "and")) {
        lt_kex r = lt_kex_cmp(c);
        e = lt_kex_make(lt_kql_fmt(c, "(%s AND %s)", e.sql, r.sql), LT_KQL_BOOL, e.col);
    }
    return e;
}

lt_kex lt_kql_expr_parse(lt_kc *c)
{
    lt_kex e = lt_kex_and(c);
    while (lt_kql_accept(c, "or")) {
        lt_kex r = lt_kex_and(c);
        e = lt_kex_make(lt_kql_fmt(c, "(%s OR %s)", e.sql, r.sql), LT_KQL_BOOL, e.col);
    }
    return e;
}
