/* upload_cfg.h -- settings of the Log Analytics uploader ([upload] section of
 * llmtap.conf). The section's table (lt_upload_cfg_map, common/confmap.h)
 * sits next to the struct it fills: keys, defaults, ranges and descriptions
 * are written once there, and agent/config.c loads the section through it.
 * The chunker (chunk.h) reads chunk_bytes and message_cap from this struct
 * too, so those defaults are not repeated anywhere. */
#ifndef LT_UPLOAD_CFG_H
#define LT_UPLOAD_CFG_H

#include <stddef.h>
#include "../common/confmap.h"

enum lt_auth_kind {
    LT_AUTH_MANAGED_IDENTITY = 0,  /* IMDS, or IDENTITY_ENDPOINT, or Azure Arc: detected */
    LT_AUTH_WORKLOAD_IDENTITY,     /* AZURE_FEDERATED_TOKEN_FILE */
    LT_AUTH_CLIENT_SECRET,
    LT_AUTH_CLIENT_CERTIFICATE,
};

typedef struct lt_upload_cfg {
    char *endpoint;            /* DCE or DCR ingestion endpoint, https://... */
    char *dcr_immutable_id;    /* dcr-... */
    char *llm_stream;          /* Custom-ApiManagementGatewayLlmLog_CL */
    char *gateway_stream;      /* Custom-ApiManagementGatewayLogs_CL */
    int auth;                  /* enum lt_auth_kind */
    char *tenant_id;
    char *client_id;           /* app (or user-assigned identity) client id */
    char *client_secret_file;  /* file holding the secret (0600) */
    char *client_cert_file;    /* PEM: certificate and private key */
    char *authority_host;      /* https://login.microsoftonline.com (sovereign clouds differ) */
    char *imds_endpoint;       /* http://169.254.169.254 */
    char *scope;               /* https://monitor.azure.com/.default */
    char *ca_bundle;           /* extra CA file (tests, private CAs); verification stays on */
    int gzip;                  /* gzip request bodies */
    size_t batch_max_bytes;    /* bytes per POST as sent */
    size_t chunk_bytes;        /* message chunk size (chunk.h) */
    size_t message_cap;        /* message cap (chunk.h) */
    int flush_interval_s;      /* daemon: batch flush interval */
    int max_retry_s;           /* give up a run after this long in back-off */
    int retry_cap_s;           /* longest single back-off */
} lt_upload_cfg;

/* The [upload] table (defaults in it, see upload_cfg.c). */
extern const lt_confmap_entry lt_upload_cfg_map[];

void lt_upload_cfg_defaults(lt_upload_cfg *cfg);
/* 0 ok; -1 unknown key or invalid value, with a reason in err. */
int lt_upload_cfg_set(lt_upload_cfg *cfg, const char *key, const char *value,
                      char *err, size_t errlen);
/* The required keys (endpoint, dcr_immutable_id): 0 set; -1 with the
 * missing ones named in err. The one place this is checked. */
int lt_upload_cfg_check(const lt_upload_cfg *cfg, char *err, size_t errlen);
void lt_upload_cfg_free(lt_upload_cfg *cfg);

#endif
