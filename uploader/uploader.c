/* uploader.c -- at-least-once delivery from the SQLite spool to the Logs
 * Ingestion API.
 *
 * A record leaves "pending" only after every row it produced was answered
 * 204 (a crash in between resends it: duplicates are possible, loss is not;
 * kql/dedupe.kql removes them). One POST is one JSON array of rows for one
 * stream, gzip-compressed by default, at most batch_max_bytes as sent.
 * Answers:
 *   2xx           -> delivered;
 *   413           -> the batch is split in halves and each half sent again;
 *   400           -> bisection down to the single record the service refuses,
 *                    which is quarantined with the service's error text;
 *   401/403       -> one forced token refresh, then back-off with a log line
 *                    (role assignments take up to 30 minutes to apply);
 *   429, 5xx, network errors -> exponential back-off with jitter, honoring
 *                    Retry-After / retry-after-ms (capped), until max_retry_s
 *                    of back-off in this run; then the rows stay pending. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libdeflate.h>
#include "../common/jscan.h"
#include "../common/jtext.h"
#include "../common/clock.h"
#include "../common/counters.h"
#include "../common/log.h"
#include "auth.h"
#include "chunk.h"
#include "uploader.h"
#include "http.h"

struct lt_uploader {
    const lt_upload_cfg *cfg;
    lt_spool *spool;
    lt_auth *auth;
    double backoff_spent;      /* seconds slept in back-off this run */
    int failures;              /* consecutive retryable failures */
    unsigned rng;
    lt_counters own_ctr;
    lt_counters *ctr;          /* the caller's (lt_uploader_set_counters) or own_ctr */
    const int *cancel;         /* lt_uploader_set_limits: stop waiting when non-zero */
    int64_t deadline_us;       /* lt_uploader_set_limits: monotonic; 0 = none */
    struct libdeflate_compressor *gz;   /* made at the first gzip'd batch, reused */
    lt_http_conn *http;        /* made at the first POST, reused (keep-alive) */
    lt_buf batch, gzbuf;       /* a POST's JSON array and its gzip, reused: a
                                  fresh megabyte per POST was page faults */
};

/* One spooled record, expanded to the rows it sends. */
typedef struct lt_unit {
    int64_t rowid;
    int last_part;             /* marks the record delivered (a record whose rows
                                  exceed one POST is sent as several parts) */
    char *rows_json;           /* rows as "r1,r2,..." (no brackets) */
    int backdated;             /* the call is older than Log Analytics keeps a TimeGenerated */
    size_t len;
    int nrows;
} lt_unit;

/* Rows older than this get Log Analytics' ingestion time as TimeGenerated. */
#define LT_UPLOAD_BACKDATE_US (2LL * 86400 * 1000000)

enum { SEND_OK = LT_UPLOAD_OK, SEND_SPLIT = LT_UPLOAD_SPLIT, SEND_BAD = LT_UPLOAD_BAD, SEND_RETRY = LT_UPLOAD_RETRY,
       SEND_GIVE_UP = 100 };

int lt_uploader_classify(int transport_ok, int status, int token_refreshed)
{
    if (!transport_ok) return LT_UPLOAD_RETRY;
    if (status >= 200 && status < 300) return LT_UPLOAD_OK;
    if (status == 413) return LT_UPLOAD_SPLIT;
    if (status == 401 || status == 403) return token_refreshed ? LT_UPLOAD_RETRY : LT_UPLOAD_REFRESH;
    if (status == 429 || status == 408) return LT_UPLOAD_RETRY;
    if (status >= 400 && status < 500) return LT_UPLOAD_BAD;
    return LT_UPLOAD_RETRY;
}

