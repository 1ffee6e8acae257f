#include "erase.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "convert.h"
#include "ddlgen.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "pii_key.h"
#include "reveal.h"
#include "runs.h"
#include "wh.h"
#include "banned.h"

/* The digest's fixed label, with its 0x00 separator: not a valid surrogate
 * kind (it holds a '.'), so a subject's digest never equals a surrogate's. */
static const char subject_label[] = "maskload.subject";

/* Surrogate ids IN (...) are written this many at a time. */
#define IDS_PER_STATEMENT 1000

int erase_subject_digest(struct crypto_mac *mac, const char *s, size_t len,
                         unsigned char out[CRYPTO_DIGEST_LEN])
{
    return crypto_mac_digest(mac, subject_label, sizeof(subject_label), s, len, out);
}

static bool is_int_type(enum col_type t)
{
    return t == COL_BIGINT || t == COL_INT || t == COL_SMALLINT;
}

static bool in_range(enum col_type t, long long v)
{
    if (t == COL_SMALLINT)
        return v >= -32768 && v <= 32767;
    if (t == COL_INT)
        return v >= -2147483648LL && v <= 2147483647LL;
    return true;
}

/* The subject as an integer of column type `t`: only its canonical decimal
 * spelling ("42", "-7", "0"; not "042", "+42", "-0", " 42", "42abc"). */
static bool subject_int(const char *s, enum col_type t, long long *out)
{
    const char *d = s[0] == '-' ? s + 1 : s;
    if (!*d || (d[0] == '0' && (d[1] || d != s)))
        return false;
    for (const char *p = d; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    if (convert_int64(s, out)) {
        err_clear();
        return false;
    }
    return in_range(t, *out);
}

/* The columns of `t` declared `subject: true`. */
static bool has_subject(const struct table_def *t)
{
    for (unsigned i = 0; t && i < t->ncols; i++)
        if (t->cols[i].subject)
            return true;
    return false;
}

/* ---- forget ---- */

struct kind_ids {
    const char *kind;
    unsigned long long *ids;
    size_t n, cap;
};

/* Every statement that holds the subject has it as its parameter $1 (bound
 * on PostgreSQL, a literal escaped by the server's escaping on MySQL). */
struct forget {
    const struct config *cfg;
    struct wh *w;
    enum db_dialect d;
    bool pg;
    const char *subject;
    struct buf sql, cond;
    bool cond_param;        /* cond holds $1 */
    struct kind_ids *kinds; /* candidates, one entry per kind in use */
    size_t nkinds;
    const struct table_def **tables; /* every stream table of the configured streams */
    size_t ntables;
    struct erase_report *rep;
};

/* Appends to x->cond the test "column `c` holds the subject", OR-ed to
 * what is there; nothing when the column's type can never hold it. */
static int cond_column(struct forget *x, const struct column_def *c)
{
    long long v;
    int rc = 0;
    if (is_int_type(c->type)) {
        if (!subject_int(x->subject, c->type, &v))
            return 0;
        rc = buf_adds(&x->cond, x->cond.len ? " OR " : "");
        if (!rc)
            rc = wh_append_ident(x->d, &x->cond, c->name);
        return rc ? rc : buf_addf(&x->cond, " = %lld", v);
    }
    x->cond_param = true;
    /* text: the index-friendly comparison, then (MySQL) the exact one (byte
     * for byte: no collation, no trailing-space padding); PostgreSQL's
     * equality of a deterministic collation is byte for byte already */
    rc = buf_adds(&x->cond, x->cond.len ? " OR (" : "(");
    if (!rc)
        rc = wh_append_ident(x->d, &x->cond, c->name);
    if (!rc)
        rc = buf_adds(&x->cond, " = $1");
    if (x->pg)
        return rc ? rc : buf_addc(&x->cond, ')');
    if (!rc)
        rc = buf_adds(&x->cond, " AND CAST(");
    if (!rc)
        rc = wh_append_ident(x->d, &x->cond, c->name);
    return rc ? rc : buf_adds(&x->cond, " AS BINARY) = CAST($1 AS BINARY))");
}

/* Runs x->sql, with the subject as $1 when `param`; *affected (may be
 * NULL) gets the rows it changed. */
static int exec_sql(struct forget *x, bool param, unsigned long long *affected)
{
    int rc = wh_exec_params(x->w, x->sql.data, param ? 1 : 0, &x->subject, NULL);
    if (!rc && affected)
        *affected += wh_affected_rows(x->w);
    return rc;
}

/* One count: the first column of the first row of x->sql (no parameter). */
static int query_count(struct forget *x, unsigned long long *out)
{
    return wh_query_u64(x->w, x->sql.data, 0, NULL, out, NULL);
}

static int add_candidate(struct forget *x, const char *kind, unsigned long long id)
{
    struct kind_ids *k = NULL;
    for (size_t i = 0; i < x->nkinds && !k; i++)
        if (strcmp(x->kinds[i].kind, kind) == 0)
            k = &x->kinds[i];
    if (!k)
        return err_set(ML_EINTERNAL, "surrogate kind '%s' is not in use", kind);
    for (size_t i = 0; i < k->n; i++)
        if (k->ids[i] == id)
            return 0;
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 16;
        unsigned long long *g = realloc(k->ids, cap * sizeof(*g));
        if (!g)
            return err_set(ML_ENOMEM, "out of memory");
        k->ids = g;
        k->cap = cap;
    }
    k->ids[k->n++] = id;
    return 0;
}

