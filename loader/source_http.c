/* source_http.c - paginated JSON API source (`kind: http`).
 *
 * Walks `<base_url><path>?<params>&page=N&limit=M` from page 1 until a page is an
 * empty array (the seed API's contract). `max_pages` bounds the walk.
 *
 * Every page must come back as HTTP 200 with a JSON array of at most `limit`
 * elements. Each page is fetched under the source's retry policy (retry.h):
 * connection failures, timeouts, resets, truncated bodies, a body that is
 * not a JSON array at all (an HTML error page, a cut text), 429 and 5xx are
 * tried again after a jittered exponential backoff (or the server's clamped
 * Retry-After); the same invalid body twice in a row stops the retries (it
 * would come back every time); any other status, and a page larger than
 * `limit`, fail at once. Records that are bad inside an intact array are
 * not the page's failure: the loader rejects them one by one. The final failure
 * names the URL, the page number and what was wrong; each retry is logged
 * as a warning. A signal during a wait ends the walk with an error.
 *
 * Credentials (`headers`, `auth`, `params` values) are sent with every GET
 * and appear nowhere else: every URL that is logged, put in a message or
 * handed out as a page's ref (load_rejects.source_ref) is the one
 * http_url_redact shows.
 */
#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "crypto.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "retry.h"
#include "banned.h"

struct http_source {
    struct http_client *http;
    struct buf base;       /* base_url + path + '?' or '&' + params, as sent (secret) */
    struct buf base_shown; /* base, redacted */
    struct buf url;        /* current page URL, as sent (secret) */
    struct buf shown;      /* url, redacted: the one logged, in messages and refs */
    char *bearer;          /* "Authorization: Bearer <token>" (secret), or NULL */
    const char **headers;  /* the source's headers (borrowed) + bearer, NULL-terminated */
    struct buf why;        /* what went wrong with the last attempt */
    struct buf last_bad;   /* why of the last invalid body of this page */
    unsigned page_size;
    unsigned max_pages;
    struct retry_policy policy;
    uint64_t rng;       /* jitter state */
    unsigned long page; /* pages fetched so far */
    bool done;
    /* SHA-256 of the last page's body and of the one before this one: a page
     * equal to the previous one means an API that ignores `page` */
    unsigned char body_digest[CRYPTO_DIGEST_LEN], prev_digest[CRYPTO_DIGEST_LEN];
    bool have_prev;
};

static int http_next_page(void *impl, struct source_page *pg);
static unsigned long http_pages(const void *impl);
static void http_close(void *impl);

static const struct source_ops http_ops = {http_next_page, NULL,       NULL,
                                           http_pages,     http_close, NULL};

