/* kql_int.h -- what the KQL compiler's files share inside analytics/: the
 * compiler state (tokens, stages, columns, lets) and the arena every string
 * of a compilation lives in, so an error can longjmp out of any depth of
 * the recursive-descent parser and still free everything. */
#ifndef LT_KQL_INT_H
#define LT_KQL_INT_H

#include <setjmp.h>
#include "kql.h"
#include "kql_lex.h"

typedef struct lt_kcol { const char *name; lt_kql_type type; } lt_kcol;
typedef struct lt_kcols { lt_kcol *v; int n; } lt_kcols;

/* A compiled scalar expression: SQL text, KQL type, the first column it
 * names (for KQL's default result column names). */
typedef struct lt_kex { const char *sql; lt_kql_type type; const char *col; } lt_kex;

typedef struct lt_klet {
    const char *name;
    int tabular;
    const char *stage;      /* tabular: the CTE holding it */
    lt_kcols cols;
    lt_kex val;             /* scalar */
} lt_klet;

#define LT_KC_MAX_LETS 64

typedef struct lt_kc {
    const char *src;
    lt_kql_tokens tk;
    int pos;
    void **keep;            /* arena: every allocation of the compilation */
    int nkeep, capkeep;
    const char *ctes;       /* "s0 AS (...), s1 AS (...)" */
    int nstage;
    const char *stage;      /* current stage name */
    lt_kcols cur;           /* its columns */
    int agg_ok, agg_seen;
    lt_klet lets[LT_KC_MAX_LETS];
    int nlets;
    lt_time_us now;
    lt_kql_tokens fn_tokens[8];   /* bodies of workspace functions compiled in place */
    int nfn;
    jmp_buf jb;
    char *err;
    size_t errlen;
} lt_kc;

/* Arena and errors (kql.c). */
void *lt_kql_alloc(lt_kc *c, size_t n);
const char *lt_kql_fmt(lt_kc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void lt_kql_fail(lt_kc *c, const lt_kql_token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Tokens (kql.c). */
const lt_kql_token *lt_kql_tok(lt_kc *c);
const lt_kql_token *lt_kql_peek(lt_kc *c, int ahead);
int lt_kql_is(lt_kc *c, const char *text);         /* current token is this ident/punct */
int lt_kql_accept(lt_kc *c, const char *text);
void lt_kql_expect(lt_kc *c, const char *text);
const char *lt_kql_ident(lt_kc *c, const char *what);
const char *lt_kql_quote(lt_kc *c, const char *name);   /* "name" for SQL */
const lt_kcol *lt_kql_find(const lt_kcols *cols, const char *name);

/* Expressions (kql_expr.c). */
lt_kex lt_kql_expr_parse(lt_kc *c);
/* Converts an expression to the string KQL's tostring() would give. */
const char *lt_kql_expr_string(lt_kc *c, lt_kex e);
/* Default result column name of an expression ("Column1" when it has none). */
const char *lt_kql_expr_name(lt_kc *c, lt_kex e, const char *prefix, int *ncol);

const char *lt_kql_expr_agg_prefix(const char *fn);

/* SQL functions (kql_fn.c): timespan text like Kusto ([-][d.]hh:mm:ss[.ffffff]). */
void lt_kql_fn_timespan(long long us, char *buf, size_t len);

/* Schema (kql_schema.c): the columns of a table name (with or without _CL). */
int lt_kql_schema_table(const char *name, int *tbl, lt_kcols *cols, lt_kc *c);
/* The KQL body of a workspace function declared in schema.json, or NULL. */
const char *lt_kql_schema_function(const char *name);

#endif
