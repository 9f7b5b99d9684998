/* cmd_proxy.c -- `llmtap proxy`: the inline mode. Reads [proxy] and
 * [backend.NAME] (proxy/proxy_cfg.c), opens the spool behind a writer
 * thread, starts the logging thread, the proxy's event loops and (unless
 * --no-upload) the uploader beside them, then waits for SIGTERM/SIGINT:
 * stop accepting, let in-flight calls finish (drain_timeout), hand the last
 * records to the spool, commit, exit 0.
 *
 * Signals are blocked in every thread and taken with sigwait() here, so no
 * handler runs inside libevent or SQLite. */
#include <curl/curl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../common/counters.h"
#include "../common/log.h"
#include "../proxy/proxy.h"
#include "../store/spool.h"
#include "../store/writer.h"
#include "../uploader/uploader.h"
#include "cmd.h"
#include "status.h"
#include "config.h"


typedef struct lt_up_thread {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    lt_config *cfg;
    lt_counters ctr;
} lt_up_thread;

/* ---- [proxy] and [backend.NAME] in the agent's configuration ---- */

static lt_proxy_cfg *lt_proxy_cfg_of(lt_config *cfg)
{
    if (!cfg->proxy && (cfg->proxy = malloc(sizeof(lt_proxy_cfg)))) lt_proxy_cfg_defaults(cfg->proxy);
    return cfg->proxy;
}

static int lt_proxy_hook_set(lt_config *cfg, const char *section, const char *key, const char *value, char *err,
                             size_t errlen)
{
    lt_proxy_cfg *pc = lt_proxy_cfg_of(cfg);
    if (!pc) { snprintf(err, errlen, "out of memory"); return -1; }
    return lt_proxy_cfg_set(pc, section, key, value, err, errlen);
}

static void lt_proxy_hook_dump(const lt_config *cfg, FILE *out)
{
    if (cfg->proxy) lt_proxy_cfg_dump(cfg->proxy, out);
}

static void lt_proxy_hook_free(lt_config *cfg)
{
    if (cfg->proxy) lt_proxy_cfg_free(cfg->proxy);
    free(cfg->proxy);
    cfg->proxy = NULL;
}

static const lt_config_hook lt_proxy_hook = {
    .owns = lt_proxy_cfg_owns, .set = lt_proxy_hook_set, .dump = lt_proxy_hook_dump,
    .free = lt_proxy_hook_free, .template = lt_proxy_cfg_template,
};

void lt_cmd_proxy_config_hook(void)
{
    lt_config_hook_register(&lt_proxy_hook);
}

static void *lt_proxy_uploader_main(void *arg)
{
    lt_up_thread *u = arg;
    char *e = NULL;
    lt_spool *s = lt_spool_open(u->cfg->db_path, &e);
    if (!s) { lt_error("proxy: uploader cannot open the spool: %s", e ? e : "?"); free(e); return NULL; }
    lt_uploader *up = lt_uploader_create(&u->cfg->upload, s);
    lt_uploader_set_counters(up, &u->ctr);
    pthread_mutex_lock(&u->mu);
    while (!u->stop) {
        pthread_mutex_unlock(&u->mu);
        long delivered = 0;
        lt_uploader_drain(up, &delivered);
        pthread_mutex_lock(&u->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += u->cfg->upload.flush_interval_s;
        if (!u->stop) pthread_cond_timedwait(&u->cv, &u->mu, &ts);
    }
    pthread_mutex_unlock(&u->mu);
    lt_uploader_destroy(up);
    lt_spool_close(s);
    return NULL;
}

static void lt_proxy_usage(FILE *out)
{
    fprintf(out,
            "usage: llmtap proxy [--config PATH] [--json] [--no-upload] [--db PATH] [--listen HOST:PORT] [-q] [-v]\n"
            "  reverse proxy in front of the [backend.NAME] sections; every call is logged like the tap does\n"
            "  --config PATH       configuration file (default /etc/llmtap/llmtap.conf)\n"
            "  --json              print every record on stdout, one JSON object per line\n"
            "  --no-upload         only spool the records (no Log Analytics upload)\n"
            "  --db PATH           spool (default: [store] path)\n"
            "  --listen HOST:PORT  overrides [proxy] listen (port 0: any; the port is printed on stderr)\n"
            "exit status: 0 stopped by SIGTERM/SIGINT after draining, 1 runtime error, 2 usage or configuration error\n");
}

typedef struct lt_proxy_opts {
    const char *conf, *db, *listen;
    int json, no_upload, quiet, verbose;
} lt_proxy_opts;

static int lt_proxy_args(int argc, char **argv, lt_proxy_opts *o)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
        {"no-upload", no_argument, NULL, 'n'},    {"db", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o->conf = optarg; break;
        case 'j': o->json = 1; break;
        case 'n': o->no_upload = 1; break;
        case 'd': o->db = optarg; break;
        case 'l': o->listen = optarg; break;
        case 'q': o->quiet = 1; break;
        case 'v': o->verbose++; break;
        case 'h': lt_proxy_usage(stdout); return 0;
        default: lt_proxy_usage(stderr); return 2;
        }
    }
    if (optind != argc) { lt_proxy_usage(stderr); return 2; }
    return -1;
}

