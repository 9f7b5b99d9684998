/* upload_cfg.c -- the [upload] section as one table (see upload_cfg.h).
 *
 * Every key, its type, range, default and description is one entry below;
 * the generic engine (common/confmap.c) parses, validates, dumps and frees.
 * Durations are stored in seconds; a bare number is seconds, as it always
 * was for flush_interval, max_retry and retry_cap. */
#include <stdio.h>
#include <string.h>
#include "upload_cfg.h"

#define AT(f) LT_CONFMAP_AT(lt_upload_cfg, f)

static const char *const lt_auth_names[] = {"managed_identity", "workload_identity", "client_secret",
                                            "client_certificate", NULL};

const lt_confmap_entry lt_upload_cfg_map[] = {
    {.key = "endpoint", .type = LT_CONFMAP_URL, .def = "", AT(endpoint), .flags = LT_CONFMAP_REQUIRED,
     .desc = "Logs Ingestion endpoint: the data collection endpoint (DCE) or the DCR's own logs ingestion "
             "endpoint, e.g. https://my-dce-abcd.eastus2-1.ingest.monitor.azure.com. Must be https://. "
             "Required by `llmtap upload` and the daemon."},
    {.key = "dcr_immutable_id", .type = LT_CONFMAP_STR, .def = "", AT(dcr_immutable_id),
     .flags = LT_CONFMAP_REQUIRED, .desc = "Immutable id of the data collection rule (dcr-...). Required."},
    {.key = "llm_stream", .type = LT_CONFMAP_STR, .def = "Custom-ApiManagementGatewayLlmLog_CL", AT(llm_stream),
     .desc = "Stream of the DCR that receives the LLM records."},
    {.key = "gateway_stream", .type = LT_CONFMAP_STR, .def = "Custom-ApiManagementGatewayLogs_CL",
     AT(gateway_stream), .desc = "Stream of the DCR that receives the gateway records."},
    {.key = "auth", .type = LT_CONFMAP_ENUM, .def = "managed_identity", AT(auth), .values = lt_auth_names,
     .desc = "How to get Entra tokens: managed_identity (IMDS, App Service IDENTITY_ENDPOINT or Azure Arc, "
             "detected), workload_identity (AZURE_FEDERATED_TOKEN_FILE), client_secret or client_certificate."},
    {.key = "tenant_id", .type = LT_CONFMAP_STR, .def = "", AT(tenant_id),
     .desc = "Entra tenant id (client_secret, client_certificate; workload_identity falls back to "
             "AZURE_TENANT_ID)."},
    {.key = "client_id", .type = LT_CONFMAP_STR, .def = "", AT(client_id),
     .desc = "Application client id, or the client id of a user-assigned managed identity."},
    {.key = "client_secret_file", .type = LT_CONFMAP_STR, .def = "", AT(client_secret_file),
     .desc = "File holding the client secret (mode 0600); the secret itself never goes in this file."},
    {.key = "client_cert_file", .type = LT_CONFMAP_STR, .def = "", AT(client_cert_file),
     .desc = "PEM file with the client certificate and its private key (client_certificate)."},
    {.key = "authority_host", .type = LT_CONFMAP_URL, .def = "https://login.microsoftonline.com",
     AT(authority_host), .desc = "Entra authority (sovereign clouds differ). Must be https://."},
    {.key = "imds_endpoint", .type = LT_CONFMAP_URL, .def = "http://169.254.169.254", AT(imds_endpoint),
     .flags = LT_CONFMAP_HTTP_OK, .desc = "Instance Metadata Service of the VM (managed_identity); http:// allowed."},
    {.key = "scope", .type = LT_CONFMAP_STR, .def = "https://monitor.azure.com/.default", AT(scope),
     .desc = "Token scope of the Logs Ingestion API."},
    {.key = "ca_bundle", .type = LT_CONFMAP_STR, .def = "", AT(ca_bundle),
     .desc = "Extra CA file (private CAs, tests); certificate verification always stays on. Empty: system CAs."},
    {.key = "gzip", .type = LT_CONFMAP_BOOL, .def = "true", AT(gzip), .desc = "gzip request bodies."},
    {.key = "batch_max_bytes", .type = LT_CONFMAP_SIZE, .def = "1000000", AT(batch_max_bytes), .lo = 1024,
     .hi = 1000000, .desc = "Largest POST body as sent (the service limit is 1 MB)."},
    {.key = "chunk_bytes", .type = LT_CONFMAP_SIZE, .def = "32K", AT(chunk_bytes), .lo = 1024, .hi = 32768,
     .desc = "RequestMessages/ResponseMessages longer than this (as JSON text) are split into chunk rows, "
             "like APIM (32K at most: the Log Analytics string column limit)."},
    {.key = "message_cap", .type = LT_CONFMAP_SIZE, .def = "2M", AT(message_cap), .lo = 1024, .hi = 64 << 20,
     .desc = "A message longer than this is cut and flagged (RequestMessagesTruncated, "
             "ResponseMessagesTruncated)."},
    {.key = "flush_interval", .type = LT_CONFMAP_DURATION, .def = "5s", AT(flush_interval_s), .lo = 1, .hi = 3600,
     .desc = "Daemon: pending records are sent at least this often."},
    {.key = "max_retry", .type = LT_CONFMAP_DURATION, .def = "10m", AT(max_retry_s), .lo = 0, .hi = 86400,
     .desc = "Back-off time after which a run gives up (records stay pending for the next run)."},
    {.key = "retry_cap", .type = LT_CONFMAP_DURATION, .def = "1m", AT(retry_cap_s), .lo = 1, .hi = 3600,
     .desc = "Longest single back-off (Retry-After is honoured up to this)."},
    {0},
};

void lt_upload_cfg_defaults(lt_upload_cfg *cfg)
{
    char err[256];
    memset(cfg, 0, sizeof *cfg);
    if (lt_confmap_defaults(lt_upload_cfg_map, cfg, err, sizeof err) < 0)
        fprintf(stderr, "llmtap: bad built-in [upload] default: %s\n", err);
}

int lt_upload_cfg_set(lt_upload_cfg *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    return lt_confmap_set(lt_upload_cfg_map, cfg, "upload", key, value, err, errlen);
}

int lt_upload_cfg_check(const lt_upload_cfg *cfg, char *err, size_t errlen)
{
    return lt_confmap_check(lt_upload_cfg_map, cfg, "upload", err, errlen);
}

void lt_upload_cfg_free(lt_upload_cfg *cfg)
{
    lt_confmap_free(lt_upload_cfg_map, cfg);
    memset(cfg, 0, sizeof *cfg);
}
