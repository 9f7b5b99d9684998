/* record.c -- one exchange → a gateway record, plus an LLM record for
 * Azure OpenAI calls.
 *
 * Column names are those of APIM's ApiManagementGatewayLogs and
 * ApiManagementGatewayLlmLog so the user's KQL works unchanged on the
 * custom tables; llmtap's own columns use the same PascalCase style.
 * Ids are hashes of the connection and the request time (never random), so
 * a replay of the same capture produces the same ids and the spool ignores
 * the duplicates. Secret header values leave this file only as
 * fingerprints. */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "../common/counters.h"
#include "../common/oom.h"
#include "../common/jscan.h"
#include "../common/jtext.h"
#include "../common/log.h"
#include "../parsers/aoai.h"
#include "llm.h"
#include "record.h"
#include "redact.h"
#include "records.h"

static const char *const lt_table_names[LT_TABLE__COUNT] = {
    "ApiManagementGatewayLlmLog",
    "ApiManagementGatewayLogs",
};

static const char *const lt_secret_headers[] = {
    "api-key", "authorization", "ocp-apim-subscription-key", "proxy-authorization", "cookie", "set-cookie",
};

const char *lt_table_name(int table)
{
    return table >= 0 && table < LT_TABLE__COUNT ? lt_table_names[table] : "?";
}

int lt_table_from_name(const char *name)
{
    for (int i = 0; i < LT_TABLE__COUNT; i++) if (!strcmp(name, lt_table_names[i])) return i;
    return -1;
}

void lt_record_cfg_defaults(lt_record_cfg *cfg)
{
    cfg->xff_trusted_hops = -1;
    cfg->store_embeddings = 0;
    cfg->raw_body_cap = 64u << 10;
    lt_redact_cfg_defaults(&cfg->redact);
}

void lt_record_clear(lt_record *rec)
{
    free(rec->text);
    rec->text = NULL;
    rec->len = 0;
}

int lt_record_set_json(lt_record *rec, const json_t *obj)
{
    free(rec->text);
    rec->len = 0;
    rec->text = obj ? lt_jtext_dump(obj, &rec->len) : NULL;
    return rec->text ? 0 : -1;
}

/* The record's own text with the Table member spliced in front: no merged
 * copy of its columns. A record that cannot be written (no text: out of
 * memory, or a string jansson would refuse too) is said in the log, with its
 * id, instead of a missing line going unnoticed. */
char *lt_record_line(const lt_record *rec, size_t *len)
{
    static const char head[] = "{\"Table\":\"";
    const size_t hl = sizeof head - 1;
    size_t n = rec->len;
    const char *body = rec->text;
    char *s = NULL;
    if (body && n >= 2 && body[0] == '{') {
        const char *t = lt_table_name(rec->table);
        size_t tl = strlen(t), k = hl + tl + 1;   /* {"Table":"<t>" */
        if ((s = malloc(k + 1 + n))) {
            memcpy(s, head, hl);
            memcpy(s + hl, t, tl);
            s[hl + tl] = '"';
            if (n > 2) s[k++] = ',';   /* "{}": no columns */
            memcpy(s + k, body + 1, n - 1);   /* the columns and the closing brace */
            k += n - 1;
            s[k] = 0;
            *len = k;
        }
    }
    if (!s) lt_error("records: record %s (%s) could not be written as a JSON line", rec->id, lt_table_name(rec->table));
    return s;
}

/* json_object_update(record, extras) on the text: a column extras names is
 * given its new value where it stands, the others are added at the end in
 * extras' order, as jansson's update did to the tree. The text is llmtap's
 * own (compact, each column once), so its top level is read with the
 * scanner and only the values that change are written. */
