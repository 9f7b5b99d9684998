/* cmd_replay.c -- `llmtap replay FILE`: a capture file through the whole
 * pipeline into the spool (and/or stdout as JSON lines).
 *
 * Records are stored by store/writer.c's thread, as `llmtap run` stores
 * them: SQLite, the JSON text of each record and the commits run beside the
 * parsing instead of after it, in transactions of up to a thousand records.
 * A file can wait, so a full queue makes replay wait instead of dropping.
 * The counters printed at the end account for every packet, stream and
 * exchange that did not become a complete record. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../capture/workers.h"
#include "../common/counters.h"
#include "../common/log.h"
#include "../store/spool.h"
#include "../store/writer.h"
#include "cmd.h"
#include "config.h"
#include "../capture/pipeline.h"

typedef struct lt_replay {
    lt_spool *spool;
    lt_writer *writer;       /* owns spool while it runs */
    lt_counters store_ctr;   /* the spool counts here, on the writer's thread */
    int json;
    uint64_t unprinted;      /* --json lines lost to memory (every thread's, atomic) */
} lt_replay;

static void lt_replay_print(lt_replay *r, const lt_record *rec)
{
    size_t n;
    char *s = lt_record_line(rec, &n); /* the bytes json_dumps would give: the cases pin them */
    if (!s) __atomic_add_fetch(&r->unprinted, 1, __ATOMIC_RELAXED);   /* lt_record_line said which */
    if (s) { /* a whole line, though --workers threads print at once */
        flockfile(stdout);
        fwrite_unlocked(s, 1, n, stdout);
        fputc_unlocked('\n', stdout);
        funlockfile(stdout);
        free(s);
    }
}

/* Called by every --workers thread at once: the line is printed under
 * stdout's lock and the writer has its own, so each thread writes its
 * records' JSON text in parallel. */
static void lt_replay_record(void *ud, lt_record *rec)
{
    lt_replay *r = ud;
    if (r->json) lt_replay_print(r, rec);
    if (r->writer) lt_writer_submit_wait(r->writer, rec);
}

/* The writer commits what is queued and stops; 1 if a batch failed. */
static int lt_replay_store_end(lt_replay *r, lt_counters *ctr)
{
    if (!r->writer) return 0;
    lt_writer_stats st;
    lt_writer_flush(r->writer);
    lt_writer_stats_get(r->writer, &st);
    lt_writer_destroy(r->writer);
    r->writer = NULL;
    lt_counters_add(ctr, &r->store_ctr);
    lt_spool_set_counters(r->spool, NULL);
    return st.commit_errors ? 1 : 0;
}

static void lt_replay_usage(FILE *out)
{
    fprintf(out,
            "usage: llmtap replay FILE [--db PATH] [--json] [--no-store] [--workers N] [--config PATH] [-q] [-v]\n"
            "  FILE        a pcap or pcapng capture\n"
            "  --db PATH   SQLite spool to store records in (default: [store] path of the config)\n"
            "  --json      print one JSON object per record on stdout, tagged with its \"Table\"\n"
            "  --no-store  do not store records\n"
            "  --workers N N pipelines on N threads, each reading FILE and running the flows placed on\n"
            "              its pipeline (default 1; records then come in the order they complete, not\n"
            "              the order of a single pipeline; from stdin or a pipe one thread runs them all)\n"
            "  --config    configuration file (default /etc/llmtap/llmtap.conf if it exists)\n"
            "  -q / -v     quieter / more verbose logging\n"
            "exit status: 0 done (damaged input is counted, not fatal), 1 input or store error, 2 usage\n");
}

/* Commits, closes, prints the counters; returns rc (1 if the last commit failed). */
static int lt_replay_end(lt_replay *r, lt_config *cfg, const char *file, int quiet, lt_counters *ctr, int rc)
{
    fflush(stdout);
    if (r->spool) lt_spool_close(r->spool);
    ctr->records_unprinted += __atomic_load_n(&r->unprinted, __ATOMIC_RELAXED);
    if (!quiet) {
        fprintf(stderr, "llmtap: replay of %s: %llu records stored, %llu already stored\n", file,
                (unsigned long long)ctr->store_inserted, (unsigned long long)ctr->store_duplicates);
        lt_counters_print(ctr, stderr);
    }
    lt_config_free(cfg);
    return rc;
}

