/* auth.h -- Entra access tokens for the Logs Ingestion API, cached. */
#ifndef LT_AUTH_H
#define LT_AUTH_H

#include <stddef.h>
#include "upload_cfg.h"

typedef struct lt_auth lt_auth;

lt_auth *lt_auth_create(const lt_upload_cfg *cfg);
/* A valid bearer token (cached; refreshed before expiry or when forced),
 * or NULL with a reason in err. */
const char *lt_auth_token(lt_auth *a, int force_refresh, char *err, size_t errlen);
/* When the cached token expires (Unix seconds on llmtap's clock); 0 = none yet. */
int64_t lt_auth_expiry(const lt_auth *a);
void lt_auth_destroy(lt_auth *a);

#endif
