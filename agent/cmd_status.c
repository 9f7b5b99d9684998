/* cmd_status.c -- `llmtap status`: asks the running agent over its unix
 * socket ([agent] socket) and prints the answer, as a summary or (--json)
 * as the agent's JSON document. The socket is 0600: run it as the agent's
 * user or root. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "cmd.h"
#include "config.h"

static json_t *lt_status_fetch(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(err, errlen, "%s: %s (is `llmtap run` running?)", path, strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    json_error_t je;
    FILE *f = fdopen(fd, "r");
    json_t *doc = json_loadf(f, 0, &je);
    fclose(f);
    if (!doc) snprintf(err, errlen, "%s: unreadable answer: %s", path, je.text);
    return doc;
}

static long long lt_jint(json_t *doc, const char *a, const char *b)
{
    return (long long)json_integer_value(json_object_get(json_object_get(doc, a), b));
}

static void lt_status_summary(json_t *doc)
{
    printf("agent: pid %lld, uid %lld, up %llds, %lld capture worker(s)\n", lt_jint(doc, "agent", "pid"),
           lt_jint(doc, "agent", "uid"), lt_jint(doc, "agent", "uptime_s"), lt_jint(doc, "agent", "workers"));
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(json_object_get(doc, "capture"), "interfaces"), i, it)
        printf("capture %s: %lld packets, kernel drops %lld, interface drops %lld\n",
               json_string_value(json_object_get(it, "interface")), (long long)json_integer_value(json_object_get(it, "packets")),
               (long long)json_integer_value(json_object_get(it, "kernel_dropped")),
               (long long)json_integer_value(json_object_get(it, "interface_dropped")));
    json_t *mb = json_object_get(json_object_get(doc, "capture"), "memory_budget");
    if (mb)
        printf("parser memory: %lld of %lld bytes in use (high-water %lld), %lld growths refused\n",
               lt_jint(json_object_get(doc, "capture"), "memory_budget", "used_bytes"),
               lt_jint(json_object_get(doc, "capture"), "memory_budget", "limit_bytes"),
               lt_jint(json_object_get(doc, "capture"), "memory_budget", "high_water_bytes"),
               lt_jint(json_object_get(doc, "capture"), "memory_budget", "refusals"));
    printf("flows %lld, exchanges %lld, records: llm %lld, gateway %lld\n", lt_jint(doc, "counters", "tcp_flows"),
           lt_jint(doc, "counters", "http_exchanges"), lt_jint(doc, "records", "ApiManagementGatewayLlmLog"),
           lt_jint(doc, "records", "ApiManagementGatewayLogs"));
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(json_object_get(doc, "records"), "incomplete"), k, v)
        printf("  incomplete %s: %lld\n", k, (long long)json_integer_value(v));
    printf("spool: %lld pending (%lld bytes, oldest %lld s), %lld delivered, %lld quarantined, %lld queued in memory\n",
           lt_jint(doc, "spool", "pending"), lt_jint(doc, "spool", "pending_bytes"),
           lt_jint(doc, "spool", "oldest_pending_age_s"), lt_jint(doc, "spool", "delivered"),
           lt_jint(doc, "spool", "quarantined"), lt_jint(doc, "spool", "writer_queued"));
    json_t *up = json_object_get(doc, "upload");
    if (!json_is_true(json_object_get(up, "enabled"))) { printf("upload: off\n"); return; }
    const char *e = json_string_value(json_object_get(up, "last_error"));
    printf("upload: %lld delivered in %lld runs, last success at %lld (unix s), token expires at %lld, last error: %s\n",
           lt_jint(doc, "upload", "delivered"), lt_jint(doc, "upload", "runs"), lt_jint(doc, "upload", "last_success"),
           lt_jint(doc, "upload", "token_expires"), e ? e : "none");
}

int lt_cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    const char *conf = NULL, *sock = NULL;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': conf = optarg; break;
        case 's': sock = optarg; break;
        case 'j': json = 1; break;
        case 'h': printf("usage: llmtap status [--config PATH] [--socket PATH] [--json]\n"); return 0;
        default: fprintf(stderr, "usage: llmtap status [--config PATH] [--socket PATH] [--json]\n"); return 2;
        }
    }
    lt_config cfg;
    char err[512];
    if (lt_config_load_default(&cfg, conf, err, sizeof err) < 0) { fprintf(stderr, "llmtap: %s\n", err); return 2; }
    json_t *doc = lt_status_fetch(sock ? sock : cfg.agent.socket, err, sizeof err);
    lt_config_free(&cfg);
    if (!doc) { fprintf(stderr, "llmtap: status: %s\n", err); return 1; }
    if (json) { char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER); puts(s); free(s); }
    else lt_status_summary(doc);
    json_decref(doc);
    return 0;
}
