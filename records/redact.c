/* redact.c -- secrets out of records (see redact.h).
 *
 * Three text rules run over every string of a record, because a secret can
 * land in any column (Url, a header, a raw body, an error message):
 *   1. every exact occurrence of a secret value collected from the request
 *      (at least min_echo bytes, so short values cannot blank out text);
 *   2. "name=value" where name is a secret parameter (query strings, form
 *      bodies, text quoting them): the value up to & ; # space or quote;
 *   3. "name": "value" where name is a secret JSON field (raw JSON bodies
 *      kept as text).
 * Object members named like a secret header or field are replaced whole.
 * Values already in the "fp:" form are left alone, so the pass can run on
 * anything twice. Finally NUL becomes U+FFFD: jansson refuses "\u0000" on
 * load unless told otherwise, and a record must load wherever it goes.
 *
 * Header choice: api-key, Authorization, Proxy-Authorization,
 * Ocp-Apim-Subscription-Key, X-Api-Key and X-Functions-Key carry
 * credentials; Cookie and Set-Cookie carry session tokens that work like
 * them, so they are fingerprinted too (a fingerprint still lets two calls be
 * matched). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "../common/lt.h"
#include "record.h"
#include "../common/jtext.h"
#include "redact.h"

const char *const lt_redact_default_headers[] = {
    "api-key", "authorization", "proxy-authorization", "ocp-apim-subscription-key", "x-api-key",
    "x-functions-key", "cookie", "set-cookie", NULL,
};
const char *const lt_redact_default_params[] = {
    "api-key", "api_key", "apikey", "subscription-key", "subscription_key", "key", "x-api-key", "sig",
    "code", "token", "access_token", "id_token", "refresh_token", "client_secret", "client_assertion",
    "password", "secret", NULL,
};
const char *const lt_redact_default_fields[] = {
    "api-key", "api_key", "apikey", "subscription-key", "subscription_key", "x-api-key", "token",
    "access_token", "id_token", "refresh_token", "client_secret", "client_assertion", "password",
    "secret", NULL,
};
/* Parameters that are the caller's key (KeyFingerprint when no header). */
static const char *const lt_rd_key_params[] = {
    "api-key", "api_key", "apikey", "subscription-key", "subscription_key", "key", "x-api-key", NULL,
};

#define LT_RD_MAX 64 /* secrets kept per exchange */

struct lt_redact_set {
    char *val[LT_RD_MAX];
    uint32_t len[LT_RD_MAX]; /* strlen(val[i]) (a header or body value: under 4 GiB), kept so the
                              * record pass does not count it per string */
    size_t n;
    char *query_key;
    int incomplete;          /* memory ran out while collecting: a secret may be missing */
};

void lt_redact_cfg_defaults(lt_redact_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->headers = lt_redact_default_headers;
    cfg->params = lt_redact_default_params;
    cfg->fields = lt_redact_default_fields;
    cfg->min_echo = 8;
}

static const lt_redact_cfg *lt_rd_cfg(const lt_redact_cfg *cfg, lt_redact_cfg *tmp)
{
    if (cfg) return cfg;
    lt_redact_cfg_defaults(tmp);
    return tmp;
}

/* The (length, first byte) pairs of the built-in lists, so that most names
 * asked about (record columns, headers, JSON keys) are answered without
 * walking a list: a name with a length and first byte (in either case) that
 * no listed name has is not listed. */
typedef struct lt_rd_sig {
    const char *const *list;
    uint64_t first[64][4];  /* [n][c / 64] bit c % 64: a name of n bytes (63: 63 or more) starting with c */
} lt_rd_sig;

static lt_rd_sig lt_rd_sigs[4]; /* headers, params, fields; [3]: headers or fields (a member name) */
static pthread_once_t lt_rd_sigs_once = PTHREAD_ONCE_INIT;
static int lt_rd_sigs_ready; /* set (release) at the end of lt_rd_sigs_init: pthread_once is skipped after */