int lt_record_update(lt_record *rec, const json_t *extras)
{
    size_t ne = json_object_size(extras);
    if (!ne) return 0;
    if (!rec->text) return -1;
    const char *ks[64];
    size_t kl[64];
    json_t *vs[64];
    char used[64] = {0};
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)extras, key, v) {
        if (k == LT_ARRAY_LEN(ks)) return -1;
        ks[k] = key;
        kl[k] = strlen(key);
        vs[k++] = v;
    }
    lt_jscan j;
    lt_jstr name, span;
    int first = 1, m, n = 0;
    lt_jtext w;
    if (lt_jtext_init(&w, rec->len + 256) < 0) return -1;
    lt_jscan_init(&j, rec->text, rec->len);
    if (lt_jscan_expect(&j, '{') < 0) { lt_jtext_discard(&w); return -1; }
    lt_jtext_put(&w, "{", 1);
    while ((m = lt_jscan_member(&j, &name, &first)) == 1) {
        if (lt_jscan_skip(&j, &span) < 0) { m = -1; break; }
        size_t i = 0;
        while (i < k && (used[i] || name.escaped || kl[i] != name.n || (name.n && *ks[i] != *name.s) || memcmp(ks[i], name.s, name.n)))
            i++;
        if (n++) lt_jtext_put(&w, ",", 1);
        lt_jtext_put(&w, name.s - 1, name.n + 3);   /* "name": as it stands */
        if (i < k) {
            used[i] = 1;
            if (lt_jtext_put_value(&w, vs[i]) < 0) w.err = 1;
        } else {
            lt_jtext_put(&w, span.s, span.n);
        }
    }
    if (m < 0 || !lt_jscan_at_end(&j)) { lt_jtext_discard(&w); return -1; }
    for (size_t i = 0; i < k; i++) {
        if (used[i]) continue;
        if (n++) lt_jtext_put(&w, ",", 1);
        if (lt_jtext_put_string(&w, ks[i], kl[i]) < 0) w.err = 1;
        lt_jtext_put(&w, ":", 1);
        if (lt_jtext_put_value(&w, vs[i]) < 0) w.err = 1;
    }
    lt_jtext_put(&w, "}", 1);
    size_t len;
    char *t = lt_jtext_finish(&w, &len);
    if (!t) return -1;
    free(rec->text);
    rec->text = t;
    rec->len = len;
    return 0;
}

/* SHA-256 fetched once: EVP_sha256() makes every EVP_Digest look the
 * implementation up again (OpenSSL 3), which cost more than the hashing of
 * these short keys. */
static EVP_MD *lt_sha256_md;
static pthread_once_t lt_sha256_once = PTHREAD_ONCE_INIT;

/* Each thread keeps one digest context (EVP_Digest allocated and freed a
 * context per hash, ~40% of the cost of hashing these short keys); it is
 * freed when the thread ends (pthread key destructor). */
static pthread_key_t lt_sha256_key;

static void lt_sha256_ctx_free(void *ctx) { EVP_MD_CTX_free(ctx); }

static void lt_sha256_fetch(void)
{
    lt_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (pthread_key_create(&lt_sha256_key, lt_sha256_ctx_free)) lt_sha256_md = NULL; /* then EVP_Digest */
}

static void lt_sha256(const void *p, size_t n, unsigned char out[32])
{
    unsigned int len = 32;
    pthread_once(&lt_sha256_once, lt_sha256_fetch);
    EVP_MD_CTX *ctx = lt_sha256_md ? pthread_getspecific(lt_sha256_key) : NULL;
    if (lt_sha256_md && !ctx && (ctx = EVP_MD_CTX_new()) && pthread_setspecific(lt_sha256_key, ctx)) {
        EVP_MD_CTX_free(ctx);
        ctx = NULL;
    }
    if (ctx && EVP_DigestInit_ex(ctx, lt_sha256_md, NULL) && EVP_DigestUpdate(ctx, p, n) &&
        EVP_DigestFinal_ex(ctx, out, &len))
        return;
    EVP_Digest(p, n, out, &len, lt_sha256_md ? lt_sha256_md : EVP_sha256(), NULL);
}

static void lt_hex(const unsigned char *d, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) { out[2 * i] = hx[d[i] >> 4]; out[2 * i + 1] = hx[d[i] & 15]; }
    out[2 * n] = 0;
}

void lt_fingerprintn(const char *value, size_t n, char out[13])
{
    unsigned char h[32];
    lt_sha256(value, n, h);
    lt_hex(h, 6, out);
}

void lt_fingerprint(const char *value, char out[13]) { lt_fingerprintn(value, strlen(value), out); }

/* The length and the first byte are compared before strcasecmp: a name of
 * another length is another name, and bytes that differ in more than the
 * 0x20 bit differ for strcasecmp too (most headers start with another letter
 * than every secret one). n: strlen(name). */
static int lt_is_secret_header(const char *name, size_t n)
{
    static const unsigned char lens[] = {7, 13, 25, 19, 6, 10}; /* strlen of lt_secret_headers[i] */
    _Static_assert(sizeof lens == LT_ARRAY_LEN(lt_secret_headers), "a length per secret header");
    for (size_t i = 0; i < LT_ARRAY_LEN(lt_secret_headers); i++)
        if (n == lens[i] && ((*name ^ *lt_secret_headers[i]) & ~0x20) == 0 && !strcasecmp(name, lt_secret_headers[i]))
            return 1;
    return 0;
}

