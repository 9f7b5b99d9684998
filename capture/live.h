/* live.h -- live capture with libpcap: one handle per (worker, interface).
 *
 * Handles are made with pcap_create + pcap_set_snaplen + pcap_set_buffer_size
 * + pcap_set_immediate_mode(0) + pcap_activate, so Linux uses TPACKET_V3
 * (the kernel fills blocks of frames; one wakeup per block, not per packet)
 * with a ring of the configured size. The BPF filter is compiled per handle.
 *
 * N workers: each worker owns one handle per interface and its own pipeline
 * (one pipeline per thread, no locks). With more than one worker the handles
 * of one interface join a PACKET_FANOUT group in PACKET_FANOUT_HASH mode: the
 * kernel spreads packets by flow hash, and the hash is symmetric, so both
 * directions of a connection reach the same worker and its flow table.
 *
 * Everything that needs privilege (CAP_NET_RAW) happens in create();
 * run() needs none, so the agent drops privileges between the two. */
#ifndef LT_LIVE_H
#define LT_LIVE_H

#include <stddef.h>
#include <stdint.h>
#include "../common/lt.h"

typedef struct lt_live_cfg {
    const char *const *interfaces;  /* names; "any" works (Linux cooked capture) */
    int ninterfaces;
    int snaplen;                    /* bytes per frame kept (default 262144: whole frames) */
    int buffer_size;                /* kernel ring per handle, bytes (default 64 MiB) */
    int workers;                    /* capture threads (default 1) */
    const char *filter;             /* BPF expression, NULL or "" = everything */
    int timeout_ms;                 /* block timeout: how stale a partial block may get (default 100) */
} lt_live_cfg;

typedef struct lt_live lt_live;

/* Called for every frame, on the worker's thread. */
typedef void (*lt_live_packet_cb)(void *ud, int linktype, const uint8_t *frame, size_t caplen, lt_time_us ts);

/* Opens and activates every handle. NULL with a reason in err on failure. */
lt_live *lt_live_create(const lt_live_cfg *cfg, char *err, size_t errlen);
int lt_live_workers(const lt_live *l);
/* Runs worker w until lt_live_stop(); returns 0, or -1 after a capture error
 * (interface gone), with the error logged. */
int lt_live_run(lt_live *l, int w, lt_live_packet_cb cb, void *ud);
/* Asks every worker to return (any thread; async-signal-safe). */
void lt_live_stop(lt_live *l);

/* Kernel statistics of one interface summed over workers (pcap_stats:
 * ps_recv, ps_drop = ring full, ps_ifdrop = dropped by the interface). */
typedef struct lt_live_stats {
    const char *interface;
    uint64_t received, dropped, ifdropped;
    uint64_t packets;               /* frames handed to the callback */
    uint64_t bytes;
} lt_live_stats;
/* Fills up to n entries (one per interface); returns the interface count. */
int lt_live_stats_get(lt_live *l, lt_live_stats *out, int n);
void lt_live_destroy(lt_live *l);

#endif
