/* aoai_path.c -- which Azure OpenAI operation a request is, from its path.
 *
 * The "/openai/" segment anchors the match, so gateways that add a prefix
 * (/eastus2/openai/deployments/...) are understood. Classic paths carry the
 * deployment (/openai/deployments/{name}/chat/completions); the v1 surface
 * (/openai/v1/chat/completions) and plain OpenAI-compatible paths
 * (/v1/chat/completions) carry it in the body's "model" instead. Operation
 * names follow the Azure OpenAI REST operation ids. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "aoai.h"

typedef struct lt_aoai_route {
    const char *suffix;   /* path after the deployment (or after /v1) */
    int op;
    const char *create;   /* operation id for POST */
} lt_aoai_route;

static const lt_aoai_route lt_aoai_routes[] = {
    {"/chat/completions", LT_AOAI_CHAT, "ChatCompletions_Create"},
    {"/completions", LT_AOAI_COMPLETIONS, "Completions_Create"},
    {"/embeddings", LT_AOAI_EMBEDDINGS, "Embeddings_Create"},
    {"/responses", LT_AOAI_RESPONSES, "Responses_Create"},
    {"/images/generations", LT_AOAI_IMAGES, "ImageGenerations_Create"},
    {"/images/edits", LT_AOAI_IMAGES, "ImageEdits_Create"},
    {"/audio/transcriptions", LT_AOAI_AUDIO, "AudioTranscriptions_Create"},
    {"/audio/translations", LT_AOAI_AUDIO, "AudioTranslations_Create"},
    {"/audio/speech", LT_AOAI_AUDIO, "AudioSpeech_Create"},
};

static void lt_aoai_query_param(const char *q, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    out[0] = 0;
    for (const char *p = q; p && *p;) {
        if (!strncmp(p, name, nl) && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t n = strcspn(v, "&#");
            if (n >= outlen) n = outlen - 1;
            memcpy(out, v, n);
            out[n] = 0;
            return;
        }
        p = strchr(p, '&');
        if (p) p++;
    }
}

/* Operation name for an unknown /openai/... call: "GET /openai/files" → Files_List style. */
static void lt_aoai_other_name(const char *method, const char *rest, size_t restlen, char *out, size_t outlen)
{
    char seg[48] = "";
    const char *p = rest;
    while (p < rest + restlen && *p == '/') p++;
    if (!strncmp(p, "v1/", 3)) p += 3;
    size_t n = strcspn(p, "/?");
    if (n > (size_t)(rest + restlen - p)) n = (size_t)(rest + restlen - p);
    if (n >= sizeof seg) n = sizeof seg - 1;
    memcpy(seg, p, n);
    seg[n] = 0;
    if (seg[0] >= 'a' && seg[0] <= 'z') seg[0] = (char)(seg[0] - 'a' + 'A');
    for (char *c = seg; *c; c++) if (*c == '_' || *c == '-' || *c == '.') *c = '_';
    int has_id = p + n < rest + restlen && p[n] == '/';
    const char *verb = !strcmp(method, "GET") ? (has_id ? "Get" : "List")
                     : !strcmp(method, "POST") ? "Create"
                     : !strcmp(method, "DELETE") ? "Delete" : method;
    snprintf(out, outlen, "%s_%s", seg[0] ? seg : "Openai", verb);
}

static int lt_aoai_match_route(const char *method, const char *s, size_t n, lt_aoai_call *out)
{
    for (size_t i = 0; i < sizeof lt_aoai_routes / sizeof *lt_aoai_routes; i++) {
        const lt_aoai_route *r = &lt_aoai_routes[i];
        size_t l = strlen(r->suffix);
        if (n == l && !memcmp(s, r->suffix, l)) {
            out->op = r->op;
            snprintf(out->operation, sizeof out->operation, "%s", strcmp(method, "POST") ? method : r->create);
            if (strcmp(method, "POST") && r->op == LT_AOAI_RESPONSES) snprintf(out->operation, sizeof out->operation, "Responses_List");
            return 1;
        }
        /* /responses/{id} (GET, DELETE) */
        if (r->op == LT_AOAI_RESPONSES && n > l + 1 && !memcmp(s, r->suffix, l) && s[l] == '/') {
            out->op = LT_AOAI_RESPONSES;
            snprintf(out->operation, sizeof out->operation, "Responses_%s",
                     !strcmp(method, "DELETE") ? "Delete" : !strcmp(method, "GET") ? "Get" : "Cancel");
            return 1;
        }
    }
    return 0;
}

int lt_aoai_classify(const char *method, const char *target, lt_aoai_call *out)
{
    memset(out, 0, sizeof *out);
    if (!method || !target) return 0;
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    if (q) lt_aoai_query_param(q + 1, "api-version", out->api_version, sizeof out->api_version);
    const char *oa = NULL;
    for (const char *p = target; p < target + plen; p++) {
        if (!strncmp(p, "/openai/", 8) || (!strncmp(p, "/openai", 7) && p + 7 == target + plen)) { oa = p; break; }
    }
    const char *rest;
    size_t rlen;
    if (oa) {
        rest = oa + 7;
        rlen = (size_t)(target + plen - rest);
        if (rlen >= 13 && !strncmp(rest, "/deployments/", 13)) {
            const char *d = rest + 13;
            size_t dl = strcspn(d, "/?");
            if (dl > (size_t)(target + plen - d)) dl = (size_t)(target + plen - d);
            if (dl >= sizeof out->deployment) dl = sizeof out->deployment - 1;
            memcpy(out->deployment, d, dl);
            out->deployment[dl] = 0;
            if (lt_aoai_match_route(method, d + dl, (size_t)(target + plen - d - dl), out)) return 1;
        } else if (rlen >= 3 && !strncmp(rest, "/v1", 3) && (rlen == 3 || rest[3] == '/')) {
            out->v1 = 1;
            if (lt_aoai_match_route(method, rest + 3, rlen - 3, out)) return 1;
        } else if (lt_aoai_match_route(method, rest, rlen, out)) {
            return 1; /* legacy /openai/responses */
        }
        out->op = LT_AOAI_OTHER;
        lt_aoai_other_name(method, rest, rlen, out->operation, sizeof out->operation);
        return 1;
    }
    if (plen >= 3 && !strncmp(target, "/v1/", 4)) {
        out->v1 = 1;
        if (lt_aoai_match_route(method, target + 3, plen - 3, out)) return 1;
    }
    return 0;
}

const char *lt_aoai_api_id(const lt_aoai_call *call)
{
    return call && call->op ? "azure-openai" : NULL;
}
