/* uploadloop.c -- the daemon's upload thread (see uploadloop.h).
 *
 * The loop sleeps on a condition variable for flush_interval seconds (woken
 * early by stop or reload), so the only long waits are inside a drain, and
 * those watch the stop flag through lt_uploader_set_limits. Status fields
 * are written under the mutex and read under it by the status thread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../common/clock.h"
#include "../common/log.h"
#include "../uploader/uploader.h"
#include "uploadloop.h"

struct lt_uploadloop {
    char *db;
    lt_upload_cfg cfg, next;
    int has_next;
    lt_spool_limits lim;
    lt_counters *ctr;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, started;
    int interrupt;          /* a stop or a reload: the run under way ends its waits at once */
    /* status */
    int64_t runs, delivered, last_success_s, last_attempt_s, pending_after, token_expires_s;
    char last_error[256];
};

lt_uploadloop *lt_uploadloop_create(const char *db, lt_upload_cfg *cfg, const lt_spool_limits *lim, lt_counters *ctr)
{
    lt_uploadloop *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->db = strdup(db);
    l->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    l->lim = *lim;
    l->ctr = ctr;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    return l;
}

/* One run: bound the spool, drain it with u (which keeps its token between
 * runs: a new uploader per run would fetch a new token every flush interval). */
static void lt_uploadloop_run_once(lt_uploadloop *l, lt_spool *s, lt_uploader *u)
{
    lt_spool_enforce(s, &l->lim, lt_clock_now_us());
    long delivered = 0;
    int rc = lt_uploader_drain(u, &delivered);
    lt_spool_stats st;
    lt_spool_stats_get(s, &st);
    pthread_mutex_lock(&l->mu);
    l->runs++;
    l->delivered += delivered;
    l->last_attempt_s = lt_clock_now_s();
    l->pending_after = st.pending;
    if (lt_uploader_token_expiry(u)) l->token_expires_s = lt_uploader_token_expiry(u);
    if (rc == 0) l->last_success_s = l->last_attempt_s;
    else snprintf(l->last_error, sizeof l->last_error, "%lld records still pending after a run (see the log for the cause)",
                  (long long)st.pending);
    pthread_mutex_unlock(&l->mu);
}

static lt_uploader *lt_uploadloop_uploader(lt_uploadloop *l, lt_spool *s, const int *cancel, int64_t deadline)
{
    lt_uploader *u = lt_uploader_create(&l->cfg, s);
    if (!u) return NULL;
    lt_uploader_set_counters(u, l->ctr);
    lt_uploader_set_limits(u, cancel, deadline);
    return u;
}

static lt_spool *lt_uploadloop_spool(lt_uploadloop *l)
{
    char *err = NULL;
    lt_spool *s = lt_spool_open(l->db, &err);
    if (!s) { lt_error("upload: cannot open spool: %s", err ? err : "?"); free(err); return NULL; }
    lt_spool_set_counters(s, l->ctr);
    return s;
}

/* Waits for the next run; takes a reloaded [upload] (*reloaded = 1).
 * 0 = run, -1 = stop. */
static int lt_uploadloop_wait(lt_uploadloop *l, int *reloaded)
{
    pthread_mutex_lock(&l->mu);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);   /* pthread_cond_timedwait's clock, not "now" for records */
    ts.tv_sec += l->cfg.flush_interval_s > 0 ? l->cfg.flush_interval_s : 5;
    while (!__atomic_load_n(&l->stop, __ATOMIC_RELAXED) && !l->has_next)
        if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) != 0) break;
    *reloaded = 0;
    if (l->has_next) {
        lt_upload_cfg_free(&l->cfg);
        l->cfg = l->next;
        l->has_next = 0;
        *reloaded = 1;
        if (!__atomic_load_n(&l->stop, __ATOMIC_RELAXED)) __atomic_store_n(&l->interrupt, 0, __ATOMIC_RELAXED);
        lt_info("upload: new [upload] settings applied (endpoint %s)", l->cfg.endpoint ? l->cfg.endpoint : "unset");
    }
    int stop = __atomic_load_n(&l->stop, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&l->mu);
    return stop ? -1 : 0;
}

static void *lt_uploadloop_main(void *arg)
{
    lt_uploadloop *l = arg;
    pthread_setname_np(pthread_self(), "llmtap-upload");
    lt_spool *s = lt_uploadloop_spool(l);
    lt_uploader *u = s ? lt_uploadloop_uploader(l, s, &l->interrupt, 0) : NULL;
    int reloaded;
    while (u && lt_uploadloop_wait(l, &reloaded) == 0) {
        if (reloaded) {   /* the uploader points into the old settings */
            lt_uploader_destroy(u);
            u = lt_uploadloop_uploader(l, s, &l->interrupt, 0);
            if (!u) break;
        }
        lt_uploadloop_run_once(l, s, u);
    }
    lt_uploader_destroy(u);
    lt_spool_close(s);
    return NULL;
}

int lt_uploadloop_start(lt_uploadloop *l)
{
    if (pthread_create(&l->thread, NULL, lt_uploadloop_main, l) != 0) return -1;
    l->started = 1;
    return 0;
}

void lt_uploadloop_reload(lt_uploadloop *l, lt_upload_cfg *cfg)
{
    pthread_mutex_lock(&l->mu);
    if (l->has_next) lt_upload_cfg_free(&l->next);
    l->next = *cfg;
    memset(cfg, 0, sizeof *cfg);
    l->has_next = 1;
    __atomic_store_n(&l->interrupt, 1, __ATOMIC_RELAXED); /* a run retrying the old endpoint ends now */
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void lt_uploadloop_finish(lt_uploadloop *l, int deadline_ms)
{
    if (l->started) {
        pthread_mutex_lock(&l->mu);
        __atomic_store_n(&l->stop, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&l->interrupt, 1, __ATOMIC_RELAXED);
        pthread_cond_signal(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
        l->started = 0;
    }
    if (l->has_next) { lt_upload_cfg_free(&l->cfg); l->cfg = l->next; l->has_next = 0; }
    lt_spool *s = lt_uploadloop_spool(l);
    if (!s) return;
    lt_info("upload: last attempt before exit (at most %d ms)", deadline_ms);
    lt_uploader *u = lt_uploadloop_uploader(l, s, NULL, lt_clock_mono_us() + (int64_t)deadline_ms * 1000);
    if (u) lt_uploadloop_run_once(l, s, u);
    lt_uploader_destroy(u);
    lt_spool_close(s);
}

json_t *lt_uploadloop_status(lt_uploadloop *l)
{
    pthread_mutex_lock(&l->mu);
    json_t *o = json_pack("{s:s?,s:I,s:I,s:I,s:I,s:I,s:I,s:s?}", "endpoint", l->cfg.endpoint, "runs", (json_int_t)l->runs,
                          "delivered", (json_int_t)l->delivered, "last_attempt", (json_int_t)l->last_attempt_s,
                          "last_success", (json_int_t)l->last_success_s, "pending_after_last_run",
                          (json_int_t)l->pending_after, "token_expires", (json_int_t)l->token_expires_s, "last_error", l->last_error[0] ? l->last_error : NULL);
    pthread_mutex_unlock(&l->mu);
    return o;
}

void lt_uploadloop_destroy(lt_uploadloop *l)
{
    if (!l) return;
    if (l->started) lt_uploadloop_finish(l, 0);
    lt_upload_cfg_free(&l->cfg);
    if (l->has_next) lt_upload_cfg_free(&l->next);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l->db);
    free(l);
}
