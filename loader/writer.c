#include "writer.h"

#include <stdlib.h>

#include "error.h"
#include "log.h"
#include "banned.h"

/* impl[0, chain) is the chain of load.method; insert_at indexes the insert
 * implementation, which is always opened (writer_write_insert), inside the
 * chain or just after it. */
#define WRITER_IMPLS 2

struct writer {
    const struct writer_impl *impl[WRITER_IMPLS];
    void *state[WRITER_IMPLS];
    unsigned long long rows[WRITER_IMPLS];
    size_t nimpl, chain, insert_at;
    size_t first; /* the first implementation of the chain that has not passed */
    struct table_seen {
        const struct table_def *def;
        bool fresh;
    } * tables; /* every table written this run: as many as the streams have */
    size_t ntables, cap_tables;
    struct buf sql;
};

int writer_new(enum load_method method, struct writer **out)
{
    struct writer *w = calloc(1, sizeof(*w));
    int rc = 0;
    *out = NULL;
    if (!w)
        return err_set(ML_ENOMEM, "out of memory");
    buf_init(&w->sql, 0);
    if (method == LOAD_METHOD_INSERT) {
        w->impl[w->nimpl++] = &writer_insert;
        w->chain = 1;
    } else {
        w->impl[w->nimpl++] = &writer_bulk;
        w->impl[w->nimpl++] = &writer_insert;
        w->chain = method == LOAD_METHOD_BULK ? 1 : 2;
    }
    w->insert_at = w->nimpl - 1;
    for (size_t i = 0; !rc && i < w->nimpl; i++)
        rc = w->impl[i]->open(method, &w->state[i]);
    if (rc) {
        writer_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void writer_free(struct writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nimpl; i++)
        if (w->state[i])
            w->impl[i]->close(w->state[i]);
    free(w->tables);
    buf_release(&w->sql);
    free(w);
}

static unsigned long long rows_written(const struct table_rows *t, const bool *skip)
{
    unsigned long long n = 0;
    for (size_t r = 0; r < t->nrows; r++)
        n += !(skip && skip[r]);
    return n;
}

int writer_table_fresh(struct writer *w, struct db *db, const struct table_def *def, bool *fresh)
{
    unsigned long long any = 0;
    bool is_null = true;
    int rc;
    for (size_t i = 0; i < w->ntables; i++)
        if (w->tables[i].def == def) {
            *fresh = w->tables[i].fresh;
            return 0;
        }
    buf_reset(&w->sql);
    rc = buf_adds(&w->sql, "SELECT 1 FROM ");
    if (!rc)
        rc = db_append_ident(&w->sql, def->name);
    if (!rc)
        rc = buf_adds(&w->sql, " LIMIT 1");
    if (!rc)
        rc = db_query_u64(db, w->sql.data, &any, &is_null);
    if (rc)
        return err_prefix(rc, "looking for rows in %s", def->name);
    *fresh = is_null;
    if (w->ntables == w->cap_tables) {
        size_t ncap = w->cap_tables ? w->cap_tables * 2 : 8;
        struct table_seen *nt = realloc(w->tables, ncap * sizeof(*nt));
        if (!nt)
            return 0; /* not remembered: asked again next batch */
        w->tables = nt;
        w->cap_tables = ncap;
    }
    w->tables[w->ntables].def = def;
    w->tables[w->ntables++].fresh = *fresh;
    log_debug("%s %s", def->name,
              *fresh ? "is empty: every row it will hold is this run's"
                     : "holds rows: they are compared and upserted");
    return 0;
}

int writer_write(struct writer *w, struct db *db, const struct batch *b, struct table_rows *t,
                 const bool *skip, unsigned long long run_id)
{
    bool fresh = false;
    int rc = writer_table_fresh(w, db, t->def, &fresh);
    if (rc)
        return rc;
    while (w->first < w->chain) {
        rc = w->impl[w->first]->write_rows(w->state[w->first], db, b, t, skip, fresh, run_id);
        if (rc == WRITER_PASS) {
            w->first++; /* for the rest of the run */
            continue;
        }
        if (!rc)
            w->rows[w->first] += rows_written(t, skip);
        return rc;
    }
    return err_set(ML_EINTERNAL, "writing %s: no writer left to take the rows", t->def->name);
}

int writer_write_insert(struct writer *w, struct db *db, const struct batch *b,
                        struct table_rows *t, const bool *skip, unsigned long long run_id)
{
    int rc =
        w->impl[w->insert_at]->write_rows(w->state[w->insert_at], db, b, t, skip, false, run_id);
    if (rc == WRITER_PASS)
        return err_set(ML_EINTERNAL, "writing %s: the INSERT writer passed", t->def->name);
    if (!rc)
        w->rows[w->insert_at] += rows_written(t, skip);
    return rc;
}

unsigned long long writer_bulk_rows(const struct writer *w)
{
    return w->impl[0] == &writer_bulk ? w->rows[0] : 0;
}

bool writer_fell_back(const struct writer *w)
{
    return w->first > 0;
}
