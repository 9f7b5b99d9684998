/* oom.c -- the per-thread note of a failed allocation (see oom.h). */
#include <jansson.h>
#include <stdlib.h>
#include "oom.h"

static __thread int lt_oom_flag;

static void *lt_oom_json_malloc(size_t n)
{
    void *p = malloc(n);
    if (!p) lt_oom_flag = 1;
    return p;
}

void lt_oom_install(void) { json_set_alloc_funcs(lt_oom_json_malloc, free); }

void lt_oom_note(void) { lt_oom_flag = 1; }

void lt_oom_clear(void) { lt_oom_flag = 0; }

int lt_oom_noted(void) { return lt_oom_flag; }
