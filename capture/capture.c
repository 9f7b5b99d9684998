/* capture.c -- libpcap input: pcap and pcapng files (live interfaces come
 * with the daemon). libpcap reads both file formats and tells the link type;
 * timestamps are taken as microseconds.
 *
 * A regular file is handed to libpcap as a stdio stream over a read-only
 * mapping of it (fopencookie), not opened by path: reading the page cache
 * with read(2) in stdio's 4 KiB steps cost more than a third of a replay
 * (the kernel's copy_to_iter), and the mapping spares that copy. The pages
 * behind the read position are dropped every LT_CAPTURE_WINDOW bytes, so
 * the mapping does not grow the process's RSS with the file's size. Pipes,
 * devices and anything that cannot be mapped take libpcap's own path. */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pipeline.h"

#define LT_CAPTURE_WINDOW (2u << 20)   /* pages released behind the reader in steps of this */
#define LT_CAPTURE_STDIO_BUF (64u << 10)

typedef struct lt_capture_map {
    const uint8_t *base;
    size_t size, pos, released, populated;
} lt_capture_map;

static ssize_t lt_capture_map_read(void *cookie, char *buf, size_t n)
{
    lt_capture_map *m = cookie;
    if (n > m->size - m->pos) n = m->size - m->pos;
    memcpy(buf, m->base + m->pos, n);
    m->pos += n;
    if (m->pos - m->released >= LT_CAPTURE_WINDOW) { /* page-aligned: the window is a multiple of any page size */
        size_t drop = (m->pos - m->released) / LT_CAPTURE_WINDOW * LT_CAPTURE_WINDOW;
        madvise((void *)(m->base + m->released), drop, MADV_DONTNEED);
        m->released += drop;
    }
    if (m->pos + LT_CAPTURE_WINDOW > m->populated && m->populated < m->size) {
        /* the next window's page tables in one call, not a fault per 16 pages
         * (Linux >= 5.14; older kernels refuse it and fault as before) */
        size_t n = m->size - m->populated < LT_CAPTURE_WINDOW ? m->size - m->populated : LT_CAPTURE_WINDOW;
        madvise((void *)(m->base + m->populated), n, MADV_POPULATE_READ);
        m->populated += n;
    }
    return (ssize_t)n;
}

static int lt_capture_map_close(void *cookie)
{
    lt_capture_map *m = cookie;
    munmap((void *)m->base, m->size);
    free(m);
    return 0;
}

/* The file as a stream over its mapping, or NULL (then libpcap opens it). */
static FILE *lt_capture_map_open(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    void *base = MAP_FAILED;
    if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size > 0 && (uintmax_t)st.st_size <= SIZE_MAX)
        base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (base == MAP_FAILED) return NULL;
    madvise(base, (size_t)st.st_size, MADV_SEQUENTIAL);
    lt_capture_map *m = calloc(1, sizeof *m);
    FILE *f = NULL;
    if (m) {
        *m = (lt_capture_map){.base = base, .size = (size_t)st.st_size};
        f = fopencookie(m, "rb", (cookie_io_functions_t){.read = lt_capture_map_read, .close = lt_capture_map_close});
    }
    if (!f) { free(m); munmap(base, (size_t)st.st_size); return NULL; }
    setvbuf(f, NULL, _IOFBF, LT_CAPTURE_STDIO_BUF);
    return f;
}

pcap_t *lt_capture_open(const char *path, char *errbuf)
{
    FILE *f = lt_capture_map_open(path);
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
