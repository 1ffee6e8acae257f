/* writer_insert.c - the multi-row INSERT implementation of writer.h: each
 * statement `INSERT ... VALUES (...),(...) ON DUPLICATE KEY UPDATE ...`
 * (sqlgen.h's upsert rule) of about STMT_TARGET bytes, well under
 * max_allowed_packet. */
#include <stdlib.h>

#include "buf.h"
#include "error.h"
#include "sqlgen.h"
#include "writer.h"
#include "banned.h"

#define STMT_TARGET (4u << 20)

struct insert_writer {
    struct buf sql; /* holds row values (PII-free after surrogates, masked): wiped */
};

static int insert_open(enum load_method method, void **state)
{
    struct insert_writer *iw = calloc(1, sizeof(*iw));
    (void)method;
    if (!iw)
        return err_set(ML_ENOMEM, "out of memory");
    buf_init(&iw->sql, 0);
    *state = iw;
    return 0;
}

static void insert_close(void *state)
{
    struct insert_writer *iw = state;
    buf_wipe(&iw->sql);
    free(iw);
}

static int append_cell(struct db *db, struct buf *sql, const struct batch *b, const struct cell *c)
{
    switch (c->kind) {
    case CELL_NULL:
        return buf_adds(sql, "NULL");
    case CELL_INT:
        return buf_addf(sql, "%lld", c->i);
    case CELL_TEXT:
        return db_append_quoted(db, sql, batch_text(b, c), c->len);
    case CELL_PENDING:
        break;
    }
    return err_set(ML_EINTERNAL, "unresolved surrogate in a batch");
}

static int insert_write(void *state, struct db *db, const struct batch *b, struct table_rows *t,
                        const bool *skip, bool fresh, unsigned long long run_id)
{
    struct insert_writer *iw = state;
    (void)fresh; /* an upsert either way */
    struct buf *sql = &iw->sql;
    enum db_dialect dialect = db_dialect(db);
    size_t r = 0;
    while (r < t->nrows) {
        int rc;
        while (r < t->nrows && skip && skip[r])
            r++;
        if (r == t->nrows)
            break;
        buf_wipe(sql);
        rc = sqlgen_upsert_head(sql, t->def);
        for (size_t first = r; !rc && r < t->nrows && (r == first || sql->len < STMT_TARGET); r++) {
            if (skip && skip[r])
                continue;
            rc = buf_adds(sql, r == first ? "(" : ",(");
            for (unsigned col = 0; !rc && col < t->def->ncols; col++) {
                rc = append_cell(db, sql, b, batch_cell(t, r, col));
                if (!rc)
                    rc = buf_addc(sql, ',');
            }
            if (!rc)
                rc = buf_addf(sql, "%llu,UTC_TIMESTAMP(3))", run_id);
        }
        if (!rc)
            rc = sqlgen_upsert_tail(sql, t->def, dialect);
        if (!rc)
            rc = db_exec_len(db, sql->data, sql->len);
        if (rc)
            return err_prefix(rc, "writing %s", t->def->name);
    }
    return 0;
}

const struct writer_impl writer_insert = {"multi-row INSERT", insert_open, insert_write,
                                          insert_close};
