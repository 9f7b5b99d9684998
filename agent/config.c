/* config.c -- llmtap.conf: the section tables and their loading (see config.h).
 *
 * Each section is a table (common/confmap.h) over a part of lt_config; the
 * [upload] table lives in uploader/upload_cfg.c next to its struct. inih
 * calls one handler per key; the handler finds the section and lets the
 * engine parse it. On error it keeps the first reason so the caller prints
 * "FILE:LINE: reason" (ini_parse returns the line number of the first
 * error). A key given twice in a section: the last one wins, so a local
 * override can be appended to a file (the upload tests do). inih would read
 * an indented line as a continuation of the previous value, which with
 * "last wins" would silently replace it: such lines, and lines longer than
 * inih's line buffer, are refused by a scan before parsing. Keys whose default belongs to another module's defaults
 * function (the parser, record and pipeline limits) have a NULL default
 * here: that function is the one place their default is written, and the
 * template shows its value. */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../common/confmap.h"
#include "../common/log.h"
#include "config.h"

#define AT(f) LT_CONFMAP_AT(lt_config, f)
#define T_STR LT_CONFMAP_STR
#define T_SIZE LT_CONFMAP_SIZE
#define T_DUR LT_CONFMAP_DURATION
#define T_INT LT_CONFMAP_INT
#define G (1ll << 30)

static const lt_confmap_entry lt_capture_map[] = {
    {.key = "interface", .type = LT_CONFMAP_STRLIST, .def = "", AT(interfaces),
     .aux_off = offsetof(lt_config, n_interfaces),
     .desc = "Interfaces to capture on in tap mode, comma-separated (a mirror/vTAP port or the gateway's "
             "TLS-terminated side), e.g. eth1, eth2. Not used by `llmtap replay`."},
    {.key = "filter", .type = T_STR, .def = "", AT(bpf_filter),
     .desc = "BPF capture filter (libpcap syntax), e.g. tcp port 80 or tcp port 8080. Empty: everything TCP."},
    {.key = "snaplen", .type = T_INT, .def = "262144", AT(snaplen), .lo = 1514, .hi = 262144,
     .desc = "Bytes captured per packet (live capture)."},
    {.key = "buffer_size", .type = T_SIZE, .def = "64M", AT(buffer_size), .lo = 1 << 20, .hi = 4 * G,
     .desc = "Kernel capture ring per interface; packets beyond it are dropped by the kernel (and counted)."},
    {.key = "workers", .type = T_INT, .def = "1", AT(workers), .lo = 1, .hi = 64,
     .desc = "Capture worker threads (connections are spread over them by flow hash), 1..64."},
    {.key = "server_ports", .type = LT_CONFMAP_PORTS, AT(pipeline.server_ports),
     .desc = "Comma-separated server ports. Decides which side is the server for connections whose handshake "
             "was not captured. Empty: decided by the SYN, then by the first request/response line, then by "
             "well-known ports."},
    {.key = "flows_max", .type = T_INT, AT(pipeline.flows_max), .lo = 1, .hi = 10000000,
     .desc = "Connections tracked at once; the oldest idle one is evicted beyond this (counted as "
             "tcp_flows_evicted)."},
    {.key = "idle_timeout", .type = T_DUR, AT(pipeline.idle_timeout_s), .lo = 1, .hi = 86400,
     .desc = "A connection without packets for this long is closed (capture time)."},
    {.key = "reasm_memcap", .type = T_SIZE, AT(pipeline.reasm_memcap), .lo = 0, .hi = 1024 * G,
     .desc = "Bytes held out of order across all connections; beyond it a hole is declared (counted as "
             "tcp_memcap_hits)."},
    {.key = "reasm_flow_cap", .type = T_SIZE, AT(pipeline.reasm_flow_cap), .lo = 0, .hi = 1024 * G,
     .desc = "Bytes held out of order per connection direction."},
    {.key = "memory_budget", .type = T_SIZE, AT(pipeline.memory_budget), .lo = 1 << 20, .hi = 1024 * G,
     .desc = "One ceiling for all parser state of the process, every worker together: message heads and "
             "bodies, queued requests, HTTP/2 streams, content decoders and the out-of-order bytes "
             "(reasm_memcap is a part of it and may not exceed it). Bodies and out-of-order bytes may use "
             "seven eighths of it. Beyond it bodies stop growing and are kept truncated, new heads, "
             "streams and queued requests are refused, each flagged memcap and counted "
             "(parser_budget_truncations, logged)."},
    {.key = "body_cap", .type = T_SIZE, AT(pipeline.parser.body_cap), .lo = 0, .hi = 1024 * G,
     .desc = "Decoded bytes kept per HTTP body (after Content-Encoding); larger bodies are truncated and "
             "flagged (BodyTruncated, http_bodies_over_cap)."},
    {.key = "head_cap", .type = T_SIZE, AT(pipeline.parser.head_cap), .lo = 1024, .hi = 64 << 20,
     .desc = "Largest HTTP/1 message head."},
    {.key = "h2_streams_max", .type = T_INT, AT(pipeline.parser.h2_streams_max), .lo = 1, .hi = 100000,
     .desc = "HTTP/2 streams tracked per connection."},
    {.key = "h2_header_list_max", .type = T_SIZE, AT(pipeline.parser.h2_header_list_max), .lo = 1024,
     .hi = 64 << 20,
     .desc = "HTTP/2: decoded header bytes per message over all its header blocks (name + value + 32 per "
             "field, as SETTINGS_MAX_HEADER_LIST_SIZE counts). Bounds HPACK amplification and CONTINUATION "
             "floods; a stream over it is dropped (http2_header_limit_hits, logged)."},
    {.key = "decode_ratio_max", .type = T_INT, AT(pipeline.parser.decode_ratio_max), .lo = 0, .hi = 1000000,
     .desc = "Content-Encoding: decoding of a body stops once its decoded size passes this many times its "
             "encoded size (after the first MiB); the body is kept truncated (http_decode_bombs, logged). "
             "0 = no ratio limit (body_cap still stops decoding)."},
    {0},
};

