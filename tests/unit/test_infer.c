/* test_infer.c - the value-shape detectors of `maskload infer`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "infer.h"

static void test_luhn(void **state)
{
    (void)state;
    assert_true(infer_luhn("4539578763621486"));
    assert_true(infer_luhn("79927398713"));
    assert_false(infer_luhn("79927398710"));
    assert_false(infer_luhn("4539578763621487"));
    assert_false(infer_luhn(""));
    assert_false(infer_luhn("12a4"));
    assert_true(infer_is_card("4539 5787 6362 1486"));
    assert_true(infer_is_card("5555-5555-5555-4444"));
    assert_false(infer_is_card("4539578763621487"));     /* checksum off by one */
    assert_false(infer_is_card("79927398713"));          /* too short for a card */
    assert_false(infer_is_card("45395787636214860000")); /* too long */
}

static void test_iban(void **state)
{
    (void)state;
    assert_true(infer_is_iban("DE89370400440532013000"));
    assert_true(infer_is_iban("GB82 WEST 1234 5698 7654 32"));
    assert_true(infer_is_iban("gb82west12345698765432"));
    assert_false(infer_is_iban("DE89370400440532013001"));
    assert_false(infer_is_iban("GB83WEST12345698765432"));
    assert_false(infer_is_iban("1234567890123456"));
    assert_false(infer_is_iban("DE89"));
}

static void test_ip(void **state)
{
    (void)state;
    assert_true(infer_is_ipv4("192.168.0.1"));
    assert_true(infer_is_ipv4("0.0.0.0"));
    assert_true(infer_is_ipv4("255.255.255.255"));
    assert_false(infer_is_ipv4("256.1.1.1"));
    assert_false(infer_is_ipv4("1.2.3"));
    assert_false(infer_is_ipv4("1.2.3.4.5"));
    assert_false(infer_is_ipv4("01.2.3.4"));
    assert_false(infer_is_ipv4("1.2.3.4 "));
    assert_false(infer_is_ipv4("5421.50"));
    assert_true(infer_is_ipv6("2001:db8::1"));
    assert_true(infer_is_ipv6("::1"));
    assert_true(infer_is_ipv6("fe80:0:0:0:202:b3ff:fe1e:8329"));
    assert_true(infer_is_ipv6("::ffff:192.0.2.1"));
    assert_true(infer_is_ipv6("2001:db8::"));
    assert_false(infer_is_ipv6("2001:db8::1::2"));
    assert_false(infer_is_ipv6("1:2:3:4:5:6:7"));
    assert_false(infer_is_ipv6("12:30"));
    assert_false(infer_is_ipv6("g::1"));
    assert_false(infer_is_ipv6("2021-01-05T09:12:33Z"));
}

static void test_email(void **state)
{
    (void)state;
    assert_true(infer_is_email("a.b@example.com"));
    assert_true(infer_is_email("x+tag@mail.test"));
    assert_false(infer_is_email("a@b"));
    assert_false(infer_is_email("@example.com"));
    assert_false(infer_is_email("a@@example.com"));
    assert_false(infer_is_email("a b@example.com"));
    assert_false(infer_is_email("a@example..com"));
    assert_true(infer_has_email("write to a.b@example.com."));
    assert_true(infer_has_email("a@example.org"));
    assert_false(infer_has_email("meet @ noon. at home"));
    assert_false(infer_has_email("no address here"));
}

static void test_phone(void **state)
{
    (void)state;
    assert_true(infer_is_phone("+41 44 668 18 00"));
    assert_true(infer_is_phone("(555) 123-4567"));
    assert_true(infer_is_phone("+4915112345678"));
    assert_false(infer_is_phone("12345678"));   /* a bare integer */
    assert_false(infer_is_phone("2021-01-05")); /* a date */
    assert_false(infer_is_phone("+12"));
    assert_false(infer_is_phone("4539 5787 6362 1486")); /* a card */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_luhn),  cmocka_unit_test(test_iban),  cmocka_unit_test(test_ip),
        cmocka_unit_test(test_email), cmocka_unit_test(test_phone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
