/* kql.c -- the KQL query compiler: statements, tabular operators, stages.
 *
 * A query `T | op1 | op2` becomes `WITH s0 AS (SELECT <T's columns> FROM
 * records WHERE tbl = N), s1 AS (SELECT ... FROM s0 ...), ... SELECT * FROM
 * sN`: one common table expression per operator, each knowing its columns
 * and their KQL types (lt_kcols), so the next operator can resolve names,
 * check types and name its results the way Kusto does (sum_X, count_,
 * TimeGenerated for bin(TimeGenerated, 1d), RecordId1 for a join's right
 * key). `let` names a stage (tabular) or an expression (scalar).
 *
 * Everything a compilation allocates is kept in an arena (c->keep) and freed
 * at the end; errors longjmp to lt_kql_compile with the message already
 * written, so no partial SQL ever escapes. Expressions are in kql_expr.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kql_int.h"

struct lt_kql {
    char *sql;
    int ncols;
    char **names;
    lt_kql_type *types;
};

/* ---- arena, errors, tokens ---- */

static void lt_kc_keep(lt_kc *c, void *p)
{
    if (!p) lt_kql_fail(c, lt_kql_tok(c), "out of memory");
    if (c->nkeep == c->capkeep) {
        int cap = c->capkeep ? c->capkeep * 2 : 256;
        void **k = realloc(c->keep, (size_t)cap * sizeof *k);
        if (!k) { free(p); lt_kql_fail(c, lt_kql_tok(c), "out of memory"); }
        c->keep = k;
        c->capkeep = cap;
    }
    c->keep[c->nkeep++] = p;
}

void *lt_kql_alloc(lt_kc *c, size_t n)
{
    void *p = calloc(1, n ? n : 1);
    lt_kc_keep(c, p);
    return p;
}

const char *lt_kql_fmt(lt_kc *c, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    lt_kc_keep(c, n < 0 ? NULL : s);
    return s;
}

_Noreturn void lt_kql_fail(lt_kc *c, const lt_kql_token *t, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *ls = t->start;
    while (ls > c->src && ls[-1] != '\n') ls--;
    const char *le = strchr(t->start, '\n');
    int llen = le ? (int)(le - ls) : (int)strlen(ls), col = (int)(t->start - ls);
    snprintf(c->err, c->errlen, "%d:%d: %s\n    %.*s\n    %*s^", t->line, t->col, msg, llen, ls, col, "");
    longjmp(c->jb, 1);
}

const lt_kql_token *lt_kql_tok(lt_kc *c) { return &c->tk.v[c->pos]; }

const lt_kql_token *lt_kql_peek(lt_kc *c, int ahead)
{
    int i = c->pos + ahead;
    return &c->tk.v[i < c->tk.n ? i : c->tk.n - 1];
}

int lt_kql_is(lt_kc *c, const char *text)
{
    const lt_kql_token *t = lt_kql_tok(c);
    return (t->kind == LT_TK_IDENT || t->kind == LT_TK_PUNCT) && !strcmp(t->text, text);
}

int lt_kql_accept(lt_kc *c, const char *text)
{
    if (!lt_kql_is(c, text)) return 0;
    c->pos++;
    return 1;
}

void lt_kql_expect(lt_kc *c, const char *text)
{
    const lt_kql_token *t = lt_kql_tok(c);
    if (!lt_kql_accept(c, text))
        lt_kql_fail(c, t, "expected '%s', got '%s'", text, t->kind == LT_TK_END ? "end of query" : t->text);
}

const char *lt_kql_ident(lt_kc *c, const char *what)
{
    const lt_kql_token *t = lt_kql_tok(c);
    if (t->kind != LT_TK_IDENT || t->text[0] == '!')
        lt_kql_fail(c, t, "expected %s, got '%s'", what, t->kind == LT_TK_END ? "end of query" : t->text);
    c->pos++;
    return t->text;
}

const char *lt_kql_quote(lt_kc *c, const char *name)
{
    char *q = sqlite3_mprintf("\"%w\"", name);
    const char *s = lt_kql_fmt(c, "%s", q ? q : "\"\"");
    sqlite3_free(q);
    return s;
}

const lt_kcol *lt_kql_find(const lt_kcols *cols, const char *name)
{
    for (int i = 0; i < cols->n; i++) if (!strcmp(cols->v[i].name, name)) return &cols->v[i];
    return NULL;
}

/* ---- stages and column lists ---- */

