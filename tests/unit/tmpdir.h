/* tmpdir.h -- the temporary folder the unit tests that write files work in
 * (test_config.c, test_store.c, test_writer.c): made under /tmp as
 * /tmp/lt-NAME-XXXXXX by the setup, removed with everything in it by the
 * teardown, so no test shares a file with another test binary or a parallel
 * run. Header-only (static inline, include it after <cmocka.h>) because
 * each test binary is built from its one .c file. */
#ifndef LT_TEST_TMPDIR_H
#define LT_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static char tmpdir[64];

/* Makes the folder /tmp/lt-NAME-XXXXXX; 0, or -1 (a failed cmocka setup). */
static inline int tmpdir_make(const char *name)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lt-%s-XXXXXX", name);
    return mkdtemp(tmpdir) ? 0 : -1;
}

/* A cmocka teardown: removes the folder and what is in it. */
static inline int tmpdir_teardown(void **st)
{
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd);
}

/* out (128 bytes) = the path of name inside the folder. */
static inline void tmpdir_path(char *out, const char *name) { snprintf(out, 128, "%s/%s", tmpdir, name); }

/* Writes s to the file p, failing the test if p cannot be created. */
static inline void tmpdir_write(const char *p, const char *s)
{
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

#endif