/* The surrogates the rows of `t` matching `where` reference. */
static int collect_surrogates(struct forget *x, const struct table_def *t, const char *where)
{
    int rc = 0;
    for (unsigned c = 0; !rc && c < t->ncols; c++) {
        const struct column_def *col = &t->cols[c];
        struct wh_result *res = NULL;
        const char *const *row;
        if (col->type != COL_SURROGATE)
            continue;
        buf_reset(&x->sql);
        rc = buf_adds(&x->sql, "SELECT DISTINCT ");
        if (!rc)
            rc = wh_append_ident(x->d, &x->sql, col->name);
        if (!rc)
            rc = buf_adds(&x->sql, " FROM ");
        if (!rc)
            rc = wh_append_ident(x->d, &x->sql, t->name);
        if (!rc)
            rc = buf_addf(&x->sql, " WHERE (%s) AND ", where);
        if (!rc)
            rc = wh_append_ident(x->d, &x->sql, col->name);
        if (!rc)
            rc = buf_adds(&x->sql, " IS NOT NULL");
        if (!rc)
            rc = wh_query(x->w, x->sql.data, x->cond_param ? 1 : 0, &x->subject, NULL, &res);
        while (!rc && wh_result_next(res, &row, NULL) == 1)
            if (row[0])
                rc = add_candidate(x, col->kind, strtoull(row[0], NULL, 10));
        wh_result_free(res);
    }
    return rc ? err_prefix(rc, "table '%s'", t->name) : 0;
}

static int delete_rows(struct forget *x, const struct table_def *t, const char *where)
{
    int rc;
    buf_reset(&x->sql);
    rc = buf_adds(&x->sql, "DELETE FROM ");
    if (!rc)
        rc = wh_append_ident(x->d, &x->sql, t->name);
    if (!rc)
        rc = buf_addf(&x->sql, " WHERE %s", where);
    if (!rc)
        rc = exec_sql(x, x->cond_param, &x->rep->rows_deleted);
    if (rc)
        return err_prefix(rc, "deleting from '%s'", t->name);
    return 0;
}

/* The JSON path '$."a"."b"' of dotted path `p` (keys quoted, '"' and '\\'
 * escaped), for JSON_VALUE (MySQL). */
