/* test_sqs.c - the SQS JSON protocol: request bodies, response parsing,
 * error texts, where requests go, and the region named by a queue URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "buf.h"
#include "error.h"
#include "retry.h"
#include "sqs.h"
#include "banned.h"

#define ONE_OK  "{\"Successful\":[{\"Id\":\"0\"}]}"
#define BAD_IDS "{\"Successful\":[{\"Id\":\"9\"},{\"Id\":\"x\"}]}"
#define QURL    "https://sqs.eu-west-1.amazonaws.com/123456789012/login-queue"

static void test_receive_request(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(sqs_receive_request(QURL, 10, 20, 300, &b), 0);
    assert_string_equal(b.data, "{\"QueueUrl\":\"" QURL "\",\"MaxNumberOfMessages\":10,"
                                "\"WaitTimeSeconds\":20,\"VisibilityTimeout\":300,"
                                "\"MessageSystemAttributeNames\":[\"SentTimestamp\"],"
                                "\"AttributeNames\":[\"SentTimestamp\"]}");
    buf_reset(&b);
    /* a negative visibility leaves the queue's default: no key at all */
    assert_int_equal(sqs_receive_request("http://q/\"x", 1, 0, -1, &b), 0);
    assert_string_equal(b.data, "{\"QueueUrl\":\"http://q/\\\"x\",\"MaxNumberOfMessages\":1,"
                                "\"WaitTimeSeconds\":0,"
                                "\"MessageSystemAttributeNames\":[\"SentTimestamp\"],"
                                "\"AttributeNames\":[\"SentTimestamp\"]}");
    buf_release(&b);
}

static void test_delete_request(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    const char *handles[] = {"AQEB+abc/=", "h\"2"};
    assert_int_equal(sqs_delete_request(QURL, handles, 2, &b), 0);
    assert_string_equal(b.data, "{\"QueueUrl\":\"" QURL "\",\"Entries\":["
                                "{\"Id\":\"0\",\"ReceiptHandle\":\"AQEB+abc/=\"},"
                                "{\"Id\":\"1\",\"ReceiptHandle\":\"h\\\"2\"}]}");
    buf_release(&b);
}

static void test_parse_receive(void **state)
{
    (void)state;
    struct sqs_messages m;
    static const char resp[] =
        "{\"Messages\":[{\"MessageId\":\"m-1\",\"ReceiptHandle\":\"rh-1\",\"MD5OfBody\":\"x\","
        "\"Body\":\"{\\\"user_id\\\":\\\"u\\\"}\",\"Attributes\":{\"SentTimestamp\":"
        "\"1700000000123\"}},"
        "{\"MessageId\":\"m-2\",\"ReceiptHandle\":\"rh-2\",\"Body\":\"not json\"}]}";
    assert_int_equal(sqs_parse_receive(resp, strlen(resp), &m), 0);
    assert_int_equal(m.n, 2);
    assert_string_equal(m.v[0].message_id, "m-1");
    assert_string_equal(m.v[0].receipt_handle, "rh-1");
    assert_string_equal(m.v[0].body, "{\"user_id\":\"u\"}");
    assert_int_equal(m.v[0].body_len, 15);
    assert_true(m.v[0].sent_timestamp_ms == 1700000000123LL);
    assert_string_equal(m.v[1].body, "not json");
    assert_true(m.v[1].sent_timestamp_ms == -1); /* attribute absent */
    sqs_messages_release(&m);
    assert_null(m.v);

    /* an empty queue answers {} */
    assert_int_equal(sqs_parse_receive("{}", 2, &m), 0);
    assert_int_equal(m.n, 0);
    sqs_messages_release(&m);
}