/* Whether v[0, n) is ASCII: 8 bytes per step (a byte >= 0x80 sets its top bit). */
static int lt_is_ascii(const char *v, size_t n)
{
    uint64_t acc = 0, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) { memcpy(&w, v + i, 8); acc |= w; }
    for (; i < n; i++) acc |= (unsigned char)v[i];
    return !(acc & 0x8080808080808080ull);
}

/* ---- a row as text ----------------------------------------------------------
 *
 * A record is written as its JSON text directly, column after column, in the
 * order its columns are set: no jansson object per record and per header
 * list (a hashed key and a node per column, walked again to redact it and to
 * dump it, then freed: 115 M of 376 M instructions on the first 70,000
 * packets of azure-h1 with --db, 92 M since). The text is what json_dumps gave
 * for the tree the same columns made (JSON_COMPACT, insertion order): a
 * string jansson would refuse leaves its column out, a header whose value it
 * would refuse reads "(invalid UTF-8)", and a member set twice keeps its
 * first place with its last value. Every string passes the redactor on its
 * way in (records/redact.h), as lt_redact_record passed every string of the
 * tree. */
typedef struct lt_row {
    lt_jtext w;
    const lt_redactor *rd;
    int n;              /* members written at the current level */
} lt_row;

/* ,"k": -- k is a column name (an ASCII literal with nothing to escape). */
static void lt_row_key(lt_row *r, const char *k, size_t kn)
{
    char buf[64];
    size_t at = 0;
    if (r->n++) buf[at++] = ',';
    if (kn > sizeof buf - 4) { r->w.err = 1; return; } /* column names are short literals */
    buf[at++] = '"';
    memcpy(buf + at, k, kn);
    at += kn;
    buf[at++] = '"';
    buf[at++] = ':';
    lt_jtext_put(&r->w, buf, at);
}

/* A string member: redacted under its name k[0, kn); v valid UTF-8 with a
 * NUL at v[n]. */
static void lt_row_put_str(lt_row *r, const char *k, size_t kn, const char *v, size_t n)
{
    size_t rn;
    char *red;
    if (lt_redactor_string(r->rd, k, kn, v, n, &red, &rn) < 0) { r->w.err = 1; return; }
    if (red) { v = red; n = rn; }
    if (lt_jtext_put_string(&r->w, v, n) < 0) r->w.err = 1;
    free(red);
}

/* A string column; left out when v is NULL or not UTF-8 (json_string gave
 * NULL, and setting NULL left the tree without the column). */
static void lt_row_strn(lt_row *r, const char *k, size_t kn, const char *v, size_t n)
{
    if (!v || (!lt_is_ascii(v, n) && !lt_jtext_utf8_valid(v, n))) return;
    lt_row_key(r, k, kn);
    lt_row_put_str(r, k, kn, v, n);
}

static void lt_row_str(lt_row *r, const char *k, size_t kn, const char *v)
{
    if (v) lt_row_strn(r, k, kn, v, strlen(v));
}

static void lt_row_int(lt_row *r, const char *k, size_t kn, long long v)
{
    lt_row_key(r, k, kn);
    lt_jtext_put_int(&r->w, v);
}

static void lt_row_bool(lt_row *r, const char *k, size_t kn, int v)
{
    lt_row_key(r, k, kn);
    if (v) lt_jtext_put(&r->w, "true", 4);
    else lt_jtext_put(&r->w, "false", 5);
}

/* A column whose value the parser made as a tree (a fact): redacted in place
 * as a member of the record, then written; a value that cannot be written
 * fails the whole record, as it failed the dump of the tree. */
static void lt_row_json(lt_row *r, const char *k, size_t kn, json_t *v)
{
    if (lt_redactor_member(r->rd, k, v) < 0) { r->w.err = 1; return; }
    lt_row_key(r, k, kn);
    if (lt_jtext_put_value(&r->w, v) < 0) r->w.err = 1;
}

/* The column name literal and its length. */
#define LT_COL(lit) lit, sizeof lit - 1

/* ---- identity ------------------------------------------------------------ */

typedef struct lt_ids {
    char correlation[37];
    char record[LT_TABLE__COUNT][33];
    const char *key;    /* the caller's key (a request header value), or NULL */
    char key_fp[13];    /* its fingerprint, computed once for all the columns that show it */
    char client[64];    /* the connection's addresses as text ("" without a connection), */
    char server[64];    /* made once for the ids and the columns of both records */
    char t0[40];        /* the exchange's time as text ("" for time 0) and its caller's address: */
    char caller[64];    /* the same in both records, so made once */
} lt_ids;

