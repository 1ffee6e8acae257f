/* test_sigv4.c - the SigV4 signer against AWS's published test suite
 * (../shared/testdata/aws-sig-v4-test-suite, or $MASKLOAD_SIGV4_SUITE): for
 * every case folder, the canonical request, the string to sign and the
 * Authorization header must match the .creq, .sts and .authz files byte for
 * byte. Reports a skip when the suite is absent. Plus must-fail cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "sigv4.h"
#include "banned.h"

#ifndef MASKLOAD_SOURCE_DIR
#define MASKLOAD_SOURCE_DIR "."
#endif

#define MAX_HEADERS 32

static const struct sigv4_credentials suite_cred = {
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};

static const char *suite_dir(void)
{
    const char *env = getenv("MASKLOAD_SIGV4_SUITE");
    return env && *env ? env : MASKLOAD_SOURCE_DIR "/../shared/testdata/aws-sig-v4-test-suite";
}

static int read_file(const char *path, struct buf *out)
{
    char chunk[4096];
    size_t n;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(out, chunk, n);
    fclose(f);
    return 0;
}

/* One parsed .req file; strings point into `text`. */
struct parsed_req {
    struct buf text;
    char *method, *path, *query, *body;
    char *headers[MAX_HEADERS];
    struct buf hdrbuf[MAX_HEADERS];
    size_t nheaders;
};

/* "METHOD TARGET HTTP/1.1\nName:value\n  continuation\n...\n\nbody". A
 * continuation line is another value of the previous header. */
static int parse_req(struct parsed_req *r, const char *path)
{
    char *line, *next, *sp;
    char prev_name[128] = "";
    memset(r, 0, sizeof(*r));
    if (read_file(path, &r->text))
        return -1;
    line = r->text.data;
    next = strchr(line, '\n');
    if (next)
        *next++ = '\0';
    r->method = line;
    sp = strchr(line, ' ');
    if (!sp)
        return -1;
    *sp = '\0';
    r->path = sp + 1;
    sp = strrchr(r->path, ' '); /* " HTTP/1.1" */
    if (!sp)
        return -1;
    *sp = '\0';
    sp = strchr(r->path, '?');
    if (sp) {
        *sp = '\0';
        r->query = sp + 1;
    }
    r->body = "";
    while (next) {
        line = next;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (*line == '\0') {
            r->body = next ? next : "";
            break;
        }
        if (r->nheaders == MAX_HEADERS)
            return -1;
        buf_init(&r->hdrbuf[r->nheaders], 0);
        if (*line == ' ' || *line == '\t') {
            buf_addf(&r->hdrbuf[r->nheaders], "%s:%s", prev_name, line);
        } else {
            char *colon = strchr(line, ':');
            size_t n = colon ? (size_t)(colon - line) : 0;
            if (!colon || n >= sizeof(prev_name))
                return -1;
            memcpy(prev_name, line, n);
            prev_name[n] = '\0';
            buf_adds(&r->hdrbuf[r->nheaders], line);
        }
        r->headers[r->nheaders] = r->hdrbuf[r->nheaders].data;
        r->nheaders++;
    }
    return 0;
}

static void parsed_req_release(struct parsed_req *r)
{
    for (size_t i = 0; i < r->nheaders; i++)
        buf_release(&r->hdrbuf[i]);
    buf_release(&r->text);
}

static const char *header_value(const struct parsed_req *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->nheaders; i++)
        if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
            return r->headers[i] + n + 1;
    return NULL;
}

static void expect_file(const char *dir, const char *name, const char *ext, const char *actual)
{
    struct buf path = BUF_INIT, want = BUF_INIT;
    buf_addf(&path, "%s/%s.%s", dir, name, ext);
    if (read_file(path.data, &want))
        fail_msg("cannot read %s", path.data);
    buf_release(&path);
    if (strcmp(want.data, actual) != 0)
        fail_msg("case %s: %s differs\n--- want\n%s\n--- got\n%s", name, ext, want.data, actual);
    buf_release(&want);
}

/* Runs one case folder; returns 1 when a case was checked. */
static int run_case(const char *dir, const char *name)
{
    struct buf path = BUF_INIT;
    struct parsed_req req;
    struct buf creq = BUF_INIT, sh = BUF_INIT, sts = BUF_INIT, authz = BUF_INIT;
    struct sigv4_credentials cred = suite_cred;
    struct sigv4_request r;
    buf_addf(&path, "%s/%s.req", dir, name);
    if (access(path.data, R_OK) != 0) {
        buf_release(&path);
        return 0;
    }
    if (parse_req(&req, path.data))
        fail_msg("cannot parse %s", path.data);
    buf_release(&path);
    const char *token = header_value(&req, "X-Amz-Security-Token");
    if (token)
        cred.session_token = token;
    memset(&r, 0, sizeof(r));
    r.method = req.method;
    r.path = req.path;
    r.query = req.query;
    r.headers = (const char *const *)req.headers;
    r.nheaders = req.nheaders;
    r.payload = req.body;
    r.payload_len = strlen(req.body);
    r.region = "us-east-1";
    r.service = "service";
    r.amz_date = header_value(&req, "X-Amz-Date");
    assert_non_null(r.amz_date);

    assert_int_equal(sigv4_canonical_request(&r, &creq, &sh), 0);
    expect_file(dir, name, "creq", creq.data);
    assert_int_equal(sigv4_string_to_sign(&r, creq.data, creq.len, &sts), 0);
    expect_file(dir, name, "sts", sts.data);
    assert_int_equal(sigv4_authorization(&r, &cred, &authz), 0);
    expect_file(dir, name, "authz", authz.data);

    buf_release(&creq);
    buf_release(&sh);
    buf_release(&sts);
    buf_release(&authz);
    parsed_req_release(&req);
    return 1;
}