static int json_path_text(struct buf *jp, const char *p)
{
    int rc = buf_adds(jp, "$.\"");
    for (; !rc && *p; p++) {
        if (*p == '.')
            rc = buf_adds(jp, "\".\"");
        else if (*p == '"' || *p == '\\')
            rc = buf_addf(jp, "\\%c", *p);
        else
            rc = buf_addc(jp, *p);
    }
    return rc ? rc : buf_addc(jp, '"');
}

/* What JSON_VALUE gives for a scalar (a string's content, a number's text,
 * true or false), NULL for anything else. */
static const char *json_scalar_text(const json_node *v, size_t *len)
{
    switch (json_type(v)) {
    case JSON_STRING:
        return json_string_len(v, len);
    case JSON_NUMBER:
        return json_number_text(v, len);
    case JSON_BOOL:
        *len = json_bool(v) ? 4 : 5;
        return json_bool(v) ? "true" : "false";
    default:
        return NULL;
    }
}

/* PostgreSQL: load_rejects.payload is text and need not be JSON (a record
 * that did not parse), so its values at the subject paths are read here:
 * the rejects of stream `name` whose payload holds the subject as text
 * (strpos) are parsed, and those with the subject at a subject path are
 * deleted by id. */
static int delete_rejects_by_payload(struct forget *x, const char *name,
                                     const struct stream_def *def)
{
    /* a payload holds the subject as it is unless JSON escapes it */
    static const char find[] = "SELECT reject_id, payload FROM load_rejects WHERE stream = $2 "
                               "AND strpos(payload, $1) > 0";
    static const char find_all[] = "SELECT reject_id, payload FROM load_rejects WHERE stream = $1";
    bool plain = true;
    const char *p[2] = {x->subject, name};
    struct wh_result *res = NULL;
    const char *const *row;
    const size_t *len;
    json_doc *doc = json_doc_new();
    size_t n = strlen(x->subject), ids = 0;
    int rc = doc ? 0 : err_set(ML_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        plain = plain && (unsigned char)x->subject[i] >= 0x20 && x->subject[i] != '"' &&
                x->subject[i] != '\\' && (unsigned char)x->subject[i] < 0x7f;
    if (!rc)
        rc = plain ? wh_query(x->w, find, 2, p, NULL, &res)
                   : wh_query(x->w, find_all, 1, &name, NULL, &res);
    buf_reset(&x->sql);
    if (!rc)
        rc = buf_adds(&x->sql, "DELETE FROM load_rejects WHERE reject_id IN (");
    while (!rc && wh_result_next(res, &row, &len) == 1) {
        bool match = false;
        if (!row[0] || !row[1] || json_doc_parse(doc, row[1], len[1])) {
            err_clear();
            continue;
        }
        for (unsigned i = 0; i < def->nfields && !match; i++) {
            const struct field_spec *f = &def->fields[i];
            size_t vl = 0;
            const char *v;
            if (f->col < 0 || !def->table->cols[f->col].subject)
                continue;
            v = json_scalar_text(json_path(json_root(doc), f->path), &vl);
            match = v && vl == n && memcmp(v, x->subject, n) == 0;
        }
        if (match)
            rc = buf_addf(&x->sql, "%s%s", ids++ ? "," : "", row[0]);
    }
    wh_result_free_wiped(res);
    json_free(doc);
    if (!rc && ids)
        rc = buf_addc(&x->sql, ')');
    if (!rc && ids)
        rc = exec_sql(x, false, &x->rep->rejects_deleted);
    return rc;
}

/* The rejects of stream `name` whose key or kept value at a subject path is
 * the subject (their payloads have no PII, but may hold the id). */
static int delete_rejects(struct forget *x, const char *name, const struct stream_def *def)
{
    const char **p = calloc(2 + (size_t)def->nfields, sizeof(*p));
    struct buf *paths = calloc(def->nfields ? def->nfields : 1, sizeof(*paths));
    bool any = false, key = def->table->nkey == 1 && def->table->cols[0].subject;
    int np = 2, rc = p && paths ? 0 : err_set(ML_ENOMEM, "out of memory");
    buf_reset(&x->sql);
    if (!rc) {
        p[0] = x->subject;
        p[1] = name;
        rc = buf_adds(&x->sql, "DELETE FROM load_rejects WHERE stream = $2 AND (");
    }
    if (!rc && key) {
        rc = buf_adds(&x->sql, x->pg ? "record_key = $1"
                                     : "CAST(record_key AS BINARY) = CAST($1 AS BINARY)");
        any = true;
    }
    for (unsigned i = 0; !rc && !x->pg && i < def->nfields; i++) {
        const struct field_spec *f = &def->fields[i];
        if (f->col < 0 || !def->table->cols[f->col].subject)
            continue;
        rc = json_path_text(&paths[i], f->path);
        p[np++] = paths[i].data;
        if (!rc)
            rc =
                buf_addf(&x->sql, "%sCAST(JSON_VALUE(payload, $%d) AS BINARY) = CAST($1 AS BINARY)",
                         any ? " OR " : "", np);
        any = true;
    }
    if (!rc && any)
        rc = buf_addc(&x->sql, ')');
    if (!rc && any)
        rc = wh_exec_params(x->w, x->sql.data, np, p, NULL);
    if (!rc && any)
        x->rep->rejects_deleted += wh_affected_rows(x->w);
    if (!rc && x->pg)
        rc = delete_rejects_by_payload(x, name, def);
    for (unsigned i = 0; paths && i < def->nfields; i++)
        buf_release(&paths[i]);
    free(paths);
    free(p);
    return rc ? err_prefix(rc, "deleting the rejects of stream '%s'", name) : 0;
}

/* Stream `st`: its children's rows of matching parents, its matching rows,
 * its rejects; the surrogates they referenced become candidates. */
static int forget_stream(struct forget *x, const struct config_stream *st)
{
    const struct stream_def *def = st->def;
    const struct table_def *t = def ? def->table : NULL;
    struct buf where = BUF_INIT;
    int rc = 0;
    if (!t || !has_subject(t))
        return 0;
    buf_reset(&x->cond);
    x->cond_param = false;
    for (unsigned c = 0; !rc && c < t->ncols; c++)
        if (t->cols[c].subject)
            rc = cond_column(x, &t->cols[c]);
    if (!rc && x->cond.len == 0) /* no subject column can hold this id */
        return delete_rejects(x, st->name, def);
    for (unsigned ci = 0; !rc && ci < def->nchildren; ci++) {
        const struct table_def *ct = def->children[ci].table;
        buf_reset(&where);
        rc = wh_append_ident(x->d, &where, ct->cols[0].name);
        if (!rc)
            rc = buf_adds(&where, " IN (SELECT ");
        if (!rc)
            rc = wh_append_ident(x->d, &where, t->cols[0].name);
        if (!rc)
            rc = buf_adds(&where, " FROM ");
        if (!rc)
            rc = wh_append_ident(x->d, &where, t->name);
        if (!rc)
            rc = buf_addf(&where, " WHERE %s)", x->cond.data);
        if (!rc)
            rc = collect_surrogates(x, ct, where.data);
        if (!rc)
            rc = delete_rows(x, ct, where.data);
    }
    if (!rc)
        rc = collect_surrogates(x, t, x->cond.data);
    if (!rc)
        rc = delete_rows(x, t, x->cond.data);
    if (!rc)
        rc = delete_rejects(x, st->name, def);
    buf_release(&where);
    return rc ? err_prefix(rc, "stream '%s'", st->name) : 0;
}

/* The candidates of kind `k` that no row of any stream table references. */
static int delete_unreferenced(struct forget *x, const struct kind_ids *k)
{
    struct buf name = BUF_INIT;
    int rc = ddlgen_sensitive_name(&name, k->kind);
    for (size_t i = 0; !rc && i < k->n;) {
        buf_reset(&x->sql);
        rc = buf_adds(&x->sql, "DELETE FROM ");
        if (!rc)
            rc = wh_append_ident(x->d, &x->sql, name.data);
        if (!rc)
            rc = buf_adds(&x->sql, " WHERE id IN (");
        for (size_t first = i; !rc && i < k->n && i - first < IDS_PER_STATEMENT; i++)
            rc = buf_addf(&x->sql, "%s%llu", i == first ? "" : ",", k->ids[i]);
        if (!rc)
            rc = buf_addc(&x->sql, ')');
        for (size_t t = 0; !rc && t < x->ntables; t++) {
            const struct table_def *td = x->tables[t];
            for (unsigned c = 0; !rc && c < td->ncols; c++) {
                if (td->cols[c].type != COL_SURROGATE || strcmp(td->cols[c].kind, k->kind) != 0)
                    continue;
                rc = buf_adds(&x->sql, " AND NOT EXISTS (SELECT 1 FROM ");
                if (!rc)
                    rc = wh_append_ident(x->d, &x->sql, td->name);
                if (!rc)
                    rc = buf_adds(&x->sql, " WHERE ");
                if (!rc)
                    rc = wh_append_ident(x->d, &x->sql, td->cols[c].name);
                if (!rc)
                    rc = buf_adds(&x->sql, " = ");
                if (!rc)
                    rc = wh_append_ident(x->d, &x->sql, name.data);
                if (!rc)
                    rc = buf_adds(&x->sql, ".id)");
            }
        }
        if (!rc)
            rc = exec_sql(x, false, &x->rep->surrogates_deleted);
    }
    if (rc)
        err_prefix(rc, "deleting unreferenced surrogates from '%s'", name.data);
    buf_release(&name);
    return rc;
}

/* The erasure's records: pii_erasures and pii_access_log. */
static int record_erasure(struct forget *x, const char *reason)
{
    const char *hex = x->rep->digest_hex;
    const char *found = x->rep->rows_deleted + x->rep->rejects_deleted > 0 ? "TRUE" : "FALSE";
    unsigned long long n = 0;
    int rc;
    buf_reset(&x->sql);
    rc = x->pg ? buf_addf(&x->sql,
                          "SELECT count(*) FROM (SELECT 1 FROM pii_erasures WHERE digest = "
                          "decode('%s', 'hex') FOR UPDATE) e",
                          hex)
               : buf_addf(&x->sql,
                          "SELECT COUNT(*) FROM pii_erasures WHERE digest = X'%s' FOR UPDATE", hex);
    if (!rc)
        rc = query_count(x, &n);
    x->rep->already_erased = n > 0;
    buf_reset(&x->sql);
    if (!rc)
        rc = x->pg ? buf_addf(&x->sql,
                              "INSERT INTO pii_erasures (digest, erased_at, rows_deleted) VALUES "
                              "(decode('%s', 'hex'), clock_timestamp() AT TIME ZONE 'UTC', %llu) "
                              "ON CONFLICT (digest) DO UPDATE SET rows_deleted = "
                              "pii_erasures.rows_deleted + EXCLUDED.rows_deleted",
                              hex, x->rep->rows_deleted)
                   : buf_addf(&x->sql,
                              "INSERT INTO pii_erasures (digest, erased_at, rows_deleted) VALUES "
                              "(X'%s', UTC_TIMESTAMP(6), %llu) ON DUPLICATE KEY UPDATE "
                              "rows_deleted = rows_deleted + %llu",
                              hex, x->rep->rows_deleted, x->rep->rows_deleted);
    if (!rc)
        rc = exec_sql(x, false, NULL);
    buf_reset(&x->sql);
    if (!rc)
        rc = x->pg
                 ? buf_addf(&x->sql,
                            "INSERT INTO pii_access_log (at, who, action, subject_digest, reason, "
                            "found) VALUES (clock_timestamp() AT TIME ZONE 'UTC', session_user, "
                            "'forget', decode('%s', 'hex'), $1, %s)",
                            hex, found)
                 : buf_addf(&x->sql,
                            "INSERT INTO pii_access_log (at, who, action, subject_digest, reason, "
                            "found) VALUES (UTC_TIMESTAMP(6), USER(), 'forget', X'%s', $1, %s)",
                            hex, found);
    if (!rc)
        rc = wh_exec_params(x->w, x->sql.data, 1, &reason, NULL);
    return rc ? err_prefix(rc, "recording the erasure (did `maskload init` run?)") : 0;
}

/* The stream definitions of the config, the tables and kinds they use. */
static int forget_prepare(struct forget *x)
{
    const struct config *cfg = x->cfg;
    const struct stream_def **defs = calloc(cfg->nstreams ? cfg->nstreams : 1, sizeof(*defs));
    const char **kinds = NULL;
    size_t ndefs = 0, nkinds = 0;
    int rc = defs ? 0 : err_set(ML_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < cfg->nstreams; i++) {
        if (!cfg->streams[i].def)
            rc = err_set(ML_ECONFIG, "stream '%s' has no definition", cfg->streams[i].name);
        else
            defs[ndefs++] = cfg->streams[i].def;
    }
    if (!rc)
        rc = ddlgen_stream_tables(defs, ndefs, &x->tables, &x->ntables);
    if (!rc)
        rc = ddlgen_surrogate_kinds(defs, ndefs, &kinds, &nkinds);
    if (!rc && nkinds) {
        x->kinds = calloc(nkinds, sizeof(*x->kinds));
        if (!x->kinds)
            rc = err_set(ML_ENOMEM, "out of memory");
        for (size_t i = 0; !rc && i < nkinds; i++)
            x->kinds[x->nkinds++].kind = kinds[i];
    }
    free(kinds);
    free(defs);
    return rc;
}

/* No live run may load while a subject is erased: a run that read the
 * erased set before this commit would load the subject again, and its
 * surrogate cache could hand out ids deleted here. The locking read takes
 * every lease row and the gap after them, so a run starting now waits in
 * its lease INSERT until this transaction ends, and then reads the new
 * erased set (load.c reads it after its lease). A live run (lease.h) makes
 * forget fail; stale leases do not count. */
static int refuse_live_runs(struct forget *x)
{
    unsigned long long leases = 0, live = 0;
    int rc;
    buf_reset(&x->sql);
    if (x->pg) {
        /* PostgreSQL takes no FOR UPDATE with an aggregate: the table lock
         * that a lease INSERT (and another forget) waits for */
        rc = wh_exec(x->w, "LOCK TABLE load_run_leases IN SHARE ROW EXCLUSIVE MODE");
        if (!rc)
            rc = buf_adds(&x->sql, "SELECT count(*) FROM load_run_leases");
    } else {
        rc = buf_adds(&x->sql, "SELECT COUNT(*) FROM load_run_leases FOR UPDATE");
    }
    if (!rc)
        rc = query_count(x, &leases);
    if (rc)
        return err_prefix(rc, "locking the leases of live runs (did `maskload init` run?)");
    if (leases)
        rc = runs_live(x->w, &live);
    if (!rc && live)
        rc = err_set(ML_EIO,
                     "run %llu is in progress: erase when no run is loading (stop a `run "
                     "--follow` first); nothing was changed",
                     live);
    return rc;
}

int erase_forget(const struct config *cfg, const char *subject, const char *reason,
                 struct erase_report *rep)
{
    struct forget x = {.cfg = cfg, .subject = subject, .rep = rep};
    struct crypto_mac *mac = NULL;
    unsigned char digest[CRYPTO_DIGEST_LEN];
    size_t n = subject ? strlen(subject) : 0;
    int rc;
    memset(rep, 0, sizeof(*rep));
    if (n == 0 || n > ERASE_SUBJECT_MAX || !convert_utf8_valid(subject, n, NULL))
        return err_set(ML_EUSAGE, "the subject must be 1 to %d bytes of UTF-8 text",
                       ERASE_SUBJECT_MAX);
    rc = reveal_reason_check(reason);
    if (!rc)
        rc = crypto_mac_new(cfg->pii.digest_key, cfg->pii.digest_key_len, &mac);
    if (!rc)
        rc = erase_subject_digest(mac, subject, n, digest);
    crypto_mac_free(mac);
    if (rc)
        return rc;
    crypto_hex(digest, sizeof(digest), rep->digest_hex);
    buf_init(&x.sql, 0);
    buf_init(&x.cond, 0);
    rc = forget_prepare(&x);
    if (!rc)
        rc = wh_connect(cfg, WH_LOADER, &x.w);
    if (!rc) {
        x.d = wh_dialect(x.w);
        x.pg = wh_is_postgres(x.w);
        rc = wh_begin(x.w);
    }
    if (!rc)
        rc = refuse_live_runs(&x);
    /* the digest is made with the warehouse's key, and no rekey is pending */
    if (!rc)
        rc = pii_key_wh_verify(x.w, config_warehouse_space(cfg), cfg->pii.digest_key,
                               cfg->pii.digest_key_len, false, "forget");
    for (size_t i = 0; !rc && i < cfg->nstreams; i++)
        rc = forget_stream(&x, &cfg->streams[i]);
    for (size_t i = 0; !rc && i < x.nkinds; i++)
        if (x.kinds[i].n)
            rc = delete_unreferenced(&x, &x.kinds[i]);
    if (!rc)
        rc = record_erasure(&x, reason);
    if (!rc)
        rc = wh_commit(x.w);
    if (rc && x.w)
        wh_rollback(x.w);
    if (rc) {
        struct erase_report empty = {0};
        *rep = empty;
    }
    buf_wipe(&x.sql); /* it held the subject */
    buf_wipe(&x.cond);
    for (size_t i = 0; i < x.nkinds; i++)
        free(x.kinds[i].ids);
    free(x.kinds);
    free(x.tables);
    wh_close(x.w);
    mem_wipe(digest, sizeof(digest));
    return rc ? err_prefix(rc, "forget") : 0;
}

/* ---- the erased subjects of a run ---- */

struct erase_set {
    struct crypto_mac *mac;
    unsigned char (*digests)[CRYPTO_DIGEST_LEN]; /* sorted */
    size_t n, cap;
};

static int digest_cmp(const void *a, const void *b)
{
    return memcmp(a, b, CRYPTO_DIGEST_LEN);
}

int erase_set_load_wh(struct wh *w, const unsigned char *key, size_t key_len,
                      struct erase_set **out)
{
    struct erase_set *s = calloc(1, sizeof(*s));
    struct wh_result *res = NULL;
    const char *const *row;
    const size_t *len;
    int rc = s ? crypto_mac_new(key, key_len, &s->mac) : err_set(ML_ENOMEM, "out of memory");
    *out = NULL;
    if (!rc) {
        rc = wh_query(w, "SELECT digest FROM pii_erasures", 0, NULL, NULL, &res);
        if (rc)
            err_prefix(rc, "reading pii_erasures (run `maskload init` to create it)");
    }
    while (!rc && wh_result_next(res, &row, &len) == 1) {
        unsigned char d[CRYPTO_DIGEST_LEN];
        if (!row[0] || wh_bytes(w, row[0], len[0], d, sizeof(d)) != CRYPTO_DIGEST_LEN)
            continue;
        if (s->n == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 64;
            void *g = realloc(s->digests, cap * CRYPTO_DIGEST_LEN);
            if (!g) {
                rc = err_set(ML_ENOMEM, "out of memory reading pii_erasures");
                break;
            }
            s->digests = g;
            s->cap = cap;
        }
        memcpy(s->digests[s->n++], d, CRYPTO_DIGEST_LEN);
    }
    wh_result_free(res);
    if (rc) {
        erase_set_free(s);
        return rc;
    }
    if (s->n > 1)
        qsort(s->digests, s->n, CRYPTO_DIGEST_LEN, digest_cmp);
    *out = s;
    return 0;
}

int erase_set_load(struct db *db, const unsigned char *key, size_t key_len, struct erase_set **out)
{
    struct wh *w = wh_borrow_db(db);
    int rc = w ? erase_set_load_wh(w, key, key_len, out) : ML_ENOMEM;
    wh_close(w);
    return rc;
}

void erase_set_free(struct erase_set *s)
{
    if (!s)
        return;
    crypto_mac_free(s->mac);
    free(s->digests);
    free(s);
}

int erase_set_copy(const struct erase_set *s, const unsigned char *key, size_t key_len,
                   struct erase_set **out)
{
    struct erase_set *c = calloc(1, sizeof(*c));
    int rc = c ? crypto_mac_new(key, key_len, &c->mac) : err_set(ML_ENOMEM, "out of memory");
    *out = NULL;
    if (!rc && s->n) {
        c->digests = malloc(s->n * CRYPTO_DIGEST_LEN);
        if (c->digests) {
            memcpy(c->digests, s->digests, s->n * CRYPTO_DIGEST_LEN);
            c->n = c->cap = s->n;
        } else {
            rc = err_set(ML_ENOMEM, "out of memory copying the erased subjects");
        }
    }
    if (rc) {
        erase_set_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

size_t erase_set_size(const struct erase_set *s)
{
    return s ? s->n : 0;
}

/* The subject text of value `v` headed for column `c` (erase.h): the
 * canonical decimal of an integer column's integer, else the string's
 * content or the number's token text; NULL when it has none. */
static const char *subject_text(const json_node *v, const struct column_def *c, char num[24],
                                size_t *len)
{
    enum json_type t = json_type(v);
    const char *s = NULL;
    long long ll;
    *len = 0;
    if (t == JSON_STRING)
        s = json_string_len(v, len);
    else if (t == JSON_NUMBER)
        s = json_number_text(v, len);
    if (!s)
        return NULL;
    if (is_int_type(c->type)) {
        int rc = t == JSON_NUMBER ? json_int64(v, &ll)
                                  : (memchr(s, '\0', *len) ? ML_ERECORD : convert_int64(s, &ll));
        if (rc == 0 && in_range(c->type, ll)) {
            *len = (size_t)snprintf(num, 24, "%lld", ll);
            return num;
        }
        err_clear();
    }
    return s;
}

int erase_set_match(struct erase_set *s, const struct stream_def *def, const json_node *rec,
                    bool *erased)
{
    *erased = false;
    if (!s || s->n == 0 || !def || json_type(rec) != JSON_OBJECT)
        return 0;
    for (unsigned i = 0; i < def->nfields && !*erased; i++) {
        const struct field_spec *f = &def->fields[i];
        unsigned char d[CRYPTO_DIGEST_LEN];
        char num[24];
        size_t len;
        const char *text;
        int rc;
        if (f->col < 0 || !def->table->cols[f->col].subject)
            continue;
        text = subject_text(json_path(rec, f->path), &def->table->cols[f->col], num, &len);
        if (!text)
            continue;
        rc = erase_subject_digest(s->mac, text, len, d);
        if (rc)
            return rc;
        *erased = bsearch(d, s->digests, s->n, CRYPTO_DIGEST_LEN, digest_cmp) != NULL;
    }
    return 0;
}