lt_uploader *lt_uploader_create(const lt_upload_cfg *cfg, lt_spool *spool)
{
    lt_uploader *u = calloc(1, sizeof *u);
    if (!u) return NULL;
    u->cfg = cfg;
    u->spool = spool;
    u->ctr = &u->own_ctr;
    u->auth = lt_auth_create(cfg);
    u->rng = (unsigned)time(NULL);
    lt_buf_init(&u->batch);
    lt_buf_init(&u->gzbuf);
    return u;
}

int64_t lt_uploader_token_expiry(const lt_uploader *u)
{
    return lt_auth_expiry(u->auth);
}

void lt_uploader_set_counters(lt_uploader *u, lt_counters *ctr)
{
    u->ctr = ctr ? ctr : &u->own_ctr;
}

void lt_uploader_destroy(lt_uploader *u)
{
    if (!u) return;
    lt_auth_destroy(u->auth);
    if (u->gz) libdeflate_free_compressor(u->gz);
    lt_http_conn_destroy(u->http);
    lt_buf_free(&u->batch);
    lt_buf_free(&u->gzbuf);
    free(u);
}

/* A batch (at most 1 MB) is compressed whole, so libdeflate's whole-buffer
 * gzip serves better than zlib's streaming one: at level 1 it compresses
 * record JSON as well as zlib's level 1 in about half the CPU, and its CRC-32
 * uses the CPU's carry-less multiply; compression was the largest cost of an
 * upload once records are sent as stored (the agent shares the gateway's
 * cores). */
static int lt_gzip(lt_uploader *u, const char *in, size_t n, lt_buf *out)
{
    if (!u->gz && !(u->gz = libdeflate_alloc_compressor(1))) return -1;
    lt_buf_reset(out);
    size_t bound = libdeflate_gzip_compress_bound(u->gz, n);
    if (lt_buf_reserve(out, bound) < 0) return -1;
    out->len = libdeflate_gzip_compress(u->gz, in, n, out->data, bound);
    return out->len ? 0 : -1;
}

void lt_uploader_set_limits(lt_uploader *u, const int *cancel, int64_t deadline_mono_us)
{
    u->cancel = cancel;
    u->deadline_us = deadline_mono_us;
}

/* 1 when the daemon asked this run to end (stop flag or shutdown deadline). */
static int lt_stopped(const lt_uploader *u, double wait_s)
{
    if (u->cancel && __atomic_load_n(u->cancel, __ATOMIC_RELAXED)) return 1;
    return u->deadline_us && lt_clock_mono_us() + (int64_t)(wait_s * 1e6) > u->deadline_us;
}

