/* pcapsynth.c -- derives damaged or scaled captures from a real one, for tests.
 *
 *   pcapsynth reorder  IN OUT            swap every other pair of consecutive data
 *                                        segments of one flight (same direction, no
 *                                        data from the peer in between)
 *   pcapsynth dup      IN OUT            write every 3rd data segment twice (retransmits)
 *   pcapsynth overlap  IN OUT            re-send the second half of every 4th data
 *                                        segment together with the next one's start
 *   pcapsynth drop     IN OUT N          drop the Nth data segment (1-based)
 *   pcapsynth cut      IN OUT N          drop the first N packets (capture starts mid-connection)
 *   pcapsynth multiply IN OUT K          K concurrent copies of every connection, each with
 *                                        its own client port, packets interleaved
 *   pcapsynth relink   IN OUT LINKTYPE   re-encapsulate as en10mb, vlan, qinq, sll, sll2,
 *                                        null or raw
 *   pcapsynth count    IN                print the number of data segments
 *
 * Frames are decoded with llmtap's own decoder to find the TCP header; the
 * rest is plain byte surgery, written back with libpcap. Checksums are not
 * recomputed (llmtap, like most passive tools, does not verify them). */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "capture/decode.h"

typedef struct pkt {
    struct pcap_pkthdr h;
    uint8_t *d;
    lt_packet p;
    int ok;
} pkt;

static pkt *pkts;
static size_t npkts;
static int linktype;

static void load(const char *path)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    if (!pc) { fprintf(stderr, "pcapsynth: %s\n", err); exit(1); }
    linktype = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *d;
    size_t cap = 0;
    while (pcap_next_ex(pc, &h, &d) == 1) {
        if (npkts == cap) { cap = cap ? cap * 2 : 1024; pkts = realloc(pkts, cap * sizeof *pkts); }
        pkt *p = &pkts[npkts++];
        p->h = *h;
        p->d = malloc(h->caplen + 64);
        memcpy(p->d, d, h->caplen);
        p->ok = lt_decode_packet(linktype, p->d, h->caplen, &p->p) == LT_DECODE_OK;
    }
    pcap_close(pc);
}

static pcap_t *dead;

static pcap_dumper_t *open_out(const char *path, int lt)
{
    dead = pcap_open_dead(lt, 262144);
    pcap_dumper_t *o = pcap_dump_open(dead, path);
    if (!o) { fprintf(stderr, "pcapsynth: %s\n", pcap_geterr(dead)); exit(1); }
    return o;
}

static void put(pcap_dumper_t *o, const struct pcap_pkthdr *h, const uint8_t *d)
{
    pcap_dump((u_char *)o, h, d);
}

static int is_data(const pkt *p) { return p->ok && p->p.len > 0; }

static int same_dir(const pkt *a, const pkt *b)
{
    return a->p.src.port == b->p.src.port && a->p.dst.port == b->p.dst.port &&
           !memcmp(a->p.src.addr, b->p.src.addr, 16) && !memcmp(a->p.dst.addr, b->p.dst.addr, 16);
}

static void cmd_reorder(pcap_dumper_t *o)
{
    int *order = malloc(npkts * sizeof *order);
    for (size_t i = 0; i < npkts; i++) order[i] = (int)i;
    int flip = 0;
    for (size_t i = 0; i < npkts; i++) {
        if (!is_data(&pkts[order[i]])) continue;
        for (size_t j = i + 1; j < npkts && j < i + 6; j++) {
            if (!is_data(&pkts[order[j]])) continue;
            if (!same_dir(&pkts[order[i]], &pkts[order[j]])) break; /* stay within one flight */
            if ((flip++ & 1) == 0) { int t = order[i]; order[i] = order[j]; order[j] = t; i = j; }
            break;
        }
    }
    for (size_t i = 0; i < npkts; i++) put(o, &pkts[order[i]].h, pkts[order[i]].d);
    free(order);
}

static void cmd_dup(pcap_dumper_t *o)
{
    int n = 0;
    for (size_t i = 0; i < npkts; i++) {
        put(o, &pkts[i].h, pkts[i].d);
        if (is_data(&pkts[i]) && ++n % 3 == 0) put(o, &pkts[i].h, pkts[i].d);
    }
}

