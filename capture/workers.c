/* workers.c -- flows spread over N pipelines on N threads (see workers.h).
 *
 * A flow goes to the worker that has been given the fewest bytes so far when
 * its first packet is read, and stays there (a table of flows seen, keyed by
 * both endpoints in a fixed order so both directions find it): a file's
 * flows are known one at a time, and a hash of a few dozen long connections
 * splits them unevenly (36/28 of 64 leaves one core idle a quarter of the
 * time) where least-loaded placement keeps the workers within a flow of each
 * other. Past LT_FLOWMAP_MAX/2 flows the table stops growing and new flows
 * are hashed.
 *
 * Packets are packed into per-worker batches (a header per packet, then its
 * bytes); a batch of LT_BATCH_BYTES is handed to the worker through a ring of
 * LT_QUEUE batches guarded by one mutex and two condition variables per
 * worker. The reader waits when a worker's ring is full, so at most
 * (LT_QUEUE + 2) batches per worker are in memory whatever the file size.
 * The N pipelines share one memory budget (common/membudget.h): the ceiling
 * is the process's, not each worker's. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/membudget.h"
#include "decode.h"
#include "workers.h"

#define LT_BATCH_BYTES (256u << 10)
#define LT_QUEUE 16                 /* 4 MiB per worker: rides out bursts of one worker's flows */
#define LT_SPARE 4                  /* used batch buffers a worker hands back to the reader */
#define LT_FLOWMAP_MAX (1u << 19)   /* slots: up to 262,144 flows placed by load (~23 MiB) */

typedef struct lt_flowkey {
    lt_endpoint a, b;               /* a <= b */
} lt_flowkey;

typedef struct lt_flowslot {
    lt_flowkey k;
    uint32_t hash;
    int16_t worker;                 /* -1: empty */
} lt_flowslot;

typedef struct lt_pkt_hdr {
    lt_time_us ts;
    uint32_t caplen;
    int32_t linktype;
} lt_pkt_hdr;

typedef struct lt_batch {
    uint8_t *data;
    size_t len, cap;
} lt_batch;

typedef struct lt_worker {
    pthread_t th;
    lt_pipeline *pl;
    pthread_mutex_t mu;
    pthread_cond_t more, room;
    lt_batch q[LT_QUEUE];
    int head, count, done;
    lt_batch cur;           /* being filled by the reader */
    uint8_t *spare[LT_SPARE];   /* batch buffers back from the worker, reused by the reader:
                                 * a fresh 256 KB malloc per batch is an mmap and page faults
                                 * on the reader's thread, freed on another */
    int nspare;
    uint64_t given;         /* bytes handed to this worker so far */
    int started;
} lt_worker;

struct lt_workers {
    int n;
    lt_membudget *budget;   /* shared by the pipelines when the caller brought none */
    lt_flowslot *map;       /* flows placed so far (open addressing) */
    size_t map_cap, map_used;
    lt_worker w[LT_WORKERS_MAX];
};

static void lt_worker_run_batch(lt_worker *wk, const lt_batch *b)
{
    size_t off = 0;
    while (off + sizeof(lt_pkt_hdr) <= b->len) {
        lt_pkt_hdr h;
        memcpy(&h, b->data + off, sizeof h);
        off += sizeof h;
        lt_pipeline_packet(wk->pl, h.linktype, b->data + off, h.caplen, h.ts);
        off += h.caplen;
    }
}

static void *lt_worker_main(void *arg)
{
    lt_worker *wk = arg;
    for (;;) {
        pthread_mutex_lock(&wk->mu);
        while (!wk->count && !wk->done) pthread_cond_wait(&wk->more, &wk->mu);
        if (!wk->count) { pthread_mutex_unlock(&wk->mu); break; }
        lt_batch b = wk->q[wk->head];
        wk->head = (wk->head + 1) % LT_QUEUE;
        wk->count--;
        pthread_cond_signal(&wk->room);
        pthread_mutex_unlock(&wk->mu);
        lt_worker_run_batch(wk, &b);
        pthread_mutex_lock(&wk->mu);
        if (b.cap == LT_BATCH_BYTES && wk->nspare < LT_SPARE) {
            wk->spare[wk->nspare++] = b.data;
            b.data = NULL;
        }
        pthread_mutex_unlock(&wk->mu);
        free(b.data);
    }
    return NULL;
}

