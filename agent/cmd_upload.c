/* cmd_upload.c -- `llmtap upload`: drain the spool to Log Analytics once
 * (for cron and tests; the daemon runs the same uploader continuously). */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "../common/counters.h"
#include "../common/clock.h"
#include "../common/log.h"
#include "../store/spool.h"
#include "../uploader/uploader.h"
#include "cmd.h"
#include "config.h"

static void lt_upload_usage(FILE *out)
{
    fprintf(out, "usage: llmtap upload [--config PATH] [--db PATH] [-q] [-v]\n"
                 "  sends every pending record of the spool to the Logs Ingestion API ([upload] settings)\n"
                 "exit status: 0 spool drained, 1 records remain pending (retry later), 2 usage or configuration error\n");
}

int lt_cmd_upload(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *conf = NULL;
    int c, quiet = 0, verbose = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'c': conf = optarg; break;
        case 'q': quiet = 1; break;
        case 'v': verbose++; break;
        case 'h': lt_upload_usage(stdout); return 0;
        default: lt_upload_usage(stderr); return 2;
        }
    }
    if (optind != argc) { lt_upload_usage(stderr); return 2; }
    lt_config cfg;
    char err[512];
    if (lt_config_load_default(&cfg, conf, err, sizeof err) < 0) { fprintf(stderr, "llmtap: %s\n", err); return 2; }
    if (quiet) lt_log_level = LT_LOG_ERROR;
    if (verbose) lt_log_level = LT_LOG_WARN + verbose;
    if (lt_upload_cfg_check(&cfg.upload, err, sizeof err) < 0) {
        fprintf(stderr, "llmtap: %s\n", err);
        lt_config_free(&cfg);
        return 2;
    }
    char *e = NULL;
    lt_counters ctr;
    lt_counters_reset(&ctr);
    lt_spool *s = lt_spool_open(db ? db : cfg.db_path, &e);
    if (!s) {
        fprintf(stderr, "llmtap: cannot open spool: %s\n", e ? e : "?");
        free(e);
        lt_config_free(&cfg);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    lt_spool_set_counters(s, &ctr);
    lt_spool_enforce(s, &cfg.spool, lt_clock_now_us());
    lt_uploader *u = lt_uploader_create(&cfg.upload, s);
    if (u) lt_uploader_set_counters(u, &ctr);
    long delivered = 0;
    int rc = lt_uploader_drain(u, &delivered);
    lt_spool_stats st;
    lt_spool_stats_get(s, &st);
    if (!quiet) {
        fprintf(stderr, "llmtap: upload: %ld records delivered; spool: %lld pending, %lld delivered, %lld quarantined\n",
                delivered, (long long)st.pending, (long long)st.delivered, (long long)st.quarantined);
        if (ctr.upload_rows_backdated)
            fprintf(stderr,
                    "llmtap: upload: %llu rows were older than 2 days: Log Analytics sets their TimeGenerated to the "
                    "time it received them; query CallTime for when the calls happened\n",
                    (unsigned long long)ctr.upload_rows_backdated);
        lt_counters_print(&ctr, stderr);
    }
    lt_uploader_destroy(u);
    lt_spool_close(s);
    curl_global_cleanup();
    lt_config_free(&cfg);
    return rc == 0 ? 0 : 1;
}