/* Decimal digits of v at p (what %llu writes); returns the end. */
static char *lt_put_u64(char *p, unsigned long long v)
{
    char d[20];
    int n = 0;
    do d[n++] = (char)('0' + v % 10); while ((v /= 10));
    while (n) *p++ = d[--n];
    return p;
}

static char *lt_put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* The key "<client>|<port>|<server>|<port>|<time>|<stream>|<seq>|<conn start>"
 * as snprintf("%s|%u|%s|%u|%lld|%u|%u|%llu") wrote it: at most 2 x 63 (addresses)
 * + 2 x 5 (ports) + 2 x 20 (times) + 2 x 10 + 7 separators = 203 bytes. */
static size_t lt_ids_key(const lt_exchange *ex, const lt_ids *ids, char key[256])
{
    const lt_conn_info *c = ex->conn;
    lt_time_us t = ex->req.present ? ex->req.start_ts : ex->resp.start_ts;
    char *p = lt_put_str(key, ids->client);
    *p++ = '|';
    p = lt_put_u64(p, c ? c->client.port : 0);
    *p++ = '|';
    p = lt_put_str(p, ids->server);
    *p++ = '|';
    p = lt_put_u64(p, c ? c->server.port : 0);
    *p++ = '|';
    if (t < 0) { *p++ = '-'; p = lt_put_u64(p, 0ull - (unsigned long long)t); }
    else p = lt_put_u64(p, (unsigned long long)t);
    *p++ = '|';
    p = lt_put_u64(p, ex->stream_id);
    *p++ = '|';
    p = lt_put_u64(p, ex->seq);
    *p++ = '|';
    p = lt_put_u64(p, (unsigned long long)(c ? c->start_ts : 0));
    *p = 0;
    return (size_t)(p - key);
}

/* An endpoint's address as lt_endpoint_addr_str writes it; an IPv4 address
 * (nearly all) is written here: inet_ntop cost ~1,700 instructions a call,
 * two per exchange. */
static void lt_addr_text(const lt_endpoint *e, char out[64])
{
    if (e->family == 6) { lt_endpoint_addr_str(e, out, 64); return; }
    char *p = out;
    for (int i = 0; i < 4; i++) {
        if (i) *p++ = '.';
        p = lt_put_u64(p, e->addr[i]);
    }
    *p = 0;
}

static void lt_make_ids(const lt_exchange *ex, lt_ids *ids)
{
    char key[256];
    const lt_conn_info *c = ex->conn;
    ids->client[0] = ids->server[0] = 0;
    if (c) {
        lt_addr_text(&c->client, ids->client);
        lt_addr_text(&c->server, ids->server);
    }
    size_t n = lt_ids_key(ex, ids, key);
    unsigned char h[32];
    lt_sha256(key, n, h);
    char hex[65];
    lt_hex(h, 16, hex);
    char *q = ids->correlation; /* 8-4-4-4-12 */
    memcpy(q, hex, 8); q[8] = '-';
    memcpy(q + 9, hex + 8, 4); q[13] = '-';
    memcpy(q + 14, hex + 12, 4); q[18] = '-';
    memcpy(q + 19, hex + 16, 4); q[23] = '-';
    memcpy(q + 24, hex + 20, 12); q[36] = 0;
    for (int tb = 0; tb < LT_TABLE__COUNT; tb++) { /* "<table>|<key>" */
        char k2[300];
        k2[0] = (char)('0' + tb);
        k2[1] = '|';
        memcpy(k2 + 2, key, n);
        lt_sha256(k2, n + 2, h);
        lt_hex(h, 16, ids->record[tb]);
    }
}

/* ---- shared columns ------------------------------------------------------ */

/* lt_http_msg_header for a lowercase ASCII literal name: the first byte is
 * compared before strcasecmp (a header whose first byte differs in more than
 * the 0x20 bit is another name), so the dozen lookups per exchange over ~20
 * headers cost a byte compare each instead of a strcasecmp. */
static const char *lt_hdr(const lt_http_msg *m, const char *name)
{
    for (size_t i = 0; i < m->nhdrs; i++) {
        const char *h = m->hdrs[i].name;
        if (((*h ^ *name) & ~0x20) == 0 && !strcasecmp(h, name)) return m->hdrs[i].value;
    }
    return NULL;
}

static void lt_row_time(lt_row *r, const char *k, size_t kn, lt_time_us t)
{
    char buf[40];
    if (t) lt_row_str(r, k, kn, lt_time_iso(t, buf, sizeof buf));
}

static void lt_row_hdr(lt_row *r, const char *k, size_t kn, const lt_http_msg *m, const char *name)
{
    if (m->present) lt_row_str(r, k, kn, lt_hdr(m, name));
}

