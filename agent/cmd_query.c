/* cmd_query.c -- `llmtap query 'KQL'`: the queries users run in Log
 * Analytics, run on the local spool (analytics/kql.h compiles them to
 * SQLite SQL). The spool is opened read-only, every row whatever its
 * delivery state. "now" for ago() is common/clock.h's unless --now gives
 * it, so a result can be reproduced. A query outside the supported subset
 * is refused before anything is printed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../analytics/kql.h"
#include "../common/clock.h"
#include "cmd.h"

static void lt_query_usage(FILE *out)
{
    fprintf(out,
            "usage: llmtap query [--db PATH] [--json|--csv] [--now TIME] [--sql] [--config PATH] 'KQL' | -f FILE\n"
            "  KQL          a query over ApiManagementGatewayLlmLog[_CL] / ApiManagementGatewayLogs[_CL]\n"
            "  -f FILE      read the query from FILE (- for stdin)\n"
            "  --db PATH    the spool (default: [store] path of the config)\n"
            "  --json       one JSON object per row; --csv: CSV with a header row; default: a table\n"
            "  --now TIME   \"now\" for ago()/now(): ISO 8601 (2026-11-22T16:00:00Z) or epoch seconds\n"
            "  --sql        print the SQLite SQL the query compiles to, do not run it\n"
            "exit status: 0 done, 1 spool or SQL error, 2 usage or a query outside the supported KQL\n");
}

static char *lt_query_read(const char *path)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while (m && (n = fread(chunk, 1, sizeof chunk, f)) > 0) fwrite(chunk, 1, n, m);
    if (m) fclose(m);
    if (f != stdin) fclose(f);
    return buf;
}

static int lt_query_exec(const char *db_path, const char *src, lt_time_us now, lt_kql_format fmt, int sql_only)
{
    char err[2048];
    lt_kql *q = lt_kql_compile(src, now, err, sizeof err);
    if (!q) { fprintf(stderr, "llmtap: query:%s\n", err); return 2; }
    if (sql_only) { printf("%s\n", lt_kql_sql(q)); lt_kql_destroy(q); return 0; }
    sqlite3 *db = lt_kql_out_open(db_path, err, sizeof err);
    int rc = 0;
    if (!db) { fprintf(stderr, "llmtap: %s\n", err); rc = 1; }
    else if (lt_kql_out_run(db, q, fmt, stdout, err, sizeof err) < 0) { fprintf(stderr, "llmtap: %s\n", err); rc = 1; }
    lt_kql_out_close(db);
    lt_kql_destroy(q);
    return rc;
}

int lt_cmd_query(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'}, {"csv", no_argument, NULL, 'C'},
        {"now", required_argument, NULL, 'n'}, {"sql", no_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *conf = NULL, *file = NULL;
    lt_kql_format fmt = LT_KQL_TABLE;
    lt_time_us now = lt_clock_now_us();
    int sql_only = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'j': fmt = LT_KQL_JSON; break;
        case 'C': fmt = LT_KQL_CSV; break;
        case 'n':
            if (lt_cmd_spool_now(optarg, &now) < 0) { fprintf(stderr, "llmtap: bad --now '%s'\n", optarg); return 2; }
            break;
        case 's': sql_only = 1; break;
        case 'c': conf = optarg; break;
        case 'f': file = optarg; break;
        case 'h': lt_query_usage(stdout); return 0;
        default: lt_query_usage(stderr); return 2;
        }
    }
    if (file ? optind != argc : optind != argc - 1) { lt_query_usage(stderr); return 2; }
    char *src = file ? lt_query_read(file) : strdup(argv[optind]);
    if (!src) { fprintf(stderr, "llmtap: cannot read %s\n", file ? file : "query"); return 2; }
    int rc = 2;
    char *path = NULL;
    if (sql_only) rc = lt_query_exec("", src, now, fmt, 1); /* compiles only: no spool, no configuration */
    else if ((path = lt_cmd_spool_path(db, conf))) rc = lt_query_exec(path, src, now, fmt, 0);
    free(path);
    free(src);
    return rc;
}
