/* upload_cfg.h -- settings of the Log Analytics uploader ([upload] section of
 * llmtap.conf). agent/config.c hands every key of that section to
 * lt_upload_cfg_set(); this module owns the keys, defaults and validation. */
#ifndef LT_UPLOAD_CFG_H
#define LT_UPLOAD_CFG_H

#include <stddef.h>

typedef struct lt_upload_cfg {
    char *endpoint;            /* DCE or DCR ingestion endpoint, https://... */
    char *dcr_immutable_id;    /* dcr-... */
    char *llm_stream;          /* Custom-ApiManagementGatewayLlmLog_CL */
    char *gateway_stream;      /* Custom-ApiManagementGatewayLogs_CL */
    /* more fields are added by uploader/ as it grows */
    void *ext;                 /* module-private extension, owned */
} lt_upload_cfg;

void lt_upload_cfg_defaults(lt_upload_cfg *cfg);
/* 0 ok; -1 unknown key or invalid value, with a reason in err. */
int lt_upload_cfg_set(lt_upload_cfg *cfg, const char *key, const char *value,
                      char *err, size_t errlen);
void lt_upload_cfg_free(lt_upload_cfg *cfg);

#endif