static void lt_kc_stage(lt_kc *c, const char *sql, lt_kcols cols)
{
    const char *name = lt_kql_fmt(c, "s%d", c->nstage++);
    c->ctes = c->ctes ? lt_kql_fmt(c, "%s,\n%s AS (%s)", c->ctes, name, sql) : lt_kql_fmt(c, "%s AS (%s)", name, sql);
    c->stage = name;
    c->cur = cols;
}

static lt_kcols lt_kc_cols_new(lt_kc *c, int cap)
{
    lt_kcols k = {lt_kql_alloc(c, (size_t)(cap + 1) * sizeof(lt_kcol)), 0};
    return k;
}

/* Adds a column; a later column of the same name replaces the earlier. */
static int lt_kc_cols_add(lt_kcols *k, const char *name, lt_kql_type type)
{
    for (int i = 0; i < k->n; i++)
        if (!strcmp(k->v[i].name, name)) { k->v[i].type = type; return i; }
    k->v[k->n].name = name;
    k->v[k->n].type = type;
    return k->n++;
}

/* `Name = expr` or `expr`: returns the explicit name or NULL. */
static const char *lt_kc_item_name(lt_kc *c)
{
    const lt_kql_token *t = lt_kql_tok(c), *n = lt_kql_peek(c, 1);
    if (t->kind == LT_TK_IDENT && n->kind == LT_TK_PUNCT && !strcmp(n->text, "=")) {
        c->pos += 2;
        return t->text;
    }
    return NULL;
}

static void lt_kc_tabular(lt_kc *c);
static void lt_kc_source(lt_kc *c);

static int lt_kc_at_pipe_end(lt_kc *c)
{
    return lt_kql_is(c, "|") || lt_kql_is(c, ";") || lt_kql_is(c, ")") || lt_kql_tok(c)->kind == LT_TK_END;
}

/* ---- operators ---- */

static void lt_kc_where(lt_kc *c)
{
    const lt_kql_token *t = lt_kql_tok(c);
    lt_kex e = lt_kql_expr_parse(c);
    const lt_kql_token *x = lt_kql_tok(c);
    if (!lt_kc_at_pipe_end(c)) lt_kql_fail(c, x, "unexpected '%s' in where (unsupported operator?)", x->text);
    if (e.type != LT_KQL_BOOL && e.type != LT_KQL_DYNAMIC)
        lt_kql_fail(c, t, "where needs a bool expression, got a %s", lt_kql_type_name(e.type));
    lt_kc_stage(c, lt_kql_fmt(c, "SELECT * FROM %s WHERE %s", c->stage, e.sql), c->cur);
}

static void lt_kc_project(lt_kc *c, int extend)
{
    lt_kcols out = lt_kc_cols_new(c, c->cur.n + 64);
    const char **sql = lt_kql_alloc(c, (size_t)(c->cur.n + 65) * sizeof *sql);
    int ncol = 0;
    if (extend)
        for (int i = 0; i < c->cur.n; i++) {
            lt_kc_cols_add(&out, c->cur.v[i].name, c->cur.v[i].type);
            sql[i] = lt_kql_quote(c, c->cur.v[i].name);
        }
    do {
        if (out.n >= c->cur.n + 64) lt_kql_fail(c, lt_kql_tok(c), "too many columns");
        const lt_kql_token *t = lt_kql_tok(c);
        const char *name = lt_kc_item_name(c);
        lt_kex e = lt_kql_expr_parse(c);
        if (!name) name = lt_kql_expr_name(c, e, NULL, &ncol);
        int i = lt_kc_cols_add(&out, name, e.type);
        if (!extend && sql[i]) lt_kql_fail(c, t, "column '%s' projected twice", name);
        sql[i] = e.sql;
    } while (lt_kql_accept(c, ","));
    const char *list = NULL;
    for (int i = 0; i < out.n; i++) {
        const char *item = lt_kql_fmt(c, "%s AS %s", sql[i], lt_kql_quote(c, out.v[i].name));
        list = list ? lt_kql_fmt(c, "%s, %s", list, item) : item;
    }
    lt_kc_stage(c, lt_kql_fmt(c, "SELECT %s FROM %s", list, c->stage), out);
}

static const char *lt_kc_col_list(lt_kc *c, const lt_kcols *k, const char *qual)
{
    const char *list = NULL;
    for (int i = 0; i < k->n; i++) {
        const char *q = lt_kql_fmt(c, "%s%s", qual ? qual : "", lt_kql_quote(c, k->v[i].name));
        list = list ? lt_kql_fmt(c, "%s, %s", list, q) : q;
    }
    return list ? list : "NULL";
}