static void lt_rd_sigs_init(void)
{
    const char *const *lists[3] = {lt_redact_default_headers, lt_redact_default_params, lt_redact_default_fields};
    for (int i = 0; i < 3; i++) {
        lt_rd_sig *g = &lt_rd_sigs[i];
        g->list = lists[i];
        for (const char *const *l = lists[i]; *l; l++) {
            size_t n = strlen(*l);
            unsigned char c = (unsigned char)**l;
            uint64_t *f = g->first[n < 63 ? n : 63];
            f[c >> 6] |= 1ull << (c & 63);
            c ^= (unsigned char)(((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ? 0x20 : 0);
            f[c >> 6] |= 1ull << (c & 63);
        }
    }
    for (int n = 0; n < 64; n++)
        for (int w = 0; w < 4; w++) lt_rd_sigs[3].first[n][w] = lt_rd_sigs[0].first[n][w] | lt_rd_sigs[2].first[n][w];
    __atomic_store_n(&lt_rd_sigs_ready, 1, __ATOMIC_RELEASE);
}

/* 1 when the signature of a built-in list rules the name out. */
static inline int lt_rd_sig_excludes(const char *const *list, const char *name, size_t n)
{
    int i = list == lt_redact_default_fields ? 2 : list == lt_redact_default_headers ? 0
          : list == lt_redact_default_params ? 1 : -1;
    if (i < 0) return 0;
    if (!__atomic_load_n(&lt_rd_sigs_ready, __ATOMIC_ACQUIRE)) pthread_once(&lt_rd_sigs_once, lt_rd_sigs_init);
    unsigned char c = n ? (unsigned char)*name : 0; /* an empty listed name is entered with byte 0 */
    return !(lt_rd_sigs[i].first[n < 63 ? n : 63][c >> 6] >> (c & 63) & 1);
}

/* The first bytes are compared before anything else: two bytes that differ
 * in more than the 0x20 bit are different letters for strncasecmp too, and
 * most names asked about (record columns, headers) differ from every listed
 * one there. */
static int lt_rd_listed_walk(const char *const *list, const char *name, size_t n)
{
    for (; list && *list; list++)
        if ((!n || ((**list ^ *name) & ~0x20) == 0) && strlen(*list) == n && !strncasecmp(*list, name, n)) return 1;
    return 0;
}

/* The signature check inline (most names stop there), the walk called. */
static inline int lt_rd_listed(const char *const *list, const char *name, size_t n)
{
    return !lt_rd_sig_excludes(list, name, n) && lt_rd_listed_walk(list, name, n);
}

static int lt_rd_in(char *const *extra, size_t n_extra, const char *name, size_t n)
{
    for (size_t i = 0; i < n_extra; i++)
        if (strlen(extra[i]) == n && !strncasecmp(extra[i], name, n)) return 1;
    return 0;
}

/* A name of the list (NULL: the built-in one) or of the configured names,
 * which only add to it. */
static int lt_rd_header(const lt_redact_cfg *c, const char *name, size_t n)
{
    return lt_rd_listed(c->headers ? c->headers : lt_redact_default_headers, name, n) ||
           lt_rd_in(c->extra_headers, c->n_extra_headers, name, n);
}

static int lt_rd_param(const lt_redact_cfg *c, const char *name, size_t n)
{
    return lt_rd_listed(c->params ? c->params : lt_redact_default_params, name, n) ||
           lt_rd_in(c->extra_params, c->n_extra_params, name, n);
}

static int lt_rd_field(const lt_redact_cfg *c, const char *name, size_t n)
{
    return lt_rd_listed(c->fields ? c->fields : lt_redact_default_fields, name, n) ||
           lt_rd_in(c->extra_fields, c->n_extra_fields, name, n);
}

/* "fp:" + the fingerprint of n bytes at v. */
/* The fingerprint of v[0, n) up to a NUL in it (what a copy by strndup
 * hashed), without a copy: a failed one gave every secret the fingerprint of
 * "" when memory ran out (test_oom). */
static void lt_rd_fp(const char *v, size_t n, char out[16])
{
    char fp[13];
    lt_fingerprintn(v, strnlen(v, n), fp);
    memcpy(out, "fp:", 3);
    memcpy(out + 3, fp, 13);
}

static int lt_rd_is_fp(const char *v, size_t n) { return n >= 3 && !memcmp(v, "fp:", 3); }

/* ---- collecting ------------------------------------------------------------ */

static void lt_rd_add(lt_redact_set *s, const char *v, size_t n)
{
    if (!n || lt_rd_is_fp(v, n) || s->n == LT_RD_MAX) return;
    for (size_t i = 0; i < s->n; i++)
        if (s->len[i] == n && !memcmp(s->val[i], v, n)) return;
    char *c = strndup(v, n);
    if (!c) { s->incomplete = 1; return; }
    s->len[s->n] = (uint32_t)strlen(c); /* strndup stops at a NUL inside v */
    s->val[s->n++] = c;
}

static int lt_rd_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

static int lt_rd_value_end(char c)
{
    return c == '&' || c == ';' || c == '#' || c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
           c == '"' || c == '\'' || c == '<' || c == '>' || c == 0;
}

/* Calls fn for every "name=value" with a listed name in s[0, n). A name
 * starts the string or follows ? & ; whitespace or a quote. */
typedef void (*lt_rd_param_fn)(void *ud, const char *name, size_t nlen, size_t voff, size_t vlen);

static int lt_rd_param_start(unsigned char c)
{
    return c == '?' || c == '&' || c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' ||
           c == '\'' || c == 0;
}

static void lt_rd_params(const lt_redact_cfg *cfg, const char *s, size_t n, lt_rd_param_fn fn, void *ud)
{
    for (size_t i = 0; i < n; i++) {
        if (i && !lt_rd_param_start((unsigned char)s[i - 1])) continue;
        size_t k = i;
        while (k < n && lt_rd_name_char(s[k])) k++;
        if (k == i || k >= n || s[k] != '=' || !lt_rd_param(cfg, s + i, k - i)) continue;
        size_t v = k + 1, e = v;
        while (e < n && !lt_rd_value_end(s[e])) e++;
        if (e > v && !lt_rd_is_fp(s + v, e - v)) fn(ud, s + i, k - i, v, e - v);
        i = e ? e - 1 : 0;
    }
}

typedef struct lt_rd_collect { lt_redact_set *s; const char *base; } lt_rd_collect;

static void lt_rd_collect_param(void *ud, const char *name, size_t nlen, size_t voff, size_t vlen)
{
    lt_rd_collect *c = ud;
    lt_rd_add(c->s, c->base + voff, vlen);
    if (!c->s->query_key && lt_rd_listed(lt_rd_key_params, name, nlen) &&
        !(c->s->query_key = strndup(c->base + voff, vlen)))
        c->s->incomplete = 1;
}

static void lt_rd_collect_json(const lt_redact_cfg *cfg, lt_redact_set *s, json_t *v, int depth)
{
    const char *k;
    json_t *m;
    size_t i;
    if (depth > 32) return;
    if (json_is_object(v)) {
        json_object_foreach(v, k, m) {
            if (json_is_string(m) && lt_rd_field(cfg, k, strlen(k)))
                lt_rd_add(s, json_string_value(m), json_string_length(m));
            else lt_rd_collect_json(cfg, s, m, depth + 1);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m) lt_rd_collect_json(cfg, s, m, depth + 1);
    }
}

static void lt_rd_collect_headers(const lt_redact_cfg *cfg, lt_redact_set *s, const lt_http_msg *req)
{
    for (size_t i = 0; i < req->nhdrs; i++) {
        const lt_header *h = &req->hdrs[i];
        if (!lt_rd_header(cfg, h->name, strlen(h->name))) continue;
        lt_rd_add(s, h->value, strlen(h->value));
        const char *sp = strchr(h->value, ' '); /* "Bearer <token>", "Basic <creds>" */
        if (sp) lt_rd_add(s, sp + 1, strlen(sp + 1));
    }
}

/* Whether collecting from the body can find anything: without '=' the form
 * rule finds nothing, and in JSON without a backslash every string is the
 * text between two consecutive quotes, so when none of them is a listed
 * field name no member can be collected and the body is not parsed. */
static int lt_rd_body_may_hold(const lt_redact_cfg *cfg, const char *b, size_t n)
{
    if (memchr(b, '=', n) || memchr(b, '\\', n)) return 1;
    for (const char *p = b, *end = b + n; (p = memchr(p, '"', (size_t)(end - p)));) {
        p++;
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q || lt_rd_field(cfg, p, (size_t)(q - p))) return 1;
        p = q + 1;
    }
    return 0;
}

static void lt_rd_collect_body(const lt_redact_cfg *cfg, lt_redact_set *s, const lt_http_msg *req)
{
    if (!req->body.len) return;
    const char *b = (const char *)req->body.data;
    if (!lt_rd_body_may_hold(cfg, b, req->body.len)) return;
    json_error_t err;
    json_t *j = json_loadb(b, req->body.len, JSON_ALLOW_NUL, &err);
    if (j) { lt_rd_collect_json(cfg, s, j, 0); json_decref(j); return; }
    if (json_error_code(&err) == json_error_out_of_memory) { s->incomplete = 1; return; }
    lt_rd_collect c = {s, b};
    lt_rd_params(cfg, b, req->body.len, lt_rd_collect_param, &c); /* form-encoded */
}

lt_redact_set *lt_redact_collect(const lt_redact_cfg *cfg, const lt_http_msg *req)
{
    lt_redact_cfg tmp;
    cfg = lt_rd_cfg(cfg, &tmp);
    lt_redact_set *s = malloc(sizeof *s); /* val and len are read below n only: not zeroed */
    if (!s) return NULL;
    s->n = 0;
    s->query_key = NULL;
    s->incomplete = 0;
    if (!req || !req->present) return s;
    lt_rd_collect_headers(cfg, s, req);
    const char *q = req->target ? strchr(req->target, '?') : NULL;
    lt_rd_collect c = {s, q};
    if (q) lt_rd_params(cfg, q, strlen(q), lt_rd_collect_param, &c);
    lt_rd_collect_body(cfg, s, req);
    return s;
}

void lt_redact_set_destroy(lt_redact_set *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) free(s->val[i]);
    free(s->query_key);
    free(s);
}

