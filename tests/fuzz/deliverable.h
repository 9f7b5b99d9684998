/* deliverable.h -- the one "record deliverability" check of the fuzz
 * harnesses (fuzz_script.h for HTTP/1 and HTTP/2, fuzz_pcap.c,
 * fuzz_records.c): every record a harness gets must survive the trip the
 * uploader makes, a dump with the uploader's flags (uploader/chunk.c) and a
 * load back, or the harness aborts so the fuzzer keeps the input.
 * Header-only, like fuzz_script.h, so each harness stays one file. */
#ifndef LT_FUZZ_DELIVERABLE_H
#define LT_FUZZ_DELIVERABLE_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include "records/record.h"

/* An lt_record callback (ud unused): aborts on a record that does not
 * serialize or whose JSON does not load back. */
static void fz_on_record(void *ud, lt_record *rec)
{
    (void)ud;
    char *s = json_dumps(rec->obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!s) { fprintf(stderr, "record does not serialize\n"); abort(); }
    json_error_t err;
    json_t *back = json_loads(s, 0, &err);
    if (!back) {
        fprintf(stderr, "record the uploader cannot load (%s): %.300s\n", err.text, s);
        abort();
    }
    json_decref(back);
    free(s);
}

#endif
