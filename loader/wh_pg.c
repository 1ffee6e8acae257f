/* wh_pg.c - wh.h over pg.h (PostgreSQL). */
#include <string.h>

#include "pg.h"
#include "wh_int.h"
#include "banned.h"

/* SQLSTATE undefined_table (a relation, view included). */
#define PG_UNDEFINED_TABLE "42P01"

static int p_exec(void *c, const char *sql, int n, const char *const *values, const size_t *lengths)
{
    return n > 0 ? pg_exec_params(c, sql, n, values, lengths) : pg_exec(c, sql);
}

static int p_query(void *c, const char *sql, int n, const char *const *values,
                   const size_t *lengths, void **r)
{
    return n > 0 ? pg_query_params(c, sql, n, values, lengths, (struct pg_result **)r)
                 : pg_query(c, sql, (struct pg_result **)r);
}

static unsigned p_columns(void *r)
{
    return pg_result_columns(r);
}

static int p_next(void *r, const char *const **row, size_t *lens)
{
    const size_t *l;
    if (pg_result_next(r, row, &l) != 1)
        return 0;
    memcpy(lens, l, pg_result_columns(r) * sizeof(*lens));
    return 1;
}

static unsigned long long p_rows(void *r)
{
    return pg_result_rows(r);
}

static void p_free(void *r, bool wiped)
{
    if (wiped)
        pg_result_free_wiped(r);
    else
        pg_result_free(r);
}

static void p_close(void *c)
{
    pg_close(c);
}

static enum db_dialect p_dialect(void *c)
{
    (void)c;
    return DB_DIALECT_POSTGRES;
}

static const char *p_tls(void *c)
{
    return pg_tls_protocol(c);
}

static int p_begin(void *c)
{
    return pg_begin(c);
}

static int p_commit(void *c)
{
    return pg_commit(c);
}

static void p_rollback(void *c)
{
    pg_rollback(c);
}

static unsigned long long p_affected(void *c)
{
    return pg_affected_rows(c);
}

static enum db_err_class p_error_class(void *c)
{
    return pg_error_class(c);
}

static bool p_lost(void *c)
{
    return pg_connection_lost(c);
}

static bool p_undefined_table(void *c)
{
    return strcmp(pg_sqlstate(c), PG_UNDEFINED_TABLE) == 0;
}

static enum db_err_class p_code_class(unsigned err, const char *sqlstate)
{
    (void)err;
    return pg_sqlstate_class(sqlstate);
}

static bool p_code_undefined_table(unsigned err, const char *sqlstate)
{
    (void)err;
    return sqlstate && strcmp(sqlstate, PG_UNDEFINED_TABLE) == 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* A bytea in the server's hex output ("\x0a1b..."). */
static size_t p_bytes(const char *s, size_t len, unsigned char *out, size_t cap)
{
    size_t n = 0;
    if (!s || len < 2 || s[0] != '\\' || s[1] != 'x' || (len - 2) % 2 || (len - 2) / 2 > cap)
        return 0;
    for (size_t i = 2; i < len; i += 2) {
        int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[n++] = (unsigned char)(hi << 4 | lo);
    }
    return n;
}

const struct wh_ops wh_pg_ops = {
    .name = "postgres",
    .close = p_close,
    .dialect = p_dialect,
    .tls = p_tls,
    .begin = p_begin,
    .commit = p_commit,
    .rollback = p_rollback,
    .exec = p_exec,
    .affected = p_affected,
    .query = p_query,
    .columns = p_columns,
    .next = p_next,
    .rows = p_rows,
    .free = p_free,
    .error_class = p_error_class,
    .lost = p_lost,
    .undefined_table = p_undefined_table,
    .code_class = p_code_class,
    .code_undefined_table = p_code_undefined_table,
    .bytes = p_bytes,
};
