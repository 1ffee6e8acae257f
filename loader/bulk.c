#include "bulk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "sqlgen.h"
#include "log.h"
#include "stages.h"
#include "writer.h"
#include "banned.h"

#define STAGE_PREFIX "ml_stage_"

/* Server errors that mean "local infile is off" or "no LOAD DATA here"
 * (a proxy): the one classification of db.h. */
static int refused_errno(unsigned e)
{
    return db_errno_class(e) == DB_ERR_NO_INFILE;
}

enum target { TARGET_DIRECT, TARGET_STAGE };

struct bulk {
    enum load_method method;
    int checked;   /* the server's local_infile was looked at */
    int fell_back; /* this run writes with INSERT */
    struct buf tsv;
    struct buf sql;
    unsigned long long rows;
};

int bulk_new(enum load_method method, struct bulk **out)
{
    struct bulk *bk = calloc(1, sizeof(*bk));
    *out = NULL;
    if (!bk)
        return err_set(ML_ENOMEM, "out of memory");
    bk->method = method;
    bk->fell_back = method == LOAD_METHOD_INSERT;
    buf_init(&bk->tsv, 0);
    buf_init(&bk->sql, 0);
    *out = bk;
    return 0;
}

void bulk_free(struct bulk *bk)
{
    if (!bk)
        return;
    buf_wipe(&bk->tsv);
    buf_wipe(&bk->sql);
    free(bk);
}

unsigned long long bulk_rows(const struct bulk *bk)
{
    return bk ? bk->rows : 0;
}

int bulk_fell_back(const struct bulk *bk)
{
    return !bk || bk->fell_back;
}

/* ---- TSV ---- */

int bulk_tsv_null(struct buf *out)
{
    return buf_add(out, "\\N", 2);
}

int bulk_tsv_field(struct buf *out, const char *s, size_t len)
{
    int rc = buf_grow(out, 2 * len + 1);
    char *d;
    if (rc)
        return rc;
    d = out->data + out->len;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '\\':
            *d++ = '\\';
            *d++ = '\\';
            break;
        case '\t':
            *d++ = '\\';
            *d++ = 't';
            break;
        case '\n':
            *d++ = '\\';
            *d++ = 'n';
            break;
        case '\r':
            *d++ = '\\';
            *d++ = 'r';
            break;
        case '\0':
            *d++ = '\\';
            *d++ = '0';
            break;
        case 0x1a:
            *d++ = '\\';
            *d++ = 'Z';
            break;
        default:
            *d++ = (char)c;
        }
    }
    out->len = (size_t)(d - out->data);
    out->data[out->len] = '\0';
    return 0;
}

int bulk_tsv_row(struct buf *out, const struct batch *b, struct table_rows *t, size_t row)
{
    int rc = 0;
    for (unsigned col = 0; !rc && col < t->def->ncols; col++) {
        const struct cell *c = batch_cell(t, row, col);
        if (col)
            rc = buf_addc(out, '\t');
        if (rc)
            break;
        switch (c->kind) {
        case CELL_NULL:
            rc = bulk_tsv_null(out);
            break;
        case CELL_INT:
            rc = buf_add_int(out, c->i);
            break;
        case CELL_TEXT:
            rc = bulk_tsv_field(out, batch_text(b, c), c->len);
            break;
        case CELL_PENDING:
            return err_set(ML_EINTERNAL, "unresolved surrogate in a batch");
        }
    }
    return rc ? rc : buf_addc(out, '\n');
}

/* ---- the in-memory infile ---- */

static int src_init(void **state, const char *filename, void *userdata)
{
    struct bulk_source *src = userdata;
    (void)filename; /* the server's idea of a file name is never used */
    src->pos = 0;
    *state = src;
    return 0;
}

static int src_read(void *state, char *buf, unsigned int len)
{
    struct bulk_source *src = state;
    size_t n = src->len - src->pos;
    if (n > len)
        n = len;
    memcpy(buf, src->data + src->pos, n);
    src->pos += n;
    return (int)n;
}

static void src_end(void *state)
{
    (void)state;
}

static int src_error(void *state, char *msg, unsigned int len)
{
    (void)state;
    snprintf(msg, len, "maskload bulk stream failed");
    return 2000; /* CR_UNKNOWN_ERROR */
}

void bulk_infile(struct db_infile *ops, struct bulk_source *src)
{
    ops->init = src_init;
    ops->read = src_read;
    ops->end = src_end;
    ops->error = src_error;
    ops->userdata = src;
}

