/* db.h - MySQL/MariaDB access (MariaDB Connector/C, libmysqlclient API).
 * The only module that sees libmysqlclient.
 *
 * Every session is set up identically: utf8mb4, time_zone '+00:00', strict
 * sql_mode, no automatic reconnect (a lost connection fails the current
 * operation loudly instead of silently continuing outside its transaction).
 * Error messages carry the server's message and error number, never the SQL
 * text (which may hold secrets or PII).
 */
#ifndef ML_DB_H
#define ML_DB_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct db;
struct db_result;

struct db_params {
    const char *host; /* NULL/"" with socket set: use the socket */
    unsigned port;
    const char *socket;
    const char *user;
    const char *password; /* may be NULL */
    const char *database; /* may be NULL */
    unsigned connect_timeout_s;
    unsigned read_timeout_s;  /* 0 = 3600 */
    unsigned write_timeout_s; /* 0 = 3600 */
    /* session innodb_lock_wait_timeout in seconds; 0 = the server's default */
    unsigned lock_wait_timeout_s;
    bool local_infile;
    /* TLS, as in struct config_tls: 0 off, 1 required (no verification),
     * 2 verify_ca (chain to tls_ca), 3 verify_identity (and the host name).
     * Files may be NULL; the verify modes need tls_ca (ML_EINVAL otherwise). */
    int tls_mode;
    const char *tls_ca, *tls_cert, *tls_key;
};

/* Connects; on failure ML_EDB with "cannot connect to 'host:port' as 'user': <reason>". */
int db_connect(const struct db_params *p, struct db **out);
void db_close(struct db *db);

bool db_is_mariadb(const struct db *db);
/* Server version as major*10000 + minor*100 + patch. */
unsigned long db_server_version(const struct db *db);
const char *db_server_info(const struct db *db);

