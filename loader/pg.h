/* pg.h - PostgreSQL access (libpq). The only module that sees libpq.
 *
 * Every session is set up identically: client_encoding UTF8, TimeZone UTC,
 * DateStyle ISO, standard_conforming_strings on (a backslash is an ordinary
 * character in a '...' literal), bytea_output hex (a bytea reads as \x and
 * hex, as wh_bytes and rowdiff.h expect, whatever the database's or the
 * role's default), search_path the configured schema alone,
 * and lock_timeout when one is given. Connection parameters are passed to
 * libpq as keyword/value pairs from memory (never a conninfo string, which
 * would hold the password as text, and never expanded as one: a database
 * name is only a name).
 *
 * Error messages carry the server's primary message and SQLSTATE, never the
 * SQL text, nor the server's DETAIL and CONTEXT fields (they quote the
 * values of rows: a unique violation names its key, a COPY failure its
 * line), nor the value a data exception's (class 22) primary message quotes
 * ("invalid input syntax for type integer (value not shown)"). Notices go
 * to the log at debug level, primary message only.
 *
 * One connection is used by one thread at a time.
 */
#ifndef ML_PG_H
#define ML_PG_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "db.h"

struct pg;
struct pg_result;

struct pg_params {
    const char *host;       /* name or address; NULL/"" with socket_dir set: the socket */
    unsigned port;          /* 0 = 5432 */
    const char *socket_dir; /* directory of the server's socket (libpq's host=/dir) */
    /* Several servers instead of host/port/socket_dir (warehouse.hosts):
     * libpq's comma lists, "a,b" and "5432,5433" (as many ports as hosts),
     * tried in order; only a server whose sessions are read-write is taken
     * (target_session_attrs=read-write: a standby is passed over for the
     * primary). NULL: the single server above. */
    const char *hosts, *ports;
    const char *user;
    const char *password; /* may be NULL */
    const char *database; /* NULL = the user's name (libpq's default) */
    /* search_path of the session (one schema, quoted); NULL = the server's */
    const char *schema;
    unsigned connect_timeout_s; /* 0 = 10 */
    /* lock_timeout of the session in seconds (a lock wait that long fails with
     * 55P03, a DB_ERR_RETRY_TX); 0 = the server's (by default none) */
    unsigned lock_timeout_s;
    /* TLS, as in struct config_tls, mapped to libpq's sslmode: 0 disable,
     * 1 require (no verification), 2 verify-ca (chain to tls_ca),
     * 3 verify-full (and the host name). The verify modes need tls_ca
     * (ML_EINVAL otherwise: verifying against nothing would verify nothing).
     * tls_cert and tls_key (a client certificate) go together; may be NULL. */
    int tls_mode;
    const char *tls_ca, *tls_cert, *tls_key;
};

/* libpq's sslmode for a tls_mode of struct pg_params; NULL for none. */
const char *pg_sslmode(int tls_mode);

/* Connects and sets the session up. On failure ML_EDB with "cannot connect
 * to 'host:port' as 'user': <libpq's reason>" (the socket directory in
 * place of host:port), never the password; ML_EINVAL for bad TLS
 * parameters; ML_ENOMEM. */
int pg_connect(const struct pg_params *p, struct pg **out);
/* Closes and frees; NULL is a no-op. */
void pg_close(struct pg *pg);

/* "host:port" of the server the session is on (of the hosts list, the one
 * taken), into out (len > 0; truncated to fit). */
void pg_server_name(const struct pg *pg, char *out, size_t len);

/* Server version as libpq reports it: major*10000 + minor (150018). */
int pg_server_version(const struct pg *pg);
/* The TLS protocol of the session ("TLSv1.3"), or NULL when not encrypted. */
const char *pg_tls_protocol(struct pg *pg);

/* Runs `sql` (one statement, or several separated by ';' that the server
 * runs as one implicit transaction unless they hold BEGIN/COMMIT) and
 * discards any rows. ML_EDB on error (the rest of the text is not run). */
int pg_exec(struct pg *pg, const char *sql);

/* Runs one statement with `n` parameters $1..$n bound, never interpolated:
 * values[i] NULL is SQL NULL; every value is sent as text (the server
 * converts it to the parameter's type), `lengths` (may be NULL: strlen) for
 * values that are not NUL-terminated. PostgreSQL text cannot hold a NUL
 * byte: a value with one inside its length is refused (ML_EINVAL) before
 * anything is sent. Rows are discarded. */
int pg_exec_params(struct pg *pg, const char *sql, int n, const char *const *values,
                   const size_t *lengths);

/* Runs a query and buffers its result (*out, free with pg_result_free).
 * pg_query_params binds as pg_exec_params. */
int pg_query(struct pg *pg, const char *sql, struct pg_result **out);
int pg_query_params(struct pg *pg, const char *sql, int n, const char *const *values,
                    const size_t *lengths, struct pg_result **out);
/* Next row: returns 1 with *row set (values NULL for SQL NULL; text format,
 * bytea as \x hex) and *lengths (may be NULL), 0 at the end. The arrays stay
 * valid until the next call or pg_result_free. */
int pg_result_next(struct pg_result *r, const char *const **row, const size_t **lengths);
unsigned pg_result_columns(const struct pg_result *r);
const char *pg_result_column_name(const struct pg_result *r, unsigned i);
unsigned long long pg_result_rows(const struct pg_result *r);
void pg_result_free(struct pg_result *r);
/* The same, after overwriting every value with zeros (results holding PII). */
void pg_result_free_wiped(struct pg_result *r);

