/* pktsend.c -- the sender of bench/live.sh: replays a capture's frames into
 * an interface as fast as the kernel takes them, or at a fixed bit rate.
 *
 *   pktsend IFACE FILE [MBPS]        (MBPS absent or 0: top speed)
 *
 * tcpreplay (-K --topspeed) tops out near 1.4 Gbit/s of ~930-byte frames
 * into a veth on this 2-core machine, below the 2 Gbit/s per core the live
 * benchmark must show, so the benchmark needs a sender that costs less per
 * frame: the whole file is loaded first, frames leave in batches of 256 per
 * sendmmsg(2) on an AF_PACKET socket that bypasses the qdisc
 * (PACKET_QDISC_BYPASS), and the rate is kept by batch, not per frame. A
 * frame the kernel refuses (ENOBUFS) is sent again, never skipped, so the
 * receiver can count every frame. Prints one line: frames, bytes, seconds,
 * Mbit/s. */
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PKTSEND_BATCH 256

typedef struct pktsend_frame {
    size_t off;
    size_t len;
} pktsend_frame;

static double pktsend_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Loads every frame of FILE into one buffer; returns the frame count. */
static size_t pktsend_load(const char *path, unsigned char **data, pktsend_frame **frames)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    if (!pc) { fprintf(stderr, "pktsend: %s\n", err); exit(1); }
    if (pcap_datalink(pc) != DLT_EN10MB) { fprintf(stderr, "pktsend: %s is not Ethernet\n", path); exit(1); }
    size_t n = 0, cap = 1024, used = 0, dcap = 1 << 20;
    *frames = malloc(cap * sizeof **frames);
    *data = malloc(dcap);
    struct pcap_pkthdr *h;
    const u_char *d;
    while (pcap_next_ex(pc, &h, &d) == 1) {
        if (n == cap) *frames = realloc(*frames, (cap *= 2) * sizeof **frames);
        while (used + h->caplen > dcap) *data = realloc(*data, dcap *= 2);
        if (!*frames || !*data) { fprintf(stderr, "pktsend: out of memory\n"); exit(1); }
        memcpy(*data + used, d, h->caplen);
        (*frames)[n++] = (pktsend_frame){used, h->caplen};
        used += h->caplen;
    }
    pcap_close(pc);
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: pktsend IFACE FILE [MBPS]\n"); return 2; }
    double mbps = argc > 3 ? atof(argv[3]) : 0;
    unsigned char *data;
    pktsend_frame *fr;
    size_t n = pktsend_load(argv[2], &data, &fr);

    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) { perror("pktsend: socket"); return 1; }
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[1])};
    if (!sll.sll_ifindex) { fprintf(stderr, "pktsend: no interface %s\n", argv[1]); return 1; }
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("pktsend: bind"); return 1; }
    int one = 1;
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    int sndbuf = 64 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);

    static struct mmsghdr msgs[PKTSEND_BATCH];
    static struct iovec iov[PKTSEND_BATCH];
    unsigned long long bytes = 0;
    double t0 = pktsend_now();
    size_t i = 0;
    while (i < n) {
        unsigned k = 0;
        for (; k < PKTSEND_BATCH && i + k < n; k++) {
            iov[k] = (struct iovec){data + fr[i + k].off, fr[i + k].len};
            msgs[k] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[k], .msg_iovlen = 1}};
        }
        int sent = sendmmsg(fd, msgs, k, 0);
        if (sent < 0) {
            if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) { sched_yield(); continue; }
            perror("pktsend: sendmmsg");
            return 1;
        }
        for (int j = 0; j < sent; j++) bytes += fr[i + (size_t)j].len;
        i += (size_t)sent;
        if (mbps > 0) {   /* keep the average rate: wait until the bytes sent are due */
            double due = t0 + (double)bytes * 8 / (mbps * 1e6);
            for (double now = pktsend_now(); now < due; now = pktsend_now())
                if (due - now > 200e-6) usleep((useconds_t)((due - now) * 1e6 / 2));
        }
    }
    double secs = pktsend_now() - t0;
    printf("frames %zu bytes %llu seconds %.6f mbps %.2f\n", n, bytes, secs, secs > 0 ? (double)bytes * 8 / secs / 1e6 : 0);
    close(fd);
    free(data);
    free(fr);
    return 0;
}
