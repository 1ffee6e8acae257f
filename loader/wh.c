/* wh.c - wh.h: the handle, the dispatch to the kind's operations, and what
 * both kinds share (placeholders, quoting, the first value of a query). */
#include "wh.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "conn_pg.h"
#include "error.h"
#include "pg.h"
#include "wh_int.h"
#include "banned.h"

/* The database PostgreSQL's WH_ADMIN_SERVER connects to. */
#define PG_MAINTENANCE_DB "postgres"

struct wh {
    const struct wh_ops *ops;
    void *c;
    bool owned;
};

struct wh_result {
    const struct wh_ops *ops;
    void *r;
    size_t *lens; /* one per column */
};

struct wh *wh_new(const struct wh_ops *ops, void *c, bool owned)
{
    struct wh *w = calloc(1, sizeof(*w));
    if (!w) {
        err_set(ML_ENOMEM, "out of memory");
        return NULL;
    }
    w->ops = ops;
    w->c = c;
    w->owned = owned;
    return w;
}

int wh_connect(const struct config *cfg, enum wh_account account, struct wh **out)
{
    bool pg = cfg->warehouse.kind == WAREHOUSE_POSTGRES;
    void *c = NULL;
    int rc;
    *out = NULL;
    if (pg && account == WH_LOADER)
        rc = conn_pg_warehouse(cfg, (struct pg **)&c);
    else if (pg)
        rc = conn_pg_admin(cfg, account == WH_ADMIN_SERVER ? PG_MAINTENANCE_DB : NULL,
                           (struct pg **)&c);
    else if (account == WH_LOADER)
        rc = conn_warehouse(cfg, (struct db **)&c);
    else
        rc = conn_admin(cfg, account == WH_ADMIN, (struct db **)&c);
    if (rc)
        return rc;
    *out = wh_new(pg ? &wh_pg_ops : &wh_mysql_ops, c, true);
    if (!*out) {
        (pg ? wh_pg_ops : wh_mysql_ops).close(c);
        return ML_ENOMEM;
    }
    return 0;
}

struct wh *wh_borrow_db(struct db *db)
{
    return wh_new(&wh_mysql_ops, db, false);
}

struct wh *wh_borrow_pg(struct pg *pg)
{
    return wh_new(&wh_pg_ops, pg, false);
}

void wh_close(struct wh *w)
{
    if (!w)
        return;
    if (w->owned)
        w->ops->close(w->c);
    free(w);
}

enum db_dialect wh_dialect(const struct wh *w)
{
    return w->ops->dialect(w->c);
}

bool wh_is_postgres(const struct wh *w)
{
    return w->ops == &wh_pg_ops;
}

struct db *wh_db(struct wh *w)
{
    return w->ops == &wh_mysql_ops ? w->c : NULL;
}

struct pg *wh_pg(struct wh *w)
{
    return w->ops == &wh_pg_ops ? w->c : NULL;
}

const char *wh_tls(struct wh *w)
{
    return w->ops->tls(w->c);
}

int wh_begin(struct wh *w)
{
    return w->ops->begin(w->c);
}

int wh_commit(struct wh *w)
{
    return w->ops->commit(w->c);
}

void wh_rollback(struct wh *w)
{
    w->ops->rollback(w->c);
}

int wh_exec(struct wh *w, const char *sql)
{
    return w->ops->exec(w->c, sql, 0, NULL, NULL);
}

int wh_exec_params(struct wh *w, const char *sql, int n, const char *const *values,
                   const size_t *lengths)
{
    return w->ops->exec(w->c, sql, n, values, lengths);
}

unsigned long long wh_affected_rows(struct wh *w)
{
    return w->ops->affected(w->c);
}

int wh_query(struct wh *w, const char *sql, int n, const char *const *values, const size_t *lengths,
             struct wh_result **out)
{
    struct wh_result *r = calloc(1, sizeof(*r));
    unsigned ncols;
    int rc;
    *out = NULL;
    if (!r)
        return err_set(ML_ENOMEM, "out of memory");
    r->ops = w->ops;
    rc = w->ops->query(w->c, sql, n, values, lengths, &r->r);
    if (rc) {
        free(r);
        return rc;
    }
    ncols = r->ops->columns(r->r);
    r->lens = calloc(ncols ? ncols : 1, sizeof(*r->lens));
    if (!r->lens) {
        wh_result_free(r);
        return err_set(ML_ENOMEM, "out of memory");
    }
    *out = r;
    return 0;
}

int wh_result_next(struct wh_result *r, const char *const **row, const size_t **lengths)
{
    int more = r->ops->next(r->r, row, r->lens);
    if (lengths)
        *lengths = r->lens;
    return more;
}

unsigned long long wh_result_rows(const struct wh_result *r)
{
    return r->ops->rows(r->r);
}

static void result_free(struct wh_result *r, bool wiped)
{
    if (!r)
        return;
    r->ops->free(r->r, wiped);
    free(r->lens);
    free(r);
}

void wh_result_free(struct wh_result *r)
{
    result_free(r, false);
}

void wh_result_free_wiped(struct wh_result *r)
{
    result_free(r, true);
}

int wh_query_value(struct wh *w, const char *sql, int n, const char *const *values, struct buf *out,
                   bool *found)
{
    struct wh_result *r = NULL;
    const char *const *row;
    const size_t *len;
    int rc;
    *found = false;
    buf_wipe(out);
    rc = wh_query(w, sql, n, values, NULL, &r);
    if (rc)
        return rc;
    if (r->ops->columns(r->r) > 0 && wh_result_next(r, &row, &len) == 1 && row[0]) {
        rc = buf_add(out, row[0], len[0]);
        *found = rc == 0;
    }
    wh_result_free_wiped(r);
    if (rc)
        buf_wipe(out);
    return rc;
}

