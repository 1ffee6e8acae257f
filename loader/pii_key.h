/* pii_key.h - the fingerprint of the digest key, kept in the warehouse.
 *
 * Surrogate digests (sensitive_<kind>_ids.digest) and `hmac` columns are
 * keyed. A digest made with one key is never found with another, so a run
 * with a mistyped or swapped key would silently give every value a second
 * surrogate. The warehouse therefore holds, in its one-row table pii_key
 * (ddl/085_pii_key.sql), the fingerprint of its key:
 *
 *   fingerprint = lower-case hex of HMAC-SHA256(key, "maskload key fingerprint v1")
 *
 * never the key itself, and the word "unkeyed" for `pii.digest: sha256`, so
 * that switching between keyed and unkeyed digests is caught as well. The
 * fingerprint tells keys apart; it does not help to find a key (HMAC is a
 * PRF) nor a value's digest (another message).
 *
 * The same row holds the progress of `maskload rekey` (rekey.h): while one is
 * pending, init and run refuse to start.
 *
 * Every query names the table as `<database>`.pii_key, so the functions work
 * on the admin connection of init (no default database) as on the loader's.
 */
#ifndef ML_PII_KEY_H
#define ML_PII_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "db.h"

#define PII_KEY_LABEL    "maskload key fingerprint v1"
#define PII_KEY_UNKEYED  "unkeyed"
#define PII_KEY_FP_BUF   65 /* 64 hex digits + NUL */
#define PII_KEY_FP_SHOWN 16 /* hex digits of a fingerprint shown in messages */

/* out = the fingerprint of `key` (64 hex digits), or "unkeyed" when key_len
 * is 0. 0 or ML_ECRYPTO. */
int pii_key_fingerprint(const unsigned char *key, size_t key_len, char out[PII_KEY_FP_BUF]);

/* A fingerprint as messages show it: "unkeyed", or its first
 * PII_KEY_FP_SHOWN hex digits. `out` holds PII_KEY_FP_BUF bytes. */
const char *pii_key_show(const char *fp, char out[PII_KEY_FP_BUF]);

/* What the warehouse holds. */
struct pii_key_state {
    bool table;                       /* pii_key exists */
    bool stored;                      /* its row exists */
    char fingerprint[PII_KEY_FP_BUF]; /* the key of the digests */
    bool pending;                     /* a rekey has started and not finished */
    char pending_fp[PII_KEY_FP_BUF];  /* its new key's fingerprint */
    char done[4096];                  /* kinds it converted, "a,b," ("" for none) */
};

/* The functions of the key fingerprint on either warehouse (wh.h): `space`
 * is the database (MySQL) or the schema (PostgreSQL) holding pii_key and
 * the sensitive_<kind>_ids tables; every name is qualified with it and
 * every value bound. */
struct wh;

/* Reads the state of `space`. With for_update the row is read with SELECT
 * ... FOR UPDATE (inside the caller's transaction). 0 or ML_EDB. */
int pii_key_wh_read(struct wh *w, const char *space, bool for_update, struct pii_key_state *st);
/* pii_key_wh_verify: the check of init and run, before they write anything, of the configured
 * key (key_len 0: unkeyed): ML_ECONFIG when a rekey is pending ("finish it
 * with maskload rekey ...") or when the stored fingerprint is not the key's
 * (the message names both). When nothing is stored yet (a new warehouse, or
 * one made before fingerprints were kept): with `absent_ok` (init, which then
 * records it) the key must reproduce the stored digest of the first row of
 * every sensitive_<kind>_ids table that has one (else ML_ECONFIG: it is not
 * the key of those surrogates); without, ML_ECONFIG saying to run init.
 * `cmd` ("run") starts the messages; NULL when the caller prefixes its own. */
int pii_key_wh_verify(struct wh *w, const char *space, const unsigned char *key, size_t key_len,
                      bool absent_ok, const char *cmd);

/* The kinds of every base table named sensitive_<kind>_ids in `space`
 * (from information_schema, not only the kinds a configuration uses), in
 * name order, appended to `kinds` as "kind\0kind\0..."; *n of them. The
 * kinds are as the names spell them: a caller names a table only through
 * wh_append_qualified. 0, ML_EDB or ML_ENOMEM. */
int pii_key_wh_kinds(struct wh *w, const char *space, struct buf *kinds, size_t *n);

/* Records the key's fingerprint as the warehouse's when none is stored
 * (init, after ddl/ created the table; INSERT IGNORE, or ON CONFLICT DO
 * NOTHING), then verifies it (another init may have recorded another key
 * meanwhile). *recorded tells whether this call stored it. 0, ML_ECONFIG or
 * ML_EDB. */
int pii_key_wh_record(struct wh *w, const char *space, const unsigned char *key, size_t key_len,
                      bool *recorded);

/* ---- the decisions of verify, on a state already read (unit-testable) ---- */

/* verify's decision on a state already read (`fp`: the configured key's
 * fingerprint): 0, or ML_ECONFIG with pii_key_wh_verify's message. */
int pii_key_check_state(const struct pii_key_state *st, const char *fp, bool absent_ok,
                        const char *cmd);

/* With no fingerprint stored: whether `key` (fingerprint `fp`) reproduces
 * `digest`, stored for `value` in `table` of surrogate kind `kind`. 0, or
 * ML_ECONFIG with pii_key_wh_verify's message naming the table; ML_ECRYPTO. */
int pii_key_check_sample(const unsigned char *key, size_t key_len, const char *fp,
                         const char *table, const char *kind, const char *value, size_t value_len,
                         const unsigned char *digest, size_t digest_len, const char *cmd);

#endif