static void lt_kc_project_away(lt_kc *c)
{
    lt_kcols out = lt_kc_cols_new(c, c->cur.n);
    char *drop = lt_kql_alloc(c, (size_t)c->cur.n + 1);
    do {
        const lt_kql_token *t = lt_kql_tok(c);
        const char *name = lt_kql_ident(c, "a column name");
        const lt_kcol *col = lt_kql_find(&c->cur, name);
        if (!col) lt_kql_fail(c, t, "unknown column '%s'", name);
        drop[col - c->cur.v] = 1;
    } while (lt_kql_accept(c, ","));
    for (int i = 0; i < c->cur.n; i++) if (!drop[i]) lt_kc_cols_add(&out, c->cur.v[i].name, c->cur.v[i].type);
    lt_kc_stage(c, lt_kql_fmt(c, "SELECT %s FROM %s", lt_kc_col_list(c, &out, NULL), c->stage), out);
}

/* order by / sort by: returns the ORDER BY list. */
static const char *lt_kc_order_list(lt_kc *c)
{
    const char *list = NULL;
    do {
        lt_kex e = lt_kql_expr_parse(c);
        const char *dir = "DESC";
        if (lt_kql_accept(c, "asc")) dir = "ASC";
        else lt_kql_accept(c, "desc");
        const char *nulls = "";
        if (lt_kql_accept(c, "nulls")) {
            if (lt_kql_accept(c, "first")) nulls = " NULLS FIRST";
            else { lt_kql_expect(c, "last"); nulls = " NULLS LAST"; }
        }
        const char *item = lt_kql_fmt(c, "%s %s%s", e.sql, dir, nulls);
        list = list ? lt_kql_fmt(c, "%s, %s", list, item) : item;
    } while (lt_kql_accept(c, ","));
    return list;
}

static long long lt_kc_count_arg(lt_kc *c)
{
    const lt_kql_token *t = lt_kql_tok(c);
    if (t->kind != LT_TK_INT || t->ival < 0) lt_kql_fail(c, t, "expected a row count");
    c->pos++;
    return t->ival;
}

static void lt_kc_order(lt_kc *c)
{
    lt_kql_expect(c, "by");
    lt_kc_stage(c, lt_kql_fmt(c, "SELECT * FROM %s ORDER BY %s", c->stage, lt_kc_order_list(c)), c->cur);
}

static void lt_kc_top(lt_kc *c)
{
    long long n = lt_kc_count_arg(c);
    lt_kql_expect(c, "by");
    lt_kc_stage(c, lt_kql_fmt(c, "SELECT * FROM %s ORDER BY %s LIMIT %lld", c->stage, lt_kc_order_list(c), n), c->cur);
}

static void lt_kc_take(lt_kc *c)
{
    long long n = lt_kc_count_arg(c);
    lt_kc_stage(c, lt_kql_fmt(c, "SELECT * FROM %s LIMIT %lld", c->stage, n), c->cur);
}

static void lt_kc_distinct(lt_kc *c)
{
    if (lt_kql_accept(c, "*")) {
        lt_kc_stage(c, lt_kql_fmt(c, "SELECT DISTINCT * FROM %s", c->stage), c->cur);
        return;
    }
    lt_kcols out = lt_kc_cols_new(c, c->cur.n);
    do {
        const lt_kql_token *t = lt_kql_tok(c);
        const lt_kcol *col = lt_kql_find(&c->cur, lt_kql_ident(c, "a column name"));
        if (!col) lt_kql_fail(c, t, "unknown column '%s'", t->text);
        lt_kc_cols_add(&out, col->name, col->type);
    } while (lt_kql_accept(c, ","));
    lt_kc_stage(c, lt_kql_fmt(c, "SELECT DISTINCT %s FROM %s", lt_kc_col_list(c, &out, NULL), c->stage), out);
}

static void lt_kc_count_op(lt_kc *c)
{
    lt_kcols out = lt_kc_cols_new(c, 1);
    lt_kc_cols_add(&out, "Count", LT_KQL_LONG);
    lt_kc_stage(c, lt_kql_fmt(c, "SELECT count(*) AS \"Count\" FROM %s", c->stage), out);
}

/* ---- summarize ---- */

typedef struct lt_kitem { const char *name, *sql; lt_kql_type type; } lt_kitem;

typedef struct lt_kargmax {
    const lt_kql_token *tok;
    lt_kex by;
    const char *by_name;
    int star;
    lt_kcols cols;
} lt_kargmax;

