/* daemon.c -- `llmtap run`: start-up, threads, signals, shutdown (see daemon.h).
 *
 * Start-up order follows privilege: as root, open the pcap handles, bind the
 * status socket and metrics port, hand the spool directory to [agent] user;
 * then drop to that user with no capabilities (agent/privdrop.c) BEFORE any
 * thread exists (capabilities are per thread); only then open the spool and
 * start the threads, so every file the agent writes belongs to the user.
 *
 * Signals are blocked in every thread and read from a signalfd by the main
 * thread, which does nothing else: no async-signal-safety puzzles. Counters
 * are one struct per writer thread (each worker's pipeline, the store, the
 * uploader); status sums them. What `kill -9` loses is what was in memory:
 * the exchanges still open in the pipelines and the writer's queue
 * (status: writer.queued); everything committed is uploaded by the next run. */
#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <curl/curl.h>
#include "../capture/live.h"
#include "../capture/pipeline.h"
#include "../common/clock.h"
#include "../common/counters.h"
#include "../common/log.h"
#include "../common/membudget.h"
#include "../store/writer.h"
#include "config.h"
#include "daemon.h"
#include "privdrop.h"
#include "status.h"
#include "uploadloop.h"

#define LT_MAX_WORKERS 64

typedef struct lt_daemon lt_daemon;

typedef struct lt_worker {
    lt_daemon *d;
    int idx;
    lt_pipeline *pl;
    pthread_t th;
    lt_time_us last_ts;
    int rc;                    /* lt_live_run's result, stored atomically */
    int running;               /* thread created */
} lt_worker;

struct lt_daemon {
    lt_daemon_opts opts;
    lt_config cfg;
    const char *db;
    lt_live *live;
    lt_worker w[LT_MAX_WORKERS];
    int nw;
    lt_spool *spool;           /* the writer's connection */
    lt_spool *status_spool;    /* the status thread's connection */
    lt_writer *writer;
    lt_uploadloop *up;
    lt_status *status;
    lt_counters store_ctr, upload_ctr;
    pthread_mutex_t mu;        /* stdout (--json) and the incomplete-reason tally */
    json_t *incomplete;        /* reason -> count */
    lt_time_us started_us;
    lt_membudget *budget;      /* [capture] memory_budget, shared by every worker's pipeline */
};

/* ---- records: --json, incomplete reasons, the writer ---- */

static void lt_daemon_print(lt_daemon *d, lt_worker *w, const lt_record *rec)
{
    size_t n;
    char *s = lt_record_line(rec, &n);
    if (!s) {   /* lt_record_line said which; counted on the worker's own thread */
        lt_pipeline_counters(w->pl)->records_unprinted++;
        return;
    }
    pthread_mutex_lock(&d->mu);
    fputs(s, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&d->mu);
    free(s);
}

static void lt_daemon_tally(lt_daemon *d, const lt_record *rec)
{
    const char *why = rec->incomplete;
    if (!why) return;
    char key[96];
    snprintf(key, sizeof key, "%s.%s", rec->table == LT_TABLE_LLM ? "llm" : "gateway", why);
    pthread_mutex_lock(&d->mu);
    json_object_set_new(d->incomplete, key, json_integer(json_integer_value(json_object_get(d->incomplete, key)) + 1));
    pthread_mutex_unlock(&d->mu);
}

static void lt_daemon_record(void *ud, lt_record *rec)
{
    lt_worker *w = ud;
    lt_daemon *d = w->d;
    if (d->opts.json) lt_daemon_print(d, w, rec);
    lt_daemon_tally(d, rec);
    if (d->writer) lt_writer_submit(d->writer, rec);
}

static void lt_daemon_packet(void *ud, int linktype, const uint8_t *frame, size_t caplen, lt_time_us ts)
{
    lt_worker *w = ud;
    w->last_ts = ts;
    lt_pipeline_packet(w->pl, linktype, frame, caplen, ts);
}

static void *lt_worker_main(void *arg)
{
    lt_worker *w = arg;
    __atomic_store_n(&w->rc, lt_live_run(w->d->live, w->idx, lt_daemon_packet, w), __ATOMIC_RELAXED);
    /* capture time continues from the last packet: flows end "now" */
    lt_time_us end = lt_clock_now_us();
    lt_pipeline_finish(w->pl, end > w->last_ts ? end : w->last_ts);
    return NULL;
}

/* ---- status providers ---- */

static void lt_daemon_sum(lt_daemon *d, lt_counters *sum)
{
    lt_counters_reset(sum);
    for (int i = 0; i < d->nw; i++) lt_counters_add(sum, lt_pipeline_counters(d->w[i].pl));
    lt_counters_add(sum, &d->store_ctr);
    lt_counters_add(sum, &d->upload_ctr);
    lt_writer_stats ws = {0};
    if (d->writer) lt_writer_stats_get(d->writer, &ws);
    sum->store_queue_full += ws.dropped;   /* counted by the writer, under its lock */
}

