/* workers.c -- flows spread over N pipelines, run by N threads of which the
 * reader is one (see workers.h).
 *
 * A flow goes to the pipeline that has been given the fewest bytes so far
 * (the reader's own counted with its reading, below) when its first packet
 * is read, and stays there (a table of flows seen,
 * keyed by both endpoints in a fixed order so both directions find it): a
 * file's flows are known one at a time, and a hash of a few dozen long
 * connections splits them unevenly (36/28 of 64 leaves one core idle a
 * quarter of the time) where least-loaded placement keeps the pipelines
 * within a flow of each other. Past LT_FLOWMAP_MAX/2 flows the table stops
 * growing and new flows are hashed.
 *
 * Packets are packed into per-pipeline batches (a header per packet, then
 * its bytes); a batch of LT_BATCH_BYTES goes to its pipeline's ring of
 * LT_QUEUE batches. A lane's batches run one at a time and in order, so a
 * pipeline sees its packets in file order, on one thread at a time, handed
 * over under the one mutex. Each lane belongs to a thread: lane 0 to the
 * reader, lane i to worker llmtap-capI, and another thread runs a lane's
 * batch only when LT_TAKE_OVER of them wait (its thread is behind) or the
 * input has ended. When any thread ran any lane's next batch, pipelines
 * moved between threads, objects malloc'd on one were freed on the other and
 * both queued on glibc's arena locks: --workers 2 took about 2x the CPU of
 * --workers 1 on the Azure-shaped capture. Since the reader also reads the
 * file, decodes and copies every frame, its lane is given less: placement
 * counts lane 0 as also given rho times every byte read; rho starts at
 * LT_RHO_START and follows the waits: down when the reader waits on a
 * worker's full ring, up when a worker runs dry. (Measuring it from the
 * reader's CPU clock was unstable: a high early estimate gave lane 0 no new
 * flows, so it was never measured again.) The reader
 * runs its own batches while every worker has LT_FED batches in hand, and
 * when a worker's ring is full it waits until the ring is down to
 * LT_ROOM_AT (one wake-up per several batches, not one per batch).
 *
 * One mutex and a condition variable per thread guard the rings, taken
 * once per batch, never per packet. The reader waits when a ring is full
 * and no batch can be run, so at most LT_QUEUE + 2 batches per pipeline are in
 * memory whatever the file size; used batch buffers go back on a free list
 * and are reused (a fresh 256 KB malloc per batch was an mmap and page
 * faults on the reader, a munmap on the worker). The N pipelines share one
 * memory budget (common/membudget.h): the ceiling is the process's, not each
 * pipeline's. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/membudget.h"
#include "decode.h"
#include "workers.h"

#define LT_BATCH_BYTES (256u << 10)
#define LT_QUEUE 16                 /* 4 MiB per pipeline: rides out bursts of one pipeline's flows */
#define LT_FLOWMAP_MAX (1u << 19)   /* slots: up to 262,144 flows placed by load (~23 MiB) */

typedef struct lt_flowslot {
    lt_endpoint ep[2];              /* as the flow's first packet had them (src, dst) */
    uint32_t hash;
    int16_t worker;                 /* -1: empty */
} lt_flowslot;

/* A frame in a batch: the header, then the frame's bytes. The reader has
 * decoded the frame to place its flow, so the decoding travels with it (its
 * two pointers into the frame as offsets) and the pipeline does not decode
 * it again. */
typedef struct lt_pkt_hdr {
    lt_time_us ts;
    uint32_t caplen;
    int32_t decode;                 /* lt_decode_packet's result; pk is set when LT_DECODE_OK */
    uint32_t tcp_off, payload_off;
    lt_packet pk;
} lt_pkt_hdr;

typedef struct lt_batch {
    uint8_t *data;
    size_t len, cap;
} lt_batch;

/* One pipeline and its ring of batches. */
typedef struct lt_lane {
    lt_pipeline *pl;
    lt_batch q[LT_QUEUE];
    int head, count;
    int busy;               /* a thread is running one of its batches */
    lt_batch cur;           /* being filled by the reader */
    uint64_t given;         /* bytes handed to this pipeline so far */
} lt_lane;

