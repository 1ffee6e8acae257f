#include "sqlgen.h"

#include "error.h"
#include "banned.h"

int sqlgen_upsert_head(struct buf *sql, const struct table_def *t)
{
    int rc = buf_adds(sql, "INSERT INTO ");
    if (!rc)
        rc = db_append_ident(sql, t->name);
    if (!rc)
        rc = buf_adds(sql, " (");
    for (unsigned i = 0; !rc && i < t->ncols; i++) {
        rc = db_append_ident(sql, t->cols[i].name);
        if (!rc)
            rc = buf_addc(sql, ',');
    }
    return rc ? rc : buf_adds(sql, "`load_run_id`,`loaded_at`) VALUES ");
}

static int new_value(struct buf *sql, const char *col, enum db_dialect dialect)
{
    if (dialect == DB_DIALECT_MYSQL8) {
        int rc = buf_adds(sql, "new.");
        return rc ? rc : db_append_ident(sql, col);
    }
    int rc = buf_adds(sql, "VALUES(");
    if (!rc)
        rc = db_append_ident(sql, col);
    return rc ? rc : buf_addc(sql, ')');
}

/* A target column, `col` or `table`.`col`. */
static int target_col(struct buf *sql, const struct table_def *t, const char *col, bool qualify)
{
    int rc = 0;
    if (qualify) {
        rc = db_append_ident(sql, t->name);
        if (!rc)
            rc = buf_addc(sql, '.');
    }
    return rc ? rc : db_append_ident(sql, col);
}

/* "`a`<=>VALUES(`a`) AND `b`<=>VALUES(`b`)" over the non-key columns */
static int unchanged(struct buf *sql, const struct table_def *t, enum db_dialect dialect,
                     bool qualify)
{
    int rc = 0;
    if (t->nkey >= t->ncols)
        return buf_adds(sql, "TRUE");
    for (unsigned i = t->nkey; !rc && i < t->ncols; i++) {
        if (i > t->nkey)
            rc = buf_adds(sql, " AND ");
        if (!rc)
            rc = target_col(sql, t, t->cols[i].name, qualify);
        if (!rc)
            rc = buf_adds(sql, "<=>");
        if (!rc)
            rc = new_value(sql, t->cols[i].name, dialect);
    }
    return rc;
}

int sqlgen_upsert_assignments(struct buf *sql, const struct table_def *t, enum db_dialect dialect,
                              bool qualify)
{
    static const char *const meta[] = {"load_run_id", "loaded_at"};
    int rc = 0;
    for (unsigned m = 0; !rc && m < 2; m++) {
        if (m)
            rc = buf_addc(sql, ',');
        if (!rc)
            rc = target_col(sql, t, meta[m], qualify);
        if (!rc)
            rc = buf_adds(sql, "=IF(");
        if (!rc)
            rc = unchanged(sql, t, dialect, qualify);
        if (!rc)
            rc = buf_addc(sql, ',');
        if (!rc)
            rc = target_col(sql, t, meta[m], qualify);
        if (!rc)
            rc = buf_addc(sql, ',');
        if (!rc)
            rc = new_value(sql, meta[m], dialect);
        if (!rc)
            rc = buf_addc(sql, ')');
    }
    for (unsigned i = t->nkey; !rc && i < t->ncols; i++) {
        rc = buf_addc(sql, ',');
        if (!rc)
            rc = target_col(sql, t, t->cols[i].name, qualify);
        if (!rc)
            rc = buf_addc(sql, '=');
        if (!rc)
            rc = new_value(sql, t->cols[i].name, dialect);
    }
    return rc;
}

int sqlgen_upsert_tail(struct buf *sql, const struct table_def *t, enum db_dialect dialect)
{
    int rc = buf_adds(sql, dialect == DB_DIALECT_MYSQL8 ? " AS new ON DUPLICATE KEY UPDATE "
                                                        : " ON DUPLICATE KEY UPDATE ");
    return rc ? rc : sqlgen_upsert_assignments(sql, t, dialect, false);
}
