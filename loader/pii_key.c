#include "pii_key.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "error.h"
#include "pii.h"
#include "banned.h"

int pii_key_fingerprint(const unsigned char *key, size_t key_len, char out[PII_KEY_FP_BUF])
{
    unsigned char mac[CRYPTO_DIGEST_LEN];
    int rc;
    if (key_len == 0) {
        snprintf(out, PII_KEY_FP_BUF, "%s", PII_KEY_UNKEYED);
        return 0;
    }
    rc = crypto_hmac_sha256(key, key_len, PII_KEY_LABEL, strlen(PII_KEY_LABEL), mac);
    if (rc)
        return rc;
    crypto_hex(mac, sizeof(mac), out);
    return 0;
}

const char *pii_key_show(const char *fp, char out[PII_KEY_FP_BUF])
{
    if (strcmp(fp, PII_KEY_UNKEYED) == 0)
        snprintf(out, PII_KEY_FP_BUF, "%s", PII_KEY_UNKEYED);
    else
        snprintf(out, PII_KEY_FP_BUF, "%.*s", PII_KEY_FP_SHOWN, fp);
    return out;
}

static void copy_field(char *dst, size_t cap, const char *src, unsigned long len)
{
    size_t n = src ? len : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

int pii_key_read(struct db *db, const char *dbname, bool for_update, struct pii_key_state *st)
{
    char sql[512];
    unsigned long long n = 0;
    struct db_result *r = NULL;
    const char *const *row;
    const unsigned long *len;
    int rc;

    memset(st, 0, sizeof(*st));
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='%s' AND "
             "TABLE_NAME='pii_key'",
             dbname);
    rc = db_query_u64(db, sql, &n, NULL);
    if (rc || n == 0)
        return rc ? err_prefix(rc, "reading the key fingerprint") : 0;
    st->table = true;
    snprintf(sql, sizeof(sql),
             "SELECT fingerprint, pending_fingerprint, pending_done FROM `%s`.pii_key WHERE id=1%s",
             dbname, for_update ? " FOR UPDATE" : "");
    rc = db_query(db, sql, &r);
    if (rc)
        return err_prefix(rc, "reading the key fingerprint from pii_key");
    if (db_result_next(r, &row, &len) == 1 && row[0]) {
        st->stored = true;
        copy_field(st->fingerprint, sizeof(st->fingerprint), row[0], len[0]);
        if (row[1]) {
            st->pending = true;
            copy_field(st->pending_fp, sizeof(st->pending_fp), row[1], len[1]);
            copy_field(st->done, sizeof(st->done), row[2], row[2] ? len[2] : 0);
        }
    }
    db_result_free(r);
    return 0;
}

/* The kinds a pending rekey has converted, as a count. */
static size_t done_count(const char *done)
{
    size_t n = 0;
    for (const char *c = done; *c; c++)
        n += *c == ',';
    return n;
}

/* "cmd: " before a message, or nothing when the caller adds its own prefix. */
#define CMD_PREFIX(cmd) (cmd) ? (cmd) : "", (cmd) ? ": " : ""

static int verify_state(const struct pii_key_state *st, const char *configured, bool absent_ok,
                        const char *cmd)
{
    char a[PII_KEY_FP_BUF], b[PII_KEY_FP_BUF];
    if (!st->stored) {
        if (absent_ok)
            return 0;
        return err_set(ML_ECONFIG,
                       "%s%sthe warehouse holds no key fingerprint (table pii_key %s): run "
                       "`maskload init` first",
                       CMD_PREFIX(cmd), st->table ? "is empty" : "is missing");
    }
    if (st->pending)
        return err_set(ML_ECONFIG,
                       "%s%sa rekey to the key with fingerprint %s is not finished (%zu kinds "
                       "converted): finish it with `maskload rekey --new-key-file FILE` (the same "
                       "new key file), then point pii.digest_key_file at that file; nothing was "
                       "written",
                       CMD_PREFIX(cmd), pii_key_show(st->pending_fp, a), done_count(st->done));
    if (strcmp(st->fingerprint, configured) != 0)
        return err_set(ML_ECONFIG,
                       "%s%sthe configured digest key (fingerprint %s) is not the key of this "
                       "warehouse's surrogates (fingerprint %s, stored in pii_key): use the "
                       "warehouse's key file, or change keys with `maskload rekey`; nothing was "
                       "written",
                       CMD_PREFIX(cmd), pii_key_show(configured, a),
                       pii_key_show(st->fingerprint, b));
    return 0;
}

