#include "db.h"

#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "banned.h"

struct db {
    MYSQL *conn;
    bool mariadb;
    unsigned long version;
    unsigned last_errno;
    unsigned long long affected; /* of the first result of the last db_exec */
};

struct db_result {
    MYSQL_RES *res;
};

static int fail(struct db *db, const char *what)
{
    db->last_errno = mysql_errno(db->conn);
    return err_set(ML_EDB, "%s: %s (error %u)", what, mysql_error(db->conn), db->last_errno);
}

/* ---- LOAD DATA LOCAL INFILE: only ever served from the caller's memory ---- */

static int refuse_init(void **state, const char *filename, void *userdata)
{
    (void)filename;
    (void)userdata;
    *state = NULL;
    return 1; /* the server asked for a file outside db_load_local: refuse */
}
static int refuse_read(void *state, char *buf, unsigned int len)
{
    (void)state;
    (void)buf;
    (void)len;
    return -1;
}
static void refuse_end(void *state)
{
    (void)state;
}
static int refuse_error(void *state, char *msg, unsigned int len)
{
    (void)state;
    snprintf(msg, len, "maskload sends local data only through its own bulk loader");
    return CR_UNKNOWN_ERROR;
}

static void infile_refuse(MYSQL *conn)
{
    mysql_set_local_infile_handler(conn, refuse_init, refuse_read, refuse_end, refuse_error, NULL);
}

/* ---- fault injection for the tests (see db.h) ---- */

enum hook_point { HOOK_STMT, HOOK_COMMIT };

/* Only a test build (MASKLOAD_TEST_HOOKS, the maskload-test binary) has
 * them; the installed binary has neither the code nor the names. */
#ifdef MASKLOAD_TEST_HOOKS
static struct {
    bool read;
    int kill_point, pause_point; /* enum hook_point, -1 = none */
    unsigned long kill_n, pause_n;
    unsigned long count[2];
} hooks;

static void hook_parse(const char *v, int *point, unsigned long *n)
{
    const char *num = NULL;
    *point = -1;
    if (!v)
        return;
    if (strncmp(v, "stmt:", 5) == 0) {
        *point = HOOK_STMT;
        num = v + 5;
    } else if (strncmp(v, "commit:", 7) == 0) {
        *point = HOOK_COMMIT;
        num = v + 7;
    }
    if (num)
        *n = strtoul(num, NULL, 10);
    if (!num || *n == 0)
        *point = -1;
}

/* Called after each successful statement or commit. */
static void hook_after(enum hook_point at)
{
    if (!hooks.read) {
        hooks.read = true;
        hook_parse(getenv("MASKLOAD_TEST_KILL_AT"), &hooks.kill_point, &hooks.kill_n);
        hook_parse(getenv("MASKLOAD_TEST_PAUSE_AT"), &hooks.pause_point, &hooks.pause_n);
    }
    if (hooks.kill_point < 0 && hooks.pause_point < 0)
        return;
    /* atomic: the streams of a parallel run count on threads of their own */
    unsigned long n = __atomic_add_fetch(&hooks.count[at], 1, __ATOMIC_SEQ_CST);
    if (hooks.kill_point == (int)at && n == hooks.kill_n) {
        log_warn("test hook: killing the process after %s %lu",
                 at == HOOK_STMT ? "statement" : "commit", hooks.kill_n);
        raise(SIGKILL);
    }
    if (hooks.pause_point == (int)at && n == hooks.pause_n) {
        const char *path = getenv("MASKLOAD_TEST_PAUSE_FILE");
        int fd = path ? open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) : -1;
        if (fd < 0)
            return;
        close(fd);
        log_warn("test hook: pausing after %s %lu while '%s' exists",
                 at == HOOK_STMT ? "statement" : "commit", hooks.pause_n, path);
        for (int i = 0; i < 1200 && access(path, F_OK) == 0; i++) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
}
#else
static void hook_after(enum hook_point at)
{
    (void)at;
}
#endif