static const lt_confmap_entry lt_records_map[] = {
    {.key = "xff_trusted_hops", .type = T_INT, AT(pipeline.record.xff_trusted_hops), .lo = -1, .hi = 64,
     .desc = "X-Forwarded-For: how many proxies in front of the tap to trust. -1 = take the leftmost address "
             "(the original client, as APIM logs it); 0 = ignore X-Forwarded-For; N = the Nth address from "
             "the right."},
    {.key = "store_embeddings", .type = LT_CONFMAP_BOOL, AT(pipeline.record.store_embeddings),
     .desc = "Keep embedding vectors in records. false: only their count and dimension."},
    {.key = "raw_body_cap", .type = T_SIZE, AT(pipeline.record.raw_body_cap), .lo = 0, .hi = 1024 * G,
     .desc = "Bytes of raw body kept for /openai calls llmtap does not model."},
    {.key = "redact_headers", .type = LT_CONFMAP_STRLIST, .def = "", AT(pipeline.record.redact.extra_headers),
     .aux_off = offsetof(lt_config, pipeline.record.redact.n_extra_headers), .flags = LT_CONFMAP_NAMES,
     .desc = "More request header names whose values are secrets, comma-separated, case-insensitive (letters, "
             "digits, '-', '_', '.'). They add to the built-in ones, which always apply: api-key, "
             "authorization, proxy-authorization, ocp-apim-subscription-key, x-api-key, x-functions-key, "
             "cookie, set-cookie. The value becomes fp:<12 hex> (the first 12 hex of its SHA-256) in "
             "RequestHeaders, and so does every copy of it (8 bytes or longer) anywhere in the records, e.g. "
             "echoed in an error body."},
    {.key = "redact_query_params", .type = LT_CONFMAP_STRLIST, .def = "",
     AT(pipeline.record.redact.extra_params), .aux_off = offsetof(lt_config, pipeline.record.redact.n_extra_params),
     .flags = LT_CONFMAP_NAMES,
     .desc = "More query-string and form-encoded parameter names whose values are secrets (name=value in Url, "
             "bodies and any text of a record), comma-separated, case-insensitive. They add to the built-in "
             "ones, which always apply: api-key, api_key, apikey, subscription-key, subscription_key, key, "
             "x-api-key, sig, code, token, access_token, id_token, refresh_token, client_secret, "
             "client_assertion, password, secret. Values become fp:<12 hex>, and so does every copy of them."},
    {.key = "redact_body_fields", .type = LT_CONFMAP_STRLIST, .def = "",
     AT(pipeline.record.redact.extra_fields), .aux_off = offsetof(lt_config, pipeline.record.redact.n_extra_fields),
     .flags = LT_CONFMAP_NAMES,
     .desc = "More JSON body field names whose string values are secrets (at any depth of a request body, and "
             "\"name\": \"value\" in any text of a record), comma-separated, case-insensitive. They add to "
             "the built-in ones, which always apply: api-key, api_key, apikey, subscription-key, "
             "subscription_key, x-api-key, token, access_token, id_token, refresh_token, client_secret, "
             "client_assertion, password, secret. Values become fp:<12 hex>, and so does every copy of them."},
    {0},
};