typedef struct lt_thread {
    struct lt_workers *w;
    int id;                 /* its own lane */
    pthread_t th;
    pthread_cond_t wake;    /* its lane has a batch, a lane may be taken over, or the input ended */
    int started;
} lt_thread;

struct lt_workers {
    int n;
    lt_membudget *budget;   /* shared by the pipelines when the caller brought none */
    lt_flowslot *map;       /* flows placed so far (open addressing) */
    size_t map_cap, map_used;
    size_t last;            /* the slot found last: packets of a flow come in runs */
    pthread_mutex_t mu;
    pthread_cond_t room;    /* the ring the reader waits on is down to LT_ROOM_AT */
    int room_lane;          /* 1 + the lane whose full ring the reader waits on; 0: none */
    int queued;             /* batches in all rings */
    int done;               /* no more batches will come */
    uint8_t **spare;        /* used LT_BATCH_BYTES buffers, reused by the reader */
    int nspare, spare_cap;
    /* Lane 0 counts as given this share of every byte read besides its
     * own (the reader's reading, decoding and copying): less each time the
     * reader waits on a worker's full ring, more each time a worker waits
     * for a batch. The reader's alone: workers count their waits in dry. */
    double rho;
    int dry, dry_seen;
    lt_lane lane[LT_WORKERS_MAX];
    lt_thread th[LT_WORKERS_MAX];   /* th[0] is the reader's slot, never started */
};

/* A thread runs another thread's lane only when this many of its batches
 * wait (its thread is behind), or once the input has ended. */
#define LT_TAKE_OVER (LT_QUEUE / 2)
/* The reader runs its own lane's batches while every worker has this many in
 * hand, or once LT_TAKE_OVER / 2 of them wait. */
#define LT_FED 2
/* The reader, having found a ring full, waits until it is down to this many
 * batches: one wake-up per LT_QUEUE - LT_ROOM_AT batches, not one per batch
 * (each wake-up a futex call and, on a virtual machine, an interrupt to the
 * other CPU). */
#define LT_ROOM_AT (LT_QUEUE / 2)
#define LT_RHO_START 0.4    /* reading over running a byte: ~30% of a --workers 1 replay is reading */
#define LT_RHO_STEP 0.02
#define LT_RHO_MAX 2.0

static void lt_lane_run_batch(lt_lane *ln, const lt_batch *b)
{
    size_t off = 0;
    while (off + sizeof(lt_pkt_hdr) <= b->len) {
        lt_pkt_hdr h;
        memcpy(&h, b->data + off, sizeof h);
        off += sizeof h;
        if (h.decode == LT_DECODE_OK) {
            h.pk.tcp_hdr = b->data + off + h.tcp_off;
            h.pk.payload = b->data + off + h.payload_off;
        }
        lt_pipeline_decoded(ln->pl, h.decode, &h.pk, h.caplen, h.ts);
        off += h.caplen;
    }
}

/* A lane with a waiting batch that no thread is running: `own` if it is
 * one, else, of the lanes with at least `min` waiting, the one with the most;
 * -1 if none. Under w->mu. */
static int lt_workers_runnable(const lt_workers *w, int own, int min)
{
    if (own >= 0 && w->lane[own].count && !w->lane[own].busy) return own;
    int best = -1;
    for (int i = 0; i < w->n; i++)
        if (w->lane[i].count >= min && !w->lane[i].busy && (best < 0 || w->lane[i].count > w->lane[best].count)) best = i;
    return best;
}

/* Wakes the threads that may run lane k's next batch: its own, and all of
 * them when it may be taken over. Under w->mu. */
static void lt_workers_wake(lt_workers *w, int k)
{
    if (w->lane[k].count >= LT_TAKE_OVER || w->done) {
        for (int i = 1; i < w->n; i++) pthread_cond_signal(&w->th[i].wake);
    } else if (k > 0) {
        pthread_cond_signal(&w->th[k].wake);
    }
}