int pii_key_check_sample(const unsigned char *key, size_t key_len, const char *fp,
                         const char *table, const char *kind, const char *value, size_t value_len,
                         const unsigned char *digest, size_t digest_len, const char *cmd)
{
    unsigned char d[CRYPTO_DIGEST_LEN];
    char shown[PII_KEY_FP_BUF];
    int rc = pii_digest(key, key_len, kind, value, value_len, d);
    if (!rc && (digest_len != CRYPTO_DIGEST_LEN || memcmp(d, digest, CRYPTO_DIGEST_LEN) != 0))
        rc = err_set(ML_ECONFIG,
                     "%s%sthe configured digest key (fingerprint %s) does not reproduce "
                     "the digests stored in %s: it is not the key these surrogates were "
                     "made with (the warehouse has no recorded key fingerprint yet); use "
                     "that key; nothing was written",
                     CMD_PREFIX(cmd), pii_key_show(fp, shown), table);
    mem_wipe(d, sizeof(d));
    return rc;
}

int pii_key_check_state(const struct pii_key_state *st, const char *fp, bool absent_ok,
                        const char *cmd)
{
    return verify_state(st, fp, absent_ok, cmd);
}

/* With no fingerprint recorded: the key must reproduce the digest of the
 * first row of every sensitive table that has rows. */
static int verify_existing_digests(struct db *db, const char *dbname, const unsigned char *key,
                                   size_t key_len, const char *fp, const char *cmd)
{
    char sql[512];
    struct db_result *tables = NULL;
    const char *const *row;
    const unsigned long *len;
    int rc;
    snprintf(sql, sizeof(sql),
             "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='%s' AND "
             "TABLE_TYPE='BASE TABLE' AND TABLE_NAME LIKE 'sensitive\\_%%\\_ids' ORDER BY "
             "TABLE_NAME",
             dbname);
    rc = db_query(db, sql, &tables);
    if (rc)
        return err_prefix(rc, "listing the sensitive tables");
    while (!rc && db_result_next(tables, &row, &len) == 1) {
        const size_t pre = strlen("sensitive_"), post = strlen("_ids");
        char kind[72];
        struct db_result *r = NULL;
        const char *const *v;
        const unsigned long *vlen;
        if (!row[0] || len[0] <= pre + post || len[0] - pre - post >= sizeof(kind))
            continue;
        memcpy(kind, row[0] + pre, len[0] - pre - post);
        kind[len[0] - pre - post] = '\0';
        snprintf(sql, sizeof(sql), "SELECT value, digest FROM `%s`.`%s` ORDER BY id LIMIT 1",
                 dbname, row[0]);
        rc = db_query(db, sql, &r);
        if (rc) {
            err_prefix(rc, "reading %s", row[0]);
            break;
        }
        if (db_result_next(r, &v, &vlen) == 1 && v[0] && v[1])
            rc = pii_key_check_sample(key, key_len, fp, row[0], kind, v[0], vlen[0],
                                      (const unsigned char *)v[1], vlen[1], cmd);
        db_result_free_wiped(r); /* a value: PII */
    }
    db_result_free(tables);
    return rc;
}

int pii_key_verify(struct db *db, const char *dbname, const unsigned char *key, size_t key_len,
                   bool absent_ok, const char *cmd)
{
    struct pii_key_state st;
    char fp[PII_KEY_FP_BUF];
    int rc = pii_key_fingerprint(key, key_len, fp);
    if (!rc)
        rc = pii_key_read(db, dbname, false, &st);
    if (!rc)
        rc = verify_state(&st, fp, absent_ok, cmd);
    if (!rc && !st.stored)
        rc = verify_existing_digests(db, dbname, key, key_len, fp, cmd);
    return rc;
}

int pii_key_record(struct db *db, const char *dbname, const unsigned char *key, size_t key_len,
                   bool *recorded)
{
    char sql[512], fp[PII_KEY_FP_BUF];
    int rc = pii_key_fingerprint(key, key_len, fp);
    *recorded = false;
    if (rc)
        return rc;
    if (strlen(fp) >= PII_KEY_FP_BUF ||
        strspn(fp, "0123456789abcdefghijklmnopqrstuvwxyz") != strlen(fp))
        return err_set(ML_EINTERNAL, "not a key fingerprint");
    snprintf(sql, sizeof(sql),
             "INSERT IGNORE INTO `%s`.pii_key (id, fingerprint, recorded_at) VALUES (1, '%s', "
             "UTC_TIMESTAMP(3))",
             dbname, fp);
    rc = db_exec(db, sql);
    if (rc)
        return err_prefix(rc, "recording the key fingerprint in pii_key");
    *recorded = db_affected_rows(db) == 1;
    return pii_key_verify(db, dbname, key, key_len, false, NULL);
}