/* ---- statements ---- */

static int add_ident2(struct buf *sql, const char *prefix, const char *name)
{
    struct buf n = BUF_INIT;
    int rc = buf_adds(&n, prefix);
    if (!rc)
        rc = buf_adds(&n, name);
    if (!rc)
        rc = db_append_ident(sql, n.data);
    buf_release(&n);
    return rc;
}

static int add_columns(struct buf *sql, const struct table_def *t, const char *qual, bool meta)
{
    int rc = 0;
    for (unsigned i = 0; !rc && i < t->ncols; i++) {
        if (i)
            rc = buf_addc(sql, ',');
        if (!rc && qual)
            rc = buf_addf(sql, "%s.", qual);
        if (!rc)
            rc = db_append_ident(sql, t->cols[i].name);
    }
    if (!rc && meta)
        rc = buf_adds(sql, ",`load_run_id`,`loaded_at`");
    return rc;
}

/* LOAD DATA LOCAL INFILE ... REPLACE INTO TABLE `<prefix><table>` */
static int load_stmt(struct buf *sql, const struct table_def *t, const char *prefix,
                     unsigned long long run_id)
{
    int rc;
    buf_reset(sql);
    rc = buf_adds(sql, "LOAD DATA LOCAL INFILE 'maskload-batch' REPLACE INTO TABLE ");
    if (!rc)
        rc = add_ident2(sql, prefix, t->name);
    if (!rc)
        rc = buf_adds(sql, " CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
                           "LINES TERMINATED BY '\\n' (");
    if (!rc)
        rc = add_columns(sql, t, NULL, false);
    if (!rc)
        rc = buf_addf(sql, ") SET `load_run_id`=%llu,`loaded_at`=UTC_TIMESTAMP(3)", run_id);
    return rc;
}

/* The set-based upsert from the staging table; the same rule as
 * sqlgen_upsert_tail, with the target's columns qualified (in INSERT ...
 * SELECT an unqualified name would be ambiguous). */
static int upsert_stmt(struct buf *sql, const struct table_def *t, enum db_dialect dialect)
{
    int rc;
    buf_reset(sql);
    rc = buf_adds(sql, "INSERT INTO ");
    if (!rc)
        rc = db_append_ident(sql, t->name);
    if (!rc)
        rc = buf_adds(sql, " (");
    if (!rc)
        rc = add_columns(sql, t, NULL, true);
    if (!rc)
        rc = buf_adds(sql, dialect == DB_DIALECT_MYSQL8 ? ") SELECT * FROM (SELECT " : ") SELECT ");
    if (!rc)
        rc = add_columns(sql, t, NULL, true);
    if (!rc)
        rc = buf_adds(sql, " FROM ");
    if (!rc)
        rc = add_ident2(sql, STAGE_PREFIX, t->name);
    if (!rc)
        rc = buf_adds(sql, dialect == DB_DIALECT_MYSQL8 ? ") AS new ON DUPLICATE KEY UPDATE "
                                                        : " ON DUPLICATE KEY UPDATE ");
    if (!rc)
        rc = sqlgen_upsert_assignments(sql, t, dialect, true);
    return rc;
}

/* ---- decisions ---- */

static int fall_back(struct bulk *bk, const char *why)
{
    if (bk->method == LOAD_METHOD_BULK)
        return err_set(
            ML_EDB, "load.method is bulk but the server refuses LOAD DATA LOCAL INFILE (%s)", why);
    bk->fell_back = 1;
    log_warn("bulk load unavailable (%s): loading with multi-row INSERT for the rest of this run",
             why);
    return BULK_FALLBACK;
}

/* Once per run: is local infile enabled on the server? */
static int check_server(struct bulk *bk, struct db *db)
{
    unsigned long long on = 0;
    bool is_null = true;
    int rc;
    bk->checked = 1;
    rc = db_query_u64(db, "SELECT @@local_infile", &on, &is_null);
    if (rc)
        return err_prefix(rc, "checking the server's local_infile");
    if (!is_null && on == 0)
        return fall_back(bk, "the server has local_infile=OFF");
    log_info("bulk load: LOAD DATA LOCAL INFILE from memory");
    return 0;
}

static int exec_sql(struct db *db, struct buf *sql)
{
    return db_exec_len(db, sql->data, sql->len);
}

int bulk_upsert(struct bulk *bk, struct db *db, const struct batch *b, struct table_rows *t,
                bool fresh, unsigned long long run_id)
{
    return bulk_upsert_rows(bk, db, b, t, NULL, fresh, run_id);
}