int db_connect(const struct db_params *p, struct db **out)
{
    struct db *db = calloc(1, sizeof(*db));
    unsigned timeout;
    my_bool off = 0;
    const char *host = p->host && *p->host ? p->host : NULL;
    const char *sock = p->socket && *p->socket ? p->socket : NULL;
    *out = NULL;
    if (!db)
        return err_set(ML_ENOMEM, "out of memory");
    db->conn = mysql_init(NULL);
    if (!db->conn) {
        free(db);
        return err_set(ML_ENOMEM, "mysql_init failed");
    }
    timeout = p->connect_timeout_s ? p->connect_timeout_s : 10;
    mysql_options(db->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    timeout = p->read_timeout_s ? p->read_timeout_s : 3600;
    mysql_options(db->conn, MYSQL_OPT_READ_TIMEOUT, &timeout);
    timeout = p->write_timeout_s ? p->write_timeout_s : 3600;
    mysql_options(db->conn, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
    mysql_options(db->conn, MYSQL_OPT_RECONNECT, &off);
    mysql_options(db->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    {
        my_bool li = p->local_infile ? 1 : 0;
        mysql_options(db->conn, MYSQL_OPT_LOCAL_INFILE, &li);
        /* never the default handler, which opens whatever file the server names */
        infile_refuse(db->conn);
    }
    if (sock && !host) {
        unsigned proto = MYSQL_PROTOCOL_SOCKET;
        mysql_options(db->conn, MYSQL_OPT_PROTOCOL, &proto);
    } else {
        unsigned proto = MYSQL_PROTOCOL_TCP;
        mysql_options(db->conn, MYSQL_OPT_PROTOCOL, &proto);
    }
    if (p->tls_mode < 0 || p->tls_mode > 3 || (p->tls_mode >= 2 && !p->tls_ca)) {
        mysql_close(db->conn);
        free(db);
        return err_set(ML_EINVAL, "tls mode %d needs a CA file", p->tls_mode);
    }
    if (p->tls_mode > 0) {
        /* Connector/C: enforce = TLS or fail; a CA makes it verify the
         * chain; verify_server_cert adds the host name check. */
        my_bool enforce = 1, verify = p->tls_mode == 3 ? 1 : 0;
        mysql_ssl_set(db->conn, p->tls_key, p->tls_cert, p->tls_ca, NULL, NULL);
        mysql_options(db->conn, MYSQL_OPT_SSL_ENFORCE, &enforce);
        mysql_options(db->conn, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    }
    if (!mysql_real_connect(db->conn, host, p->user, p->password, p->database, p->port,
                            host ? NULL : sock, 0)) {
        char where[300];
        if (host)
            snprintf(where, sizeof(where), "%s:%u", host, p->port);
        else
            snprintf(where, sizeof(where), "%s", sock ? sock : "default socket");
        unsigned e = mysql_errno(db->conn);
        /* what to do about it, for the errors a new setup meets first */
        const char *hint = e == 1044 || e == 1049
                               ? "; run `maskload init` first (it creates the database, the "
                                 "account and its grants)"
                           : e == 1045 ? "; check the password, run `maskload init` if the account "
                                         "does not exist yet, and `maskload doctor` to look for "
                                         "anonymous accounts that shadow it"
                                       : "";
        err_set(ML_EDB, "cannot connect to '%s' as '%s': %s (error %u)%s", where,
                p->user ? p->user : "", mysql_error(db->conn), e, hint);
        mysql_close(db->conn);
        free(db);
        return ML_EDB;
    }
    {
        const char *info = mysql_get_server_info(db->conn);
        db->mariadb = info && strstr(info, "MariaDB") != NULL;
        db->version = mysql_get_server_version(db->conn);
    }
    if (db_exec(db, "SET time_zone = '+00:00'") ||
        db_exec(db, "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
                    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'")) {
        err_prefix(ML_EDB, "session setup");
        db_close(db);
        return ML_EDB;
    }
    if (p->lock_wait_timeout_s &&
        db_execf(db, "SET SESSION innodb_lock_wait_timeout = %u", p->lock_wait_timeout_s)) {
        err_prefix(ML_EDB, "session setup");
        db_close(db);
        return ML_EDB;
    }
    {
        const char *cipher = mysql_get_ssl_cipher(db->conn);
        log_debug("connected as '%s' to %s (tls: %s)", p->user ? p->user : "",
                  mysql_get_host_info(db->conn), cipher ? cipher : "off");
    }
    *out = db;
    return 0;
}

const char *db_tls_cipher(struct db *db)
{
    return mysql_get_ssl_cipher(db->conn);
}

void db_close(struct db *db)
{
    if (!db)
        return;
    mysql_close(db->conn);
    free(db);
}

bool db_is_mariadb(const struct db *db)
{
    return db->mariadb;
}
unsigned long db_server_version(const struct db *db)
{
    return db->version;
}
const char *db_server_info(const struct db *db)
{
    return mysql_get_server_info(db->conn);
}

enum db_dialect db_dialect(const struct db *db)
{
    return (!db->mariadb && db->version >= 80019) ? DB_DIALECT_MYSQL8 : DB_DIALECT_MARIADB;
}

int db_exec_len(struct db *db, const char *sql, size_t len)
{
    if (mysql_real_query(db->conn, sql, len))
        return fail(db, "query failed");
    db->affected = (unsigned long long)mysql_affected_rows(db->conn);
    /* discard results, including those of multi-result statements */
    do {
        MYSQL_RES *res = mysql_store_result(db->conn);
        if (res)
            mysql_free_result(res);
        else if (mysql_field_count(db->conn) != 0)
            return fail(db, "reading result failed");
    } while (mysql_next_result(db->conn) == 0);
    if (mysql_errno(db->conn))
        return fail(db, "query failed");
    db->last_errno = 0;
    hook_after(HOOK_STMT);
    return 0;
}

int db_exec(struct db *db, const char *sql)
{
    return db_exec_len(db, sql, strlen(sql));
}

int db_execf(struct db *db, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = buf_vaddf(&b, fmt, ap);
    va_end(ap);
    if (!rc)
        rc = db_exec_len(db, b.data, b.len);
    buf_release(&b);
    return rc;
}

int db_query(struct db *db, const char *sql, struct db_result **out)
{
    struct db_result *r;
    *out = NULL;
    if (mysql_real_query(db->conn, sql, strlen(sql)))
        return fail(db, "query failed");
    r = calloc(1, sizeof(*r));
    if (!r)
        return err_set(ML_ENOMEM, "out of memory");
    r->res = mysql_store_result(db->conn);
    if (!r->res && mysql_field_count(db->conn) != 0) {
        free(r);
        return fail(db, "reading result failed");
    }
    db->last_errno = 0;
    *out = r;
    hook_after(HOOK_STMT);
    return 0;
}

int db_result_next(struct db_result *r, const char *const **row, const unsigned long **lengths)
{
    MYSQL_ROW mr;
    if (!r->res)
        return 0;
    mr = mysql_fetch_row(r->res);
    if (!mr)
        return 0;
    *row = (const char *const *)mr;
    if (lengths)
        *lengths = mysql_fetch_lengths(r->res);
    return 1;
}

unsigned db_result_columns(const struct db_result *r)
{
    return r->res ? mysql_num_fields(r->res) : 0;
}

const char *db_result_column_name(const struct db_result *r, unsigned i)
{
    MYSQL_FIELD *f;
    if (!r->res || i >= mysql_num_fields(r->res))
        return "";
    f = mysql_fetch_field_direct(r->res, i);
    return f ? f->name : "";
}

unsigned long long db_result_rows(const struct db_result *r)
{
    return r->res ? (unsigned long long)mysql_num_rows(r->res) : 0;
}

void db_result_free(struct db_result *r)
{
    if (!r)
        return;
    if (r->res)
        mysql_free_result(r->res);
    free(r);
}

int db_query_value(struct db *db, const char *sql, size_t len, struct buf *out, bool *found)
{
    int rc = 0;
    bool first = true;
    *found = false;
    buf_wipe(out);
    if (mysql_real_query(db->conn, sql, len))
        return fail(db, "query failed");
    do {
        MYSQL_RES *res = mysql_store_result(db->conn);
        MYSQL_ROW row;
        if (!res) {
            if (mysql_field_count(db->conn) != 0)
                return fail(db, "reading result failed");
            continue;
        }
        while ((row = mysql_fetch_row(res)) != NULL) {
            unsigned long *lengths = mysql_fetch_lengths(res);
            unsigned n = mysql_num_fields(res);
            if (first && !rc && n > 0 && row[0]) {
                rc = buf_add(out, row[0], lengths[0]);
                *found = rc == 0;
            }
            first = false;
            /* the values may be PII: wiped in the result before it is freed */
            for (unsigned i = 0; i < n; i++)
                if (row[i])
                    mem_wipe(row[i], lengths[i]);
        }
        first = false;
        mysql_free_result(res);
    } while (mysql_next_result(db->conn) == 0);
    if (mysql_errno(db->conn)) {
        buf_wipe(out);
        *found = false;
        return fail(db, "query failed");
    }
    if (rc) {
        buf_wipe(out);
        *found = false;
        return rc;
    }
    db->last_errno = 0;
    hook_after(HOOK_STMT);
    return 0;
}

void db_result_free_wiped(struct db_result *r)
{
    MYSQL_ROW mr;
    if (!r)
        return;
    if (r->res) {
        unsigned n = mysql_num_fields(r->res);
        mysql_data_seek(r->res, 0);
        while ((mr = mysql_fetch_row(r->res)) != NULL) {
            unsigned long *len = mysql_fetch_lengths(r->res);
            for (unsigned i = 0; len && i < n; i++)
                if (mr[i])
                    mem_wipe(mr[i], len[i]);
        }
    }
    db_result_free(r);
}

int db_query_u64(struct db *db, const char *sql, unsigned long long *out, bool *is_null)
{
    struct db_result *r;
    const char *const *row;
    int rc = db_query(db, sql, &r);
    *out = 0;
    if (is_null)
        *is_null = true;
    if (rc)
        return rc;
    if (db_result_next(r, &row, NULL) == 1 && db_result_columns(r) > 0 && row[0]) {
        char *end;
        *out = strtoull(row[0], &end, 10);
        if (is_null)
            *is_null = false;
    }
    db_result_free(r);
    return 0;
}

unsigned long long db_affected_rows(struct db *db)
{
    return db->affected;
}

unsigned long long db_insert_id(struct db *db)
{
    return (unsigned long long)mysql_insert_id(db->conn);
}

unsigned db_errno(struct db *db)
{
    return db->last_errno;
}

/* The one classification of failures (db.h). */
static const struct {
    unsigned err;
    enum db_err_class cls;
} err_classes[] = {
    {ER_LOCK_DEADLOCK, DB_ERR_RETRY_TX},     /* 1213, and Galera certification */
    {ER_LOCK_WAIT_TIMEOUT, DB_ERR_RETRY_TX}, /* 1205 */
    {1047, DB_ERR_RETRY_TX},                 /* WSREP has not yet prepared node */
    {8002, DB_ERR_RETRY_TX},                 /* TiDB: write conflict (SELECT FOR UPDATE) */
    {8005, DB_ERR_RETRY_TX},                 /* TiDB: write conflict, retry the transaction */
    {1180, DB_ERR_SPLIT},                    /* Got error 5 during COMMIT: writeset too large */
    {8004, DB_ERR_SPLIT},                    /* TiDB: transaction too large */
    {1148, DB_ERR_NO_INFILE},                /* the used command is not allowed */
    {3948, DB_ERR_NO_INFILE},                /* MySQL: local files disabled */
    {4166, DB_ERR_NO_INFILE},                /* MariaDB: local infile disabled */
    {2068, DB_ERR_NO_INFILE},                /* client: LOAD DATA LOCAL refused */
    {1105, DB_ERR_NO_INFILE},                /* a proxy refusing LOAD DATA */
    {CR_SERVER_GONE_ERROR, DB_ERR_LOST},
    {CR_SERVER_LOST, DB_ERR_LOST},
    {CR_CONNECTION_ERROR, DB_ERR_LOST},
    {CR_CONN_HOST_ERROR, DB_ERR_LOST},
    {ER_CONNECTION_KILLED, DB_ERR_LOST},
    {ER_SERVER_SHUTDOWN, DB_ERR_LOST},
};

enum db_err_class db_errno_class(unsigned err)
{
    for (size_t i = 0; i < sizeof(err_classes) / sizeof(err_classes[0]); i++)
        if (err_classes[i].err == err)
            return err_classes[i].cls;
    return DB_ERR_FATAL;
}

enum db_err_class db_error_class(struct db *db)
{
    return db_errno_class(db->last_errno);
}

bool db_connection_lost(struct db *db)
{
    return db_errno_class(db->last_errno) == DB_ERR_LOST;
}

bool db_errno_is_transient(unsigned err)
{
    return db_errno_class(err) == DB_ERR_RETRY_TX;
}

/* Reads `Value` of the one-row SHOW result `sql` into out; "" when no row. */
static int show_value(struct db *db, const char *sql, char *out, size_t cap)
{
    struct db_result *r = NULL;
    const char *const *row;
    const unsigned long *len;
    int rc = db_query(db, sql, &r);
    out[0] = '\0';
    if (rc)
        return rc;
    if (db_result_next(r, &row, &len) == 1 && db_result_columns(r) >= 2 && row[1])
        snprintf(out, cap, "%.*s", (int)len[1], row[1]);
    db_result_free(r);
    return 0;
}

int db_galera_state(struct db *db, bool *galera, bool *ready, char *state, size_t cap)
{
    char v[64];
    int rc = show_value(db, "SHOW GLOBAL VARIABLES LIKE 'wsrep\\_on'", v, sizeof(v));
    *galera = false;
    *ready = true;
    state[0] = '\0';
    if (rc || strcasecmp(v, "ON") != 0)
        return rc;
    *galera = true;
    rc = show_value(db, "SHOW GLOBAL STATUS LIKE 'wsrep\\_ready'", v, sizeof(v));
    if (!rc)
        *ready = strcasecmp(v, "ON") == 0;
    if (!rc)
        rc =
            show_value(db, "SHOW GLOBAL STATUS LIKE 'wsrep\\_local\\_state\\_comment'", state, cap);
    return rc;
}

void db_writeset_limits(struct db *db, unsigned long long *rows, unsigned long long *bytes)
{
    char v[32];
    *rows = 0;
    *bytes = 0;
    if (!show_value(db, "SHOW GLOBAL VARIABLES LIKE 'wsrep\\_max\\_ws\\_rows'", v, sizeof(v)))
        *rows = strtoull(v, NULL, 10);
    if (!show_value(db, "SHOW GLOBAL VARIABLES LIKE 'wsrep\\_max\\_ws\\_size'", v, sizeof(v)))
        *bytes = strtoull(v, NULL, 10);
}

bool db_error_is_transient(struct db *db)
{
    return db_errno_is_transient(db->last_errno);
}

int db_begin(struct db *db)
{
    return db_exec(db, "START TRANSACTION");
}

int db_commit(struct db *db)
{
    if (mysql_commit(db->conn))
        return fail(db, "commit failed");
    hook_after(HOOK_COMMIT);
    return 0;
}

void db_rollback(struct db *db)
{
    if (mysql_rollback(db->conn))
        log_debug("rollback failed: %s", mysql_error(db->conn));
}

int db_append_quoted(struct db *db, struct buf *out, const char *s, size_t len)
{
    int rc = buf_grow(out, 2 * len + 3);
    if (rc)
        return rc;
    out->data[out->len++] = '\'';
    out->len += mysql_real_escape_string(db->conn, out->data + out->len, s, len);
    out->data[out->len++] = '\'';
    out->data[out->len] = '\0';
    return 0;
}

int db_append_ident(struct buf *out, const char *name)
{
    int rc = buf_addc(out, '`');
    for (const char *p = name; !rc && *p; p++)
        rc = *p == '`' ? buf_adds(out, "``") : buf_addc(out, *p);
    return rc ? rc : buf_addc(out, '`');
}

int db_load_local(struct db *db, const char *sql, size_t len, const struct db_infile *src,
                  unsigned long long *rows)
{
    unsigned warnings;
    int rc = 0;
    *rows = 0;
    mysql_set_local_infile_handler(db->conn, src->init, src->read, src->end, src->error,
                                   src->userdata);
    if (mysql_real_query(db->conn, sql, len))
        rc = fail(db, "LOAD DATA LOCAL failed");
    infile_refuse(db->conn);
    if (rc)
        return rc;
    *rows = (unsigned long long)mysql_affected_rows(db->conn);
    db->affected = *rows;
    warnings = mysql_warning_count(db->conn);
    if (warnings) {
        db->last_errno = 0;
        return err_set(ML_EDB, "LOAD DATA LOCAL: the server changed values (%u warnings)",
                       warnings);
    }
    db->last_errno = 0;
    return 0;
}
