#include "rekey.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "ddlgen.h"
#include "error.h"
#include "log.h"
#include "pii.h"
#include "runs.h"
#include "streamdef.h"
#include "wh.h"
#include "banned.h"

#define REKEY_CHUNK 500 /* rows read and digests written per statement */
#define TMP_TABLE   "maskload_rekey_digests"
#define HEX_LEN     (2 * CRYPTO_DIGEST_LEN)

/* What the two warehouses spell differently; the rest of the SQL is
 * shared. Every value a statement carries (a fingerprint, a kind, a digest)
 * is a parameter; only integers the loader formats itself (ids) and quoted
 * names are written into the text. */
struct rekey_dialect {
    const char *utc_now;    /* the time pii_key's columns hold (UTC) */
    const char *tmp_create; /* TMP_TABLE: id -> placeholder, new digest; this session's */
    const char *unhex_open, *unhex_close; /* around "$n": a bound hex text as bytes */
    const char *add_done;                 /* pending_done with the bound "kind," ($1) appended */
    /* "UPDATE <sensitive table> s", set_from, a column of TMP_TABLE m,
     * set_end: every digest set to that column's value for its id */
    const char *set_from, *set_end;
};

static const struct rekey_dialect mysql_sql = {
    .utc_now = "UTC_TIMESTAMP(3)",
    .tmp_create = "CREATE TEMPORARY TABLE IF NOT EXISTS " TMP_TABLE
                  " (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, hold BINARY(32) NOT NULL, "
                  "digest BINARY(32) NOT NULL) ENGINE=InnoDB",
    .unhex_open = "UNHEX($",
    .unhex_close = ")",
    .add_done = "CONCAT(IFNULL(pending_done, ''), $1)",
    .set_from = " s JOIN " TMP_TABLE " m ON m.id = s.id SET s.digest = m.",
    .set_end = "",
};

static const struct rekey_dialect pg_sql = {
    .utc_now = "(now() AT TIME ZONE 'UTC')",
    .tmp_create = "CREATE TEMPORARY TABLE IF NOT EXISTS " TMP_TABLE
                  " (id bigint NOT NULL PRIMARY KEY, hold bytea NOT NULL, digest bytea NOT NULL)",
    .unhex_open = "decode($",
    .unhex_close = ", 'hex')",
    .add_done = "coalesce(pending_done, '') || $1",
    .set_from = " s SET digest = m.",
    .set_end = " FROM " TMP_TABLE " m WHERE m.id = s.id",
};

/* One rekey's connection and scratch. */
struct rekey {
    struct wh *w;
    enum db_dialect d;
    const struct rekey_dialect *dl;
    const char *space; /* the database (MySQL) or schema (PostgreSQL) */
    struct crypto_mac *mac;
    struct buf sql, table;    /* table: the kind's sensitive table, qualified */
    char (*hex)[HEX_LEN + 1]; /* 2 * REKEY_CHUNK placeholders and digests in hex, bound */
    const char **params;      /* pointers to them */
};

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

/* x->sql = head, then `name` of x->space quoted, then tail. */
static int sql_on(struct rekey *x, const char *head, const char *name, const char *tail)
{
    int rc;
    buf_reset(&x->sql);
    rc = buf_adds(&x->sql, head);
    if (!rc)
        rc = wh_append_qualified(x->d, &x->sql, x->space, name);
    return rc ? rc : buf_adds(&x->sql, tail);
}

/* x->table = the sensitive table of `kind`, qualified and quoted. */
static int table_of(struct rekey *x, const char *kind)
{
    struct buf name = BUF_INIT;
    int rc = ddlgen_sensitive_name(&name, kind);
    buf_reset(&x->table);
    if (!rc)
        rc = wh_append_qualified(x->d, &x->table, x->space, name.data);
    buf_release(&name);
    return rc;
}

/* Rows of pii_erasures, 0 when the table does not exist. */
static int erasure_rows(struct rekey *x, unsigned long long *n)
{
    const char *params[1] = {x->space};
    unsigned long long t = 0;
    int rc = wh_query_u64(x->w,
                          "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1 "
                          "AND table_name = 'pii_erasures'",
                          1, params, &t, NULL);
    *n = 0;
    if (!rc && t)
        rc = sql_on(x, "SELECT COUNT(*) FROM ", "pii_erasures", "");
    if (!rc && t)
        rc = wh_query_u64(x->w, x->sql.data, 0, NULL, n, NULL);
    return rc ? err_prefix(rc, "reading pii_erasures") : 0;
}

static bool ident_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* The kinds of every sensitive_<kind>_ids table of the warehouse, in name
 * order, as "kind\0kind\0..."; ML_EDB for a table with no valid kind in
 * its name (none is left behind silently). */