static json_t *lt_daemon_st_agent(void *ud)
{
    lt_daemon *d = ud;
    return json_pack("{s:i,s:i,s:I,s:i,s:i}", "pid", (int)getpid(), "uid", (int)getuid(), "uptime_s",
                     (json_int_t)((lt_clock_now_us() - d->started_us) / 1000000), "workers", d->nw, "metrics_port",
                     lt_status_metrics_port(d->status));
}

static json_t *lt_daemon_st_capture(void *ud)
{
    lt_daemon *d = ud;
    lt_live_stats st[32];
    int n = lt_live_stats_get(d->live, st, 32);
    json_t *a = json_array();
    for (int i = 0; i < n && i < 32; i++)
        json_array_append_new(a, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "interface", st[i].interface, "kernel_received",
                                           (json_int_t)st[i].received, "kernel_dropped", (json_int_t)st[i].dropped,
                                           "interface_dropped", (json_int_t)st[i].ifdropped, "packets",
                                           (json_int_t)st[i].packets, "bytes", (json_int_t)st[i].bytes));
    /* the parser memory budget (issue 11): what all parser state holds now,
     * its high-water mark, and how often it refused to grow a buffer */
    lt_membudget *mb = d->budget;
    json_t *bud = json_pack("{s:I,s:I,s:I,s:I}", "limit_bytes", (json_int_t)(mb ? mb->cap : 0), "used_bytes",
                            (json_int_t)(mb ? lt_membudget_used(mb) : 0), "high_water_bytes",
                            (json_int_t)(mb ? lt_membudget_high(mb) : 0), "refusals",
                            (json_int_t)(mb ? atomic_load(&mb->refusals) : 0));
    return json_pack("{s:o,s:o}", "interfaces", a, "memory_budget", bud);
}

static json_t *lt_daemon_st_counters(void *ud)
{
    lt_counters sum;
    lt_daemon_sum(ud, &sum);
    return lt_counters_json(&sum);
}

static json_t *lt_daemon_st_records(void *ud)
{
    lt_daemon *d = ud;
    lt_counters sum;
    lt_daemon_sum(d, &sum);
    pthread_mutex_lock(&d->mu);
    json_t *inc = json_deep_copy(d->incomplete);
    pthread_mutex_unlock(&d->mu);
    return json_pack("{s:I,s:I,s:o}", "ApiManagementGatewayLlmLog", (json_int_t)sum.llm_records,
                     "ApiManagementGatewayLogs", (json_int_t)sum.gateway_records, "incomplete", inc);
}

static json_t *lt_daemon_st_spool(void *ud)
{
    lt_daemon *d = ud;
    lt_writer_stats ws = {0};
    if (d->writer) lt_writer_stats_get(d->writer, &ws);
    lt_spool_stats st = {0};
    if (d->status_spool) lt_spool_stats_get(d->status_spool, &st);
    int64_t oldest_age = st.oldest_pending ? (lt_clock_now_us() - st.oldest_pending) / 1000000 : 0;
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "path", d->db, "pending", (json_int_t)st.pending,
                     "oldest_pending_age_s", (json_int_t)oldest_age,
                     "pending_bytes", (json_int_t)st.pending_bytes, "delivered", (json_int_t)st.delivered,
                     "quarantined", (json_int_t)st.quarantined, "writer_queued", (json_int_t)ws.queued,
                     "writer_dropped", (json_int_t)ws.dropped, "writer_batches", (json_int_t)ws.batches);
}

static json_t *lt_daemon_st_upload(void *ud)
{
    lt_daemon *d = ud;
    if (!d->up) return json_pack("{s:b}", "enabled", 0);
    json_t *o = lt_uploadloop_status(d->up);
    json_object_set_new(o, "enabled", json_true());
    return o;
}

/* ---- start-up ---- */

static int lt_daemon_open_capture(lt_daemon *d)
{
    const lt_daemon_opts *o = &d->opts;
    lt_live_cfg lc = {
        .interfaces = o->ninterfaces ? o->interfaces : (const char *const *)d->cfg.interfaces,
        .ninterfaces = o->ninterfaces ? o->ninterfaces : (int)d->cfg.n_interfaces,
        .snaplen = d->cfg.snaplen, .buffer_size = (int)d->cfg.buffer_size,
        .workers = d->cfg.workers, .filter = d->cfg.bpf_filter,
    };
    char err[512];
    d->live = lt_live_create(&lc, err, sizeof err);
    if (!d->live) { lt_error("run: %s", err); return -1; }
    d->nw = lt_live_workers(d->live);
    if (d->nw > LT_MAX_WORKERS) d->nw = LT_MAX_WORKERS;
    for (int i = 0; i < lc.ninterfaces; i++) lt_info("run: capturing on %s", lc.interfaces[i]);
    return 0;
}

