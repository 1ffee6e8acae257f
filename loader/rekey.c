#include "rekey.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conn.h"
#include "crypto.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "pii.h"
#include "runs.h"
#include "streamdef.h"
#include "banned.h"

#define REKEY_CHUNK 500 /* rows read and digests written per statement */
#define TMP_TABLE   "maskload_rekey_digests"

/* "table.column, ..." of the `pii: hmac` columns of the configured streams. */
static int hmac_columns(const struct config *cfg, struct buf *list, size_t *n)
{
    int rc = 0;
    *n = 0;
    for (size_t i = 0; !rc && i < cfg->nstreams; i++) {
        const struct stream_def *d = cfg->streams[i].def;
        if (!d)
            continue;
        for (unsigned t = 0; !rc && t <= d->nchildren; t++) {
            const struct field_spec *fs = t ? d->children[t - 1].fields : d->fields;
            unsigned nf = t ? d->children[t - 1].nfields : d->nfields;
            const char *table = t ? d->children[t - 1].table->name : d->table->name;
            for (unsigned k = 0; !rc && k < nf; k++) {
                if (fs[k].action != PII_HMAC || !fs[k].column)
                    continue;
                rc = buf_addf(list, "%s%s.%s", (*n)++ ? ", " : "", table, fs[k].column);
            }
        }
    }
    return rc;
}

/* Rows of pii_erasures, 0 when the table does not exist. */
static int erasure_rows(struct db *db, unsigned long long *n)
{
    unsigned long long t = 0;
    int rc = db_query_u64(db,
                          "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                          "TABLE_SCHEMA=DATABASE() AND TABLE_NAME='pii_erasures'",
                          &t, NULL);
    *n = 0;
    if (!rc && t)
        rc = db_query_u64(db, "SELECT COUNT(*) FROM pii_erasures", n, NULL);
    return rc ? err_prefix(rc, "reading pii_erasures") : 0;
}

static bool ident_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* The kinds of every sensitive_<kind>_ids table of the warehouse, in name
 * order, as "kind\0kind\0...". */
static int list_kinds(struct db *db, struct buf *kinds, size_t *n)
{
    struct db_result *r = NULL;
    const char *const *row;
    const unsigned long *len;
    int rc = db_query(db,
                      "SELECT TABLE_NAME FROM information_schema.TABLES WHERE "
                      "TABLE_SCHEMA=DATABASE() AND TABLE_TYPE='BASE TABLE' AND TABLE_NAME LIKE "
                      "'sensitive\\_%\\_ids' ORDER BY TABLE_NAME",
                      &r);
    *n = 0;
    if (rc)
        return err_prefix(rc, "listing the sensitive tables");
    while (!rc && db_result_next(r, &row, &len) == 1) {
        const size_t pre = strlen("sensitive_"), post = strlen("_ids");
        if (!row[0] || len[0] <= pre + post)
            continue;
        if (!ident_ok(row[0] + pre, len[0] - pre - post)) {
            rc = err_set(ML_EDB, "sensitive table '%.80s' has no valid kind in its name", row[0]);
            break;
        }
        rc = buf_add(kinds, row[0] + pre, len[0] - pre - post);
        if (!rc)
            rc = buf_addc(kinds, '\0');
        (*n)++;
    }
    db_result_free(r);
    return rc;
}

static bool kind_done(const char *done, const char *kind)
{
    size_t n = strlen(kind);
    for (const char *p = done; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && memcmp(p, kind, n) == 0)
            return true;
        if (!comma)
            break;
        p = comma + 1;
    }
    return false;
}

#ifdef MASKLOAD_TEST_HOOKS
/* The test hooks (rekey.h; a test build only): true when `name` is N and
 * this is the N-th kind this process converts (counted per hook, at each
 * call). */
static bool test_hook(const char *name)
{
    static unsigned seen_after, seen_in;
    const char *v = getenv(name);
    unsigned *seen = strcmp(name, "MASKLOAD_TEST_REKEY_STOP_IN") == 0 ? &seen_in : &seen_after;
    if (!v || !*v)
        return false;
    return ++*seen == (unsigned)strtoul(v, NULL, 10);
}
#endif

static int append_hex(struct buf *sql, const unsigned char *d)
{
    char hex[2 * CRYPTO_DIGEST_LEN + 1];
    crypto_hex(d, CRYPTO_DIGEST_LEN, hex);
    return buf_addf(sql, "x'%s'", hex);
}

/* The new digest of every row of sensitive_<kind>_ids into TMP_TABLE, in
 * chunks of REKEY_CHUNK ids (rows locked as they are read). *rows: how many. */
