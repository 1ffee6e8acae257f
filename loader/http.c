#include "http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "version.h"
#include "banned.h"

struct http_client {
    CURL *curl;
    struct http_options opt;
    struct curl_slist *get_headers; /* opt.headers, built once; wiped on free */
    char errbuf[CURL_ERROR_SIZE];
};

/* The slist's strings may hold credentials. */
static void slist_wipe_free(struct curl_slist *list)
{
    for (struct curl_slist *n = list; n; n = n->next)
        mem_wipe(n->data, strlen(n->data));
    curl_slist_free_all(list);
}

int http_global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return err_set(ML_EHTTP, "libcurl initialisation failed");
    return 0;
}

void http_global_cleanup(void)
{
    curl_global_cleanup();
}

int http_client_new(const struct http_options *opt, struct http_client **out)
{
    struct http_client *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (!c)
        return err_set(ML_ENOMEM, "out of memory creating http client");
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return err_set(ML_ENOMEM, "curl_easy_init failed");
    }
    if (opt)
        c->opt = *opt;
    if (!c->opt.connect_timeout_s)
        c->opt.connect_timeout_s = 10;
    if (!c->opt.timeout_s)
        c->opt.timeout_s = 60;
    if (!c->opt.low_speed_bytes)
        c->opt.low_speed_bytes = 1;
    if (!c->opt.low_speed_time_s)
        c->opt.low_speed_time_s = 30;
    if (!c->opt.max_body)
        c->opt.max_body = (size_t)256 << 20;
    for (size_t i = 0; c->opt.headers && c->opt.headers[i]; i++) {
        struct curl_slist *n = curl_slist_append(c->get_headers, c->opt.headers[i]);
        if (!n) {
            http_client_free(c);
            return err_set(ML_ENOMEM, "out of memory creating http client");
        }
        c->get_headers = n;
    }
    *out = c;
    return 0;
}

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    slist_wipe_free(c->get_headers);
    free(c);
}

struct body_sink {
    struct buf *body;
    int rc; /* first buf error, 0 when none */
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct body_sink *sink = userp;
    size_t n = size * nmemb;
    int rc = buf_add(sink->body, data, n);
    if (rc) {
        sink->rc = rc;
        return 0; /* too big or out of memory: makes curl fail the transfer */
    }
    return n;
}

static char *dup_trimmed(const char *p, size_t n)
{
    while (n && isspace((unsigned char)*p)) {
        p++;
        n--;
    }
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct http_response *r = userp;
    size_t n = size * nmemb;
    static const char ra[] = "retry-after:";
    if (n > sizeof(ra) - 1 && strncasecmp(data, ra, sizeof(ra) - 1) == 0) {
        free(r->retry_after);
        r->retry_after = dup_trimmed(data + sizeof(ra) - 1, n - (sizeof(ra) - 1));
    }
    return n;
}

/* The retry class of a failed transfer. */
static enum http_failure failure_class(CURLcode cc)
{
    switch (cc) {
    case CURLE_OK:
        return HTTP_FAIL_NONE;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return HTTP_FAIL_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_FAIL_TIMEOUT;
    case CURLE_PARTIAL_FILE:
        return HTTP_FAIL_TRUNCATED;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return HTTP_FAIL_NETWORK;
    default:
        return HTTP_FAIL_PERMANENT;
    }
}

/* Options every request shares: TLS verification on, timeouts, body and
 * header sinks. */
static void set_common(struct http_client *c, struct body_sink *sink, struct http_response *resp)
{
    CURL *h = c->curl;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->opt.ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->opt.ca_file);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)c->opt.connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)c->opt.timeout_s);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)c->opt.low_speed_bytes);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)c->opt.low_speed_time_s);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_USERAGENT,
                     c->opt.user_agent ? c->opt.user_agent : "maskload/" MASKLOAD_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
}

/* Status, failure class and content type of a finished transfer; the error
 * message names the method and URL. */
