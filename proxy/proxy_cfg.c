/* proxy_cfg.c -- [proxy] and [backend.NAME] keys (and the agent keys the
 * proxy uses) read with inih; see proxy_cfg.h. Durations take ms/s/m/h
 * suffixes, sizes K/M/G; every error names the key and the bad value. */
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "proxy_cfg.h"

void lt_proxy_cfg_defaults(lt_proxy_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->listen = strdup("127.0.0.1:8080");
    c->workers = 1;
    c->max_cooldown_ms = 60000;
    c->default_cooldown_ms = 1000;
    static const int retry[] = {429, 500, 502, 503, 504};
    memcpy(c->retry_on, retry, sizeof retry);
    c->n_retry_on = 5;
    c->connect_timeout_ms = 5000;
    c->first_byte_timeout_ms = 120000;
    c->idle_timeout_ms = 120000;
    c->max_request_bytes = 16u << 20;
    c->max_response_bytes = 256u << 20;
    lt_backend_breaker_defaults(&c->breaker);
    c->drain_timeout_ms = 30000;
    c->log_queue_bytes = 64u << 20;
    c->db_path = strdup("/var/lib/llmtap/spool.db");
    lt_parser_cfg_defaults(&c->parser);
    lt_record_cfg_defaults(&c->record);
    lt_upload_cfg_defaults(&c->upload);
}

static int lt_pc_fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int lt_pc_fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* "250ms", "10s", "5m", "2h", bare number = seconds; -1 on error. */
static int64_t lt_pc_duration_ms(const char *v)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || d < 0) return -1;
    if (!strcmp(end, "ms")) return (int64_t)d;
    if (!*end || !strcmp(end, "s")) return (int64_t)(d * 1000);
    if (!strcmp(end, "m")) return (int64_t)(d * 60000);
    if (!strcmp(end, "h")) return (int64_t)(d * 3600000);
    return -1;
}

/* "512", "64K", "16M", "1G"; -1 on error. */
static long long lt_pc_size(const char *v)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    if (end == v || n < 0) return -1;
    long long mul = !*end ? 1 : !strcasecmp(end, "K") ? 1024 : !strcasecmp(end, "M") ? 1 << 20
                  : !strcasecmp(end, "G") ? 1LL << 30 : -1;
    return mul < 0 ? -1 : n * mul;
}

static int lt_pc_int(const char *v, long lo, long hi, int *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < lo || n > hi) return -1;
    *out = (int)n;
    return 0;
}

static int lt_pc_retry_on(lt_proxy_cfg *c, const char *v, char *err, size_t n)
{
    char *copy = strdup(v), *save = NULL;
    c->n_retry_on = 0;
    for (char *t = strtok_r(copy, " ,", &save); t; t = strtok_r(NULL, " ,", &save)) {
        int s;
        if (lt_pc_int(t, 400, 599, &s) < 0 || c->n_retry_on == LT_PROXY_MAX_RETRY_ON) {
            free(copy);
            return lt_pc_fail(err, n, "retry_on: '%s' is not a status 400-599 (list up to 16)", t);
        }
        c->retry_on[c->n_retry_on++] = s;
    }
    free(copy);
    return 0;
}

static int lt_pc_str(char **dst, const char *v)
{
    free(*dst);
    *dst = *v ? strdup(v) : NULL;
    return 0;
}

static int lt_pc_dur(int64_t *dst, const char *k, const char *v, char *err, size_t n)
{
    int64_t ms = lt_pc_duration_ms(v);
    if (ms < 0) return lt_pc_fail(err, n, "%s: invalid duration '%s' (e.g. 500ms, 10s, 5m)", k, v);
    *dst = ms;
    return 0;
}

static int lt_pc_sz(size_t *dst, const char *k, const char *v, char *err, size_t n)
{
    long long s = lt_pc_size(v);
    if (s < 0) return lt_pc_fail(err, n, "%s: invalid size '%s' (e.g. 512K, 16M)", k, v);
    *dst = (size_t)s;
    return 0;
}

static int lt_pc_breaker(lt_proxy_cfg *c, const char *k, const char *v, char *err, size_t n)
{
    int64_t ms;
    if (!strcmp(k, "breaker_failures")) {
        if (lt_pc_int(v, 1, LT_BACKEND_FAIL_RING, &c->breaker.failures) < 0)
            return lt_pc_fail(err, n, "%s: expected 1-64, got '%s'", k, v);
        return 0;
    }
    if (lt_pc_dur(&ms, k, v, err, n) < 0) return -1;
    if (!strcmp(k, "breaker_window")) c->breaker.window_us = ms * 1000;
    else c->breaker.open_us = ms * 1000;
    return 0;
}

