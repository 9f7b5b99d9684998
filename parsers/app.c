/* app.c -- defaults shared by the application-layer parsers. */
#include "app.h"

void lt_parser_cfg_defaults(lt_parser_cfg *cfg)
{
    cfg->body_cap = 16u << 20;
    cfg->head_cap = 64u << 10;
    cfg->h2_streams_max = 1000;
}
