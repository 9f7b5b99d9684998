/* pcap_loop.c -- the baseline for `make bench`: read a capture with libpcap
 * and touch every captured byte (a running checksum the compiler cannot
 * drop). llmtap's replay throughput is reported as a ratio of this. */
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    if (argc < 2) { fprintf(stderr, "usage: pcap_loop FILE\n"); return 2; }
    pcap_t *pc = pcap_open_offline(argv[1], err);
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
