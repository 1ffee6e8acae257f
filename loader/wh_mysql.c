/* wh_mysql.c - wh.h over db.h (MySQL and MariaDB). */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "error.h"
#include "wh_int.h"
#include "banned.h"

/* Server error: no such table (or view). */
#define MY_ER_NO_SUCH_TABLE 1146

static int quote(void *ctx, struct buf *out, const char *s, size_t len)
{
    return db_append_quoted(ctx, out, s, len);
}

/* `sql` with its parameters replaced (wh.h) into text; text stays empty
 * when there are none (a statement without parameters is sent as it is). */
static int bind(struct db *db, const char *sql, int n, const char *const *values,
                const size_t *lengths, struct buf *text)
{
    int rc = n > 0 ? wh_bind_text(text, sql, n, values, lengths, quote, db) : 0;
    if (rc)
        buf_wipe(text);
    return rc;
}

static int my_exec(void *c, const char *sql, int n, const char *const *values,
                   const size_t *lengths)
{
    struct buf text = BUF_INIT;
    int rc = bind(c, sql, n, values, lengths, &text);
    if (!rc)
        rc = text.len ? db_exec_len(c, text.data, text.len) : db_exec(c, sql);
    buf_wipe(&text); /* it may hold a value */
    buf_release(&text);
    return rc;
}

static int my_query(void *c, const char *sql, int n, const char *const *values,
                    const size_t *lengths, void **r)
{
    struct buf text = BUF_INIT;
    int rc = bind(c, sql, n, values, lengths, &text);
    if (!rc)
        rc = db_query(c, text.len ? text.data : sql, (struct db_result **)r);
    buf_wipe(&text);
    buf_release(&text);
    return rc;
}

static unsigned my_columns(void *r)
{
    return db_result_columns(r);
}

static int my_next(void *r, const char *const **row, size_t *lens)
{
    const unsigned long *l;
    if (db_result_next(r, row, &l) != 1)
        return 0;
    for (unsigned i = 0, n = db_result_columns(r); i < n; i++)
        lens[i] = l[i];
    return 1;
}

static unsigned long long my_rows(void *r)
{
    return db_result_rows(r);
}

static void my_free(void *r, bool wiped)
{
    if (wiped)
        db_result_free_wiped(r);
    else
        db_result_free(r);
}

static void my_close(void *c)
{
    db_close(c);
}

static enum db_dialect my_dialect(void *c)
{
    return db_dialect(c);
}

static const char *my_tls(void *c)
{
    const char *cipher = db_tls_cipher(c);
    return cipher && *cipher ? cipher : NULL;
}

static int my_begin(void *c)
{
    return db_begin(c);
}

static int my_commit(void *c)
{
    return db_commit(c);
}

static void my_rollback(void *c)
{
    db_rollback(c);
}

static unsigned long long my_affected(void *c)
{
    return db_affected_rows(c);
}

static enum db_err_class my_error_class(void *c)
{
    return db_error_class(c);
}

static bool my_lost(void *c)
{
    return db_connection_lost(c);
}

static bool my_undefined_table(void *c)
{
    return db_errno(c) == MY_ER_NO_SUCH_TABLE;
}

static enum db_err_class my_code_class(unsigned err, const char *sqlstate)
{
    (void)sqlstate;
    return db_errno_class(err);
}

static bool my_code_undefined_table(unsigned err, const char *sqlstate)
{
    (void)sqlstate;
    return err == MY_ER_NO_SUCH_TABLE;
}

/* A BINARY column reads as its bytes. */
static size_t my_bytes(const char *s, size_t len, unsigned char *out, size_t cap)
{
    if (!s || len > cap)
        return 0;
    memcpy(out, s, len);
    return len;
}

const struct wh_ops wh_mysql_ops = {
    .name = "mysql",
    .close = my_close,
    .dialect = my_dialect,
    .tls = my_tls,
    .begin = my_begin,
    .commit = my_commit,
    .rollback = my_rollback,
    .exec = my_exec,
    .affected = my_affected,
    .query = my_query,
    .columns = my_columns,
    .next = my_next,
    .rows = my_rows,
    .free = my_free,
    .error_class = my_error_class,
    .lost = my_lost,
    .undefined_table = my_undefined_table,
    .code_class = my_code_class,
    .code_undefined_table = my_code_undefined_table,
    .bytes = my_bytes,
};
