/* source_sqs.c - an Amazon SQS queue as a source (`kind: sqs`).
 *
 * A page is the result of one ReceiveMessage call (up to max_messages,
 * long-polling wait_seconds, hidden for visibility_timeout): a JSON array of
 * records {"MessageId": "...", "SentTimestamp": <ms since 1970, or null>,
 * "Body": <the body parsed as JSON, or the raw string when it is not JSON>}.
 * The source is exhausted when a receive returns no message (`run --follow`
 * makes the loader poll again instead).
 *
 * Delivery: the receipt handles of the messages handed out are remembered
 * and deleted (DeleteMessageBatch) only in committed(), which the loader
 * calls after the transaction holding their rows, their rejects and their
 * message ids has committed. A crash in between leaves the messages in the
 * queue: they come back after the visibility timeout and the loader skips
 * them as already processed (stream_def.processed_table), then deletes them.
 * Per-entry delete failures are retried, then logged (the messages will be
 * redelivered and skipped, never loaded twice).
 *
 * on_malformed: dead_letter: a message the stream's mapping rejects (the
 * loader reports each record's outcome: source_record_outcome) is
 * recorded in load_rejects like any other but NOT deleted, so that the
 * queue's redrive policy moves it to the dead-letter queue after
 * maxReceiveCount receives. Received again in the same run, it is not handed
 * out again; a receive that brings only such messages ends the run's pass
 * over the queue (otherwise a queue without a redrive policy would keep the
 * run going forever).
 *
 * Test hook: with MASKLOAD_TEST_CRASH_AFTER_COMMIT set in the environment,
 * the process kills itself (SIGKILL) in the first committed() that has
 * messages to delete: after the commit, before any delete. It exists to test
 * the guarantee above deterministically and does nothing when unset.
 */
#include "source.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "sqs.h"
#include "banned.h"

struct sqs_source {
    struct sqs_client *sqs;
    char *queue_url;
    unsigned max_messages, wait_seconds;
    int visibility;
    bool dead_letter;
    struct sqs_messages page; /* the messages of the page last handed out, in order */
    size_t *page_msg;         /* record index -> index in page.v */
    size_t page_records, page_cap;
    char **pending; /* receipt handles of loaded or rejected messages, not yet deleted */
    size_t npending, cap_pending;
    char **held; /* message ids left for the dead-letter queue in this run */
    size_t nheld, cap_held;
    unsigned long pages;
    struct buf ref;
};

static int sqs_next_page(void *impl, struct source_page *pg);
static int sqs_committed(void *impl);
static int sqs_record_outcome(void *impl, size_t index, bool rejected);
static unsigned long sqs_pages(const void *impl);
static void sqs_close(void *impl);

static const struct source_ops sqs_ops = {sqs_next_page, sqs_committed, sqs_record_outcome,
                                          sqs_pages,     sqs_close,     NULL};

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int push(char ***v, size_t *n, size_t *cap, const char *s)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        char **nv = realloc(*v, ncap * sizeof(*nv));
        if (!nv)
            return err_set(ML_ENOMEM, "out of memory");
        *v = nv;
        *cap = ncap;
    }
    (*v)[*n] = strdup(s);
    if (!(*v)[*n])
        return err_set(ML_ENOMEM, "out of memory");
    (*n)++;
    return 0;
}

static void free_all(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
}

/* The client options of queue source `src`: credentials from the source or
 * the environment, the region from the source, the environment or the
 * queue URL (written into `region`). 0 or ML_ECONFIG. */
static int queue_options(const struct config_source *src, struct sqs_options *o, struct buf *region)
{
    if (!src->queue_url)
        return err_set(ML_ECONFIG, "source '%s': no queue_url", src->name);
    o->queue_url = src->queue_url;
    o->endpoint = src->endpoint;
    if (src->access_key_id) {
        o->access_key_id = src->access_key_id;
        o->secret_access_key = src->secret_access_key;
        o->session_token = src->session_token;
    } else {
        o->access_key_id = env("AWS_ACCESS_KEY_ID");
        o->secret_access_key = env("AWS_SECRET_ACCESS_KEY");
        o->session_token = env("AWS_SESSION_TOKEN");
    }
    if (!o->access_key_id || !o->secret_access_key)
        return err_set(ML_ECONFIG,
                       "source '%s': no AWS credentials: set AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), or "
                       "access_key_id and secret_access_key in the source",
                       src->name);
    o->region = src->region ? src->region : env("AWS_REGION");
    if (!o->region)
        o->region = env("AWS_DEFAULT_REGION");
    if (!o->region) {
        if (sqs_region_from_url(src->queue_url, region))
            return err_set(ML_ECONFIG,
                           "source '%s': no AWS region: set 'region', AWS_REGION or "
                           "AWS_DEFAULT_REGION (the queue URL's host names none)",
                           src->name);
        o->region = region->data;
    }
    o->connect_timeout_s = src->connect_timeout_s;
    o->timeout_s = src->timeout_s;
    o->ca_file = src->ca_file;
    return 0;
}