static void test_parse_receive_malformed(void **state)
{
    (void)state;
    struct sqs_messages m;
    static const char no_handle[] = "{\"Messages\":[{\"MessageId\":\"m\",\"Body\":\"b\"}]}";
    assert_int_equal(sqs_parse_receive(no_handle, strlen(no_handle), &m), ML_EJSON);
    assert_non_null(strstr(err_msg(), "lacks MessageId, ReceiptHandle or Body"));
    assert_int_equal(m.n, 0);
    assert_int_equal(sqs_parse_receive("{\"Messages\":{}}", strlen("{\"Messages\":{}}"), &m),
                     ML_EJSON);
    assert_int_equal(sqs_parse_receive("[]", 2, &m), ML_EJSON);
    assert_int_equal(sqs_parse_receive("{\"Messages\":[", strlen("{\"Messages\":["), &m), ML_EJSON);
    /* a bad SentTimestamp does not lose the message, only the time */
    static const char bad_ts[] = "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\","
                                 "\"Body\":\"b\",\"Attributes\":{\"SentTimestamp\":\"12x\"}}]}";
    assert_int_equal(sqs_parse_receive(bad_ts, strlen(bad_ts), &m), 0);
    assert_true(m.v[0].sent_timestamp_ms == -1);
    sqs_messages_release(&m);
}

static void test_parse_delete(void **state)
{
    (void)state;
    unsigned char failed[4];
    struct buf why = BUF_INIT;
    static const char resp[] =
        "{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"2\"}],\"Failed\":[{\"Id\":\"1\","
        "\"SenderFault\":true,\"Code\":\"ReceiptHandleIsInvalid\",\"Message\":\"expired\"}]}";
    assert_int_equal(sqs_parse_delete(resp, strlen(resp), 4, failed, &why), 0);
    assert_int_equal(failed[0], 0);
    assert_int_equal(failed[1], 1);
    assert_int_equal(failed[2], 0);
    assert_int_equal(failed[3], 1); /* neither successful nor failed: not deleted */
    assert_string_equal(why.data, "ReceiptHandleIsInvalid: expired");
    buf_reset(&why);
    assert_int_equal(sqs_parse_delete(ONE_OK, strlen(ONE_OK), 1, failed, &why), 0);
    assert_int_equal(failed[0], 0);
    assert_string_equal(why.data, "");
    /* ids out of range or not numbers are ignored, not trusted */
    assert_int_equal(sqs_parse_delete(BAD_IDS, strlen(BAD_IDS), 1, failed, NULL), 0);
    assert_int_equal(failed[0], 1);
    assert_int_equal(sqs_parse_delete("nope", 4, 1, failed, NULL), ML_EJSON);
    buf_release(&why);
}

static void test_error_text(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    static const char e1[] = "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\","
                             "\"message\":\"The specified queue does not exist.\"}";
    assert_int_equal(sqs_error_text(e1, strlen(e1), &b), 0);
    assert_string_equal(b.data, "QueueDoesNotExist: The specified queue does not exist.");
    buf_reset(&b);
    assert_int_equal(sqs_error_text("<html>", 6, &b), 0);
    assert_string_equal(b.data, "");
    assert_int_equal(sqs_error_text("{\"Message\":\"m\"}", strlen("{\"Message\":\"m\"}"), &b), 0);
    assert_string_equal(b.data, "m");
    buf_release(&b);
}

static void target(const char *q, const char *ep, const char *url, const char *host,
                   const char *path)
{
    struct buf u = BUF_INIT, h = BUF_INIT, p = BUF_INIT;
    assert_int_equal(sqs_request_target(q, ep, &u, &h, &p), 0);
    assert_string_equal(u.data, url);
    assert_string_equal(h.data, host);
    assert_string_equal(p.data, path);
    buf_release(&u);
    buf_release(&h);
    buf_release(&p);
}

