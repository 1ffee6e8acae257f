/* test_pii.c - unit tests of the PII policy's value transformations:
 * e-mail domains, per-kind normalisation (trim; canonical IP text) and the
 * surrogate digest (SHA-256 or HMAC-SHA256 over kind || 0x00 || value),
 * checked against digests computed independently with OpenSSL here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "error.h"
#include "pii.h"
#include "pii_key.h"
#include "banned.h"

/* ---- helpers ---- */

static void domain_ok(const char *email, const char *want)
{
    struct buf out = BUF_INIT;
    int rc = pii_email_domain(email, &out);
    if (rc != 0)
        fail_msg("pii_email_domain('%s') failed: %d %s", email, rc, err_msg());
    if (strcmp(out.data, want) != 0 || out.len != strlen(want))
        fail_msg("pii_email_domain('%s') = '%s', want '%s'", email, out.data, want);
    buf_wipe(&out);
}

static void domain_bad(const char *email)
{
    struct buf out = BUF_INIT;
    int rc = pii_email_domain(email, &out);
    if (rc != ML_ERECORD)
        fail_msg("pii_email_domain('%s') = %d ('%s'), want ML_ERECORD", email, rc, out.data);
    /* the message must not quote the address (it is PII) */
    if (strchr(email, '@') && strstr(err_msg(), email))
        fail_msg("error message '%s' quotes the address", err_msg());
    buf_wipe(&out);
}

static void norm_ok(const char *kind, const char *value, const char *want)
{
    struct buf out = BUF_INIT;
    int rc = pii_normalise(kind, NORM_TRIM, value, strlen(value), &out);
    if (rc != 0)
        fail_msg("pii_normalise('%s', trim, '%s') failed: %d %s", kind, value, rc, err_msg());
    if (strcmp(out.data, want) != 0 || out.len != strlen(want))
        fail_msg("pii_normalise('%s', trim, '%s') = '%s', want '%s'", kind, value, out.data, want);
    buf_wipe(&out);
}

static void hex_of(const unsigned char d[CRYPTO_DIGEST_LEN], char hex[2 * CRYPTO_DIGEST_LEN + 1])
{
    crypto_hex(d, CRYPTO_DIGEST_LEN, hex);
}

/* ---- crypto known answers ---- */

