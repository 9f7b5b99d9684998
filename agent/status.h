/* status.h -- what the running agent tells its operator.
 *
 * One thread runs a libevent loop with two listeners: a unix socket
 * ([agent] socket, mode 0600, owned by the agent's user) that answers every
 * connection with one JSON document and closes it (`llmtap status`), and,
 * when [metrics] listen is set, an evhttp server answering GET /metrics with
 * the same numbers in Prometheus text format.
 *
 * The document is assembled from providers: each is a name and a callback
 * returning a new json_t (object) that becomes document[name]. The daemon
 * registers capture, counters, spool and upload; the inline proxy registers
 * its per-backend state the same way. Providers run on the status thread
 * and must read their state thread-safely. Nothing secret may be returned. */
#ifndef LT_STATUS_H
#define LT_STATUS_H

#include <jansson.h>

typedef struct lt_status lt_status;
typedef json_t *(*lt_status_provider)(void *ud);

/* Binds the socket (and the metrics address, "HOST:PORT", NULL = off).
 * Done before dropping privileges; the socket file gets uid:gid (when root).
 * NULL with a reason in err. */
lt_status *lt_status_create(const char *socket_path, const char *metrics_listen, unsigned uid, unsigned gid,
                            char *err, size_t errlen);
/* Adds a provider (before lt_status_start). */
int lt_status_add(lt_status *s, const char *name, lt_status_provider fn, void *ud);
/* The whole document, as served (for tests and the final report). */
json_t *lt_status_document(lt_status *s);
/* The port the metrics server is bound to (0 if off): lets tests bind port 0. */
int lt_status_metrics_port(const lt_status *s);
/* Starts the thread. */
int lt_status_start(lt_status *s);
/* Stops the thread, closes and unlinks the socket. */
void lt_status_destroy(lt_status *s);

/* A document in Prometheus text exposition format (malloc'd). Numbers
 * become llmtap_<path>; counters (under "counters") become ..._total;
 * arrays of objects carrying "name" or "interface" become labels. */
char *lt_status_prometheus(json_t *doc);

#endif