const char *lt_redact_query_key(const lt_redact_set *s) { return s ? s->query_key : NULL; }

int lt_redact_set_whole(const lt_redact_set *s) { return s && !s->incomplete; }

/* ---- rewriting text -------------------------------------------------------- */

/* memmem(h, hl, nd, nl) for nl >= 1. Most strings of a record are barely
 * longer than a secret (ids, addresses, header values): there glibc's memmem
 * spends ~300 instructions setting up its shift table, while trying the
 * few start positions costs a byte compare each. Longer haystacks go to
 * memmem. The first occurrence either way. */
static const char *lt_rd_find(const char *h, size_t hl, const char *nd, size_t nl)
{
    if (nl > hl) return NULL;
    size_t starts = hl - nl + 1;
    if (starts > 64) return memmem(h, hl, nd, nl);
    for (size_t i = 0; i < starts; i++)
        if (h[i] == nd[0] && !memcmp(h + i + 1, nd + 1, nl - 1)) return h + i;
    return NULL;
}

/* Rewrites *b with the byte ranges [off, off + len) replaced by their
 * fingerprints; ranges are ascending and disjoint. err: an append failed.
 *
 * Out of memory, a rewrite gives up the string itself (*str NULL, freed):
 * the caller then has no string that could still hold the secret, and says
 * so (records/ writes no record rather than one with a secret in it). */
