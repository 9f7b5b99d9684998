/* http2.h -- HTTP/2 exchange parser (implements lt_http2_ops, app.h).
 *
 * Frames are parsed from each direction's reassembled bytes; header blocks
 * are decoded with libnghttp2's HPACK inflater, one per direction, so the
 * dynamic table follows the peer's encoder exactly. Every stream becomes one
 * exchange. */
#ifndef LT_HTTP2_H
#define LT_HTTP2_H

#include "app.h"

#endif
