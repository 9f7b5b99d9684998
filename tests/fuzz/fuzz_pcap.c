/* fuzz_pcap.c -- libFuzzer harness for the whole capture path: the input is
 * a capture file (pcap or pcapng) that goes through libpcap, link and IP
 * decoding, the flow table, TCP reassembly, protocol detection, HTTP/1.1,
 * HTTP/2, SSE, the payload readers and the records (lt_capture_file on a
 * pipeline), exactly as `llmtap replay` runs it.
 *
 * The bytes are written to an anonymous memory file (memfd) and opened by
 * its /proc/self/fd path, so nothing touches the disk and parallel fuzzing
 * jobs never share a file. Every record must serialize and load back as the
 * uploader loads it. Seeds: the fixture captures (tests/fuzz/make_seeds.py,
 * cut to their first packets). Regression inputs: tests/fuzz/regress/pcap/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "capture/pipeline.h"
#include "common/log.h"
#include "deliverable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_memfile(const uint8_t *data, size_t size, char *path, size_t plen)
{
    int fd = memfd_create("fuzz_pcap", 0);
    if (fd < 0) { perror("memfd_create"); abort(); }
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) { perror("write"); abort(); }
        off += (size_t)w;
    }
    snprintf(path, plen, "/proc/self/fd/%d", fd);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lt_log_level = -1;
    char path[64];
    int fd = fz_memfile(data, size, path, sizeof path);
    lt_pipeline_cfg cfg;
    lt_pipeline_cfg_defaults(&cfg);
    cfg.flows_max = 64;
    lt_pipeline *p = lt_pipeline_create(&cfg, fz_on_record, NULL);
    if (!p) abort();
    char *err = NULL;
    lt_capture_file(p, path, &err);
    free(err);
    lt_pipeline_finish(p, 0);
    lt_pipeline_destroy(p);
    close(fd);
    return 0;
}
