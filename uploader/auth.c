/* auth.c -- Microsoft Entra tokens for the Logs Ingestion API.
 *
 * Sources, by configuration:
 *   managed_identity   -- Azure Arc when IDENTITY_ENDPOINT and IMDS_ENDPOINT are
 *                         set (401 challenge naming a key file, then Basic auth
 *                         with its content); App Service style when
 *                         IDENTITY_ENDPOINT and IDENTITY_HEADER are set; else the
 *                         VM's IMDS endpoint (Metadata: true).
 *   workload_identity  -- the federated token in AZURE_FEDERATED_TOKEN_FILE, sent
 *                         as a client assertion to the token endpoint.
 *   client_secret      -- client credentials with a secret read from a file.
 *   client_certificate -- client credentials with a JWT assertion (RS256,
 *                         x5t#S256 header) signed with the certificate's key.
 * Tokens are cached and refreshed five minutes before they expire (or at half
 * their lifetime when shorter). No token, secret or assertion is ever logged. */
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../common/clock.h"
#include "../common/log.h"
#include "auth.h"
#include "http.h"

struct lt_auth {
    const lt_upload_cfg *cfg;
    char *token;
    time_t expires, refresh_at;
};

lt_auth *lt_auth_create(const lt_upload_cfg *cfg)
{
    lt_auth *a = calloc(1, sizeof *a);
    if (a) a->cfg = cfg;
    return a;
}

int64_t lt_auth_expiry(const lt_auth *a)
{
    return a && a->token ? (int64_t)a->expires : 0;
}

void lt_auth_destroy(lt_auth *a)
{
    if (!a) return;
    free(a->token);
    free(a);
}

static char *lt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    lt_buf b;
    lt_buf_init(&b);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) lt_buf_append(&b, tmp, n);
    fclose(f);
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r' || b.data[b.len - 1] == ' ')) b.data[--b.len] = 0;
    if (len) *len = b.len;
    if (!b.data) return strdup("");
    return (char *)b.data;
}

/* "https://monitor.azure.com/.default" -> "https://monitor.azure.com" (managed identity wants a resource). */
static char *lt_resource_of(const char *scope)
{
    size_t n = strlen(scope);
    if (n > 9 && !strcmp(scope + n - 9, "/.default")) n -= 9;
    return strndup(scope, n);
}

static char *lt_env_or(const char *env, const char *fallback)
{
    const char *v = getenv(env);
    return (v && *v) ? (char *)v : (char *)fallback;
}

/* Reads access_token and its expiry from a token response. 0 ok. */
static int lt_auth_parse(lt_auth *a, const lt_http_resp *r, char *err, size_t errlen)
{
    json_t *j = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
    const char *tok = json_string_value(json_object_get(j, "access_token"));
    if (r->status != 200 || !tok) {
        const char *e = json_string_value(json_object_get(j, "error"));
        snprintf(err, errlen, "token request failed: HTTP %d%s%s", r->status, e ? ": " : "", e ? e : "");
        json_decref(j);
        return -1;
    }
    time_t now = (time_t)lt_clock_now_s(), exp = 0;
    json_t *eo = json_object_get(j, "expires_on"), *ei = json_object_get(j, "expires_in");
    if (json_is_string(eo)) exp = (time_t)atoll(json_string_value(eo));
    else if (json_is_integer(eo)) exp = (time_t)json_integer_value(eo);
    if (!exp && json_is_string(ei)) exp = now + atoll(json_string_value(ei));
    else if (!exp && json_is_integer(ei)) exp = now + (time_t)json_integer_value(ei);
    if (!exp) exp = now + 3600;
    free(a->token);
    a->token = strdup(tok);
    a->expires = exp;
    time_t life = exp - now;
    a->refresh_at = exp - (life > 600 ? 300 : life / 2);
    json_decref(j);
    return 0;
}

static int lt_auth_get(lt_auth *a, const char *url, const char *const *hdrs, size_t nh, lt_http_resp *r)
{
    lt_http_req q = {.url = url, .headers = hdrs, .nheaders = nh, .ca_bundle = a->cfg->ca_bundle};
    return lt_http_request(&q, r);
}