typedef struct lt_rd_edit { lt_buf out; const char *src; size_t done; size_t count; int err; } lt_rd_edit;

static void lt_rd_replace(lt_rd_edit *e, size_t off, size_t len)
{
    char fp[16];
    if (off < e->done) return;
    if (lt_buf_append(&e->out, e->src + e->done, off - e->done) < 0) e->err = 1;
    lt_rd_fp(e->src + off, len, fp);
    if (lt_buf_append(&e->out, fp, strlen(fp)) < 0) e->err = 1;
    e->done = off + len;
    e->count++;
}

static void lt_rd_param_edit(void *ud, const char *name, size_t nlen, size_t voff, size_t vlen)
{
    (void)name; (void)nlen;
    lt_rd_replace(ud, voff, vlen);
}

/* Rule 3 on s[0, n): "field" : "value" with a listed field name. */
static void lt_rd_json_text(const lt_redact_cfg *cfg, const char *s, size_t n, lt_rd_edit *e)
{
    for (const char *p = s; (p = memchr(p, '"', (size_t)(s + n - p)));) {
        const char *name = ++p, *q = name;
        while (q < s + n && *q != '"' && *q != '\\') q++;
        if (q >= s + n || *q != '"') continue;
        size_t nlen = (size_t)(q - name);
        const char *v = q + 1;
        while (v < s + n && (*v == ' ' || *v == '\t')) v++;
        if (v >= s + n || *v != ':') continue;
        v++;
        while (v < s + n && (*v == ' ' || *v == '\t')) v++;
        if (v >= s + n || *v != '"' || !lt_rd_field(cfg, name, nlen)) continue;
        const char *ve = ++v;
        while (ve < s + n && *ve != '"') ve += *ve == '\\' ? 2 : 1;
        if (ve > s + n) ve = s + n;
        if (ve > v && !lt_rd_is_fp(v, (size_t)(ve - v))) lt_rd_replace(e, (size_t)(v - s), (size_t)(ve - v));
        p = ve;
    }
}

