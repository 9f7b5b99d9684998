/* kql_lex.c -- the KQL tokenizer (see kql_lex.h).
 *
 * KQL's lexical quirks handled here rather than in the parser: timespan
 * literals are a number glued to a unit (1d, 30m, 100ms); `datetime(...)`
 * holds an unquoted ISO date; `!has`, `!in`, `!contains`, ... are single
 * operators; strings are "..." or '...' with backslash escapes, or @"..."
 * verbatim. Comments run from // to the end of the line. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kql_lex.h"

typedef struct lt_lex {
    const char *src, *p;
    int line;
    const char *line_start;
    lt_kql_tokens *out;
    int cap;
    char *err;
    size_t errlen;
} lt_lex;

static int lt_lex_fail(lt_lex *l, const char *at, const char *fmt, ...)
{
    int n = snprintf(l->err, l->errlen, "%d:%d: ", l->line, (int)(at - l->line_start) + 1);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < l->errlen) vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static lt_kql_token *lt_lex_push(lt_lex *l, lt_kql_tk kind, const char *start, size_t len)
{
    if (l->out->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        lt_kql_token *v = realloc(l->out->v, (size_t)cap * sizeof *v);
        if (!v) return NULL;
        l->out->v = v;
        l->cap = cap;
    }
    lt_kql_token *t = &l->out->v[l->out->n++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->start = start;
    t->len = len;
    t->line = l->line;
    t->col = (int)(start - l->line_start) + 1;
    t->text = strndup(start, len);
    return t->text ? t : NULL;
}

static void lt_lex_skip_space(lt_lex *l)
{
    for (;;) {
        if (*l->p == '\n') { l->line++; l->line_start = ++l->p; }
        else if (isspace((unsigned char)*l->p)) l->p++;
        else if (l->p[0] == '/' && l->p[1] == '/') { while (*l->p && *l->p != '\n') l->p++; }
        else return;
    }
}

static int lt_tm_num(const char **s, int digits, int *v)
{
    *v = 0;
    for (int i = 0; i < digits; i++, (*s)++) {
        if (!isdigit((unsigned char)**s)) return -1;
        *v = *v * 10 + (**s - '0');
    }
    return 0;
}

static int lt_lex_tz(const char *s, long long *off_s)
{
    *off_s = 0;
    if (*s == 'Z' || *s == 'z') return s[1] ? -1 : 0;
    if (!*s) return 0;
    if (*s != '+' && *s != '-') return -1;
    int sign = *s == '-' ? -1 : 1, hh, mm;
    s++;
    if (lt_tm_num(&s, 2, &hh) < 0) return -1;
    if (*s == ':') s++;
    if (lt_tm_num(&s, 2, &mm) < 0 || *s) return -1;
    *off_s = sign * (hh * 3600LL + mm * 60LL);
    return 0;
}

int lt_kql_lex_datetime(const char *s, long long *us)
{
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0;
    long long frac = 0, scale = 1000000, off;
    if (lt_tm_num(&s, 4, &y) < 0 || *s++ != '-' || lt_tm_num(&s, 2, &mo) < 0 || *s++ != '-' ||
        lt_tm_num(&s, 2, &d) < 0)
        return -1;
    if (*s == 'T' || *s == ' ') {
        s++;
        if (lt_tm_num(&s, 2, &h) < 0 || *s++ != ':' || lt_tm_num(&s, 2, &mi) < 0) return -1;
        if (*s == ':' && (s++, lt_tm_num(&s, 2, &sec) < 0)) return -1;
        if (*s == '.') {
            for (s++; isdigit((unsigned char)*s); s++)
                if (scale > 1) { scale /= 10; frac += (*s - '0') * scale; }
        }
    }
    if (lt_lex_tz(s, &off) < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
    tm.tm_year = y - 1900; tm.tm_mon = mo - 1; tm.tm_mday = d;
    tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = sec;
    *us = ((long long)timegm(&tm) - off) * 1000000LL + frac;
    return 0;
}

/* Microseconds per unit of a timespan literal; 0 if `u` is not a unit. */
static long long lt_lex_unit(const char *u, size_t n)
{
    static const struct { const char *name; long long us; } units[] = {
        {"d", 86400000000LL}, {"day", 86400000000LL}, {"days", 86400000000LL},
        {"h", 3600000000LL}, {"hr", 3600000000LL}, {"hrs", 3600000000LL}, {"hour", 3600000000LL},
        {"hours", 3600000000LL}, {"m", 60000000LL}, {"min", 60000000LL}, {"minute", 60000000LL},
        {"minutes", 60000000LL}, {"s", 1000000LL}, {"sec", 1000000LL}, {"second", 1000000LL},
        {"seconds", 1000000LL}, {"ms", 1000LL}, {"milli", 1000LL}, {"millis", 1000LL},
        {"millisecond", 1000LL}, {"milliseconds", 1000LL}, {"microsecond", 1LL},
        {"microseconds", 1LL},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == n && !strncmp(units[i].name, u, n)) return units[i].us;
    return 0;
}