static int compute_digests(struct db *db, const char *kind, struct crypto_mac *mac, struct buf *sql,
                           unsigned long long *rows)
{
    unsigned long long last = 0;
    int rc = db_exec(db, "DELETE FROM " TMP_TABLE);
    *rows = 0;
    while (!rc) {
        struct db_result *r = NULL;
        const char *const *row;
        const unsigned long *len;
        size_t in_stmt = 0;
        buf_reset(sql);
        rc = buf_addf(sql,
                      "SELECT id, value FROM sensitive_%s_ids WHERE id > %llu ORDER BY id "
                      "LIMIT %d FOR UPDATE",
                      kind, last, REKEY_CHUNK);
        if (!rc)
            rc = db_query(db, sql->data, &r);
        if (rc)
            break;
        buf_reset(sql);
        rc = buf_adds(sql, "INSERT INTO " TMP_TABLE " (id, digest) VALUES ");
        while (!rc && db_result_next(r, &row, &len) == 1) {
            unsigned char d[CRYPTO_DIGEST_LEN];
            if (!row[0] || !row[1]) {
                rc = err_set(ML_EDB, "sensitive_%s_ids has a row without id or value", kind);
                break;
            }
            last = strtoull(row[0], NULL, 10);
            rc = pii_digest_mac(mac, kind, row[1], len[1], d);
            if (!rc)
                rc = buf_addf(sql, "%s(%llu,", in_stmt++ ? "," : "", last);
            if (!rc)
                rc = append_hex(sql, d);
            if (!rc)
                rc = buf_addc(sql, ')');
        }
        db_result_free_wiped(r); /* the values are PII */
        if (rc || in_stmt == 0)
            break;
        rc = db_exec_len(db, sql->data, sql->len);
        *rows += in_stmt;
        if (in_stmt < REKEY_CHUNK)
            break;
    }
    return rc;
}

/* One kind in one transaction: the pending rekey is re-read under its row
 * lock (a concurrent rekey of the same key may have done the kind), the
 * digests rewritten, the kind added to the progress. *skipped when it was
 * done already. */
static int convert_kind(struct db *db, const char *dbname, const char *kind, struct crypto_mac *mac,
                        const char *new_fp, struct buf *sql, unsigned long long *rows,
                        bool *skipped)
{
    struct pii_key_state st;
    unsigned long long n = 0;
    int rc = db_begin(db);
    *rows = 0;
    *skipped = false;
    if (!rc)
        rc = pii_key_read(db, dbname, true, &st);
    if (!rc && (!st.pending || strcmp(st.pending_fp, new_fp) != 0))
        rc = err_set(ML_ECONFIG, "the pending rekey was changed by another process");
    if (!rc && kind_done(st.done, kind)) {
        *skipped = true;
        db_rollback(db);
        return 0;
    }
    if (!rc)
        rc = compute_digests(db, kind, mac, sql, &n);
    if (!rc) {
        buf_reset(sql);
        rc = buf_addf(sql,
                      "UPDATE sensitive_%s_ids s JOIN " TMP_TABLE
                      " m ON m.id = s.id SET s.digest = m.digest",
                      kind);
        if (!rc)
            rc = db_exec_len(db, sql->data, sql->len);
        if (!rc && db_affected_rows(db) != n)
            rc = err_set(ML_EDB, "sensitive_%s_ids: %llu digests rewritten, %llu expected", kind,
                         db_affected_rows(db), n);
    }
#ifdef MASKLOAD_TEST_HOOKS
    if (!rc && test_hook("MASKLOAD_TEST_REKEY_STOP_IN")) {
        log_warn("MASKLOAD_TEST_REKEY_STOP_IN: killing the process inside the transaction of "
                 "kind '%s'",
                 kind);
        raise(SIGKILL);
    }
#endif
    if (!rc) {
        buf_reset(sql);
        rc = buf_addf(sql,
                      "UPDATE `%s`.pii_key SET pending_done = CONCAT(IFNULL(pending_done, ''), "
                      "'%s,') WHERE id = 1",
                      dbname, kind);
        if (!rc)
            rc = db_exec_len(db, sql->data, sql->len);
    }
    if (!rc)
        rc = db_commit(db);
    if (rc) {
        db_rollback(db);
        return err_prefix(rc, "rekey of kind '%s' (rolled back, nothing of it changed)", kind);
    }
    *rows = n;
    return 0;
}

/* Records the new key's fingerprint as pending, after re-reading the row
 * under its lock. */