static const lt_confmap_entry lt_store_map[] = {
    {.key = "path", .type = T_STR, .def = "/var/lib/llmtap/spool.db", AT(db_path),
     .desc = "The SQLite spool (created 0600; WAL journal, synchronous=NORMAL)."},
    {.key = "max_bytes", .type = T_SIZE, .def = "1G", AT(spool.max_bytes), .lo = 0, .hi = 1024 * 1024 * G,
     .desc = "Undelivered records beyond this size are evicted oldest first (counted as store_evicted, "
             "logged). 0 = unbounded."},
    {.key = "max_age", .type = T_DUR, .def = "7d", AT(spool.max_age_s), .lo = 0, .hi = 3650 * 86400ll,
     .desc = "Undelivered records older than this are evicted. 0 = unbounded."},
    {.key = "keep_delivered", .type = T_DUR, .def = "1d", AT(spool.keep_delivered_s), .lo = 0,
     .hi = 3650 * 86400ll, .desc = "Delivered records are kept this long (for inspection), then deleted."},
    {0},
};

static const lt_confmap_entry lt_agent_map[] = {
    {.key = "user", .type = T_STR, .def = "llmtap", AT(agent.user),
     .desc = "The daemon drops its privileges to this user once the captures are open."},
    {.key = "socket", .type = T_STR, .def = "/run/llmtap/llmtap.sock", AT(agent.socket),
     .desc = "Control socket of the daemon (`llmtap status`)."},
    {.key = "shutdown_deadline", .type = T_DUR, .def = "10s", AT(agent.shutdown_deadline_ms),
     .flags = LT_CONFMAP_MS, .lo = 0, .hi = 3600000,
     .desc = "On SIGTERM: time left for the spool writer and the last upload attempt before exiting."},
    {.key = "queue_max", .type = T_INT, .def = "10000", AT(agent.queue_max), .lo = 1, .hi = 10000000,
     .desc = "Records waiting for the spool writer; beyond it records are dropped and counted."},
    {0},
};

static const lt_confmap_entry lt_metrics_map[] = {
    {.key = "listen", .type = T_STR, .def = "", AT(metrics.listen),
     .desc = "Address:port of the metrics endpoint (counters in Prometheus text format), e.g. "
             "127.0.0.1:9109. Empty: off."},
    {0},
};

static const char *const lt_log_levels[] = {"error", "warning", "info", "debug", NULL};

static const lt_confmap_entry lt_log_map[] = {
    {.key = "level", .type = LT_CONFMAP_ENUM, .def = "warning", AT(log_level), .values = lt_log_levels,
     .desc = "error, warning, info or debug."},
    {0},
};

static const lt_confmap_section lt_sections[] = {
    {"capture", lt_capture_map, 0},
    {"records", lt_records_map, 0},
    {"store", lt_store_map, 0},
    {"upload", lt_upload_cfg_map, offsetof(lt_config, upload)},
    {"agent", lt_agent_map, 0},
    {"metrics", lt_metrics_map, 0},
    {"log", lt_log_map, 0},
};
#define LT_NSECTIONS (sizeof lt_sections / sizeof *lt_sections)

static const lt_config_hook *lt_hook;

void lt_config_hook_register(const lt_config_hook *hook) { lt_hook = hook; }

const lt_confmap_section *lt_config_sections(size_t *n)
{
    *n = LT_NSECTIONS;
    return lt_sections;
}

static const lt_confmap_section *lt_section_find(const char *name)
{
    for (size_t i = 0; i < LT_NSECTIONS; i++)
        if (!strcmp(lt_sections[i].name, name)) return &lt_sections[i];
    return NULL;
}

void lt_config_defaults(lt_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    lt_pipeline_cfg_defaults(&cfg->pipeline);
    char err[256];
    for (size_t i = 0; i < LT_NSECTIONS; i++)
        if (lt_confmap_defaults(lt_sections[i].map, (char *)cfg + lt_sections[i].off, err, sizeof err) < 0)
            lt_error("config: bad built-in default in [%s]: %s", lt_sections[i].name, err);
}

void lt_config_free(lt_config *cfg)
{
    for (size_t i = 0; i < LT_NSECTIONS; i++) lt_confmap_free(lt_sections[i].map, (char *)cfg + lt_sections[i].off);
    if (cfg->proxy && lt_hook && lt_hook->free) lt_hook->free(cfg);
    memset(cfg, 0, sizeof *cfg);
}

typedef struct lt_conf_ctx {
    lt_config *cfg;
    char reason[256];
} lt_conf_ctx;

/* Lines inih would misread, found before it runs: an indented line after a
 * key (inih appends it to that key's value) and a line longer than inih's
 * buffer (INI_MAX_LINE; the rest would be read as another line). Returns the
 * first such line number with a reason, or 0. */