/* The agent's configuration with the proxy's sections; NULL (message printed) on error. */
static lt_proxy_cfg *lt_proxy_config(const lt_proxy_opts *o, lt_config *cfg)
{
    char err[512];
    if (lt_config_load_default(cfg, o->conf, err, sizeof err) < 0) { fprintf(stderr, "llmtap: %s\n", err); return NULL; }
    lt_proxy_cfg *pc = lt_proxy_cfg_of(cfg);
    if (!pc) return NULL;
    if (o->db) { free(cfg->db_path); cfg->db_path = strdup(o->db); }
    if (o->listen) { free(pc->listen); pc->listen = strdup(o->listen); }
    pc->parser = cfg->pipeline.parser;
    pc->record = cfg->pipeline.record;
    if (lt_proxy_cfg_check(pc, err, sizeof err) < 0) {
        fprintf(stderr, "llmtap: %s: %s\n", o->conf ? o->conf : LT_CONFIG_DEFAULT_PATH, err);
        return NULL;
    }
    return pc;
}

/* What the proxy did, printed after everything is flushed. */
typedef struct lt_proxy_report {
    json_t *backends;
    uint64_t local_replies, client_cancels, refused;
} lt_proxy_report;

static void lt_proxy_summary(const lt_proxy_report *pr, const lt_tap_stats *ts, lt_writer *w, const lt_counters *ctr)
{
    lt_writer_stats ws = {0};
    if (w) lt_writer_stats_get(w, &ws);
    fprintf(stderr, "llmtap: proxy stopped: %llu records (%llu stored, %llu dropped by a full spool queue), "
                    "%llu log events dropped, %llu connections not logged and %llu records without the proxy's "
                    "columns (memory ran out), %llu local replies, %llu client cancels, "
                    "%llu requests refused unread (malformed, too large, method)\n",
            (unsigned long long)ts->records, (unsigned long long)ws.written, (unsigned long long)ws.dropped,
            (unsigned long long)ts->dropped_events, (unsigned long long)ts->conns_unlogged,
            (unsigned long long)ts->records_no_columns, (unsigned long long)pr->local_replies,
            (unsigned long long)pr->client_cancels, (unsigned long long)pr->refused);
    char *s = json_dumps(pr->backends, JSON_COMPACT);
    fprintf(stderr, "llmtap: backends: %s\n", s ? s : "[]");
    free(s);
    lt_counters_print(ctr, stderr);
}

static void lt_proxy_wait_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    sigwait(&set, &sig);
    lt_info("proxy: signal %d, draining", sig);
}

/* ---- `llmtap status` and /metrics: per-backend state ---- */

typedef struct lt_proxy_st { lt_proxy *px; lt_tap *tap; lt_writer *writer; } lt_proxy_st;

static json_t *lt_proxy_st_backends(void *ud)
{
    return lt_proxy_backends_json(((lt_proxy_st *)ud)->px);
}

static json_t *lt_proxy_st_proxy(void *ud)
{
    lt_proxy_st *st = ud;
    lt_tap_stats ts;
    lt_tap_stats_get(st->tap, &ts);
    lt_writer_stats ws = {0};
    if (st->writer) lt_writer_stats_get(st->writer, &ws);
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "records", (json_int_t)ts.records,
                     "log_events_dropped", (json_int_t)ts.dropped_events, "log_bytes_dropped",
                     (json_int_t)ts.dropped_bytes, "log_connections_unlogged", (json_int_t)ts.conns_unlogged,
                     "records_without_proxy_columns", (json_int_t)ts.records_no_columns,
                     "log_queued_bytes", (json_int_t)ts.queued_bytes,
                     "records_stored", (json_int_t)ws.written, "records_dropped_spool_full", (json_int_t)ws.dropped,
                     "local_replies", (json_int_t)__atomic_load_n(&st->px->local_replies, __ATOMIC_RELAXED),
                     "client_cancels", (json_int_t)__atomic_load_n(&st->px->client_cancels, __ATOMIC_RELAXED),
                     "requests_refused", (json_int_t)__atomic_load_n(&st->px->refused, __ATOMIC_RELAXED));
}

