/* daemon.h -- `llmtap run`: the live agent's threads and lifecycle.
 *
 * Threads: one per capture worker (pcap handles + its own pipeline), the
 * spool writer (store/writer.h), the uploader (every [upload]
 * flush_interval), the status server (agent/status.h); the main thread only
 * waits for signals (signalfd). SIGTERM/SIGINT: stop capture, close every
 * connection (pending exchanges emitted, flagged incomplete), commit the
 * spool, one last upload bounded by [agent] shutdown_deadline, counters
 * printed, exit 0. SIGHUP: [upload] and [log] re-read from the file. */
#ifndef LT_DAEMON_H
#define LT_DAEMON_H

typedef struct lt_daemon_opts {
    const char *config_path;      /* NULL = the default file if it exists */
    const char *const *interfaces;/* overrides [capture] interface when n > 0 */
    int ninterfaces;
    const char *db;               /* overrides [store] path */
    const char *socket;           /* overrides [agent] socket */
    int json;                     /* every record on stdout, one JSON line each */
    int no_upload;                /* spool only */
    int verbose, quiet;
} lt_daemon_opts;

/* Runs until a stop signal. Exit status: 0 clean stop, 1 runtime error, 2 configuration. */
int lt_daemon_run(const lt_daemon_opts *o);

#endif
