/* tap.c -- the proxy's logging thread (see tap.h): a bounded event queue
 * from the workers, one parser per client connection, records with the
 * proxy's columns, handed to the spool writer and/or stdout.
 *
 * The gateway record of an exchange comes out of the parser when the last
 * response byte is fed, while the proxy's columns for it (backend, attempts,
 * times) arrive as a separate event just after; records therefore wait per
 * connection until their extras come (or the connection closes), so the
 * record that is stored is already complete. */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/clock.h"
#include "../common/log.h"
#include "../parsers/conn.h"
#include "../records/records.h"
#include "tap.h"

enum { LT_EV_OPEN, LT_EV_DATA, LT_EV_EXTRAS, LT_EV_CLOSE };

/* An event, stored in a block (lt_tap_blk) followed by its data. */
typedef struct lt_tap_ev {
    uint32_t size;         /* of the event in the block: header + data, rounded up to 8 */
    int kind, dir, reset, version;
    uint64_t id, gap;
    lt_time_us ts;
    lt_conn_info info;     /* OPEN */
    json_t *extras;        /* EXTRAS */
    size_t n;
    uint8_t data[];        /* DATA */
} lt_tap_ev;

/* A batch of events: a worker appends the events of a loop iteration to
 * blocks of LT_TAP_BLK bytes, chained when one is full, and hands the chain
 * over at the end of the iteration (one mutex hold); the logging thread walks
 * it and puts the blocks back on a short list of spares that workers take
 * again, so events are neither allocated one by one nor freed on another
 * thread than the one that allocated them (glibc's arena lock then
 * serializes the two threads). Chained, not grown: a block that doubled
 * with realloc to hold a busy iteration (256 connections answered in one
 * loop iteration: about 300 KB of events) copied its events at each step
 * and kept up to twice their size, and the large blocks were freed rather
 * than reused (peak capacity queued 2.3 MB for 0.2 MB of data). */
typedef struct lt_tap_blk {
    struct lt_tap_blk *next;
    size_t len, cap;       /* bytes of events used / allocated in d */
    size_t bytes;          /* data bytes (the queue bound counts these) */
    uint64_t n;            /* events */
    _Alignas(8) uint8_t d[];
} lt_tap_blk;

#define LT_TAP_BUCKETS 4096
#define LT_TAP_PENDING 8
#define LT_TAP_BLK 16384            /* a block's room (more only for one larger event) */
#define LT_TAP_SPARE 32             /* blocks kept for reuse */
/* The logging thread is woken by a hand-over only when it waits (a
 * hand-over while it works costs no futex call). A timed nap between rounds
 * (fewer wake-ups) was tried: it cut context switches per request from 0.3
 * to 0.07 but the logging thread then woke at arbitrary times in the middle
 * of a request on the shared core, and added about 170 us to p50 at one
 * connection (wrk -c1); woken at the end of a loop iteration, it runs while
 * the loop waits for the network. */

typedef struct lt_tap_cs {   /* a connection, on the logging thread */
    struct lt_tap_cs *next;
    struct lt_tap *tap;
    uint64_t id;
    lt_conn_info info;
    lt_conn_parser *parser;
    int version;             /* the client's protocol when not what the parser sees (tap.h) */
    lt_record pending[LT_TAP_PENDING];
    int npending;
    json_t *extras;          /* arrived before its gateway record */
} lt_tap_cs;

struct lt_tap {
    const lt_proxy_cfg *cfg;
    lt_writer *writer;
    int json;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv, done_cv;
    lt_tap_blk *head, *tail;
    lt_tap_blk *spare;       /* blocks for reuse, under mu */
    int nspare;
    size_t queued_bytes;
    uint64_t seq_in, seq_done;
    int stop;
    int sleeping;            /* the logging thread waits without a timeout: wake it */
    lt_tap_stats st;
    lt_counters ctr;         /* the parsers', logging thread only */
    lt_tap_cs *buckets[LT_TAP_BUCKETS];
    uint64_t next_id;
};

/* ---- worker side ---- */

/* A worker thread's events not yet handed over (lt_tap_batch). */
static __thread struct {
    lt_tap *t;
    void (*arm)(void *);
    void *arg;
    lt_tap_blk *first;       /* the batch's chain of blocks (NULL: none yet) */
    lt_tap_blk *blk;         /* its last block, being filled */
    size_t done_bytes;       /* data bytes in the chain's blocks before blk */
    lt_tap_blk *spare;       /* blocks taken at the last hand-over, for the next batches */
} lt_tap_local;

