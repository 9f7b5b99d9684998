/* upload_cfg.c -- keys, defaults and validation of the [upload] section. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "upload_cfg.h"

void lt_upload_cfg_defaults(lt_upload_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->llm_stream = strdup("Custom-ApiManagementGatewayLlmLog_CL");
    cfg->gateway_stream = strdup("Custom-ApiManagementGatewayLogs_CL");
    cfg->authority_host = strdup("https://login.microsoftonline.com");
    cfg->imds_endpoint = strdup("http://169.254.169.254");
    cfg->scope = strdup("https://monitor.azure.com/.default");
    cfg->gzip = 1;
    cfg->batch_max_bytes = 1000000;
    cfg->chunk_bytes = 32768;
    cfg->message_cap = 2u << 20;
    cfg->flush_interval_s = 5;
    cfg->max_retry_s = 600;
    cfg->retry_cap_s = 60;
}

static int lt_set_str(char **slot, const char *v)
{
    free(*slot);
    *slot = strdup(v);
    return *slot ? 0 : -1;
}

static int lt_set_num(const char *key, const char *v, long lo, long hi, long *out, char *err, size_t errlen)
{
    char *e;
    long n = strtol(v, &e, 10);
    if (e == v || *e || n < lo || n > hi) { snprintf(err, errlen, "%s: invalid number '%s'", key, v); return -1; }
    *out = n;
    return 0;
}

static int lt_set_https(char **slot, const char *key, const char *v, char *err, size_t errlen)
{
    if (strncmp(v, "https://", 8)) { snprintf(err, errlen, "%s: must start with https:// (got '%s')", key, v); return -1; }
    return lt_set_str(slot, v);
}

int lt_upload_cfg_set(lt_upload_cfg *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    long n = 0;
    if (!strcmp(key, "endpoint")) return lt_set_https(&cfg->endpoint, key, value, err, errlen);
    if (!strcmp(key, "authority_host")) return lt_set_https(&cfg->authority_host, key, value, err, errlen);
    if (!strcmp(key, "dcr_immutable_id")) return lt_set_str(&cfg->dcr_immutable_id, value);
    if (!strcmp(key, "llm_stream")) return lt_set_str(&cfg->llm_stream, value);
    if (!strcmp(key, "gateway_stream")) return lt_set_str(&cfg->gateway_stream, value);
    if (!strcmp(key, "tenant_id")) return lt_set_str(&cfg->tenant_id, value);
    if (!strcmp(key, "client_id")) return lt_set_str(&cfg->client_id, value);
    if (!strcmp(key, "client_secret_file")) return lt_set_str(&cfg->client_secret_file, value);
    if (!strcmp(key, "client_cert_file")) return lt_set_str(&cfg->client_cert_file, value);
    if (!strcmp(key, "imds_endpoint")) return lt_set_str(&cfg->imds_endpoint, value);
    if (!strcmp(key, "scope")) return lt_set_str(&cfg->scope, value);
    if (!strcmp(key, "ca_bundle")) return lt_set_str(&cfg->ca_bundle, value);
    if (!strcmp(key, "auth")) {
        static const char *kinds[] = {"managed_identity", "workload_identity", "client_secret", "client_certificate"};
        for (int i = 0; i < 4; i++) if (!strcmp(value, kinds[i])) { cfg->auth = i; return 0; }
        snprintf(err, errlen, "auth: expected managed_identity, workload_identity, client_secret or client_certificate, got '%s'", value);
        return -1;
    }
    if (!strcmp(key, "gzip")) {
        if (strcmp(value, "true") && strcmp(value, "false")) { snprintf(err, errlen, "gzip: expected true or false, got '%s'", value); return -1; }
        cfg->gzip = !strcmp(value, "true");
        return 0;
    }
    if (!strcmp(key, "batch_max_bytes")) { if (lt_set_num(key, value, 1024, 1000000, &n, err, errlen)) return -1; cfg->batch_max_bytes = (size_t)n; return 0; }
    if (!strcmp(key, "chunk_bytes")) { if (lt_set_num(key, value, 1024, 32768, &n, err, errlen)) return -1; cfg->chunk_bytes = (size_t)n; return 0; }
    if (!strcmp(key, "message_cap")) { if (lt_set_num(key, value, 1024, 64 << 20, &n, err, errlen)) return -1; cfg->message_cap = (size_t)n; return 0; }
    if (!strcmp(key, "flush_interval")) { if (lt_set_num(key, value, 1, 3600, &n, err, errlen)) return -1; cfg->flush_interval_s = (int)n; return 0; }
    if (!strcmp(key, "max_retry")) { if (lt_set_num(key, value, 0, 86400, &n, err, errlen)) return -1; cfg->max_retry_s = (int)n; return 0; }
    if (!strcmp(key, "retry_cap")) { if (lt_set_num(key, value, 1, 3600, &n, err, errlen)) return -1; cfg->retry_cap_s = (int)n; return 0; }
    snprintf(err, errlen, "unknown key '%s' in [upload]", key);
    return -1;
}

void lt_upload_cfg_free(lt_upload_cfg *cfg)
{
    char **s[] = {&cfg->endpoint, &cfg->dcr_immutable_id, &cfg->llm_stream, &cfg->gateway_stream, &cfg->tenant_id,
                  &cfg->client_id, &cfg->client_secret_file, &cfg->client_cert_file, &cfg->authority_host,
                  &cfg->imds_endpoint, &cfg->scope, &cfg->ca_bundle};
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) free(*s[i]);
    memset(cfg, 0, sizeof *cfg);
}
