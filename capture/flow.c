/* flow.c -- hash table + LRU list of TCP connections (see flow.h). */
#include <stdlib.h>
#include <string.h>
#include "flow.h"

int lt_flow_table_init(lt_flow_table *t, size_t max)
{
    memset(t, 0, sizeof *t);
    size_t n = 1024;
    while (n < max * 2 && n < ((size_t)1 << 24)) n <<= 1;
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
    int c = memcmp(a->addr, b->addr, a->family == 6 ? 16 : 4);
    if (c) return c;
    return a->port < b->port ? -1 : a->port > b->port;
}

static int lt_ep_eq(const lt_endpoint *a, const lt_endpoint *b) { return lt_ep_cmp(a, b) == 0; }

static uint64_t lt_ep_hash(const lt_endpoint *e, uint64_t h)
{
    size_t n = e->family == 6 ? 16 : 4;
    for (size_t i = 0; i < n; i++) h = (h ^ e->addr[i]) * 0x100000001b3ULL;
    h = (h ^ e->port) * 0x100000001b3ULL;
    return h;
}

static size_t lt_flow_bucket(const lt_flow_table *t, const lt_endpoint *a, const lt_endpoint *b)
{
    uint64_t h = lt_ep_hash(b, lt_ep_hash(a, 0xcbf29ce484222325ULL));
    return (size_t)(h ^ (h >> 29)) & (t->nbuckets - 1);
}

lt_flow *lt_flow_find(lt_flow_table *t, const lt_endpoint *src, const lt_endpoint *dst, int *side)
{
    int s = lt_ep_cmp(src, dst) > 0;
    const lt_endpoint *a = s ? dst : src, *b = s ? src : dst;
    for (lt_flow *f = t->buckets[lt_flow_bucket(t, a, b)]; f; f = f->hnext) {
        if (lt_ep_eq(&f->ep[0], a) && lt_ep_eq(&f->ep[1], b)) { *side = s; return f; }
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
    lt_lru_unlink(t, f);
    t->count--;
    free(f);
}
