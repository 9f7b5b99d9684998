/* capture.c -- libpcap input: pcap and pcapng files (live interfaces come
 * with the daemon). libpcap reads both file formats and tells the link type;
 * timestamps are taken as microseconds.
 *
 * A file is handed to libpcap as a stdio stream (fopencookie) whose buffer
 * is LT_CAPTURE_STDIO_BUF bytes we provide, filled by one read(2) each: a
 * plain fopen gets stdio's 4 KiB buffer (setvbuf with a NULL buffer keeps
 * it), and reading the page cache in 4 KiB steps cost more than a third of
 * a replay. A read-only mapping of the file (07c2965) spared the syscalls
 * but paid a cold memcpy out of 4 KiB pages plus madvise to populate and
 * drop them, and the drops' TLB shootdowns reach every CPU the process runs
 * on: with replay --workers 2 the mapping's reader was 30% of all samples
 * (memcpy 21%, madvise 8.6%). One 1 MiB read(2) per MiB copies through the
 * kernel's direct map instead (bench-512, loaded machine, alternating runs:
 * CPU --workers 1 0.94 s -> 0.67 s, --workers 2 1.22 s -> 0.91 s), and RSS
 * stays flat in the file's size. stdin ("-"), pipes, devices, empty files
 * and files that cannot be opened take libpcap's own path (and message). */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pipeline.h"

#define LT_CAPTURE_STDIO_BUF (1u << 20)

typedef struct lt_capture_fd {
    int fd;
    char buf[];                /* the stream's buffer, LT_CAPTURE_STDIO_BUF bytes */
} lt_capture_fd;

static ssize_t lt_capture_fd_read(void *cookie, char *buf, size_t n)
{
    lt_capture_fd *c = cookie;
    ssize_t r;
    do r = read(c->fd, buf, n);
    while (r < 0 && errno == EINTR);
    return r;
}

/* glibc's fclose calls this after its last use of the buffer's contents. */
static int lt_capture_fd_close(void *cookie)
{
    lt_capture_fd *c = cookie;
    int r = close(c->fd);
    free(c);
    return r;
}

/* The file as a stream with a large buffer, or NULL (then libpcap opens it). */
static FILE *lt_capture_fd_open(const char *path)
{
    if (!strcmp(path, "-")) return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0) { close(fd); return NULL; }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    lt_capture_fd *c = malloc(sizeof *c + LT_CAPTURE_STDIO_BUF);
    FILE *f = NULL;
    if (c) {
        c->fd = fd;
        f = fopencookie(c, "rb", (cookie_io_functions_t){.read = lt_capture_fd_read, .close = lt_capture_fd_close});
    }
    if (!f) { free(c); close(fd); return NULL; }
    setvbuf(f, c->buf, _IOFBF, LT_CAPTURE_STDIO_BUF);
    return f;
}

pcap_t *lt_capture_open(const char *path, char *errbuf)
{
    FILE *f = lt_capture_fd_open(path);
    pcap_t *pc = f ? pcap_fopen_offline(f, errbuf) : pcap_open_offline(path, errbuf);
    if (!pc && f) fclose(f);
    /* One thread reads the stream: without this, once replay --workers has started
     * threads, glibc locks the FILE on each of libpcap's two freads per frame
     * (__fread_chk: 2.8% of a --workers 2 replay's samples, 0.2% without) */
    if (pc && pcap_file(pc)) __fsetlocking(pcap_file(pc), FSETLOCKING_BYCALLER);
    return pc;
}

int lt_capture_read(const char *path, lt_capture_frame_fn fn, void *ud, lt_time_us *last, char **err)
{
    *last = 0;
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *pc = lt_capture_open(path, errbuf);
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
            if (err && asprintf(err, "%s: out of memory at a frame of %u bytes", path, h->caplen) < 0) *err = NULL;
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