/* Spool directory and files to [agent] user, before the drop. */
static int lt_daemon_own_spool(lt_daemon *d, unsigned *uid, unsigned *gid)
{
    *uid = getuid(), *gid = getgid();
    const char *user = d->cfg.agent.user ? d->cfg.agent.user : "llmtap";
    if (geteuid() != 0 || !strcmp(user, "root")) return 0;
    char err[512], dir[4096];
    uid_t u;
    gid_t g;
    if (lt_privdrop_lookup(user, &u, &g, err, sizeof err) < 0) { lt_error("run: %s", err); return -1; }
    *uid = u, *gid = g;
    snprintf(dir, sizeof dir, "%s", d->db);
    if (lt_privdrop_own_dir(dirname(dir), u, g, err, sizeof err) < 0) { lt_error("run: spool directory %s", err); return -1; }
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", d->db, sfx[i]);
        if (access(p, F_OK) == 0 && lt_privdrop_own_file(p, u, g) < 0) { lt_error("run: chown %s: %s", p, strerror(errno)); return -1; }
    }
    return 0;
}

static int lt_daemon_open_status(lt_daemon *d, unsigned uid, unsigned gid)
{
    char err[512];
    const char *sock = d->opts.socket ? d->opts.socket : d->cfg.agent.socket;
    d->status = lt_status_create(sock, d->cfg.metrics.listen, uid, gid, err, sizeof err);
    if (!d->status) { lt_error("run: status: %s", err); return -1; }
    lt_status_add(d->status, "agent", lt_daemon_st_agent, d);
    lt_status_add(d->status, "capture", lt_daemon_st_capture, d);
    lt_status_add(d->status, "records", lt_daemon_st_records, d);
    lt_status_add(d->status, "spool", lt_daemon_st_spool, d);
    lt_status_add(d->status, "upload", lt_daemon_st_upload, d);
    lt_status_add(d->status, "counters", lt_daemon_st_counters, d);
    if (lt_status_metrics_port(d->status)) lt_info("run: metrics on port %d", lt_status_metrics_port(d->status));
    return 0;
}

static int lt_daemon_open_store(lt_daemon *d)
{
    char *e = NULL;
    d->spool = lt_spool_open(d->db, &e);
    if (d->spool) { free(e); d->status_spool = lt_spool_open(d->db, &e); }
    if (!d->spool || !d->status_spool) { lt_error("run: cannot open spool: %s", e ? e : "?"); free(e); return -1; }
    lt_spool_set_counters(d->spool, &d->store_ctr);
    lt_spool_set_counters(d->status_spool, &d->store_ctr); /* stats only: it never counts */
    d->writer = lt_writer_create(d->spool, (size_t)d->cfg.agent.queue_max);
    return d->writer ? 0 : -1;
}

static int lt_daemon_start_threads(lt_daemon *d)
{
    if (d->cfg.pipeline.memory_budget && !d->budget) {
        if (!(d->budget = lt_membudget_create(d->cfg.pipeline.memory_budget))) return -1;
        d->cfg.pipeline.parser.budget = d->budget;
    }
    for (int i = 0; i < d->nw; i++) {
        lt_worker *w = &d->w[i];
        *w = (lt_worker){.d = d, .idx = i};
        w->pl = lt_pipeline_create(&d->cfg.pipeline, lt_daemon_record, w);
        if (!w->pl || pthread_create(&w->th, NULL, lt_worker_main, w) != 0) { lt_error("run: cannot start worker %d", i); return -1; }
        w->running = 1;
    }
    if (!d->opts.no_upload) {
        d->up = lt_uploadloop_create(d->db, &d->cfg.upload, &d->cfg.spool, &d->upload_ctr);
        if (!d->up || lt_uploadloop_start(d->up) < 0) return -1;
    }
    return lt_status_start(d->status);
}

static int lt_daemon_start(lt_daemon *d)
{
    unsigned uid, gid;
    char err[512];
    if (lt_daemon_open_capture(d) < 0 || lt_daemon_own_spool(d, &uid, &gid) < 0 || lt_daemon_open_status(d, uid, gid) < 0)
        return -1;
    if (lt_privdrop_apply(d->cfg.agent.user, err, sizeof err) < 0) { lt_error("run: %s", err); return -1; }
    if (lt_daemon_open_store(d) < 0) return -1;
    /* every worker's pipeline exists before the status thread reads it */
    return lt_daemon_start_threads(d);
}

/* ---- signals and shutdown ---- */