/* The IP packet inside a frame (start offset), from the decoded TCP header. */
static size_t ip_offset(const pkt *p)
{
    size_t tcpoff = (size_t)(p->p.tcp_hdr - p->d);
    if (p->p.src.family == 6) return tcpoff - 40;
    for (size_t off = 0; off + 20 <= tcpoff; off++)
        if ((p->d[off] >> 4) == 4 && (size_t)(p->d[off] & 0x0f) * 4 == tcpoff - off) return off;
    return 0;
}

/* After every 4th data segment, send a segment that repeats its second half
 * (an overlapping retransmission with the same bytes). */
static void cmd_overlap(pcap_dumper_t *o)
{
    int n = 0;
    for (size_t i = 0; i < npkts; i++) {
        pkt *p = &pkts[i];
        put(o, &p->h, p->d);
        if (!is_data(p) || ++n % 4 || p->p.len < 4) continue;
        size_t half = p->p.len / 2, hoff = (size_t)(p->p.payload - p->d);
        uint8_t *c = malloc(p->h.caplen);
        size_t tcpoff = (size_t)(p->p.tcp_hdr - p->d), thl = hoff - tcpoff;
        memcpy(c, p->d, tcpoff + thl);
        memcpy(c + hoff, p->p.payload + half, p->p.len - half);
        uint32_t seq = p->p.seq + (uint32_t)half;
        c[tcpoff + 4] = seq >> 24; c[tcpoff + 5] = seq >> 16; c[tcpoff + 6] = seq >> 8; c[tcpoff + 7] = seq;
        struct pcap_pkthdr h = p->h;
        h.caplen = h.len = (bpf_u_int32)(hoff + p->p.len - half);
        size_t ipoff = ip_offset(p); /* fix the IP length field */
        if (p->p.src.family == 4) { size_t tot = h.caplen - ipoff; c[ipoff + 2] = (uint8_t)(tot >> 8); c[ipoff + 3] = (uint8_t)tot; }
        else { size_t pl = h.caplen - ipoff - 40; c[ipoff + 4] = (uint8_t)(pl >> 8); c[ipoff + 5] = (uint8_t)pl; }
        put(o, &h, c);
        free(c);
    }
}

static void cmd_drop(pcap_dumper_t *o, int nth)
{
    int n = 0;
    for (size_t i = 0; i < npkts; i++) {
        if (is_data(&pkts[i]) && ++n == nth) continue;
        put(o, &pkts[i].h, pkts[i].d);
    }
}

static void cmd_cut(pcap_dumper_t *o, size_t first)
{
    for (size_t i = first; i < npkts; i++) put(o, &pkts[i].h, pkts[i].d);
}

static void set_port(uint8_t *tcp, int which, uint16_t port)
{
    tcp[which * 2] = (uint8_t)(port >> 8);
    tcp[which * 2 + 1] = (uint8_t)port;
}

/* The server port: the destination of the first SYN (else of the first packet). */
static uint16_t server_port(void)
{
    for (size_t i = 0; i < npkts; i++)
        if (pkts[i].ok && (pkts[i].p.flags & LT_TCP_SYN) && !(pkts[i].p.flags & LT_TCP_ACK)) return pkts[i].p.dst.port;
    for (size_t i = 0; i < npkts; i++) if (pkts[i].ok) return pkts[i].p.dst.port;
    return 0;
}

static void cmd_multiply(pcap_dumper_t *o, int k)
{
    uint16_t sp = server_port();
    for (size_t i = 0; i < npkts; i++) {
        pkt *p = &pkts[i];
        for (int c = 0; c < k; c++) {
            if (p->ok) {
                int client_is_src = p->p.dst.port == sp;
                uint16_t cport = client_is_src ? p->p.src.port : p->p.dst.port;
                uint16_t np = (uint16_t)(1024 + ((cport - 1024 + c * 7) % 64000));
                set_port((uint8_t *)p->p.tcp_hdr, client_is_src ? 0 : 1, np);
            }
            struct pcap_pkthdr h = p->h;
            h.ts.tv_usec += c % 100;
            if (h.ts.tv_usec >= 1000000) { h.ts.tv_usec -= 1000000; h.ts.tv_sec++; }
            put(o, &h, p->d);
        }
        if (p->ok) { /* restore */
            int client_is_src = p->p.dst.port == sp;
            set_port((uint8_t *)p->p.tcp_hdr, client_is_src ? 0 : 1, client_is_src ? p->p.src.port : p->p.dst.port);
        }
    }
}