static int lt_pc_proxy(lt_proxy_cfg *c, const char *k, const char *v, char *err, size_t n)
{
    if (!strcmp(k, "listen")) return lt_pc_str(&c->listen, v);
    if (!strcmp(k, "tls_cert")) return lt_pc_str(&c->tls_cert, v);
    if (!strcmp(k, "tls_key")) return lt_pc_str(&c->tls_key, v);
    if (!strcmp(k, "workers")) return lt_pc_int(v, 1, 64, &c->workers) < 0 ? lt_pc_fail(err, n, "workers: expected 1-64, got '%s'", v) : 0;
    if (!strcmp(k, "max_attempts")) return lt_pc_int(v, 1, 5, &c->max_attempts) < 0 ? lt_pc_fail(err, n, "max_attempts: expected 1-5, got '%s'", v) : 0;
    if (!strcmp(k, "max_cooldown")) return lt_pc_dur(&c->max_cooldown_ms, k, v, err, n);
    if (!strcmp(k, "default_cooldown")) return lt_pc_dur(&c->default_cooldown_ms, k, v, err, n);
    if (!strcmp(k, "connect_timeout")) return lt_pc_dur(&c->connect_timeout_ms, k, v, err, n);
    if (!strcmp(k, "first_byte_timeout")) return lt_pc_dur(&c->first_byte_timeout_ms, k, v, err, n);
    if (!strcmp(k, "idle_timeout")) return lt_pc_dur(&c->idle_timeout_ms, k, v, err, n);
    if (!strcmp(k, "drain_timeout")) return lt_pc_dur(&c->drain_timeout_ms, k, v, err, n);
    if (!strcmp(k, "max_request_size")) return lt_pc_sz(&c->max_request_bytes, k, v, err, n);
    if (!strcmp(k, "max_response_size")) return lt_pc_sz(&c->max_response_bytes, k, v, err, n);
    if (!strcmp(k, "log_queue_size")) return lt_pc_sz(&c->log_queue_bytes, k, v, err, n);
    if (!strcmp(k, "retry_on")) return lt_pc_retry_on(c, v, err, n);
    if (!strncmp(k, "breaker_", 8) && (!strcmp(k + 8, "failures") || !strcmp(k + 8, "window") || !strcmp(k + 8, "open")))
        return lt_pc_breaker(c, k, v, err, n);
    if (!strcmp(k, "when_all_cooling")) {
        if (!strcmp(v, "503")) c->when_all_cooling = LT_WHEN_ALL_COOLING_503;
        else if (!strcmp(v, "pass_429")) c->when_all_cooling = LT_WHEN_ALL_COOLING_PASS_429;
        else return lt_pc_fail(err, n, "when_all_cooling: expected 503 or pass_429, got '%s'", v);
        return 0;
    }
    return lt_pc_fail(err, n, "unknown key '%s' in [proxy]", k);
}

static lt_proxy_backend_cfg *lt_pc_backend_get(lt_proxy_cfg *c, const char *name)
{
    for (int i = 0; i < c->n_backends; i++)
        if (!strcmp(c->backends[i].name, name)) return &c->backends[i];
    if (c->n_backends == LT_PROXY_MAX_BACKENDS) return NULL;
    lt_proxy_backend_cfg *b = &c->backends[c->n_backends++];
    b->name = strdup(name);
    b->priority = 1;
    b->weight = 1;
    return b;
}

static int lt_pc_backend(lt_proxy_cfg *c, const char *name, const char *k, const char *v, char *err, size_t n)
{
    if (!*name) return lt_pc_fail(err, n, "[backend.NAME] needs a name%s", "");
    lt_proxy_backend_cfg *b = lt_pc_backend_get(c, name);
    if (!b) return lt_pc_fail(err, n, "more than %d backends", LT_PROXY_MAX_BACKENDS);
    if (!strcmp(k, "url")) {
        if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
            return lt_pc_fail(err, n, "url: expected http:// or https://, got '%s'", v);
        return lt_pc_str(&b->url, v);
    }
    if (!strcmp(k, "api_key_file")) return lt_pc_str(&b->api_key_file, v);
    if (!strcmp(k, "ca_bundle")) return lt_pc_str(&b->ca_bundle, v);
    if (!strcmp(k, "priority")) return lt_pc_int(v, 1, 1000, &b->priority) < 0 ? lt_pc_fail(err, n, "priority: expected 1-1000, got '%s'", v) : 0;
    if (!strcmp(k, "weight")) return lt_pc_int(v, 1, 1000, &b->weight) < 0 ? lt_pc_fail(err, n, "weight: expected 1-1000, got '%s'", v) : 0;
    return lt_pc_fail(err, n, "unknown key '%s' in [backend.%s]", k, name);
}

