/* main.c -- the llmtap command line: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "../common/oom.h"

#define LT_VERSION "0.1.0"

static void lt_usage(FILE *out)
{
    fprintf(out,
            "llmtap %s -- a queryable record of every Azure OpenAI call\n"
            "usage:\n"
            "  llmtap replay FILE [--db PATH] [--json] [--no-store]   capture file -> records\n"
            "  llmtap upload [--config PATH] [--db PATH]             spool -> Log Analytics, once\n"
            "  llmtap query [--db PATH] [--json|--csv] 'KQL'         KQL over the local spool\n"
            "  llmtap report [--db PATH] [--since 7d] [-o FILE]      one HTML file with charts\n"
            "  llmtap proxy [--config PATH] [--json] [--no-upload]   inline reverse proxy, logs every call\n"
            "  llmtap run [--config PATH] [--interface IF]... [--json] [--no-upload]   live capture agent\n"
            "  llmtap status [--config PATH] [--json]               ask the running agent\n"
            "  llmtap config --dump | --check | --template           effective / documented settings\n"
            "  llmtap --version\n"
            "Run 'llmtap COMMAND --help' for the options of a command.\n",
            LT_VERSION);
}

int main(int argc, char **argv)
{
    if (argc < 2) { lt_usage(stderr); return 2; }
    const char *cmd = argv[1];
    lt_oom_install();
    lt_cmd_proxy_config_hook();
    if (!strcmp(cmd, "replay")) return lt_cmd_replay(argc - 1, argv + 1);
    if (!strcmp(cmd, "upload")) return lt_cmd_upload(argc - 1, argv + 1);
    if (!strcmp(cmd, "query")) return lt_cmd_query(argc - 1, argv + 1);
    if (!strcmp(cmd, "report")) return lt_cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "proxy")) return lt_cmd_proxy(argc - 1, argv + 1);
    if (!strcmp(cmd, "run")) return lt_cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "status")) return lt_cmd_status(argc - 1, argv + 1);
    if (!strcmp(cmd, "config")) return lt_cmd_config(argc - 1, argv + 1);
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) { printf("llmtap %s\n", LT_VERSION); return 0; }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "help")) { lt_usage(stdout); return 0; }
    fprintf(stderr, "llmtap: unknown command '%s'\n", cmd);
    lt_usage(stderr);
    return 2;
}
