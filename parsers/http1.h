/* http1.h -- HTTP/1.x exchange parser (implements lt_http1_ops, app.h).
 *
 * After a "101 Switching Protocols" to h2c the parser stops; the session asks
 * lt_http1_upgrade_offset() how many bytes of the last feed belonged to
 * HTTP/1 and hands the rest to the HTTP/2 parser. */
#ifndef LT_HTTP1_H
#define LT_HTTP1_H

#include <stddef.h>
#include "app.h"

/* (size_t)-1 unless the last feed() ended HTTP/1 with an upgrade; then the
 * number of bytes of that feed consumed by HTTP/1 (the rest is HTTP/2). */
size_t lt_http1_upgrade_offset(void *parser);

#endif