/* The status socket and metrics page; the proxy runs on without them (warned). */
static lt_status *lt_proxy_status(lt_config *acfg, lt_proxy_st *st)
{
    char err[300];
    lt_status *s = lt_status_create(acfg->agent.socket, acfg->metrics.listen, (unsigned)getuid(), (unsigned)getgid(),
                                    err, sizeof err);
    if (!s) { lt_warn("proxy: no status socket / metrics: %s", err); return NULL; }
    lt_status_add(s, "backends", lt_proxy_st_backends, st);
    lt_status_add(s, "proxy", lt_proxy_st_proxy, st);
    if (lt_status_start(s) < 0) { lt_status_destroy(s); return NULL; }
    if (lt_status_metrics_port(s)) fprintf(stderr, "llmtap: proxy metrics on port %d\n", lt_status_metrics_port(s));
    return s;
}

static int lt_proxy_serve(const lt_proxy_opts *o, lt_config *acfg, lt_proxy_cfg *cfg, lt_writer *writer)
{
    char err[512];
    lt_tap *tap = lt_tap_create(cfg, writer, o->json);
    lt_proxy *px = tap ? lt_proxy_create(cfg, tap, err, sizeof err) : NULL;
    if (!px) {
        fprintf(stderr, "llmtap: %s\n", tap ? err : "out of memory");
        lt_tap_destroy(tap, NULL);
        return 2;
    }
    lt_up_thread up = {.cfg = acfg};
    pthread_mutex_init(&up.mu, NULL);
    pthread_cond_init(&up.cv, NULL);
    int uploading = !o->no_upload && acfg->upload.endpoint && acfg->upload.dcr_immutable_id;
    if (!o->no_upload && !uploading) lt_warn("proxy: [upload] endpoint/dcr_immutable_id not set: records are only spooled");
    if (uploading) pthread_create(&up.th, NULL, lt_proxy_uploader_main, &up);
    fprintf(stderr, "llmtap: proxy listening on %s:%d (%d workers, %d backends)\n", px->listen_host,
            px->listen_port, cfg->workers, cfg->n_backends);
    lt_proxy_st st = {px, tap, writer};
    lt_status *status = lt_proxy_status(acfg, &st);
    int rc = lt_proxy_start(px) < 0 ? 1 : 0;
    if (!rc) lt_proxy_wait_signal();
    lt_proxy_stop(px);
    lt_proxy_wait(px);
    lt_status_destroy(status);
    lt_proxy_report pr = {lt_proxy_backends_json(px), px->local_replies, px->client_cancels, px->refused};
    lt_proxy_destroy(px);   /* closes what the drain left: their last events reach the tap */
    lt_tap_flush(tap);
    lt_tap_stats ts;
    lt_tap_stats_get(tap, &ts);
    lt_counters ctr;
    lt_tap_destroy(tap, &ctr);
    if (writer) lt_writer_flush(writer);
    if (!o->quiet) lt_proxy_summary(&pr, &ts, writer, &ctr);
    json_decref(pr.backends);
    if (uploading) {
        pthread_mutex_lock(&up.mu);
        up.stop = 1;
        pthread_cond_signal(&up.cv);
        pthread_mutex_unlock(&up.mu);
        pthread_join(up.th, NULL);
    }
    return rc;
}

int lt_cmd_proxy(int argc, char **argv)
{
    lt_proxy_opts o = {0};
    int rc = lt_proxy_args(argc, argv, &o);
    if (rc >= 0) return rc;
    lt_config acfg;
    lt_proxy_cfg *cfg = lt_proxy_config(&o, &acfg);
    if (!cfg) { lt_config_free(&acfg); return 2; }
    if (o.quiet) lt_log_level = LT_LOG_ERROR;
    if (o.verbose) lt_log_level = LT_LOG_WARN + o.verbose;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char *e = NULL;
    lt_spool *spool = lt_spool_open(acfg.db_path, &e);
    if (!spool) {
        fprintf(stderr, "llmtap: cannot open spool %s: %s\n", acfg.db_path, e ? e : "?");
        free(e);
        lt_config_free(&acfg);
        return 1;
    }
    lt_writer *writer = lt_writer_create(spool, (size_t)acfg.agent.queue_max);
    rc = lt_proxy_serve(&o, &acfg, cfg, writer);
    lt_writer_destroy(writer);
    lt_spool_close(spool);
    curl_global_cleanup();
    lt_config_free(&acfg);
    return rc;
}
