/* workers.c -- a capture file's flows spread over N pipelines on N threads,
 * each thread reading the file itself (see workers.h).
 *
 * Every thread opens the file, reads every frame and decodes its headers,
 * and gives its own pipeline the frames of the flows placed on it; the
 * others it skips. Placement is the same in every thread without a word
 * between them: each keeps its own table of the flows seen, fed with the
 * same frames in the same order, and places a flow when its first frame is
 * read on the pipeline given the fewest bytes so far (a file's flows are
 * known one at a time, and a hash of a few dozen long connections splits
 * them unevenly: 36/28 of 64 leaves one core idle a quarter of the time).
 * Frames the decoder refuses go to pipeline 0, which counts them. Past
 * LT_FLOWMAP_MAX/2 flows a table stops growing and new flows are hashed.
 *
 * The earlier design had one reader copy each frame into per-pipeline
 * batches for worker threads, under one mutex per batch. It was correct and
 * bounded, but each frame crossed between the cores (written by the reader,
 * read by a worker) and so did pipelines whenever a thread ran another's
 * batch: on 2 cores --workers 2 used 40% more CPU than --workers 1 and ran
 * 1.2-1.3x as fast. Reading is the cheap part of a replay (the kernel's copy
 * of the page cache and the headers' decoding, about 20% of --workers 1):
 * doing it N times costs less than moving every frame across cores, and
 * nothing is shared on the hot path but the memory budget's counter and the
 * record callback. A pipeline is created, run and finished on one thread.
 *
 * A stream that cannot be read N times (stdin, a pipe, a device) is read by
 * the calling thread alone, which runs every pipeline itself: the same
 * records, one core. The N pipelines share one memory budget
 * (common/membudget.h): the ceiling is the process's, not each pipeline's. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "../common/log.h"
#include "../common/membudget.h"
#include "decode.h"
#include "workers.h"

#define LT_FLOWMAP_MAX (1u << 19)   /* slots per reader: up to 262,144 flows placed by load (~23 MiB each) */

typedef struct lt_flowslot {
    lt_endpoint ep[2];              /* as the flow's first packet had them (src, dst) */
    uint32_t hash;
    int16_t worker;                 /* -1: empty */
} lt_flowslot;

/* One thread's reading of the file: its placement table and what it found. */
typedef struct lt_reader {
    _Alignas(64) struct lt_workers *w;   /* a cache line of its own: each thread writes its reader per frame */
    int id;                         /* its pipeline */
    uint64_t runs;                  /* the pipelines it runs: its own, or more when threads are missing */
    pthread_t th;
    lt_flowslot *map;               /* flows placed so far (open addressing) */
    size_t map_cap, map_used;
    size_t last;                    /* the slot found last: packets of a flow come in runs */
    int hashing;                    /* the table is full: new flows are hashed (said once) */
    uint64_t given[LT_WORKERS_MAX]; /* bytes placed on each pipeline so far */
    lt_time_us last_ts;             /* the file's last timestamp */
    int rc;
    char *err;
} lt_reader;

struct lt_workers {
    int n;
    const char *path;
    lt_membudget *budget;           /* shared by the pipelines when the caller brought none */
    lt_pipeline *pl[LT_WORKERS_MAX];
    lt_reader rd[LT_WORKERS_MAX];
    int finished;
};

