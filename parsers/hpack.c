/* hpack.c -- HPACK decoding through libnghttp2's inflater (see hpack.h).
 *
 * nghttp2_hd_inflate_hd2 returns at most one field per call and keeps any
 * partial field of a fragment internally; the loop below calls it until the
 * fragment is consumed (or, for the last fragment, until it reports FINAL).
 * nghttp2 marks its inflater unusable after an error, so failure is sticky
 * here as well until the caller resets the table. */
#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include "hpack.h"

struct lt_hpack {
    nghttp2_hd_inflater *inf;
    int failed;
    int in_block;
};

lt_hpack *lt_hpack_create(size_t settings_max)
{
    lt_hpack *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    if (lt_hpack_reset(h, settings_max) < 0) { free(h); return NULL; }
    return h;
}

void lt_hpack_destroy(lt_hpack *h)
{
    if (!h) return;
    if (h->inf) nghttp2_hd_inflate_del(h->inf);
    free(h);
}

int lt_hpack_reset(lt_hpack *h, size_t settings_max)
{
    if (h->inf) nghttp2_hd_inflate_del(h->inf);
    h->inf = NULL;
    h->in_block = 0;
    h->failed = 1;
    if (nghttp2_hd_inflate_new(&h->inf) != 0) { h->inf = NULL; return -1; }
    h->failed = 0;
    return lt_hpack_set_settings_max(h, settings_max);
}

int lt_hpack_set_settings_max(lt_hpack *h, size_t settings_max)
{
    if (h->failed) return -1;
    if (nghttp2_hd_inflate_change_table_size(h->inf, settings_max) != 0) return -1;
    return 0;
}

int lt_hpack_decode(lt_hpack *h, const uint8_t *in, size_t len, int last,
                    lt_hpack_field_cb cb, void *ud)
{
    static const uint8_t none[1];
    if (h->failed) return -1;
    if (!in) { in = none; len = 0; } /* the last, empty fragment: no pointer arithmetic on NULL */
    h->in_block = 1;
    for (;;) {
        nghttp2_nv nv;
        int flags = 0;
        ssize_t rv = nghttp2_hd_inflate_hd2(h->inf, &nv, &flags, in, len, last);
        if (rv < 0) { h->failed = 1; h->in_block = 0; return -1; }
        in += rv;
        len -= (size_t)rv;
        if ((flags & NGHTTP2_HD_INFLATE_EMIT) && cb)
            cb(ud, nv.name, nv.namelen, nv.value, nv.valuelen, (nv.flags & NGHTTP2_NV_FLAG_NO_INDEX) != 0);
        if (flags & NGHTTP2_HD_INFLATE_FINAL) {
            nghttp2_hd_inflate_end_headers(h->inf);
            h->in_block = 0;
            return 0;
        }
        if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && len == 0) {
            if (last) { h->failed = 1; h->in_block = 0; return -1; } /* block ended mid-field */
            return 0;
        }
    }
}

int lt_hpack_failed(const lt_hpack *h) { return h->failed; }
int lt_hpack_in_block(const lt_hpack *h) { return h->in_block; }