static int lt_daemon_signalfd(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
    if (pthread_sigmask(SIG_BLOCK, set, NULL) != 0) return -1;  /* inherited by every thread */
    return signalfd(-1, set, SFD_CLOEXEC);
}

/* SIGHUP: [upload] and [log] from the file again; the rest needs a restart. */
static void lt_daemon_reload(lt_daemon *d)
{
    lt_config nc;
    char err[512];
    if (lt_config_load_default(&nc, d->opts.config_path, err, sizeof err) < 0) {
        lt_error("run: SIGHUP: configuration not reloaded: %s", err);
        lt_log_level = d->cfg.log_level;
        return;
    }
    d->cfg.log_level = nc.log_level;
    if (d->opts.verbose) lt_log_level = LT_LOG_WARN + d->opts.verbose;
    if (d->up) lt_uploadloop_reload(d->up, &nc.upload);
    lt_config_free(&nc);
    lt_warn("run: SIGHUP: [upload] and [log] reloaded");
}

/* Waits for SIGTERM/SIGINT (0) or a dead capture worker (1). */
static int lt_daemon_wait(lt_daemon *d, int sfd)
{
    for (;;) {
        struct pollfd pf = {.fd = sfd, .events = POLLIN};
        int r = poll(&pf, 1, 1000);
        for (int i = 0; i < d->nw; i++)
            if (__atomic_load_n(&d->w[i].rc, __ATOMIC_RELAXED) < 0) { lt_error("run: capture failed; stopping"); return 1; }
        if (r <= 0) continue;
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof si) != sizeof si) continue;
        if (si.ssi_signo == SIGHUP) { lt_daemon_reload(d); continue; }
        lt_warn("run: %s received; stopping", strsignal((int)si.ssi_signo));
        return 0;
    }
}

static void lt_daemon_stop(lt_daemon *d)
{
    if (d->live) lt_live_stop(d->live);
    for (int i = 0; i < d->nw; i++) if (d->w[i].running) pthread_join(d->w[i].th, NULL);
    if (d->writer) lt_writer_flush(d->writer);        /* every record committed */
    if (d->up) lt_uploadloop_finish(d->up, d->cfg.agent.shutdown_deadline_ms);
}

static void lt_daemon_report(lt_daemon *d)
{
    if (d->opts.quiet) return;
    lt_counters sum;
    lt_daemon_sum(d, &sum);
    lt_writer_stats ws = {0};
    if (d->writer) lt_writer_stats_get(d->writer, &ws);
    fprintf(stderr, "llmtap: run: stopped; %llu records written to the spool, %llu dropped (queue full)\n",
            (unsigned long long)ws.written, (unsigned long long)ws.dropped);
    lt_counters_print(&sum, stderr);
}

static void lt_daemon_free(lt_daemon *d)
{
    lt_status_destroy(d->status);   /* first: its providers read everything below */
    lt_uploadloop_destroy(d->up);
    lt_writer_destroy(d->writer);
    for (int i = 0; i < d->nw; i++) lt_pipeline_destroy(d->w[i].pl);
    lt_membudget_destroy(d->budget);   /* after every pipeline released its share */
    lt_spool_close(d->spool);
    lt_spool_close(d->status_spool);
    lt_live_destroy(d->live);
    json_decref(d->incomplete);
    pthread_mutex_destroy(&d->mu);
    lt_config_free(&d->cfg);
}

static int lt_daemon_load(lt_daemon *d, const lt_daemon_opts *o)
{
    char err[512];
    if (lt_config_load_default(&d->cfg, o->config_path, err, sizeof err) < 0) {
        fprintf(stderr, "llmtap: %s\n", err);
        return -1;
    }
    if (o->quiet) lt_log_level = LT_LOG_ERROR;
    if (o->verbose) lt_log_level = LT_LOG_WARN + o->verbose;
    d->opts = *o;
    d->db = o->db ? o->db : d->cfg.db_path;
    d->incomplete = json_object();
    d->started_us = lt_clock_now_us();
    pthread_mutex_init(&d->mu, NULL);
    return 0;
}

int lt_daemon_run(const lt_daemon_opts *o)
{
    static lt_daemon d;   /* one per process; large (workers) */
    memset(&d, 0, sizeof d);
    if (lt_daemon_load(&d, o) < 0) return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);   /* before any thread */
    sigset_t set;
    int sfd = lt_daemon_signalfd(&set), rc = 1;
    if (sfd >= 0 && lt_daemon_start(&d) == 0) {
        lt_warn("run: started (pid %d, %d capture worker%s)", (int)getpid(), d.nw, d.nw == 1 ? "" : "s");
        rc = lt_daemon_wait(&d, sfd);
    }
    lt_daemon_stop(&d);
    lt_daemon_report(&d);
    lt_daemon_free(&d);
    if (sfd >= 0) close(sfd);
    curl_global_cleanup();
    return rc;
}
