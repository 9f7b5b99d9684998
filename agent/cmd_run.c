/* cmd_run.c -- `llmtap run`: the command line of the live agent; the agent
 * itself is agent/daemon.c. */
#include <getopt.h>
#include <stdio.h>
#include "cmd.h"
#include "daemon.h"

static void lt_run_usage(FILE *out)
{
    fprintf(out,
            "usage: llmtap run [--config PATH] [--interface IF]... [--db PATH] [--socket PATH] [--json] [--no-upload] [-q] [-v]\n"
            "  live capture -> records -> spool -> Log Analytics, until SIGTERM/SIGINT (SIGHUP re-reads [upload] and [log])\n"
            "  --interface IF  capture on IF (repeatable; default: [capture] interface)\n"
            "  --db PATH       the spool (default: [store] path)\n"
            "  --socket PATH   status socket (default: [agent] socket)\n"
            "  --json          also print every record as one JSON line on stdout\n"
            "  --no-upload     only spool; `llmtap upload` can send later\n"
            "exit status: 0 stopped by a signal, 1 runtime error (capture, spool), 2 usage or configuration error\n");
}

int lt_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"interface", required_argument, NULL, 'i'},
        {"db", required_argument, NULL, 'd'},     {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},         {"no-upload", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    static const char *ifs[64];
    lt_daemon_opts o = {.interfaces = ifs};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o.config_path = optarg; break;
        case 'i': if (o.ninterfaces < 64) ifs[o.ninterfaces++] = optarg; break;
        case 'd': o.db = optarg; break;
        case 's': o.socket = optarg; break;
        case 'j': o.json = 1; break;
        case 'n': o.no_upload = 1; break;
        case 'q': o.quiet = 1; break;
        case 'v': o.verbose++; break;
        case 'h': lt_run_usage(stdout); return 0;
        default: lt_run_usage(stderr); return 2;
        }
    }
    if (optind != argc) { lt_run_usage(stderr); return 2; }
    return lt_daemon_run(&o);
}