/* Runs one statement and discards any result. ML_EDB on error. */
int db_exec(struct db *db, const char *sql);
int db_exec_len(struct db *db, const char *sql, size_t len);
int db_execf(struct db *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs a query and buffers its result. */
int db_query(struct db *db, const char *sql, struct db_result **out);
/* Next row: returns 1 with *row set (values NULL for SQL NULL), 0 at the end. */
int db_result_next(struct db_result *r, const char *const **row, const unsigned long **lengths);
unsigned db_result_columns(const struct db_result *r);
const char *db_result_column_name(const struct db_result *r, unsigned i);
unsigned long long db_result_rows(const struct db_result *r);
void db_result_free(struct db_result *r);
/* The same, after overwriting every value of the result with zeros (for
 * results that hold PII, e.g. sensitive values). */
void db_result_free_wiped(struct db_result *r);

/* Runs `sql` (a query, or a CALL of a procedure returning a result) and
 * puts the first column of the first row of its first result set into
 * `out` (replacing its content; wiped first); *found is false when there
 * is no row or the value is NULL. Every further result (a CALL's status)
 * is read and discarded. The server's rows may hold PII: they are wiped in
 * the client's memory before it is freed; the caller wipes `out`. ML_EDB
 * on error (out then empty). */
int db_query_value(struct db *db, const char *sql, size_t len, struct buf *out, bool *found);

/* First column of the first row as an unsigned integer; *is_null (may be
 * NULL) tells SQL NULL or no row. */
int db_query_u64(struct db *db, const char *sql, unsigned long long *out, bool *is_null);

/* Rows changed by the last db_exec* statement. */
unsigned long long db_affected_rows(struct db *db);
unsigned long long db_insert_id(struct db *db);
/* Server error number of the last failure (0 when none). */
unsigned db_errno(struct db *db);
/* True when the last failure means the connection is gone. */
bool db_connection_lost(struct db *db);
/* True when the last failure is one that trying the whole transaction again
 * may cure: deadlock (1213) or lock wait timeout (1205). The server has then
 * rolled back the statement or the transaction; the caller must roll back the
 * rest and replay the transaction from its start, never a part of it. */
bool db_error_is_transient(struct db *db);
/* The same test on a server error number (unit-testable). */
bool db_errno_is_transient(unsigned err);

/* How a failure is handled, by server or client error number: the one
 * table of db.c (db_errno_class). Every caller that retries, splits, falls
 * back or fails over asks it, and nothing else.
 *   DB_ERR_RETRY_TX  roll back and replay the whole transaction: 1213
 *                    deadlock / Galera certification conflict, 1205 lock
 *                    wait timeout, 1047 "WSREP has not yet prepared node",
 *                    TiDB 8002 (write conflict), 8005 (write conflict,
 *                    retry the transaction);
 *   DB_ERR_SPLIT     the transaction is too large for the server or cluster:
 *                    1180 "Got error 5 during COMMIT" (Galera's writeset
 *                    limit), TiDB 8004 (transaction too large);
 *   DB_ERR_NO_INFILE LOAD DATA LOCAL refused, a configuration matter served
 *                    by multi-row INSERT: 1148, 3948, 4166, 2068, and 1105
 *                    (a proxy that does not do LOAD DATA; only ever
 *                    consulted for a LOAD DATA statement);
 *   DB_ERR_LOST      the connection is gone (another host may take over);
 *   DB_ERR_FATAL     everything else. */
enum db_err_class {
    DB_ERR_FATAL = 0,
    DB_ERR_RETRY_TX,
    DB_ERR_SPLIT,
    DB_ERR_NO_INFILE,
    DB_ERR_LOST
};
enum db_err_class db_errno_class(unsigned err);
/* The class of the last failure on `db`. */
enum db_err_class db_error_class(struct db *db);

/* The node's Galera state: *galera false when the server does not run
 * wsrep (then *ready is true and state empty); else *ready tells
 * wsrep_ready = ON and state gets wsrep_local_state_comment (e.g. "Synced",
 * "Donor/Desynced", "Joining"). ML_EDB on error. */
int db_galera_state(struct db *db, bool *galera, bool *ready, char *state, size_t cap);

/* The server's writeset limits when it reports them (wsrep_max_ws_rows,
 * wsrep_max_ws_size; 0 = none reported or unlimited). Never fails: a server
 * without them gives zeros. */
void db_writeset_limits(struct db *db, unsigned long long *rows, unsigned long long *bytes);

/* The TLS cipher of the session, or NULL when it is not encrypted. */
const char *db_tls_cipher(struct db *db);

/* Fault injection for the tests, compiled only into the test build
 * (MASKLOAD_TEST_HOOKS: the maskload-test binary, never the installed
 * maskload), from the environment (read once per process; neither changes
 * what is written):
 *   MASKLOAD_TEST_KILL_AT=stmt:N|commit:N  the process sends itself SIGKILL
 *     right after its N-th successful statement (db_exec*, db_query*, any
 *     connection, session setup included) or its N-th successful commit, as an
 *     operator's `kill -9` at that point would;
 *   MASKLOAD_TEST_PAUSE_AT=commit:N + MASKLOAD_TEST_PAUSE_FILE=PATH  after the
 *     N-th commit, creates PATH and waits while it exists (at most 120 s), so a
 *     test can kill or restart the server at a known point. */

int db_begin(struct db *db);
int db_commit(struct db *db);
/* Best effort; never fails the caller (errors are logged at debug level). */
void db_rollback(struct db *db);

/* Appends 'escaped' (with the quotes) for `len` bytes of `s`. */
int db_append_quoted(struct db *db, struct buf *out, const char *s, size_t len);
/* Appends `name` as a backquoted identifier. */
int db_append_ident(struct buf *out, const char *name);

/* LOAD DATA LOCAL INFILE served from the caller's memory: the callbacks of
 * libmysqlclient's local-infile handler, in plain C types. init() gets the
 * file name the server sent back and must ignore it. */
struct db_infile {
    int (*init)(void **state, const char *filename, void *userdata);
    int (*read)(void *state, char *buf, unsigned int len); /* bytes, 0 at end, <0 error */
    void (*end)(void *state);
    int (*error)(void *state, char *msg, unsigned int len);
    void *userdata;
};

/* Runs `sql`, a LOAD DATA LOCAL INFILE statement, with `src` serving the
 * data. Outside this call a connection never sends a local file: the
 * handler installed by db_connect refuses every request. *rows gets the
 * affected rows. ML_EDB when the server fails the statement (db_errno()
 * tells 1148/4166 for "local infile disabled") or reports any warning (a
 * value was changed on the way in, which the INSERT path would refuse). */
int db_load_local(struct db *db, const char *sql, size_t len, const struct db_infile *src,
                  unsigned long long *rows);

/* Upsert dialect: MariaDB and MySQL < 8.0.19 use VALUES(col); MySQL >= 8.0.19
 * uses a row alias. DB_DIALECT_POSTGRES is the PostgreSQL warehouse's (pg.h):
 * db_dialect never returns it; ddlgen writes its tables and grants. */
enum db_dialect { DB_DIALECT_MARIADB = 0, DB_DIALECT_MYSQL8 = 1, DB_DIALECT_POSTGRES = 2 };
enum db_dialect db_dialect(const struct db *db);

#endif
