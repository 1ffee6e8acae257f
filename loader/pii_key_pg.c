#include "pii_key_pg.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "error.h"
#include "banned.h"

static void copy_field(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = src ? len : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* "schema"."table" */
static int qualified(struct buf *sql, const char *schema, const char *table)
{
    int rc = pg_append_ident(sql, schema);
    if (!rc)
        rc = buf_addc(sql, '.');
    return rc ? rc : pg_append_ident(sql, table);
}

int pii_key_pg_read(struct pg *pg, const char *schema, struct pii_key_state *st)
{
    const char *params[2] = {schema, "pii_key"};
    struct pg_result *r = NULL;
    struct buf sql = BUF_INIT;
    const char *const *row;
    const size_t *len;
    int rc;
    memset(st, 0, sizeof(*st));
    rc = pg_query_params(pg,
                         "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND "
                         "table_name = $2",
                         2, params, NULL, &r);
    if (!rc)
        st->table = pg_result_rows(r) > 0;
    pg_result_free(r);
    r = NULL;
    if (rc || !st->table)
        return rc ? err_prefix(rc, "reading the key fingerprint") : 0;
    rc = buf_adds(&sql, "SELECT fingerprint, pending_fingerprint, pending_done FROM ");
    if (!rc)
        rc = qualified(&sql, schema, "pii_key");
    if (!rc)
        rc = buf_adds(&sql, " WHERE id = 1");
    if (!rc)
        rc = pg_query(pg, sql.data, &r);
    if (!rc && pg_result_next(r, &row, &len) == 1 && row[0]) {
        st->stored = true;
        copy_field(st->fingerprint, sizeof(st->fingerprint), row[0], len[0]);
        if (row[1]) {
            st->pending = true;
            copy_field(st->pending_fp, sizeof(st->pending_fp), row[1], len[1]);
            copy_field(st->done, sizeof(st->done), row[2], row[2] ? len[2] : 0);
        }
    }
    pg_result_free(r);
    buf_release(&sql);
    return rc ? err_prefix(rc, "reading the key fingerprint from pii_key") : 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* A bytea in the server's hex output ("\x0a1b...") into out; its length,
 * or 0 when it is not that or longer than cap. */
static size_t bytea_decode(const char *s, size_t len, unsigned char *out, size_t cap)
{
    size_t n = 0;
    if (len < 2 || s[0] != '\\' || s[1] != 'x' || (len - 2) % 2 || (len - 2) / 2 > cap)
        return 0;
    for (size_t i = 2; i < len; i += 2) {
        int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[n++] = (unsigned char)(hi << 4 | lo);
    }
    return n;
}

/* With no fingerprint recorded: the key must reproduce the first stored
 * digest of every sensitive table of the schema that has a row. */
static int verify_existing_digests(struct pg *pg, const char *schema, const unsigned char *key,
                                   size_t key_len, const char *fp, const char *cmd)
{
    const char *params[1] = {schema};
    struct pg_result *tables = NULL;
    const char *const *row;
    const size_t *len;
    int rc = pg_query_params(pg,
                             "SELECT table_name FROM information_schema.tables WHERE "
                             "table_schema = $1 AND table_type = 'BASE TABLE' AND table_name "
                             "LIKE 'sensitive\\_%\\_ids' ORDER BY table_name",
                             1, params, NULL, &tables);
    if (rc)
        return err_prefix(rc, "listing the sensitive tables");
    while (!rc && pg_result_next(tables, &row, &len) == 1) {
        const size_t pre = strlen("sensitive_"), post = strlen("_ids");
        char kind[72];
        struct buf sql = BUF_INIT;
        struct pg_result *r = NULL;
        const char *const *v;
        const size_t *vlen;
        if (!row[0] || len[0] <= pre + post || len[0] - pre - post >= sizeof(kind))
            continue;
        memcpy(kind, row[0] + pre, len[0] - pre - post);
        kind[len[0] - pre - post] = '\0';
        rc = buf_adds(&sql, "SELECT value, digest FROM ");
        if (!rc)
            rc = qualified(&sql, schema, row[0]);
        if (!rc)
            rc = buf_adds(&sql, " ORDER BY id LIMIT 1");
        if (!rc)
            rc = pg_query(pg, sql.data, &r);
        buf_release(&sql);
        if (rc) {
            err_prefix(rc, "reading %s", row[0]);
            break;
        }
        if (pg_result_next(r, &v, &vlen) == 1 && v[0] && v[1]) {
            unsigned char d[CRYPTO_DIGEST_LEN + 1];
            size_t n = bytea_decode(v[1], vlen[1], d, sizeof(d));
            rc = pii_key_check_sample(key, key_len, fp, row[0], kind, v[0], vlen[0], d, n, cmd);
            mem_wipe(d, sizeof(d));
        }
        pg_result_free_wiped(r); /* a value: PII */
    }
    pg_result_free(tables);
    return rc;
}

int pii_key_pg_verify(struct pg *pg, const char *schema, const unsigned char *key, size_t key_len,
                      bool absent_ok, const char *cmd)
{
    struct pii_key_state st;
    char fp[PII_KEY_FP_BUF];
    int rc = pii_key_fingerprint(key, key_len, fp);
    if (!rc)
        rc = pii_key_pg_read(pg, schema, &st);
    if (!rc)
        rc = pii_key_check_state(&st, fp, absent_ok, cmd);
    if (!rc && !st.stored)
        rc = verify_existing_digests(pg, schema, key, key_len, fp, cmd);
    return rc;
}

int pii_key_pg_record(struct pg *pg, const char *schema, const unsigned char *key, size_t key_len,
                      bool *recorded)
{
    char fp[PII_KEY_FP_BUF];
    struct buf sql = BUF_INIT;
    const char *params[1];
    int rc = pii_key_fingerprint(key, key_len, fp);
    *recorded = false;
    if (rc)
        return rc;
    params[0] = fp;
    rc = buf_adds(&sql, "INSERT INTO ");
    if (!rc)
        rc = qualified(&sql, schema, "pii_key");
    if (!rc)
        rc = buf_adds(&sql, " (id, fingerprint, recorded_at) VALUES (1, $1, now() AT TIME ZONE "
                            "'UTC') ON CONFLICT (id) DO NOTHING");
    if (!rc)
        rc = pg_exec_params(pg, sql.data, 1, params, NULL);
    buf_release(&sql);
    if (rc)
        return err_prefix(rc, "recording the key fingerprint in pii_key");
    *recorded = pg_affected_rows(pg) == 1;
    return pii_key_pg_verify(pg, schema, key, key_len, false, NULL);
}