static void cmd_relink(const char *out, const char *kind)
{
    int lt = !strcmp(kind, "sll") ? DLT_LINUX_SLL : !strcmp(kind, "sll2") ? DLT_LINUX_SLL2 :
             !strcmp(kind, "null") ? DLT_NULL : !strcmp(kind, "raw") ? DLT_RAW : DLT_EN10MB;
    pcap_dumper_t *o = open_out(out, lt);
    for (size_t i = 0; i < npkts; i++) {
        pkt *p = &pkts[i];
        if (!p->ok) continue;
        size_t ipo = ip_offset(p), iplen = p->h.caplen - ipo;
        uint8_t f[65536 + 64];
        size_t hl = 0;
        uint16_t et = p->p.src.family == 6 ? 0x86dd : 0x0800;
        memset(f, 0, 64);
        if (lt == DLT_EN10MB) {
            memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
            hl = 12;
            if (!strcmp(kind, "qinq")) { f[hl] = 0x88; f[hl + 1] = 0xa8; f[hl + 3] = 100; hl += 4; }
            if (!strcmp(kind, "vlan") || !strcmp(kind, "qinq")) { f[hl] = 0x81; f[hl + 1] = 0x00; f[hl + 3] = 42; hl += 4; }
            f[hl] = (uint8_t)(et >> 8); f[hl + 1] = (uint8_t)et; hl += 2;
        } else if (lt == DLT_LINUX_SLL) {
            f[1] = 4; f[3] = 1; f[5] = 6; f[14] = (uint8_t)(et >> 8); f[15] = (uint8_t)et; hl = 16;
        } else if (lt == DLT_LINUX_SLL2) {
            f[0] = (uint8_t)(et >> 8); f[1] = (uint8_t)et; f[7] = 1; f[9] = 1; f[10] = 4; f[11] = 6; hl = 20;
        } else if (lt == DLT_NULL) {
            f[0] = p->p.src.family == 6 ? 30 : 2; hl = 4; /* host (little-endian) order */
        }
        memcpy(f + hl, p->d + ipo, iplen);
        struct pcap_pkthdr h = p->h;
        h.caplen = h.len = (bpf_u_int32)(hl + iplen);
        put(o, &h, f);
    }
    pcap_dump_close(o);
    pcap_close(dead);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: pcapsynth reorder|dup|overlap|drop|cut|multiply|relink|count IN [OUT] [N|KIND]\n");
        return 2;
    }
    load(argv[2]);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "count")) {
        int n = 0;
        for (size_t i = 0; i < npkts; i++) n += is_data(&pkts[i]);
        printf("%d\n", n);
        return 0;
    }
    if (argc < 4) return 2;
    if (!strcmp(cmd, "relink")) { cmd_relink(argv[3], argc > 4 ? argv[4] : "en10mb"); return 0; }
    pcap_dumper_t *o = open_out(argv[3], linktype);
    if (!strcmp(cmd, "reorder")) cmd_reorder(o);
    else if (!strcmp(cmd, "dup")) cmd_dup(o);
    else if (!strcmp(cmd, "overlap")) cmd_overlap(o);
    else if (!strcmp(cmd, "drop") && argc > 4) cmd_drop(o, atoi(argv[4]));
    else if (!strcmp(cmd, "cut") && argc > 4) cmd_cut(o, (size_t)atol(argv[4]));
    else if (!strcmp(cmd, "multiply") && argc > 4) cmd_multiply(o, atoi(argv[4]));
    else { fprintf(stderr, "pcapsynth: bad command\n"); return 2; }
    pcap_dump_close(o);
    pcap_close(dead);
    for (size_t i = 0; i < npkts; i++) free(pkts[i].d);
    free(pkts);
    return 0;
}