/* Sleeps in slices so a stop request is seen within 100 ms. */
static void lt_sleep(lt_uploader *u, double s)
{
    int64_t end = lt_clock_mono_us() + (int64_t)(s * 1e6);
    while (!lt_stopped(u, 0) && lt_clock_mono_us() < end) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Waits before a retry; returns -1 once the run's back-off budget is spent. */
static int lt_backoff(lt_uploader *u, long retry_after_ms, const char *why)
{
    double cap = u->cfg->retry_cap_s;
    double d = 0.5 * (double)(1u << (u->failures < 10 ? u->failures : 10));
    d += (double)(rand_r(&u->rng) % 1000) / 1000.0 * d * 0.5; /* jitter */
    if (retry_after_ms > 0 && retry_after_ms / 1000.0 > d) d = retry_after_ms / 1000.0;
    if (d > cap) d = cap;
    if (lt_stopped(u, d)) {
        lt_warn("upload: stopping retries (%s: shutdown or stop); records stay in the spool", why);
        return -1;
    }
    if (u->backoff_spent + d > u->cfg->max_retry_s) {
        lt_warn("upload: giving up for now after %.0fs of retries (%s); records stay in the spool", u->backoff_spent, why);
        return -1;
    }
    u->failures++;
    u->ctr->upload_retries++;
    lt_warn("upload: %s; retrying in %.1fs", why, d);
    lt_sleep(u, d);
    u->backoff_spent += d;
    return 0;
}

/* POSTs one JSON array to a stream. */
static int lt_post(lt_uploader *u, const char *stream, const char *json, size_t len, lt_http_resp *r, int force_token)
{
    char err[256] = "";
    const char *tok = lt_auth_token(u->auth, force_token, err, sizeof err);
    if (!tok) {
        memset(r, 0, sizeof *r);
        snprintf(r->error, sizeof r->error, "no token: %.200s", err);
        return -1;
    }
    char url[2048], bearer[8192];
    snprintf(url, sizeof url, "%s/dataCollectionRules/%s/streams/%s?api-version=2023-01-01", u->cfg->endpoint,
             u->cfg->dcr_immutable_id, stream);
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", tok);
    const char *hs[] = {bearer, "Content-Type: application/json", "Content-Encoding: gzip"};
    const void *body = json;
    size_t blen = len;
    if (u->cfg->gzip && lt_gzip(u, json, len, &u->gzbuf) == 0) { body = u->gzbuf.data; blen = u->gzbuf.len; }
    if (!u->http) u->http = lt_http_conn_create();  /* NULL: a connection per request */
    lt_http_req q = {.url = url, .headers = hs, .nheaders = u->cfg->gzip ? 3 : 2, .body = body, .body_len = blen,
                     .ca_bundle = u->cfg->ca_bundle, .conn = u->http};
    return lt_http_request(&q, r);
}

/* Sends units [a, b) as one POST; classifies the answer. */
static int lt_send_units(lt_uploader *u, const char *stream, lt_unit *units, int a, int b, char *errtext, size_t errlen)
{
    lt_buf js = u->batch;      /* handed back to u->batch on every return */
    lt_buf_reset(&js);
    size_t need = 2;
    for (int i = a; i < b; i++) need += units[i].len + 1;
    lt_buf_reserve(&js, need);
    lt_buf_append(&js, "[", 1);
    int rows = 0;
    for (int i = a; i < b; i++) {
        if (i > a) lt_buf_append(&js, ",", 1);
        lt_buf_append(&js, units[i].rows_json, units[i].len);
        rows += units[i].nrows;
    }
    lt_buf_append(&js, "]", 1);
    int force = 0;
    for (;;) {
        lt_http_resp r;
        int rc = lt_post(u, stream, (const char *)js.data, js.len, &r, force);
        int st = r.status;
        int verdict = lt_uploader_classify(rc == 0, st, force);
        if (verdict == LT_UPLOAD_OK) {
            u->ctr->upload_batches++;
            u->ctr->upload_rows += (uint64_t)rows;
            u->failures = 0;
            lt_http_resp_free(&r);
            u->batch = js;
            return SEND_OK;
        }
        char why[512];
        if (rc < 0) snprintf(why, sizeof why, "%s", r.error);
        else snprintf(why, sizeof why, "HTTP %d from Logs Ingestion: %.300s", st, r.body.len ? (char *)r.body.data : "");
        if (verdict == LT_UPLOAD_BAD) snprintf(errtext, errlen, "%s", why);
        if (verdict == LT_UPLOAD_REFRESH) { force = 1; lt_http_resp_free(&r); continue; }
        if (rc == 0 && (st == 401 || st == 403)) {
            lt_error("upload: %s -- check that the identity has the Monitoring Metrics Publisher role on the "
                     "data collection rule (role assignments can take up to 30 minutes to apply)", why);
        }
        long ra = r.retry_after_ms;
        lt_http_resp_free(&r);
        if (verdict != LT_UPLOAD_RETRY) {
            u->batch = js;
            return verdict;
        }
        u->ctr->upload_errors++;
        if (lt_backoff(u, ra, why) < 0) { u->batch = js; return SEND_GIVE_UP; }
    }
}

static void lt_mark(lt_uploader *u, lt_unit *units, int a, int b)
{
    int64_t *ids = malloc(sizeof *ids * (size_t)(b - a));
    int n = 0;
    for (int i = a; i < b; i++) {
        if (units[i].last_part) ids[n++] = units[i].rowid;
        if (units[i].backdated) u->ctr->upload_rows_backdated += (uint64_t)units[i].nrows;
    }
    if (n) lt_spool_mark_delivered(u->spool, ids, n);
    free(ids);
}

/* Delivers units [a, b): splits on 413, bisects on 400. -1 when giving up. */
static int lt_deliver_range(lt_uploader *u, const char *stream, lt_unit *units, int a, int b)
{
    char err[600] = "";
    int v = lt_send_units(u, stream, units, a, b, err, sizeof err);
    if (v == SEND_OK) { lt_mark(u, units, a, b); return 0; }
    if (v == SEND_GIVE_UP) return -1;
    if (b - a == 1) {
        u->ctr->upload_quarantined++;
        lt_error("upload: record (spool row %lld) refused and quarantined: %s", (long long)units[a].rowid, err);
        lt_spool_quarantine(u->spool, units[a].rowid, err[0] ? err : "refused (413 for a single record)");
        return 0;
    }
    int m = a + (b - a) / 2;
    if (lt_deliver_range(u, stream, units, a, m) < 0) return -1;
    return lt_deliver_range(u, stream, units, m, b);
}

/* Appends one part (rows [from, to), each already serialized once) as a unit:
 * the rows joined by commas, which is the array's JSON without its brackets. */
static void lt_unit_add(lt_unit **units, int *nu, int *cap, int64_t rowid, char **rs, const size_t *rl, size_t from, size_t to,
                        int last)
{
    if (*nu == *cap) { *cap = *cap ? *cap * 2 : 64; *units = realloc(*units, sizeof **units * (size_t)*cap); }
    size_t n = 0;
    for (size_t i = from; i < to; i++) n += rl[i] + 1;
    char *s = malloc(n + 1), *o = s;
    for (size_t i = from; i < to; i++) {
        if (i > from) *o++ = ',';
        memcpy(o, rs[i], rl[i]);
        o += rl[i];
    }
    *o = 0;
    (*units)[(*nu)++] = (lt_unit){.rowid = rowid, .last_part = last, .rows_json = s, .len = (size_t)(o - s), .nrows = (int)(to - from)};
}

/* A stored record that is one row as it is: valid JSON (what json_loads
 * accepts, no \u0000) whose whole text, escaped, fits both the message cap
 * and a chunk, so no column could be truncated or split. Its text is then
 * exactly what parsing and serializing it again would give (the spool holds
 * json_dumps' output), and it is sent without either (most records). */
static int lt_unit_plain(const lt_uploader *u, const lt_spool_row *row)
{
    size_t n = row->len;
    size_t bound = u->cfg->chunk_bytes < u->cfg->message_cap ? u->cfg->chunk_bytes : u->cfg->message_cap;
    if (n + 2 > u->cfg->batch_max_bytes || lt_chunk_utf8_prefix(row->json, n, bound) != n) return 0;
    if (memmem(row->json, n, "\\u0000", 6)) return 0;
    lt_jscan j;
    lt_jscan_init(&j, row->json, n);
    return lt_jscan_peek(&j) == '{' && lt_jscan_skip(&j, NULL) == 0 && lt_jscan_at_end(&j);
}

/* Expands a spooled record into its rows, in parts that each fit one POST. */
static int lt_unit_make(lt_uploader *u, lt_spool_row *row, lt_unit **units, int *nu, int *cap)
{
    if (lt_unit_plain(u, row)) { /* the unit takes the row's text: no copy */
        if (*nu == *cap) { *cap = *cap ? *cap * 2 : 64; *units = realloc(*units, sizeof **units * (size_t)*cap); }
        (*units)[(*nu)++] = (lt_unit){.rowid = row->rowid, .last_part = 1, .rows_json = row->json, .len = row->len,
                                      .nrows = 1, .backdated = row->time < lt_clock_now_us() - LT_UPLOAD_BACKDATE_US};
        row->json = NULL;
        return 0;
    }
    json_t *rec = json_loads(row->json, 0, NULL);
    if (!rec) return -1;
    json_t *rows = lt_chunk_rows(u->cfg, rec);
    json_decref(rec);
    int first = *nu;
    size_t n = json_array_size(rows), from = 0, bytes = 2;
    char **rs = calloc(n ? n : 1, sizeof *rs);
    size_t *rl = calloc(n ? n : 1, sizeof *rl);
    for (size_t i = 0; rs && rl && i < n; i++) {
        rs[i] = lt_jtext_dump(json_array_get(rows, i), &rl[i]); /* each row serialized once */
        size_t l = rs[i] ? rl[i] + 1 : 0;
        if (!rs[i]) { rs[i] = strdup("null"); rl[i] = 4; } /* as json_dumps' failure would have left it */
        if (i > from && bytes + l > u->cfg->batch_max_bytes) {
            lt_unit_add(units, nu, cap, row->rowid, rs, rl, from, i, 0);
            from = i;
            bytes = 2;
        }
        bytes += l;
    }
    if (rs && rl) lt_unit_add(units, nu, cap, row->rowid, rs, rl, from, n, 1);
    for (size_t i = 0; rs && i < n; i++) free(rs[i]);
    free(rs);
    free(rl);
    json_decref(rows);
    /* Log Analytics replaces a TimeGenerated more than 2 days old by the
     * time it received the row; CallTime keeps the call's own time. */
    int backdated = row->time < lt_clock_now_us() - LT_UPLOAD_BACKDATE_US;
    for (int i = first; i < *nu; i++) (*units)[i].backdated = backdated;
    return 0;
}

/* Delivers one table's pending records; returns records delivered, -1 on give-up. */
static long lt_drain_table(lt_uploader *u, int table, const char *stream)
{
    long done = 0;
    for (;;) {
        lt_spool_row *rows;
        int n;
        if (lt_stopped(u, 0)) return -1;
        if (lt_spool_fetch_pending(u->spool, table, 500, 8u << 20, &rows, &n) < 0) return -1;
        if (n == 0) { lt_spool_rows_free(rows, n); return done; }
        lt_unit *units = NULL;
        int nu = 0, cap = 0;
        for (int i = 0; i < n; i++) {
            if (lt_unit_make(u, &rows[i], &units, &nu, &cap) < 0) {
                u->ctr->upload_quarantined++;
                lt_spool_quarantine(u->spool, rows[i].rowid, "stored record is not valid JSON");
            }
        }
        lt_spool_rows_free(rows, n);
        int rc = 0, a = 0;
        while (a < nu && rc == 0) {
            size_t bytes = 2;
            int b = a;
            while (b < nu && (b == a || bytes + units[b].len + 1 <= u->cfg->batch_max_bytes)) bytes += units[b++].len + 1;
            rc = lt_deliver_range(u, stream, units, a, b);
            for (int i = a; rc == 0 && i < b; i++) done += units[i].last_part;
            a = b;
        }
        for (int i = 0; i < nu; i++) free(units[i].rows_json);
        free(units);
        if (rc < 0) return -1;
    }
}

int lt_uploader_drain(lt_uploader *u, long *delivered)
{
    char err[200];
    if (lt_upload_cfg_check(u->cfg, err, sizeof err) < 0) {
        lt_error("upload: %s", err);
        return -1;
    }
    u->backoff_spent = 0;
    long a = lt_drain_table(u, LT_TABLE_GATEWAY, u->cfg->gateway_stream);
    long b = a < 0 ? -1 : lt_drain_table(u, LT_TABLE_LLM, u->cfg->llm_stream);
    if (delivered) *delivered = (a > 0 ? a : 0) + (b > 0 ? b : 0);
    return a < 0 || b < 0 ? -1 : 0;
}
