/* config.h -- /etc/llmtap/llmtap.conf, the one human-edited configuration.
 *
 * INI format read with inih. Every section is one table of keys
 * (common/confmap.h: key, type, default, offset into the settings struct,
 * one-line description), declared next to the struct it fills: [capture],
 * [records], [store], [agent], [metrics] and [log] in agent/config.c,
 * [upload] in uploader/upload_cfg.c. The parser, the defaults, the
 * validation, `llmtap config --dump` and the shipped packaging/llmtap.conf
 * (`llmtap config --template`) all come from those tables.
 *
 * Errors are reported as "FILE:LINE: reason": an unknown section, an unknown
 * key ("unknown key 'x' in [capture]"), a bad value, an indented line (inih
 * would append it to the previous value). A key given twice in a section:
 * the last one wins (an override appended to a file works).
 * Command-line flags override the file.
 *
 * Sections [proxy] and [backend.NAME] (inline mode) belong to proxy/: it
 * registers an lt_config_hook once at start-up, before loading; every key of
 * those sections is handed to the hook (which can fill its own struct, kept
 * in lt_config.proxy, with lt_confmap_set(): the same engine, types and error
 * messages). Without a hook they are unknown sections. The hook's dump and
 * template callbacks add its sections to `llmtap config --dump/--template`,
 * so packaging/llmtap.conf documents them too once the hook is registered
 * in main(). */
#ifndef LT_CONFIG_H
#define LT_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include "../common/confmap.h"
#include "../store/spool.h"
#include "../uploader/upload_cfg.h"
#include "../capture/pipeline.h"

#define LT_CONFIG_DEFAULT_PATH "/etc/llmtap/llmtap.conf"

/* [agent]: the live daemon. */
typedef struct lt_agent_cfg {
    char *user;                 /* drop privileges to this user after opening captures ("llmtap") */
    char *socket;               /* control socket for `llmtap status` ("/run/llmtap/llmtap.sock") */
    int shutdown_deadline_ms;   /* on SIGTERM: time left for the last upload attempt (10 s) */
    int queue_max;              /* records waiting for the spool writer (10000) */
} lt_agent_cfg;

/* [metrics]: Prometheus-style endpoint. */
typedef struct lt_metrics_cfg {
    char *listen;               /* "127.0.0.1:9109"; NULL (empty) = off */
} lt_metrics_cfg;

typedef struct lt_config {
    /* [capture] */
    char **interfaces;          /* malloc'd array of n_interfaces strings ("interface = eth1, eth2") */
    size_t n_interfaces;        /* 0 = none configured */
    char *bpf_filter;           /* key "filter"; NULL = everything TCP */
    int snaplen;                /* bytes captured per packet (262144) */
    size_t buffer_size;         /* kernel capture ring per interface (64M) */
    int workers;                /* capture worker threads, 1..64 (1) */
    lt_pipeline_cfg pipeline;   /* also [records] (pipeline.record) */
    /* [store] */
    char *db_path;              /* key "path" */
    lt_spool_limits spool;
    /* [upload] */
    lt_upload_cfg upload;
    /* [agent], [metrics] */
    lt_agent_cfg agent;
    lt_metrics_cfg metrics;
    /* [log] */
    int log_level;              /* enum lt_log_level */
    /* owned by the registered lt_config_hook (proxy/), freed by its free() */
    void *proxy;
} lt_config;

/* Extra sections handled outside agent/ (see the header comment). */
typedef struct lt_config_hook {
    /* 1 if the hook owns this section name ("proxy", "backend.NAME"). */
    int (*owns)(const char *section);
    /* Sets one key: 0 ok, -1 with a reason in err (no FILE:LINE, the caller adds it). */
    int (*set)(lt_config *cfg, const char *section, const char *key, const char *value, char *err, size_t errlen);
    /* Writes its sections as llmtap.conf text (for --dump); may be NULL. */
    void (*dump)(const lt_config *cfg, FILE *out);
    /* Frees cfg->proxy; may be NULL. */
    void (*free)(lt_config *cfg);
    /* Writes its sections, documented with defaults, for the template
     * (lt_confmap_template does it for a table); may be NULL. */
    void (*template)(FILE *out);
} lt_config_hook;

/* Registers the one hook (NULL unregisters); the struct must outlive its use. */
void lt_config_hook_register(const lt_config_hook *hook);

void lt_config_defaults(lt_config *cfg);
/* Loads path over the current values. 0 ok; -1 with "path:line: reason" in err. */
int lt_config_load(lt_config *cfg, const char *path, char *err, size_t errlen);
/* Defaults, then path if given, else the default file if it exists. */
int lt_config_load_default(lt_config *cfg, const char *path, char *err, size_t errlen);
void lt_config_free(lt_config *cfg);

/* The section tables, in file order (for tests and tools). */
const lt_confmap_section *lt_config_sections(size_t *n);

/* Effective settings as a loadable llmtap.conf: every key, secrets as ***. */
void lt_config_dump(const lt_config *cfg, FILE *out);
/* The documented llmtap.conf (packaging/llmtap.conf): every key commented
 * out with its description and default. */
void lt_config_template(FILE *out);

#endif