int source_sqs_probe(const struct config_source *src, unsigned long long *approx)
{
    struct sqs_options o = {0};
    struct buf region = BUF_INIT;
    struct sqs_client *c = NULL;
    int rc = queue_options(src, &o, &region);
    if (!rc)
        rc = sqs_client_new(&o, &c);
    if (!rc)
        rc = sqs_queue_messages(c, approx);
    sqs_client_free(c);
    buf_release(&region);
    return rc ? err_prefix(rc, "source '%s'", src->name) : 0;
}

int source_sqs_open(const struct config *cfg, const struct config_source *src,
                    const struct config_stream *st, struct source **out)
{
    struct sqs_source *s;
    struct sqs_options o = {0};
    struct buf region = BUF_INIT;
    int rc = 0;
    *out = NULL;
    rc = queue_options(src, &o, &region);
    if (rc) {
        buf_release(&region);
        return rc;
    }

    s = calloc(1, sizeof(*s));
    if (!s) {
        buf_release(&region);
        return err_set(ML_ENOMEM, "out of memory");
    }
    buf_init(&s->ref, 0);
    s->max_messages = src->max_messages ? src->max_messages : 10;
    s->wait_seconds = src->wait_seconds;
    s->visibility = (int)src->visibility_timeout;
    s->dead_letter = src->on_malformed == SQS_MALFORMED_DEAD_LETTER;
    (void)cfg;
    (void)st;
    {
        struct buf shown = BUF_INIT; /* the queue URL as logged and in refs */
        if (http_url_redact(src->queue_url, &shown) || !(s->queue_url = buf_detach(&shown, NULL)))
            rc = err_set(ML_ENOMEM, "out of memory");
        buf_release(&shown);
    }
    if (!rc)
        rc = sqs_client_new(&o, &s->sqs);
    buf_release(&region);
    if (rc) {
        sqs_close(s);
        return err_prefix(rc, "source '%s'", src->name);
    }
    log_debug("source '%s': queue '%s'%s%s", src->name, s->queue_url,
              src->endpoint ? " via endpoint " : "", src->endpoint ? src->endpoint : "");
    return source_wrap(&sqs_ops, s, out);
}

static void sqs_close(void *impl)
{
    struct sqs_source *s = impl;
    if (!s)
        return;
    sqs_client_free(s->sqs);
    free_all(s->pending, s->npending);
    free(s->pending);
    free_all(s->held, s->nheld);
    free(s->held);
    sqs_messages_release(&s->page);
    free(s->page_msg);
    buf_release(&s->ref);
    free(s->queue_url);
    free(s);
}

static unsigned long sqs_pages(const void *impl)
{
    return ((const struct sqs_source *)impl)->pages;
}

static bool is_held(const struct sqs_source *s, const char *id)
{
    for (size_t i = 0; i < s->nheld; i++)
        if (strcmp(s->held[i], id) == 0)
            return true;
    return false;
}

/* Writes the record of message `m` into `page` (replacing its content):
 * {"MessageId", "SentTimestamp", "Body"}. A body that is one JSON value is
 * embedded as such (the mapping reads its fields; a bad record inside it is
 * that message's reject); anything else is embedded as a string, which the
 * mapping rejects, so the record itself is always JSON and its MessageId
 * always readable. `probe` is scratch. */
static int append_record(struct buf *page, const struct sqs_message *m, json_doc *probe)
{
    int rc;
    buf_reset(page);
    rc = buf_adds(page, "{\"MessageId\":");
    if (!rc)
        rc = json_quote(page, m->message_id);
    if (!rc)
        rc = m->sent_timestamp_ms >= 0
                 ? buf_addf(page, ",\"SentTimestamp\":%lld", m->sent_timestamp_ms)
                 : buf_adds(page, ",\"SentTimestamp\":null");
    if (!rc)
        rc = buf_adds(page, ",\"Body\":");
    if (!rc) {
        if (json_doc_parse(probe, m->body, m->body_len) == 0) {
            rc = buf_add(page, m->body, m->body_len);
        } else {
            err_clear();
            rc = json_quote_len(page, m->body, m->body_len);
        }
    }
    return rc ? rc : buf_addc(page, '}');
}

