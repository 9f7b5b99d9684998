/* capture.c -- libpcap input: pcap and pcapng files (live interfaces come
 * with the daemon). libpcap reads both file formats and tells the link type;
 * timestamps are taken as microseconds. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pipeline.h"

int lt_capture_read(const char *path, lt_capture_frame_fn fn, void *ud, lt_time_us *last, char **err)
{
    *last = 0;
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *pc = pcap_open_offline(path, errbuf);
    if (!pc) {
        if (err && asprintf(err, "%s: %s", path, errbuf) < 0) *err = NULL;
        return -1;
    }
    int linktype = pcap_datalink(pc), r, rc = 0;
    struct pcap_pkthdr *h;
    const u_char *data;
    while ((r = pcap_next_ex(pc, &h, &data)) == 1) {
        *last = (lt_time_us)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
        if (fn(ud, linktype, data, h->caplen, *last) < 0) {
            if (err && asprintf(err, "%s: out of memory queueing a frame of %u bytes", path, h->caplen) < 0) *err = NULL;
            rc = -1;
            break;
        }
    }
    if (r == -1) { /* -2 is the end of the file */
        if (err && asprintf(err, "%s: %s", path, pcap_geterr(pc)) < 0) *err = NULL;
        rc = -1;
    }
    pcap_close(pc);
    return rc;
}

static int lt_capture_frame(void *ud, int linktype, const uint8_t *frame, size_t caplen, lt_time_us ts)
{
    lt_pipeline_packet(ud, linktype, frame, caplen, ts);
    return 0;
}

int lt_capture_file(lt_pipeline *p, const char *path, char **err)
{
    lt_time_us last;
    int rc = lt_capture_read(path, lt_capture_frame, p, &last, err);
    lt_pipeline_finish(p, last); /* nothing to finish if the file did not open */
    return rc;
}
