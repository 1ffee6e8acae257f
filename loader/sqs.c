#include "sqs.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "error.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "retry.h"
#include "sigv4.h"
#include "banned.h"

#define ATTEMPTS        3
#define DELETE_PER_CALL 10
#define MAX_RESPONSE    ((size_t)16 << 20) /* 10 messages of 256 KiB are far less */

struct sqs_client {
    struct http_client *http;
    char *queue_url, *region, *access_key_id, *secret_access_key, *session_token;
    struct buf url, host, path;
};

static void free_secret(char *s)
{
    if (s) {
        mem_wipe(s, strlen(s));
        free(s);
    }
}

/* ---- pure helpers ---- */

int sqs_request_target(const char *queue_url, const char *endpoint, struct buf *url,
                       struct buf *host, struct buf *path)
{
    const char *base = endpoint && *endpoint ? endpoint : queue_url;
    const char *p, *auth, *slash;
    size_t scheme_len;
    if (!base)
        return err_set(ML_EINVAL, "sqs: no queue URL");
    if (strncasecmp(base, "https://", 8) == 0)
        scheme_len = 8;
    else if (strncasecmp(base, "http://", 7) == 0)
        scheme_len = 7;
    else
        return err_set(ML_EINVAL, "sqs: '%s' is not an http:// or https:// URL", base);
    auth = base + scheme_len;
    slash = strchr(auth, '/');
    p = slash ? slash : auth + strlen(auth);
    {
        /* drop user:password@ if present: it is never sent */
        const char *at = memchr(auth, '@', (size_t)(p - auth));
        if (at)
            auth = at + 1;
    }
    if (p == auth)
        return err_set(ML_EINVAL, "sqs: '%s' names no host", base);
    int rc = buf_add(host, auth, (size_t)(p - auth));
    if (!rc) {
        /* the queue URL's own path names the queue, not the endpoint */
        const char *q = strchr(p, '?');
        size_t plen = q ? (size_t)(q - p) : strlen(p);
        if (base == queue_url || plen == 0)
            rc = buf_addc(path, '/');
        else
            rc = buf_add(path, p, plen);
    }
    if (!rc)
        rc = buf_add(url, base, scheme_len);
    if (!rc)
        rc = buf_addf(url, "%s%s", host->data, path->data);
    return rc;
}

int sqs_region_from_url(const char *queue_url, struct buf *out)
{
    struct buf url = BUF_INIT, host = BUF_INIT, path = BUF_INIT;
    int rc = sqs_request_target(queue_url, NULL, &url, &host, &path);
    if (!rc) {
        const char *h = host.data, *colon = strchr(h, ':');
        size_t hl = colon ? (size_t)(colon - h) : strlen(h);
        const char *dot = memchr(h, '.', hl);
        static const char aws[] = ".amazonaws.com";
        rc = ML_EINVAL;
        if (hl > sizeof(aws) &&
            strncasecmp(h + hl - (sizeof(aws) - 1), aws, sizeof(aws) - 1) == 0) {
            size_t rest = hl - (sizeof(aws) - 1); /* "sqs.<region>" or "<region>.queue" */
            if (strncasecmp(h, "sqs.", 4) == 0 && rest > 4)
                rc = buf_add(out, h + 4, rest - 4);
            else if (dot && (size_t)(dot - h) < rest && strncasecmp(dot, ".queue", 6) == 0)
                rc = buf_add(out, h, (size_t)(dot - h));
        }
        if (rc == ML_EINVAL)
            err_set(ML_EINVAL, "sqs: no region in the host of '%s'", queue_url);
    }
    buf_release(&url);
    buf_release(&host);
    buf_release(&path);
    return rc;
}

int sqs_receive_request(const char *queue_url, unsigned max, unsigned wait_s, int visibility_s,
                        struct buf *out)
{
    int rc = buf_adds(out, "{\"QueueUrl\":");
    if (!rc)
        rc = json_quote(out, queue_url);
    if (!rc)
        rc = buf_addf(out, ",\"MaxNumberOfMessages\":%u,\"WaitTimeSeconds\":%u", max, wait_s);
    if (!rc && visibility_s >= 0)
        rc = buf_addf(out, ",\"VisibilityTimeout\":%d", visibility_s);
    /* both spellings: MessageSystemAttributeNames is current, AttributeNames
     * is what older servers and emulators know */
    if (!rc)
        rc = buf_adds(out, ",\"MessageSystemAttributeNames\":[\"SentTimestamp\"],"
                           "\"AttributeNames\":[\"SentTimestamp\"]}");
    return rc;
}