static void lt_row_hdr_int(lt_row *r, const char *k, size_t kn, const lt_http_msg *m, const char *name)
{
    const char *v = m->present ? lt_hdr(m, name) : NULL;
    char *e;
    if (!v) return;
    long long n = strtoll(v, &e, 10);
    if (e != v) lt_row_int(r, k, kn, n);
}

/* CallerIpAddress: X-Forwarded-For aware. hops < 0: the leftmost (original
 * client) entry; hops = N: trust N proxies, take the Nth entry from the right. */
static void lt_caller_ip(const lt_exchange *ex, const lt_record_cfg *cfg, const lt_ids *ids, char *out,
                         size_t outlen)
{
    const char *xff = ex->req.present ? lt_hdr(&ex->req, "x-forwarded-for") : NULL;
    out[0] = 0;
    if (xff && cfg->xff_trusted_hops != 0) { /* comma-separated, read in place: nothing to allocate */
        const char *items[64], *p = xff;
        size_t lens[64];
        int n = 0;
        while (n < 64) {
            while (*p == ',') p++;
            if (!*p) break;
            const char *t = p, *e = strchr(p, ',');
            if (!e) e = p + strlen(p);
            p = e;
            while (t < e && (*t == ' ' || *t == '\t')) t++;
            while (e > t && (e[-1] == ' ' || e[-1] == '\t')) e--;
            if (e > t) { items[n] = t; lens[n++] = (size_t)(e - t); }
        }
        int pick = cfg->xff_trusted_hops < 0 ? 0 : n - cfg->xff_trusted_hops;
        if (pick < 0) pick = 0;
        if (n) {
            size_t l = lens[pick] < outlen ? lens[pick] : outlen - 1;
            memcpy(out, items[pick], l);
            out[l] = 0;
        }
    }
    if (!out[0] && ex->conn) {
        size_t l = strlen(ids->client);
        if (l >= outlen) l = outlen - 1;
        memcpy(out, ids->client, l);
        out[l] = 0;
    }
}

static const char *lt_key_value(const lt_http_msg *req)
{
    const char *v = lt_hdr(req, "api-key");
    if (!v) v = lt_hdr(req, "authorization");
    if (!v) v = lt_hdr(req, "ocp-apim-subscription-key");
    return v;
}

static void lt_common_columns(lt_row *r, const lt_exchange *ex, const lt_ids *ids, int table)
{
    if (ids->t0[0]) {
        lt_row_str(r, LT_COL("TimeGenerated"), ids->t0);
        lt_row_str(r, LT_COL("CallTime"), ids->t0); /* survives Log Analytics replacing an old TimeGenerated */
    }
    lt_row_str(r, LT_COL("CorrelationId"), ids->correlation);
    lt_row_str(r, LT_COL("RecordId"), ids->record[table]);
    lt_row_str(r, LT_COL("CallerIpAddress"), ids->caller);
    if (ex->conn) {
        lt_row_int(r, LT_COL("ClientPort"), ex->conn->client.port);
        lt_row_str(r, LT_COL("ServerIpAddress"), ids->server);
        lt_row_int(r, LT_COL("ServerPort"), ex->conn->server.port);
    }
    if (ex->req.present) {
        lt_row_str(r, LT_COL("Method"), ex->req.method ? ex->req.method : "");
        lt_row_str(r, LT_COL("Url"), ex->req.target ? ex->req.target : "");
    }
    if (ex->resp.present) lt_row_int(r, LT_COL("ResponseCode"), ex->resp.status);
    if (ids->key) lt_row_str(r, LT_COL("KeyFingerprint"), ids->key_fp);
    lt_row_hdr(r, LT_COL("Region"), &ex->resp, "x-ms-region");
    lt_row_bool(r, LT_COL("Complete"), !ex->incomplete);
    if (ex->incomplete) lt_row_str(r, LT_COL("IncompleteReason"), lt_incomplete_str(ex->incomplete));
}

/* Milliseconds between two times, rounded to the microsecond. */
static double lt_ms(lt_time_us a, lt_time_us b) { return (double)(a - b) / 1000.0; }

/* ---- gateway record ------------------------------------------------------ */

/* One header as a member: a secret header's value as its fingerprint, a
 * value jansson would refuse as "(invalid UTF-8)". */
