/* writer.c -- the spool writer thread (see writer.h).
 *
 * A ring of serialized records under one mutex. submit() takes the
 * record's JSON text (written by records/ on the caller's thread) and queues
 * it, so the capture thread does no I/O and holds the lock for a few
 * stores. (Queuing
 * the tree instead made the writer free, on its thread, hundreds of small
 * blocks per record that the capture thread had allocated: glibc's arena
 * lock then serialized the two threads, and storing cost more than parsing.
 * Tried again with mimalloc: the writer serializing the queued trees, a
 * chunk of 32 at a time into one reused buffer, and handing them back for the
 * producer to free. The capture thread ran 11% fewer instructions (callgrind,
 * replay --db of bench-256: 2.72G -> 2.43G, the writer 0.38G -> 0.68G) yet
 * used as much CPU or more, and replay --db of bench-512 took +0.2-0.3 s CPU
 * and more wall: each tree, hundreds of scattered blocks, crosses between
 * the cores twice, where a text is 3 KB in a row.) The thread swaps out up
 * to one batch, releases the lock, and writes the batch in one transaction: the commit is
 * the unit of durability (what `kill -9` cannot take back) and of cost (one
 * WAL append per batch instead of per record). Group commit: a batch is
 * written when it is full (LT_WRITER_BATCH records or LT_WRITER_BATCH_BYTES
 * of text) or when its first record has waited
 * LT_WRITER_LINGER_MS, so a fast producer gives full batches instead of one
 * transaction per wake-up, and a slow one still sees each record committed
 * within the linger. Producers signal the thread only when the queue stops
 * being empty or fills a batch, not per record. flush() waits on a sequence
 * number so it returns once everything submitted before it is committed.
 *
 * The texts go back to be freed by the producers, not by the writer: a text
 * freed on the writer's thread returns to the producer's malloc arena under
 * its lock, and glibc then trimmed and regrew the producer's heap, so the
 * producer paid page faults and lock waits for every record (replay --db
 * of bench-512: +37% wall over --no-store). Committed texts wait in `spent`;
 * each submit frees a few of them on its own thread, and the writer frees
 * what is left itself only when the queue is empty (nobody is producing),
 * and what is past LT_WRITER_SPENT_MAX texts: a producer that lagged (the
 * proxy's logging thread sharing one core with the event loop and the
 * writer) left up to 1,700 texts, 1.6 MB, waiting there, on top of those
 * queued. mimalloc, the binary's allocator, takes a block freed by another
 * thread back with one atomic operation, without a lock. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include "../common/log.h"
#include "writer.h"

#define LT_WRITER_BATCH 1000
#define LT_WRITER_BATCH_BYTES (256u << 10) /* of text: what a batch keeps in memory, queued and spent */
#define LT_WRITER_LINGER_MS 20
#define LT_WRITER_RING_MIN 1024       /* the queue's first slots; it doubles up to queue_max */
#define LT_WRITER_FREE_PER_SUBMIT 8   /* spent texts a submit frees: more than the one it adds */

/* One queued record: its text, owned until the spool takes it. */
typedef struct lt_wrec {
    int table;
    char id[33];
    lt_time_us time;
    char *text;
    size_t len;
} lt_wrec;

struct lt_writer {
    lt_spool *spool;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;       /* records queued or stop requested */
    pthread_cond_t done;       /* a batch was committed */
    pthread_cond_t room;       /* the queue has room again (submit_wait) */
    lt_wrec *ring;
    size_t cap, head, count;   /* slots allocated, oldest record's slot, records queued */
    size_t max;                /* records queued at most (queue_max) */
    size_t bytes;              /* text bytes queued */
    uint64_t accepted_seq;     /* records accepted so far */
    uint64_t done_seq;         /* records committed (or failed) so far */
    lt_writer_stats st;
    int stop;
    int flushing;              /* flush() waits: commit without lingering */
    char **spent;              /* committed texts for the producers to free (LT_WRITER_SPENT_MAX slots) */
    size_t nspent;
};

/* A batch is full at LT_WRITER_BATCH records or LT_WRITER_BATCH_BYTES of
 * text, whichever comes first. Bytes matter more than records: a batch's
 * texts are all in memory until it commits, and then until the producers
 * free them, so the bound on bytes keeps the writer's share of the resident
 * memory flat (replay --db of bench-512: peak RSS 31 -> 24 MiB, the proxy
 * with logging 28 -> 23 MB) at no cost in speed: in WAL mode without
 * fsync at commit (synchronous=NORMAL), a commit of 256 KiB costs about
 * what a commit of 3 MiB costs per byte. */