/* Walks the suite two levels deep (normalize-path/ and post-sts-token/ hold
 * case folders). */
static int walk(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        struct buf sub = BUF_INIT;
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        buf_addf(&sub, "%s/%s", dir, e->d_name);
        if (stat(sub.data, &st) == 0 && S_ISDIR(st.st_mode)) {
            n += run_case(sub.data, e->d_name);
            if (depth < 2)
                n += walk(sub.data, depth + 1);
        }
        buf_release(&sub);
    }
    closedir(d);
    return n;
}

static void test_aws_suite(void **state)
{
    (void)state;
    struct stat st;
    if (stat(suite_dir(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        print_message("SKIP: AWS SigV4 test suite not found at %s (set MASKLOAD_SIGV4_SUITE)\n",
                      suite_dir());
        skip();
    }
    int n = walk(suite_dir(), 1);
    print_message("checked %d AWS SigV4 cases from %s\n", n, suite_dir());
    /* the suite has 28 cases; fewer means the walk or the parser broke */
    assert_true(n >= 28);
}

/* The get-vanilla case built by hand, so that the signer is checked even when
 * the suite is absent (its expected values are AWS's documented ones). */
static struct sigv4_request vanilla(const char *const *headers, size_t n)
{
    struct sigv4_request r = {0};
    r.method = "GET";
    r.path = "/";
    r.headers = headers;
    r.nheaders = n;
    r.region = "us-east-1";
    r.service = "service";
    r.amz_date = "20150830T123600Z";
    return r;
}

static const char *const vanilla_headers[] = {"Host:example.amazonaws.com",
                                              "X-Amz-Date:20150830T123600Z"};

static void test_vanilla_builtin(void **state)
{
    (void)state;
    struct buf authz = BUF_INIT;
    struct sigv4_request r = vanilla(vanilla_headers, 2);
    assert_int_equal(sigv4_authorization(&r, &suite_cred, &authz), 0);
    assert_string_equal(
        authz.data, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                    "aws4_request, SignedHeaders=host;x-amz-date, "
                    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    buf_release(&authz);
}

/* must-fail: a different secret, region or payload gives a different signature */
static void test_signature_depends_on_inputs(void **state)
{
    (void)state;
    struct buf a = BUF_INIT, b = BUF_INIT, c = BUF_INIT;
    struct sigv4_credentials other = suite_cred;
    struct sigv4_request r = vanilla(vanilla_headers, 2);
    other.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ";
    assert_int_equal(sigv4_authorization(&r, &suite_cred, &a), 0);
    assert_int_equal(sigv4_authorization(&r, &other, &b), 0);
    assert_string_not_equal(a.data, b.data);
    r.payload = "x";
    r.payload_len = 1;
    assert_int_equal(sigv4_authorization(&r, &suite_cred, &c), 0);
    assert_string_not_equal(a.data, c.data);
    /* the secret never appears in what the signer returns */
    assert_null(strstr(b.data, "EXAMPLEKEZ"));
    buf_release(&a);
    buf_release(&b);
    buf_release(&c);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    struct buf out = BUF_INIT, sh = BUF_INIT;
    struct sigv4_request r = vanilla(vanilla_headers, 2);
    struct sigv4_credentials none = {NULL, NULL, NULL};
    static const char *const bad_headers[] = {"Host example.amazonaws.com"};

    r.amz_date = "2015-08-30T12:36:00Z";
    assert_int_equal(sigv4_canonical_request(&r, &out, &sh), ML_EINVAL);
    assert_non_null(strstr(err_msg(), "malformed date"));

    r = vanilla(bad_headers, 1);
    assert_int_equal(sigv4_canonical_request(&r, &out, &sh), ML_EINVAL);

    r = vanilla(vanilla_headers, 2);
    assert_int_equal(sigv4_authorization(&r, &none, &out), ML_EINVAL);
    r.region = "";
    assert_int_equal(sigv4_authorization(&r, &suite_cred, &out), ML_EINVAL);
    buf_release(&out);
    buf_release(&sh);
}

static void test_amz_date(void **state)
{
    (void)state;
    char d[SIGV4_DATE_LEN];
    sigv4_amz_date((time_t)1440938160, d); /* 2015-08-30 12:36:00 UTC */
    assert_string_equal(d, "20150830T123600Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vanilla_builtin), cmocka_unit_test(test_signature_depends_on_inputs),
        cmocka_unit_test(test_bad_inputs),      cmocka_unit_test(test_amz_date),
        cmocka_unit_test(test_aws_suite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
