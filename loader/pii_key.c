#include "pii_key.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "ddlgen.h"
#include "error.h"
#include "pii.h"
#include "wh.h"
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

static void copy_field(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = src ? len : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

int pii_key_wh_read(struct wh *w, const char *space, bool for_update, struct pii_key_state *st)
{
    const char *params[1] = {space};
    struct wh_result *r = NULL;
    struct buf sql = BUF_INIT, v = BUF_INIT;
    const char *const *row;
    const size_t *len;
    bool found = false;
    int rc;

    memset(st, 0, sizeof(*st));
    rc = wh_query_value(w,
                        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1 "
                        "AND table_name = 'pii_key'",
                        1, params, &v, &found);
    st->table = !rc && found && strcmp(v.data, "0") != 0;
    buf_release(&v);
    if (rc || !st->table)
        return rc ? err_prefix(rc, "reading the key fingerprint") : 0;
    rc = buf_adds(&sql, "SELECT fingerprint, pending_fingerprint, pending_done FROM ");
    if (!rc)
        rc = wh_append_qualified(wh_dialect(w), &sql, space, "pii_key");
    if (!rc)
        rc = buf_adds(&sql, for_update ? " WHERE id = 1 FOR UPDATE" : " WHERE id = 1");
    if (!rc)
        rc = wh_query(w, sql.data, 0, NULL, NULL, &r);
    if (!rc && wh_result_next(r, &row, &len) == 1 && row[0]) {
        st->stored = true;
        copy_field(st->fingerprint, sizeof(st->fingerprint), row[0], len[0]);
        if (row[1]) {
            st->pending = true;
            copy_field(st->pending_fp, sizeof(st->pending_fp), row[1], len[1]);
            copy_field(st->done, sizeof(st->done), row[2], row[2] ? len[2] : 0);
        }
    }
    wh_result_free(r);
    buf_release(&sql);
    return rc ? err_prefix(rc, "reading the key fingerprint from pii_key") : 0;
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

int pii_key_wh_kinds(struct wh *w, const char *space, struct buf *kinds, size_t *n)
{
    const size_t pre = strlen("sensitive_"), post = strlen("_ids");
    const char *params[1] = {space};
    struct wh_result *r = NULL;
    const char *const *row;
    const size_t *len;
    int rc = wh_query(w,
                      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 "
                      "AND table_type = 'BASE TABLE' AND table_name LIKE 'sensitive\\_%\\_ids' "
                      "ORDER BY table_name",
                      1, params, NULL, &r);
    *n = 0;
    while (!rc && wh_result_next(r, &row, &len) == 1) {
        if (!row[0] || len[0] <= pre + post)
            continue;
        rc = buf_add(kinds, row[0] + pre, len[0] - pre - post);
        if (!rc)
            rc = buf_addc(kinds, '\0');
        (*n)++;
    }
    wh_result_free(r);
    return rc ? err_prefix(rc, "listing the sensitive tables") : 0;
}

/* With no fingerprint recorded: the key must reproduce the digest of the
 * first row of every sensitive table that has rows. */
static int verify_existing_digests(struct wh *w, const char *space, const unsigned char *key,
                                   size_t key_len, const char *fp, const char *cmd)
{
    struct buf kinds = BUF_INIT, table = BUF_INIT, sql = BUF_INIT;
    size_t nkinds = 0;
    int rc = pii_key_wh_kinds(w, space, &kinds, &nkinds);
    for (size_t i = 0, off = 0; !rc && i < nkinds; i++) {
        const char *kind = kinds.data + off;
        struct wh_result *r = NULL;
        const char *const *v;
        const size_t *vlen;
        off += strlen(kind) + 1;
        buf_reset(&table);
        buf_reset(&sql);
        rc = ddlgen_sensitive_name(&table, kind);
        if (!rc)
            rc = buf_adds(&sql, "SELECT value, digest FROM ");
        if (!rc)
            rc = wh_append_qualified(wh_dialect(w), &sql, space, table.data);
        if (!rc)
            rc = buf_adds(&sql, " ORDER BY id LIMIT 1");
        if (!rc)
            rc = wh_query(w, sql.data, 0, NULL, NULL, &r);
        if (rc) {
            err_prefix(rc, "reading %s", table.data);
            break;
        }
        if (wh_result_next(r, &v, &vlen) == 1 && v[0] && v[1]) {
            unsigned char d[CRYPTO_DIGEST_LEN + 1];
            size_t n = wh_bytes(w, v[1], vlen[1], d, sizeof(d));
            rc = pii_key_check_sample(key, key_len, fp, table.data, kind, v[0], vlen[0], d, n, cmd);
            mem_wipe(d, sizeof(d));
        }
        wh_result_free_wiped(r); /* a value: PII */
    }
    buf_release(&sql);
    buf_release(&table);
    buf_release(&kinds);
    return rc;
}

int pii_key_wh_verify(struct wh *w, const char *space, const unsigned char *key, size_t key_len,
                      bool absent_ok, const char *cmd)
{
    struct pii_key_state st;
    char fp[PII_KEY_FP_BUF];
    int rc = pii_key_fingerprint(key, key_len, fp);
    if (!rc)
        rc = pii_key_wh_read(w, space, false, &st);
    if (!rc)
        rc = verify_state(&st, fp, absent_ok, cmd);
    if (!rc && !st.stored)
        rc = verify_existing_digests(w, space, key, key_len, fp, cmd);
    return rc;
}

/* Each warehouse's statement storing the fingerprint ($1) unless a row is. */
static const char *const record_sql[] = {
    [0] = " (id, fingerprint, recorded_at) VALUES (1, $1, UTC_TIMESTAMP(3))",
    [1] = " (id, fingerprint, recorded_at) VALUES (1, $1, now() AT TIME ZONE 'UTC') ON "
          "CONFLICT (id) DO NOTHING",
};

int pii_key_wh_record(struct wh *w, const char *space, const unsigned char *key, size_t key_len,
                      bool *recorded)
{
    char fp[PII_KEY_FP_BUF];
    const char *params[1] = {fp};
    struct buf sql = BUF_INIT;
    int rc = pii_key_fingerprint(key, key_len, fp);
    *recorded = false;
    if (rc)
        return rc;
    rc = buf_adds(&sql, wh_is_postgres(w) ? "INSERT INTO " : "INSERT IGNORE INTO ");
    if (!rc)
        rc = wh_append_qualified(wh_dialect(w), &sql, space, "pii_key");
    if (!rc)
        rc = buf_adds(&sql, record_sql[wh_is_postgres(w)]);
    if (!rc)
        rc = wh_exec_params(w, sql.data, 1, params, NULL);
    buf_release(&sql);
    if (rc)
        return err_prefix(rc, "recording the key fingerprint in pii_key");
    *recorded = wh_affected_rows(w) == 1;
    return pii_key_wh_verify(w, space, key, key_len, false, NULL);
}

/* ---- the same on a connection the caller holds ---- */
