/* wh.h - the warehouse: one connection interface over both kinds.
 *
 * Everything above the two client modules that only needs to run SQL on the
 * warehouse talks to a `struct wh`: a connection opened from the
 * configuration (conn.h's accounts and host rules for MySQL/MariaDB,
 * conn_pg.h's for PostgreSQL), with transactions, statements, queries with
 * bound parameters and row iteration, the class of a failure, identifier
 * quoting and the dialect. The MySQL implementation (wh_mysql.c) runs over
 * db.h, the PostgreSQL one (wh_pg.c) over pg.h; neither library's types
 * appear here. What differs between the two beyond this (the SQL each
 * speaks) is the caller's data, chosen by wh_dialect().
 *
 * Parameters are written $1..$n in the statement text, as PostgreSQL does.
 * PostgreSQL binds them (pg_exec_params: never interpolated); MySQL has them
 * replaced by string literals escaped by the server's own escaping for the
 * connection's character set (db_append_quoted), before the text is sent.
 * A value is always a string (NULL: SQL NULL); the server converts it to
 * the column's type. A "$" followed by a digit inside a '...' literal or a
 * quoted identifier is not a parameter.
 *
 * Errors are codes of error.h with the client module's message (the
 * server's message and number or SQLSTATE, never the SQL text nor a value).
 * A connection is used by one thread at a time.
 */
#ifndef ML_WH_H
#define ML_WH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "db.h"

struct wh;
struct wh_result;
struct pg;

/* Which account wh_connect opens. */
enum wh_account {
    WH_LOADER, /* warehouse.user on the warehouse database (and schema) */
    WH_ADMIN,  /* admin.user on the warehouse database (and schema) */
    /* admin.user on the server, for what runs before the warehouse
     * database exists (init's CREATE DATABASE, the accounts): MySQL with no
     * database selected, PostgreSQL on its maintenance database
     * `postgres` */
    WH_ADMIN_SERVER,
};

/* Opens `account` on the configured warehouse (warehouse.kind): MySQL as
 * conn_warehouse / conn_admin(cfg, true or, for WH_ADMIN_SERVER, false,
 * ...) (host lists and failover included), PostgreSQL as
 * conn_pg_warehouse / conn_pg_admin(cfg, NULL or "postgres", ...). Their
 * errors (ML_EDB, ML_EINVAL, ML_ENOMEM) and messages. */
int wh_connect(const struct config *cfg, enum wh_account account, struct wh **out);

/* A handle over a connection the caller opened and keeps: wh_close frees
 * the handle and leaves the connection open. For code that holds a db or pg
 * connection already (the load path) and calls a module written over wh.
 * NULL on out of memory (error set). */
struct wh *wh_borrow_db(struct db *db);
struct wh *wh_borrow_pg(struct pg *pg);

/* Closes (unless borrowed) and frees; NULL is a no-op. */
void wh_close(struct wh *w);

/* The dialect of the server: DB_DIALECT_MARIADB or DB_DIALECT_MYSQL8 (as
 * db_dialect), or DB_DIALECT_POSTGRES. */
enum db_dialect wh_dialect(const struct wh *w);
bool wh_is_postgres(const struct wh *w);

/* The underlying connection, for what only one kind has (db_galera_state,
 * schema_view_skipped, pg_server_version): NULL when w is of the other kind. */
struct db *wh_db(struct wh *w);
struct pg *wh_pg(struct wh *w);

/* The TLS of the session (a cipher or protocol name), or NULL when it is not
 * encrypted. */
const char *wh_tls(struct wh *w);

/* Transactions. wh_commit fails (ML_EDB) when the server did not commit.
 * wh_rollback is best effort and never fails the caller. */
int wh_begin(struct wh *w);
int wh_commit(struct wh *w);
void wh_rollback(struct wh *w);

/* Runs one statement and discards any rows. ML_EDB on error. */
int wh_exec(struct wh *w, const char *sql);
/* The same with parameters $1..$n (values[i] NULL: SQL NULL; lengths NULL:
 * strlen). ML_EINVAL for a placeholder beyond n, or (PostgreSQL) a NUL byte
 * inside a value, before anything is sent. */
int wh_exec_params(struct wh *w, const char *sql, int n, const char *const *values,
                   const size_t *lengths);
/* Rows changed (or returned) by the last successful statement. */
unsigned long long wh_affected_rows(struct wh *w);

