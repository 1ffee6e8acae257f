/* test_idcache.c - unit tests of the surrogate id cache (idcache.h): ids
 * found by digest and kind (one kind's digest is not another's), unknown
 * digests 0, a limit of 0 meaning no cache, a full kind emptied before the
 * next entry (memory bounded by the limit), id 0 never stored, and many
 * entries that collide in their first bytes still told apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "crypto.h"
#include "error.h"
#include "idcache.h"

static void digest_of(unsigned n, unsigned char d[CRYPTO_DIGEST_LEN])
{
    memset(d, 0, CRYPTO_DIGEST_LEN);
    memcpy(d + CRYPTO_DIGEST_LEN - sizeof(n), &n, sizeof(n)); /* the hash bytes all equal */
    d[0] = (unsigned char)(n * 37u);
}

static void test_get_put(void **state)
{
    (void)state;
    struct idcache *c = NULL;
    unsigned char d1[CRYPTO_DIGEST_LEN], d2[CRYPTO_DIGEST_LEN];
    assert_int_equal(idcache_new(100, &c), 0);
    struct idcache_kind *city = idcache_kind(c, "city");
    struct idcache_kind *zip = idcache_kind(c, "zipcode");
    assert_non_null(city);
    assert_non_null(zip);
    assert_ptr_equal(idcache_kind(c, "city"), city); /* one table per kind */
    digest_of(1, d1);
    digest_of(2, d2);
    assert_int_equal(idcache_get(city, d1), 0);
    idcache_put(c, city, d1, 7);
    idcache_put(c, city, d2, 9);
    assert_int_equal(idcache_get(city, d1), 7);
    assert_int_equal(idcache_get(city, d2), 9);
    assert_int_equal(idcache_get(zip, d1), 0); /* another kind's digest */
    idcache_put(c, city, d1, 8);               /* known: kept as it was */
    assert_int_equal(idcache_get(city, d1), 7);
    idcache_put(c, zip, d2, 0); /* 0 is "not known", never stored */
    assert_int_equal(idcache_get(zip, d2), 0);
    assert_int_equal(idcache_get(NULL, d1), 0);
    idcache_free(c);
}

static void test_no_cache(void **state)
{
    (void)state;
    struct idcache *c = NULL;
    assert_int_equal(idcache_new(0, &c), 0);
    assert_null(idcache_kind(c, "city"));
    assert_null(idcache_kind(NULL, "city"));
    idcache_free(c);
    idcache_free(NULL);
}

static void test_bounded(void **state)
{
    (void)state;
    struct idcache *c = NULL;
    unsigned char d[CRYPTO_DIGEST_LEN];
    assert_int_equal(idcache_new(50, &c), 0);
    struct idcache_kind *k = idcache_kind(c, "ip");
    for (unsigned i = 1; i <= 50; i++) {
        digest_of(i, d);
        idcache_put(c, k, d, 1000 + i);
    }
    for (unsigned i = 1; i <= 50; i++) {
        digest_of(i, d);
        assert_int_equal(idcache_get(k, d), 1000 + i);
    }
    /* the 51st empties the kind first: only it is known afterwards */
    digest_of(51, d);
    idcache_put(c, k, d, 1051);
    assert_int_equal(idcache_get(k, d), 1051);
    digest_of(1, d);
    assert_int_equal(idcache_get(k, d), 0);
    digest_of(50, d);
    assert_int_equal(idcache_get(k, d), 0);
    idcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_put),
        cmocka_unit_test(test_no_cache),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