static void lt_header_member(lt_row *r, const lt_header *h, size_t kn, const lt_header *last, const lt_ids *ids)
{
    if (r->n++) lt_jtext_put(&r->w, ",", 1);
    if (lt_jtext_put_string(&r->w, h->name, kn) < 0) r->w.err = 1;
    lt_jtext_put(&r->w, ":", 1);
    if (lt_is_secret_header(h->name, kn)) {
        char v[16] = "fp:"; /* "fp:" + the 12 hex digits, as snprintf("fp:%s") wrote it */
        if (last->value == ids->key) memcpy(v + 3, ids->key_fp, 13); /* the same bytes */
        else lt_fingerprint(last->value, v + 3);
        lt_row_put_str(r, h->name, kn, v, 15);
        return;
    }
    size_t vn = strlen(last->value);
    if (lt_is_ascii(last->value, vn) || lt_jtext_utf8_valid(last->value, vn)) lt_row_put_str(r, h->name, kn, last->value, vn);
    else lt_row_put_str(r, h->name, kn, "(invalid UTF-8)", sizeof "(invalid UTF-8)" - 1);
}

/* The headers as an object: one member per name, in the order the names
 * first came, with the value the name had last (a repeated header, as
 * jansson's object kept it); a name jansson would refuse as a key is left
 * out. Repeated names are found with a small hash table of the names (open
 * addressing), so a message of thousands of headers costs no more than its
 * length. */
static void lt_headers_columns(lt_row *r, const char *k, size_t kn, const lt_http_msg *m, const lt_ids *ids)
{
    enum { SMALL = 32 };
    size_t nh = m->nhdrs, cap = 4;
    while (cap < 2 * nh) cap <<= 1;
    size_t len_s[SMALL], last_s[SMALL], slot_s[2 * SMALL];
    int big = nh > SMALL;
    size_t *len = big ? malloc(nh * sizeof *len) : len_s, *last = big ? malloc(nh * sizeof *last) : last_s;
    size_t *slot = big ? calloc(cap, sizeof *slot) : slot_s;   /* index + 1 of a name's first header, 0 empty */
    if (!len || !last || !slot) { r->w.err = 1; goto out; }
    if (!big) memset(slot, 0, cap * sizeof *slot);
    for (size_t i = 0; i < nh; i++) {
        const char *name = m->hdrs[i].name;
        size_t n = strlen(name);
        last[i] = SIZE_MAX;   /* refused, or not the first of its name */
        len[i] = n;
        if (!lt_is_ascii(name, n) && !lt_jtext_utf8_valid(name, n)) continue;
        uint32_t h = 2166136261u;   /* FNV-1a */
        for (size_t b = 0; b < n; b++) h = (h ^ (unsigned char)name[b]) * 16777619u;
        size_t p = h & (cap - 1);
        for (; slot[p]; p = (p + 1) & (cap - 1)) {
            size_t j = slot[p] - 1;
            if (len[j] == n && !memcmp(m->hdrs[j].name, name, n)) { last[j] = i; break; }
        }
        if (!slot[p]) { slot[p] = i + 1; last[i] = i; }
    }
    lt_row_key(r, k, kn);
    lt_jtext_put(&r->w, "{", 1);
    int outer = r->n;
    r->n = 0;
    for (size_t i = 0; i < nh; i++)
        if (last[i] != SIZE_MAX) lt_header_member(r, &m->hdrs[i], len[i], &m->hdrs[last[i]], ids);
    lt_jtext_put(&r->w, "}", 1);
    r->n = outer;
out:
    if (big) { free(len); free(last); free(slot); }
}

/* Error code and message of a JSON error body (Azure, APIM and OpenAI shapes). */
static void lt_error_columns(lt_row *r, const lt_http_msg *resp)
{
    if (!resp->present || resp->status < 400 || !resp->body.len) return;
    lt_oom_clear();
    json_t *j = json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
    if (lt_oom_noted()) r->w.err = 1;   /* not a record without its error's columns */
    if (!j) return;
    json_t *e = json_object_get(j, "error");
    json_t *code = json_object_get(e ? e : j, "code"), *msg = json_object_get(e ? e : j, "message");
    if (!code && !e) code = json_object_get(j, "statusCode");
    if (json_is_string(code)) {
        lt_row_strn(r, LT_COL("LastErrorReason"), json_string_value(code), json_string_length(code));
    } else if (json_is_integer(code)) {
        char num[24];
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(code));
        lt_row_str(r, LT_COL("LastErrorReason"), num);
    }
    if (json_is_string(msg)) lt_row_strn(r, LT_COL("LastErrorMessage"), json_string_value(msg), json_string_length(msg));
    json_decref(j);
}

