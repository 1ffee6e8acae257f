/* fuzz_json.c - libFuzzer target: the contract of loader/json.h on any bytes.
 *
 * (a) The input as one document (json_parse). A document that parses prints;
 *     the print parses again and prints the same bytes; every accessor on
 *     every node answers consistently (types, lengths, exact integers).
 * (b) The input as a page (json_page_set_array on a copy in a struct buf).
 *     Every record of a page that splits parses or is rejected as a record
 *     (0 or ML_ERECORD), into ONE reused json_doc, with the verdict
 *     json_parse gives its text; the records' texts fit in the input. When
 *     the input parsed as an array in (a), it splits into the same elements,
 *     each of which parses and prints as it did inside the whole document.
 * (c) The input as JSON Lines: json_page_add_record per '\n'-separated line,
 *     with its line number, then every record parsed as in (b).
 * Any other outcome aborts.
 */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "json.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_number(const json_node *n)
{
    size_t len = 0;
    const char *text = json_number_text(n, &len);
    long long v = 42;
    unsigned long long u = 42;
    int rs = json_int64(n, &v);
    int ru = json_uint64(n, &u);

    if (!text || len == 0 || strlen(text) != len)
        abort();
    if ((rs && rs != ML_ERECORD) || (ru && ru != ML_ERECORD))
        abort();
    if ((rs && v != 42) || (ru && u != 42))
        abort(); /* *out untouched on failure */
    bool integer = !strpbrk(text, ".eE");
    if (!integer && (!rs || !ru))
        abort(); /* "not an integer" */
    if (!rs) {
        /* exact: the decimal text of the value is the token ("-0" aside) */
        char dec[32];
        snprintf(dec, sizeof(dec), "%lld", v);
        if (strcmp(dec, text) != 0 && !(v == 0 && strcmp(text, "-0") == 0))
            abort();
        if (v >= 0 && (ru || u != (unsigned long long)v))
            abort();
    }
    if (!ru) {
        char dec[32];
        snprintf(dec, sizeof(dec), "%llu", u);
        if (strcmp(dec, text) != 0 && !(u == 0 && strcmp(text, "-0") == 0))
            abort();
        if (u <= (unsigned long long)LLONG_MAX && rs)
            abort();
    }
    if (integer) {
        size_t digits = len - (text[0] == '-');
        if (digits <= 18 && rs)
            abort(); /* 18 digits fit int64 */
        if (digits <= 19 && text[0] != '-' && ru)
            abort(); /* 19 digits fit uint64 */
    }
}

static void check_string(const json_node *n)
{
    size_t len = 99;
    const char *s = json_string_len(n, &len);
    const char *problem = json_string_problem(n);
    const char *whole = json_string(n);

    if (s) {
        if (problem || s[len] != '\0')
            abort();
        if (memchr(s, '\0', len)) {
            if (whole)
                abort(); /* never handed out cut at the NUL */
        } else if (!whole || strlen(whole) != len || memcmp(whole, s, len) != 0) {
            abort();
        }
    } else {
        if (len != 0 || !problem || whole)
            abort(); /* unreadable only with a reason */
        if (!strstr(problem, "\\u"))
            abort(); /* the reason names the escape */
    }
}

/* Every accessor on `n` and below. */
static void walk(const json_node *n, unsigned depth)
{
    enum json_type t = json_type(n);
    size_t len = 99;

    if (depth > JSON_MAX_DEPTH + 1 || t == JSON_ABSENT || !json_type_name(t))
        abort();
    if ((json_number_text(n, &len) != NULL) != (t == JSON_NUMBER))
        abort();
    if (t == JSON_NUMBER) {
        check_number(n);
    } else {
        long long v = 42;
        unsigned long long u = 42;
        if (json_int64(n, &v) != ML_ERECORD || json_uint64(n, &u) != ML_ERECORD)
            abort();
    }
    if (t == JSON_STRING) {
        check_string(n);
    } else {
        len = 99;
        if (json_string_len(n, &len) || len != 0 || json_string(n) || json_string_problem(n))
            abort();
    }
    (void)json_bool(n);

    size_t count = 0;
    for (const json_node *c = json_child(n); c; c = json_next(c), count++) {
        const char *key = json_key(c);
        if ((key != NULL) != (t == JSON_OBJECT))
            abort();
        if (key) {
            /* the last member of that key, which json_get finds */
            const json_node *found = json_get(n, key);
            if (!found || strcmp(json_key(found), key) != 0)
                abort();
        }
        walk(c, depth + 1);
    }
    if (count != json_array_size(n))
        abort();
    if (count && t != JSON_ARRAY && t != JSON_OBJECT)
        abort();
}

