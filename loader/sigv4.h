/* sigv4.h - AWS Signature Version 4 (header-based), over crypto (OpenSSL).
 *
 * Pure computation, no I/O: the caller supplies the whole request (method,
 * path, query, headers, payload) and the time, and gets the canonical
 * request, the string to sign and the Authorization header value. The
 * secret key and the derived signing keys are wiped after use; nothing this
 * module returns contains the secret (the signature is derived from it and
 * must not be logged either).
 *
 * Canonical request (AWS's rules, checked by tests/unit/test_sigv4.c against
 * AWS's published test suite):
 *   - path: dot segments removed and repeated slashes collapsed, then every
 *     byte but the RFC 3986 unreserved characters and '/' percent-encoded
 *     (the path is given decoded, e.g. "/example space/");
 *   - query: "a=b&c" split on '&', each name and value percent-encoded
 *     (given decoded), sorted by name then value, a missing value is "";
 *   - headers: names lower-cased, values trimmed and runs of spaces
 *     collapsed, repeated names joined with ',' in order, sorted by name;
 *     every header given is signed.
 */
#ifndef ML_SIGV4_H
#define ML_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "buf.h"

#define SIGV4_DATE_LEN 17 /* "YYYYMMDDThhmmssZ" + NUL */

struct sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key; /* secret */
    const char *session_token;     /* secret; NULL or "" when none */
};

struct sigv4_request {
    const char *method;         /* "GET", "POST" */
    const char *path;           /* decoded absolute path, e.g. "/" */
    const char *query;          /* decoded "a=b&c=d" without '?'; NULL or "" when none */
    const char *const *headers; /* "Name:value" strings; must include Host and X-Amz-Date */
    size_t nheaders;
    const void *payload; /* may be NULL when payload_len is 0 */
    size_t payload_len;
    const char *region;   /* e.g. "us-east-1" */
    const char *service;  /* e.g. "sqs" */
    const char *amz_date; /* "YYYYMMDDThhmmssZ", the value of the X-Amz-Date header */
};

/* The X-Amz-Date text of `t` (UTC). */
void sigv4_amz_date(time_t t, char out[SIGV4_DATE_LEN]);

/* Appends the canonical request to `creq` and the signed-header list
 * ("host;x-amz-date") to `signed_headers`. ML_EINVAL when a header has no
 * ':' or the date is malformed; ML_ENOMEM. */
int sigv4_canonical_request(const struct sigv4_request *r, struct buf *creq,
                            struct buf *signed_headers);

/* Appends the string to sign for a canonical request. */
int sigv4_string_to_sign(const struct sigv4_request *r, const char *creq, size_t creq_len,
                         struct buf *sts);

/* Appends the value of the Authorization header:
 * "AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/<service>/aws4_request,
 *  SignedHeaders=<list>, Signature=<hex>". When the credentials carry a
 * session token the caller must have included "X-Amz-Security-Token:<token>"
 * among the headers. ML_EINVAL when a credential
 * is missing; ML_ECRYPTO; ML_ENOMEM. */
int sigv4_authorization(const struct sigv4_request *r, const struct sigv4_credentials *cred,
                        struct buf *authz);

#endif
