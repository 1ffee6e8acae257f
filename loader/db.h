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
    bool local_infile;
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

int db_begin(struct db *db);
int db_commit(struct db *db);
/* Best effort; never fails the caller (errors are logged at debug level). */
void db_rollback(struct db *db);

/* Appends 'escaped' (with the quotes) for `len` bytes of `s`. */
int db_append_quoted(struct db *db, struct buf *out, const char *s, size_t len);
/* Appends `name` as a backquoted identifier. */
int db_append_ident(struct buf *out, const char *name);

/* Upsert dialect: MariaDB and MySQL < 8.0.19 use VALUES(col); MySQL >= 8.0.19
 * uses a row alias. */
enum db_dialect { DB_DIALECT_MARIADB = 0, DB_DIALECT_MYSQL8 = 1 };
enum db_dialect db_dialect(const struct db *db);

#endif