static int lt_auth_managed(lt_auth *a, char *err, size_t errlen)
{
    const lt_upload_cfg *c = a->cfg;
    char *res = lt_resource_of(c->scope);
    char *eres = curl_easy_escape(NULL, res, 0);
    char url[2048], cid[512] = "";
    if (c->client_id) snprintf(cid, sizeof cid, "&client_id=%s", c->client_id);
    const char *ie = getenv("IDENTITY_ENDPOINT"), *ih = getenv("IDENTITY_HEADER"), *imds = getenv("IMDS_ENDPOINT");
    lt_http_resp r;
    int rc;
    if (ie && *ie && imds && *imds && !(ih && *ih)) { /* Azure Arc */
        snprintf(url, sizeof url, "%s?api-version=2020-06-01&resource=%s", ie, eres);
        const char *h1[] = {"Metadata: true"};
        rc = lt_auth_get(a, url, h1, 1, &r);
        if (rc == 0 && r.status == 401 && r.www_authenticate) {
            const char *realm = strstr(r.www_authenticate, "realm=");
            char *key = realm ? lt_read_file(realm + 6, NULL) : NULL;
            lt_http_resp_free(&r);
            if (!key) { snprintf(err, errlen, "Azure Arc: cannot read the challenge key file"); rc = -1; goto out; }
            char auth[4096];
            snprintf(auth, sizeof auth, "Authorization: Basic %s", key);
            free(key);
            const char *h2[] = {"Metadata: true", auth};
            rc = lt_auth_get(a, url, h2, 2, &r);
        }
    } else if (ie && *ie && ih && *ih) {          /* App Service style */
        snprintf(url, sizeof url, "%s?api-version=2019-08-01&resource=%s%s", ie, eres, cid);
        char hdr[1024];
        snprintf(hdr, sizeof hdr, "X-IDENTITY-HEADER: %s", ih);
        const char *h[] = {hdr};
        rc = lt_auth_get(a, url, h, 1, &r);
    } else {                                       /* VM: IMDS */
        snprintf(url, sizeof url, "%s/metadata/identity/oauth2/token?api-version=2018-02-01&resource=%s%s",
                 c->imds_endpoint, eres, cid);
        const char *h[] = {"Metadata: true"};
        rc = lt_auth_get(a, url, h, 1, &r);
    }
    if (rc < 0) snprintf(err, errlen, "managed identity endpoint unreachable: %s", r.error);
    else rc = lt_auth_parse(a, &r, err, errlen);
    lt_http_resp_free(&r);
out:
    curl_free(eres);
    free(res);
    return rc;
}

static void lt_b64url(const unsigned char *in, size_t n, lt_buf *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        char c[4] = {t[v >> 18 & 63], t[v >> 12 & 63], t[v >> 6 & 63], t[v & 63]};
        lt_buf_append(out, c, i + 2 < n ? 4 : i + 1 < n ? 3 : 2);
    }
}

/* A client assertion JWT (RS256) for the token endpoint `aud`. */
static char *lt_auth_cert_assertion(const lt_upload_cfg *c, const char *aud, char *err, size_t errlen)
{
    FILE *f = fopen(c->client_cert_file, "r");
    if (!f) { snprintf(err, errlen, "cannot read client_cert_file %s", c->client_cert_file); return NULL; }
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    rewind(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    char *jwt = NULL;
    if (!x || !k) { snprintf(err, errlen, "client_cert_file needs a PEM certificate and private key"); goto out; }
    unsigned char der_hash[32];
    unsigned int hl = 32;
    X509_digest(x, EVP_sha256(), der_hash, &hl);
    lt_buf thumb, b;
    lt_buf_init(&thumb);
    lt_buf_init(&b);
    lt_b64url(der_hash, hl, &thumb);
    unsigned char rnd[16];
    RAND_bytes(rnd, sizeof rnd);
    char jti[40];
    for (int i = 0; i < 16; i++) snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
    long now = (long)lt_clock_now_s();
    json_t *h = json_pack("{s:s,s:s,s:s%}", "alg", "RS256", "typ", "JWT", "x5t#S256", (const char *)thumb.data, thumb.len);
    json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "aud", aud, "iss", c->client_id, "sub", c->client_id,
                          "jti", jti, "nbf", (json_int_t)now, "iat", (json_int_t)now, "exp", (json_int_t)(now + 600));
    char *hs = json_dumps(h, JSON_COMPACT), *ps = json_dumps(p, JSON_COMPACT);
    lt_b64url((unsigned char *)hs, strlen(hs), &b);
    lt_buf_append(&b, ".", 1);
    lt_b64url((unsigned char *)ps, strlen(ps), &b);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t siglen = 0;
    unsigned char *sig = NULL;
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
        EVP_DigestSign(md, NULL, &siglen, b.data, b.len) == 1 && (sig = malloc(siglen)) &&
        EVP_DigestSign(md, sig, &siglen, b.data, b.len) == 1) {
        lt_buf_append(&b, ".", 1);
        lt_b64url(sig, siglen, &b);
        jwt = strdup((const char *)b.data);
    } else {
        snprintf(err, errlen, "signing the client assertion failed");
    }
    free(sig);
    EVP_MD_CTX_free(md);
    free(hs);
    free(ps);
    json_decref(h);
    json_decref(p);
    lt_buf_free(&thumb);
    lt_buf_free(&b);
