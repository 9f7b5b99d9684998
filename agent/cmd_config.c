/* cmd_config.c -- `llmtap config`: what the configuration tables say.
 *
 *   --dump      the effective settings (defaults, then the file) as a
 *               loadable llmtap.conf: every key, secrets printed as ***;
 *   --template  the documented llmtap.conf with every default, the text of
 *               packaging/llmtap.conf (a test compares the two);
 *   --check     only load and validate (exit 2 with FILE:LINE: reason).
 * All three come from the section tables, so they cannot drift apart. */
#include <getopt.h>
#include <stdio.h>
#include "cmd.h"
#include "config.h"

static void lt_config_usage(FILE *out)
{
    fprintf(out, "usage: llmtap config (--dump | --check) [--config PATH]\n"
                 "       llmtap config --template\n"
                 "  --dump      print the effective settings as llmtap.conf (secrets as ***)\n"
                 "  --check     load and validate the configuration only\n"
                 "  --template  print the documented default llmtap.conf\n"
                 "  --config    configuration file (default /etc/llmtap/llmtap.conf if it exists)\n"
                 "exit status: 0 ok, 2 usage or configuration error\n");
}

/* Loads the configuration and prints it (mode 'd') or nothing (mode 'k'). */
static int lt_config_show(int mode, const char *conf)
{
    lt_config cfg;
    char err[512];
    if (lt_config_load_default(&cfg, conf, err, sizeof err) < 0) {
        fprintf(stderr, "llmtap: %s\n", err);
        return 2;
    }
    if (mode == 'd') lt_config_dump(&cfg, stdout);
    lt_config_free(&cfg);
    return fflush(stdout) == 0 ? 0 : 2;
}

int lt_cmd_config(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dump", no_argument, NULL, 'd'},  {"template", no_argument, NULL, 't'},
        {"check", no_argument, NULL, 'k'}, {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},  {NULL, 0, NULL, 0},
    };
    const char *conf = NULL;
    int c, mode = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': case 't': case 'k':
            if (mode && mode != c) { lt_config_usage(stderr); return 2; }
            mode = c;
            break;
        case 'c': conf = optarg; break;
        case 'h': lt_config_usage(stdout); return 0;
        default: lt_config_usage(stderr); return 2;
        }
    }
    if (optind != argc || !mode || (mode == 't' && conf)) { lt_config_usage(stderr); return 2; }
    if (mode == 't') {
        lt_config_template(stdout);
        return fflush(stdout) == 0 ? 0 : 2;
    }
    return lt_config_show(mode, conf);
}