static void lt_kc_argmax_parse(lt_kc *c, lt_kargmax *am)
{
    am->tok = lt_kql_tok(c);
    c->pos++;
    lt_kql_expect(c, "(");
    am->by = lt_kql_expr_parse(c);
    int plain = am->by.col && !strcmp(am->by.sql, lt_kql_quote(c, am->by.col));
    am->by_name = plain ? am->by.col : lt_kql_expr_name(c, am->by, am->tok->text[5] == 'a' ? "max" : "min", NULL);
    am->cols = lt_kc_cols_new(c, c->cur.n);
    while (lt_kql_accept(c, ",")) {
        if (lt_kql_accept(c, "*")) { am->star = 1; continue; }
        const lt_kql_token *t = lt_kql_tok(c);
        const lt_kcol *col = lt_kql_find(&c->cur, lt_kql_ident(c, "a column name or *"));
        if (!col) lt_kql_fail(c, t, "unknown column '%s'", t->text);
        lt_kc_cols_add(&am->cols, col->name, col->type);
    }
    lt_kql_expect(c, ")");
}

/* percentiles(x, 50, 95, ...): one column per percentage. */
static int lt_kc_percentiles(lt_kc *c, lt_kitem *aggs, int na)
{
    const lt_kql_token *t = lt_kql_tok(c);
    c->pos++;
    lt_kql_expect(c, "(");
    lt_kex x = lt_kql_expr_parse(c);
    if (x.type == LT_KQL_STRING || x.type == LT_KQL_DYNAMIC || x.type == LT_KQL_BOOL)
        lt_kql_fail(c, t, "percentiles() of a %s", lt_kql_type_name(x.type));
    while (lt_kql_accept(c, ",")) {
        const lt_kql_token *p = lt_kql_tok(c);
        if ((p->kind != LT_TK_INT && p->kind != LT_TK_REAL) || na >= 63) lt_kql_fail(c, p, "expected a percentage");
        c->pos++;
        char pn[32];
        snprintf(pn, sizeof pn, "%s", p->text);
        for (char *d = pn; *d; d++) if (*d == '.') *d = '_';
        aggs[na].name = lt_kql_fmt(c, "percentile_%s_%s", x.col ? x.col : "", pn);
        aggs[na].sql = lt_kql_fmt(c, "kql_percentile(%s, %s)", x.sql, p->text);
        aggs[na++].type = x.type;
    }
    lt_kql_expect(c, ")");
    c->agg_seen++;
    return na;
}

static lt_kitem lt_kc_agg_item(lt_kc *c, const char *name)
{
    const lt_kql_token *t = lt_kql_tok(c);
    int seen = c->agg_seen;
    c->agg_ok = 1;
    lt_kex e = lt_kql_expr_parse(c);
    c->agg_ok = 0;
    if (c->agg_seen == seen) lt_kql_fail(c, t, "summarize needs an aggregate (count(), sum(), ...) here");
    if (!name) {
        int call = t->kind == LT_TK_IDENT && t[1].kind == LT_TK_PUNCT && !strcmp(t[1].text, "(");
        name = call ? lt_kql_expr_name(c, e, lt_kql_expr_agg_prefix(t->text), NULL)
                    : lt_kql_fmt(c, "Column%d", c->agg_seen);
        if (call && !strcmp(t->text, "percentile")) name = lt_kql_fmt(c, "%s_%s", name, c->tk.v[c->pos - 2].text);
    }
    lt_kitem it = {name, e.sql, e.type};
    return it;
}

static const char *lt_kc_argmax_sql(lt_kc *c, lt_kargmax *am, const char *keys, const char *part, lt_kcols *out)
{
    const char *cols = lt_kql_fmt(c, "%s AS %s", am->by.sql, lt_kql_quote(c, am->by_name));
    lt_kc_cols_add(out, am->by_name, am->by.type);
    for (int i = 0; i < c->cur.n; i++) {
        const lt_kcol *col = &c->cur.v[i];
        if (!am->star && !lt_kql_find(&am->cols, col->name)) continue;
        if (lt_kql_find(out, col->name)) continue;
        lt_kc_cols_add(out, col->name, col->type);
        cols = lt_kql_fmt(c, "%s, %s", cols, lt_kql_quote(c, col->name));
    }
    const char *dir = am->tok->text[5] == 'a' ? "DESC" : "ASC";
    return lt_kql_fmt(c, "SELECT %s%s%s FROM (SELECT *, row_number() OVER (%s%s ORDER BY %s %s) AS kql_rn FROM %s) "
                        "WHERE kql_rn = 1",
                     keys ? keys : "", keys ? ", " : "", cols, part ? "PARTITION BY " : "", part ? part : "",
                     am->by.sql, dir, c->stage);
}