static void lt_gateway_record(lt_row *r, const lt_exchange *ex, const lt_ids *ids, const lt_aoai_call *call)
{
    lt_common_columns(r, ex, ids, LT_TABLE_GATEWAY);
    lt_row_str(r, LT_COL("ClientProtocol"), ex->version == 20 ? "HTTP/2" : ex->req.version == 10 ? "HTTP/1.0" : "HTTP/1.1");
    if (ex->req.present) {
        lt_row_int(r, LT_COL("RequestSize"), (json_int_t)(ex->req.head_bytes + ex->req.wire_bytes));
        lt_headers_columns(r, LT_COL("RequestHeaders"), &ex->req, ids);
    }
    if (ex->resp.present) {
        lt_row_int(r, LT_COL("ResponseSize"), (json_int_t)(ex->resp.head_bytes + ex->resp.wire_bytes));
        lt_headers_columns(r, LT_COL("ResponseHeaders"), &ex->resp, ids);
        lt_row_bool(r, LT_COL("IsRequestSuccess"), ex->resp.status >= 200 && ex->resp.status < 400);
    }
    if (call && call->op) {
        lt_row_str(r, LT_COL("OperationName"), call->operation);
        lt_row_str(r, LT_COL("ApiId"), lt_aoai_api_id(call));
    } else if (ex->req.present && ex->req.method) {
        lt_row_str(r, LT_COL("OperationName"), ex->req.method);
    }
    if (ex->req.present && ex->resp.present && ex->resp.end_ts) {
        lt_row_int(r, LT_COL("TotalTime"), (json_int_t)lt_ms(ex->resp.end_ts, ex->req.start_ts));
        if (ex->req.end_ts && ex->resp.start_ts >= ex->req.end_ts)
            lt_row_int(r, LT_COL("BackendTime"), (json_int_t)lt_ms(ex->resp.start_ts, ex->req.end_ts));
    }
    lt_error_columns(r, &ex->resp);
    lt_row_hdr_int(r, LT_COL("RetryAfter"), &ex->resp, "retry-after");
    lt_row_hdr_int(r, LT_COL("RetryAfterMs"), &ex->resp, "retry-after-ms");
}

/* ---- LLM record ---------------------------------------------------------- */

/* facts: what lt_aoai_parse found, given their column names here (llm.c). A
 * deployment the body names replaces the path's, in the path's place. */
static void lt_llm_record(lt_row *r, const lt_exchange *ex, const lt_ids *ids, const lt_aoai_call *call, json_t *facts)
{
    json_t *dep = json_object_get(facts, LT_AOAI_F_DEPLOYMENT);
    lt_common_columns(r, ex, ids, LT_TABLE_LLM);
    lt_row_int(r, LT_COL("SequenceNumber"), 0);
    lt_row_str(r, LT_COL("OperationName"), call->operation);
    if (call->deployment[0]) {
        if (dep) lt_row_json(r, LT_COL("DeploymentName"), dep);
        else lt_row_str(r, LT_COL("DeploymentName"), call->deployment);
    }
    if (call->api_version[0]) lt_row_str(r, LT_COL("ApiVersion"), call->api_version);
    lt_row_str(r, LT_COL("HttpVersion"), ex->version == 20 ? "HTTP/2" : "HTTP/1.1");
    lt_row_hdr(r, LT_COL("XRequestId"), &ex->resp, "x-request-id");
    lt_row_hdr(r, LT_COL("ApimRequestId"), &ex->resp, "apim-request-id");
    lt_row_hdr(r, LT_COL("ClientRequestId"), &ex->req, "x-ms-client-request-id");
    lt_row_hdr_int(r, LT_COL("RateLimitRemainingRequests"), &ex->resp, "x-ratelimit-remaining-requests");
    lt_row_hdr_int(r, LT_COL("RateLimitRemainingTokens"), &ex->resp, "x-ratelimit-remaining-tokens");
    if (ex->resp.present) {
        lt_row_time(r, LT_COL("FirstByteTime"), ex->resp.start_ts);
        lt_row_time(r, LT_COL("EndTime"), ex->resp.end_ts);
        if (ex->req.present && ex->resp.end_ts)
            lt_row_int(r, LT_COL("DurationMs"), (json_int_t)((ex->resp.end_ts - ex->req.start_ts + 500) / 1000));
    }
    if (ex->req.body_truncated || ex->resp.body_truncated) lt_row_bool(r, LT_COL("BodyTruncated"), 1);
    const char *k;
    json_t *v;
    int unknown = 0;
    json_object_foreach(facts, k, v) {
        const char *col = lt_llm_column_name(k);
        if (!col) unknown++;
        else if (v != dep || !call->deployment[0]) lt_row_json(r, col, strlen(col), v);
    }
    if (unknown) lt_warn("records: a fact of the Azure OpenAI parser has no column");
}