static int finish(struct http_client *c, CURLcode cc, const char *method, const char *url,
                  const struct body_sink *sink, struct http_response *resp)
{
    char *ctype = NULL;
    struct buf shown = BUF_INIT;
    int rc = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->failure = failure_class(cc);
    if (cc != CURLE_OK && http_url_redact(url, &shown))
        buf_reset(&shown); /* out of memory: name no URL rather than the secret one */
    if (cc == CURLE_WRITE_ERROR && sink->rc == ML_ETOOBIG)
        rc = err_set(ML_ETOOBIG, "%s '%s': response body exceeds %zu bytes", method, shown.data,
                     resp->body.max);
    else if (cc == CURLE_WRITE_ERROR && sink->rc)
        rc = err_set(sink->rc, "%s '%s': out of memory reading the body", method, shown.data);
    else if (cc != CURLE_OK)
        rc = err_set(ML_EHTTP, "%s '%s': %s", method, shown.data,
                     c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
    buf_release(&shown);
    if (rc)
        return rc;
    if (curl_easy_getinfo(c->curl, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype)
        resp->content_type = dup_trimmed(ctype, strlen(ctype));
    return 0;
}

int http_get(struct http_client *c, const char *url, struct http_response *resp)
{
    CURL *h = c->curl;
    CURLcode cc;
    struct body_sink sink = {&resp->body, 0};

    memset(resp, 0, sizeof(*resp));
    buf_init(&resp->body, c->opt.max_body);
    c->errbuf[0] = '\0';

    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    /* curl would send custom headers (all but Authorization and Cookie) to
     * any host a redirect names: with credentials, redirects are answers */
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, c->get_headers || c->opt.basic_user ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    if (c->get_headers)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->get_headers);
    if (c->opt.basic_user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->opt.basic_user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->opt.basic_password ? c->opt.basic_password : "");
    }
    set_common(c, &sink, resp);

    cc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    return finish(c, cc, "GET", url, &sink, resp);
}

int http_post(struct http_client *c, const char *url, const char *const *headers, const void *body,
              size_t len, struct http_response *resp)
{
    CURL *h = c->curl;
    CURLcode cc;
    struct curl_slist *list = NULL;
    struct body_sink sink = {&resp->body, 0};

    memset(resp, 0, sizeof(*resp));
    buf_init(&resp->body, c->opt.max_body);
    c->errbuf[0] = '\0';
    for (size_t i = 0; headers && headers[i]; i++) {
        struct curl_slist *n = curl_slist_append(list, headers[i]);
        if (!n) {
            slist_wipe_free(list);
            return err_set(ML_ENOMEM, "POST: out of memory building headers");
        }
        list = n;
    }
    /* no "Expect: 100-continue" round trip for small bodies */
    {
        struct curl_slist *n = curl_slist_append(list, "Expect:");
        if (!n) {
            slist_wipe_free(list);
            return err_set(ML_ENOMEM, "POST: out of memory building headers");
        }
        list = n;
    }

    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    set_common(c, &sink, resp);

    cc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    slist_wipe_free(list); /* may hold a session token */
    return finish(c, cc, "POST", url, &sink, resp);
}

void http_response_release(struct http_response *resp)
{
    buf_release(&resp->body);
    free(resp->content_type);
    free(resp->retry_after);
    resp->content_type = NULL;
    resp->retry_after = NULL;
}

int http_url_escape(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; !rc && *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            rc = buf_addc(out, (char)*p);
        } else {
            char e[4] = {'%', hex[*p >> 4], hex[*p & 15], 0};
            rc = buf_adds(out, e);
        }
    }
    return rc;
}

/* Whether the query parameter `name` (n bytes) keeps its value `v` (vn
 * bytes) when shown: page and limit, when they are numbers. */
static int param_shown(const char *name, size_t n, const char *v, size_t vn)
{
    int paging =
        (n == 4 && strncmp(name, "page", 4) == 0) || (n == 5 && strncmp(name, "limit", 5) == 0);
    for (size_t i = 0; paging && i < vn; i++)
        paging = v[i] >= '0' && v[i] <= '9';
    return paging;
}

int http_url_redact(const char *url, struct buf *out)
{
    const char *p = url, *end;
    const char *scheme = strstr(url, "://");
    int rc = 0;
    if (scheme && (size_t)(scheme - url) < strcspn(url, "/?#")) {
        /* authority: up to the first '/', '?' or '#'; userinfo before its last '@' */
        const char *auth = scheme + 3;
        size_t alen = strcspn(auth, "/?#");
        const char *at = NULL;
        for (const char *q = auth; q < auth + alen; q++)
            if (*q == '@')
                at = q;
        rc = buf_add(out, url, (size_t)(auth - url));
        if (!rc && at)
            rc = buf_adds(out, "***");
        p = at ? at : auth;
    }
    end = p + strcspn(p, "?#");
    if (!rc)
        rc = buf_add(out, p, (size_t)(end - p));
    p = end;
    if (!rc && *p == '?') {
        rc = buf_addc(out, '?');
        p++;
        while (!rc && *p && *p != '#') {
            size_t n = strcspn(p, "&#");
            size_t klen = strcspn(p, "=&#");
            if (klen < n) { /* name=value */
                rc = buf_add(out, p, klen + 1);
                if (!rc)
                    rc = param_shown(p, klen, p + klen + 1, n - klen - 1)
                             ? buf_add(out, p + klen + 1, n - klen - 1)
                             : buf_adds(out, "***");
            } else if (n) {
                rc = buf_adds(out, "***");
            }
            p += n;
            if (!rc && *p == '&') {
                rc = buf_addc(out, '&');
                p++;
            }
        }
    }
    if (!rc && *p == '#')
        rc = buf_adds(out, p[1] ? "#***" : "#");
    return rc;
}