/* The aggregates before `by`; an arg_max/arg_min goes to am instead. */
static int lt_kc_summarize_aggs(lt_kc *c, lt_kitem *aggs, lt_kargmax *am)
{
    int na = 0;
    while (!lt_kql_is(c, "by") && !lt_kc_at_pipe_end(c)) {
        if (na >= 63) lt_kql_fail(c, lt_kql_tok(c), "too many aggregates");
        const char *name = lt_kc_item_name(c);
        const lt_kql_token *t = lt_kql_tok(c);
        int call = t->kind == LT_TK_IDENT && lt_kql_peek(c, 1)->kind == LT_TK_PUNCT && !strcmp(lt_kql_peek(c, 1)->text, "(");
        if (call && (!strcmp(t->text, "arg_max") || !strcmp(t->text, "arg_min"))) {
            if (am->tok || name) lt_kql_fail(c, t, "one unnamed arg_max/arg_min per summarize is supported");
            lt_kc_argmax_parse(c, am);
        } else if (call && !strcmp(t->text, "percentiles")) {
            if (name) lt_kql_fail(c, t, "named percentiles() is not supported; use percentile()");
            na = lt_kc_percentiles(c, aggs, na);
        } else aggs[na++] = lt_kc_agg_item(c, name);
        if (!lt_kql_accept(c, ",")) break;
    }
    if (am->tok && na) lt_kql_fail(c, am->tok, "arg_max/arg_min together with other aggregates is not supported");
    return na;
}

static int lt_kc_summarize_keys(lt_kc *c, lt_kitem *keys)
{
    int nk = 0, ncol = 0;
    if (lt_kql_accept(c, "by")) do {
        if (nk >= 63) lt_kql_fail(c, lt_kql_tok(c), "too many keys");
        const char *name = lt_kc_item_name(c);
        lt_kex e = lt_kql_expr_parse(c);
        keys[nk].name = name ? name : lt_kql_expr_name(c, e, NULL, &ncol);
        keys[nk].sql = e.sql;
        keys[nk++].type = e.type;
    } while (lt_kql_accept(c, ","));
    return nk;
}

/* Adds items to the result columns and to an SQL select list. */
static const char *lt_kc_select_items(lt_kc *c, const lt_kql_token *at, const lt_kitem *it, int n, lt_kcols *out,
                                      const char *list)
{
    for (int i = 0; i < n; i++) {
        if (lt_kql_find(out, it[i].name)) lt_kql_fail(c, at, "duplicate result column '%s'", it[i].name);
        lt_kc_cols_add(out, it[i].name, it[i].type);
        const char *item = lt_kql_fmt(c, "%s AS %s", it[i].sql, lt_kql_quote(c, it[i].name));
        list = list ? lt_kql_fmt(c, "%s, %s", list, item) : item;
    }
    return list;
}

static void lt_kc_summarize(lt_kc *c)
{
    lt_kitem aggs[64] = {{0}}, keys[64] = {{0}};
    lt_kargmax am = {0};
    const lt_kql_token *start = lt_kql_tok(c);
    int na = lt_kc_summarize_aggs(c, aggs, &am), nk = lt_kc_summarize_keys(c, keys);
    if (!na && !nk && !am.tok) lt_kql_fail(c, start, "summarize needs aggregates or by keys");
    lt_kcols out = lt_kc_cols_new(c, na + nk + c->cur.n + 1);
    const char *klist = lt_kc_select_items(c, start, keys, nk, &out, NULL), *group = NULL;
    for (int i = 0; i < nk; i++) group = group ? lt_kql_fmt(c, "%s, %s", group, keys[i].sql) : keys[i].sql;
    if (am.tok) { lt_kc_stage(c, lt_kc_argmax_sql(c, &am, klist, group, &out), out); return; }
    const char *list = lt_kc_select_items(c, start, aggs, na, &out, klist);
    lt_kc_stage(c, lt_kql_fmt(c, "SELECT %s FROM %s%s%s", list, c->stage, group ? " GROUP BY " : "", group ? group : ""),
                out);
}

/* ---- join ---- */