static int lt_writer_batch_full(const lt_writer *w)
{
    return w->count >= LT_WRITER_BATCH || w->bytes >= LT_WRITER_BATCH_BYTES;
}

static size_t lt_writer_take(lt_writer *w, lt_wrec *batch)
{
    size_t n = 0, bytes = 0;
    while (w->count && n < LT_WRITER_BATCH && bytes < LT_WRITER_BATCH_BYTES) {
        batch[n] = w->ring[w->head];
        bytes += batch[n++].len;
        w->head = (w->head + 1) % w->cap;
        w->count--;
    }
    w->bytes -= bytes;
    return n;
}

/* One transaction; returns records the spool took (inserted or duplicate). */
static int lt_writer_commit(lt_writer *w, lt_wrec *batch, size_t n)
{
    int ok = lt_spool_begin(w->spool) == 0;
    for (size_t i = 0; i < n && ok; i++)
        lt_spool_put_text(w->spool, batch[i].table, batch[i].id, batch[i].time, batch[i].text, batch[i].len);
    if (ok && lt_spool_commit(w->spool) == 0) return 0;
    lt_error("writer: a batch of %zu records could not be committed to the spool", n);
    return -1;
}

/* Called with the lock held: takes a few committed texts for the caller to
 * free after unlocking (on the thread that allocated them, nearly always). */
static size_t lt_writer_take_spent(lt_writer *w, char **out)
{
    size_t k = w->nspent < LT_WRITER_FREE_PER_SUBMIT ? w->nspent : LT_WRITER_FREE_PER_SUBMIT;
    if (!k) return 0;
    w->nspent -= k;
    memcpy(out, w->spent + w->nspent, k * sizeof *out);
    return k;
}

static void lt_writer_free_spent(char **texts, size_t k)
{
    for (size_t i = 0; i < k; i++) free(texts[i]);
}

static void *lt_writer_main(void *arg)
{
    lt_writer *w = arg;
    pthread_setname_np(pthread_self(), "llmtap-writer");
    lt_wrec *batch = malloc(sizeof *batch * LT_WRITER_BATCH);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (!w->count && w->nspent) { /* idle: nobody to contend with */
            size_t k = w->nspent;  /* slots [0, k) stay as they are: only this thread adds to spent */
            w->nspent = 0;
            pthread_mutex_unlock(&w->mu);
            lt_writer_free_spent(w->spent, k);
            pthread_mutex_lock(&w->mu);
            continue;
        }
        while (!w->count && !w->stop) pthread_cond_wait(&w->wake, &w->mu);
        if (!w->count && w->stop) break;
        if (!lt_writer_batch_full(w) && !w->stop && !w->flushing) {
            struct timespec until;   /* the condition variable's clock: CLOCK_REALTIME */
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += LT_WRITER_LINGER_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
            while (!lt_writer_batch_full(w) && !w->stop && !w->flushing)
                if (pthread_cond_timedwait(&w->wake, &w->mu, &until) == ETIMEDOUT) break;
        }
        size_t n = lt_writer_take(w, batch);
        pthread_cond_broadcast(&w->room);
        pthread_mutex_unlock(&w->mu);
        int rc = lt_writer_commit(w, batch, n);
        pthread_mutex_lock(&w->mu);
        size_t keep = w->nspent < LT_WRITER_SPENT_MAX ? LT_WRITER_SPENT_MAX - w->nspent : 0;
        if (keep > n) keep = n;
        for (size_t i = 0; i < keep; i++) {
            w->spent[w->nspent++] = batch[i].text;
            batch[i].text = NULL;
        }
        if (w->nspent > w->st.spent_peak) w->st.spent_peak = w->nspent;
        if (keep < n) { /* producers are not keeping up with them: free the rest here */
            pthread_mutex_unlock(&w->mu);
            for (size_t i = keep; i < n; i++) {
                free(batch[i].text);
                batch[i].text = NULL;
            }
            pthread_mutex_lock(&w->mu);
        }
        w->done_seq += n;
        if (rc == 0) { w->st.written += n; w->st.batches++; }
        else w->st.commit_errors++;
        pthread_cond_broadcast(&w->done);
    }
    pthread_mutex_unlock(&w->mu);
    free(batch);
    return NULL;
}

lt_writer *lt_writer_create(lt_spool *spool, size_t queue_max)
{
    lt_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->spool = spool;
    w->max = queue_max ? queue_max : 10000;
    w->cap = w->max < LT_WRITER_RING_MIN ? w->max : LT_WRITER_RING_MIN;
    w->ring = malloc(w->cap * sizeof *w->ring);
    w->spent = malloc(LT_WRITER_SPENT_MAX * sizeof *w->spent);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_cond_init(&w->done, NULL);
    pthread_cond_init(&w->room, NULL);
    if (!w->ring || !w->spent || pthread_create(&w->thread, NULL, lt_writer_main, w) != 0) {
        free(w->ring);
        free(w->spent);
        free(w);
        return NULL;
    }
    return w;
}

