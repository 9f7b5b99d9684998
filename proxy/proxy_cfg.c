/* proxy_cfg.c -- the [proxy] and [backend.NAME] tables (see proxy_cfg.h).
 * Key names, types, defaults, ranges and descriptions live only here; the
 * confmap engine parses, validates, dumps and documents them. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../common/confmap.h"
#include "proxy_cfg.h"

#define PAT(f) LT_CONFMAP_AT(lt_proxy_cfg, f)
#define BAT(f) LT_CONFMAP_AT(lt_proxy_backend_cfg, f)
#define MS LT_CONFMAP_MS

static const char *const lt_cooling_values[] = {"503", "pass_429", NULL};

static const lt_confmap_entry lt_proxy_map[] = {
    {.key = "listen", .type = LT_CONFMAP_STR, .def = "127.0.0.1:8080", PAT(listen),
     .desc = "Address:port the proxy listens on (HTTP, or HTTPS with tls_cert and tls_key). Port 0: any free port, printed at start."},
    {.key = "workers", .type = LT_CONFMAP_INT, .def = "1", PAT(workers), .lo = 1, .hi = 64,
     .desc = "Event loops (threads), one per core; each has its own SO_REUSEPORT listening socket."},
    {.key = "tls_cert", .type = LT_CONFMAP_STR, .def = "", PAT(tls_cert),
     .desc = "PEM certificate chain of the listener; with tls_key the proxy speaks HTTPS (ALPN h2, http/1.1: HTTP/2 clients get HTTP/2)."},
    {.key = "tls_key", .type = LT_CONFMAP_STR, .def = "", PAT(tls_key), .desc = "PEM private key of the listener."},
    {.key = "max_attempts", .type = LT_CONFMAP_INT, .def = "0", PAT(max_attempts), .lo = 0, .hi = 5,
     .desc = "Backends tried per call (failover on 429, retry_on statuses, connect errors, first-byte timeouts); 0 = the number of backends, at most 5."},
    {.key = "max_cooldown", .type = LT_CONFMAP_DURATION, .def = "60s", PAT(max_cooldown_ms), .flags = MS, .lo = 0, .hi = 86400000,
     .desc = "Longest time a 429 keeps a backend cooling, whatever its Retry-After says (quota errors say 86400 s)."},
    {.key = "default_cooldown", .type = LT_CONFMAP_DURATION, .def = "1s", PAT(default_cooldown_ms), .flags = MS, .lo = 0, .hi = 3600000,
     .desc = "Cooldown after a 429 without retry-after-ms, x-ms-retry-after-ms or Retry-After."},
    {.key = "when_all_cooling", .type = LT_CONFMAP_ENUM, .def = "503", PAT(when_all_cooling), .values = lt_cooling_values,
     .desc = "When every backend is cooling or its breaker is open: 503 (JSON error NO_BACKEND_AVAILABLE with Retry-After) or pass_429 (the last backend 429 as it came)."},
    {.key = "retry_on", .type = LT_CONFMAP_STR, .def = "429,500,502,503,504", PAT(retry_on_text),
     .desc = "Backend statuses that fail over to the next backend (before any byte reached the client)."},
    {.key = "connect_timeout", .type = LT_CONFMAP_DURATION, .def = "5s", PAT(connect_timeout_ms), .flags = MS, .lo = 1, .hi = 3600000,
     .desc = "Connecting to a backend (TCP connect) may take this long before failing over."},
    {.key = "first_byte_timeout", .type = LT_CONFMAP_DURATION, .def = "120s", PAT(first_byte_timeout_ms), .flags = MS, .lo = 1, .hi = 3600000,
     .desc = "From sending the request to the backend's response head; then the call fails over."},
    {.key = "idle_timeout", .type = LT_CONFMAP_DURATION, .def = "120s", PAT(idle_timeout_ms), .flags = MS, .lo = 1, .hi = 3600000,
     .desc = "Longest silence on a client or backend connection (between stream chunks too)."},
    {.key = "max_request_size", .type = LT_CONFMAP_SIZE, .def = "16M", PAT(max_request_bytes), .lo = 1, .hi = 1LL << 40,
     .desc = "Larger request bodies get 413 REQUEST_TOO_LARGE from the proxy."},
    {.key = "max_response_size", .type = LT_CONFMAP_SIZE, .def = "256M", PAT(max_response_bytes), .lo = 1, .hi = 1LL << 40,
     .desc = "A backend response announcing more gets 502 RESPONSE_TOO_LARGE; a stream growing past it is cut."},
    {.key = "breaker_failures", .type = LT_CONFMAP_INT, .def = "5", PAT(breaker_failures), .lo = 1, .hi = LT_BACKEND_FAIL_RING,
     .desc = "5xx answers, connect errors and timeouts within breaker_window that open a backend's circuit breaker (429s only cool)."},
    {.key = "breaker_window", .type = LT_CONFMAP_DURATION, .def = "10s", PAT(breaker_window_ms), .flags = MS, .lo = 1, .hi = 3600000,
     .desc = "Window in which breaker_failures are counted."},
    {.key = "breaker_open", .type = LT_CONFMAP_DURATION, .def = "30s", PAT(breaker_open_ms), .flags = MS, .lo = 1, .hi = 3600000,
     .desc = "An open breaker keeps its backend out this long, then lets one probe call through."},
    {.key = "drain_timeout", .type = LT_CONFMAP_DURATION, .def = "30s", PAT(drain_timeout_ms), .flags = MS, .lo = 0, .hi = 3600000,
     .desc = "On SIGTERM: calls in flight get this long to finish before their connections are closed."},
    {.key = "log_queue_size", .type = LT_CONFMAP_SIZE, .def = "64M", PAT(log_queue_bytes), .lo = 65536, .hi = 1LL << 40,
     .desc = "Bytes of traffic waiting for the parsers; beyond it bytes are not logged (counted, the call marked incomplete), never delayed."},
    {.key = "log_calls", .type = LT_CONFMAP_BOOL, .def = "true", PAT(log_calls),
     .desc = "Log every call through the parsers into records (the point of the proxy); false forwards only (for measuring the logging's cost)."},
    {0},
};

static const lt_confmap_entry lt_backend_map[] = {
    {.key = "url", .type = LT_CONFMAP_URL, .def = "", BAT(url), .flags = LT_CONFMAP_HTTP_OK | LT_CONFMAP_REQUIRED,
     .desc = "Base URL: https://NAME.openai.azure.com or any OpenAI-compatible base; http:// only for local sidecars and tests. TLS is always verified."},
    {.key = "priority", .type = LT_CONFMAP_INT, .def = "1", BAT(priority), .lo = 1, .hi = 1000,
     .desc = "1 = first: calls go to the lowest priority number that has an available backend."},
    {.key = "weight", .type = LT_CONFMAP_INT, .def = "1", BAT(weight), .lo = 1, .hi = 1000,
     .desc = "Share of calls within its priority group (smooth weighted round robin)."},
    {.key = "api_key_file", .type = LT_CONFMAP_STR, .def = "", BAT(api_key_file),
     .desc = "File (0600) holding this backend's api-key; the proxy sets it on every forwarded call. Empty: the client's key is passed."},
    {.key = "ca_bundle", .type = LT_CONFMAP_STR, .def = "", BAT(ca_bundle),
     .desc = "Extra CA certificates (PEM) trusted for this backend, for private CAs; the system CAs stay trusted."},
    {0},
};

void lt_proxy_cfg_defaults(lt_proxy_cfg *c)
{
    char err[200];
    memset(c, 0, sizeof *c);
    lt_confmap_defaults(lt_proxy_map, c, err, sizeof err);
    lt_parser_cfg_defaults(&c->parser);
    lt_record_cfg_defaults(&c->record);
}

int lt_proxy_cfg_owns(const char *section)
{
    return !strcmp(section, "proxy") || !strncmp(section, "backend.", 8);
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

static lt_proxy_backend_cfg *lt_pc_backend(lt_proxy_cfg *c, const char *name)
{
    for (int i = 0; i < c->n_backends; i++)
        if (!strcmp(c->backends[i].name, name)) return &c->backends[i];
    if (c->n_backends == LT_PROXY_MAX_BACKENDS) return NULL;
    lt_proxy_backend_cfg *b = &c->backends[c->n_backends++];
    char err[200];
    lt_confmap_defaults(lt_backend_map, b, err, sizeof err);
    b->name = strdup(name);
    return b;
}

int lt_proxy_cfg_set(lt_proxy_cfg *c, const char *section, const char *key, const char *value,
                     char *err, size_t errlen)
{
    if (!strcmp(section, "proxy")) return lt_confmap_set(lt_proxy_map, c, section, key, value, err, errlen);
    const char *name = section + 8;
    if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != strlen(name))
        return lt_pc_fail(err, errlen, "[%s]: a backend name is letters, digits, - and _", section);
    lt_proxy_backend_cfg *b = lt_pc_backend(c, name);
    if (!b) return lt_pc_fail(err, errlen, "more than %d backends", LT_PROXY_MAX_BACKENDS);
    return lt_confmap_set(lt_backend_map, b, section, key, value, err, errlen);
}

static int lt_pc_retry_on(lt_proxy_cfg *c, char *err, size_t n)
{
    c->n_retry_on = 0;
    const char *p = c->retry_on_text ? c->retry_on_text : "";
    while (*p) {
        char *end;
        long s = strtol(p, &end, 10);
        if (end == p || s < 400 || s > 599 || c->n_retry_on == LT_PROXY_MAX_RETRY_ON)
            return lt_pc_fail(err, n, "[proxy] retry_on: expected up to 16 statuses 400-599, got '%s'", c->retry_on_text);
        c->retry_on[c->n_retry_on++] = (int)s;
        p = end + strspn(end, " ,");
    }
    return 0;
}

int lt_proxy_cfg_check(lt_proxy_cfg *c, char *err, size_t errlen)
{
    if (!c->n_backends) return lt_pc_fail(err, errlen, "no [backend.NAME] section: nothing to forward to");
    for (int i = 0; i < c->n_backends; i++) {
        lt_proxy_backend_cfg *b = &c->backends[i];
        char section[80];
        snprintf(section, sizeof section, "backend.%s", b->name);
        if (lt_confmap_check(lt_backend_map, b, section, err, errlen) < 0) return -1;
        if (b->api_key_file && access(b->api_key_file, R_OK))
            return lt_pc_fail(err, errlen, "[backend.%s] api_key_file %s: %m", b->name, b->api_key_file);
    }
    if (!!c->tls_cert != !!c->tls_key) return lt_pc_fail(err, errlen, "[proxy] tls_cert and tls_key go together");
    if (!c->max_attempts) c->max_attempts = c->n_backends < 5 ? c->n_backends : 5;
    c->breaker.failures = c->breaker_failures;
    c->breaker.window_us = c->breaker_window_ms * 1000;
    c->breaker.open_us = c->breaker_open_ms * 1000;
    return lt_pc_retry_on(c, err, errlen);
}

int lt_proxy_cfg_retryable(const lt_proxy_cfg *c, int status)
{
    for (int i = 0; i < c->n_retry_on; i++) if (c->retry_on[i] == status) return 1;
    return 0;
}

void lt_proxy_cfg_dump(const lt_proxy_cfg *c, FILE *out)
{
    lt_confmap_dump(lt_proxy_map, c, "proxy", out);
    for (int i = 0; i < c->n_backends; i++) {
        char section[80];
        snprintf(section, sizeof section, "backend.%s", c->backends[i].name);
        fputc('\n', out);
        lt_confmap_dump(lt_backend_map, &c->backends[i], section, out);
    }
}

void lt_proxy_cfg_template(FILE *out)
{
    lt_proxy_cfg c;
    lt_proxy_cfg_defaults(&c);
    lt_confmap_template(lt_proxy_map, &c, "proxy", out);
    fputs("\n; One section per Azure OpenAI backend of `llmtap proxy`; NAME becomes the\n"
          "; gateway record's BackendId. See README, \"Inline mode\".\n", out);
    lt_proxy_backend_cfg b;
    memset(&b, 0, sizeof b);
    char err[200];
    lt_confmap_defaults(lt_backend_map, &b, err, sizeof err);
    lt_confmap_template(lt_backend_map, &b, "backend.NAME", out);
    lt_confmap_free(lt_backend_map, &b);
    lt_proxy_cfg_free(&c);
}

void lt_proxy_cfg_free(lt_proxy_cfg *c)
{
    lt_confmap_free(lt_proxy_map, c);
    for (int i = 0; i < c->n_backends; i++) {
        lt_confmap_free(lt_backend_map, &c->backends[i]);
        free(c->backends[i].name);
    }
    c->n_backends = 0;
}