static void test_request_target(void **state)
{
    (void)state;
    struct buf u = BUF_INIT, h = BUF_INIT, p = BUF_INIT;
    target(QURL, NULL, "https://sqs.eu-west-1.amazonaws.com/", "sqs.eu-west-1.amazonaws.com", "/");
    /* the endpoint wins whatever host the queue URL names */
    target("http://sqs.us-east-1.localhost:4566/000000000000/q", "http://127.0.0.1:39999",
           "http://127.0.0.1:39999/", "127.0.0.1:39999", "/");
    target(QURL, "https://vpce-1.sqs.eu-west-1.vpce.amazonaws.com/",
           "https://vpce-1.sqs.eu-west-1.vpce.amazonaws.com/",
           "vpce-1.sqs.eu-west-1.vpce.amazonaws.com", "/");
    target(QURL, "http://proxy:8080/sqs", "http://proxy:8080/sqs", "proxy:8080", "/sqs");
    /* user:password@ is never sent */
    target("https://u:p@sqs.eu-west-1.amazonaws.com/1/q", NULL,
           "https://sqs.eu-west-1.amazonaws.com/", "sqs.eu-west-1.amazonaws.com", "/");
    assert_int_equal(sqs_request_target("ftp://x/1/q", NULL, &u, &h, &p), ML_EINVAL);
    assert_int_equal(sqs_request_target(QURL, "http:///", &u, &h, &p), ML_EINVAL);
    buf_release(&u);
    buf_release(&h);
    buf_release(&p);
}

static void test_region_from_url(void **state)
{
    (void)state;
    struct buf r = BUF_INIT;
    assert_int_equal(sqs_region_from_url(QURL, &r), 0);
    assert_string_equal(r.data, "eu-west-1");
    buf_reset(&r);
    assert_int_equal(sqs_region_from_url("https://ap-south-1.queue.amazonaws.com/1/q", &r), 0);
    assert_string_equal(r.data, "ap-south-1");
    buf_reset(&r);
    assert_int_equal(sqs_region_from_url("http://localhost:4566/000000000000/q", &r), ML_EINVAL);
    assert_non_null(strstr(err_msg(), "no region"));
    assert_int_equal(sqs_region_from_url("https://amazonaws.com/1/q", &r), ML_EINVAL);
    buf_release(&r);
}

static void test_client_needs_credentials(void **state)
{
    (void)state;
    struct sqs_client *c = NULL;
    struct sqs_options o = {0};
    o.queue_url = QURL;
    o.region = "eu-west-1";
    o.access_key_id = "AKID";
    assert_int_equal(sqs_client_new(&o, &c), ML_EINVAL);
    assert_null(c);
    o.secret_access_key = "secret";
    assert_int_equal(sqs_client_new(&o, &c), 0);
    assert_non_null(c);
    sqs_client_free(c);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A call that fails transiently (nothing listens on port 1) is retried with
 * the retry policy's waits (at least 125 + 250 ms over three attempts); a
 * stop request (SIGINT/SIGTERM) ends the wait at once, with no further
 * attempt. */
static void test_retry_wait_ends_on_stop(void **state)
{
    (void)state;
    struct sqs_client *c = NULL;
    struct sqs_messages m;
    struct sqs_options o = {0};
    double t0, slow, fast;
    o.queue_url = "http://127.0.0.1:1/123456789012/q";
    o.region = "eu-west-1";
    o.access_key_id = "AKID";
    o.secret_access_key = "secret";
    o.connect_timeout_s = 2;
    assert_int_equal(sqs_client_new(&o, &c), 0);
    retry_clear_stop();
    memset(&m, 0, sizeof(m));
    t0 = now_s();
    assert_int_not_equal(sqs_receive(c, 1, 0, 30, &m), 0);
    slow = now_s() - t0;
    sqs_messages_release(&m);
    retry_request_stop();
    memset(&m, 0, sizeof(m));
    t0 = now_s();
    assert_int_not_equal(sqs_receive(c, 1, 0, 30, &m), 0);
    fast = now_s() - t0;
    sqs_messages_release(&m);
    assert_non_null(strstr(err_msg(), "not retried"));
    retry_clear_stop();
    assert_true(slow >= 0.37);
    assert_true(fast < 0.1);
    sqs_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receive_request),
        cmocka_unit_test(test_delete_request),
        cmocka_unit_test(test_parse_receive),
        cmocka_unit_test(test_parse_receive_malformed),
        cmocka_unit_test(test_parse_delete),
        cmocka_unit_test(test_error_text),
        cmocka_unit_test(test_request_target),
        cmocka_unit_test(test_region_from_url),
        cmocka_unit_test(test_client_needs_credentials),
        cmocka_unit_test(test_retry_wait_ends_on_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