static const char *lt_kc_join_kind(lt_kc *c)
{
    const lt_kql_token *t = lt_kql_tok(c);
    if (!lt_kql_accept(c, "kind"))
        lt_kql_fail(c, t, "join without kind= (innerunique) is not supported; write kind=inner or kind=leftouter");
    lt_kql_expect(c, "=");
    t = lt_kql_tok(c);
    const char *k = lt_kql_ident(c, "a join kind");
    if (!strcmp(k, "inner")) return "JOIN";
    if (!strcmp(k, "leftouter")) return "LEFT JOIN";
    lt_kql_fail(c, t, "join kind=%s is not supported (inner, leftouter)", k);
}

static const char *lt_kc_join_side(lt_kc *c, const char *side, const lt_kcols *cols)
{
    lt_kql_expect(c, "$");
    lt_kql_expect(c, side);
    lt_kql_expect(c, ".");
    const lt_kql_token *t = lt_kql_tok(c);
    const char *name = lt_kql_ident(c, "a column name");
    if (!lt_kql_find(cols, name)) lt_kql_fail(c, t, "unknown column '%s' on the %s side", name, side);
    return lt_kql_fmt(c, "%c.%s", side[0] == 'l' ? 'l' : 'r', lt_kql_quote(c, name));
}

static const char *lt_kc_join_on(lt_kc *c, const lt_kcols *lc, const lt_kcols *rc)
{
    const char *on = NULL, *cond;
    lt_kql_expect(c, "on");
    do {
        const lt_kql_token *t = lt_kql_tok(c);
        if (lt_kql_is(c, "$")) {
            const char *l = lt_kc_join_side(c, "left", lc);
            lt_kql_expect(c, "==");
            cond = lt_kql_fmt(c, "%s = %s", l, lt_kc_join_side(c, "right", rc));
        } else {
            const char *name = lt_kql_ident(c, "a key column");
            if (!lt_kql_find(lc, name) || !lt_kql_find(rc, name))
                lt_kql_fail(c, t, "join key '%s' must be a column of both sides", name);
            const char *q = lt_kql_quote(c, name);
            cond = lt_kql_fmt(c, "l.%s = r.%s", q, q);
        }
        on = on ? lt_kql_fmt(c, "%s AND %s", on, cond) : cond;
    } while (lt_kql_accept(c, ",") || lt_kql_accept(c, "and"));
    return on;
}

static void lt_kc_join(lt_kc *c)
{
    const char *kind = lt_kc_join_kind(c);
    const char *lstage = c->stage;
    lt_kcols lc = c->cur;
    lt_kc_source(c);
    const char *rstage = c->stage;
    lt_kcols rc = c->cur;
    c->stage = lstage;
    c->cur = lc;
    const char *on = lt_kc_join_on(c, &lc, &rc);
    lt_kcols out = lt_kc_cols_new(c, lc.n + rc.n);
    const char *list = lt_kc_col_list(c, &lc, "l.");
    for (int i = 0; i < lc.n; i++) lt_kc_cols_add(&out, lc.v[i].name, lc.v[i].type);
    for (int i = 0; i < rc.n; i++) {
        const char *name = rc.v[i].name;
        for (int k = 1; lt_kql_find(&out, name); k++) name = lt_kql_fmt(c, "%s%d", rc.v[i].name, k);
        lt_kc_cols_add(&out, name, rc.v[i].type);
        list = lt_kql_fmt(c, "%s, r.%s AS %s", list, lt_kql_quote(c, rc.v[i].name), lt_kql_quote(c, name));
    }
    lt_kc_stage(c, lt_kql_fmt(c, "SELECT %s FROM %s AS l %s %s AS r ON %s", list, lstage, kind, rstage, on), out);
}

static void lt_kc_operator(lt_kc *c)
{
    const lt_kql_token *t = lt_kql_tok(c);
    const char *op = lt_kql_ident(c, "an operator");
    if (!strcmp(op, "project") && lt_kql_is(c, "-") && lt_kql_peek(c, 1)->kind == LT_TK_IDENT &&
        !strcmp(lt_kql_peek(c, 1)->text, "away") && lt_kql_peek(c, 1)->start == lt_kql_tok(c)->start + 1) {
        c->pos += 2;
        lt_kc_project_away(c);
    } else if (!strcmp(op, "where") || !strcmp(op, "filter")) lt_kc_where(c);
    else if (!strcmp(op, "project")) lt_kc_project(c, 0);
    else if (!strcmp(op, "extend")) lt_kc_project(c, 1);
    else if (!strcmp(op, "summarize")) lt_kc_summarize(c);
    else if (!strcmp(op, "order") || !strcmp(op, "sort")) lt_kc_order(c);
    else if (!strcmp(op, "top")) lt_kc_top(c);
    else if (!strcmp(op, "take") || !strcmp(op, "limit")) lt_kc_take(c);
    else if (!strcmp(op, "distinct")) lt_kc_distinct(c);
    else if (!strcmp(op, "count")) lt_kc_count_op(c);
    else if (!strcmp(op, "join")) lt_kc_join(c);
    else if (!strcmp(op, "render")) { while (!lt_kc_at_pipe_end(c)) c->pos++; }
    else lt_kql_fail(c, t, "unsupported operator '%s'", op);
    if (!lt_kc_at_pipe_end(c)) {
        const lt_kql_token *x = lt_kql_tok(c);
        lt_kql_fail(c, x, "unexpected '%s' after %s", x->text, op);
    }
}

