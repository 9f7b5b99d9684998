/* proxy_cfg.h -- the settings of `llmtap proxy`: [proxy] and every
 * [backend.NAME] section of llmtap.conf.
 *
 * Both are confmap tables (common/confmap.h), so parsing, defaults,
 * validation, `llmtap config --dump` and the documented template come from
 * one declaration per key. agent/config.c hands these sections to the hook
 * that `llmtap` registers at start-up (lt_cmd_proxy_config_hook), because
 * [backend.NAME] sections are dynamic, one per backend. The rest of what
 * the proxy needs ([store], [records], [upload]) is the agent's. */
#ifndef LT_PROXY_CFG_H
#define LT_PROXY_CFG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "../parsers/app.h"
#include "../records/records.h"
#include "backend.h"

#define LT_PROXY_MAX_BACKENDS 64
#define LT_PROXY_MAX_RETRY_ON 16

enum { LT_WHEN_ALL_COOLING_503 = 0, LT_WHEN_ALL_COOLING_PASS_429 = 1 };

typedef struct lt_proxy_backend_cfg {
    char *name;                 /* NAME of [backend.NAME] */
    char *url, *api_key_file, *ca_bundle;
    int priority, weight;
} lt_proxy_backend_cfg;

typedef struct lt_proxy_cfg {
    char *listen;               /* "host:port"; port 0 = any (printed at start) */
    int workers;                /* event loops, one per core */
    char *tls_cert, *tls_key;   /* both set: the listener speaks HTTPS */
    int max_attempts;           /* 0 = number of backends, at most 5 */
    int64_t max_cooldown_ms;    /* cap on a 429's Retry-After */
    int64_t default_cooldown_ms;/* a 429 without Retry-After */
    int when_all_cooling;       /* LT_WHEN_ALL_COOLING_* */
    char *retry_on_text;        /* "429,500,502,503,504" */
    int64_t connect_timeout_ms, first_byte_timeout_ms, idle_timeout_ms;
    size_t max_request_bytes, max_response_bytes;
    int breaker_failures;
    int64_t breaker_window_ms, breaker_open_ms;
    int64_t drain_timeout_ms;
    size_t log_queue_bytes;
    int log_calls;              /* 0: forward only, no records */
    lt_proxy_backend_cfg backends[LT_PROXY_MAX_BACKENDS];
    int n_backends;
    /* derived by lt_proxy_cfg_check() */
    int retry_on[LT_PROXY_MAX_RETRY_ON];
    int n_retry_on;
    lt_breaker_cfg breaker;
    /* the agent's settings the parsers and records need (copied in by cmd_proxy) */
    lt_parser_cfg parser;
    lt_record_cfg record;
} lt_proxy_cfg;

void lt_proxy_cfg_defaults(lt_proxy_cfg *c);
/* 1 for "proxy" and "backend.NAME". */
int lt_proxy_cfg_owns(const char *section);
/* One key of one of those sections: 0 ok, -1 with a reason in err. */
int lt_proxy_cfg_set(lt_proxy_cfg *c, const char *section, const char *key, const char *value,
                     char *err, size_t errlen);
/* The whole: at least one backend with a url, retry_on statuses, derived fields. */
int lt_proxy_cfg_check(lt_proxy_cfg *c, char *err, size_t errlen);
int lt_proxy_cfg_retryable(const lt_proxy_cfg *c, int status);
void lt_proxy_cfg_dump(const lt_proxy_cfg *c, FILE *out);
/* [proxy] and an example [backend.NAME], documented, for llmtap.conf. */
void lt_proxy_cfg_template(FILE *out);
void lt_proxy_cfg_free(lt_proxy_cfg *c);

#endif