/* json_print of `n` into `out` (reset first); the print parses and prints
 * the same bytes again. */
static void check_print(const json_node *n, struct buf *out)
{
    struct buf again = BUF_INIT;
    json_doc *back = NULL;

    buf_reset(out);
    if (json_print(n, out))
        abort();
    if (json_parse(out->data, out->len, &back))
        abort(); /* what we print must parse */
    if (json_print(json_root(back), &again))
        abort();
    if (again.len != out->len || memcmp(again.data, out->data, out->len) != 0)
        abort();
    json_free(back);
    buf_release(&again);
}

static void check_doc(const json_node *root)
{
    struct buf out = BUF_INIT;
    if (json_key(root))
        abort();
    walk(root, 1);
    check_print(root, &out);
    buf_release(&out);
}

/* Every record of `pg` parses (0) or is rejected (ML_ERECORD) into `doc`, as
 * json_parse judges its text; their texts add up to at most `size` bytes.
 * When `whole` (the input parsed as an array) is given, record i is its
 * element i: it parses and prints the same. */
static void check_records(const json_page *pg, json_doc *doc, size_t size, const json_node *whole)
{
    size_t total = 0;
    const json_node *elem = json_child(whole);
    struct buf a = BUF_INIT, b = BUF_INIT;

    for (size_t i = 0; i < json_page_count(pg); i++) {
        size_t len = 0;
        const char *text = json_page_record_text(pg, i, &len);
        if (!text)
            abort();
        total += len;
        int rc = json_page_parse_record(pg, i, doc);
        if (rc == ML_ENOMEM)
            goto next;
        if (rc != 0 && rc != ML_ERECORD)
            abort();
        if (rc == 0)
            check_doc(json_root(doc));
        else if (json_type(json_root(doc)) != JSON_ABSENT)
            abort();
        if (whole) {
            if (rc != 0 || !elem)
                abort();
            check_print(json_root(doc), &a);
            check_print(elem, &b);
            if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
                abort();
        }
        /* A record is judged as the same text alone. (A record text that
         * itself starts with a BOM is left out: whether a second BOM is
         * skipped is not the contract's to say.) */
        if (len < 3 || memcmp(text, "\xEF\xBB\xBF", 3) != 0) {
            json_doc *alone = NULL;
            int rc_alone = json_parse(text, len, &alone);
            if (rc_alone != ML_ENOMEM && (rc == 0) != (rc_alone == 0))
                abort();
            json_free(alone);
        }
    next:
        elem = json_next(elem);
    }
    if (whole && elem)
        abort();
    if (total > size)
        abort();
    buf_release(&a);
    buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = data ? (const char *)data : "";
    json_doc *whole = NULL;
    json_doc *doc = json_doc_new();
    json_page *pg = json_page_new();
    struct buf copy = BUF_INIT;

    if (!doc || !pg)
        goto out;

    /* (a) one document */
    int rc = json_parse(text, size, &whole);
    if (rc == 0)
        check_doc(json_root(whole));
    else if (rc != ML_EJSON && rc != ML_ENOMEM && rc != ML_ETOOBIG)
        abort();
    else if (whole)
        abort();

    /* (b) a page */
    if (buf_add(&copy, text, size))
        goto out;
    rc = json_page_set_array(pg, &copy);
    if (rc == 0) {
        if (copy.len != 0)
            abort(); /* the page took the bytes */
        const json_node *arr = json_root(whole);
        if (json_type(arr) != JSON_ARRAY)
            arr = NULL;
        if (arr && json_page_count(pg) != json_array_size(arr))
            abort();
        check_records(pg, doc, size, arr);
    } else if (rc != ML_EJSON && rc != ML_ENOMEM) {
        abort();
    } else {
        if (json_page_count(pg) != 0)
            abort();
        if (rc == ML_EJSON && json_type(json_root(whole)) == JSON_ARRAY)
            abort(); /* an array that parses whole is an array of records */
    }

    /* (c) JSON Lines */
    json_page_reset(pg);
    if (json_page_count(pg) != 0)
        abort();
    size_t start = 0, nlines = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && text[i] != '\n')
            continue;
        if (json_page_add_record(pg, text + start, i - start, nlines + 1))
            goto out; /* ML_ENOMEM */
        nlines++;
        start = i + 1;
    }
    if (json_page_count(pg) != nlines)
        abort();
    for (size_t i = 0; i < nlines; i++)
        if (json_page_line(pg, i) != i + 1)
            abort();
    check_records(pg, doc, size, NULL);

out:
    buf_release(&copy);
    json_page_free(pg);
    json_free(doc);
    json_free(whole);
    return 0;
}