static int start_pending(struct db *db, const char *dbname, const char *old_fp, const char *new_fp)
{
    struct pii_key_state st;
    char a[PII_KEY_FP_BUF], b[PII_KEY_FP_BUF];
    int rc = db_begin(db);
    if (!rc)
        rc = pii_key_read(db, dbname, true, &st);
    if (!rc && (st.pending || strcmp(st.fingerprint, old_fp) != 0))
        rc = err_set(ML_ECONFIG, "the key state was changed by another process (stored %s)",
                     pii_key_show(st.pending ? st.pending_fp : st.fingerprint, a));
    if (!rc)
        rc = db_execf(db,
                      "UPDATE `%s`.pii_key SET pending_fingerprint = '%s', pending_done = '', "
                      "pending_started_at = UTC_TIMESTAMP(3) WHERE id = 1",
                      dbname, new_fp);
    if (!rc)
        rc = db_commit(db);
    if (rc) {
        db_rollback(db);
        return rc;
    }
    log_info("rekey: started: key %s -> %s (recorded as pending in pii_key)",
             pii_key_show(old_fp, a), pii_key_show(new_fp, b));
    return 0;
}

/* The end: the new fingerprint becomes the warehouse's. */
static int finish_pending(struct db *db, const char *dbname, const char *new_fp)
{
    struct pii_key_state st;
    int rc = db_begin(db);
    if (!rc)
        rc = pii_key_read(db, dbname, true, &st);
    if (!rc && (!st.pending || strcmp(st.pending_fp, new_fp) != 0))
        rc = err_set(ML_ECONFIG, "the pending rekey was changed by another process");
    if (!rc)
        rc = db_execf(db,
                      "UPDATE `%s`.pii_key SET fingerprint = '%s', recorded_at = "
                      "UTC_TIMESTAMP(3), pending_fingerprint = NULL, pending_done = NULL, "
                      "pending_started_at = NULL WHERE id = 1",
                      dbname, new_fp);
    if (!rc)
        rc = db_commit(db);
    if (rc)
        db_rollback(db);
    return rc;
}

/* The checks before anything is written: the keys, the hmac columns, the
 * erasures, no live run. */
static int preflight(const struct config *cfg, const struct rekey_options *opt, struct db *db,
                     struct rekey_report *rep, const struct pii_key_state *st)
{
    char a[PII_KEY_FP_BUF], b[PII_KEY_FP_BUF];
    struct buf list = BUF_INIT;
    unsigned long long erased = 0, live = 0;
    size_t nh = 0;
    int rc = 0;
    if (!st->stored)
        return err_set(ML_ECONFIG, "the warehouse holds no key fingerprint (pii_key): run "
                                   "`maskload init` first");
    if (st->pending && strcmp(st->pending_fp, rep->new_fp) != 0)
        return err_set(ML_ECONFIG,
                       "a rekey to another key (fingerprint %s) is pending; the new key file "
                       "given has fingerprint %s: finish the pending one with its key file",
                       pii_key_show(st->pending_fp, a), pii_key_show(rep->new_fp, b));
    if (strcmp(st->fingerprint, rep->old_fp) != 0 &&
        !(st->pending && strcmp(rep->old_fp, rep->new_fp) == 0))
        return err_set(ML_ECONFIG,
                       "the configured digest key (fingerprint %s) is not the warehouse's "
                       "(fingerprint %s, stored in pii_key): the configuration must name the "
                       "key in use",
                       pii_key_show(rep->old_fp, a), pii_key_show(st->fingerprint, b));
    rc = hmac_columns(cfg, &list, &nh);
    if (!rc && nh && !opt->hmac_columns_change)
        rc = err_set(ML_ECONFIG,
                     "the configured streams have pii: hmac columns (%s): their inputs are not "
                     "stored, so their values cannot be recomputed with the new key; rows "
                     "loaded before the rekey keep old-key values and rows loaded after get "
                     "new-key values (equal inputs no longer compare equal across the two). "
                     "Add --hmac-columns-change to accept that",
                     list.data);
    rep->hmac_columns = nh;
    buf_release(&list);
    if (!rc)
        rc = erasure_rows(db, &erased);
    if (!rc && erased && !opt->erased_subjects_loadable)
        rc = err_set(ML_ECONFIG,
                     "pii_erasures holds %llu erased subjects, recorded as digests made with "
                     "the current key; their ids are not stored, so those digests cannot be "
                     "recomputed and after the rekey later runs would load those subjects "
                     "again. Add --erased-subjects-loadable to accept that",
                     erased);
    if (!rc)
        rc = runs_live(db, &live);
    if (!rc && live)
        rc = err_set(ML_EDB, "run %llu is in progress: rekey when no run is live", live);
    return rc;
}

