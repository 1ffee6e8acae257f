/* pii.h - the PII policy's value transformations.
 *
 * Pure functions (no I/O). Inputs are PII; outputs that hold PII (normalised
 * values) must be wiped by the caller after use (buf_wipe).
 */
#ifndef ML_PII_H
#define ML_PII_H

#include <stddef.h>

#include "buf.h"
#include "crypto.h"

enum pii_action {
    PII_KEEP = 0,        /* not PII: value kept as is (typed) */
    PII_DROP,            /* never stored */
    PII_EMAIL_DOMAIN,    /* only the lower-cased domain of an e-mail address */
    PII_YEAR,            /* only the year of a date */
    PII_SURROGATE,       /* replaced by an integer from sensitive_<kind>_ids */
    PII_HMAC,            /* HMAC-SHA256 of the normalised value (64 hex characters): equal
                            values stay equal, nothing maps it back */
    PII_DATE_IF_ALLOWED, /* the full date, stored only when `pii.birth_date: date`;
                           NULL otherwise */
    /* Generalising actions: the value is kept coarser, so that fewer rows
     * share nothing with any other (field_spec.param holds the argument). */
    PII_BUCKET,   /* a number -> the lower bound of its range of width param,
                     rounded towards minus infinity (-3 with width 5 -> -5) */
    PII_TRUNCATE, /* a date or datetime -> the start of its period (enum truncate_unit) */
    PII_PREFIX    /* a string -> its first param Unicode characters */
};

/* The periods of `pii: { truncate: month|day|hour }`. */
enum truncate_unit { TRUNCATE_MONTH = 0, TRUNCATE_DAY = 1, TRUNCATE_HOUR = 2 };

const char *pii_action_name(enum pii_action a);

/* `normalize:` steps for surrogate and hmac inputs, applied in this order
 * (the mapping language's words trim, lower, nfc: bit 1 << index). */
enum normalize_flag {
    NORM_TRIM = 1,  /* surrounding whitespace */
    NORM_LOWER = 2, /* Unicode lower case (libunistring u8_tolower) */
    NORM_NFC = 4,   /* Unicode NFC (libunistring u8_normalize) */
};

/* Domain part of an e-mail address, trimmed and lower-cased (ASCII). Fails
 * with ML_ERECORD when there is no single '@' with text on both sides. */
int pii_email_domain(const char *email, struct buf *out);

/* Normalises a surrogate or hmac input of `kind` into `out` (replacing its
 * content) by the `normalize` steps in `flags` (enum normalize_flag,
 * streamdef.h), in this order: NORM_TRIM surrounding whitespace; NORM_LOWER
 * Unicode lower case; NORM_NFC Unicode NFC (libunistring). Then, for kind
 * "ip", a valid IPv4/IPv6 address is rewritten in canonical text form
 * (inet_ntop); other values are kept as they are. An empty result means "no
 * value" (the column gets NULL). ML_ERECORD when `value` is not UTF-8 and a
 * Unicode step was asked for. */
int pii_normalise(const char *kind, unsigned flags, const char *value, size_t len, struct buf *out);

/* digest = HMAC-SHA256(key, kind || 0x00 || value) when key_len > 0, else
 * SHA-256(kind || 0x00 || value). `value` is the normalised value. */
int pii_digest(const unsigned char *key, size_t key_len, const char *kind, const char *value,
               size_t len, unsigned char out[CRYPTO_DIGEST_LEN]);

/* The same digest with a reusable context (crypto_mac_new with the key, or
 * key_len 0 for SHA-256): the hot path of surrogate resolution. */
int pii_digest_mac(struct crypto_mac *m, const char *kind, const char *value, size_t len,
                   unsigned char out[CRYPTO_DIGEST_LEN]);

#endif
