/* jalloc.c -- jansson's allocator with a per-thread note of failure (see jalloc.h). */
#include <jansson.h>
#include <stdlib.h>
#include "jalloc.h"

static __thread int lt_jalloc_note;

static void *lt_jalloc_malloc(size_t n)
{
    void *p = malloc(n);
    if (!p) lt_jalloc_note = 1;
    return p;
}

void lt_jalloc_install(void) { json_set_alloc_funcs(lt_jalloc_malloc, free); }

void lt_jalloc_clear(void) { lt_jalloc_note = 0; }

int lt_jalloc_failed(void) { return lt_jalloc_note; }