/* The record as the queue keeps it: its text, taken from the record. */
static lt_wrec lt_writer_wrec(lt_record *rec)
{
    lt_wrec r = {.table = rec->table, .time = rec->time, .text = rec->text, .len = rec->len};
    memcpy(r.id, rec->id, sizeof r.id);
    rec->text = NULL;   /* r.text NULL: the spool counts and logs it */
    rec->len = 0;
    return r;
}

/* Called with the lock held: 0 if the ring has a free slot, doubling it (up
 * to max) when it is full; -1 when it is at max or cannot grow. The ring
 * starts small: its slots are touched as it wraps, so a ring of queue_max
 * (10,000 x 64 bytes by default) became resident memory a few seconds into
 * a run even when no more than a batch was ever queued. */
static int lt_writer_room(lt_writer *w)
{
    if (w->count < w->cap) return 0;
    if (w->cap >= w->max) return -1;
    size_t cap = w->cap * 2 < w->max ? w->cap * 2 : w->max;
    lt_wrec *ring = malloc(cap * sizeof *ring);
    if (!ring) return -1;
    for (size_t i = 0; i < w->count; i++) ring[i] = w->ring[(w->head + i) % w->cap];
    free(w->ring);
    w->ring = ring;
    w->cap = cap;
    w->head = 0;
    return 0;
}

static void lt_writer_enqueue(lt_writer *w, lt_wrec *rec)
{
    w->ring[(w->head + w->count) % w->cap] = *rec;
    rec->text = NULL;
    int was_full = lt_writer_batch_full(w);
    w->count++;
    w->bytes += rec->len;
    w->accepted_seq++;
    w->st.submitted++;
    if (w->count == 1 || (!was_full && lt_writer_batch_full(w))) pthread_cond_signal(&w->wake);
}

int lt_writer_submit_wait(lt_writer *w, lt_record *rec)
{
    lt_wrec r = lt_writer_wrec(rec);
    pthread_mutex_lock(&w->mu);
    while (!w->stop && lt_writer_room(w) < 0) {
        pthread_cond_signal(&w->wake);
        pthread_cond_wait(&w->room, &w->mu);
    }
    int rc = w->stop ? -1 : 0;
    if (!rc) lt_writer_enqueue(w, &r);
    char *spent[LT_WRITER_FREE_PER_SUBMIT];
    size_t k = lt_writer_take_spent(w, spent);
    pthread_mutex_unlock(&w->mu);
    lt_writer_free_spent(spent, k);
    free(r.text);   /* not queued */
    return rc;
}

int lt_writer_submit(lt_writer *w, lt_record *rec)
{
    lt_wrec r = lt_writer_wrec(rec);
    pthread_mutex_lock(&w->mu);
    if (w->stop || lt_writer_room(w) < 0) {
        uint64_t d = ++w->st.dropped;
        const char *why = w->stop                 ? "writer stopped"
                          : w->count >= w->max    ? "spool queue full"
                                                  : "no memory to queue it";
        pthread_mutex_unlock(&w->mu);
        free(r.text);
        lt_warn("writer: %s, record %s dropped (%llu dropped so far)", why, rec->id, (unsigned long long)d);
        return -1;
    }
    lt_writer_enqueue(w, &r);
    char *spent[LT_WRITER_FREE_PER_SUBMIT];
    size_t k = lt_writer_take_spent(w, spent);
    pthread_mutex_unlock(&w->mu);
    lt_writer_free_spent(spent, k);
    return 0;
}

void lt_writer_flush(lt_writer *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t target = w->accepted_seq;
    w->flushing++;
    pthread_cond_signal(&w->wake);
    while (w->done_seq < target) pthread_cond_wait(&w->done, &w->mu);
    w->flushing--;
    pthread_mutex_unlock(&w->mu);
}

void lt_writer_stats_get(lt_writer *w, lt_writer_stats *st)
{
    pthread_mutex_lock(&w->mu);
    *st = w->st;
    st->queued = (size_t)(w->accepted_seq - w->done_seq);
    pthread_mutex_unlock(&w->mu);
}

void lt_writer_destroy(lt_writer *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->wake);
    pthread_cond_broadcast(&w->room);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->done);
    pthread_cond_destroy(&w->room);
    pthread_mutex_destroy(&w->mu);
    lt_writer_free_spent(w->spent, w->nspent);
    free(w->spent);
    free(w->ring);
    free(w);
}
