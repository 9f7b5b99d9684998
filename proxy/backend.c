/* backend.c -- balancing, cooldown and circuit breaker of the inline proxy,
 * as pure functions of the backend state and an explicit "now" (see
 * backend.h for the rules). HTTP dates in Retry-After are parsed with
 * libcurl's curl_getdate (RFC 9110 IMF-fixdate and the obsolete forms). */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "backend.h"

void lt_backend_breaker_defaults(lt_breaker_cfg *c)
{
    c->failures = 5;
    c->window_us = 10 * 1000000LL;
    c->open_us = 30 * 1000000LL;
}

int lt_backend_available(const lt_backend *b, lt_time_us now)
{
    if (b->cool_until > now) return 0;
    if (b->breaker == LT_BREAKER_CLOSED) return 1;
    return b->open_until <= now && !b->probe_inflight;
}

/* Lowest priority number among available, not skipped backends; 0 if none. */
static int lt_backend_best_priority(const lt_backend *pool, int n, const uint8_t *skip, lt_time_us now)
{
    int best = 0;
    for (int i = 0; i < n; i++) {
        if ((skip && skip[i]) || !lt_backend_available(&pool[i], now)) continue;
        if (!best || pool[i].priority < best) best = pool[i].priority;
    }
    return best;
}

int lt_backend_pick(lt_backend *pool, int n, const uint8_t *skip, lt_time_us now)
{
    int prio = lt_backend_best_priority(pool, n, skip, now), pick = -1;
    if (!prio) return -1;
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        lt_backend *b = &pool[i];
        if (b->priority != prio || (skip && skip[i]) || !lt_backend_available(b, now)) continue;
        b->current += b->weight;
        total += b->weight;
        if (pick < 0 || b->current > pool[pick].current) pick = i;
    }
    lt_backend *b = &pool[pick];
    b->current -= total;
    if (b->breaker != LT_BREAKER_CLOSED) { b->breaker = LT_BREAKER_HALF_OPEN; b->probe_inflight = 1; }
    return pick;
}

lt_time_us lt_backend_next_ready(const lt_backend *pool, int n, lt_time_us now)
{
    lt_time_us best = 0;
    for (int i = 0; i < n; i++) {
        const lt_backend *b = &pool[i];
        if (lt_backend_available(b, now)) return now;
        lt_time_us t = b->cool_until > now ? b->cool_until : now;
        if (b->breaker != LT_BREAKER_CLOSED && b->open_until > t) t = b->open_until;
        if (!best || t < best) best = t;
    }
    return best ? best : now;
}

/* A non-negative decimal (fractions allowed in the -ms forms); -1 if not one. */
static int64_t lt_backend_number(const char *v, int64_t scale)
{
    if (!v) return -1;
    while (*v == ' ' || *v == '\t') v++;
    if (*v < '0' || *v > '9') return -1;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (errno || *end || d < 0 || d > 9.0e12) return -1;
    return (int64_t)(d * (double)scale + 0.999);
}

int64_t lt_backend_retry_after_ms(const char *retry_after_ms, const char *x_ms_retry_after_ms,
                                  const char *retry_after, lt_time_us now)
{
    int64_t ms = lt_backend_number(retry_after_ms, 1);
    if (ms >= 0) return ms;
    ms = lt_backend_number(x_ms_retry_after_ms, 1);
    if (ms >= 0) return ms;
    if (!retry_after) return -1;
    ms = lt_backend_number(retry_after, 1000);
    if (ms >= 0) return ms;
    time_t t = curl_getdate(retry_after, NULL);
    if (t == (time_t)-1) return -1;
    int64_t d = (int64_t)t * 1000 - now / 1000;
    return d > 0 ? d : 0;
}

void lt_backend_cool(lt_backend *b, int64_t ms, int64_t default_ms, int64_t cap_ms, lt_time_us now)
{
    if (ms < 0) ms = default_ms;
    if (ms > cap_ms) ms = cap_ms;
    b->cool_until = now + ms * 1000;
    b->responses_429++;
}