static int lt_lex_number(lt_lex *l)
{
    const char *s = l->p;
    char *end;
    double r = strtod(s, &end);
    int is_real = 0;
    for (const char *q = s; q < end; q++) if (*q == '.' || *q == 'e' || *q == 'E') is_real = 1;
    if (end > s + 1 && end[-1] == '.') { end--; is_real = 0; }  /* `1..5` */
    const char *u = end;
    while (isalpha((unsigned char)*u)) u++;
    long long unit = u > end ? lt_lex_unit(end, (size_t)(u - end)) : 0;
    if (u > end && !unit) return lt_lex_fail(l, s, "bad number or timespan '%.*s'", (int)(u - s), s);
    lt_kql_token *t = lt_lex_push(l, unit ? LT_TK_TIMESPAN : is_real ? LT_TK_REAL : LT_TK_INT, s, (size_t)(u - s));
    if (!t) return lt_lex_fail(l, s, "out of memory");
    t->rval = r;
    t->ival = unit ? (long long)(r * (double)unit) : strtoll(s, NULL, 10);
    l->p = u;
    return 0;
}

static int lt_lex_string(lt_lex *l)
{
    const char *s = l->p;
    int verbatim = *s == '@';
    char q = s[verbatim];
    const char *p = s + verbatim + 1;
    size_t cap = strlen(p) + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) return lt_lex_fail(l, s, "out of memory");
    for (;; p++) {
        if (!*p || *p == '\n') { free(buf); return lt_lex_fail(l, s, "unterminated string"); }
        if (*p == q && verbatim && p[1] == q) { buf[n++] = q; p++; continue; }
        if (*p == q) break;
        if (*p == '\\' && !verbatim) {
            p++;
            buf[n++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p;
            if (!*p) { free(buf); return lt_lex_fail(l, s, "unterminated string"); }
            continue;
        }
        buf[n++] = *p;
    }
    buf[n] = 0;
    lt_kql_token *t = lt_lex_push(l, LT_TK_STRING, s, (size_t)(p + 1 - s));
    if (!t) { free(buf); return lt_lex_fail(l, s, "out of memory"); }
    free(t->text);
    t->text = buf;
    l->p = p + 1;
    return 0;
}

/* datetime(2026-11-22T10:00:00Z) or datetime("...") */
static int lt_lex_datetime_lit(lt_lex *l, const char *s)
{
    const char *a = l->p + 1, *b = strchr(a, ')');
    if (!b) return lt_lex_fail(l, s, "unterminated datetime(");
    while (a < b && (isspace((unsigned char)*a) || *a == '"' || *a == '\'')) a++;
    const char *e = b;
    while (e > a && (isspace((unsigned char)e[-1]) || e[-1] == '"' || e[-1] == '\'')) e--;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*s", (int)(e - a), a);
    long long us;
    if (lt_kql_lex_datetime(tmp, &us) < 0) return lt_lex_fail(l, s, "bad datetime literal '%s'", tmp);
    lt_kql_token *t = lt_lex_push(l, LT_TK_DATETIME, s, (size_t)(b + 1 - s));
    if (!t) return lt_lex_fail(l, s, "out of memory");
    t->ival = us;
    l->p = b + 1;
    return 0;
}

static int lt_lex_ident(lt_lex *l)
{
    const char *s = l->p, *p = s + (*s == '!');
    while (isalnum((unsigned char)*p) || *p == '_') p++;
    l->p = p;
    if ((size_t)(p - s) == 8 && !strncmp(s, "datetime", 8) && *p == '(') return lt_lex_datetime_lit(l, s);
    return lt_lex_push(l, LT_TK_IDENT, s, (size_t)(p - s)) ? 0 : lt_lex_fail(l, s, "out of memory");
}

static int lt_lex_punct(lt_lex *l)
{
    static const char *const two[] = {"==", "!=", "<=", ">=", "=~", "!~", "..", "<>"};
    const char *s = l->p;
    for (size_t i = 0; i < sizeof two / sizeof two[0]; i++)
        if (s[0] == two[i][0] && s[1] == two[i][1]) {
            l->p += 2;
            return lt_lex_push(l, LT_TK_PUNCT, s, 2) ? 0 : -1;
        }
    if (!strchr("|(),=<>+-*/%.[];$:{}", *s))
        return lt_lex_fail(l, s, "unexpected character '%c'", *s);
    l->p++;
    return lt_lex_push(l, LT_TK_PUNCT, s, 1) ? 0 : -1;
}

static int lt_lex_one(lt_lex *l)
{
    char c = *l->p, n = l->p[1];
    if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)n))) return lt_lex_number(l);
    if (c == '"' || c == '\'' || (c == '@' && (n == '"' || n == '\''))) return lt_lex_string(l);
    if (isalpha((unsigned char)c) || c == '_' || (c == '!' && isalpha((unsigned char)n))) return lt_lex_ident(l);
    return lt_lex_punct(l);
}

int lt_kql_lex_run(const char *src, lt_kql_tokens *out, char *err, size_t errlen)
{
    lt_lex l = {.src = src, .p = src, .line = 1, .line_start = src, .out = out, .err = err, .errlen = errlen};
    out->v = NULL;
    out->n = 0;
    for (;;) {
        lt_lex_skip_space(&l);
        if (!*l.p) break;
        if (lt_lex_one(&l) < 0) { lt_kql_lex_free(out); return -1; }
    }
    if (!lt_lex_push(&l, LT_TK_END, l.p, 0)) { lt_kql_lex_free(out); return -1; }
    return 0;
}

void lt_kql_lex_free(lt_kql_tokens *t)
{
    for (int i = 0; i < t->n; i++) free(t->v[i].text);
    free(t->v);
    t->v = NULL;
    t->n = 0;
}