/* Appends a chain of blocks under the lock; wakes the logging thread only
 * when it waits. Returns up to want spare blocks (a list) for the caller's
 * next batches. */
static lt_tap_blk *lt_tap_enqueue(lt_tap *t, lt_tap_blk *first, int want)
{
    uint64_t n = 0;
    size_t bytes = 0;
    lt_tap_blk *last = first;
    for (lt_tap_blk *b = first; b; b = b->next) {
        n += b->n;
        bytes += b->bytes;
        last = b;
    }
    lt_tap_blk *spare = NULL;
    pthread_mutex_lock(&t->mu);
    if (t->tail) t->tail->next = first; else t->head = first;
    t->tail = last;
    t->queued_bytes += bytes;
    t->seq_in += n;
    t->st.events += n;
    if (t->sleeping) {
        t->sleeping = 0;
        pthread_cond_signal(&t->cv);
    }
    while (want-- > 0 && t->spare) {
        lt_tap_blk *b = t->spare;
        t->spare = b->next;
        t->nspare--;
        b->next = spare;
        spare = b;
    }
    pthread_mutex_unlock(&t->mu);
    return spare;
}

/* An empty block with room for need bytes: for a batch (spare != NULL), a
 * spare of the calling worker's if one is big enough, else a new one of
 * LT_TAP_BLK bytes or more; for one event alone, need bytes. */
static lt_tap_blk *lt_tap_blk_new(size_t need, lt_tap_blk **spare)
{
    lt_tap_blk *b = spare ? *spare : NULL;
    if (b && b->cap >= need) {
        *spare = b->next;
    } else {
        size_t cap = need > LT_TAP_BLK || !spare ? need : LT_TAP_BLK;
        if (!(b = malloc(sizeof *b + cap))) return NULL;
        b->cap = cap;
    }
    b->next = NULL;
    b->len = b->bytes = 0;
    b->n = 0;
    return b;
}

/* Room for an event of size bytes in the calling thread's batch (a block of
 * its own when the thread does not batch): the event, zeroed, or NULL. */
static lt_tap_ev *lt_tap_ev_new(lt_tap *t, int kind, uint64_t id, size_t n)
{
    size_t size = (sizeof(lt_tap_ev) + n + 7) & ~(size_t)7;
    lt_tap_blk *b;
    if (lt_tap_local.t == t) {
        b = lt_tap_local.blk;
        if (!b || b->cap - b->len < size) {   /* the batch's first block, or the next one */
            lt_tap_blk *nb = lt_tap_blk_new(size, &lt_tap_local.spare);
            if (!nb) return NULL;
            if (b) {
                lt_tap_local.done_bytes += b->bytes;
                b->next = nb;
            } else {
                lt_tap_local.first = nb;
                lt_tap_local.done_bytes = 0;
                lt_tap_local.arm(lt_tap_local.arg);
            }
            b = lt_tap_local.blk = nb;
        }
    } else if (!(b = lt_tap_blk_new(size, NULL))) {
        return NULL;
    }
    lt_tap_ev *ev = (lt_tap_ev *)(b->d + b->len);
    memset(ev, 0, sizeof *ev);
    ev->size = (uint32_t)size;
    ev->kind = kind;
    ev->id = id;
    ev->n = n;
    return ev;
}

/* The event just built is part of its batch; a thread that does not batch
 * hands its one-event block over at once. */
static void lt_tap_push(lt_tap *t, lt_tap_ev *ev)
{
    lt_tap_blk *b = lt_tap_local.t == t ? lt_tap_local.blk                     /* ev is in it */
                                        : (lt_tap_blk *)((uint8_t *)ev - offsetof(lt_tap_blk, d));
    b->len += ev->size;
    b->bytes += ev->kind == LT_EV_DATA ? ev->n : 0;
    b->n++;
    if (lt_tap_local.t != t) lt_tap_enqueue(t, b, 0);
}

static void lt_tap_free_chain(lt_tap_blk *b)
{
    while (b) {
        lt_tap_blk *next = b->next;
        free(b);
        b = next;
    }
}

void lt_tap_batch(lt_tap *t, void (*arm)(void *), void *arg)
{
    if (lt_tap_local.t) lt_tap_commit(lt_tap_local.t);
    lt_tap_free_chain(lt_tap_local.spare);
    lt_tap_local.spare = NULL;
    lt_tap_local.t = t;
    lt_tap_local.arm = arm;
    lt_tap_local.arg = arg;
}