int wh_query_u64(struct wh *w, const char *sql, int n, const char *const *values,
                 unsigned long long *out, bool *none)
{
    struct buf v = BUF_INIT;
    bool found = false;
    char *end = NULL;
    int rc = wh_query_value(w, sql, n, values, &v, &found);
    *out = 0;
    if (none)
        *none = !found;
    if (!rc && found) {
        errno = 0;
        *out = strtoull(v.data, &end, 10);
        if (errno || end == v.data || *end)
            rc = err_set(ML_EDB, "the server returned '%.32s' for a number", v.data);
    }
    buf_release(&v);
    return rc;
}

size_t wh_bytes(const struct wh *w, const char *s, size_t len, unsigned char *out, size_t cap)
{
    return w->ops->bytes(s, len, out, cap);
}

/* ---- errors ---- */

enum db_err_class wh_error_class(struct wh *w)
{
    return w->ops->error_class(w->c);
}

bool wh_connection_lost(struct wh *w)
{
    return w->ops->lost(w->c);
}

bool wh_error_undefined_table(struct wh *w)
{
    return w->ops->undefined_table(w->c);
}

static const struct wh_ops *ops_of(enum db_dialect d)
{
    return d == DB_DIALECT_POSTGRES ? &wh_pg_ops : &wh_mysql_ops;
}

enum db_err_class wh_code_class(enum db_dialect d, unsigned err, const char *sqlstate)
{
    return ops_of(d)->code_class(err, sqlstate);
}

bool wh_code_undefined_table(enum db_dialect d, unsigned err, const char *sqlstate)
{
    return ops_of(d)->code_undefined_table(err, sqlstate);
}

/* ---- quoting ---- */

int wh_append_ident(enum db_dialect d, struct buf *out, const char *name)
{
    char q = d == DB_DIALECT_POSTGRES ? '"' : '`';
    size_t mark = out->len;
    int rc;
    if (!name || !*name)
        return err_set(ML_EINVAL, "an empty identifier");
    rc = buf_addc(out, q);
    for (const char *p = name; !rc && *p; p++) {
        if (*p == q)
            rc = buf_addc(out, q);
        if (!rc)
            rc = buf_addc(out, *p);
    }
    if (!rc)
        rc = buf_addc(out, q);
    if (rc)
        buf_truncate(out, mark);
    return rc;
}

int wh_append_qualified(enum db_dialect d, struct buf *out, const char *space, const char *name)
{
    size_t mark = out->len;
    int rc = wh_append_ident(d, out, space);
    if (!rc)
        rc = buf_addc(out, '.');
    if (!rc)
        rc = wh_append_ident(d, out, name);
    if (rc)
        buf_truncate(out, mark);
    return rc;
}

int wh_bind_text(struct buf *out, const char *sql, int n, const char *const *values,
                 const size_t *lengths,
                 int (*quote)(void *ctx, struct buf *out, const char *s, size_t len), void *ctx)
{
    char in = 0; /* the quote character of the literal or identifier we are in */
    int rc = 0;
    for (const char *p = sql; !rc && *p; p++) {
        if (in) {
            if (*p == '\\' && in != '`' && p[1]) /* MySQL's backslash escapes */
                rc = buf_add(out, p++, 2);
            else {
                if (*p == in)
                    in = 0; /* a doubled quote closes and reopens: the same text */
                rc = buf_addc(out, *p);
            }
            continue;
        }
        if (*p == '\'' || *p == '"' || *p == '`') {
            in = *p;
            rc = buf_addc(out, *p);
            continue;
        }
        if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
            char *end;
            long i = strtol(p + 1, &end, 10);
            p = end - 1; /* the loop steps past the last digit */
            if (i < 1 || i > n)
                return err_set(ML_EINVAL, "statement parameter $%ld of %d", i, n);
            if (!values[i - 1])
                rc = buf_adds(out, "NULL");
            else
                rc = quote(ctx, out, values[i - 1],
                           lengths ? lengths[i - 1] : strlen(values[i - 1]));
            continue;
        }
        rc = buf_addc(out, *p);
    }
    return rc;
}

/* MySQL: SIGNAL of SQLSTATE '45000'; PostgreSQL: RAISE EXCEPTION. */
#define MY_ER_SIGNAL_EXCEPTION 1644
#define PG_RAISE_EXCEPTION     "P0001"
/* PostgreSQL: program_limit_exceeded */
#define PG_PROGRAM_LIMIT "54000"

bool wh_code_record_limit(enum db_dialect d, unsigned err, const char *sqlstate)
{
    (void)err;
    return d == DB_DIALECT_POSTGRES && sqlstate && strcmp(sqlstate, PG_PROGRAM_LIMIT) == 0;
}

bool wh_error_record_limit(struct wh *w)
{
    struct pg *p = wh_pg(w);
    return p && wh_code_record_limit(DB_DIALECT_POSTGRES, 0, pg_sqlstate(p));
}

bool wh_error_raised(struct wh *w)
{
    struct db *d = wh_db(w);
    struct pg *p = wh_pg(w);
    const char *state = p ? pg_sqlstate(p) : NULL;
    if (d)
        return db_errno(d) == MY_ER_SIGNAL_EXCEPTION;
    return state && strcmp(state, PG_RAISE_EXCEPTION) == 0;
}