/* Hands the reader's current batch to the worker (waits while its ring is full). */
static void lt_worker_push(lt_worker *wk)
{
    if (!wk->cur.len || !wk->started) return;
    pthread_mutex_lock(&wk->mu);
    while (wk->count == LT_QUEUE) pthread_cond_wait(&wk->room, &wk->mu);
    wk->q[(wk->head + wk->count) % LT_QUEUE] = wk->cur;
    wk->count++;
    pthread_cond_signal(&wk->more);
    pthread_mutex_unlock(&wk->mu);
    wk->cur.data = NULL;
    wk->cur.len = wk->cur.cap = 0;
}

lt_workers *lt_workers_create(int n, const lt_pipeline_cfg *cfg, lt_record_cb cb, void *ud)
{
    if (n < 2 || n > LT_WORKERS_MAX) return NULL;
    lt_workers *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    lt_pipeline_cfg pc = *cfg;
    if (!pc.parser.budget && pc.memory_budget) {
        if (!(w->budget = lt_membudget_create(pc.memory_budget))) { free(w); return NULL; }
        pc.parser.budget = w->budget;
    }
    for (int i = 0; i < n; i++) {
        lt_worker *wk = &w->w[i];
        pthread_mutex_init(&wk->mu, NULL);
        pthread_cond_init(&wk->more, NULL);
        pthread_cond_init(&wk->room, NULL);
        w->n = i + 1;
        wk->pl = lt_pipeline_create(&pc, cb, ud);
        if (!wk->pl || pthread_create(&wk->th, NULL, lt_worker_main, wk)) { lt_workers_destroy(w); return NULL; }
        wk->started = 1;
    }
    return w;
}

static uint32_t lt_endpoint_hash(const lt_endpoint *e)
{
    uint32_t h = 2166136261u ^ e->family;
    for (size_t i = 0; i < sizeof e->addr; i++) h = (h ^ e->addr[i]) * 16777619u;
    return (h ^ e->port) * 16777619u;
}

static int lt_endpoint_cmp(const lt_endpoint *x, const lt_endpoint *y)
{
    if (x->family != y->family) return x->family < y->family ? -1 : 1;
    int c = memcmp(x->addr, y->addr, sizeof x->addr);
    if (c) return c;
    return x->port == y->port ? 0 : x->port < y->port ? -1 : 1;
}

static int lt_workers_least_loaded(const lt_workers *w)
{
    int best = 0;
    for (int i = 1; i < w->n; i++)
        if (w->w[i].given < w->w[best].given) best = i;
    return best;
}

/* Doubles the flow table (or creates it); -1 when it may not grow. */
static int lt_workers_map_grow(lt_workers *w)
{
    size_t cap = w->map_cap ? w->map_cap * 2 : 4096;
    if (cap > LT_FLOWMAP_MAX) return -1;
    lt_flowslot *m = malloc(cap * sizeof *m);
    if (!m) return -1;
    for (size_t i = 0; i < cap; i++) m[i].worker = -1;
    for (size_t i = 0; i < w->map_cap; i++) {
        if (w->map[i].worker < 0) continue;
        size_t j = w->map[i].hash & (cap - 1);
        while (m[j].worker >= 0) j = (j + 1) & (cap - 1);
        m[j] = w->map[i];
    }
    free(w->map);
    w->map = m;
    w->map_cap = cap;
    return 0;
}

/* Both directions of a flow pick the same worker: the one it was placed on
 * when first seen. Undecodable frames go to worker 0, whose pipeline counts
 * them. */
