/* driver.c -- plain main() for the fuzz harnesses, without libFuzzer.
 *
 * Links with a harness (tests/fuzz/fuzz_*.c) and calls its
 * LLVMFuzzerTestOneInput once per file named on the command line (a
 * directory means every file in it, in name order). No mutation: this
 * replays a corpus, so the normal build (and the gcc or clang sanitizer
 * build) exercises the harness checks on the committed regression inputs
 * (tests/integration/fuzz_regress.sh) and on any crash file libFuzzer left
 * behind. Each input's name is printed before it runs, so a crash names
 * the input that caused it. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return -1; }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *b = realloc(buf, cap);
            if (!b) { free(buf); fclose(f); return -1; }
            buf = b;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got);
    fclose(f);
    fprintf(stderr, "driver: %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(buf ? buf : (uint8_t *)"", len);
    free(buf);
    return 0;
}

static int run_path(const char *path, int *count)
{
    struct stat st;
    if (stat(path, &st) < 0) { perror(path); return -1; }
    if (!S_ISDIR(st.st_mode)) { (*count)++; return run_file(path); }
    struct dirent **list;
    int n = scandir(path, &list, NULL, alphasort);
    if (n < 0) { perror(path); return -1; }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (list[i]->d_name[0] != '.') {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", path, list[i]->d_name);
            if (run_path(p, count) < 0) rc = -1;
        }
        free(list[i]);
    }
    free(list);
    return rc;
}

int main(int argc, char **argv)
{
    int count = 0, rc = 0;
    for (int i = 1; i < argc; i++)
        if (run_path(argv[i], &count) < 0) rc = 1;
    fprintf(stderr, "driver: %d inputs run\n", count);
    return rc;
}
