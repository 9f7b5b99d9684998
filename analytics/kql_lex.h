/* kql_lex.h -- the KQL tokenizer: the whole query becomes an array of tokens
 * first, so the parser can look ahead freely and every error can point at a
 * token's line and column. Internal to analytics/. */
#ifndef LT_KQL_LEX_H
#define LT_KQL_LEX_H

#include <stddef.h>

typedef enum lt_kql_tk {
    LT_TK_END, LT_TK_IDENT, LT_TK_INT, LT_TK_REAL, LT_TK_STRING, LT_TK_TIMESPAN,
    LT_TK_DATETIME, LT_TK_PUNCT,
} lt_kql_tk;

typedef struct lt_kql_token {
    lt_kql_tk kind;
    const char *start;  /* into the source */
    size_t len;
    int line, col;
    char *text;         /* identifier / decoded string / punctuation, NUL-terminated (owned) */
    long long ival;     /* INT; TIMESPAN and DATETIME in microseconds */
    double rval;        /* REAL */
} lt_kql_token;

typedef struct lt_kql_tokens {
    lt_kql_token *v;
    int n;
} lt_kql_tokens;

/* 0 ok; -1 with a message "line:col: reason" in err. */
int lt_kql_lex_run(const char *src, lt_kql_tokens *out, char *err, size_t errlen);
void lt_kql_lex_free(lt_kql_tokens *t);
/* Parses an ISO 8601 date/time (date only, 'T' or space, optional fraction
 * and Z/offset) into microseconds since the epoch. 0 ok, -1 not a date. */
int lt_kql_lex_datetime(const char *s, long long *us);

#endif