int rekey_run(const struct config *cfg, const struct rekey_options *opt, struct rekey_report *rep)
{
    const char *dbname = cfg->warehouse.database;
    char a[PII_KEY_FP_BUF];
    struct crypto_mac *mac = NULL;
    unsigned char *nk = NULL;
    size_t nlen = 0, nkinds = 0;
    struct db *db = NULL;
    struct buf kinds = BUF_INIT, sql = BUF_INIT;
    struct pii_key_state st;
    int rc;

    memset(rep, 0, sizeof(*rep));
    memset(&st, 0, sizeof(st));
    if (!opt->new_key_file || !*opt->new_key_file)
        return err_set(ML_EUSAGE, "rekey: --new-key-file FILE is required");
    rc = config_require_digest_key(cfg, "rekey");
    if (!rc)
        rc = pii_key_fingerprint(cfg->pii.digest_key, cfg->pii.digest_key_len, rep->old_fp);
    if (!rc)
        rc = config_read_key_file(opt->new_key_file, "--new-key-file", &nk, &nlen);
    if (!rc)
        rc = pii_key_fingerprint(nk, nlen, rep->new_fp);
    if (!rc)
        rc = crypto_mac_new(nk, nlen, &mac);
    if (nk) {
        mem_wipe(nk, nlen);
        free(nk);
    }
    if (!rc)
        rc = conn_warehouse(cfg, &db);
    if (!rc)
        rc = pii_key_read(db, dbname, false, &st);
    /* the configuration may already name the new key while its rekey is
     * pending (changed too early): finishing needs only the new key */
    if (!rc && strcmp(rep->old_fp, rep->new_fp) == 0 &&
        !(st.pending && strcmp(st.pending_fp, rep->new_fp) == 0))
        rc = err_set(ML_ECONFIG,
                     "the new key is the configured key (fingerprint %s): nothing to change",
                     pii_key_show(rep->new_fp, a));
    if (!rc)
        rc = preflight(cfg, opt, db, rep, &st);
    rep->resumed = !rc && st.pending;
    if (!rc && !st.pending) {
        unsigned long long live = 0;
        rc = start_pending(db, dbname, rep->old_fp, rep->new_fp);
        /* a run that started before the pending mark became visible */
        if (!rc)
            rc = runs_live(db, &live);
        if (!rc && live) {
            rc = db_execf(db,
                          "UPDATE `%s`.pii_key SET pending_fingerprint = NULL, pending_done = "
                          "NULL, pending_started_at = NULL WHERE id = 1 AND pending_done = ''",
                          dbname);
            rc = err_set(ML_EDB,
                         "run %llu started meanwhile: rekey not started%s; rekey when no run "
                         "is live",
                         live, rc ? " (and the pending mark could not be removed)" : "");
        }
    } else if (rep->resumed) {
        log_info("rekey: resuming the pending rekey to key %s", pii_key_show(rep->new_fp, a));
    }
    if (!rc)
        rc = list_kinds(db, &kinds, &nkinds);
    rep->kinds = nkinds;
    if (!rc)
        rc = db_exec(db, "CREATE TEMPORARY TABLE IF NOT EXISTS " TMP_TABLE
                         " (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, digest BINARY(32) NOT NULL)"
                         " ENGINE=InnoDB");
    for (size_t i = 0, off = 0; !rc && i < nkinds; i++) {
        const char *kind = kinds.data + off;
        unsigned long long rows = 0;
        bool skipped = false;
        off += strlen(kind) + 1;
        rc = convert_kind(db, dbname, kind, mac, rep->new_fp, &sql, &rows, &skipped);
        if (rc)
            break;
        if (skipped) {
            rep->kinds_already++;
            log_info("rekey: kind '%s' was converted before", kind);
            continue;
        }
        rep->kinds_converted++;
        rep->rows += rows;
        log_info("rekey: kind '%s': %llu digests rewritten", kind, rows);
#ifdef MASKLOAD_TEST_HOOKS
        if (test_hook("MASKLOAD_TEST_REKEY_STOP_AFTER")) {
            log_warn("MASKLOAD_TEST_REKEY_STOP_AFTER: killing the process after kind '%s'", kind);
            raise(SIGKILL);
        }
#endif
    }
    if (!rc)
        rc = finish_pending(db, dbname, rep->new_fp);
    if (rc)
        err_prefix(rc, "rekey");
    buf_wipe(&sql);
    buf_release(&kinds);
    db_close(db);
    crypto_mac_free(mac);
    return rc;
}
