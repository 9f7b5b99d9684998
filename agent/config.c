/* config.c -- reading llmtap.conf with inih (see config.h).
 *
 * inih calls one handler per key; the handler validates the value and, on
 * error, keeps the first reason so the caller can print "FILE:LINE: reason"
 * (ini_parse returns the line number of the first error). */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../common/log.h"
#include "config.h"

typedef struct lt_conf_ctx {
    lt_config *cfg;
    char reason[256];
} lt_conf_ctx;

void lt_config_defaults(lt_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    lt_pipeline_cfg_defaults(&cfg->pipeline);
    cfg->db_path = strdup("/var/lib/llmtap/spool.db");
    cfg->spool.max_bytes = 1ull << 30;
    cfg->spool.max_age_s = 7 * 86400;
    cfg->spool.keep_delivered_s = 86400;
    lt_upload_cfg_defaults(&cfg->upload);
    cfg->log_level = LT_LOG_WARN;
    cfg->snaplen = 262144;
    cfg->buffer_size = 64u << 20;
    cfg->workers = 1;
    cfg->agent.user = strdup("llmtap");
    cfg->agent.socket = strdup("/run/llmtap/llmtap.sock");
    cfg->agent.shutdown_deadline_ms = 10000;
    cfg->agent.queue_max = 10000;
}

void lt_config_free(lt_config *cfg)
{
    for (size_t i = 0; i < cfg->n_interfaces; i++) free(cfg->interfaces[i]);
    free(cfg->interfaces);
    free(cfg->bpf_filter);
    free(cfg->db_path);
    free(cfg->agent.user);
    free(cfg->agent.socket);
    free(cfg->metrics.listen);
    lt_upload_cfg_free(&cfg->upload);
    memset(cfg, 0, sizeof *cfg);
}

typedef struct lt_unit_suffix { char c; long long mul; } lt_unit_suffix;

/* A non-negative number with an optional unit suffix from the table. -1 on error. */
static long long lt_parse_scaled(const char *v, const lt_unit_suffix *units, int allow_b)
{
    char *e;
    errno = 0;
    long long n = strtoll(v, &e, 10);
    if (e == v || n < 0 || errno) return -1;
    for (; units->c; units++)
        if (*e == units->c) { n *= units->mul; e++; break; }
    if (allow_b && (*e == 'B' || *e == 'b')) e++;
    return *e ? -1 : n;
}

long long lt_config_parse_size(const char *v)
{
    static const lt_unit_suffix units[] = {
        {'k', 1ll << 10}, {'K', 1ll << 10}, {'m', 1ll << 20}, {'M', 1ll << 20}, {'g', 1ll << 30}, {'G', 1ll << 30}, {0, 0},
    };
    return lt_parse_scaled(v, units, 1);
}

long long lt_config_parse_duration(const char *v)
{
    static const lt_unit_suffix units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {0, 0}};
    return lt_parse_scaled(v, units, 0);
}

static int lt_conf_fail(lt_conf_ctx *x, const char *fmt, const char *a, const char *b)
{
    if (!x->reason[0]) snprintf(x->reason, sizeof x->reason, fmt, a, b);
    return 0;
}

static int lt_conf_size(lt_conf_ctx *x, const char *k, const char *v, size_t *out)
{
    long long n = lt_config_parse_size(v);
    if (n < 0) return lt_conf_fail(x, "%s: invalid size '%s' (a number with optional K, M or G)", k, v);
    *out = (size_t)n;
    return 1;
}

static int lt_conf_int(lt_conf_ctx *x, const char *k, const char *v, long lo, long hi, long *out)
{
    char *e;
    long n = strtol(v, &e, 10);
    if (e == v || *e || n < lo || n > hi) return lt_conf_fail(x, "%s: invalid number '%s'", k, v);
    *out = n;
    return 1;
}

static int lt_conf_ports(lt_conf_ctx *x, const char *v, uint16_t *ports, size_t max)
{
    size_t n = 0;
    char *copy = strdup(v), *save = NULL;
    for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        char *e;
        long p = strtol(t, &e, 10);
        if (*e || p < 1 || p > 65535 || n + 1 >= max) { free(copy); return lt_conf_fail(x, "server_ports: invalid port '%s'%s", t, ""); }
        ports[n++] = (uint16_t)p;
    }
    ports[n] = 0;
    free(copy);
    return 1;
}