/* First column of the first row into `out` (replacing its content, wiped
 * first); *found false when there is no row or the value is NULL. The
 * result's memory is wiped before it is freed; the caller wipes `out`. */
int pg_query_value(struct pg *pg, const char *sql, struct buf *out, bool *found);

/* Rows of the last successful statement (pg_exec*, pg_query*,
 * pg_copy_end): changed by INSERT, UPDATE, DELETE, MERGE, copied by COPY,
 * returned by SELECT; 0 for the others (DDL, SET, ...). */
unsigned long long pg_affected_rows(const struct pg *pg);

/* Transactions. pg_commit fails (ML_EDB, class FATAL, SQLSTATE 25P02) when
 * the server answers ROLLBACK, i.e. when a statement of the transaction had
 * failed: a commit that did not commit is never reported as one. */
int pg_begin(struct pg *pg);
int pg_commit(struct pg *pg);
/* Best effort; never fails the caller (errors are logged at debug level). */
void pg_rollback(struct pg *pg);

/* ---- COPY ... FROM STDIN, fed from the caller's memory ----
 *
 * pg_copy_begin runs `sql`, which must be a COPY ... FROM STDIN (the server
 * must answer it with a copy-in: anything else is ML_EDB and nothing is
 * sent); pg_copy_put sends bytes of the data stream (any split, e.g. whole
 * rows of a batch); pg_copy_end ends it and waits for the server's verdict
 * (*rows, may be NULL: rows copied). pg_copy_abort ends it with an error,
 * so the server keeps nothing of it (best effort, never fails the caller).
 * A failed put or end leaves the connection ready for the next statement.
 * No file is ever read or written by the client: the data is only what the
 * caller passes. */
int pg_copy_begin(struct pg *pg, const char *sql);
int pg_copy_put(struct pg *pg, const char *data, size_t len);
int pg_copy_end(struct pg *pg, unsigned long long *rows);
void pg_copy_abort(struct pg *pg, const char *reason);
/* The four above in one call, for data already whole in memory. */
int pg_copy_from(struct pg *pg, const char *sql, const char *data, size_t len,
                 unsigned long long *rows);

/* COPY's text format (the default: columns separated by a tab, rows ended
 * by a newline). Appends the field for `len` bytes of `s`: '\' as "\\",
 * tab, newline and carriage return as "\t", "\n", "\r"; every other byte as
 * it is. s NULL appends "\N" (SQL NULL). ML_EINVAL for a NUL byte (text
 * cannot hold it; the buffer is left as it was), ML_ENOMEM, ML_ETOOBIG. */
int pg_copy_append_field(struct buf *out, const char *s, size_t len);

/* An array's text form, for a text[] parameter bound as a whole: the caller
 * appends '{', then each element with this, then '}'. Appends the element
 * for `len` bytes of `s` in double quotes, '"' and '\' escaped by a
 * backslash, preceded by a comma unless the buffer ends with '{'. ML_EINVAL
 * for a NUL byte (the buffer is left as it was), ML_ENOMEM, ML_ETOOBIG. */
int pg_array_append_element(struct buf *out, const char *s, size_t len);

/* Appends "name" (double quotes, '"' doubled). ML_EINVAL for an empty name. */
int pg_append_ident(struct buf *out, const char *name);
/* Appends 'text' ('\'' doubled; the sessions have standard_conforming_strings
 * on, so backslashes stay as they are). ML_EINVAL for a NUL byte. */
int pg_append_literal(struct buf *out, const char *s, size_t len);

/* Sets the password of `role` (ALTER ROLE ... PASSWORD) without sending it:
 * libpq computes the server's verifier (SCRAM-SHA-256 on PostgreSQL 15)
 * here, and only that is sent. The statement text is wiped after use. */
int pg_set_role_password(struct pg *pg, const char *role, const char *password);

/* ---- errors ---- */

/* SQLSTATE of the last failure ("40P01"), "" when it has none (a client
 * side failure, or the last statement succeeded). */
const char *pg_sqlstate(const struct pg *pg);
/* The class of a SQLSTATE (the one table of pg.c), unit-testable:
 *   DB_ERR_RETRY_TX  40001 serialization_failure, 40P01 deadlock_detected,
 *                    55P03 lock_not_available (lock_timeout): the server
 *                    rolled the transaction back; replay it from its start;
 *   DB_ERR_SPLIT     53200 out_of_memory, 54000 program_limit_exceeded:
 *                    the statement is too large for the server; a smaller
 *                    batch may pass;
 *   DB_ERR_LOST      class 08 (connection exception), 57P01
 *                    admin_shutdown, 57P02 crash_shutdown, 57P03
 *                    cannot_connect_now;
 *   DB_ERR_FATAL     everything else, and NULL or "".
 * DB_ERR_NO_INFILE is never returned: COPY FROM STDIN needs no server
 * setting, only INSERT on the table. */
enum db_err_class pg_sqlstate_class(const char *sqlstate);
/* The class of the last failure on `pg`: DB_ERR_LOST whenever the
 * connection is gone (libpq then often has no SQLSTATE), else by SQLSTATE. */
enum db_err_class pg_error_class(const struct pg *pg);
/* True when the connection is gone. */
bool pg_connection_lost(const struct pg *pg);

#endif