/* The source's headers and auth into opt (borrowing from src and ps). */
static int set_credentials(struct http_source *ps, const struct config_source *src,
                           struct http_options *opt)
{
    size_t n = 0;
    while (src->headers && src->headers[n])
        n++;
    ps->headers = calloc(n + 2, sizeof(*ps->headers));
    if (!ps->headers)
        return err_set(ML_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        ps->headers[i] = src->headers[i];
    if (src->auth.type == AUTH_BEARER) {
        struct buf b;
        buf_init(&b, 0);
        if (buf_addf(&b, "Authorization: Bearer %s", src->auth.token) ||
            !(ps->bearer = buf_detach(&b, NULL))) {
            buf_wipe(&b);
            return err_set(ML_ENOMEM, "out of memory");
        }
        ps->headers[n] = ps->bearer;
    } else if (src->auth.type == AUTH_BASIC) {
        opt->basic_user = src->auth.user;
        opt->basic_password = src->auth.password;
    }
    opt->headers = ps->headers;
    return 0;
}

int source_http_open(const struct config_source *src, const char *path, struct source **out)
{
    struct http_source *ps;
    struct http_options opt = {0};
    int rc;
    *out = NULL;
    if (src->kind != SOURCE_HTTP)
        return err_set(ML_ECONFIG, "source '%s': only kind http is supported for this stream",
                       src->name);
    ps = calloc(1, sizeof(*ps));
    if (!ps)
        return err_set(ML_ENOMEM, "out of memory");
    buf_init(&ps->base, 0);
    buf_init(&ps->base_shown, 0);
    buf_init(&ps->url, 0);
    buf_init(&ps->shown, 0);
    buf_init(&ps->why, 0);
    buf_init(&ps->last_bad, 0);
    ps->page_size = src->page_size ? src->page_size : 100;
    ps->max_pages = src->max_pages ? src->max_pages : 1000000;
    ps->policy.retries = src->retries;
    ps->policy.base_ms = src->retry_base_ms;
    ps->policy.max_ms = src->retry_max_ms;
    ps->policy.retry_after_max_s = src->retry_after_max_s;
    ps->rng = retry_rng_seed();
    opt.connect_timeout_s = src->connect_timeout_s;
    opt.timeout_s = src->timeout_s;
    opt.low_speed_bytes = src->low_speed_limit;
    opt.low_speed_time_s = src->low_speed_time_s;
    opt.ca_file = src->ca_file;
    rc = set_credentials(ps, src, &opt);
    if (!rc)
        rc = http_client_new(&opt, &ps->http);
    if (!rc) {
        /* join base and path with exactly one '/' */
        size_t bl = strlen(src->base_url);
        while (bl && src->base_url[bl - 1] == '/')
            bl--;
        rc = buf_add(&ps->base, src->base_url, bl);
        if (!rc && path && *path)
            rc = buf_addf(&ps->base, "%s%s", path[0] == '/' || path[0] == '?' ? "" : "/", path);
        if (!rc)
            rc = buf_addc(&ps->base, strchr(ps->base.data, '?') ? '&' : '?');
        for (size_t i = 0; !rc && i < src->nparams; i++) {
            rc = http_url_escape(&ps->base, src->params[i].name);
            if (!rc)
                rc = buf_addc(&ps->base, '=');
            if (!rc)
                rc = http_url_escape(&ps->base, src->params[i].value);
            if (!rc)
                rc = buf_addc(&ps->base, '&');
        }
        if (!rc)
            rc = http_url_redact(ps->base.data, &ps->base_shown);
    }
    if (rc) {
        http_close(ps);
        return rc;
    }
    return source_wrap(&http_ops, ps, out);
}

static void http_close(void *impl)
{
    struct http_source *ps = impl;
    if (!ps)
        return;
    http_client_free(ps->http);
    buf_wipe(&ps->base);
    buf_release(&ps->base_shown);
    buf_wipe(&ps->url);
    buf_release(&ps->shown);
    if (ps->bearer) {
        mem_wipe(ps->bearer, strlen(ps->bearer));
        free(ps->bearer);
    }
    free(ps->headers);
    buf_release(&ps->why);
    buf_release(&ps->last_bad);
    free(ps);
}

static unsigned long http_pages(const void *impl)
{
    return ((const struct http_source *)impl)->page;
}

/* Records the current error message as the reason of a failed attempt,
 * without http_get's "GET '<url>': " lead (the final message adds its own),
 * behind `what` when given. */
static void note_reason(struct http_source *ps, const char *what)
{
    const char *m = err_msg();
    size_t ul = ps->shown.len;
    if (strncmp(m, "GET '", 5) == 0 && strncmp(m + 5, ps->shown.data, ul) == 0 &&
        strncmp(m + 5 + ul, "': ", 3) == 0)
        m += 5 + ul + 3;
    buf_reset(&ps->why);
    if (buf_addf(&ps->why, "%s%s%s", what ? what : "", what ? ": " : "", m))
        buf_reset(&ps->why); /* out of memory: the outcome still says what happened */
}

static enum retry_outcome outcome_of(enum http_failure f)
{
    switch (f) {
    case HTTP_FAIL_NONE:
        return RETRY_OK;
    case HTTP_FAIL_CONNECT:
        return RETRY_CONNECT;
    case HTTP_FAIL_TIMEOUT:
        return RETRY_TIMEOUT;
    case HTTP_FAIL_NETWORK:
        return RETRY_NETWORK;
    case HTTP_FAIL_TRUNCATED:
        return RETRY_TRUNCATED;
    case HTTP_FAIL_PERMANENT:
        break;
    }
    return RETRY_PERMANENT;
}

/* One attempt at the current page URL. Returns 0 with *out a page of at
 * most page_size records, or a negative code with *oc, *status and
 * *retry_after_s (-1 when absent) set and the reason in ps->why. A body
 * that is not a JSON array at all is RETRY_BAD_BODY (a proxy's error page, a
 * cut connection); its reason says what it was, with the content type. */
static int fetch_attempt(struct http_source *ps, json_page **out, enum retry_outcome *oc,
                         long *status, long *retry_after_s)
{
    struct http_response resp;
    json_page *pg;
    int rc;
    size_t n;

    *out = NULL;
    *status = 0;
    *retry_after_s = -1;
    rc = http_get(ps->http, ps->url.data, &resp);
    *status = resp.status;
    if (rc) {
        *oc = outcome_of(resp.failure);
        note_reason(ps, *oc == RETRY_PERMANENT ? NULL : retry_outcome_name(*oc));
        http_response_release(&resp);
        return rc;
    }
    if (resp.status != 200) {
        long ra;
        *oc = RETRY_STATUS;
        if (resp.retry_after && retry_after_parse(resp.retry_after, time(NULL), &ra) == 0)
            *retry_after_s = ra;
        rc = err_set(ML_EHTTP, "HTTP status %ld", resp.status);
        note_reason(ps, NULL);
        http_response_release(&resp);
        return rc;
    }
    rc = crypto_sha256(resp.body.data, resp.body.len, ps->body_digest);
    pg = rc ? NULL : json_page_new();
    if (!rc)
        rc = pg ? json_page_set_array(pg, &resp.body) : err_set(ML_ENOMEM, "out of memory");
    if (rc == ML_EJSON) {
        /* the message says what the text is instead; the content type may
         * say more (got text/html) */
        const char *ct = resp.content_type ? resp.content_type : "no content type";
        char what[512];
        snprintf(what, sizeof(what), "%s", err_msg());
        rc = err_set(ML_EJSON, "not a JSON array of records (got %.80s): %s", ct, what);
    }
    buf_wipe(&resp.body); /* records are PII */
    http_response_release(&resp);
    if (rc) {
        json_page_free(pg);
        *oc = rc == ML_EJSON ? RETRY_BAD_BODY : RETRY_PERMANENT;
        note_reason(ps, NULL);
        return rc;
    }
    n = json_page_count(pg);
    if (n > ps->page_size) {
        *oc = RETRY_PERMANENT;
        rc = err_set(ML_EHTTP,
                     "page has %zu records, more than the limit %u asked for "
                     "(the API does not paginate with page/limit)",
                     n, ps->page_size);
        note_reason(ps, NULL);
        json_page_free(pg);
        return rc;
    }
    *oc = RETRY_OK;
    *out = pg;
    return 0;
}

static int http_next_page(void *impl, struct source_page *pg)
{
    struct http_source *ps = impl;
    json_page *d = NULL;
    unsigned long pageno = ps->page + 1;
    enum retry_outcome oc = RETRY_OK;
    long status = 0, retry_after_s = -1;
    unsigned attempt;
    int rc;
    size_t n;

    pg->records = NULL;
    pg->ref = NULL;
    if (ps->done)
        return 0;
    if (ps->page >= ps->max_pages)
        return err_set(ML_EHTTP, "'%.*s': more than %u pages (sources.*.max_pages); stopping",
                       (int)ps->base_shown.len - 1, ps->base_shown.data, ps->max_pages);
    mem_wipe(ps->url.data, ps->url.len); /* may hold a secret */
    buf_reset(&ps->url);
    buf_reset(&ps->shown);
    rc = buf_addf(&ps->url, "%spage=%lu&limit=%u", ps->base.data, pageno, ps->page_size);
    if (!rc)
        rc = http_url_redact(ps->url.data, &ps->shown);
    if (rc)
        return rc;
    pg->ref = ps->shown.data;

    buf_reset(&ps->last_bad);
    for (attempt = 1;; attempt++) {
        rc = fetch_attempt(ps, &d, &oc, &status, &retry_after_s);
        if (!rc)
            break;
        if (oc == RETRY_BAD_BODY) {
            /* the same invalid body twice (same length, same fault at the
             * same byte) will come back every time: not worth more tries */
            if (attempt > 1 && strcmp(ps->last_bad.data, ps->why.data) == 0)
                return err_set(rc,
                               "GET '%s' (page %lu): %s (the same body %u times; not "
                               "retried further)",
                               ps->shown.data, pageno, ps->why.data, attempt);
            buf_reset(&ps->last_bad);
            if (buf_adds(&ps->last_bad, ps->why.data))
                buf_reset(&ps->last_bad);
        } else {
            buf_reset(&ps->last_bad);
        }
        if (!retry_should(&ps->policy, attempt, oc, status)) {
            if (retry_transient(oc, status))
                return err_set(rc, "GET '%s' (page %lu): %s (gave up after %u attempts)",
                               ps->shown.data, pageno, ps->why.data, attempt);
            return err_set(rc, "GET '%s' (page %lu): %s (not retried)", ps->shown.data, pageno,
                           ps->why.data);
        }
        unsigned delay =
            retry_delay_ms(&ps->policy, attempt, retry_after_s, retry_rng_next(&ps->rng));
        log_warn("GET '%s' (page %lu): %s; retry %u of %u in %u ms", ps->shown.data, pageno,
                 ps->why.data, attempt, ps->policy.retries, delay);
        rc = retry_sleep_ms(delay);
        if (rc) {
            char why_stop[128]; /* err_set must not read the message it replaces */
            snprintf(why_stop, sizeof(why_stop), "%s", err_msg());
            return err_set(rc, "GET '%s' (page %lu): %s; %s", ps->shown.data, pageno, ps->why.data,
                           why_stop);
        }
    }
    if (attempt > 1)
        log_info("GET '%s' (page %lu): succeeded at attempt %u", ps->shown.data, pageno, attempt);

    n = json_page_count(d);
    ps->page++;
    if (n == 0) {
        ps->done = true;
        json_page_free(d);
        return 0;
    }
    if (ps->have_prev && memcmp(ps->prev_digest, ps->body_digest, CRYPTO_DIGEST_LEN) == 0) {
        json_page_free(d);
        return err_set(ML_EHTTP,
                       "GET '%s' (page %lu): the same records as page %lu: the API seems to "
                       "ignore 'page' (check the stream's path and the API's paging); stopping "
                       "instead of fetching it up to max_pages times",
                       ps->shown.data, pageno, pageno - 1);
    }
    memcpy(ps->prev_digest, ps->body_digest, CRYPTO_DIGEST_LEN);
    ps->have_prev = true;
    log_debug("fetched '%s': %zu records", ps->shown.data, n);
    pg->records = d;
    return 1;
}