int sqs_delete_request(const char *queue_url, const char *const *handles, size_t n, struct buf *out)
{
    int rc = buf_adds(out, "{\"QueueUrl\":");
    if (!rc)
        rc = json_quote(out, queue_url);
    if (!rc)
        rc = buf_adds(out, ",\"Entries\":[");
    for (size_t i = 0; !rc && i < n; i++) {
        rc = buf_addf(out, "%s{\"Id\":\"%zu\",\"ReceiptHandle\":", i ? "," : "", i);
        if (!rc)
            rc = json_quote(out, handles[i]);
        if (!rc)
            rc = buf_addc(out, '}');
    }
    return rc ? rc : buf_adds(out, "]}");
}

void sqs_messages_release(struct sqs_messages *m)
{
    for (size_t i = 0; i < m->n; i++) {
        struct sqs_message *x = &m->v[i];
        if (x->body) {
            mem_wipe(x->body, x->body_len);
            free(x->body);
        }
        free(x->message_id);
        free(x->receipt_handle);
    }
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

static int parse_ms(const json_node *v, long long *out)
{
    long long ms = 0;
    const char *s = json_string(v);
    if (json_type(v) == JSON_NUMBER)
        return json_int64(v, out) == 0 && *out >= 0 ? 0 : -1;
    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || ms > (long long)9e15)
            return -1;
        ms = ms * 10 + (*s - '0');
    }
    *out = ms;
    return 0;
}

int sqs_parse_receive(const char *body, size_t len, struct sqs_messages *out)
{
    json_doc *doc = NULL;
    const json_node *msgs;
    size_t i = 0;
    int rc;
    out->v = NULL;
    out->n = 0;
    rc = json_parse(body, len, &doc);
    if (rc)
        return err_prefix(rc, "ReceiveMessage response");
    if (json_type(json_root(doc)) != JSON_OBJECT) {
        json_free(doc);
        return err_set(ML_EJSON, "ReceiveMessage response: expected an object");
    }
    msgs = json_get(json_root(doc), "Messages");
    if (json_type(msgs) == JSON_ABSENT || json_type(msgs) == JSON_NULL) {
        json_free(doc);
        return 0;
    }
    if (json_type(msgs) != JSON_ARRAY) {
        json_free(doc);
        return err_set(ML_EJSON, "ReceiveMessage response: 'Messages' is not an array");
    }
    out->v = calloc(json_array_size(msgs) + 1, sizeof(*out->v));
    if (!out->v) {
        json_free(doc);
        return err_set(ML_ENOMEM, "out of memory");
    }
    for (const json_node *m = json_child(msgs); m; m = json_next(m), i++) {
        const char *id = json_string(json_get(m, "MessageId"));
        const char *rh = json_string(json_get(m, "ReceiptHandle"));
        size_t blen = 0;
        /* the body may hold NUL bytes: take it with its length */
        const char *b = json_string_len(json_get(m, "Body"), &blen);
        const json_node *attrs = json_get(m, "Attributes");
        struct sqs_message *x = &out->v[out->n];
        if (!id || !*id || !rh || !*rh || !b) {
            rc = err_set(ML_EJSON,
                         "ReceiveMessage response: message %zu lacks MessageId, ReceiptHandle or "
                         "Body",
                         i);
            break;
        }
        out->n++;
        x->sent_timestamp_ms = -1;
        x->message_id = strdup(id);
        x->receipt_handle = strdup(rh);
        x->body_len = blen;
        x->body = malloc(blen + 1);
        if (x->body) {
            memcpy(x->body, b, blen);
            x->body[blen] = '\0';
        }
        if (!x->message_id || !x->receipt_handle || !x->body) {
            rc = err_set(ML_ENOMEM, "out of memory");
            break;
        }
        if (parse_ms(json_get(attrs, "SentTimestamp"), &x->sent_timestamp_ms))
            x->sent_timestamp_ms = -1;
    }
    json_free(doc);
    if (rc)
        sqs_messages_release(out);
    return rc;
}

