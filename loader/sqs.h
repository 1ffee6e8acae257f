/* sqs.h - an Amazon SQS client over the JSON protocol (http + sigv4).
 *
 * Every call is `POST /` with Content-Type application/x-amz-json-1.0 and
 * X-Amz-Target AmazonSQS.<Operation>, signed with SigV4 (service "sqs").
 * Requests go to `endpoint` when one is configured (an emulator, a VPC
 * endpoint), whatever host the queue URL names; otherwise to the scheme and
 * host of the queue URL. Transport failures and 5xx answers are retried
 * (3 attempts in all, short backoff); other failures return ML_EHTTP with a
 * message naming the operation, the queue URL, the HTTP status and SQS's
 * error code and message. Nothing logged or returned holds a credential or
 * a signature; message bodies (PII) are wiped when released.
 *
 * The request builders and response parsers are exposed for unit tests.
 */
#ifndef ML_SQS_H
#define ML_SQS_H

#include <stddef.h>

#include "buf.h"

struct sqs_client;

struct sqs_options {
    const char *queue_url;         /* required, http(s)://host[:port]/account/name */
    const char *endpoint;          /* NULL = scheme://host of queue_url */
    const char *region;            /* required */
    const char *access_key_id;     /* required */
    const char *secret_access_key; /* required; secret */
    const char *session_token;     /* NULL when none; secret */
    unsigned connect_timeout_s;    /* 0 = 10 */
    unsigned timeout_s;            /* per request; 0 = 60; must exceed the long-poll wait */
    const char *ca_file;           /* NULL = system store */
};

struct sqs_message {
    char *message_id;
    char *receipt_handle;
    char *body; /* NUL-terminated (a body holding NUL bytes is cut there) */
    size_t body_len;
    long long sent_timestamp_ms; /* SentTimestamp attribute; -1 when absent */
};

struct sqs_messages {
    struct sqs_message *v;
    size_t n;
};

/* Copies every option (the strings too; secrets are wiped by free). */
int sqs_client_new(const struct sqs_options *opt, struct sqs_client **out);
void sqs_client_free(struct sqs_client *c);

/* ReceiveMessage: up to `max` (1..10) messages, long-polling `wait_s`
 * (0..20) seconds, hidden from other consumers for `visibility_s` seconds
 * (< 0: the queue's default). `out` is filled (n may be 0) and must be
 * released with sqs_messages_release, even on failure. */
int sqs_receive(struct sqs_client *c, unsigned max, unsigned wait_s, int visibility_s,
                struct sqs_messages *out);

/* DeleteMessageBatch for `n` receipt handles (sent 10 per request). Entries
 * that fail are retried (3 attempts in all); *failed (may be NULL) gets the
 * number still not deleted, and `why` (may be NULL) SQS's code and message of
 * the first of them. Returns 0 when every request got an answer (even with
 * failed entries), ML_EHTTP when a request itself failed. */
int sqs_delete(struct sqs_client *c, const char *const *handles, size_t n, size_t *failed,
               struct buf *why);

/* Wipes the bodies and frees everything. */
void sqs_messages_release(struct sqs_messages *m);

/* GetQueueAttributes: the queue's ApproximateNumberOfMessages. Receives
 * nothing (no message changes visibility). 0, ML_EHTTP or ML_EJSON. */
int sqs_queue_messages(struct sqs_client *c, unsigned long long *approx);

/* ---- pure helpers (no I/O) ---- */

/* Body of a ReceiveMessage request. */
int sqs_receive_request(const char *queue_url, unsigned max, unsigned wait_s, int visibility_s,
                        struct buf *out);

/* Parses a ReceiveMessage response ({"Messages":[...]} or {}); every message
 * needs a MessageId, a ReceiptHandle and a Body. ML_EJSON otherwise. */
int sqs_parse_receive(const char *body, size_t len, struct sqs_messages *out);

/* Body of a DeleteMessageBatch request; entry i gets the Id "<i>". */
int sqs_delete_request(const char *queue_url, const char *const *handles, size_t n,
                       struct buf *out);

/* Parses a DeleteMessageBatch response for a request of `n` entries: sets
 * failed[i] = 1 for every entry listed in "Failed" and 0 for the others;
 * `why` (may be NULL) gets "Code: Message" of the first failure. Entries
 * neither successful nor failed count as failed. ML_EJSON when malformed. */
int sqs_parse_delete(const char *body, size_t len, size_t n, unsigned char *failed,
                     struct buf *why);

/* "Code: message" from an SQS error response body ({"__type":
 * "com.amazonaws.sqs#QueueDoesNotExist","message":"..."}); the type's
 * namespace is dropped. Empty when the body says nothing usable. */
int sqs_error_text(const char *body, size_t len, struct buf *out);

/* Where requests go: `url` gets "scheme://authority<path>" (path "/" unless
 * the endpoint has one), `host` the authority (the Host header), `path` the
 * request path. ML_EINVAL when the URL is not http(s)://host... */
int sqs_request_target(const char *queue_url, const char *endpoint, struct buf *url,
                       struct buf *host, struct buf *path);

/* The region named by an AWS queue URL host ("sqs.<region>.amazonaws.com"
 * or "<region>.queue.amazonaws.com"); 0 and `out` set, or ML_EINVAL. */
int sqs_region_from_url(const char *queue_url, struct buf *out);

#endif