static int lt_conf_prescan(FILE *f, char *reason, size_t len)
{
    char *line = NULL;
    size_t cap = 0;
    int n = 0, after_key = 0, found = 0;
    ssize_t got;
    while (!found && (got = getline(&line, &cap, f)) >= 0) {
        n++;
        const char *p = line + strspn(line, " \t\r\n");
        if (strcspn(line, "\r\n") > INI_MAX_LINE - 1) {
            snprintf(reason, len, "line longer than %d characters", INI_MAX_LINE - 1);
            found = n;
        } else if (!*p || *p == ';' || *p == '#') {
            continue;
        } else if (*p == '[') {
            after_key = 0;
        } else if (p > line && after_key) {
            snprintf(reason, len, "indented line: continuation lines are not supported");
            found = n;
        } else {
            after_key = 1;
        }
    }
    free(line);
    rewind(f);
    return found;
}

static int lt_conf_handler(void *ud, const char *section, const char *k, const char *v)
{
    lt_conf_ctx *x = ud;
    char *r = x->reason;
    if (r[0]) return 0;
    const lt_confmap_section *s = lt_section_find(section);
    int hooked = !s && lt_hook && lt_hook->owns && lt_hook->owns(section);
    if (!s && !hooked) { snprintf(r, sizeof x->reason, "unknown section [%s]", section); return 0; }
    int rc = hooked ? lt_hook->set(x->cfg, section, k, v, r, sizeof x->reason)
                    : lt_confmap_set(s->map, (char *)x->cfg + s->off, section, k, v, r, sizeof x->reason);
    if (rc < 0 && !r[0]) snprintf(r, sizeof x->reason, "invalid value for '%s' in [%s]", k, section);
    return rc == 0;
}

/* Limits that hold between keys: the reassembly cap is a part of the memory budget. */
static int lt_config_check_limits(const lt_config *cfg, const char *path, char *err, size_t errlen)
{
    const lt_pipeline_cfg *p = &cfg->pipeline;
    if (p->memory_budget && p->reasm_memcap > p->memory_budget) {
        snprintf(err, errlen, "%s: [capture] reasm_memcap (%zu bytes) exceeds memory_budget (%zu bytes), which holds it",
                 path, p->reasm_memcap, p->memory_budget);
        return -1;
    }
    return 0;
}

int lt_config_load(lt_config *cfg, const char *path, char *err, size_t errlen)
{
    lt_conf_ctx x = {.cfg = cfg};
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
    int line = lt_conf_prescan(f, x.reason, sizeof x.reason);
    if (!line) line = ini_parse_file(f, lt_conf_handler, &x);
    fclose(f);
    if (line == 0) return lt_config_check_limits(cfg, path, err, errlen);
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

void lt_config_dump(const lt_config *cfg, FILE *out)
{
    for (size_t i = 0; i < LT_NSECTIONS; i++) {
        if (i) fputc('\n', out);
        lt_confmap_dump(lt_sections[i].map, (const char *)cfg + lt_sections[i].off, lt_sections[i].name, out);
    }
    if (lt_hook && lt_hook->dump) { fputc('\n', out); lt_hook->dump(cfg, out); }
}

static const char lt_template_head[] =
    "# /etc/llmtap/llmtap.conf -- the configuration of llmtap.\n"
    "#\n"
    "# Generated by `llmtap config --template` from the tables in the source\n"
    "# (agent/config.c, uploader/upload_cfg.c); edit those, not this file.\n"
    "# Every key is shown commented out with its default value.\n"
    "#\n"
    "# INI format: [section], key = value, comments start with ';' or '#'.\n"
    "# Command-line flags override these values. An error (unknown section or\n"
    "# key, invalid value, an indented continuation line) is reported as\n"
    "# FILE:LINE: reason and llmtap refuses to start. A key given twice in a\n"
    "# section: the last one wins.\n"
    "# Sizes take K, M or G suffixes (binary units, optional B); durations take\n"
    "# s, m, h or d (a bare number is seconds); booleans are true/false, yes/no,\n"
    "# on/off or 1/0; lists are comma-separated. `llmtap config --dump` prints\n"
    "# the effective settings.\n";

void lt_config_template(FILE *out)
{
    lt_config cfg;
    lt_config_defaults(&cfg);
    fputs(lt_template_head, out);
    for (size_t i = 0; i < LT_NSECTIONS; i++) {
        fputc('\n', out);
        lt_confmap_template(lt_sections[i].map, (const char *)&cfg + lt_sections[i].off, lt_sections[i].name, out);
    }
    if (lt_hook && lt_hook->template) { fputc('\n', out); lt_hook->template(out); }
    lt_config_free(&cfg);
}