static int lt_workers_pick(lt_workers *w, int linktype, const uint8_t *frame, size_t caplen)
{
    lt_packet pk;
    if (lt_decode_packet(linktype, frame, caplen, &pk) != LT_DECODE_OK) return 0;
    uint32_t h = lt_endpoint_hash(&pk.src) + lt_endpoint_hash(&pk.dst);
    h ^= h >> 16;
    lt_flowkey k;
    int lo = lt_endpoint_cmp(&pk.src, &pk.dst) <= 0;
    k.a = lo ? pk.src : pk.dst;
    k.b = lo ? pk.dst : pk.src;
    int full = (w->map_used + 1) * 2 > w->map_cap && lt_workers_map_grow(w) < 0;
    size_t j = h & (w->map_cap ? w->map_cap - 1 : 0);
    for (; w->map_cap && w->map[j].worker >= 0; j = (j + 1) & (w->map_cap - 1))
        if (w->map[j].hash == h && !lt_endpoint_cmp(&w->map[j].k.a, &k.a) && !lt_endpoint_cmp(&w->map[j].k.b, &k.b))
            return w->map[j].worker;
    if (full) return (int)(h % (uint32_t)w->n);   /* the table may not grow: new flows are hashed */
    w->map[j] = (lt_flowslot){.k = k, .hash = h, .worker = (int16_t)lt_workers_least_loaded(w)};
    w->map_used++;
    return w->map[j].worker;
}

static int lt_workers_packet(lt_workers *w, int linktype, const uint8_t *frame, size_t caplen, lt_time_us ts)
{
    lt_worker *wk = &w->w[lt_workers_pick(w, linktype, frame, caplen)];
    wk->given += caplen;
    lt_pkt_hdr h = {.ts = ts, .caplen = (uint32_t)caplen, .linktype = linktype};
    size_t need = sizeof h + caplen;
    if (wk->cur.data && wk->cur.len + need > wk->cur.cap) lt_worker_push(wk);
    if (!wk->cur.data) {
        wk->cur.cap = need > LT_BATCH_BYTES ? need : LT_BATCH_BYTES;
        if (wk->cur.cap == LT_BATCH_BYTES) {
            pthread_mutex_lock(&wk->mu);
            if (wk->nspare) wk->cur.data = wk->spare[--wk->nspare];
            pthread_mutex_unlock(&wk->mu);
        }
        if (!wk->cur.data && !(wk->cur.data = malloc(wk->cur.cap))) return -1;
    }
    memcpy(wk->cur.data + wk->cur.len, &h, sizeof h);
    memcpy(wk->cur.data + wk->cur.len + sizeof h, frame, caplen);
    wk->cur.len += need;
    return 0;
}

/* Drains every queue, joins the threads and ends every pipeline's flows at ts. */
static void lt_workers_finish(lt_workers *w, lt_time_us ts)
{
    for (int i = 0; i < w->n; i++) {
        lt_worker *wk = &w->w[i];
        lt_worker_push(wk);
        pthread_mutex_lock(&wk->mu);
        wk->done = 1;
        pthread_cond_signal(&wk->more);
        pthread_mutex_unlock(&wk->mu);
    }
    for (int i = 0; i < w->n; i++) {
        lt_worker *wk = &w->w[i];
        if (wk->started) pthread_join(wk->th, NULL);
        wk->started = 0;
        if (wk->pl) lt_pipeline_finish(wk->pl, ts);
    }
}

static int lt_workers_frame(void *ud, int linktype, const uint8_t *frame, size_t caplen, lt_time_us ts)
{
    return lt_workers_packet(ud, linktype, frame, caplen, ts);
}

int lt_workers_file(lt_workers *w, const char *path, char **err)
{
    lt_time_us last;
    int rc = lt_capture_read(path, lt_workers_frame, w, &last, err);
    lt_workers_finish(w, last);
    return rc;
}

void lt_workers_counters(lt_workers *w, lt_counters *sum)
{
    for (int i = 0; i < w->n; i++) lt_counters_add(sum, lt_pipeline_counters(w->w[i].pl));
}

void lt_workers_destroy(lt_workers *w)
{
    if (!w) return;
    lt_workers_finish(w, 0);
    for (int i = 0; i < w->n; i++) {
        lt_worker *wk = &w->w[i];
        lt_pipeline_destroy(wk->pl);
        for (int k = 0; k < wk->count; k++) free(wk->q[(wk->head + k) % LT_QUEUE].data);
        free(wk->cur.data);
        for (int k = 0; k < wk->nspare; k++) free(wk->spare[k]);
        pthread_mutex_destroy(&wk->mu);
        pthread_cond_destroy(&wk->more);
        pthread_cond_destroy(&wk->room);
    }
    lt_membudget_destroy(w->budget);
    free(w->map);
    free(w);
}
