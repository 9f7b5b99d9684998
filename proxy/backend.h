/* backend.h -- the state of one Azure OpenAI backend and the pure decisions
 * the proxy takes about it: which backend serves the next attempt, how long
 * a 429 cools a backend, when the circuit breaker opens and half-opens.
 *
 * Everything here is a pure function of the state and an explicit "now"
 * (microseconds, from lt_clock_now_us() in the proxy, any value in tests),
 * so balancing, cooldown and breaker are tested without sockets or sleeps.
 * The proxy serialises calls on one pool with its own mutex.
 *
 * Balancing is APIM's backend pool: the lowest priority number that has an
 * available backend wins; inside it, smooth weighted round robin (nginx's
 * algorithm: every pick adds each weight to its current value, takes the
 * largest and subtracts the group's total from it), which is plain round
 * robin when weights are equal. A backend is unavailable while cooling
 * (429 + Retry-After, capped) or while its breaker is open; after the open
 * period one probe request is let through (half-open): success closes the
 * breaker, failure opens it again. */
#ifndef LT_BACKEND_H
#define LT_BACKEND_H

#include <stdint.h>
#include <jansson.h>
#include "../common/lt.h"

enum lt_breaker_state { LT_BREAKER_CLOSED = 0, LT_BREAKER_OPEN = 1, LT_BREAKER_HALF_OPEN = 2 };

#define LT_BACKEND_FAIL_RING 64
#define LT_BACKEND_LAT_RING 1024

typedef struct lt_breaker_cfg {
    int failures;          /* failures within window that open the breaker (default 5) */
    int64_t window_us;     /* default 10 s */
    int64_t open_us;       /* default 30 s */
} lt_breaker_cfg;

typedef struct lt_backend {
    char *name;            /* [backend.NAME] */
    char *url;             /* base URL as configured */
    int priority;          /* 1 = first */
    int weight;            /* >= 1 */
    /* balancing and health */
    int64_t current;       /* smooth weighted round robin */
    lt_time_us cool_until; /* 429 cooldown end; 0 = not cooling */
    int breaker;           /* enum lt_breaker_state */
    lt_time_us open_until;
    int probe_inflight;
    lt_time_us fails[LT_BACKEND_FAIL_RING];
    int nfails;            /* entries used in fails (newest at the end) */
    /* counters for status / metrics */
    uint64_t requests, responses_429, responses_5xx, errors, breaker_opens;
    /* keep-alive (updated atomically by the workers, outside the mutex) */
    uint64_t conns_opened;   /* connections opened */
    uint64_t conns_reused;   /* requests sent on a pooled connection */
    uint64_t conns_stale;    /* pooled connections that failed before any response byte (retried on a fresh one) */
    uint32_t lat_ms[LT_BACKEND_LAT_RING];
    uint64_t nlat;
} lt_backend;

void lt_backend_breaker_defaults(lt_breaker_cfg *c);

/* Can b take an attempt now? (not cooling, breaker closed or due for a probe) */
int lt_backend_available(const lt_backend *b, lt_time_us now);

/* Picks the backend for the next attempt among the n of pool, skipping those
 * with skip[i] set (already tried for this request; skip may be NULL).
 * Returns its index, or -1 when none is available. Updates the round-robin
 * state and marks a half-open probe. */
int lt_backend_pick(lt_backend *pool, int n, const uint8_t *skip, lt_time_us now);

/* Earliest time at which some backend of the pool becomes available again
 * (now if one already is). */
lt_time_us lt_backend_next_ready(const lt_backend *pool, int n, lt_time_us now);

/* The cooldown a 429 asks for, in milliseconds, from its headers (NULL when
 * absent): retry-after-ms, then x-ms-retry-after-ms, then Retry-After
 * (delta seconds or an HTTP date, relative to now). -1 when none parses. */
int64_t lt_backend_retry_after_ms(const char *retry_after_ms, const char *x_ms_retry_after_ms,
                                  const char *retry_after, lt_time_us now);

/* A 429 answered: cool until now + ms, capped at cap_ms (ms < 0: default_ms). */
void lt_backend_cool(lt_backend *b, int64_t ms, int64_t default_ms, int64_t cap_ms, lt_time_us now);

/* The outcome of an attempt: failed = 5xx in the retry set, connect error or
 * timeout (429 is not a failure: it only cools). Updates the breaker. */
void lt_backend_result(lt_backend *b, const lt_breaker_cfg *c, int failed, lt_time_us now);

/* Releases a half-open probe that ended without an outcome (cancelled). */
void lt_backend_probe_cancel(lt_backend *b);

/* Records the latency of an answered attempt (ms) for the p50/p99 figures. */
void lt_backend_latency(lt_backend *b, uint32_t ms);

/* {"name":..,"url":..,"priority":..,"weight":..,"requests":..,"responses_429":..,
 *  "responses_5xx":..,"errors":..,"cooling_until":ISO|null,"breaker":"closed|open|half_open",
 *  "breaker_opens":..,"latency_p50_ms":..,"latency_p99_ms":..} */
json_t *lt_backend_json(const lt_backend *b, lt_time_us now);

#endif