/* Runs one rule over *str (length *len); replaces it when anything changed
 * (*str NULL if memory ran out). */
static size_t lt_rd_finish(lt_rd_edit *e, char **str, size_t *len)
{
    if (!e->count) { lt_buf_free(&e->out); return 0; }
    if (lt_buf_append(&e->out, e->src + e->done, *len - e->done) < 0 || e->err || !e->out.data) {
        lt_buf_free(&e->out);
        free(*str);
        *str = NULL;
        return 0;
    }
    free(*str);
    *len = e->out.len;
    *str = (char *)e->out.data;
    return e->count;
}

static size_t lt_rd_echo(const lt_redact_cfg *cfg, const lt_redact_set *s, char **str, size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; s && i < s->n && *str; i++) {
        size_t vl = s->len[i];
        if (vl < cfg->min_echo) continue;
        lt_rd_edit e = {.src = *str};
        lt_buf_init(&e.out);
        for (const char *p = *str; (p = lt_rd_find(p, *len - (size_t)(p - *str), s->val[i], vl)); p += vl)
            lt_rd_replace(&e, (size_t)(p - *str), vl);
        total += lt_rd_finish(&e, str, len);
    }
    return total;
}

/* Rule 2 needs an '=' and rule 3 a '"': a string without one is not scanned
 * for it (JSON text kept as a string has quotes but seldom an '='). */
static size_t lt_rd_by_name(const lt_redact_cfg *cfg, char **str, size_t *len)
{
    size_t n = 0;
    if (!*str) return 0;
    if (memchr(*str, '=', *len)) {
        lt_rd_edit e = {.src = *str};
        lt_buf_init(&e.out);
        lt_rd_params(cfg, *str, *len, lt_rd_param_edit, &e);
        n = lt_rd_finish(&e, str, len);
    }
    if (!*str || !memchr(*str, '"', *len)) return n;
    lt_rd_edit f = {.src = *str};
    lt_buf_init(&f.out);
    lt_rd_json_text(cfg, *str, *len, &f);
    return n + lt_rd_finish(&f, str, len);
}

/* NUL -> U+FFFD (EF BF BD). */
static size_t lt_rd_nul(char **str, size_t *len)
{
    size_t nul = 0;
    if (!*str || !memchr(*str, 0, *len)) return 0;
    for (size_t i = 0; i < *len; i++) nul += (*str)[i] == 0;
    char *o = malloc(*len + 2 * nul + 1), *w = o;
    if (!o) { free(*str); *str = NULL; return 0; }
    for (size_t i = 0; i < *len; i++) {
        if ((*str)[i]) { *w++ = (*str)[i]; continue; }
        memcpy(w, "\xEF\xBF\xBD", 3);
        w += 3;
    }
    *w = 0;
    free(*str);
    *str = o;
    *len = (size_t)(w - o);
    return nul;
}

