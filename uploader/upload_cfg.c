/* upload_cfg.c -- keys of the [upload] section (see upload_cfg.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "upload_cfg.h"

void lt_upload_cfg_defaults(lt_upload_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->llm_stream = strdup("Custom-ApiManagementGatewayLlmLog_CL");
    cfg->gateway_stream = strdup("Custom-ApiManagementGatewayLogs_CL");
}

static int lt_upload_set_str(char **slot, const char *v)
{
    free(*slot);
    *slot = strdup(v);
    return *slot ? 0 : -1;
}

int lt_upload_cfg_set(lt_upload_cfg *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    if (!strcmp(key, "endpoint")) {
        if (strncmp(value, "https://", 8)) {
            snprintf(err, errlen, "endpoint: must start with https:// (got '%s')", value);
            return -1;
        }
        return lt_upload_set_str(&cfg->endpoint, value);
    }
    if (!strcmp(key, "dcr_immutable_id")) return lt_upload_set_str(&cfg->dcr_immutable_id, value);
    if (!strcmp(key, "llm_stream")) return lt_upload_set_str(&cfg->llm_stream, value);
    if (!strcmp(key, "gateway_stream")) return lt_upload_set_str(&cfg->gateway_stream, value);
    snprintf(err, errlen, "unknown key '%s' in [upload]", key);
    return -1;
}

void lt_upload_cfg_free(lt_upload_cfg *cfg)
{
    free(cfg->endpoint);
    free(cfg->dcr_immutable_id);
    free(cfg->llm_stream);
    free(cfg->gateway_stream);
    memset(cfg, 0, sizeof *cfg);
}
