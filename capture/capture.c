/* capture.c -- libpcap input: pcap and pcapng files (live interfaces come
 * with the daemon). libpcap reads both file formats and tells the link type;
 * timestamps are taken as microseconds. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pipeline.h"

int lt_capture_file(lt_pipeline *p, const char *path, char **err)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *pc = pcap_open_offline(path, errbuf);
    if (!pc) {
        if (err && asprintf(err, "%s: %s", path, errbuf) < 0) *err = NULL;
        return -1;
    }
    int linktype = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *data;
    lt_time_us last = 0;
    int r;
    while ((r = pcap_next_ex(pc, &h, &data)) == 1) {
        last = (lt_time_us)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
        lt_pipeline_packet(p, linktype, data, h->caplen, last);
    }
    int rc = 0;
    if (r == -1) {
        if (err && asprintf(err, "%s: %s", path, pcap_geterr(pc)) < 0) *err = NULL;
        rc = -1;
    }
    lt_pipeline_finish(p, last);
    pcap_close(pc);
    return rc;
}