int bulk_upsert_rows(struct bulk *bk, struct db *db, const struct batch *b, struct table_rows *t,
                     const bool *skip, bool fresh, unsigned long long run_id)
{
    struct bulk_source src;
    struct db_infile ops;
    unsigned long long rows = 0;
    enum target target = fresh ? TARGET_DIRECT : TARGET_STAGE;
    size_t nwrite = 0;
    uint64_t t0;
    int rc = 0;

    if (bk->fell_back)
        return BULK_FALLBACK;
    if (!bk->checked) {
        rc = check_server(bk, db);
        if (rc)
            return rc;
    }
    for (size_t r = 0; r < t->nrows; r++)
        nwrite += !(skip && skip[r]);
    if (nwrite == 0)
        return 0;

    /* the stream */
    if (bk->tsv.cap)
        mem_wipe(bk->tsv.data, bk->tsv.len);
    buf_reset(&bk->tsv);
    t0 = stage_now();
    for (size_t r = 0; !rc && r < t->nrows; r++)
        if (!(skip && skip[r]))
            rc = bulk_tsv_row(&bk->tsv, b, t, r);
    stage_add(STAGE_ENCODE, t0);
    if (rc)
        return err_prefix(rc, "bulk load of %s", t->def->name);

    if (target == TARGET_STAGE) {
        buf_reset(&bk->sql);
        rc = buf_adds(&bk->sql, "CREATE TEMPORARY TABLE IF NOT EXISTS ");
        if (!rc)
            rc = add_ident2(&bk->sql, STAGE_PREFIX, t->def->name);
        /* a partitioned table cannot be copied LIKE into a temporary one:
         * its columns are (no keys: the batch holds one row per key) */
        if (!rc)
            rc = buf_adds(&bk->sql, t->def->partition ? " ENGINE=InnoDB SELECT * FROM " : " LIKE ");
        if (!rc)
            rc = db_append_ident(&bk->sql, t->def->name);
        if (!rc && t->def->partition)
            rc = buf_adds(&bk->sql, " LIMIT 0");
        if (!rc)
            rc = exec_sql(db, &bk->sql);
        if (!rc) {
            buf_reset(&bk->sql);
            rc = buf_adds(&bk->sql, "DELETE FROM ");
            if (!rc)
                rc = add_ident2(&bk->sql, STAGE_PREFIX, t->def->name);
            if (!rc)
                rc = exec_sql(db, &bk->sql);
        }
        if (rc)
            return err_prefix(rc, "bulk load of %s: staging table", t->def->name);
    }

    src.data = bk->tsv.data;
    src.len = bk->tsv.len;
    src.pos = 0;
    bulk_infile(&ops, &src);
    rc = load_stmt(&bk->sql, t->def, target == TARGET_STAGE ? STAGE_PREFIX : "", run_id);
    t0 = stage_now();
    if (!rc)
        rc = db_load_local(db, bk->sql.data, bk->sql.len, &ops, &rows);
    if (rc && refused_errno(db_errno(db))) {
        char why[256];
        snprintf(why, sizeof(why), "%s", err_msg());
        return fall_back(bk, why);
    }
    if (!rc && target == TARGET_STAGE) {
        rc = upsert_stmt(&bk->sql, t->def, db_dialect(db));
        if (!rc)
            rc = exec_sql(db, &bk->sql);
    }
    stage_add(STAGE_SERVER_LOAD, t0);
    mem_wipe(bk->tsv.data, bk->tsv.len);
    buf_reset(&bk->tsv);
    if (rc)
        return err_prefix(rc, "bulk load of %s", t->def->name);
    bk->rows += nwrite;
    return 0;
}

/* ---- the writer.h implementation ---- */

static int writer_bulk_open(enum load_method method, void **state)
{
    return bulk_new(method, (struct bulk **)state);
}

static int writer_bulk_write(void *state, struct db *db, const struct batch *b,
                             struct table_rows *t, const bool *skip, bool fresh,
                             unsigned long long run_id)
{
    int rc = bulk_upsert_rows(state, db, b, t, skip, fresh, run_id);
    return rc == BULK_FALLBACK ? WRITER_PASS : rc;
}

static void writer_bulk_close(void *state)
{
    bulk_free(state);
}

const struct writer_impl writer_bulk = {"bulk load", writer_bulk_open, writer_bulk_write,
                                        writer_bulk_close};
