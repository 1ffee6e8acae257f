/* test_bulk.c - unit tests of the bulk path's pieces that need no server:
 * the LOAD DATA field/line escaping (every byte value round-trips through a
 * decoder that follows the server's documented rules for FIELDS TERMINATED
 * BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n'), whole rows of a mapped
 * batch, and the in-memory infile handler, which serves only its buffer
 * whatever file name it is given and never opens a file (open/fopen are
 * interposed and counted while it runs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "buf.h"
#include "bulk.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "mapping.h"
#include "banned.h"

/* ---- open/fopen interposition: counts calls while `watching` ---- */

static int watching;
static int opens;

int open(const char *path, int flags, ...);
int open64(const char *path, int flags, ...);
int openat(int dirfd, const char *path, int flags, ...);
FILE *fopen(const char *path, const char *mode);
FILE *fopen64(const char *path, const char *mode);

static unsigned open_mode(va_list ap)
{
    return va_arg(ap, unsigned);
}

int open(const char *path, int flags, ...)
{
    int (*real)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
    va_list ap;
    unsigned mode;
    va_start(ap, flags);
    mode = open_mode(ap);
    va_end(ap);
    if (watching)
        opens++;
    return real(path, flags, mode);
}
int open64(const char *path, int flags, ...)
{
    int (*real)(const char *, int, ...) =
        (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open64");
    va_list ap;
    unsigned mode;
    va_start(ap, flags);
    mode = open_mode(ap);
    va_end(ap);
    if (watching)
        opens++;
    return real(path, flags, mode);
}
int openat(int dirfd, const char *path, int flags, ...)
{
    int (*real)(int, const char *, int, ...) =
        (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
    va_list ap;
    unsigned mode;
    va_start(ap, flags);
    mode = open_mode(ap);
    va_end(ap);
    if (watching)
        opens++;
    return real(dirfd, path, flags, mode);
}
FILE *fopen(const char *path, const char *mode)
{
    FILE *(*real)(const char *, const char *) =
        (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen");
    if (watching)
        opens++;
    return real(path, mode);
}
FILE *fopen64(const char *path, const char *mode)
{
    FILE *(*real)(const char *, const char *) =
        (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen64");
    if (watching)
        opens++;
    return real(path, mode);
}

/* ---- a reference decoder of one line (the server's rules) ----
 * Splits at unescaped tabs; \0 \b \n \r \t \Z map to their bytes, \N alone
 * is NULL, \x is x. Returns the number of fields; field i is out[i] (NULL for
 * SQL NULL) with length lens[i]. */
#define MAX_FIELDS 16
static size_t decode_line(const char *s, size_t len, char *store, char **out, size_t *lens)
{
    size_t nf = 0, i = 0;
    char *d = store;
    for (;;) {
        char *start = d;
        int was_null = 0;
        if (i + 2 <= len && s[i] == '\\' && s[i + 1] == 'N' && (i + 2 == len || s[i + 2] == '\t'))
            was_null = 1, i += 2;
        while (!was_null && i < len && s[i] != '\t') {
            if (s[i] == '\\' && i + 1 < len) {
                char e = s[i + 1];
                *d++ = e == '0'   ? '\0'
                       : e == 'b' ? '\b'
                       : e == 'n' ? '\n'
                       : e == 'r' ? '\r'
                       : e == 't' ? '\t'
                       : e == 'Z' ? (char)0x1a
                                  : e;
                i += 2;
            } else {
                *d++ = s[i++];
            }
        }
        assert_true(nf < MAX_FIELDS);
        out[nf] = was_null ? NULL : start;
        lens[nf] = was_null ? 0 : (size_t)(d - start);
        nf++;
        if (i >= len)
            return nf;
        i++; /* the tab */
    }
}

static void roundtrip(const char *v, size_t n)
{
    struct buf b = BUF_INIT;
    char *store = malloc(n + 1);
    char *f[MAX_FIELDS];
    size_t lens[MAX_FIELDS];
    assert_int_equal(0, bulk_tsv_field(&b, v, n));
    /* no raw separator survives: the line and its fields split unambiguously */
    assert_null(memchr(b.data, '\t', b.len));
    assert_null(memchr(b.data, '\n', b.len));
    assert_null(memchr(b.data, '\0', b.len));
    assert_int_equal(1, decode_line(b.data, b.len, store, f, lens));
    assert_non_null(f[0]);
    assert_int_equal(n, lens[0]);
    assert_memory_equal(v, f[0], n);
    free(store);
    buf_release(&b);
}

static void test_field_escapes(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;
    assert_int_equal(0, bulk_tsv_field(&b, "a\tb\nc\\d\re\032f", 11));
    assert_string_equal("a\\tb\\nc\\\\d\\re\\Zf", b.data);
    buf_reset(&b);
    assert_int_equal(0, bulk_tsv_field(&b, "x\0y", 3));
    assert_int_equal(4, b.len);
    assert_memory_equal("x\\0y", b.data, 4);
    buf_reset(&b);
    /* the text \N is not NULL, and NULL is not the text */
    assert_int_equal(0, bulk_tsv_field(&b, "\\N", 2));
    assert_string_equal("\\\\N", b.data);
    buf_reset(&b);
    assert_int_equal(0, bulk_tsv_null(&b));
    assert_string_equal("\\N", b.data);
    buf_reset(&b);
    assert_int_equal(0, bulk_tsv_field(&b, "plain UTF-8 São Zürich NULL", 29));
    assert_string_equal("plain UTF-8 São Zürich NULL", b.data);
    buf_release(&b);
}

static void test_roundtrip_every_byte(void **state)
{
    char all[256];
    (void)state;
    for (int c = 0; c < 256; c++) {
        char one = (char)c;
        all[c] = (char)c;
        roundtrip(&one, 1);
    }
    roundtrip(all, sizeof(all));
    roundtrip("", 0);
    roundtrip("\\", 1);
    roundtrip("\\N", 2);
    roundtrip("N", 1);
    roundtrip("\\\\\\", 3);
}

static void test_roundtrip_random(void **state)
{
    unsigned long long x = 0x9E3779B97F4A7C15ull;
    char v[64];
    static const char special[] = "\\\t\n\r\0\032N";
    (void)state;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n;
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        n = (size_t)(x >> 58);
        for (size_t i = 0; i < n; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            /* mostly separators and escapes, to hit their combinations */
            v[i] = (x >> 60) < 12 ? special[(x >> 33) % 8] : (char)(x >> 40);
        }
        roundtrip(v, n);
    }
}

static void test_null_versus_text(void **state)
{
    struct buf b = BUF_INIT;
    char store[64];
    char *f[MAX_FIELDS];
    size_t lens[MAX_FIELDS];
    (void)state;
    assert_int_equal(0, bulk_tsv_null(&b));
    assert_int_equal(0, buf_addc(&b, '\t'));
    assert_int_equal(0, bulk_tsv_field(&b, "\\N", 2));
    assert_int_equal(0, buf_addc(&b, '\t'));
    assert_int_equal(0, bulk_tsv_field(&b, "", 0));
    assert_int_equal(0, buf_addc(&b, '\t'));
    assert_int_equal(0, bulk_tsv_null(&b));
    assert_int_equal(4, decode_line(b.data, b.len, store, f, lens));
    assert_null(f[0]);
    assert_non_null(f[1]);
    assert_int_equal(2, lens[1]);
    assert_memory_equal("\\N", f[1], 2);
    assert_non_null(f[2]);
    assert_int_equal(0, lens[2]);
    assert_null(f[3]);
    buf_release(&b);
}

static void test_row_of_a_batch(void **state)
{
    static const char rec[] = "{\"id\":\"42\",\"createdAt\":\"2021-11-01T08:15:00.000Z\","
                              "\"senderId\":\"-7\",\"message\":\"dropped\"}";
    struct batch *b = batch_new(mapping_find("messages"));
    json_doc *doc = NULL;
    struct map_options mopt = {0};
    struct buf out = BUF_INIT;
    (void)state;
    assert_non_null(b);
    assert_int_equal(0, json_parse(rec, sizeof(rec) - 1, &doc));
    assert_int_equal(0, mapping_map_record(b, json_root(doc), &mopt, "test#0"));
    struct table_rows *rows = batch_rows(b, BATCH_MAIN);
    assert_int_equal(1, rows->nrows);
    assert_int_equal(0, bulk_tsv_row(&out, b, rows, 0));
    /* message_id, created_at, sender_id, receiver_id (absent -> NULL) */
    assert_string_equal("42\t2021-11-01 08:15:00.000\t-7\t\\N\n", out.data);
    buf_release(&out);
    json_free(doc);
    batch_free(b);
}

static void test_row_refuses_unresolved_surrogate(void **state)
{
    static const char rec[] = "{\"id\":\"1\",\"createdAt\":\"2021-01-05T09:12:33.101Z\","
                              "\"city\":\"Zürich\"}";
    struct batch *b = batch_new(mapping_find("users"));
    json_doc *doc = NULL;
    struct map_options mopt = {0};
    struct buf out = BUF_INIT;
    (void)state;
    assert_non_null(b);
    assert_int_equal(0, json_parse(rec, sizeof(rec) - 1, &doc));
    assert_int_equal(0, mapping_map_record(b, json_root(doc), &mopt, "test#0"));
    struct table_rows *rows = batch_rows(b, BATCH_MAIN);
    assert_int_equal(1, rows->nrows);
    /* must fail: the city is still a pending PII value, never sent as text */
    assert_int_equal(ML_EINTERNAL, bulk_tsv_row(&out, b, rows, 0));
    assert_null(strstr(out.data, "Zürich"));
    buf_release(&out);
    json_free(doc);
    batch_free(b);
}

static void test_infile_serves_buffer_never_files(void **state)
{
    static const char data[] = "1\tx\n2\t\\N\n";
    struct bulk_source src = {data, sizeof(data) - 1, 0};
    struct db_infile ops;
    static const char *const names[] = {"/etc/passwd", "maskload-batch", "../../secret", ""};
    (void)state;
    bulk_infile(&ops, &src);
    opens = 0;
    watching = 1;
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        void *st = NULL;
        char got[64];
        size_t len = 0;
        int n;
        assert_int_equal(0, ops.init(&st, names[k], ops.userdata));
        /* small reads: the handler must continue where it stopped */
        while ((n = ops.read(st, got + len, 3)) > 0)
            len += (size_t)n;
        assert_int_equal(0, n);
        ops.end(st);
        assert_int_equal(sizeof(data) - 1, len);
        assert_memory_equal(data, got, len);
    }
    watching = 0;
    assert_int_equal(0, opens);
    /* the counter works: a real open is seen (must-fail companion) */
    watching = 1;
    FILE *f = fopen("/dev/null", "r");
    watching = 0;
    assert_non_null(f);
    fclose(f);
    assert_int_equal(1, opens);
}

/* buf_add_int: what "%lld" writes, appended, at the ends of the range */
static void test_add_int(void **state)
{
    const long long v[] = {0, 7, -1, 42, -9001, LLONG_MAX, LLONG_MIN};
    struct buf out = BUF_INIT, want = BUF_INIT;
    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(0, buf_adds(&out, "|"));
        assert_int_equal(0, buf_add_int(&out, v[i]));
        assert_int_equal(0, buf_addf(&want, "|%lld", v[i]));
    }
    assert_string_equal(want.data, out.data);
    assert_string_equal("|0|7|-1|42|-9001|9223372036854775807|-9223372036854775808", out.data);
    buf_release(&out);
    buf_release(&want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_escapes),
        cmocka_unit_test(test_add_int),
        cmocka_unit_test(test_roundtrip_every_byte),
        cmocka_unit_test(test_roundtrip_random),
        cmocka_unit_test(test_null_versus_text),
        cmocka_unit_test(test_row_of_a_batch),
        cmocka_unit_test(test_row_refuses_unresolved_surrogate),
        cmocka_unit_test(test_infile_serves_buffer_never_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