static int list_kinds(struct rekey *x, struct buf *kinds, size_t *n)
{
    int rc = pii_key_wh_kinds(x->w, x->space, kinds, n);
    for (size_t i = 0, off = 0; !rc && i < *n; i++) {
        const char *kind = kinds->data + off;
        off += strlen(kind) + 1;
        if (!ident_ok(kind))
            rc = err_set(ML_EDB,
                         "sensitive table 'sensitive_%.64s_ids' has no valid kind in its name",
                         kind);
    }
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

/* The new digest of every row of x->table into TMP_TABLE with a
 * placeholder (rewrite_digests), in chunks of REKEY_CHUNK ids (rows locked
 * as they are read), each bound as hex. *rows: how many. */
static int compute_digests(struct rekey *x, const char *kind, unsigned long long *rows)
{
    unsigned long long last = 0;
    int rc = wh_exec(x->w, "DELETE FROM " TMP_TABLE);
    *rows = 0;
    while (!rc) {
        struct wh_result *r = NULL;
        const char *const *row;
        const size_t *len;
        size_t in_stmt = 0;
        buf_reset(&x->sql);
        rc = buf_adds(&x->sql, "SELECT id, value FROM ");
        if (!rc)
            rc = buf_add(&x->sql, x->table.data, x->table.len);
        if (!rc)
            rc = buf_addf(&x->sql, " WHERE id > %llu ORDER BY id LIMIT %d FOR UPDATE", last,
                          REKEY_CHUNK);
        if (!rc)
            rc = wh_query(x->w, x->sql.data, 0, NULL, NULL, &r);
        if (rc)
            break;
        buf_reset(&x->sql);
        rc = buf_adds(&x->sql, "INSERT INTO " TMP_TABLE " (id, hold, digest) VALUES ");
        while (!rc && in_stmt < REKEY_CHUNK && wh_result_next(r, &row, &len) == 1) {
            unsigned char hold[CRYPTO_DIGEST_LEN], d[CRYPTO_DIGEST_LEN];
            size_t p = 2 * in_stmt;
            if (!row[0] || !row[1]) {
                rc = err_set(ML_EDB, "sensitive_%s_ids has a row without id or value", kind);
                break;
            }
            last = strtoull(row[0], NULL, 10);
            rc = crypto_random(hold, sizeof(hold));
            if (!rc)
                rc = pii_digest_mac(x->mac, kind, row[1], len[1], d);
            if (!rc) {
                crypto_hex(hold, sizeof(hold), x->hex[p]);
                crypto_hex(d, sizeof(d), x->hex[p + 1]);
                x->params[p] = x->hex[p];
                x->params[p + 1] = x->hex[p + 1];
                in_stmt++;
                rc = buf_addf(&x->sql, "%s(%llu, %s%zu%s, %s%zu%s)", in_stmt > 1 ? "," : "", last,
                              x->dl->unhex_open, p + 1, x->dl->unhex_close, x->dl->unhex_open,
                              p + 2, x->dl->unhex_close);
            }
            mem_wipe(d, sizeof(d));
        }
        wh_result_free_wiped(r); /* the values are PII */
        if (rc || in_stmt == 0)
            break;
        rc = wh_exec_params(x->w, x->sql.data, (int)(2 * in_stmt), x->params, NULL);
        *rows += in_stmt;
        if (in_stmt < REKEY_CHUNK)
            break;
    }
    return rc;
}

/* The kind's digests from TMP_TABLE, in two set-based statements: every
 * digest to its row's placeholder (32 random bytes), then every placeholder
 * to the new digest. Rewritten in place, the new digest of one row may be
 * the digest another row holds until its own turn comes, and both servers
 * check a unique index row by row, inside one statement too (PostgreSQL's
 * is not deferrable; InnoDB's never is): a kind whose stored digests are
 * its new ones in other rows fails in any order. The stored and the new
 * digests of a kind are made with different keys, so that takes digests no
 * loader writes; but then the kind would fail on every attempt, and a rekey
 * that cannot finish blocks init and run. Through the placeholders no
 * statement meets a digest it could collide with: they are fresh random
 * bytes (equal to a stored or new digest, or to each other, with
 * probability 2^-256 a pair), and the new digests are distinct unless the
 * key collides two values, which the loader could not store either. Each
 * statement changes every row, which the counts check. */
static int rewrite_digests(struct rekey *x, const char *kind, unsigned long long n)
{
    static const char *const phases[2] = {"hold", "digest"};
    int rc = 0;
    for (size_t i = 0; !rc && i < 2; i++) {
        buf_reset(&x->sql);
        rc = buf_adds(&x->sql, "UPDATE ");
        if (!rc)
            rc = buf_add(&x->sql, x->table.data, x->table.len);
        if (!rc)
            rc = buf_addf(&x->sql, "%s%s%s", x->dl->set_from, phases[i], x->dl->set_end);
        if (!rc)
            rc = wh_exec(x->w, x->sql.data);
        if (!rc && wh_affected_rows(x->w) != n)
            rc = err_set(ML_EDB, "sensitive_%s_ids: %llu digests rewritten, %llu expected", kind,
                         wh_affected_rows(x->w), n);
    }
    return rc;
}

/* One kind in one transaction: the pending rekey is re-read under its row
 * lock (a concurrent rekey of the same key may have done the kind), the
 * digests rewritten, the kind added to the progress. *skipped when it was
 * done already. */
static int convert_kind(struct rekey *x, const char *kind, const char *new_fp,
                        unsigned long long *rows, bool *skipped)
{
    struct pii_key_state st;
    struct buf done = BUF_INIT;
    unsigned long long n = 0;
    int rc = wh_begin(x->w);
    *rows = 0;
    *skipped = false;
    if (!rc)
        rc = pii_key_wh_read(x->w, x->space, true, &st);
    if (!rc && (!st.pending || strcmp(st.pending_fp, new_fp) != 0))
        rc = err_set(ML_ECONFIG, "the pending rekey was changed by another process");
    if (!rc && kind_done(st.done, kind)) {
        *skipped = true;
        wh_rollback(x->w);
        return 0;
    }
    if (!rc)
        rc = table_of(x, kind);
    if (!rc)
        rc = compute_digests(x, kind, &n);
    if (!rc)
        rc = rewrite_digests(x, kind, n);
#ifdef MASKLOAD_TEST_HOOKS
    if (!rc && test_hook("MASKLOAD_TEST_REKEY_STOP_IN")) {
        log_warn("MASKLOAD_TEST_REKEY_STOP_IN: killing the process inside the transaction of "
                 "kind '%s'",
                 kind);
        raise(SIGKILL);
    }
#endif
    if (!rc)
        rc = buf_addf(&done, "%s,", kind);
    if (!rc)
        rc = sql_on(x, "UPDATE ", "pii_key", " SET pending_done = ");
    if (!rc)
        rc = buf_addf(&x->sql, "%s WHERE id = 1", x->dl->add_done);
    if (!rc)
        rc = wh_exec_params(x->w, x->sql.data, 1, (const char *const *)&done.data, NULL);
    if (!rc)
        rc = wh_commit(x->w);
    buf_release(&done);
    if (rc) {
        wh_rollback(x->w);
        return err_prefix(rc, "rekey of kind '%s' (rolled back, nothing of it changed)", kind);
    }
    *rows = n;
    return 0;
}

/* Records the new key's fingerprint as pending, after re-reading the row
 * under its lock. */
static int start_pending(struct rekey *x, const char *old_fp, const char *new_fp)
{
    struct pii_key_state st;
    char a[PII_KEY_FP_BUF], b[PII_KEY_FP_BUF];
    int rc = wh_begin(x->w);
    if (!rc)
        rc = pii_key_wh_read(x->w, x->space, true, &st);
    if (!rc && (st.pending || strcmp(st.fingerprint, old_fp) != 0))
        rc = err_set(ML_ECONFIG, "the key state was changed by another process (stored %s)",
                     pii_key_show(st.pending ? st.pending_fp : st.fingerprint, a));
    if (!rc)
        rc = sql_on(x, "UPDATE ", "pii_key",
                    " SET pending_fingerprint = $1, pending_done = '', pending_started_at = ");
    if (!rc)
        rc = buf_addf(&x->sql, "%s WHERE id = 1", x->dl->utc_now);
    if (!rc)
        rc = wh_exec_params(x->w, x->sql.data, 1, &new_fp, NULL);
    if (!rc)
        rc = wh_commit(x->w);
    if (rc) {
        wh_rollback(x->w);
        return rc;
    }
    log_info("rekey: started: key %s -> %s (recorded as pending in pii_key)",
             pii_key_show(old_fp, a), pii_key_show(new_fp, b));
    return 0;
}

/* Takes back a pending mark that start_pending recorded, while no kind is
 * converted (autocommit). */
static int undo_pending(struct rekey *x)
{
    int rc = sql_on(x, "UPDATE ", "pii_key",
                    " SET pending_fingerprint = NULL, pending_done = NULL, pending_started_at = "
                    "NULL WHERE id = 1 AND pending_done = ''");
    return rc ? rc : wh_exec(x->w, x->sql.data);
}

/* The end: the new fingerprint becomes the warehouse's. */
static int finish_pending(struct rekey *x, const char *new_fp)
{
    struct pii_key_state st;
    int rc = wh_begin(x->w);
    if (!rc)
        rc = pii_key_wh_read(x->w, x->space, true, &st);
    if (!rc && (!st.pending || strcmp(st.pending_fp, new_fp) != 0))
        rc = err_set(ML_ECONFIG, "the pending rekey was changed by another process");
    if (!rc)
        rc = sql_on(x, "UPDATE ", "pii_key", " SET fingerprint = $1, recorded_at = ");
    if (!rc)
        rc = buf_addf(&x->sql,
                      "%s, pending_fingerprint = NULL, pending_done = NULL, pending_started_at = "
                      "NULL WHERE id = 1",
                      x->dl->utc_now);
    if (!rc)
        rc = wh_exec_params(x->w, x->sql.data, 1, &new_fp, NULL);
    if (!rc)
        rc = wh_commit(x->w);
    if (rc)
        wh_rollback(x->w);
    return rc;
}

/* The checks before anything is written: the keys, the hmac columns, the
 * erasures, no live run. */
static int preflight(const struct config *cfg, const struct rekey_options *opt, struct rekey *x,
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
        rc = erasure_rows(x, &erased);
    if (!rc && erased && !opt->erased_subjects_loadable)
        rc = err_set(ML_ECONFIG,
                     "pii_erasures holds %llu erased subjects, recorded as digests made with "
                     "the current key; their ids are not stored, so those digests cannot be "
                     "recomputed and after the rekey later runs would load those subjects "
                     "again. Add --erased-subjects-loadable to accept that",
                     erased);
    if (!rc)
        rc = runs_live(x->w, &live);
    if (!rc && live)
        rc = err_set(ML_EDB, "run %llu is in progress: rekey when no run is live", live);
    return rc;
}

int rekey_run(const struct config *cfg, const struct rekey_options *opt, struct rekey_report *rep)
{
    char a[PII_KEY_FP_BUF];
    unsigned char *nk = NULL;
    size_t nlen = 0, nkinds = 0;
    struct rekey x = {.sql = BUF_INIT, .table = BUF_INIT};
    struct buf kinds = BUF_INIT;
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
        rc = crypto_mac_new(nk, nlen, &x.mac);
    if (nk) {
        mem_wipe(nk, nlen);
        free(nk);
    }
    if (!rc) {
        x.hex = calloc(2 * REKEY_CHUNK, sizeof(*x.hex));
        x.params = calloc(2 * REKEY_CHUNK, sizeof(*x.params));
        if (!x.hex || !x.params)
            rc = err_set(ML_ENOMEM, "out of memory");
    }
    if (!rc)
        rc = wh_connect(cfg, WH_LOADER, &x.w);
    if (!rc) {
        x.d = wh_dialect(x.w);
        x.dl = wh_is_postgres(x.w) ? &pg_sql : &mysql_sql;
        x.space = config_warehouse_space(cfg);
        rc = pii_key_wh_read(x.w, x.space, false, &st);
    }
    /* the configuration may already name the new key while its rekey is
     * pending (changed too early): finishing needs only the new key */
    if (!rc && strcmp(rep->old_fp, rep->new_fp) == 0 &&
        !(st.pending && strcmp(st.pending_fp, rep->new_fp) == 0))
        rc = err_set(ML_ECONFIG,
                     "the new key is the configured key (fingerprint %s): nothing to change",
                     pii_key_show(rep->new_fp, a));
    if (!rc)
        rc = preflight(cfg, opt, &x, rep, &st);
    rep->resumed = !rc && st.pending;
    if (!rc && !st.pending) {
        unsigned long long live = 0;
        rc = start_pending(&x, rep->old_fp, rep->new_fp);
        /* a run that started before the pending mark became visible */
        if (!rc)
            rc = runs_live(x.w, &live);
        if (!rc && live) {
            rc = undo_pending(&x);
            rc = err_set(ML_EDB,
                         "run %llu started meanwhile: rekey not started%s; rekey when no run "
                         "is live",
                         live, rc ? " (and the pending mark could not be removed)" : "");
        }
    } else if (rep->resumed) {
        log_info("rekey: resuming the pending rekey to key %s", pii_key_show(rep->new_fp, a));
    }
    if (!rc)
        rc = list_kinds(&x, &kinds, &nkinds);
    rep->kinds = nkinds;
    if (!rc)
        rc = wh_exec(x.w, x.dl->tmp_create);
    for (size_t i = 0, off = 0; !rc && i < nkinds; i++) {
        const char *kind = kinds.data + off;
        unsigned long long rows = 0;
        bool skipped = false;
        off += strlen(kind) + 1;
        rc = convert_kind(&x, kind, rep->new_fp, &rows, &skipped);
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
        rc = finish_pending(&x, rep->new_fp);
    if (rc)
        err_prefix(rc, "rekey");
    buf_wipe(&x.sql);
    buf_release(&x.table);
    buf_release(&kinds);
    if (x.hex)
        mem_wipe(x.hex, 2 * REKEY_CHUNK * sizeof(*x.hex));
    free(x.hex);
    free(x.params);
    wh_close(x.w);
    crypto_mac_free(x.mac);
    return rc;
}