/* Runs a query (with parameters as wh_exec_params; n 0 for none) and
 * buffers its result: free with wh_result_free (or _wiped for PII). */
int wh_query(struct wh *w, const char *sql, int n, const char *const *values, const size_t *lengths,
             struct wh_result **out);
/* Next row: 1 with *row set (values NULL for SQL NULL, as text) and
 * *lengths (may be NULL), 0 at the end. The arrays stay valid until the next
 * call or the free. */
int wh_result_next(struct wh_result *r, const char *const **row, const size_t **lengths);
unsigned long long wh_result_rows(const struct wh_result *r);
void wh_result_free(struct wh_result *r);
/* The same, after overwriting every value with zeros. */
void wh_result_free_wiped(struct wh_result *r);

/* First column of the first row into `out` (replaced; wiped first);
 * *found false for no row or NULL. */
int wh_query_value(struct wh *w, const char *sql, int n, const char *const *values, struct buf *out,
                   bool *found);

/* The same for a whole number (a count, an id): *out the first column of
 * the first row, 0 for no row or NULL (*none, may be NULL, then true).
 * ML_EDB when the value is not a decimal number. */
int wh_query_u64(struct wh *w, const char *sql, int n, const char *const *values,
                 unsigned long long *out, bool *none);

/* A binary value as a result carries it (MySQL: the bytes; PostgreSQL: a
 * bytea's "\x" hex) into out[0..cap): its length, 0 when it is not that or
 * longer than cap. */
size_t wh_bytes(const struct wh *w, const char *s, size_t len, unsigned char *out, size_t cap);

/* ---- errors ---- */

/* The retry class of the last failure on w (db_error_class /
 * pg_error_class: the one table of each client module). */
enum db_err_class wh_error_class(struct wh *w);
/* Whether the connection is gone (the server closed it, or it broke in a
 * statement): nothing more can run on it. */
bool wh_connection_lost(struct wh *w);

/* Whether the last failure is "no such table or view" (MySQL 1146,
 * PostgreSQL 42P01). */
bool wh_error_undefined_table(struct wh *w);

/* Whether the last failure is a refusal raised by the warehouse's own code
 * (a stored routine): MySQL's SIGNAL SQLSTATE '45000' (server error 1644),
 * PostgreSQL's RAISE EXCEPTION (SQLSTATE P0001). Its message is the
 * routine's. */
bool wh_error_raised(struct wh *w);

/* Whether the last failure is a limit of the server that one record can
 * exceed alone, which no smaller transaction helps: PostgreSQL's
 * program_limit_exceeded (SQLSTATE 54000: an index row over the btree
 * limit, a value over a type's size). Never on MySQL: its transaction-size
 * refusals (a Galera writeset over wsrep_max_ws_rows/_size) are the
 * operator's settings, which a record does not exceed on its own merits;
 * out of memory is the server's state, not the record's. */
bool wh_error_record_limit(struct wh *w);

/* The same decisions on a failure's code, unit-testable: `err` a MySQL
 * server or client error number, `sqlstate` a PostgreSQL SQLSTATE; the one
 * that is not the dialect's is ignored. */
enum db_err_class wh_code_class(enum db_dialect d, unsigned err, const char *sqlstate);
bool wh_code_undefined_table(enum db_dialect d, unsigned err, const char *sqlstate);
bool wh_code_record_limit(enum db_dialect d, unsigned err, const char *sqlstate);

/* ---- quoting ---- */

/* Appends `name` as the dialect quotes an identifier: `name` (MySQL) or
 * "name" (PostgreSQL), the quote character doubled inside. ML_EINVAL for an
 * empty name (nothing appended). */
int wh_append_ident(enum db_dialect d, struct buf *out, const char *name);
/* Appends `space`.`name`, each quoted as wh_append_ident. */
int wh_append_qualified(enum db_dialect d, struct buf *out, const char *space, const char *name);

/* The statement text MySQL is sent for `sql` with parameters $1..$n: each
 * placeholder outside '...', "..." and `...` replaced by quote(values[i])
 * (or NULL); appended to out. Exposed for the tests (quote is db.c's
 * escaping on a connection). ML_EINVAL for $0 or a placeholder beyond n. */
int wh_bind_text(struct buf *out, const char *sql, int n, const char *const *values,
                 const size_t *lengths,
                 int (*quote)(void *ctx, struct buf *out, const char *s, size_t len), void *ctx);

#endif