/* --workers N: capture/workers.c runs N pipelines; the spool counts into its own counters. */
static int lt_replay_workers(lt_replay *r, lt_config *cfg, const char *file, int n, lt_counters *ctr)
{
    lt_workers *w = lt_workers_create(n, &cfg->pipeline, lt_replay_record, r);
    char *e = NULL;
    int rc = 0;
    if (!w || lt_workers_file(w, file, &e) < 0) {
        fprintf(stderr, "llmtap: %s\n", e ? e : "cannot start the workers");
        free(e);
        rc = 1;
    }
    if (w) lt_workers_counters(w, ctr);
    lt_workers_destroy(w);
    if (lt_replay_store_end(r, ctr)) rc = 1;
    return rc;
}

int lt_cmd_replay(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'},
        {"no-store", no_argument, NULL, 'n'}, {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'}, {"workers", required_argument, NULL, 'w'}, {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *conf = NULL;
    int json = 0, nostore = 0, quiet = 0, verbose = 0, workers = 1, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'j': json = 1; break;
        case 'n': nostore = 1; break;
        case 'c': conf = optarg; break;
        case 'w':
            workers = atoi(optarg);
            if (workers < 1 || workers > LT_WORKERS_MAX) {
                fprintf(stderr, "llmtap: --workers must be 1..%d\n", LT_WORKERS_MAX);
                return 2;
            }
            break;
        case 'q': quiet = 1; break;
        case 'v': verbose++; break;
        case 'h': lt_replay_usage(stdout); return 0;
        default: lt_replay_usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) { lt_replay_usage(stderr); return 2; }
    const char *file = argv[optind];
    lt_config cfg;
    char err[512];
    if (lt_config_load_default(&cfg, conf, err, sizeof err) < 0) {
        fprintf(stderr, "llmtap: %s\n", err);
        return 2;
    }
    if (quiet) lt_log_level = LT_LOG_ERROR;
    if (verbose) lt_log_level = LT_LOG_WARN + verbose;
    lt_replay r = {.json = json};
    int rc = 0;
    if (!nostore) {
        char *e = NULL;
        r.spool = lt_spool_open(db ? db : cfg.db_path, &e);
        if (!r.spool) {
            fprintf(stderr, "llmtap: cannot open spool: %s\n", e ? e : "?");
            free(e);
            lt_config_free(&cfg);
            return 1;
        }
        lt_counters_reset(&r.store_ctr);
        lt_spool_set_counters(r.spool, &r.store_ctr);
        r.writer = lt_writer_create(r.spool, 10000);
        if (!r.writer) {
            fprintf(stderr, "llmtap: cannot start the spool writer\n");
            lt_spool_close(r.spool);
            lt_config_free(&cfg);
            return 1;
        }
    }
    lt_counters ctr;
    lt_counters_reset(&ctr);
    if (workers > 1) {
        rc = lt_replay_workers(&r, &cfg, file, workers, &ctr);
        return lt_replay_end(&r, &cfg, file, quiet, &ctr, rc);
    }
    lt_pipeline *p = lt_pipeline_create(&cfg.pipeline, lt_replay_record, &r);
    char *e = NULL;
    if (!p || lt_capture_file(p, file, &e) < 0) {
        fprintf(stderr, "llmtap: %s\n", e ? e : "out of memory");
        free(e);
        rc = 1;
    }
    if (p) {
        lt_pipeline_finish(p, 0);
        ctr = *lt_pipeline_counters(p);
        lt_pipeline_destroy(p);
    }
    if (lt_replay_store_end(&r, &ctr)) rc = 1;
    return lt_replay_end(&r, &cfg, file, quiet, &ctr, rc);
}