/* Runs the next batch of lane k (runnable) with the mutex released; under w->mu. */
static void lt_workers_run_one(lt_workers *w, int k)
{
    lt_lane *ln = &w->lane[k];
    lt_batch b = ln->q[ln->head];
    ln->head = (ln->head + 1) % LT_QUEUE;
    ln->count--;
    w->queued--;
    ln->busy = 1;
    if (w->room_lane == k + 1 && ln->count <= LT_ROOM_AT) pthread_cond_signal(&w->room);
    pthread_mutex_unlock(&w->mu);
    lt_lane_run_batch(ln, &b);
    pthread_mutex_lock(&w->mu);
    ln->busy = 0;
    if (b.cap == LT_BATCH_BYTES && w->nspare < w->spare_cap) {
        w->spare[w->nspare++] = b.data;
        b.data = NULL;
    }
    if (ln->count) lt_workers_wake(w, k);   /* the lane is free for another thread */
    if (b.data) {
        pthread_mutex_unlock(&w->mu);
        free(b.data);
        pthread_mutex_lock(&w->mu);
    }
}

static void *lt_worker_main(void *arg)
{
    lt_thread *t = arg;
    lt_workers *w = t->w;
    char name[16];   /* as `llmtap run` names its capture workers: top -H, perf --sort comm */
    snprintf(name, sizeof name, "llmtap-cap%d", t->id);
    pthread_setname_np(pthread_self(), name);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        int k = lt_workers_runnable(w, t->id, w->done ? 1 : LT_TAKE_OVER);
        if (k >= 0) { lt_workers_run_one(w, k); continue; }
        if (w->done) break;   /* a lane still running finishes its own waiting batches */
        w->dry++;   /* the reader raises rho */
        pthread_cond_wait(&t->wake, &w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Lane 0's next batch, when the reader should run it rather than read on:
 * every worker has LT_FED batches in hand (or is running one with one more
 * waiting), or LT_TAKE_OVER / 2 of lane 0's wait. -1 otherwise. Under w->mu. */
static int lt_workers_own_turn(const lt_workers *w)
{
    const lt_lane *l0 = &w->lane[0];
    if (!l0->count || l0->busy) return -1;
    if (l0->count >= LT_TAKE_OVER / 2) return 0;
    for (int i = 1; i < w->n; i++)
        if (w->lane[i].count + w->lane[i].busy < LT_FED) return -1;
    return 0;
}

/* Hands the reader's current batch of lane k to its ring; while the ring is
 * full the reader runs its own lane's batches, or the full lane's when its
 * thread is not running it, or waits. Then it runs its own lane's batches
 * while the workers have enough in hand. The next batch buffer comes from
 * the free list when one is there. */
static void lt_workers_push(lt_workers *w, int k)
{
    lt_lane *ln = &w->lane[k];
    if (!ln->cur.len) return;
    pthread_mutex_lock(&w->mu);
    w->rho += LT_RHO_STEP * (w->dry - w->dry_seen);   /* the workers ran dry */
    if (w->rho > LT_RHO_MAX) w->rho = LT_RHO_MAX;
    w->dry_seen = w->dry;
    if (ln->count == LT_QUEUE) {
        while (ln->count > LT_ROOM_AT) {
            int j = lt_workers_runnable(w, 0, LT_QUEUE);
            if (j >= 0) {
                lt_workers_run_one(w, j);
                continue;
            }
            if (w->rho > LT_RHO_STEP) w->rho -= LT_RHO_STEP;   /* the reader has time to spare */
            w->room_lane = k + 1;
            pthread_cond_wait(&w->room, &w->mu);
        }
        w->room_lane = 0;
    }
    ln->q[(ln->head + ln->count) % LT_QUEUE] = ln->cur;
    ln->count++;
    w->queued++;
    lt_workers_wake(w, k);
    for (int j; (j = lt_workers_own_turn(w)) >= 0;) lt_workers_run_one(w, j);
    ln->cur.data = w->nspare ? w->spare[--w->nspare] : NULL;
    ln->cur.cap = ln->cur.data ? LT_BATCH_BYTES : 0;
    ln->cur.len = 0;
    pthread_mutex_unlock(&w->mu);
}

lt_workers *lt_workers_create(int n, const lt_pipeline_cfg *cfg, lt_record_cb cb, void *ud)
{
    if (n < 2 || n > LT_WORKERS_MAX) return NULL;
    lt_workers *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->room, NULL);
    for (int i = 0; i < n; i++) pthread_cond_init(&w->th[i].wake, NULL);
    w->rho = LT_RHO_START;
    lt_pipeline_cfg pc = *cfg;
    if (!pc.parser.budget && pc.memory_budget) {
        if (!(w->budget = lt_membudget_create(pc.memory_budget))) { lt_workers_destroy(w); return NULL; }
        pc.parser.budget = w->budget;
    }
    w->spare_cap = n * (LT_QUEUE + 2);
    if (!(w->spare = malloc((size_t)w->spare_cap * sizeof *w->spare))) { lt_workers_destroy(w); return NULL; }
    for (int i = 0; i < n; i++) {
        w->n = i + 1;
        if (!(w->lane[i].pl = lt_pipeline_create(&pc, cb, ud))) { lt_workers_destroy(w); return NULL; }
    }
    for (int i = 1; i < n; i++) {
        lt_thread *t = &w->th[i];
        t->w = w;
        t->id = i;
        if (pthread_create(&t->th, NULL, lt_worker_main, t)) { lt_workers_destroy(w); return NULL; }
        t->started = 1;
    }
    return w;
}

/* An endpoint as flow.c hashes it: a multiply per 32-bit word of the
 * address, then the port; an IPv4 address is its first 4 bytes. */
static uint64_t lt_endpoint_hash(const lt_endpoint *e)
{
    static const uint64_t k = 0x9e3779b97f4a7c15ULL;
    uint32_t a[4];
    uint64_t h = 0xcbf29ce484222325ULL ^ e->family;
    int words = e->family == 6 ? 4 : 1;
    memcpy(a, e->addr, (size_t)words * 4);
    for (int i = 0; i < words; i++) h = (h ^ a[i]) * k;
    return (h ^ e->port) * k;
}

/* Equal as flow.c compares them, without a memcmp call for IPv4. */
static int lt_endpoint_eq(const lt_endpoint *x, const lt_endpoint *y)
{
    if (x->family != y->family || x->port != y->port) return 0;
    if (x->family == 6) {
        uint64_t a[2], b[2];
        memcpy(a, x->addr, 16);
        memcpy(b, y->addr, 16);
        return a[0] == b[0] && a[1] == b[1];
    }
    uint32_t a, b;
    memcpy(&a, x->addr, 4);
    memcpy(&b, y->addr, 4);
    return a == b;
}

/* The slot holds this flow, seen from either side. */
static int lt_flowslot_is(const lt_flowslot *s, const lt_endpoint *src, const lt_endpoint *dst)
{
    return (lt_endpoint_eq(&s->ep[0], src) && lt_endpoint_eq(&s->ep[1], dst)) ||
           (lt_endpoint_eq(&s->ep[0], dst) && lt_endpoint_eq(&s->ep[1], src));
}

/* The lane whose thread has the least work so far: lane 0's thread, the
 * reader's, also read every byte. */
static int lt_workers_least_loaded(const lt_workers *w)
{
    uint64_t read = 0;
    for (int i = 0; i < w->n; i++) read += w->lane[i].given;
    double best_load = (double)w->lane[0].given + w->rho * (double)read;
    int best = 0;
    for (int i = 1; i < w->n; i++)
        if ((double)w->lane[i].given < best_load) {
            best = i;
            best_load = (double)w->lane[i].given;
        }
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
    w->last = 0;
    return 0;
}

/* Both directions of a flow pick the same pipeline: the one it was placed on
 * when first seen. */
static int lt_workers_pick(lt_workers *w, const lt_packet *p)
{
    const lt_packet pk = *p;
    if (w->map_cap && w->map[w->last].worker >= 0 && lt_flowslot_is(&w->map[w->last], &pk.src, &pk.dst))
        return w->map[w->last].worker;
    uint64_t h64 = lt_endpoint_hash(&pk.src) + lt_endpoint_hash(&pk.dst);   /* the same from both sides */
    uint32_t h = (uint32_t)(h64 ^ (h64 >> 29) ^ (h64 >> 47));
    int full = (w->map_used + 1) * 2 > w->map_cap && lt_workers_map_grow(w) < 0;
    size_t j = h & (w->map_cap ? w->map_cap - 1 : 0);
    for (; w->map_cap && w->map[j].worker >= 0; j = (j + 1) & (w->map_cap - 1))
        if (w->map[j].hash == h && lt_flowslot_is(&w->map[j], &pk.src, &pk.dst)) {
            w->last = j;
            return w->map[j].worker;
        }
    if (full) return (int)(h % (uint32_t)w->n);   /* the table may not grow: new flows are hashed */
    w->map[j] = (lt_flowslot){.ep = {pk.src, pk.dst}, .hash = h, .worker = (int16_t)lt_workers_least_loaded(w)};
    w->map_used++;
    w->last = j;
    return w->map[j].worker;
}

static int lt_workers_packet(lt_workers *w, int linktype, const uint8_t *frame, size_t caplen, lt_time_us ts)
{
    lt_pkt_hdr h;
    h.ts = ts;
    h.caplen = (uint32_t)caplen;
    h.decode = lt_decode_packet(linktype, frame, caplen, &h.pk);
    int k = 0;   /* an undecodable frame goes to pipeline 0, which counts it */
    if (h.decode == LT_DECODE_OK) {
        h.tcp_off = (uint32_t)(h.pk.tcp_hdr - frame);
        h.payload_off = (uint32_t)(h.pk.payload - frame);
        k = lt_workers_pick(w, &h.pk);
    } else {
        memset(&h.pk, 0, sizeof h.pk);
        h.tcp_off = h.payload_off = 0;
    }
    lt_lane *ln = &w->lane[k];
    ln->given += caplen;
    size_t need = sizeof h + caplen;
    if (ln->cur.len && ln->cur.len + need > ln->cur.cap) lt_workers_push(w, k);
    if (ln->cur.cap < need) {   /* no buffer yet (none was spare), or a frame larger than a batch */
        size_t cap = need > LT_BATCH_BYTES ? need : LT_BATCH_BYTES;
        uint8_t *p = malloc(cap);
        if (!p) return -1;
        free(ln->cur.data);
        ln->cur = (lt_batch){.data = p, .cap = cap};
    }
    memcpy(ln->cur.data + ln->cur.len, &h, sizeof h);
    memcpy(ln->cur.data + ln->cur.len + sizeof h, frame, caplen);
    ln->cur.len += need;
    return 0;
}

/* Queues every partial batch, runs what is waiting alongside the workers,
 * joins them and ends every pipeline's flows at ts. */
static void lt_workers_finish(lt_workers *w, lt_time_us ts)
{
    for (int i = 0; i < w->n; i++) lt_workers_push(w, i);
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    for (int i = 1; i < w->n; i++) pthread_cond_signal(&w->th[i].wake);
    for (int k; (k = lt_workers_runnable(w, 0, 1)) >= 0;) lt_workers_run_one(w, k);
    pthread_mutex_unlock(&w->mu);
    for (int i = 1; i < w->n; i++) {
        if (w->th[i].started) pthread_join(w->th[i].th, NULL);
        w->th[i].started = 0;
    }
    for (int i = 0; i < w->n; i++)
        if (w->lane[i].pl) lt_pipeline_finish(w->lane[i].pl, ts);
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
    for (int i = 0; i < w->n; i++) lt_counters_add(sum, lt_pipeline_counters(w->lane[i].pl));
}

void lt_workers_destroy(lt_workers *w)
{
    if (!w) return;
    lt_workers_finish(w, 0);
    for (int i = 0; i < w->n; i++) {
        lt_lane *ln = &w->lane[i];
        lt_pipeline_destroy(ln->pl);
        for (int k = 0; k < ln->count; k++) free(ln->q[(ln->head + k) % LT_QUEUE].data);
        free(ln->cur.data);
    }
    for (int k = 0; k < w->nspare; k++) free(w->spare[k]);
    free(w->spare);
    pthread_mutex_destroy(&w->mu);
    for (int i = 0; i < w->n; i++) pthread_cond_destroy(&w->th[i].wake);
    pthread_cond_destroy(&w->room);
    lt_membudget_destroy(w->budget);
    free(w->map);
    free(w);
}