out:
    X509_free(x);
    EVP_PKEY_free(k);
    return jwt;
}

/* Client credentials grant (secret, certificate or federated assertion). */
static int lt_auth_client_credentials(lt_auth *a, char *err, size_t errlen)
{
    const lt_upload_cfg *c = a->cfg;
    const char *tenant = c->tenant_id ? c->tenant_id : getenv("AZURE_TENANT_ID");
    const char *client = c->client_id ? c->client_id : getenv("AZURE_CLIENT_ID");
    const char *authority = lt_env_or("AZURE_AUTHORITY_HOST", c->authority_host);
    if (!tenant || !client) { snprintf(err, errlen, "tenant_id and client_id are required for %s", "client credentials"); return -1; }
    char url[1024];
    size_t al = strlen(authority);
    snprintf(url, sizeof url, "%.*s/%s/oauth2/v2.0/token", (int)(al && authority[al - 1] == '/' ? al - 1 : al), authority, tenant);
    char *secret = NULL, *assertion = NULL;
    if (c->auth == LT_AUTH_CLIENT_SECRET) {
        secret = c->client_secret_file ? lt_read_file(c->client_secret_file, NULL) : NULL;
        if (!secret) { snprintf(err, errlen, "cannot read client_secret_file"); return -1; }
    } else if (c->auth == LT_AUTH_WORKLOAD_IDENTITY) {
        const char *file = getenv("AZURE_FEDERATED_TOKEN_FILE");
        assertion = file ? lt_read_file(file, NULL) : NULL;
        if (!assertion) { snprintf(err, errlen, "AZURE_FEDERATED_TOKEN_FILE is not set or not readable"); return -1; }
    } else {
        lt_upload_cfg tmp = *c;
        tmp.client_id = (char *)client;
        assertion = lt_auth_cert_assertion(&tmp, url, err, errlen);
        if (!assertion) return -1;
    }
    char *ecl = curl_easy_escape(NULL, client, 0), *esc = curl_easy_escape(NULL, c->scope, 0);
    char *ecred = curl_easy_escape(NULL, secret ? secret : assertion, 0);
    lt_buf body;
    lt_buf_init(&body);
    char head[2048];
    int n = snprintf(head, sizeof head, "grant_type=client_credentials&client_id=%s&scope=%s&", ecl, esc);
    lt_buf_append(&body, head, (size_t)n);
    static const char secret_key[] = "client_secret=";
    static const char assertion_keys[] =
        "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=";
    if (secret) lt_buf_append(&body, secret_key, sizeof secret_key - 1);
    else lt_buf_append(&body, assertion_keys, sizeof assertion_keys - 1);
    lt_buf_append(&body, ecred, strlen(ecred));
    const char *h[] = {"Content-Type: application/x-www-form-urlencoded"};
    lt_http_req q = {.url = url, .headers = h, .nheaders = 1, .body = body.data, .body_len = body.len, .ca_bundle = c->ca_bundle};
    lt_http_resp r;
    int rc = lt_http_request(&q, &r);
    if (rc < 0) snprintf(err, errlen, "token endpoint unreachable: %s", r.error);
    else rc = lt_auth_parse(a, &r, err, errlen);
    lt_http_resp_free(&r);
    lt_buf_free(&body);
    curl_free(ecl);
    curl_free(esc);
    curl_free(ecred);
    free(secret);
    free(assertion);
    return rc;
}

const char *lt_auth_token(lt_auth *a, int force_refresh, char *err, size_t errlen)
{
    time_t now = lt_clock_now_s();
    if (a->token && !force_refresh && now < a->refresh_at) return a->token;
    int rc = a->cfg->auth == LT_AUTH_MANAGED_IDENTITY ? lt_auth_managed(a, err, errlen)
                                                      : lt_auth_client_credentials(a, err, errlen);
    if (rc < 0) {
        if (a->token && now < a->expires - 30) return a->token; /* the old one is still valid */
        return NULL;
    }
    lt_info("auth: new token, valid for %lds", (long)(a->expires - now));
    return a->token;
}