lt_workers *lt_workers_create(int n, const lt_pipeline_cfg *cfg, lt_record_cb cb, void *ud)
{
    if (n < 2 || n > LT_WORKERS_MAX) return NULL;
    size_t size = (sizeof(lt_workers) + 63) & ~(size_t)63;
    lt_workers *w = aligned_alloc(64, size);
    if (!w) return NULL;
    memset(w, 0, size);
    lt_pipeline_cfg pc = *cfg;
    if (!pc.parser.budget && pc.memory_budget) {
        if (!(w->budget = lt_membudget_create(pc.memory_budget))) { lt_workers_destroy(w); return NULL; }
        pc.parser.budget = w->budget;
    }
    for (int i = 0; i < n; i++) {
        w->n = i + 1;
        if (!(w->pl[i] = lt_pipeline_create(&pc, cb, ud))) { lt_workers_destroy(w); return NULL; }
        w->rd[i] = (lt_reader){.w = w, .id = i};
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

/* The pipeline given the fewest bytes so far (the lowest index on a tie). */
static int lt_reader_least_loaded(const lt_reader *r)
{
    int best = 0;
    for (int i = 1; i < r->w->n; i++)
        if (r->given[i] < r->given[best]) best = i;
    return best;
}

/* Doubles the flow table (or creates it); -1 at LT_FLOWMAP_MAX, -2 out of memory. */
static int lt_reader_map_grow(lt_reader *r)
{
    size_t cap = r->map_cap ? r->map_cap * 2 : 4096;
    if (cap > LT_FLOWMAP_MAX) return -1;
    lt_flowslot *m = malloc(cap * sizeof *m);
    if (!m) return -2;
    for (size_t i = 0; i < cap; i++) m[i].worker = -1;
    for (size_t i = 0; i < r->map_cap; i++) {
        if (r->map[i].worker < 0) continue;
        size_t j = r->map[i].hash & (cap - 1);
        while (m[j].worker >= 0) j = (j + 1) & (cap - 1);
        m[j] = r->map[i];
    }
    free(r->map);
    r->map = m;
    r->map_cap = cap;
    r->last = 0;
    return 0;
}

/* Both directions of a flow pick the same pipeline: the one it was placed on
 * when first seen; -1 out of memory. Past LT_FLOWMAP_MAX/2 flows every
 * thread hashes new flows alike. A table that cannot grow for want of
 * memory would let this thread place flows unlike the others (a flow run
 * twice or never), so that ends the replay with an error instead. */
static int lt_reader_pick(lt_reader *r, const lt_packet *pk)
{
    if (r->map_cap && r->map[r->last].worker >= 0 && lt_flowslot_is(&r->map[r->last], &pk->src, &pk->dst))
        return r->map[r->last].worker;
    uint64_t h64 = lt_endpoint_hash(&pk->src) + lt_endpoint_hash(&pk->dst);   /* the same from both sides */
    uint32_t h = (uint32_t)(h64 ^ (h64 >> 29) ^ (h64 >> 47));
    int full = 0;
    if ((r->map_used + 1) * 2 > r->map_cap && (full = lt_reader_map_grow(r)) == -2) return -1;
    size_t j = h & (r->map_cap ? r->map_cap - 1 : 0);
    for (; r->map_cap && r->map[j].worker >= 0; j = (j + 1) & (r->map_cap - 1))
        if (r->map[j].hash == h && lt_flowslot_is(&r->map[j], &pk->src, &pk->dst)) {
            r->last = j;
            return r->map[j].worker;
        }
    if (full) {   /* the table may not grow: new flows are hashed */
        if (!r->hashing && r->id == 0)   /* every reader gets here at the same frame: one says it */
            lt_info("replay: %zu flows placed by load on %d pipelines; flows past them are placed by hash, "
                    "which may load the pipelines unevenly", r->map_used, r->w->n);
        r->hashing = 1;
        return (int)(h % (uint32_t)r->w->n);
    }
    r->map[j] = (lt_flowslot){.ep = {pk->src, pk->dst}, .hash = h, .worker = (int16_t)lt_reader_least_loaded(r)};
    r->map_used++;
    r->last = j;
    return r->map[j].worker;
}

/* One frame as every reader sees it: placed, then run if its pipeline is
 * one this reader runs. */
static int lt_reader_frame(void *ud, int linktype, const uint8_t *frame, size_t caplen, lt_time_us ts)
{
    lt_reader *r = ud;
    lt_packet pk;
    int decode = lt_decode_packet(linktype, frame, caplen, &pk);
    int k = decode == LT_DECODE_OK ? lt_reader_pick(r, &pk) : 0;   /* pipeline 0 counts what is refused */
    if (k < 0) return -1;   /* lt_capture_read: out of memory */
    r->given[k] += caplen;
    if (r->runs >> k & 1) lt_pipeline_decoded(r->w->pl[k], decode, &pk, caplen, ts);
    return 0;
}

static void *lt_reader_main(void *arg)
{
    lt_reader *r = arg;
    if (r->id) {
        char name[16];   /* as `llmtap run` names its capture workers: top -H, perf --sort comm */
        snprintf(name, sizeof name, "llmtap-cap%d", r->id);
        pthread_setname_np(pthread_self(), name);
    }
    r->rc = lt_capture_read(r->w->path, lt_reader_frame, r, &r->last_ts, &r->err);
    /* The pipeline ends its flows on the thread that ran it; every thread saw the same last timestamp. */
    for (int i = 0; i < r->w->n; i++)
        if (r->runs >> i & 1) lt_pipeline_finish(r->w->pl[i], r->last_ts);
    return NULL;
}

/* Whether each thread can open the file for itself (not stdin, a pipe or a device). */
static int lt_workers_rereadable(const char *path)
{
    struct stat st;
    return strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int lt_workers_file(lt_workers *w, const char *path, char **err)
{
    w->path = path;
    int n = lt_workers_rereadable(path) ? w->n : 1;
    for (int i = 0; i < w->n; i++) w->rd[i].runs = (uint64_t)1 << i;
    for (int i = 1; i < n; i++)   /* a thread that cannot start: the caller's runs its pipeline */
        if (pthread_create(&w->rd[i].th, NULL, lt_reader_main, &w->rd[i]) != 0) {
            lt_warn("replay: reader thread %d of %d could not start; its pipeline runs on the first", i + 1, w->n);
            n = i;
        }
    for (int i = n; i < w->n; i++) w->rd[0].runs |= (uint64_t)1 << i;
    lt_reader_main(&w->rd[0]);
    for (int i = 1; i < n; i++) pthread_join(w->rd[i].th, NULL);
    w->finished = 1;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        lt_reader *r = &w->rd[i];
        if (r->rc < 0 && !rc) {   /* every reader read the same file: its first error says it */
            rc = -1;
            if (err) *err = r->err, r->err = NULL;
        }
        free(r->err);
        r->err = NULL;
    }
    return rc;
}

void lt_workers_counters(lt_workers *w, lt_counters *sum)
{
    for (int i = 0; i < w->n; i++) lt_counters_add(sum, lt_pipeline_counters(w->pl[i]));
}

void lt_workers_destroy(lt_workers *w)
{
    if (!w) return;
    for (int i = 0; i < w->n; i++) {
        if (!w->finished && w->pl[i]) lt_pipeline_finish(w->pl[i], 0);
        lt_pipeline_destroy(w->pl[i]);
        free(w->rd[i].map);
        free(w->rd[i].err);
    }
    lt_membudget_destroy(w->budget);
    free(w);
}
