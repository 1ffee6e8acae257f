/* http.h - HTTP GET over libcurl; the only module that sees libcurl.
 *
 * TLS peer and host verification are always on. Bodies are capped (a larger
 * body fails with ML_ETOOBIG). http_global_init() must be called once by main
 * before any thread starts.
 */
#ifndef ML_HTTP_H
#define ML_HTTP_H

#include <stddef.h>

#include "buf.h"

struct http_client;

struct http_options {
    unsigned connect_timeout_s; /* 0 = 10 s */
    unsigned timeout_s;         /* whole request, 0 = 60 s */
    unsigned low_speed_bytes;   /* abort below this many bytes/s ... (0 = 1) */
    unsigned low_speed_time_s;  /* ... for this long (0 = 30 s) */
    size_t max_body;            /* 0 = 256 MiB */
    const char *ca_file;        /* NULL = system store */
    const char *user_agent;     /* NULL = "maskload/<version>" */
    /* Credentials of every GET (http_post takes its own headers). Borrowed:
     * they must outlive the client. Never logged nor put in a message. A
     * client with any of them follows no redirect (a 3xx is the response),
     * so they reach no other host. */
    const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
    const char *basic_user;     /* HTTP basic auth when non-NULL, with basic_password */
    const char *basic_password;
};

/* Why a request got no usable response, for callers that retry (retry.h). */
enum http_failure {
    HTTP_FAIL_NONE = 0,  /* a response was received, whatever its status */
    HTTP_FAIL_CONNECT,   /* name resolution or connection failed */
    HTTP_FAIL_TIMEOUT,   /* connect, whole-request or low-speed timeout */
    HTTP_FAIL_NETWORK,   /* reset, empty reply, send/receive error, TLS handshake */
    HTTP_FAIL_TRUNCATED, /* the body ended before its Content-Length */
    HTTP_FAIL_PERMANENT, /* retrying cannot help: bad URL, TLS verification, body too big */
};

struct http_response {
    long status;               /* HTTP status, 0 when no response was received */
    enum http_failure failure; /* HTTP_FAIL_NONE unless the call failed */
    struct buf body;           /* owned; NUL-terminated */
    char *content_type;        /* owned; may be NULL */
    char *retry_after;         /* owned; value of Retry-After, may be NULL */
};

int http_global_init(void);
void http_global_cleanup(void);

/* Creates a client (keeps connections alive between requests). ML_ENOMEM. */
int http_client_new(const struct http_options *opt, struct http_client **out);
void http_client_free(struct http_client *c);

/* GETs `url` into `resp` (initialised by this call; release with
 * http_response_release even on failure). Returns 0 when a response was
 * received, whatever its status; ML_EHTTP on transport failure (message
 * names the URL as http_url_redact shows it, and curl's reason); ML_ETOOBIG when the body exceeds
 * max_body. On failure resp->failure says which kind (never HTTP_FAIL_NONE). */
int http_get(struct http_client *c, const char *url, struct http_response *resp);

/* POSTs `len` bytes of `body` to `url` with the extra request headers
 * `headers` ("Name: value" strings, NULL-terminated; may be NULL). Redirects
 * are not followed. Results and errors as http_get; messages name the URL,
 * never a header (headers may carry credentials). */
int http_post(struct http_client *c, const char *url, const char *const *headers, const void *body,
              size_t len, struct http_response *resp);

void http_response_release(struct http_response *resp);

/* Appends `s` percent-encoded (RFC 3986 unreserved characters kept). */
int http_url_escape(struct buf *out, const char *s);

/* Appends `url` as it may be shown: in a log line, an error message or a
 * table. The userinfo ("user:pass@") becomes "***@", the value of every
 * query parameter becomes "***" (a parameter without '=' becomes "***"),
 * and a fragment becomes "#***". Kept as they are: the scheme, host, port,
 * path, the parameter names, and the values of the pagination parameters
 * `page` and `limit` (the loader's own, never secret). Every URL that leaves
 * the http module or a source goes through this. Returns 0 or a buf error
 * (then `out` may hold part of the text). */
int http_url_redact(const char *url, struct buf *out);

#endif