static int lt_pc_records(lt_proxy_cfg *c, const char *k, const char *v, char *err, size_t n)
{
    if (!strcmp(k, "xff_trusted_hops")) return lt_pc_int(v, -1, 64, &c->record.xff_trusted_hops) < 0 ? lt_pc_fail(err, n, "xff_trusted_hops: expected -1-64, got '%s'", v) : 0;
    if (!strcmp(k, "store_embeddings")) { c->record.store_embeddings = !strcmp(v, "true"); return 0; }
    if (!strcmp(k, "raw_body_cap")) return lt_pc_sz(&c->record.raw_body_cap, k, v, err, n);
    return 1;
}

int lt_proxy_cfg_set(lt_proxy_cfg *c, const char *section, const char *key, const char *value,
                     char *err, size_t errlen)
{
    if (!strcmp(section, "proxy")) return lt_pc_proxy(c, key, value, err, errlen);
    if (!strncmp(section, "backend.", 8)) return lt_pc_backend(c, section + 8, key, value, err, errlen);
    if (!strcmp(section, "store") && !strcmp(key, "path")) return lt_pc_str(&c->db_path, value);
    if (!strcmp(section, "records")) return lt_pc_records(c, key, value, err, errlen);
    if (!strcmp(section, "upload")) return lt_upload_cfg_set(&c->upload, key, value, err, errlen) < 0 ? -1 : 0;
    return 1;
}

typedef struct lt_pc_ctx { lt_proxy_cfg *c; char reason[300]; } lt_pc_ctx;

static int lt_pc_handler(void *ud, const char *section, const char *k, const char *v)
{
    lt_pc_ctx *x = ud;
    if (x->reason[0]) return 0;
    return lt_proxy_cfg_set(x->c, section, k, v, x->reason, sizeof x->reason) >= 0;
}

int lt_proxy_cfg_load(lt_proxy_cfg *c, const char *path, char *err, size_t errlen)
{
    lt_pc_ctx x = {.c = c};
    FILE *f = fopen(path, "r");
    if (!f) return lt_pc_fail(err, errlen, "%s: cannot open: %m", path);
    int line = ini_parse_file(f, lt_pc_handler, &x);
    fclose(f);
    if (!line) return 0;
    return lt_pc_fail(err, errlen, "%s:%d: %s", path, line, x.reason[0] ? x.reason : "syntax error");
}

int lt_proxy_cfg_check(lt_proxy_cfg *c, char *err, size_t errlen)
{
    if (!c->n_backends) return lt_pc_fail(err, errlen, "no [backend.NAME] section: nothing to forward to%s", "");
    for (int i = 0; i < c->n_backends; i++) {
        lt_proxy_backend_cfg *b = &c->backends[i];
        if (!b->url) return lt_pc_fail(err, errlen, "[backend.%s]: url is missing", b->name);
        if (b->api_key_file && access(b->api_key_file, R_OK))
            return lt_pc_fail(err, errlen, "[backend.%s]: api_key_file %s: %m", b->name, b->api_key_file);
    }
    if (!c->max_attempts) c->max_attempts = c->n_backends < 5 ? c->n_backends : 5;
    if (!!c->tls_cert != !!c->tls_key) return lt_pc_fail(err, errlen, "[proxy] tls_cert and tls_key go together%s", "");
    return 0;
}

int lt_proxy_cfg_retryable(const lt_proxy_cfg *c, int status)
{
    for (int i = 0; i < c->n_retry_on; i++) if (c->retry_on[i] == status) return 1;
    return 0;
}

void lt_proxy_cfg_free(lt_proxy_cfg *c)
{
    free(c->listen); free(c->tls_cert); free(c->tls_key); free(c->db_path);
    for (int i = 0; i < c->n_backends; i++) {
        lt_proxy_backend_cfg *b = &c->backends[i];
        free(b->name); free(b->url); free(b->api_key_file); free(b->ca_bundle);
    }
    lt_upload_cfg_free(&c->upload);
    memset(c, 0, sizeof *c);
}