static int append_code_message(struct buf *out, const char *code, const char *msg)
{
    const char *hash = code ? strrchr(code, '#') : NULL;
    if (hash)
        code = hash + 1;
    if (code && *code && msg && *msg)
        return buf_addf(out, "%s: %s", code, msg);
    if (code && *code)
        return buf_adds(out, code);
    if (msg && *msg)
        return buf_adds(out, msg);
    return 0;
}

int sqs_parse_delete(const char *body, size_t len, size_t n, unsigned char *failed, struct buf *why)
{
    json_doc *doc = NULL;
    const json_node *ok, *bad;
    int rc = json_parse(body, len, &doc);
    if (rc)
        return err_prefix(rc, "DeleteMessageBatch response");
    if (json_type(json_root(doc)) != JSON_OBJECT) {
        json_free(doc);
        return err_set(ML_EJSON, "DeleteMessageBatch response: expected an object");
    }
    for (size_t i = 0; i < n; i++)
        failed[i] = 1; /* until listed as successful */
    ok = json_get(json_root(doc), "Successful");
    bad = json_get(json_root(doc), "Failed");
    for (const json_node *e = json_child(ok); e; e = json_next(e)) {
        const char *id = json_string(json_get(e, "Id"));
        char *end = NULL;
        unsigned long k = id ? strtoul(id, &end, 10) : 0;
        if (id && *id && end && !*end && k < n)
            failed[k] = 0;
    }
    for (const json_node *e = json_child(bad); e; e = json_next(e)) {
        const char *id = json_string(json_get(e, "Id"));
        char *end = NULL;
        unsigned long k = id ? strtoul(id, &end, 10) : 0;
        if (id && *id && end && !*end && k < n)
            failed[k] = 1;
        if (why && why->len == 0)
            rc = append_code_message(why, json_string(json_get(e, "Code")),
                                     json_string(json_get(e, "Message")));
    }
    json_free(doc);
    return rc;
}

int sqs_error_text(const char *body, size_t len, struct buf *out)
{
    json_doc *doc = NULL;
    int rc = 0;
    if (len == 0 || json_parse(body, len, &doc) != 0) {
        err_clear();
        return 0;
    }
    const json_node *r = json_root(doc);
    const char *msg = json_string(json_get(r, "message"));
    if (!msg)
        msg = json_string(json_get(r, "Message"));
    rc = append_code_message(out, json_string(json_get(r, "__type")), msg);
    json_free(doc);
    return rc;
}

/* ---- the client ---- */

