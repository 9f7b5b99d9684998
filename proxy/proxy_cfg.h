/* proxy_cfg.h -- the settings of `llmtap proxy`: [proxy], [backend.NAME],
 * plus the few agent keys the proxy needs ([store] path, [records],
 * [upload]), read from the same llmtap.conf with inih.
 *
 * The proxy reads its own sections here because [backend.NAME] sections are
 * dynamic (one per backend) and the agent's configuration table did not yet
 * have a slot for them when this was written; sections of other modules are
 * skipped so one file serves the tap and the proxy. Every key is documented
 * in packaging/llmtap.conf. */
#ifndef LT_PROXY_CFG_H
#define LT_PROXY_CFG_H

#include <stddef.h>
#include <stdint.h>
#include "../parsers/app.h"
#include "../records/records.h"
#include "../uploader/upload_cfg.h"
#include "backend.h"

#define LT_PROXY_MAX_BACKENDS 64
#define LT_PROXY_MAX_RETRY_ON 16

enum { LT_WHEN_ALL_COOLING_503 = 0, LT_WHEN_ALL_COOLING_PASS_429 = 1 };

typedef struct lt_proxy_backend_cfg {
    char *name, *url, *api_key_file, *ca_bundle;
    int priority, weight;
} lt_proxy_backend_cfg;

typedef struct lt_proxy_cfg {
    char *listen;               /* "host:port" (default 127.0.0.1:8080); port 0 = any */
    int workers;                /* event loops, one per core (default 1) */
    char *tls_cert, *tls_key;   /* both set: the listener speaks HTTPS */
    int max_attempts;           /* 0 = number of backends, at most 5 */
    int64_t max_cooldown_ms;    /* cap on a 429's Retry-After (60 s) */
    int64_t default_cooldown_ms;/* a 429 without Retry-After (1 s) */
    int when_all_cooling;       /* LT_WHEN_ALL_COOLING_* */
    int retry_on[LT_PROXY_MAX_RETRY_ON];  /* statuses that fail over (429 500 502 503 504) */
    int n_retry_on;
    int64_t connect_timeout_ms, first_byte_timeout_ms, idle_timeout_ms;
    size_t max_request_bytes, max_response_bytes;
    lt_breaker_cfg breaker;
    int64_t drain_timeout_ms;   /* SIGTERM: in-flight calls get this long (30 s) */
    size_t log_queue_bytes;     /* bytes waiting for the parsers before counted drops (64 MiB) */
    lt_proxy_backend_cfg backends[LT_PROXY_MAX_BACKENDS];
    int n_backends;
    /* agent keys the proxy uses */
    char *db_path;              /* [store] path */
    lt_parser_cfg parser;
    lt_record_cfg record;
    lt_upload_cfg upload;
} lt_proxy_cfg;

void lt_proxy_cfg_defaults(lt_proxy_cfg *c);
/* One key of a section; 0 ok, 1 not the proxy's section (ignored), -1 with err. */
int lt_proxy_cfg_set(lt_proxy_cfg *c, const char *section, const char *key, const char *value,
                     char *err, size_t errlen);
/* Reads path over the defaults: 0 ok, -1 with "path:line: reason" in err. */
int lt_proxy_cfg_load(lt_proxy_cfg *c, const char *path, char *err, size_t errlen);
/* Checks the whole: at least one backend with a url, key file readable... */
int lt_proxy_cfg_check(lt_proxy_cfg *c, char *err, size_t errlen);
int lt_proxy_cfg_retryable(const lt_proxy_cfg *c, int status);
void lt_proxy_cfg_free(lt_proxy_cfg *c);

#endif