static int lt_conf_capture(lt_conf_ctx *x, const char *k, const char *v)
{
    lt_pipeline_cfg *p = &x->cfg->pipeline;
    long n = 0;
    if (!strcmp(k, "interface")) {
        char **l = realloc(x->cfg->interfaces, (x->cfg->n_interfaces + 1) * sizeof *l);
        if (!l) return 0;
        x->cfg->interfaces = l;
        l[x->cfg->n_interfaces++] = strdup(v);
        return 1;
    }
    if (!strcmp(k, "filter")) { free(x->cfg->bpf_filter); x->cfg->bpf_filter = strdup(v); return 1; }
    if (!strcmp(k, "server_ports")) return lt_conf_ports(x, v, p->server_ports, LT_ARRAY_LEN(p->server_ports));
    if (!strcmp(k, "flows_max")) { int ok = lt_conf_int(x, k, v, 1, 10000000, &n); p->flows_max = (size_t)n; return ok; }
    if (!strcmp(k, "idle_timeout")) {
        long long d = lt_config_parse_duration(v);
        if (d <= 0) return lt_conf_fail(x, "%s: invalid duration '%s' (e.g. 300s, 5m)", k, v);
        p->idle_timeout_s = (int)d;
        return 1;
    }
    if (!strcmp(k, "reasm_memcap")) return lt_conf_size(x, k, v, &p->reasm_memcap);
    if (!strcmp(k, "reasm_flow_cap")) return lt_conf_size(x, k, v, &p->reasm_flow_cap);
    if (!strcmp(k, "body_cap")) return lt_conf_size(x, k, v, &p->parser.body_cap);
    if (!strcmp(k, "head_cap")) return lt_conf_size(x, k, v, &p->parser.head_cap);
    if (!strcmp(k, "h2_streams_max")) { int ok = lt_conf_int(x, k, v, 1, 100000, &n); p->parser.h2_streams_max = (size_t)n; return ok; }
    return lt_conf_fail(x, "unknown key '%s' in [%s]", k, "capture");
}

static int lt_conf_records(lt_conf_ctx *x, const char *k, const char *v)
{
    lt_record_cfg *r = &x->cfg->pipeline.record;
    long n = 0;
    if (!strcmp(k, "xff_trusted_hops")) { int ok = lt_conf_int(x, k, v, -1, 64, &n); r->xff_trusted_hops = (int)n; return ok; }
    if (!strcmp(k, "store_embeddings")) {
        if (strcmp(v, "true") && strcmp(v, "false")) return lt_conf_fail(x, "%s: expected true or false, got '%s'", k, v);
        r->store_embeddings = !strcmp(v, "true");
        return 1;
    }
    if (!strcmp(k, "raw_body_cap")) return lt_conf_size(x, k, v, &r->raw_body_cap);
    return lt_conf_fail(x, "unknown key '%s' in [%s]", k, "records");
}

static int lt_conf_store(lt_conf_ctx *x, const char *k, const char *v)
{
    lt_spool_limits *l = &x->cfg->spool;
    if (!strcmp(k, "path")) { free(x->cfg->db_path); x->cfg->db_path = strdup(v); return 1; }
    if (!strcmp(k, "max_bytes")) {
        size_t n = 0;
        int ok = lt_conf_size(x, k, v, &n);
        l->max_bytes = n;
        return ok;
    }
    long long d = lt_config_parse_duration(v);
    if (!strcmp(k, "max_age") || !strcmp(k, "keep_delivered")) {
        if (d < 0) return lt_conf_fail(x, "%s: invalid duration '%s' (e.g. 7d, 12h)", k, v);
        if (!strcmp(k, "max_age")) l->max_age_s = d; else l->keep_delivered_s = d;
        return 1;
    }
    return lt_conf_fail(x, "unknown key '%s' in [%s]", k, "store");
}

static int lt_conf_handler(void *ud, const char *section, const char *k, const char *v)
{
    lt_conf_ctx *x = ud;
    if (x->reason[0]) return 0;
    if (!strcmp(section, "capture")) return lt_conf_capture(x, k, v);
    if (!strcmp(section, "records")) return lt_conf_records(x, k, v);
    if (!strcmp(section, "store")) return lt_conf_store(x, k, v);
    if (!strcmp(section, "upload")) {
        char e[200] = "";
        if (lt_upload_cfg_set(&x->cfg->upload, k, v, e, sizeof e) == 0) return 1;
        return lt_conf_fail(x, "%s%s", e[0] ? e : "invalid [upload] setting", "");
    }
    if (!strcmp(section, "log")) {
        if (strcmp(k, "level")) return lt_conf_fail(x, "unknown key '%s' in [%s]", k, "log");
        static const char *lv[] = {"error", "warning", "info", "debug"};
        for (int i = 0; i < 4; i++) if (!strcmp(v, lv[i])) { x->cfg->log_level = i; return 1; }
        return lt_conf_fail(x, "level: expected error, warning, info or debug, got '%s'%s", v, "");
    }
    return lt_conf_fail(x, "unknown section [%s]%s", section, "");
}

int lt_config_load(lt_config *cfg, const char *path, char *err, size_t errlen)
{
    lt_conf_ctx x = {.cfg = cfg};
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
    int line = ini_parse_file(f, lt_conf_handler, &x);
    fclose(f);
    if (line == 0) return 0;
    snprintf(err, errlen, "%s:%d: %s", path, line, x.reason[0] ? x.reason : "syntax error");
    return -1;
}

int lt_config_load_default(lt_config *cfg, const char *path, char *err, size_t errlen)
{
    lt_config_defaults(cfg);
    if (!path && access(LT_CONFIG_DEFAULT_PATH, R_OK) == 0) path = LT_CONFIG_DEFAULT_PATH;
    if (path && lt_config_load(cfg, path, err, errlen) < 0) { lt_config_free(cfg); return -1; }
    lt_log_level = cfg->log_level;
    return 0;
}
