/* failthread.c -- an LD_PRELOAD shim for tests: pthread_create fails (EAGAIN)
 * from its Nth call on, N taken from LT_TEST_THREADS_FAIL_FROM (unset: never),
 * so a test can see what llmtap does when a thread cannot be started (the
 * fallbacks of replay --workers), which no resource limit provokes reliably
 * for root. Built by the test that uses it:
 *   cc -shared -fPIC -o failthread.so tests/lib/failthread.c -ldl */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

typedef int (*lt_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    static int calls;
    const char *from = getenv("LT_TEST_THREADS_FAIL_FROM");
    if (from && ++calls >= atoi(from)) return EAGAIN;
    lt_create_fn real = (lt_create_fn)dlsym(RTLD_NEXT, "pthread_create");
    return real ? real(t, attr, fn, arg) : EAGAIN;
}
