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
};

struct http_response {
    long status;        /* HTTP status, 0 when no response was received */
    struct buf body;    /* owned; NUL-terminated */
    char *content_type; /* owned; may be NULL */
    char *retry_after;  /* owned; value of Retry-After, may be NULL */
};

int http_global_init(void);
void http_global_cleanup(void);

/* Creates a client (keeps connections alive between requests). ML_ENOMEM. */
int http_client_new(const struct http_options *opt, struct http_client **out);
void http_client_free(struct http_client *c);

/* GETs `url` into `resp` (initialised by this call; release with
 * http_response_release even on failure). Returns 0 when a response was
 * received, whatever its status; ML_EHTTP on transport failure (message
 * names the URL and curl's reason); ML_ETOOBIG when the body exceeds max_body. */
int http_get(struct http_client *c, const char *url, struct http_response *resp);

void http_response_release(struct http_response *resp);

/* Appends `s` percent-encoded (RFC 3986 unreserved characters kept). */
int http_url_escape(struct buf *out, const char *s);

#endif
