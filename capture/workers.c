/* workers.c -- flows hashed to N pipelines on N threads (see workers.h).
 *
 * Packets are packed into per-worker batches (a header per packet, then its
 * bytes); a batch of LT_BATCH_BYTES is handed to the worker through a ring of
 * LT_QUEUE batches guarded by one mutex and two condition variables per
 * worker. The reader waits when a worker's ring is full, so at most
 * (LT_QUEUE + 2) batches per worker are in memory whatever the file size.
 * The N pipelines share one memory budget (common/membudget.h): the ceiling
 * is the process's, not each worker's. */
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/membudget.h"
#include "decode.h"
#include "workers.h"

#define LT_BATCH_BYTES (256u << 10)
#define LT_QUEUE 4

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
    int started;
} lt_worker;

struct lt_workers {
    int n;
    lt_membudget *budget;   /* shared by the pipelines when the caller brought none */
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

/* Both directions of a flow pick the same worker; undecodable frames go to
 * worker 0, whose pipeline counts them. */
static int lt_workers_pick(const lt_workers *w, int linktype, const uint8_t *frame, size_t caplen)
{
    lt_packet pk;
    if (lt_decode_packet(linktype, frame, caplen, &pk) != LT_DECODE_OK) return 0;
    uint32_t h = lt_endpoint_hash(&pk.src) + lt_endpoint_hash(&pk.dst);
    h ^= h >> 16;
    return (int)(h % (uint32_t)w->n);
}

static int lt_workers_packet(lt_workers *w, int linktype, const uint8_t *frame, size_t caplen, lt_time_us ts)
{
    lt_worker *wk = &w->w[lt_workers_pick(w, linktype, frame, caplen)];
    lt_pkt_hdr h = {.ts = ts, .caplen = (uint32_t)caplen, .linktype = linktype};
    size_t need = sizeof h + caplen;
    if (wk->cur.data && wk->cur.len + need > wk->cur.cap) lt_worker_push(wk);
    if (!wk->cur.data) {
        wk->cur.cap = need > LT_BATCH_BYTES ? need : LT_BATCH_BYTES;
        if (!(wk->cur.data = malloc(wk->cur.cap))) return -1;
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

int lt_workers_file(lt_workers *w, const char *path, char **err)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *pc = pcap_open_offline(path, errbuf);
    if (!pc) {
        if (err && asprintf(err, "%s: %s", path, errbuf) < 0) *err = NULL;
        lt_workers_finish(w, 0);
        return -1;
    }
    int linktype = pcap_datalink(pc), r, rc = 0;
    struct pcap_pkthdr *h;
    const u_char *data;
    lt_time_us last = 0;
    while ((r = pcap_next_ex(pc, &h, &data)) == 1) {
        last = (lt_time_us)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
        if (lt_workers_packet(w, linktype, data, h->caplen, last) < 0) {
            if (err && asprintf(err, "%s: out of memory queueing a frame of %u bytes", path, h->caplen) < 0) *err = NULL;
            rc = -1;
            break;
        }
    }
    if (r == -1) { /* -2 is the end of the file */
        if (err && asprintf(err, "%s: %s", path, pcap_geterr(pc)) < 0) *err = NULL;
        rc = -1;
    }
    lt_workers_finish(w, last);
    pcap_close(pc);
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
        pthread_mutex_destroy(&wk->mu);
        pthread_cond_destroy(&wk->more);
        pthread_cond_destroy(&wk->room);
    }
    lt_membudget_destroy(w->budget);
    free(w);
}