/* Opens a row; the caller writes its columns, lt_emit closes and sends it. */
static void lt_row_begin(lt_row *r, const lt_redactor *rd)
{
    if (lt_jtext_init(&r->w, 2048) < 0) r->w.err = 1;  /* most records fit: no 256, 512, 1024 steps */
    r->rd = rd;
    r->n = 0;
    lt_jtext_put(&r->w, "{", 1);
}

/* A key sent in the query string (no key header) gives the record its
 * KeyFingerprint last, as lt_redact_record added it to the tree. A record
 * that could not be written whole (memory ran out, for its text or for a
 * redaction) is counted and logged, and not handed on. */
static void lt_emit(lt_row *r, int table, const char *id, lt_time_us t, const lt_exchange *ex, const lt_ids *ids,
                    lt_counters *ctr, lt_record_cb cb, void *ud)
{
    const char *qk = lt_redact_query_key(r->rd->set);
    if (qk && !ids->key) {
        char fp[13];
        lt_fingerprint(qk, fp);
        lt_row_str(r, LT_COL("KeyFingerprint"), fp);
    }
    lt_jtext_put(&r->w, "}", 1);
    lt_record rec = {.table = table, .time = t, .incomplete = ex->incomplete ? lt_incomplete_str(ex->incomplete) : NULL};
    memcpy(rec.id, id, 33);
    rec.text = lt_jtext_finish(&r->w, &rec.len);
    if (!rec.text) {
        ctr->records_unwritten++;
        lt_error("records: record %s (%s) not written: out of memory", id, lt_table_name(table));
        return;
    }
    cb(ud, &rec);
    lt_record_clear(&rec);
}

int lt_records_from_exchange(const lt_record_cfg *cfg, const lt_exchange *ex, lt_counters *ctr, lt_record_cb cb,
                             void *ud)
{
    lt_record_cfg defaults;
    lt_counters scratch;
    if (!ctr) { lt_counters_reset(&scratch); ctr = &scratch; }
    if (!cfg) { lt_record_cfg_defaults(&defaults); cfg = &defaults; }
    lt_ids ids;
    lt_make_ids(ex, &ids);
    ids.key = ex->req.present ? lt_key_value(&ex->req) : NULL;
    if (ids.key) lt_fingerprint(ids.key, ids.key_fp);
    lt_time_us t0 = ex->req.present ? ex->req.start_ts : ex->resp.start_ts;
    ids.t0[0] = 0;
    if (t0) lt_time_iso(t0, ids.t0, sizeof ids.t0);
    lt_caller_ip(ex, cfg, &ids, ids.caller, sizeof ids.caller);
    lt_aoai_call call;
    int llm = ex->req.present && lt_aoai_classify(ex->req.method, ex->req.target, &call);
    lt_redact_set *sec = lt_redact_collect(&cfg->redact, &ex->req);
    if (!lt_redact_set_whole(sec)) { /* a secret may be unknown: no record rather than one that shows it */
        ctr->records_unwritten += llm ? 2 : 1;
        lt_error("records: exchange %s: out of memory collecting its secrets; its records are not written",
                 ids.correlation);
        lt_redact_set_destroy(sec);
        return 0;
    }
    lt_redactor rd;
    lt_redactor_init(&rd, &cfg->redact, sec);
    lt_row r;
    lt_row_begin(&r, &rd);
    lt_gateway_record(&r, ex, &ids, llm ? &call : NULL);
    lt_emit(&r, LT_TABLE_GATEWAY, ids.record[LT_TABLE_GATEWAY], t0, ex, &ids, ctr, cb, ud);
    ctr->gateway_records++;
    if (!llm) { ctr->non_llm_exchanges++; lt_redact_set_destroy(sec); return 1; }
    lt_oom_clear();
    json_t *facts = json_object();
    lt_aoai_cfg acfg = {.store_embeddings = cfg->store_embeddings, .raw_body_cap = cfg->raw_body_cap};
    lt_aoai_parse(&call, ex, &acfg, facts, ctr);
    lt_row_begin(&r, &rd);
    /* the call's facts could not all be read (a value of theirs failed to
     * allocate, common/oom.h): not a record with a column missing */
    if (!facts || lt_oom_noted()) r.w.err = 1;
    else lt_llm_record(&r, ex, &ids, &call, facts);
    json_decref(facts);
    lt_emit(&r, LT_TABLE_LLM, ids.record[LT_TABLE_LLM], t0, ex, &ids, ctr, cb, ud);
    ctr->llm_records++;
    lt_redact_set_destroy(sec);
    return 2;
}