/* Forgets failures older than the window. */
static void lt_backend_trim(lt_backend *b, const lt_breaker_cfg *c, lt_time_us now)
{
    int k = 0;
    while (k < b->nfails && b->fails[k] <= now - c->window_us) k++;
    if (k) memmove(b->fails, b->fails + k, (size_t)(b->nfails - k) * sizeof b->fails[0]);
    b->nfails -= k;
}

static void lt_backend_open(lt_backend *b, const lt_breaker_cfg *c, lt_time_us now)
{
    b->breaker = LT_BREAKER_OPEN;
    b->open_until = now + c->open_us;
    b->nfails = 0;
    b->breaker_opens++;
}

void lt_backend_result(lt_backend *b, const lt_breaker_cfg *c, int failed, lt_time_us now)
{
    int was_probe = b->probe_inflight;
    b->probe_inflight = 0;
    if (b->breaker != LT_BREAKER_CLOSED && was_probe) {
        if (failed) lt_backend_open(b, c, now);
        else { b->breaker = LT_BREAKER_CLOSED; b->nfails = 0; }
        return;
    }
    if (!failed || b->breaker != LT_BREAKER_CLOSED) return;
    lt_backend_trim(b, c, now);
    if (b->nfails == LT_BACKEND_FAIL_RING) {
        memmove(b->fails, b->fails + 1, (size_t)(b->nfails - 1) * sizeof b->fails[0]);
        b->nfails--;
    }
    b->fails[b->nfails++] = now;
    if (b->nfails >= c->failures) lt_backend_open(b, c, now);
}

void lt_backend_probe_cancel(lt_backend *b)
{
    b->probe_inflight = 0;
}

void lt_backend_latency(lt_backend *b, uint32_t ms)
{
    b->lat_ms[b->nlat++ % LT_BACKEND_LAT_RING] = ms;
}

static int lt_backend_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the latency ring; -1 when empty. */
static json_t *lt_backend_percentile(const lt_backend *b, int pct)
{
    size_t n = b->nlat < LT_BACKEND_LAT_RING ? (size_t)b->nlat : LT_BACKEND_LAT_RING;
    if (!n) return json_null();
    uint32_t tmp[LT_BACKEND_LAT_RING];
    memcpy(tmp, b->lat_ms, n * sizeof tmp[0]);
    qsort(tmp, n, sizeof tmp[0], lt_backend_cmp_u32);
    size_t rank = (n * (size_t)pct + 99) / 100;
    return json_integer(tmp[rank ? rank - 1 : 0]);
}

json_t *lt_backend_json(const lt_backend *b, lt_time_us now)
{
    static const char *states[] = {"closed", "open", "half_open"};
    char iso[40];
    json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:I,s:I,s:I,s:I,s:s,s:I}", "name", b->name, "url", b->url,
                          "priority", b->priority, "weight", b->weight, "requests", (json_int_t)b->requests,
                          "responses_429", (json_int_t)b->responses_429, "responses_5xx",
                          (json_int_t)b->responses_5xx, "errors", (json_int_t)b->errors, "breaker",
                          states[b->breaker], "breaker_opens", (json_int_t)b->breaker_opens);
    json_object_set_new(o, "cooling_until",
                        b->cool_until > now ? json_string(lt_time_iso(b->cool_until, iso, sizeof iso)) : json_null());
    json_object_set_new(o, "conns_opened", json_integer((json_int_t)__atomic_load_n(&b->conns_opened, __ATOMIC_RELAXED)));
    json_object_set_new(o, "conns_reused", json_integer((json_int_t)__atomic_load_n(&b->conns_reused, __ATOMIC_RELAXED)));
    json_object_set_new(o, "conns_stale", json_integer((json_int_t)__atomic_load_n(&b->conns_stale, __ATOMIC_RELAXED)));
    json_object_set_new(o, "latency_p50_ms", lt_backend_percentile(b, 50));
    json_object_set_new(o, "latency_p99_ms", lt_backend_percentile(b, 99));
    return o;
}