/* ---- sources, tabular expressions, statements ---- */

static const lt_klet *lt_kc_let_find(lt_kc *c, const char *name, int tabular)
{
    for (int i = c->nlets - 1; i >= 0; i--)
        if (c->lets[i].tabular == tabular && !strcmp(c->lets[i].name, name)) return &c->lets[i];
    return NULL;
}

static int lt_kc_is_source(lt_kc *c, const lt_kql_token *t)
{
    int tbl;
    lt_kcols cols;
    if (t->kind != LT_TK_IDENT) return 0;
    return lt_kc_let_find(c, t->text, 1) || lt_kql_schema_table(t->text, &tbl, &cols, NULL) == 0 ||
           lt_kql_schema_function(t->text);
}

static void lt_kc_table(lt_kc *c, const lt_kql_token *t)
{
    int tbl;
    lt_kcols cols;
    if (lt_kql_schema_table(t->text, &tbl, &cols, c) < 0) lt_kql_fail(c, t, "unknown table '%s'", t->text);
    const char *list = NULL;
    for (int i = 0; i < cols.n; i++) {
        const char *name = cols.v[i].name, *e;
        const char *path = lt_kql_fmt(c, "'$.%s'", name);
        if (!strcmp(name, "TimeGenerated")) e = "time";
        else if (cols.v[i].type == LT_KQL_DATETIME) e = lt_kql_fmt(c, "kql_todatetime(json ->> %s)", path);
        else if (cols.v[i].type == LT_KQL_DYNAMIC) e = lt_kql_fmt(c, "(json -> %s)", path);
        else e = lt_kql_fmt(c, "(json ->> %s)", path);
        const char *item = lt_kql_fmt(c, "%s AS %s", e, lt_kql_quote(c, name));
        list = list ? lt_kql_fmt(c, "%s, %s", list, item) : item;
    }
    lt_kc_stage(c, lt_kql_fmt(c, "SELECT %s FROM records WHERE tbl = %d", list, tbl), cols);
}

/* A workspace function: its body compiled as a tabular expression here. */
static void lt_kc_function(lt_kc *c, const lt_kql_token *t, const char *body)
{
    if (c->nfn == (int)(sizeof c->fn_tokens / sizeof c->fn_tokens[0])) lt_kql_fail(c, t, "too many function calls");
    char err[256];
    lt_kql_tokens *tk = &c->fn_tokens[c->nfn];
    if (lt_kql_lex_run(body, tk, err, sizeof err) < 0) lt_kql_fail(c, t, "function '%s': %s", t->text, err);
    c->nfn++;
    lt_kql_tokens saved = c->tk;
    int pos = c->pos;
    const char *src = c->src;
    c->tk = *tk;
    c->pos = 0;
    c->src = body;
    lt_kc_tabular(c);
    if (lt_kql_tok(c)->kind != LT_TK_END) lt_kql_fail(c, lt_kql_tok(c), "unexpected '%s' in a function body", lt_kql_tok(c)->text);
    c->tk = saved;
    c->pos = pos;
    c->src = src;
}

static void lt_kc_source(lt_kc *c)
{
    const lt_kql_token *t = lt_kql_tok(c);
    if (lt_kql_accept(c, "(")) {
        lt_kc_tabular(c);
        lt_kql_expect(c, ")");
        return;
    }
    const char *name = lt_kql_ident(c, "a table name");
    const lt_klet *let = lt_kc_let_find(c, name, 1);
    if (let) { c->stage = let->stage; c->cur = let->cols; return; }
    const char *body = lt_kql_schema_function(name);
    if (body) { lt_kc_function(c, t, body); return; }
    lt_kc_table(c, t);
}

