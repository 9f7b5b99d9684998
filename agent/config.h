/* config.h -- /etc/llmtap/llmtap.conf, the one human-edited configuration.
 *
 * INI format read with inih. Each section belongs to one module: [capture]
 * (capture, flows, reassembly, parser limits), [records], [store], [upload]
 * (handed key by key to uploader/upload_cfg.c) and [log]. Every key is
 * documented in packaging/llmtap.conf. Errors are reported as
 * "FILE:LINE: reason"; command-line flags override the file. */
#ifndef LT_CONFIG_H
#define LT_CONFIG_H

#include <stddef.h>
#include "../store/spool.h"
#include "../uploader/upload_cfg.h"
#include "../capture/pipeline.h"

#define LT_CONFIG_DEFAULT_PATH "/etc/llmtap/llmtap.conf"

typedef struct lt_config {
    lt_pipeline_cfg pipeline;
    char *interface;
    char *bpf_filter;
    char *db_path;
    lt_spool_limits spool;
    lt_upload_cfg upload;
    int log_level;
} lt_config;

void lt_config_defaults(lt_config *cfg);
/* Loads path over the current values. 0 ok; -1 with "path:line: reason" in err. */
int lt_config_load(lt_config *cfg, const char *path, char *err, size_t errlen);
/* Defaults, then path if given, else the default file if it exists. */
int lt_config_load_default(lt_config *cfg, const char *path, char *err, size_t errlen);
void lt_config_free(lt_config *cfg);

/* "64M" -> 67108864; "10s"/"5m"/"2h"/"1d" -> seconds. -1 on error. */
long long lt_config_parse_size(const char *v);
long long lt_config_parse_duration(const char *v);

#endif