static void test_sha256_known_answer(void **state)
{
    (void)state;
    unsigned char d[CRYPTO_DIGEST_LEN];
    char hex[2 * CRYPTO_DIGEST_LEN + 1];
    assert_int_equal(crypto_sha256("abc", 3, d), 0);
    hex_of(d, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(crypto_sha256("", 0, d), 0);
    hex_of(d, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_hmac_known_answer(void **state)
{
    (void)state;
    /* RFC 4231 test case 2 */
    unsigned char d[CRYPTO_DIGEST_LEN];
    char hex[2 * CRYPTO_DIGEST_LEN + 1];
    const char *data = "what do ya want for nothing?";
    assert_int_equal(crypto_hmac_sha256("Jefe", 4, data, strlen(data), d), 0);
    hex_of(d, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_crypto_hex(void **state)
{
    (void)state;
    const unsigned char in[] = {0x00, 0x0f, 0xa5, 0xff};
    char hex[9];
    memset(hex, 'x', sizeof(hex));
    crypto_hex(in, sizeof(in), hex);
    assert_string_equal(hex, "000fa5ff");
    crypto_hex(in, 0, hex);
    assert_string_equal(hex, "");
}

/* ---- pii_email_domain ---- */

static void test_email_domain_ok(void **state)
{
    (void)state;
    domain_ok("ada@example.com", "example.com");
    domain_ok("ada@Example.COM", "example.com");
    domain_ok("  Ada.Lovelace+tag@Mail.Example.ORG \t\n", "mail.example.org");
    domain_ok("a@b", "b");
}

static void test_email_domain_output_replaced(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    assert_int_equal(buf_adds(&out, "previous content"), 0);
    assert_int_equal(pii_email_domain("x@Y.de", &out), 0);
    assert_string_equal(out.data, "y.de");
    assert_int_equal(out.len, 4);
    buf_wipe(&out);
}

static void test_email_domain_bad(void **state)
{
    (void)state;
    domain_bad("ada.example.com");      /* no '@' */
    domain_bad("ada@mail@example.com"); /* two '@' */
    domain_bad("@example.com");         /* empty local part */
    domain_bad("  @example.com");
    domain_bad("ada@"); /* empty domain */
    domain_bad("ada@   ");
    domain_bad("@");
    domain_bad("");
    domain_bad("   ");
}

/* ---- pii_normalise ---- */

static void test_normalise_trims(void **state)
{
    (void)state;
    norm_ok("city", "Berlin", "Berlin");
    norm_ok("city", "  Berlin \t\n", "Berlin");
    norm_ok("city", "  Bad  Homburg  ", "Bad  Homburg"); /* inner spaces kept */
    norm_ok("city", "Z\xc3\xbcrich", "Z\xc3\xbcrich");
    norm_ok("zipcode", " 10115 ", "10115");
    norm_ok("profession", "   ", ""); /* empty = no value */
    norm_ok("profession", "", "");
    /* only the city kind: an IP-looking city is not rewritten */
    norm_ok("city", " 2001:DB8:0:0:0:0:0:1 ", "2001:DB8:0:0:0:0:0:1");
}

static void test_normalise_respects_len(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    const char *v = " Berlin-and-more";
    assert_int_equal(pii_normalise("city", NORM_TRIM, v, 7, &out), 0);
    assert_string_equal(out.data, "Berlin");
    /* replaces earlier content */
    assert_int_equal(pii_normalise("city", NORM_TRIM, "Paris", 5, &out), 0);
    assert_string_equal(out.data, "Paris");
    assert_int_equal(out.len, 5);
    /* the ip kind also honours len (the rest is not part of the value) */
    assert_int_equal(pii_normalise("ip", NORM_TRIM, "10.0.0.1xyz", 8, &out), 0);
    assert_string_equal(out.data, "10.0.0.1");
    buf_wipe(&out);
}

/* `normalize: [trim, lower, nfc]`: each step only when asked; a step that
 * was not asked for changes nothing (the must-fail side of each). */
static void test_normalise_steps(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    static const char composed[] = "Z\xc3\xbcrich", decomposed[] = "Zu\xcc\x88rich";
    /* nfc: the decomposed spelling becomes the composed one */
    assert_int_equal(pii_normalise("city", NORM_NFC, decomposed, strlen(decomposed), &out), 0);
    assert_string_equal(out.data, composed);
    assert_int_equal(pii_normalise("city", NORM_TRIM, decomposed, strlen(decomposed), &out), 0);
    assert_string_equal(out.data, decomposed); /* not without nfc */
    /* lower: Unicode, not only ASCII */
    assert_int_equal(pii_normalise("city", NORM_LOWER, "\xc3\x9c BERLIN", 9, &out), 0);
    assert_string_equal(out.data, "\xc3\xbc berlin");
    /* all three, in order: trim, lower, nfc */
    assert_int_equal(
        pii_normalise("city", NORM_TRIM | NORM_LOWER | NORM_NFC, "  ZU\xcc\x88RICH ", 11, &out), 0);
    assert_string_equal(out.data, "z\xc3\xbcrich");
    /* without trim the spaces stay */
    assert_int_equal(pii_normalise("city", NORM_LOWER, " A ", 3, &out), 0);
    assert_string_equal(out.data, " a ");
    /* the ip kind still canonicalises after the Unicode steps */
    assert_int_equal(pii_normalise("ip", NORM_TRIM | NORM_LOWER, " 2001:DB8::0:1 ", 15, &out), 0);
    assert_string_equal(out.data, "2001:db8::1");
    /* a Unicode step on bytes that are not UTF-8 is a record error */
    assert_int_equal(pii_normalise("city", NORM_NFC,
                                   "a\xff"
                                   "b",
                                   3, &out),
                     ML_ERECORD);
    buf_wipe(&out);
}

static void test_normalise_ip(void **state)
{
    (void)state;
    norm_ok("ip", "192.168.1.20", "192.168.1.20");
    norm_ok("ip", "  192.168.1.20\n", "192.168.1.20");
    norm_ok("ip", "2001:DB8:0:0:0:0:0:1", "2001:db8::1");
    norm_ok("ip", " 2001:0db8:0000:0000:0000:0000:0000:0001 ", "2001:db8::1");
    norm_ok("ip", "::FFFF:10.1.2.3", "::ffff:10.1.2.3");
    norm_ok("ip", "0:0:0:0:0:0:0:0", "::");
    norm_ok("ip", "FE80::0001", "fe80::1");
}

static void test_normalise_invalid_ip_kept_trimmed(void **state)
{
    (void)state;
    /* glibc's inet_pton rejects leading zeros in IPv4 octets (they would be
     * octal to inet_aton), so this is not a valid address: kept trimmed,
     * not rewritten to "10.1.1.1" nor "8.1.1.1". */
    norm_ok("ip", "  010.1.1.1", "010.1.1.1");
    norm_ok("ip", " 256.1.1.1 ", "256.1.1.1");
    norm_ok("ip", "1.2.3", "1.2.3");
    norm_ok("ip", " not an ip ", "not an ip");
    norm_ok("ip", "fe80::1%eth0", "fe80::1%eth0");
    norm_ok("ip", "2001:DB8::1::2", "2001:DB8::1::2");
    /* longer than any address text: kept as is, trimmed */
    norm_ok("ip", "  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  ",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    norm_ok("ip", "   ", "");
}

/* ---- pii_digest ---- */

static void test_digest_sha256_without_key(void **state)
{
    (void)state;
    unsigned char got[CRYPTO_DIGEST_LEN], want[CRYPTO_DIGEST_LEN], ossl[SHA256_DIGEST_LENGTH];
    assert_int_equal(pii_digest(NULL, 0, "city", "Berlin", 6, got), 0);
    assert_int_equal(crypto_sha256("city\0Berlin", 11, want), 0);
    assert_memory_equal(got, want, CRYPTO_DIGEST_LEN);
    /* and independently of crypto.c */
    assert_non_null(SHA256((const unsigned char *)"city\0Berlin", 11, ossl));
    assert_memory_equal(got, ossl, CRYPTO_DIGEST_LEN);
    /* the separator matters: not SHA-256("cityBerlin") */
    assert_int_equal(crypto_sha256("cityBerlin", 10, want), 0);
    assert_memory_not_equal(got, want, CRYPTO_DIGEST_LEN);
    /* a key pointer with length 0 means "no key" */
    unsigned char k0[CRYPTO_DIGEST_LEN];
    assert_int_equal(pii_digest((const unsigned char *)"ignored", 0, "city", "Berlin", 6, k0), 0);
    assert_memory_equal(got, k0, CRYPTO_DIGEST_LEN);
}

static void test_digest_hmac_with_key(void **state)
{
    (void)state;
    const unsigned char key[] = "0123456789abcdef0123456789abcdef";
    const size_t key_len = sizeof(key) - 1;
    unsigned char got[CRYPTO_DIGEST_LEN], want[EVP_MAX_MD_SIZE];
    unsigned int wlen = 0;
    assert_int_equal(pii_digest(key, key_len, "city", "Berlin", 6, got), 0);
    assert_non_null(HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)"city\0Berlin", 11,
                         want, &wlen));
    assert_int_equal(wlen, CRYPTO_DIGEST_LEN);
    assert_memory_equal(got, want, CRYPTO_DIGEST_LEN);
}

static void test_digest_len_is_honoured(void **state)
{
    (void)state;
    unsigned char a[CRYPTO_DIGEST_LEN], b[CRYPTO_DIGEST_LEN];
    assert_int_equal(pii_digest(NULL, 0, "city", "Berlin, DE", 6, a), 0);
    assert_int_equal(pii_digest(NULL, 0, "city", "Berlin", 6, b), 0);
    assert_memory_equal(a, b, CRYPTO_DIGEST_LEN);
}

static void test_digest_distinguishes(void **state)
{
    (void)state;
    const unsigned char key[] = "k3y";
    unsigned char muller[CRYPTO_DIGEST_LEN], mueller[CRYPTO_DIGEST_LEN];
    unsigned char city[CRYPTO_DIGEST_LEN], prof[CRYPTO_DIGEST_LEN];
    unsigned char keyed[CRYPTO_DIGEST_LEN], other_key[CRYPTO_DIGEST_LEN];

    /* (c) equal under utf8mb4_general_ci, different surrogates */
    assert_int_equal(pii_digest(NULL, 0, "city", "Muller", 6, muller), 0);
    assert_int_equal(pii_digest(NULL, 0, "city", "M\xc3\xbcller", 7, mueller), 0);
    assert_memory_not_equal(muller, mueller, CRYPTO_DIGEST_LEN);
    assert_int_equal(pii_digest(key, 3, "city", "Muller", 6, muller), 0);
    assert_int_equal(pii_digest(key, 3, "city", "M\xc3\xbcller", 7, mueller), 0);
    assert_memory_not_equal(muller, mueller, CRYPTO_DIGEST_LEN);

    /* (d) same value, different kind */
    assert_int_equal(pii_digest(NULL, 0, "city", "Berlin", 6, city), 0);
    assert_int_equal(pii_digest(NULL, 0, "profession", "Berlin", 6, prof), 0);
    assert_memory_not_equal(city, prof, CRYPTO_DIGEST_LEN);
    assert_int_equal(pii_digest(key, 3, "city", "Berlin", 6, city), 0);
    assert_int_equal(pii_digest(key, 3, "profession", "Berlin", 6, prof), 0);
    assert_memory_not_equal(city, prof, CRYPTO_DIGEST_LEN);

    /* (e) key vs no key, and two different keys */
    assert_int_equal(pii_digest(NULL, 0, "city", "Berlin", 6, city), 0);
    assert_int_equal(pii_digest(key, 3, "city", "Berlin", 6, keyed), 0);
    assert_memory_not_equal(city, keyed, CRYPTO_DIGEST_LEN);
    const unsigned char key2[] = "k3z";
    assert_int_equal(pii_digest(key2, 3, "city", "Berlin", 6, other_key), 0);
    assert_memory_not_equal(keyed, other_key, CRYPTO_DIGEST_LEN);

    /* deterministic */
    unsigned char again[CRYPTO_DIGEST_LEN];
    assert_int_equal(pii_digest(key, 3, "city", "Berlin", 6, again), 0);
    assert_memory_equal(keyed, again, CRYPTO_DIGEST_LEN);
}

/* An ip value holding a NUL is not an address: it must keep every byte, not
 * collapse onto the address before the NUL (which would share its surrogate). */
static void test_normalise_ip_with_nul_kept_whole(void **state)
{
    (void)state;
    static const char v[] = "1.2.3.4\0evil";
    struct buf out = BUF_INIT;
    assert_int_equal(pii_normalise("ip", NORM_TRIM, v, sizeof(v) - 1, &out), 0);
    assert_int_equal(out.len, sizeof(v) - 1);
    assert_memory_equal(out.data, v, sizeof(v) - 1);
    buf_release(&out);
}

static void test_action_names(void **state)
{
    (void)state;
    assert_string_equal(pii_action_name(PII_KEEP), "keep");
    assert_string_equal(pii_action_name(PII_DROP), "drop");
    assert_string_equal(pii_action_name(PII_EMAIL_DOMAIN), "email_domain");
    assert_string_equal(pii_action_name(PII_YEAR), "year");
    assert_string_equal(pii_action_name(PII_SURROGATE), "surrogate");
}

/* The key fingerprint: HMAC-SHA256(key, "maskload key fingerprint v1") in
 * hex, as `openssl dgst -sha256 -mac HMAC -macopt key:test-key` gives it;
 * "unkeyed" without a key; messages show 16 hex digits. */
static void test_key_fingerprint(void **state)
{
    (void)state;
    char fp[PII_KEY_FP_BUF], shown[PII_KEY_FP_BUF];
    assert_int_equal(pii_key_fingerprint((const unsigned char *)"test-key", 8, fp), 0);
    assert_string_equal(fp, "69094fa43cf208271d071dc6d5eb3f0ec63adec33d0b1782e6632bc4ab2783f5");
    assert_string_equal(pii_key_show(fp, shown), "69094fa43cf20827");
    assert_int_equal(pii_key_fingerprint((const unsigned char *)"test-kez", 8, fp), 0);
    assert_string_not_equal(fp, "69094fa43cf208271d071dc6d5eb3f0ec63adec33d0b1782e6632bc4ab2783f5");
    assert_int_equal(pii_key_fingerprint(NULL, 0, fp), 0);
    assert_string_equal(fp, "unkeyed");
    assert_string_equal(pii_key_show(fp, shown), "unkeyed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_fingerprint),
        cmocka_unit_test(test_sha256_known_answer),
        cmocka_unit_test(test_hmac_known_answer),
        cmocka_unit_test(test_crypto_hex),
        cmocka_unit_test(test_email_domain_ok),
        cmocka_unit_test(test_email_domain_output_replaced),
        cmocka_unit_test(test_email_domain_bad),
        cmocka_unit_test(test_normalise_trims),
        cmocka_unit_test(test_normalise_respects_len),
        cmocka_unit_test(test_normalise_steps),
        cmocka_unit_test(test_normalise_ip),
        cmocka_unit_test(test_normalise_invalid_ip_kept_trimmed),
        cmocka_unit_test(test_digest_sha256_without_key),
        cmocka_unit_test(test_digest_hmac_with_key),
        cmocka_unit_test(test_digest_len_is_honoured),
        cmocka_unit_test(test_digest_distinguishes),
        cmocka_unit_test(test_normalise_ip_with_nul_kept_whole),
        cmocka_unit_test(test_action_names),
    };
    return cmocka_run_group_tests_name("pii", tests, NULL, NULL);
}
