/* pcap_loop.c -- the baseline for `make bench`: read a capture with libpcap
 * and touch every captured byte (a running checksum the compiler cannot
 * drop). llmtap's replay throughput is reported as a ratio of this.
 *   pcap_loop FILE          pcap_open_offline, as any libpcap program reads a file
 *   pcap_loop --reader FILE the same loop over llmtap's own file reader
 *                           (lt_capture_open: 1 MiB reads into its own stdio
 *                           buffer), so the bench can tell the reading from
 *                           the processing */
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include "../capture/pipeline.h"

int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    int own = argc > 2 && !strcmp(argv[1], "--reader");
    if (argc < 2 + own) { fprintf(stderr, "usage: pcap_loop [--reader] FILE\n"); return 2; }
    const char *path = argv[1 + own];
    pcap_t *pc = own ? lt_capture_open(path, err) : pcap_open_offline(path, err);
    if (!pc) { fprintf(stderr, "pcap_loop: %s\n", err); return 1; }
    struct pcap_pkthdr *h;
    const u_char *d;
    unsigned long long packets = 0, bytes = 0, sum = 0;
    while (pcap_next_ex(pc, &h, &d) == 1) {
        packets++;
        bytes += h->caplen;
        for (bpf_u_int32 i = 0; i < h->caplen; i++) sum += d[i];
    }
    pcap_close(pc);
    printf("packets %llu bytes %llu checksum %llu\n", packets, bytes, sum);
    return 0;
}
