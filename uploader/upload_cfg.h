/* upload_cfg.h -- settings of the Log Analytics uploader ([upload] section of
 * llmtap.conf). agent/config.c hands every key of that section to
 * lt_upload_cfg_set(); this module owns the keys, defaults and validation. */
#ifndef LT_UPLOAD_CFG_H
#define LT_UPLOAD_CFG_H

#include <stddef.h>

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
    int gzip;                  /* gzip request bodies (default 1) */
    size_t batch_max_bytes;    /* bytes per POST as sent (default 1000000) */
    size_t chunk_bytes;        /* message chunk size (default 32768) */
    size_t message_cap;        /* message cap (default 2 MiB) */
    int flush_interval_s;      /* daemon: batch flush interval (default 5) */
    int max_retry_s;           /* give up a run after this long in back-off (default 600) */
    int retry_cap_s;           /* longest single back-off (default 60) */
    void *ext;                 /* module-private extension, owned */
} lt_upload_cfg;

void lt_upload_cfg_defaults(lt_upload_cfg *cfg);
/* 0 ok; -1 unknown key or invalid value, with a reason in err. */
int lt_upload_cfg_set(lt_upload_cfg *cfg, const char *key, const char *value,
                      char *err, size_t errlen);
void lt_upload_cfg_free(lt_upload_cfg *cfg);

#endif