char *lt_redact_url(const lt_redact_cfg *cfg, const char *url)
{
    lt_redact_cfg tmp;
    cfg = lt_rd_cfg(cfg, &tmp);
    char *s = strdup(url ? url : "");
    size_t len = s ? strlen(s) : 0;
    const char *q = s ? strchr(s, '?') : NULL;
    if (!q) return s;
    lt_rd_edit e = {.src = s};
    lt_buf_init(&e.out);
    lt_rd_params(cfg, s, len, lt_rd_param_edit, &e);
    lt_rd_finish(&e, &s, &len);
    return s;   /* NULL: out of memory */
}

/* ---- the record pass ------------------------------------------------------- */

/* Whether one of the rules could change str[0, len): a secret value in it
 * (rule 1), an '=' (rule 2), a '"' (rule 3) or a NUL. Most strings of a
 * record (times, ids, addresses, header values, message text) have none and
 * are left without being copied and scanned rule by rule. */
static int lt_rd_may_change(const lt_redact_cfg *cfg, const lt_redact_set *s, const char *str, size_t len)
{
    if (len <= 64) { /* one strcspn instead of three memchr: str[len] is the NUL jansson keeps after a string */
        if (strcspn(str, "=\"") < len) return 1;
    } else if (memchr(str, '=', len) || memchr(str, '"', len) || memchr(str, 0, len)) return 1;
    for (size_t i = 0; s && i < s->n; i++) {
        size_t vl = s->len[i];
        if (vl >= cfg->min_echo && vl <= len && lt_rd_find(str, len, s->val[i], vl)) return 1;
    }
    return 0;
}

/* The rules over one string: its copy, rewritten (NULL when memory ran
 * out), and the number of replacements. */
static char *lt_rd_rules(const lt_redact_cfg *cfg, const lt_redact_set *s, const char *v, size_t *len, size_t *n)
{
    char *str = malloc(*len + 1);
    if (!str) return NULL;
    memcpy(str, v, *len + 1);
    *n = lt_rd_echo(cfg, s, &str, len);
    *n += lt_rd_by_name(cfg, &str, len);
    *n += lt_rd_nul(&str, len);
    return str;
}

/* *oom set when memory ran out: the string may then still hold a secret. */
static size_t lt_rd_string(const lt_redact_cfg *cfg, const lt_redact_set *s, json_t *v, int *oom)
{
    size_t len = json_string_length(v), n = 0;
    if (!lt_rd_may_change(cfg, s, json_string_value(v), len)) return 0;
    char *str = lt_rd_rules(cfg, s, json_string_value(v), &len, &n);
    if (!str) { *oom = 1; return 0; }
    if (n && json_string_setn(v, str, len) < 0 &&   /* refused: not UTF-8, or no memory */
        (lt_jtext_utf8_valid(str, len) || json_string_set(v, "(invalid UTF-8)") < 0))
        *oom = 1;
    free(str);
    return n;
}

static size_t lt_rd_value(const lt_redact_cfg *cfg, const lt_redact_set *s, json_t *v, int depth, int builtin,
                          int *oom);

/* Whether the configuration names only the built-in headers and fields; then
 * one signature check answers for most member names (lt_rd_named). Asked
 * once per record; makes the signatures. */
static int lt_rd_builtin_names(const lt_redact_cfg *c)
{
    if (!((!c->headers || c->headers == lt_redact_default_headers) &&
          (!c->fields || c->fields == lt_redact_default_fields) && !c->n_extra_headers && !c->n_extra_fields))
        return 0;
    if (!__atomic_load_n(&lt_rd_sigs_ready, __ATOMIC_ACQUIRE)) pthread_once(&lt_rd_sigs_once, lt_rd_sigs_init);
    return 1;
}

/* 0 when the member name k[0, n) is neither a secret header nor a secret
 * field: with the built-in lists and no configured names (builtin) one
 * signature check answers for both (most member names, the record's
 * columns first). */
static int lt_rd_named(const lt_redact_cfg *c, const char *k, size_t n, int builtin)
{
    if (builtin) {
        unsigned char b = n ? (unsigned char)*k : 0;
        if (!(lt_rd_sigs[3].first[n < 63 ? n : 63][b >> 6] >> (b & 63) & 1)) return 0;
    }
    return lt_rd_header(c, k, n) || lt_rd_field(c, k, n);
}