/* The loader's verdict on record `index` of the page last handed out: its
 * message is deleted after the commit, or, rejected in dead_letter mode,
 * left for the queue's redrive policy (and not handed out again this run). A
 * record never reported is neither: its message comes back. */
static int sqs_record_outcome(void *impl, size_t index, bool rejected)
{
    struct sqs_source *s = impl;
    if (index >= s->page_records)
        return err_set(ML_EINTERNAL, "sqs: no record %zu in the page", index);
    const struct sqs_message *m = &s->page.v[s->page_msg[index]];
    if (s->dead_letter && rejected)
        return push(&s->held, &s->nheld, &s->cap_held, m->message_id);
    return push(&s->pending, &s->npending, &s->cap_pending, m->receipt_handle);
}

static int sqs_next_page(void *impl, struct source_page *pg)
{
    struct sqs_source *s = impl;
    struct buf rec = BUF_INIT;
    json_page *page = NULL;
    json_doc *probe = NULL;
    size_t repeats = 0;
    int rc;

    sqs_messages_release(&s->page);
    s->page_records = 0;
    rc = sqs_receive(s->sqs, s->max_messages, s->wait_seconds, s->visibility, &s->page);
    if (!rc && s->page.n > 10)
        rc = err_set(ML_EHTTP, "sqs queue '%s': a receive returned %zu messages (at most 10)",
                     s->queue_url, s->page.n);
    if (rc || s->page.n == 0)
        return rc;
    if (s->page.n > s->page_cap) {
        size_t *pm = realloc(s->page_msg, s->page.n * sizeof(*pm));
        if (!pm)
            return err_set(ML_ENOMEM, "out of memory");
        s->page_msg = pm;
        s->page_cap = s->page.n;
    }
    page = json_page_new();
    probe = json_doc_new();
    if (!page || !probe)
        rc = err_set(ML_ENOMEM, "out of memory");
    /* one record per message, except repeats of messages left for the
     * dead-letter queue earlier in this run */
    for (size_t i = 0; !rc && i < s->page.n; i++) {
        const struct sqs_message *m = &s->page.v[i];
        if (s->dead_letter && is_held(s, m->message_id)) {
            repeats++;
            continue;
        }
        rc = append_record(&rec, m, probe);
        if (!rc)
            rc = json_page_add_record(page, rec.data, rec.len, 0);
        if (!rc)
            s->page_msg[s->page_records++] = i;
    }
    buf_wipe(&rec); /* bodies are PII */
    json_free(probe);
    if (rc) {
        json_page_free(page);
        s->page_records = 0;
        return err_prefix(rc, "sqs queue '%s': building a page", s->queue_url);
    }
    if (s->page_records == 0) {
        json_page_free(page);
        log_info("sqs queue '%s': only messages left for the dead-letter queue (%zu); "
                 "ending this pass",
                 s->queue_url, repeats);
        return 0;
    }
    s->pages++;
    buf_reset(&s->ref);
    rc = buf_addf(&s->ref, "%s receive %lu", s->queue_url, s->pages);
    if (rc) {
        json_page_free(page);
        return rc;
    }
    log_debug("sqs queue '%s': received %zu messages", s->queue_url, s->page_records);
    pg->records = page;
    pg->ref = s->ref.data;
    return 1;
}

static int sqs_committed(void *impl)
{
    struct sqs_source *s = impl;
    struct buf why = BUF_INIT;
    size_t failed = 0;
    int rc;
    if (s->npending == 0)
        return 0;
#ifdef MASKLOAD_TEST_HOOKS /* a test build only */
    if (getenv("MASKLOAD_TEST_CRASH_AFTER_COMMIT")) {
        log_warn("MASKLOAD_TEST_CRASH_AFTER_COMMIT is set: killing the process after the commit "
                 "and before deleting %zu messages (test hook)",
                 s->npending);
        raise(SIGKILL);
    }
#endif
    rc = sqs_delete(s->sqs, (const char *const *)s->pending, s->npending, &failed, &why);
    if (!rc && failed)
        log_warn("sqs queue '%s': %zu of %zu messages could not be deleted (%s); they will be "
                 "delivered again and skipped as already processed",
                 s->queue_url, failed, s->npending, why.len ? why.data : "no reason given");
    else if (!rc)
        log_debug("sqs queue '%s': deleted %zu messages", s->queue_url, s->npending);
    free_all(s->pending, s->npending);
    s->npending = 0;
    buf_release(&why);
    if (rc)
        return err_prefix(rc, "deleting committed messages (they will be delivered again and "
                              "skipped as already processed)");
    return 0;
}
