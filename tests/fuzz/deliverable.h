/* deliverable.h -- the one "record deliverability" check of the fuzz
 * harnesses (fuzz_script.h for HTTP/1 and HTTP/2, fuzz_pcap.c,
 * fuzz_records.c): every record a harness gets must survive the trip the
 * uploader makes, a load back of its text, and be exactly what json_dumps
 * writes for what it loads to (records/ writes the text column by column:
 * a missing comma, a key written twice or an escape jansson would write
 * otherwise all show here), or the harness aborts so the fuzzer keeps the
 * input.
 * Header-only, like fuzz_script.h, so each harness stays one file. */
#ifndef LT_FUZZ_DELIVERABLE_H
#define LT_FUZZ_DELIVERABLE_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "records/record.h"

/* An lt_record callback (ud unused): aborts on a record without text, whose
 * text does not load back, or is not json_dumps' form of what it loads to. */
static void fz_on_record(void *ud, lt_record *rec)
{
    (void)ud;
    if (!rec->text) { fprintf(stderr, "record %s has no text\n", rec->id); abort(); }
    json_error_t err;
    json_t *back = json_loadb(rec->text, rec->len, JSON_REJECT_DUPLICATES, &err);
    if (!back) {
        fprintf(stderr, "record the uploader cannot load (%s): %.300s\n", err.text, rec->text);
        abort();
    }
    char *s = json_dumps(back, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!s || strlen(s) != rec->len || memcmp(s, rec->text, rec->len)) {
        fprintf(stderr, "record text is not json_dumps' form:\n got  %.300s\n want %.300s\n", rec->text, s ? s : "(none)");
        abort();
    }
    free(s);
    json_decref(back);
}

#endif