static void lt_kc_tabular(lt_kc *c)
{
    lt_kc_source(c);
    while (lt_kql_accept(c, "|")) lt_kc_operator(c);
}

static void lt_kc_let(lt_kc *c)
{
    const lt_kql_token *t = lt_kql_tok(c);
    const char *name = lt_kql_ident(c, "a name");
    lt_kql_expect(c, "=");
    if (c->nlets == LT_KC_MAX_LETS) lt_kql_fail(c, t, "too many let statements");
    lt_klet *l = &c->lets[c->nlets];
    l->name = name;
    const lt_kql_token *v = lt_kql_tok(c);
    if (lt_kc_is_source(c, v) || (lt_kql_is(c, "(") && lt_kc_is_source(c, lt_kql_peek(c, 1)))) {
        lt_kc_tabular(c);
        l->tabular = 1;
        l->stage = c->stage;
        l->cols = c->cur;
    } else {
        lt_kcols saved = c->cur;
        c->cur.n = 0;
        l->val = lt_kql_expr_parse(c);
        c->cur = saved;
    }
    c->nlets++;
}

static void lt_kc_query(lt_kc *c)
{
    int have_query = 0;
    while (lt_kql_tok(c)->kind != LT_TK_END) {
        const lt_kql_token *t = lt_kql_tok(c);
        if (lt_kql_accept(c, ";")) continue;
        if (have_query) lt_kql_fail(c, t, "only one query (after its let statements) is supported");
        if (lt_kql_accept(c, "let")) lt_kc_let(c);
        else { lt_kc_tabular(c); have_query = 1; }
        t = lt_kql_tok(c);
        if (t->kind != LT_TK_END && !lt_kql_is(c, ";")) lt_kql_fail(c, t, "unexpected '%s'", t->text);
    }
    if (!have_query) lt_kql_fail(c, lt_kql_tok(c), "no query (only let statements)");
}

static lt_kql *lt_kql_result(lt_kc *c)
{
    lt_kql *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    q->ncols = c->cur.n;
    q->names = calloc((size_t)q->ncols + 1, sizeof *q->names);
    q->types = calloc((size_t)q->ncols + 1, sizeof *q->types);
    if (asprintf(&q->sql, "WITH %s\nSELECT * FROM %s", c->ctes, c->stage) < 0) q->sql = NULL;
    int ok = q->names && q->types && q->sql;
    for (int i = 0; ok && i < q->ncols; i++) {
        q->names[i] = strdup(c->cur.v[i].name);
        q->types[i] = c->cur.v[i].type;
        ok = q->names[i] != NULL;
    }
    if (!ok) { lt_kql_destroy(q); return NULL; }
    return q;
}

lt_kql *lt_kql_compile(const char *src, lt_time_us now_us, char *err, size_t errlen)
{
    lt_kc *volatile c = calloc(1, sizeof *c);
    if (!c) { snprintf(err, errlen, "out of memory"); return NULL; }
    c->src = src;
    c->now = now_us;
    c->err = err;
    c->errlen = errlen;
    lt_kql *volatile q = NULL;   /* set between setjmp and a possible longjmp */
    lt_kql_tokens orig;
    if (lt_kql_lex_run(src, &orig, err, errlen) == 0) {
        c->tk = orig;
        if (setjmp(c->jb) == 0) {
            lt_kc_query(c);
            q = lt_kql_result(c);
            if (!q) snprintf(err, errlen, "out of memory");
        }
        lt_kql_lex_free(&orig);
    }
    for (int i = 0; i < c->nfn; i++) lt_kql_lex_free(&c->fn_tokens[i]);
    for (int i = 0; i < c->nkeep; i++) free(c->keep[i]);
    free(c->keep);
    free(c);
    return q;
}

void lt_kql_destroy(lt_kql *q)
{
    if (!q) return;
    for (int i = 0; q->names && i < q->ncols; i++) free(q->names[i]);
    free(q->names);
    free(q->types);
    free(q->sql);
    free(q);
}

const char *lt_kql_sql(const lt_kql *q) { return q->sql; }
int lt_kql_ncols(const lt_kql *q) { return q->ncols; }
const char *lt_kql_col_name(const lt_kql *q, int i) { return q->names[i]; }
lt_kql_type lt_kql_col_type(const lt_kql *q, int i) { return q->types[i]; }

const char *lt_kql_type_name(lt_kql_type t)
{
    static const char *const names[] = {"null", "bool", "long", "real", "string", "datetime", "timespan", "dynamic"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}
