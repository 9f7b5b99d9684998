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
    json_decref(rec->obj);
    rec->obj = NULL;
}

/* The record's own text with the Table member spliced in front: no merged
 * copy of its columns (json_object_update rehashed every key of it). A
 * record that cannot be written (out of memory, or a string jansson would
 * refuse too) is said in the log, with its id, instead of a missing line
 * going unnoticed. */
char *lt_record_line(const lt_record *rec, size_t *len)
{
    static const char head[] = "{\"Table\":\"";
    const size_t hl = sizeof head - 1;
    size_t n;
    char *body = lt_jtext_dump(rec->obj, &n), *s = NULL;
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
    free(body);
    if (!s) lt_error("records: record %s (%s) could not be written as a JSON line", rec->id, lt_table_name(rec->table));
    return s;
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

void lt_fingerprint(const char *value, char out[13])
{
    unsigned char h[32];
    lt_sha256(value, strlen(value), h);
    lt_hex(h, 6, out);
}

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

/* Column names are ASCII literals (k of lt_set_time, lt_set_hdr and
 * lt_set_hdr_int too): they are set with the _nocheck calls, which skip
 * jansson's UTF-8 check of the key; header names from the wire are checked. */

/* json_string(v): an ASCII string is valid UTF-8, so it is copied without
 * jansson's byte-by-byte UTF-8 check; anything else goes through the check. */
/* Whether v[0, n) is ASCII: 8 bytes per step (a byte >= 0x80 sets its top bit). */
static int lt_is_ascii(const char *v, size_t n)
{
    uint64_t acc = 0, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) { memcpy(&w, v + i, 8); acc |= w; }
    for (; i < n; i++) acc |= (unsigned char)v[i];
    return !(acc & 0x8080808080808080ull);
}

static json_t *lt_json_text(const char *v)
{
    if (!v) return NULL;
    size_t n = strlen(v);
    return lt_is_ascii(v, n) ? json_stringn_nocheck(v, n) : json_string(v);
}

/* json_object_set_new with a key from the wire: an ASCII key needs no UTF-8
 * check (and is set with the length already counted). */
static int lt_set_wire_key(json_t *o, const char *k, size_t n, json_t *v)
{
    return lt_is_ascii(k, n) ? json_object_setn_new_nocheck(o, k, n, v) : json_object_set_new(o, k, v);
}

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

static void lt_set_time(json_t *o, const char *k, lt_time_us t)
{
    char buf[40];
    if (t) json_object_set_new_nocheck(o, k, lt_json_text(lt_time_iso(t, buf, sizeof buf)));
}

static void lt_set_hdr(json_t *o, const char *k, const lt_http_msg *m, const char *name)
{
    const char *v = m->present ? lt_hdr(m, name) : NULL;
    if (v) json_object_set_new_nocheck(o, k, lt_json_text(v));
}

static void lt_set_hdr_int(json_t *o, const char *k, const lt_http_msg *m, const char *name)
{
    const char *v = m->present ? lt_hdr(m, name) : NULL;
    char *e;
    if (!v) return;
    long long n = strtoll(v, &e, 10);
    if (e != v) json_object_set_new_nocheck(o, k, json_integer(n));
}

/* CallerIpAddress: X-Forwarded-For aware. hops < 0: the leftmost (original
 * client) entry; hops = N: trust N proxies, take the Nth entry from the right. */
