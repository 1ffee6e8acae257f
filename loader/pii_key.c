#include "pii_key.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "error.h"
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

static int verify_state(const struct pii_key_state *st, const char *configured, bool absent_ok,
                        const char *cmd)
{
    char a[PII_KEY_FP_BUF], b[PII_KEY_FP_BUF];
    if (!st->stored) {
        if (absent_ok)
            return 0;
        return err_set(ML_ECONFIG,
                       "%s: the warehouse holds no key fingerprint (table pii_key %s): run "
                       "`maskload init` first",
                       cmd, st->table ? "is empty" : "is missing");
    }
    if (st->pending)
        return err_set(ML_ECONFIG,
                       "%s: a rekey to the key with fingerprint %s is not finished (%zu kinds "
                       "converted): finish it with `maskload rekey --new-key-file FILE` (the same "
                       "new key file), then point pii.digest_key_file at that file; nothing was "
                       "written",
                       cmd, pii_key_show(st->pending_fp, a), done_count(st->done));
    if (strcmp(st->fingerprint, configured) != 0)
        return err_set(ML_ECONFIG,
                       "%s: the configured digest key (fingerprint %s) is not the key of this "
                       "warehouse's surrogates (fingerprint %s, stored in pii_key): use the "
                       "warehouse's key file, or change keys with `maskload rekey`; nothing was "
                       "written",
                       cmd, pii_key_show(configured, a), pii_key_show(st->fingerprint, b));
    return 0;
}

int pii_key_verify(struct db *db, const char *dbname, const char *configured, bool absent_ok,
                   const char *cmd)
{
    struct pii_key_state st;
    int rc = pii_key_read(db, dbname, false, &st);
    return rc ? rc : verify_state(&st, configured, absent_ok, cmd);
}

int pii_key_record(struct db *db, const char *dbname, const char *fp, bool *recorded)
{
    char sql[512];
    int rc;
    *recorded = false;
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
    return pii_key_verify(db, dbname, fp, false, "init");
}