void lt_tap_commit(lt_tap *t)
{
    if (lt_tap_local.t != t || !lt_tap_local.first) return;
    lt_tap_blk *first = lt_tap_local.first;
    int nblk = 0, nspare = 0;
    for (lt_tap_blk *b = first; b; b = b->next) nblk++;
    for (lt_tap_blk *b = lt_tap_local.spare; b; b = b->next) nspare++;
    lt_tap_local.first = lt_tap_local.blk = NULL;
    lt_tap_local.done_bytes = 0;
    /* as many spares as this batch used, for the next one */
    lt_tap_blk *spare = lt_tap_enqueue(t, first, nblk - nspare);
    while (spare) {
        lt_tap_blk *b = spare;
        spare = b->next;
        b->next = lt_tap_local.spare;
        lt_tap_local.spare = b;
    }
}

/* An OPEN, EXTRAS or CLOSE event that could not be allocated: counted as a
 * dropped event and logged; what it loses is said by the caller. */
static void lt_tap_lost(lt_tap *t, uint64_t *what)
{
    pthread_mutex_lock(&t->mu);
    t->st.dropped_events++;
    pthread_mutex_unlock(&t->mu);
    if (what) __atomic_add_fetch(what, 1, __ATOMIC_RELAXED);
}

void lt_tap_open(lt_tap *t, lt_tap_conn *tc, const lt_conn_info *info)
{
    tc->id = __atomic_add_fetch(&t->next_id, 1, __ATOMIC_RELAXED);
    tc->gap[0] = tc->gap[1] = 0;
    lt_tap_ev *ev = lt_tap_ev_new(t, LT_EV_OPEN, tc->id, 0);
    if (!ev) {
        lt_tap_lost(t, &t->st.conns_unlogged);
        lt_error("proxy: out of memory, connection %llu is not logged", (unsigned long long)tc->id);
        tc->id = 0;   /* its data, extras and close are not sent */
        return;
    }
    ev->info = *info;
    ev->info.conn_id = tc->id;
    ev->version = tc->version;
    lt_tap_push(t, ev);
}

static int lt_tap_full(lt_tap *t, size_t n)
{
    size_t local = lt_tap_local.t == t && lt_tap_local.blk ? lt_tap_local.done_bytes + lt_tap_local.blk->bytes : 0;
    return __atomic_load_n(&t->queued_bytes, __ATOMIC_RELAXED) + local + n > t->cfg->log_queue_bytes;
}

static void lt_tap_drop(lt_tap *t, lt_tap_conn *tc, int dir, size_t n)
{
    tc->gap[dir] += n;
    pthread_mutex_lock(&t->mu);
    t->st.dropped_events++;
    t->st.dropped_bytes += n;
    pthread_mutex_unlock(&t->mu);
    lt_warn("proxy: logging queue full, %zu bytes of connection %llu not logged (counted as a gap)", n,
            (unsigned long long)tc->id);
}

void lt_tap_data(lt_tap *t, lt_tap_conn *tc, int dir, const void *p, size_t n, lt_time_us ts)
{
    if (!n || !tc->id) return;
    lt_tap_ev *ev = lt_tap_full(t, n) ? NULL : lt_tap_ev_new(t, LT_EV_DATA, tc->id, n);
    if (!ev) { lt_tap_drop(t, tc, dir, n); return; }
    ev->dir = dir;
    ev->ts = ts;
    ev->gap = tc->gap[dir];
    tc->gap[dir] = 0;
    memcpy(ev->data, p, n);
    lt_tap_push(t, ev);
}

void lt_tap_extras(lt_tap *t, lt_tap_conn *tc, json_t *extras)
{
    if (!tc->id) { json_decref(extras); return; }
    if (!extras) {   /* forward.c could not build them: no event is lost, the columns are */
        __atomic_add_fetch(&t->st.records_no_columns, 1, __ATOMIC_RELAXED);
        lt_error("proxy: out of memory, a record of connection %llu goes without the proxy's columns",
                 (unsigned long long)tc->id);
        return;
    }
    lt_tap_ev *ev = lt_tap_ev_new(t, LT_EV_EXTRAS, tc->id, 0);
    if (!ev) {   /* the record goes out with the next extras or at the close */
        lt_tap_lost(t, &t->st.records_no_columns);
        lt_error("proxy: out of memory, a record of connection %llu goes without the proxy's columns",
                 (unsigned long long)tc->id);
        json_decref(extras);
        return;
    }
    ev->extras = extras;
    lt_tap_push(t, ev);
}

