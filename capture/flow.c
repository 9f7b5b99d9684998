/* flow.c -- hash table + LRU list of TCP connections (see flow.h).
 *
 * The bucket array starts small and doubles as flows are added, up to twice
 * the table's maximum: sized for flows_max at once (65,536 flows by default:
 * 1 MiB of zeroed pointers per pipeline), it was 12% of the CPU time of a
 * short replay (page faults on this VM), made once per pipeline on the
 * thread that creates them before any frame is read. */
#include <stdlib.h>
#include <string.h>
#include "flow.h"

int lt_flow_table_init(lt_flow_table *t, size_t max)
{
    memset(t, 0, sizeof *t);
    size_t n = 1024;
    while (n < max * 2 && n < ((size_t)1 << 24)) n <<= 1;
    t->max_buckets = n;
    if (n > LT_FLOW_BUCKETS_MIN) n = LT_FLOW_BUCKETS_MIN;
    t->buckets = calloc(n, sizeof *t->buckets);
    if (!t->buckets) return -1;
    t->nbuckets = n;
    t->max = max;
    t->next_id = 1;
    return 0;
}

void lt_flow_table_free(lt_flow_table *t)
{
    free(t->buckets);
    t->buckets = NULL;
}

static int lt_ep_cmp(const lt_endpoint *a, const lt_endpoint *b)
{
    if (a->family != b->family) return a->family < b->family ? -1 : 1;
    if (a->family == 6) {
        int c = memcmp(a->addr, b->addr, 16);
        if (c) return c;
    } else { /* memcmp's order of 4 bytes: the big-endian numbers' order */
        uint32_t x, y;
        memcpy(&x, a->addr, 4);
        memcpy(&y, b->addr, 4);
        x = __builtin_bswap32(x);
        y = __builtin_bswap32(y);
        if (x != y) return x < y ? -1 : 1;
    }
    return a->port < b->port ? -1 : a->port > b->port;
}

/* lt_ep_cmp(a, b) == 0 without memcmp's call and order. */
static inline int lt_ep_eq(const lt_endpoint *a, const lt_endpoint *b)
{
    if (a->family != b->family || a->port != b->port) return 0;
    if (a->family == 6) return !memcmp(a->addr, b->addr, 16);
    uint32_t x, y;
    memcpy(&x, a->addr, 4);
    memcpy(&y, b->addr, 4);
    return x == y;
}

/* The address taken 4 bytes at a time, then the port (a multiply per word,
 * not per byte); lt_flow_bucket mixes the high bits down before masking. */
static inline uint64_t lt_ep_hash(const lt_endpoint *e, uint64_t h)
{
    static const uint64_t k = 0x9e3779b97f4a7c15ULL;
    uint32_t w[4];
    if (e->family == 6) {
        memcpy(w, e->addr, 16);
        h = (h ^ w[0]) * k;
        h = (h ^ w[1]) * k;
        h = (h ^ w[2]) * k;
        h = (h ^ w[3]) * k;
    } else {
        memcpy(w, e->addr, 4);
        h = (h ^ w[0]) * k;
    }
    return (h ^ e->port) * k;
}

static size_t lt_flow_bucket(const lt_flow_table *t, const lt_endpoint *a, const lt_endpoint *b)
{
    uint64_t h = lt_ep_hash(b, lt_ep_hash(a, 0xcbf29ce484222325ULL));
    h ^= h >> 32;
    h *= 0xff51afd7ed558ccdULL;
    return (size_t)(h ^ (h >> 29)) & (t->nbuckets - 1);
}

lt_flow *lt_flow_find(lt_flow_table *t, const lt_endpoint *src, const lt_endpoint *dst, int *side)
{
    lt_flow *f = t->last;
    if (f) { /* ep[0] is the lower endpoint: the side follows from which one src is */
        if (lt_ep_eq(&f->ep[0], src) && lt_ep_eq(&f->ep[1], dst)) { *side = 0; return f; }
        if (lt_ep_eq(&f->ep[0], dst) && lt_ep_eq(&f->ep[1], src)) { *side = 1; return f; }
    }
    int s = lt_ep_cmp(src, dst) > 0;
    const lt_endpoint *a = s ? dst : src, *b = s ? src : dst;
    for (f = t->buckets[lt_flow_bucket(t, a, b)]; f; f = f->hnext) {
        if (lt_ep_eq(&f->ep[0], a) && lt_ep_eq(&f->ep[1], b)) { *side = s; t->last = f; return f; }
    }
    return NULL;
}

static void lt_lru_unlink(lt_flow_table *t, lt_flow *f)
{
    if (f->lprev) f->lprev->lnext = f->lnext; else t->lru_head = f->lnext;
    if (f->lnext) f->lnext->lprev = f->lprev; else t->lru_tail = f->lprev;
    f->lprev = f->lnext = NULL;
}

static void lt_lru_append(lt_flow_table *t, lt_flow *f)
{
    f->lprev = t->lru_tail;
    f->lnext = NULL;
    if (t->lru_tail) t->lru_tail->lnext = f; else t->lru_head = f;
    t->lru_tail = f;
}

/* Twice the buckets, every flow relinked; without memory the chains just
 * grow longer (lookups stay correct). */
static void lt_flow_table_grow(lt_flow_table *t)
{
    size_t n = t->nbuckets * 2;
    lt_flow **b = calloc(n, sizeof *b), **old = t->buckets;
    if (!b) return;
    size_t on = t->nbuckets;
    t->buckets = b;
    t->nbuckets = n;
    for (size_t i = 0; i < on; i++)
        for (lt_flow *f = old[i], *next; f; f = next) {
            next = f->hnext;
            size_t k = lt_flow_bucket(t, &f->ep[0], &f->ep[1]);
            f->hnext = b[k];
            b[k] = f;
        }
    free(old);
}

lt_flow *lt_flow_create(lt_flow_table *t, const lt_endpoint *src, const lt_endpoint *dst,
                        lt_time_us ts, int *side)
{
    lt_flow *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    int s = lt_ep_cmp(src, dst) > 0;
    f->ep[0] = s ? *dst : *src;
    f->ep[1] = s ? *src : *dst;
    *side = s;
    lt_tcp_dir_init(&f->dir[0]);
    lt_tcp_dir_init(&f->dir[1]);
    f->last_ts = ts;
    f->info.conn_id = t->next_id++;
    f->info.start_ts = ts;
    size_t b = lt_flow_bucket(t, &f->ep[0], &f->ep[1]);
    f->hnext = t->buckets[b];
    t->buckets[b] = f;
    lt_lru_append(t, f);
    t->count++;
    if (t->count > t->nbuckets && t->nbuckets < t->max_buckets) lt_flow_table_grow(t);
    return f;
}

void lt_flow_touch(lt_flow_table *t, lt_flow *f, lt_time_us ts)
{
    if (ts > f->last_ts) f->last_ts = ts;
    if (t->lru_tail != f) { lt_lru_unlink(t, f); lt_lru_append(t, f); }
}

void lt_flow_remove(lt_flow_table *t, lt_flow *f)
{
    lt_flow **pp = &t->buckets[lt_flow_bucket(t, &f->ep[0], &f->ep[1])];
    while (*pp && *pp != f) pp = &(*pp)->hnext;
    if (*pp) *pp = f->hnext;
    if (t->last == f) t->last = NULL;
    lt_lru_unlink(t, f);
    t->count--;
    free(f);
}
