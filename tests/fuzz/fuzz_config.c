/* fuzz_config.c -- libFuzzer harness for the configuration reader
 * (agent/config.h: lt_config_load on a file, through inih).
 *
 * The input is the text of an llmtap.conf. It is written to an anonymous
 * memory file (memfd) and loaded by its /proc/self/fd path over the
 * defaults, as the agent loads /etc/llmtap/llmtap.conf. Loading either
 * succeeds or fails with a "path:line: reason" message; a loaded
 * configuration is then dumped (lt_config_dump walks every field) and
 * freed, so a bad value stored half-way shows up as a sanitizer report.
 * Seeds: packaging/llmtap.conf and the configuration files the tests write
 * (tests/fuzz/make_seeds.py). Regression inputs: tests/fuzz/regress/config/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "agent/config.h"
#include "common/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lt_log_level = -1;
    int fd = memfd_create("fuzz_config", 0);
    if (fd < 0) { perror("memfd_create"); abort(); }
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) { perror("write"); abort(); }
        off += (size_t)w;
    }
    char path[64], err[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    lt_config cfg;
    lt_config_defaults(&cfg);
    err[0] = 0;
    if (lt_config_load(&cfg, path, err, sizeof err) == 0) {
        FILE *out = fopen("/dev/null", "w");
        if (out) { lt_config_dump(&cfg, out); fclose(out); }
    } else if (!err[0]) {
        fprintf(stderr, "config load failed without a reason\n");
        abort();
    }
    lt_config_free(&cfg);
    close(fd);
    return 0;
}