static void lt_caller_ip(const lt_exchange *ex, const lt_record_cfg *cfg, const lt_ids *ids, char *out,
                         size_t outlen)
{
    const char *xff = ex->req.present ? lt_hdr(&ex->req, "x-forwarded-for") : NULL;
    out[0] = 0;
    if (xff && cfg->xff_trusted_hops != 0) {
        char *copy = strdup(xff), *save = NULL, *items[64];
        int n = 0;
        for (char *t = strtok_r(copy, ",", &save); t && n < 64; t = strtok_r(NULL, ",", &save)) {
            while (*t == ' ' || *t == '\t') t++;
            char *e = t + strlen(t);
            while (e > t && (e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
            if (*t) items[n++] = t;
        }
        int pick = cfg->xff_trusted_hops < 0 ? 0 : n - cfg->xff_trusted_hops;
        if (pick < 0) pick = 0;
        if (n) snprintf(out, outlen, "%s", items[pick]);
        free(copy);
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

static void lt_common_columns(json_t *o, const lt_exchange *ex, const lt_ids *ids, int table)
{
    if (ids->t0[0]) {
        json_object_set_new_nocheck(o, "TimeGenerated", lt_json_text(ids->t0));
        json_object_set_new_nocheck(o, "CallTime", lt_json_text(ids->t0)); /* survives Log Analytics replacing an old TimeGenerated */
    }
    json_object_set_new_nocheck(o, "CorrelationId", lt_json_text(ids->correlation));
    json_object_set_new_nocheck(o, "RecordId", lt_json_text(ids->record[table]));
    json_object_set_new_nocheck(o, "CallerIpAddress", lt_json_text(ids->caller));
    if (ex->conn) {
        json_object_set_new_nocheck(o, "ClientPort", json_integer(ex->conn->client.port));
        json_object_set_new_nocheck(o, "ServerIpAddress", lt_json_text(ids->server));
        json_object_set_new_nocheck(o, "ServerPort", json_integer(ex->conn->server.port));
    }
    if (ex->req.present) {
        json_object_set_new_nocheck(o, "Method", lt_json_text(ex->req.method ? ex->req.method : ""));
        json_object_set_new_nocheck(o, "Url", lt_json_text(ex->req.target ? ex->req.target : ""));
    }
    if (ex->resp.present) json_object_set_new_nocheck(o, "ResponseCode", json_integer(ex->resp.status));
    if (ids->key) json_object_set_new_nocheck(o, "KeyFingerprint", lt_json_text(ids->key_fp));
    lt_set_hdr(o, "Region", &ex->resp, "x-ms-region");
    json_object_set_new_nocheck(o, "Complete", json_boolean(!ex->incomplete));
    if (ex->incomplete) json_object_set_new_nocheck(o, "IncompleteReason", lt_json_text(lt_incomplete_str(ex->incomplete)));
}

/* Milliseconds between two times, rounded to the microsecond. */
static double lt_ms(lt_time_us a, lt_time_us b) { return (double)(a - b) / 1000.0; }

/* ---- gateway record ------------------------------------------------------ */

static json_t *lt_headers_json(const lt_http_msg *m, const lt_ids *ids)
{
    json_t *o = json_object();
    for (size_t i = 0; i < m->nhdrs; i++) {
        const lt_header *h = &m->hdrs[i];
        size_t kn = strlen(h->name);
        if (lt_is_secret_header(h->name, kn)) {
            char v[16] = "fp:"; /* "fp:" + the 12 hex digits, as snprintf("fp:%s") wrote it */
            if (h->value == ids->key) memcpy(v + 3, ids->key_fp, 13); /* the same bytes */
            else lt_fingerprint(h->value, v + 3);
            lt_set_wire_key(o, h->name, kn, json_stringn_nocheck(v, 15));
        } else {
            json_t *s = lt_json_text(h->value);
            lt_set_wire_key(o, h->name, kn, s ? s : lt_json_text("(invalid UTF-8)"));
        }
    }
    return o;
}

/* Error code and message of a JSON error body (Azure, APIM and OpenAI shapes). */
static void lt_error_columns(json_t *o, const lt_http_msg *resp)
{
    if (!resp->present || resp->status < 400 || !resp->body.len) return;
    json_t *j = json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
    if (!j) return;
    json_t *e = json_object_get(j, "error");
    json_t *code = json_object_get(e ? e : j, "code"), *msg = json_object_get(e ? e : j, "message");
    if (!code && !e) code = json_object_get(j, "statusCode");
    if (json_is_string(code)) json_object_set_nocheck(o, "LastErrorReason", code);
    else if (json_is_integer(code))
        json_object_set_new_nocheck(o, "LastErrorReason", json_sprintf("%lld", (long long)json_integer_value(code)));
    if (json_is_string(msg)) json_object_set_nocheck(o, "LastErrorMessage", msg);
    json_decref(j);
}

static json_t *lt_gateway_record(const lt_exchange *ex, const lt_ids *ids, const lt_aoai_call *call)
{
    json_t *o = json_object();
    lt_common_columns(o, ex, ids, LT_TABLE_GATEWAY);
    json_object_set_new_nocheck(o, "ClientProtocol", lt_json_text(ex->version == 20 ? "HTTP/2" : ex->req.version == 10 ? "HTTP/1.0" : "HTTP/1.1"));
    if (ex->req.present) {
        json_object_set_new_nocheck(o, "RequestSize", json_integer((json_int_t)(ex->req.head_bytes + ex->req.wire_bytes)));
        json_object_set_new_nocheck(o, "RequestHeaders", lt_headers_json(&ex->req, ids));
    }
    if (ex->resp.present) {
        json_object_set_new_nocheck(o, "ResponseSize", json_integer((json_int_t)(ex->resp.head_bytes + ex->resp.wire_bytes)));
        json_object_set_new_nocheck(o, "ResponseHeaders", lt_headers_json(&ex->resp, ids));
        json_object_set_new_nocheck(o, "IsRequestSuccess", json_boolean(ex->resp.status >= 200 && ex->resp.status < 400));
    }
    if (call && call->op) {
        json_object_set_new_nocheck(o, "OperationName", lt_json_text(call->operation));
        json_object_set_new_nocheck(o, "ApiId", lt_json_text(lt_aoai_api_id(call)));
    } else if (ex->req.present && ex->req.method) {
        json_object_set_new_nocheck(o, "OperationName", lt_json_text(ex->req.method));
    }
    if (ex->req.present && ex->resp.present && ex->resp.end_ts) {
        json_object_set_new_nocheck(o, "TotalTime", json_integer((json_int_t)lt_ms(ex->resp.end_ts, ex->req.start_ts)));
        if (ex->req.end_ts && ex->resp.start_ts >= ex->req.end_ts)
            json_object_set_new_nocheck(o, "BackendTime", json_integer((json_int_t)lt_ms(ex->resp.start_ts, ex->req.end_ts)));
    }
    lt_error_columns(o, &ex->resp);
    lt_set_hdr_int(o, "RetryAfter", &ex->resp, "retry-after");
    lt_set_hdr_int(o, "RetryAfterMs", &ex->resp, "retry-after-ms");
    return o;
}

/* ---- LLM record ---------------------------------------------------------- */

static json_t *lt_llm_record(const lt_exchange *ex, const lt_record_cfg *cfg, const lt_ids *ids,
                             const lt_aoai_call *call, lt_counters *ctr)
{
    json_t *o = json_object();
    lt_common_columns(o, ex, ids, LT_TABLE_LLM);
    json_object_set_new_nocheck(o, "SequenceNumber", json_integer(0));
    json_object_set_new_nocheck(o, "OperationName", lt_json_text(call->operation));
    if (call->deployment[0]) json_object_set_new_nocheck(o, "DeploymentName", lt_json_text(call->deployment));
    if (call->api_version[0]) json_object_set_new_nocheck(o, "ApiVersion", lt_json_text(call->api_version));
    json_object_set_new_nocheck(o, "HttpVersion", lt_json_text(ex->version == 20 ? "HTTP/2" : "HTTP/1.1"));
    lt_set_hdr(o, "XRequestId", &ex->resp, "x-request-id");
    lt_set_hdr(o, "ApimRequestId", &ex->resp, "apim-request-id");
    lt_set_hdr(o, "ClientRequestId", &ex->req, "x-ms-client-request-id");
    lt_set_hdr_int(o, "RateLimitRemainingRequests", &ex->resp, "x-ratelimit-remaining-requests");
    lt_set_hdr_int(o, "RateLimitRemainingTokens", &ex->resp, "x-ratelimit-remaining-tokens");
    if (ex->resp.present) {
        lt_set_time(o, "FirstByteTime", ex->resp.start_ts);
        lt_set_time(o, "EndTime", ex->resp.end_ts);
        if (ex->req.present && ex->resp.end_ts)
            json_object_set_new_nocheck(o, "DurationMs", json_integer((json_int_t)((ex->resp.end_ts - ex->req.start_ts + 500) / 1000)));
    }
    if (ex->req.body_truncated || ex->resp.body_truncated) json_object_set_new_nocheck(o, "BodyTruncated", json_true());
    json_t *facts = json_object();
    lt_aoai_cfg acfg = {.store_embeddings = cfg->store_embeddings, .raw_body_cap = cfg->raw_body_cap};
    lt_aoai_parse(call, ex, &acfg, facts, ctr);
    if (lt_llm_columns_add(o, facts)) lt_warn("records: a fact of the Azure OpenAI parser has no column");
    json_decref(facts);
    return o;
}

/* sec: the exchange's secrets, redacted from every string of the record
 * (query strings, headers, bodies, echoes), which also makes it loadable. */
static void lt_emit(const lt_redact_cfg *rcfg, int table, const char *id, lt_time_us t, json_t *obj,
                    const lt_redact_set *sec, lt_record_cb cb, void *ud)
{
    lt_redact_record(rcfg, sec, obj);
    lt_record rec = {.table = table, .time = t, .obj = obj};
    memcpy(rec.id, id, 33);
    cb(ud, &rec);
    json_decref(obj);
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
    lt_time_us t = t0;
    lt_redact_set *sec = lt_redact_collect(&cfg->redact, &ex->req);
    lt_emit(&cfg->redact, LT_TABLE_GATEWAY, ids.record[LT_TABLE_GATEWAY], t, lt_gateway_record(ex, &ids, llm ? &call : NULL), sec,
            cb, ud);
    ctr->gateway_records++;
    if (!llm) { ctr->non_llm_exchanges++; lt_redact_set_destroy(sec); return 1; }
    lt_emit(&cfg->redact, LT_TABLE_LLM, ids.record[LT_TABLE_LLM], t, lt_llm_record(ex, cfg, &ids, &call, ctr), sec, cb, ud);
    ctr->llm_records++;
    lt_redact_set_destroy(sec);
    return 2;
}
