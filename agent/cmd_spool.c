/* cmd_spool.c -- what the subcommands that read the spool (`llmtap query`,
 * `llmtap report`) share, so both pick the spool and read --now the same
 * way: the spool is --db PATH when given, else the [store] path of the
 * configuration (--config PATH or the default one); --now is ISO 8601 (as
 * a KQL datetime literal) or epoch seconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../analytics/kql_lex.h"
#include "cmd.h"
#include "config.h"

char *lt_cmd_spool_path(const char *db, const char *conf)
{
    if (db) {
        char *p = strdup(db);
        if (!p) fprintf(stderr, "llmtap: out of memory\n");
        return p;
    }
    lt_config cfg;
    char err[512];
    if (lt_config_load_default(&cfg, conf, err, sizeof err) < 0) {
        fprintf(stderr, "llmtap: %s\n", err);
        return NULL;
    }
    char *p = strdup(cfg.db_path ? cfg.db_path : "");
    if (!p) fprintf(stderr, "llmtap: out of memory\n");
    lt_config_free(&cfg);
    return p;
}

int lt_cmd_spool_now(const char *s, lt_time_us *now)
{
    long long us;
    char *end;
    if (lt_kql_lex_datetime(s, &us) == 0) { *now = us; return 0; }
    double sec = strtod(s, &end);
    if (end == s || *end) return -1;
    *now = (lt_time_us)(sec * 1e6);
    return 0;
}
