/* cmd_report.c -- `llmtap report`: the spool as one HTML file with charts
 * (analytics/report.h) that can be opened or mailed without Azure. The
 * period is a KQL timespan (--since 7d); "now" is common/clock.h's unless
 * --now fixes it. The file is written next to its final name and renamed,
 * so a reader never sees half a report. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "../analytics/kql.h"
#include "../analytics/kql_lex.h"
#include "../analytics/report.h"
#include "../common/clock.h"
#include "cmd.h"

static void lt_report_usage(FILE *out)
{
    fprintf(out,
            "usage: llmtap report [--db PATH] [--since 7d] [--now TIME] [-o report.html] [--config PATH]\n"
            "  --db PATH     the spool (default: [store] path of the config)\n"
            "  --since SPAN  how far back: a KQL timespan (12h, 7d, 30d; default 7d)\n"
            "  --now TIME    the end of the period: ISO 8601 or epoch seconds (default: now)\n"
            "  -o FILE       where to write the HTML (default report.html; - for stdout)\n"
            "exit status: 0 written, 1 spool or write error, 2 usage\n");
}

/* A single KQL timespan literal -> microseconds; -1 if not one. */
static int lt_report_span(const char *s, lt_time_us *us)
{
    lt_kql_tokens t;
    char err[128];
    if (lt_kql_lex_run(s, &t, err, sizeof err) < 0) return -1;
    int ok = t.n == 2 && t.v[0].kind == LT_TK_TIMESPAN && t.v[0].ival > 0;
    if (ok) *us = t.v[0].ival;
    lt_kql_lex_free(&t);
    return ok ? 0 : -1;
}

static int lt_report_emit(const char *db_path, const char *outpath, lt_time_us now, lt_time_us since)
{
    char err[2048], *tmp = NULL;
    sqlite3 *db = lt_kql_out_open(db_path, err, sizeof err);
    if (!db) { fprintf(stderr, "llmtap: %s\n", err); return 1; }
    int to_stdout = !strcmp(outpath, "-");
    if (!to_stdout && asprintf(&tmp, "%s.tmp", outpath) < 0) tmp = NULL;
    FILE *f = to_stdout ? stdout : tmp ? fopen(tmp, "w") : NULL;
    lt_report *r = f ? lt_report_create(db, db_path, now, since) : NULL;
    int rc = 0;
    if (!f || !r) { fprintf(stderr, "llmtap: cannot write %s\n", outpath); rc = 1; }
    else if (lt_report_write(r, f, err, sizeof err) < 0) { fprintf(stderr, "llmtap: %s\n", err); rc = 1; }
    if (f && !to_stdout && fclose(f) != 0) rc = 1;
    if (tmp && rc == 0 && rename(tmp, outpath) < 0) { perror("llmtap: rename"); rc = 1; }
    if (tmp && rc != 0) remove(tmp);
    free(tmp);
    lt_report_destroy(r);
    lt_kql_out_close(db);
    return rc;
}

int lt_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"since", required_argument, NULL, 's'},
        {"now", required_argument, NULL, 'n'}, {"config", required_argument, NULL, 'c'},
        {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *conf = NULL, *outpath = "report.html";
    lt_time_us now = lt_clock_now_us(), since = 7LL * 86400 * 1000000;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 's': if (lt_report_span(optarg, &since) < 0) { fprintf(stderr, "llmtap: bad --since '%s' (a timespan like 7d)\n", optarg); return 2; } break;
        case 'n': if (lt_cmd_spool_now(optarg, &now) < 0) { fprintf(stderr, "llmtap: bad --now '%s'\n", optarg); return 2; } break;
        case 'c': conf = optarg; break;
        case 'o': outpath = optarg; break;
        case 'h': lt_report_usage(stdout); return 0;
        default: lt_report_usage(stderr); return 2;
        }
    }
    if (optind != argc) { lt_report_usage(stderr); return 2; }
    char *path = lt_cmd_spool_path(db, conf);
    if (!path) return 2;
    int rc = lt_report_emit(path, outpath, now, since);
    free(path);
    return rc;
}