void lt_tap_close(lt_tap *t, lt_tap_conn *tc, int reset, lt_time_us ts)
{
    uint64_t id = tc->id;
    lt_tap_ev *ev = id ? lt_tap_ev_new(t, LT_EV_CLOSE, id, 0) : NULL;
    tc->id = 0;
    if (!ev) {
        if (!id) return;
        /* the connection's parser then ends with the tap (lt_tap_destroy) */
        lt_tap_lost(t, NULL);
        lt_error("proxy: out of memory, the end of connection %llu is logged at shutdown", (unsigned long long)id);
        return;
    }
    ev->reset = reset;
    ev->ts = ts;
    lt_tap_push(t, ev);
}

/* ---- logging thread ---- */

static lt_tap_cs **lt_tap_slot(lt_tap *t, uint64_t id)
{
    lt_tap_cs **pp = &t->buckets[id % LT_TAP_BUCKETS];
    while (*pp && (*pp)->id != id) pp = &(*pp)->next;
    return pp;
}

static void lt_tap_print(lt_tap *t, const lt_record *rec)
{
    size_t n;
    char *s = lt_record_line(rec, &n);
    if (!s) { t->ctr.records_unprinted++; return; }   /* lt_record_line said which */
    fwrite(s, 1, n, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    free(s);
}

static void lt_tap_emit(lt_tap *t, lt_record *rec)
{
    if (t->json) lt_tap_print(t, rec);
    if (t->writer) lt_writer_submit(t->writer, rec);
    __atomic_add_fetch(&t->st.records, 1, __ATOMIC_RELAXED);
    lt_record_clear(rec);
}

static void lt_tap_flush_pending(lt_tap_cs *cs)
{
    for (int i = 0; i < cs->npending; i++) lt_tap_emit(cs->tap, &cs->pending[i]);
    cs->npending = 0;
}

/* Adds the waiting extras to the last gateway record waiting, if any; then
 * every waiting record is complete and goes out. */
static void lt_tap_apply_extras(lt_tap_cs *cs)
{
    if (!cs->extras) return;
    for (int i = cs->npending - 1; i >= 0; i--) {
        if (cs->pending[i].table != LT_TABLE_GATEWAY) continue;
        if (lt_record_update(&cs->pending[i], cs->extras) < 0) {
            __atomic_add_fetch(&cs->tap->st.records_no_columns, 1, __ATOMIC_RELAXED);
            lt_error("proxy: out of memory, call %s goes without the proxy's columns", cs->pending[i].id);
        }
        json_decref(cs->extras);
        cs->extras = NULL;
        lt_tap_flush_pending(cs);
        return;
    }
}

static void lt_tap_on_record(void *ud, lt_record *rec)
{
    lt_tap_cs *cs = ud;
    if (cs->npending == LT_TAP_PENDING) lt_tap_flush_pending(cs);
    lt_record *r = &cs->pending[cs->npending++];
    *r = *rec;            /* the text is kept here until the extras come */
    rec->text = NULL;
}

static void lt_tap_on_exchange(void *ud, lt_exchange *ex)
{
    lt_tap_cs *cs = ud;
    if (cs->version) ex->version = cs->version;
    lt_records_from_exchange(&cs->tap->cfg->record, ex, &cs->tap->ctr, lt_tap_on_record, cs);
    lt_tap_apply_extras(cs);
}

static void lt_tap_do_open(lt_tap *t, lt_tap_ev *ev)
{
    lt_tap_cs *cs = calloc(1, sizeof *cs);
    if (cs) {
        cs->tap = t;
        cs->id = ev->id;
        cs->info = ev->info;
        cs->version = ev->version;
        lt_app_sink sink = {.on_exchange = lt_tap_on_exchange, .ud = cs, .ctr = &t->ctr};
        cs->parser = lt_conn_parser_create(&t->cfg->parser, &cs->info, &sink);
    }
    if (!cs || !cs->parser) {   /* its events then find no connection and are skipped */
        free(cs);
        __atomic_add_fetch(&t->st.conns_unlogged, 1, __ATOMIC_RELAXED);
        lt_error("proxy: out of memory, connection %llu is not logged", (unsigned long long)ev->id);
        return;
    }
    lt_tap_cs **pp = lt_tap_slot(t, ev->id);
    cs->next = *pp;
    *pp = cs;
}

static void lt_tap_do_close(lt_tap_cs **pp, int reset, lt_time_us ts)
{
    lt_tap_cs *cs = *pp;
    *pp = cs->next;
    if (cs->parser) {
        lt_conn_parser_close(cs->parser, reset, ts);
        lt_conn_parser_destroy(cs->parser);
    }
    lt_tap_apply_extras(cs);
    lt_tap_flush_pending(cs);
    json_decref(cs->extras);
    free(cs);
}

static void lt_tap_handle(lt_tap *t, lt_tap_ev *ev)
{
    if (ev->kind == LT_EV_OPEN) { lt_tap_do_open(t, ev); return; }
    lt_tap_cs **pp = lt_tap_slot(t, ev->id);
    lt_tap_cs *cs = *pp;
    if (!cs) { json_decref(ev->extras); return; }
    switch (ev->kind) {
    case LT_EV_DATA:
        if (!cs->parser) break;
        if (ev->gap) lt_conn_parser_gap(cs->parser, ev->dir, ev->gap, ev->ts);
        lt_conn_parser_feed(cs->parser, ev->dir, ev->data, ev->n, ev->ts);
        break;
    case LT_EV_EXTRAS:
        json_decref(cs->extras);
        cs->extras = ev->extras;
        lt_tap_apply_extras(cs);
        break;
    case LT_EV_CLOSE: lt_tap_do_close(pp, ev->reset, ev->ts); break;
    }
}

/* Parses a block's events; returns its data bytes. */
static size_t lt_tap_run_blk(lt_tap *t, lt_tap_blk *b)
{
    for (size_t off = 0; off < b->len;) {
        lt_tap_ev *ev = (lt_tap_ev *)(b->d + off);
        off += ev->size;
        lt_tap_handle(t, ev);
    }
    return b->bytes;
}

/* Waits for blocks (mu held). */
static void lt_tap_wait(lt_tap *t)
{
    while (!t->head && !t->stop) {
        t->sleeping = 1;
        pthread_cond_wait(&t->cv, &t->mu);
    }
    t->sleeping = 0;
}

static void *lt_tap_main(void *arg)
{
    lt_tap *t = arg;
    pthread_setname_np(pthread_self(), "llmtap-log");
    pthread_mutex_lock(&t->mu);
    for (;;) {
        lt_tap_wait(t);
        if (!t->head && t->stop) break;
        lt_tap_blk *list = t->head;
        t->head = t->tail = NULL;
        pthread_mutex_unlock(&t->mu);
        uint64_t n = 0;
        size_t bytes = 0;
        lt_tap_blk *keep = NULL, *next;
        for (lt_tap_blk *b = list; b; b = next) {
            next = b->next;
            bytes += lt_tap_run_blk(t, b);
            n += b->n;
            if (b->cap == LT_TAP_BLK) { b->next = keep; keep = b; }
            else free(b);   /* made for one large event */
        }
        pthread_mutex_lock(&t->mu);
        t->queued_bytes -= bytes;
        t->seq_done += n;
        while (keep) {   /* spares for the workers' next batches; the rest freed */
            lt_tap_blk *b = keep;
            keep = b->next;
            if (t->nspare < LT_TAP_SPARE) { b->next = t->spare; t->spare = b; t->nspare++; }
            else free(b);
        }
        pthread_cond_broadcast(&t->done_cv);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

lt_tap *lt_tap_create(const lt_proxy_cfg *cfg, lt_writer *writer, int json)
{
    lt_tap *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->cfg = cfg;
    t->writer = writer;
    t->json = json;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    pthread_cond_init(&t->done_cv, NULL);
    if (pthread_create(&t->thread, NULL, lt_tap_main, t)) { free(t); return NULL; }
    return t;
}

void lt_tap_flush(lt_tap *t)
{
    pthread_mutex_lock(&t->mu);
    uint64_t target = t->seq_in;
    while (t->seq_done < target) pthread_cond_wait(&t->done_cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
}

void lt_tap_stats_get(lt_tap *t, lt_tap_stats *st)
{
    pthread_mutex_lock(&t->mu);
    *st = t->st;
    st->queued_bytes = t->queued_bytes;
    pthread_mutex_unlock(&t->mu);
    /* counted by the logging thread, outside the lock */
    st->records = __atomic_load_n(&t->st.records, __ATOMIC_RELAXED);
    st->conns_unlogged = __atomic_load_n(&t->st.conns_unlogged, __ATOMIC_RELAXED);
    st->records_no_columns = __atomic_load_n(&t->st.records_no_columns, __ATOMIC_RELAXED);
}

void lt_tap_destroy(lt_tap *t, lt_counters *out)
{
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    t->stop = 1;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    lt_time_us now = lt_clock_now_us();
    for (int i = 0; i < LT_TAP_BUCKETS; i++)
        while (t->buckets[i]) lt_tap_do_close(&t->buckets[i], 0, now);
    if (out) *out = t->ctr;
    lt_tap_free_chain(t->spare);
    pthread_cond_destroy(&t->cv);
    pthread_cond_destroy(&t->done_cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
