/* live.c -- live libpcap capture, N workers joined by PACKET_FANOUT (see live.h).
 *
 * A worker polls the selectable fds of its handles (one per interface) and
 * calls pcap_dispatch on the ready ones; the poll timeout bounds how long a
 * stop request waits. Kernel statistics are read by the worker itself every
 * half second (pcap_stats is not safe beside a running dispatch on another
 * thread) and published with relaxed atomics for the status thread. */
#include <errno.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "../common/clock.h"
#include "../common/log.h"
#include "live.h"

typedef struct lt_live_handle {
    pcap_t *pc;
    int iface;                 /* index into names */
    int linktype;
    uint64_t recv, drop, ifdrop, packets, bytes;   /* published atomically */
} lt_live_handle;

struct lt_live {
    int workers, nif;
    char **names;
    lt_live_handle *h;         /* workers * nif, worker-major */
    int stop;                  /* set by lt_live_stop, read atomically */
};

#define LT_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define LT_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

static int lt_live_fail(char *err, size_t errlen, const char *ifname, const char *what, const char *why)
{
    snprintf(err, errlen, "%s: %s: %s", ifname, what, why);
    return -1;
}

static int lt_live_filter(pcap_t *pc, const char *ifname, const char *filter, char *err, size_t errlen)
{
    if (!filter || !*filter) return 0;
    struct bpf_program prog;
    if (pcap_compile(pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0)
        return lt_live_fail(err, errlen, ifname, "BPF filter", pcap_geterr(pc));
    int rc = pcap_setfilter(pc, &prog);
    pcap_freecode(&prog);
    return rc < 0 ? lt_live_fail(err, errlen, ifname, "BPF filter", pcap_geterr(pc)) : 0;
}

/* Joins the interface's fanout group: flow-hashed, defragmenting. */
static int lt_live_fanout(pcap_t *pc, int group, const char *ifname, char *err, size_t errlen)
{
    /* low 16 bits: the group id; high 16 bits: mode and flags */
    uint32_t arg = (uint32_t)group | (uint32_t)(PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16;
    if (setsockopt(pcap_fileno(pc), SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) < 0)
        return lt_live_fail(err, errlen, ifname, "PACKET_FANOUT", strerror(errno));
    return 0;
}

static pcap_t *lt_live_open(const lt_live_cfg *cfg, const char *ifname, char *err, size_t errlen)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    pcap_t *pc = pcap_create(ifname, eb);
    if (!pc) { lt_live_fail(err, errlen, ifname, "pcap_create", eb); return NULL; }
    pcap_set_snaplen(pc, cfg->snaplen > 0 ? cfg->snaplen : 262144);
    pcap_set_buffer_size(pc, cfg->buffer_size > 0 ? cfg->buffer_size : 64 << 20);
    pcap_set_immediate_mode(pc, 0);
    pcap_set_timeout(pc, cfg->timeout_ms > 0 ? cfg->timeout_ms : 100);
    pcap_set_promisc(pc, 1);
    int rc = pcap_activate(pc);
    if (rc < 0) {
        lt_live_fail(err, errlen, ifname, "cannot capture", rc == PCAP_ERROR ? pcap_geterr(pc) : pcap_statustostr(rc));
        pcap_close(pc);
        return NULL;
    }
    if (rc > 0) lt_warn("live: %s: %s", ifname, pcap_statustostr(rc));
    if (lt_live_filter(pc, ifname, cfg->filter, err, errlen) < 0 || pcap_setnonblock(pc, 1, eb) < 0) {
        if (!*err) lt_live_fail(err, errlen, ifname, "non-blocking mode", eb);
        pcap_close(pc);
        return NULL;
    }
    return pc;
}

static int lt_live_open_all(lt_live *l, const lt_live_cfg *cfg, char *err, size_t errlen)
{
    for (int w = 0; w < l->workers; w++) {
        for (int i = 0; i < l->nif; i++) {
            lt_live_handle *h = &l->h[w * l->nif + i];
            h->iface = i;
            h->pc = lt_live_open(cfg, l->names[i], err, errlen);
            if (!h->pc) return -1;
            h->linktype = pcap_datalink(h->pc);
            int group = ((int)getpid() * 31 + i) & 0xffff;
            if (l->workers > 1 && lt_live_fanout(h->pc, group, l->names[i], err, errlen) < 0) return -1;
        }
    }
    return 0;
}

lt_live *lt_live_create(const lt_live_cfg *cfg, char *err, size_t errlen)
{
    *err = 0;
    if (cfg->ninterfaces < 1) { snprintf(err, errlen, "no capture interface configured"); return NULL; }
    lt_live *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->workers = cfg->workers > 0 ? cfg->workers : 1;
    l->nif = cfg->ninterfaces;
    l->names = calloc((size_t)l->nif, sizeof *l->names);
    l->h = calloc((size_t)(l->workers * l->nif), sizeof *l->h);
    for (int i = 0; l->names && i < l->nif; i++) l->names[i] = strdup(cfg->interfaces[i]);
    if (!l->names || !l->h || lt_live_open_all(l, cfg, err, errlen) < 0) {
        if (!*err) snprintf(err, errlen, "out of memory");
        lt_live_destroy(l);
        return NULL;
    }
    return l;
}

int lt_live_workers(const lt_live *l) { return l->workers; }

typedef struct lt_live_ctx {
    lt_live_handle *h;
    lt_live_packet_cb cb;
    void *ud;
} lt_live_ctx;

static void lt_live_frame(u_char *arg, const struct pcap_pkthdr *ph, const u_char *data)
{
    lt_live_ctx *c = (lt_live_ctx *)arg;
    LT_STORE(c->h->packets, c->h->packets + 1);
    LT_STORE(c->h->bytes, c->h->bytes + ph->caplen);
    c->cb(c->ud, c->h->linktype, data, ph->caplen, (lt_time_us)ph->ts.tv_sec * 1000000 + ph->ts.tv_usec);
}

static void lt_live_publish_stats(lt_live_handle *h)
{
    struct pcap_stat ps;
    if (pcap_stats(h->pc, &ps) < 0) return;
    LT_STORE(h->recv, ps.ps_recv);
    LT_STORE(h->drop, ps.ps_drop);
    LT_STORE(h->ifdrop, ps.ps_ifdrop);
}

/* One round: poll, dispatch the ready handles. -1 on a capture error. */
static int lt_live_round(lt_live *l, lt_live_handle *hs, struct pollfd *pf, lt_live_packet_cb cb, void *ud)
{
    for (int i = 0; i < l->nif; i++) pf[i] = (struct pollfd){.fd = pcap_get_selectable_fd(hs[i].pc), .events = POLLIN};
    if (poll(pf, (nfds_t)l->nif, 100) < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < l->nif; i++) {
        if (!pf[i].revents) continue;
        lt_live_ctx c = {&hs[i], cb, ud};
        if (pcap_dispatch(hs[i].pc, -1, lt_live_frame, (u_char *)&c) == PCAP_ERROR) {
            lt_error("live: %s: %s", l->names[i], pcap_geterr(hs[i].pc));
            return -1;
        }
    }
    return 0;
}

int lt_live_run(lt_live *l, int w, lt_live_packet_cb cb, void *ud)
{
    lt_live_handle *hs = &l->h[w * l->nif];
    char name[16];   /* the thread's name in top -H, ps -L and /proc/PID/task/TID/comm */
    snprintf(name, sizeof name, "llmtap-cap%d", w);
    pthread_setname_np(pthread_self(), name);
    struct pollfd *pf = calloc((size_t)l->nif, sizeof *pf);
    int64_t next_stats = 0, rc = 0;
    while (!LT_LOAD(l->stop) && rc == 0) {
        rc = lt_live_round(l, hs, pf, cb, ud);
        int64_t now = lt_clock_mono_us();
        if (now < next_stats) continue;
        for (int i = 0; i < l->nif; i++) lt_live_publish_stats(&hs[i]);
        next_stats = now + 500000;
    }
    for (int i = 0; i < l->nif; i++) lt_live_publish_stats(&hs[i]);
    free(pf);
    return (int)rc;
}

void lt_live_stop(lt_live *l) { LT_STORE(l->stop, 1); }

int lt_live_stats_get(lt_live *l, lt_live_stats *out, int n)
{
    for (int i = 0; i < l->nif && i < n; i++) {
        out[i] = (lt_live_stats){.interface = l->names[i]};
        for (int w = 0; w < l->workers; w++) {
            lt_live_handle *h = &l->h[w * l->nif + i];
            out[i].received += LT_LOAD(h->recv);
            out[i].dropped += LT_LOAD(h->drop);
            out[i].ifdropped += LT_LOAD(h->ifdrop);
            out[i].packets += LT_LOAD(h->packets);
            out[i].bytes += LT_LOAD(h->bytes);
        }
    }
    return l->nif;
}

void lt_live_destroy(lt_live *l)
{
    if (!l) return;
    for (int k = 0; l->h && k < l->workers * l->nif; k++)
        if (l->h[k].pc) pcap_close(l->h[k].pc);
    for (int i = 0; l->names && i < l->nif; i++) free(l->names[i]);
    free(l->names);
    free(l->h);
    free(l);
}
