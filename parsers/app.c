/* app.c -- defaults shared by the application-layer parsers.
 *
 * The limits are what bounds the memory and CPU one connection can cost,
 * whatever a client sends (issue 11): heads and HTTP/2 header lists at
 * 64 KiB like nginx's and nghttp2's defaults, bodies at 16 MiB, and
 * compressed bodies at 256x expansion past their first MiB. */
#include "app.h"
#include "content.h"

void lt_parser_cfg_defaults(lt_parser_cfg *cfg)
{
    cfg->body_cap = 16u << 20;
    cfg->head_cap = 64u << 10;
    cfg->h2_streams_max = 1000;
    cfg->decode_ratio_max = LT_CONTENT_RATIO_DEFAULT;
    cfg->h2_header_list_max = 64u << 10;
    cfg->budget = NULL; /* the process's budget is the caller's (capture/pipeline.c) */
}