/* Only a string member is replaced for its name; a number, boolean or null
 * has nothing to redact, and an object or array is walked. */
static size_t lt_rd_member(const lt_redact_cfg *cfg, const lt_redact_set *s, const char *k, json_t *m, int depth,
                           int builtin, int *oom)
{
    if (json_is_string(m)) {
        if (lt_rd_named(cfg, k, strlen(k), builtin) && !lt_rd_is_fp(json_string_value(m), json_string_length(m))) {
            char fp[16];
            lt_rd_fp(json_string_value(m), json_string_length(m), fp);
            if (json_string_set(m, fp) < 0) *oom = 1;
            return 1;
        }
        return depth + 1 > 64 ? 0 : lt_rd_string(cfg, s, m, oom);
    }
    if (!json_is_object(m) && !json_is_array(m)) return 0;
    return lt_rd_value(cfg, s, m, depth + 1, builtin, oom);
}

static size_t lt_rd_value(const lt_redact_cfg *cfg, const lt_redact_set *s, json_t *v, int depth, int builtin,
                          int *oom)
{
    const char *k;
    json_t *m;
    size_t i, n = 0;
    if (depth > 64) return 0;
    if (json_is_string(v)) return lt_rd_string(cfg, s, v, oom);
    if (json_is_object(v)) json_object_foreach(v, k, m) n += lt_rd_member(cfg, s, k, m, depth, builtin, oom);
    else if (json_is_array(v)) json_array_foreach(v, i, m) n += lt_rd_value(cfg, s, m, depth + 1, builtin, oom);
    return n;
}

/* ---- the same pass, one column at a time (records written as text) ---------- */

void lt_redactor_init(lt_redactor *r, const lt_redact_cfg *cfg, const lt_redact_set *s)
{
    if (cfg) r->cfg = *cfg;
    else lt_redact_cfg_defaults(&r->cfg);
    r->set = s;
    r->builtin = lt_rd_builtin_names(&r->cfg);
}

int lt_redactor_string(const lt_redactor *r, const char *name, size_t nlen, const char *str, size_t len, char **out,
                       size_t *outlen)
{
    const lt_redact_cfg *cfg = &r->cfg;
    size_t n = 0;
    *out = NULL;
    if (name && lt_rd_named(cfg, name, nlen, r->builtin) && !lt_rd_is_fp(str, len)) {
        char fp[16];
        lt_rd_fp(str, len, fp);
        *outlen = strlen(fp);
        return (*out = strdup(fp)) ? 0 : -1;
    }
    if (!lt_rd_may_change(cfg, r->set, str, len)) return 0;
    char *s = lt_rd_rules(cfg, r->set, str, &len, &n);
    if (!s) return -1;
    if (!n) { free(s); return 0; }
    if (!lt_jtext_utf8_valid(s, len)) { /* json_string_setn refused such a result */
        free(s);
        len = sizeof "(invalid UTF-8)" - 1;
        if (!(s = strdup("(invalid UTF-8)"))) return -1;
    }
    *out = s;
    *outlen = len;
    return 0;
}

int lt_redactor_member(const lt_redactor *r, const char *name, json_t *v)
{
    int oom = 0;
    lt_rd_member(&r->cfg, r->set, name, v, 0, r->builtin, &oom);
    return oom ? -1 : 0;
}

size_t lt_redact_record(const lt_redact_cfg *cfg, const lt_redact_set *s, json_t *rec)
{
    lt_redact_cfg tmp;
    cfg = lt_rd_cfg(cfg, &tmp);
    const char *qk = lt_redact_query_key(s);
    if (qk && json_is_object(rec) && !json_object_get(rec, "KeyFingerprint")) {
        char fp[13];
        lt_fingerprint(qk, fp);
        json_object_set_new(rec, "KeyFingerprint", json_string(fp));
    }
    int oom = 0;
    size_t n = lt_rd_value(cfg, s, rec, 0, lt_rd_builtin_names(cfg), &oom);
    return oom ? (size_t)-1 : n;
}