int sqs_client_new(const struct sqs_options *opt, struct sqs_client **out)
{
    struct sqs_client *c;
    struct http_options ho = {0};
    int rc;
    *out = NULL;
    if (!opt->queue_url || !opt->region || !*opt->region || !opt->access_key_id ||
        !opt->secret_access_key)
        return err_set(ML_EINVAL, "sqs: queue URL, region and credentials are required");
    c = calloc(1, sizeof(*c));
    if (!c)
        return err_set(ML_ENOMEM, "out of memory");
    buf_init(&c->url, 0);
    buf_init(&c->host, 0);
    buf_init(&c->path, 0);
    c->queue_url = strdup(opt->queue_url);
    c->region = strdup(opt->region);
    c->access_key_id = strdup(opt->access_key_id);
    c->secret_access_key = strdup(opt->secret_access_key);
    c->session_token =
        opt->session_token && *opt->session_token ? strdup(opt->session_token) : NULL;
    if (!c->queue_url || !c->region || !c->access_key_id || !c->secret_access_key ||
        (opt->session_token && *opt->session_token && !c->session_token)) {
        sqs_client_free(c);
        return err_set(ML_ENOMEM, "out of memory");
    }
    rc = sqs_request_target(opt->queue_url, opt->endpoint, &c->url, &c->host, &c->path);
    ho.connect_timeout_s = opt->connect_timeout_s;
    ho.timeout_s = opt->timeout_s;
    ho.ca_file = opt->ca_file;
    ho.max_body = MAX_RESPONSE;
    if (!rc)
        rc = http_client_new(&ho, &c->http);
    if (rc) {
        sqs_client_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void sqs_client_free(struct sqs_client *c)
{
    if (!c)
        return;
    http_client_free(c->http);
    free(c->queue_url);
    free(c->region);
    free(c->access_key_id);
    free_secret(c->secret_access_key);
    free_secret(c->session_token);
    buf_release(&c->url);
    buf_release(&c->host);
    buf_release(&c->path);
    free(c);
}

/* The wait after failed attempt `attempt` (0-based): the retry policy of
 * retry.h (0.25 s doubling, equal jitter from the process's random source).
 * ML_EIO when a stop (SIGINT/SIGTERM) ends the wait: no further attempt. */
static int backoff(int attempt)
{
    static const struct retry_policy policy = {
        .retries = ATTEMPTS - 1, .base_ms = 250, .max_ms = 2000};
    static _Thread_local uint64_t rng;
    if (!rng)
        rng = retry_rng_seed();
    return retry_sleep_ms(retry_backoff_ms(&policy, (unsigned)attempt + 1, retry_rng_next(&rng)));
}

/* One signed JSON-protocol call; resp holds a 200 answer on success. */
static int sqs_call(struct sqs_client *c, const char *op, const struct buf *body,
                    struct http_response *resp)
{
    int rc = 0;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        char date[SIGV4_DATE_LEN];
        struct buf h_host = BUF_INIT, h_target = BUF_INIT, h_date = BUF_INIT, h_token = BUF_INIT,
                   authz = BUF_INIT, h_authz = BUF_INIT;
        const char *sign[5], *send[7];
        size_t ns = 0, nsend = 0;
        struct sigv4_credentials cred = {c->access_key_id, c->secret_access_key, c->session_token};
        struct sigv4_request r = {0};
        int retry = 0;

        sigv4_amz_date(time(NULL), date);
        rc = buf_addf(&h_host, "Host: %s", c->host.data);
        if (!rc)
            rc = buf_addf(&h_target, "X-Amz-Target: AmazonSQS.%s", op);
        if (!rc)
            rc = buf_addf(&h_date, "X-Amz-Date: %s", date);
        if (!rc && c->session_token)
            rc = buf_addf(&h_token, "X-Amz-Security-Token: %s", c->session_token);
        sign[ns++] = h_host.data;
        sign[ns++] = "Content-Type: application/x-amz-json-1.0";
        sign[ns++] = h_target.data;
        sign[ns++] = h_date.data;
        if (c->session_token)
            sign[ns++] = h_token.data;
        r.method = "POST";
        r.path = c->path.data;
        r.headers = sign;
        r.nheaders = ns;
        r.payload = body->data;
        r.payload_len = body->len;
        r.region = c->region;
        r.service = "sqs";
        r.amz_date = date;
        if (!rc)
            rc = sigv4_authorization(&r, &cred, &authz);
        if (!rc)
            rc = buf_addf(&h_authz, "Authorization: %s", authz.data);
        for (size_t i = 0; i < ns; i++)
            send[nsend++] = sign[i];
        send[nsend++] = h_authz.data;
        send[nsend] = NULL;
        if (!rc) {
            rc = http_post(c->http, c->url.data, send, body->data, body->len, resp);
            if (rc) {
                retry = rc == ML_EHTTP && resp->failure != HTTP_FAIL_PERMANENT;
                err_prefix(rc, "sqs %s on '%s'", op, c->queue_url);
            } else if (resp->status != 200) {
                struct buf why = BUF_INIT;
                sqs_error_text(resp->body.data, resp->body.len, &why);
                retry = resp->status >= 500 || resp->status == 429 ||
                        strstr(why.data, "Throttl") != NULL;
                rc = err_set(ML_EHTTP, "sqs %s on '%s': HTTP status %ld%s%s", op, c->queue_url,
                             resp->status, why.len ? ": " : "", why.data);
                buf_release(&why);
            }
        }
        buf_wipe(&h_token);
        buf_wipe(&authz);
        buf_wipe(&h_authz);
        buf_release(&h_host);
        buf_release(&h_target);
        buf_release(&h_date);
        if (!rc)
            return 0;
        if (!retry || attempt + 1 == ATTEMPTS)
            break;
        log_debug("%s; retrying", err_msg());
        http_response_release(resp);
        if (backoff(attempt)) {
            rc = err_prefix(ML_EIO, "sqs %s on '%s': not retried", op, c->queue_url);
            break;
        }
    }
    return rc;
}

int sqs_receive(struct sqs_client *c, unsigned max, unsigned wait_s, int visibility_s,
                struct sqs_messages *out)
{
    struct buf body = BUF_INIT;
    struct http_response resp;
    int rc;
    out->v = NULL;
    out->n = 0;
    memset(&resp, 0, sizeof(resp));
    if (max < 1 || max > 10 || wait_s > 20)
        return err_set(ML_EINVAL, "sqs ReceiveMessage: max 1..10 and wait 0..20 required");
    rc = sqs_receive_request(c->queue_url, max, wait_s, visibility_s, &body);
    if (!rc)
        rc = sqs_call(c, "ReceiveMessage", &body, &resp);
    if (!rc) {
        rc = sqs_parse_receive(resp.body.data, resp.body.len, out);
        if (rc)
            err_prefix(rc, "sqs ReceiveMessage on '%s'", c->queue_url);
    }
    /* the response holds message bodies */
    if (resp.body.cap)
        mem_wipe(resp.body.data, resp.body.cap);
    http_response_release(&resp);
    buf_release(&body);
    return rc;
}

int sqs_queue_messages(struct sqs_client *c, unsigned long long *approx)
{
    struct buf body = BUF_INIT;
    struct http_response resp;
    json_doc *doc = NULL;
    const json_node *v;
    int rc;
    *approx = 0;
    memset(&resp, 0, sizeof(resp));
    rc = buf_adds(&body, "{\"QueueUrl\":");
    if (!rc)
        rc = json_quote(&body, c->queue_url);
    if (!rc)
        rc = buf_adds(&body, ",\"AttributeNames\":[\"ApproximateNumberOfMessages\"]}");
    if (!rc)
        rc = sqs_call(c, "GetQueueAttributes", &body, &resp);
    if (!rc)
        rc = json_parse(resp.body.data, resp.body.len, &doc);
    if (!rc) {
        v = json_get(json_get(json_root(doc), "Attributes"), "ApproximateNumberOfMessages");
        if (json_type(v) == JSON_STRING)
            *approx = strtoull(json_string(v), NULL, 10);
        else
            rc = err_set(ML_EJSON, "sqs GetQueueAttributes on '%s': no ApproximateNumberOfMessages",
                         c->queue_url);
    }
    json_free(doc);
    http_response_release(&resp);
    buf_release(&body);
    return rc;
}

/* One DeleteMessageBatch round for handles[0..n) (n <= 10); failed[i] set. */
static int delete_round(struct sqs_client *c, const char *const *handles, size_t n,
                        unsigned char *failed, struct buf *why)
{
    struct buf body = BUF_INIT;
    struct http_response resp;
    int rc;
    memset(&resp, 0, sizeof(resp));
    rc = sqs_delete_request(c->queue_url, handles, n, &body);
    if (!rc)
        rc = sqs_call(c, "DeleteMessageBatch", &body, &resp);
    if (!rc) {
        buf_reset(why);
        rc = sqs_parse_delete(resp.body.data, resp.body.len, n, failed, why);
        if (rc)
            err_prefix(rc, "sqs DeleteMessageBatch on '%s'", c->queue_url);
    }
    http_response_release(&resp);
    buf_release(&body);
    return rc;
}

int sqs_delete(struct sqs_client *c, const char *const *handles, size_t n, size_t *failed,
               struct buf *why)
{
    struct buf reason = BUF_INIT;
    size_t still = 0;
    int rc = 0;
    for (size_t first = 0; !rc && first < n; first += DELETE_PER_CALL) {
        const char *todo[DELETE_PER_CALL];
        unsigned char bad[DELETE_PER_CALL];
        size_t k = n - first < DELETE_PER_CALL ? n - first : DELETE_PER_CALL;
        for (size_t i = 0; i < k; i++)
            todo[i] = handles[first + i];
        for (int attempt = 0; !rc && k > 0 && attempt < ATTEMPTS; attempt++) {
            size_t left = 0;
            if (attempt > 0) {
                log_debug("sqs DeleteMessageBatch on '%s': %zu entries failed (%s); retrying",
                          c->queue_url, k, reason.data);
                if (backoff(attempt - 1)) {
                    rc = err_prefix(ML_EIO, "sqs DeleteMessageBatch on '%s': not retried",
                                    c->queue_url);
                    break;
                }
            }
            rc = delete_round(c, todo, k, bad, &reason);
            for (size_t i = 0; !rc && i < k; i++)
                if (bad[i])
                    todo[left++] = todo[i];
            if (!rc)
                k = left;
        }
        if (!rc)
            still += k;
    }
    if (failed)
        *failed = still;
    if (why && still)
        buf_adds(why, reason.data);
    buf_release(&reason);
    return rc;
}
