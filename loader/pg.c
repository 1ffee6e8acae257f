#include "pg.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "log.h"
#include "banned.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Bytes handed to PQputCopyData at once: large enough to keep the socket
 * busy, small enough that a huge batch is never copied whole again. */
#define COPY_CHUNK (256u * 1024u)

struct pg {
    PGconn *conn;
    char sqlstate[6]; /* of the last failure; "" after a success */
    unsigned long long affected;
    bool in_copy;
};

struct pg_result {
    PGresult *res;
    int row, nrows;
    unsigned ncols;
    const char **vals; /* the current row, NULL for SQL NULL */
    size_t *lens;
};

/* ---- errors ---- */

/* The class of each SQLSTATE that is not fatal: the one table every caller
 * that retries, splits or fails over asks (through pg_sqlstate_class). A
 * two-character entry is a whole SQLSTATE class. */
static const struct {
    const char *state;
    enum db_err_class cls;
} sqlstate_classes[] = {
    {"40001", DB_ERR_RETRY_TX}, /* serialization_failure */
    {"40P01", DB_ERR_RETRY_TX}, /* deadlock_detected */
    {"55P03", DB_ERR_RETRY_TX}, /* lock_not_available: lock_timeout ran out */
    {"53200", DB_ERR_SPLIT},    /* out_of_memory */
    {"54000", DB_ERR_SPLIT},    /* program_limit_exceeded */
    {"08", DB_ERR_LOST},        /* connection_exception and its subclasses */
    {"57P01", DB_ERR_LOST},     /* admin_shutdown (also pg_terminate_backend) */
    {"57P02", DB_ERR_LOST},     /* crash_shutdown */
    {"57P03", DB_ERR_LOST},     /* cannot_connect_now */
};

enum db_err_class pg_sqlstate_class(const char *sqlstate)
{
    if (!sqlstate || strlen(sqlstate) != 5)
        return DB_ERR_FATAL;
    for (size_t i = 0; i < ARRAY_LEN(sqlstate_classes); i++) {
        size_t n = strlen(sqlstate_classes[i].state);
        if (strncmp(sqlstate, sqlstate_classes[i].state, n) == 0)
            return sqlstate_classes[i].cls;
    }
    return DB_ERR_FATAL;
}

bool pg_connection_lost(const struct pg *pg)
{
    return !pg->conn || PQstatus(pg->conn) == CONNECTION_BAD;
}

enum db_err_class pg_error_class(const struct pg *pg)
{
    if (pg_connection_lost(pg))
        return DB_ERR_LOST;
    return pg_sqlstate_class(pg->sqlstate);
}

const char *pg_sqlstate(const struct pg *pg)
{
    return pg->sqlstate;
}

/* libpq's message on one line: newlines and tabs become spaces, the end is
 * trimmed. Written into dst (cap bytes). */
static const char *one_line(char *dst, size_t cap, const char *msg)
{
    size_t o = 0;
    bool space = false;
    for (const char *s = msg ? msg : ""; *s && o + 1 < cap; s++) {
        if (*s == '\n' || *s == '\t' || *s == '\r' || *s == ' ') {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < cap)
            dst[o++] = ' ';
        space = false;
        dst[o++] = *s;
    }
    dst[o] = '\0';
    return dst;
}

/* A data exception's (SQLSTATE class 22) primary message without the value
 * it quotes: the server writes it after ': "' (invalid input syntax for
 * type integer: "..."), and a value may be personal data. */
static const char *without_value(char *dst, size_t cap, const char *primary)
{
    const char *q = strstr(primary, ": \"");
    if (!q)
        return primary;
    snprintf(dst, cap, "%.*s (value not shown)", (int)(q - primary), primary);
    return dst;
}

/* Records a failure: "<what>: <primary message> (sqlstate XXXXX)". The
 * primary message only: DETAIL and CONTEXT quote row values. */
static int fail(struct pg *pg, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[512];
    snprintf(pg->sqlstate, sizeof(pg->sqlstate), "%s", state && strlen(state) == 5 ? state : "");
    if (primary && strncmp(pg->sqlstate, "22", 2) == 0)
        primary = without_value(line, sizeof(line), primary);
    if (!primary)
        primary = one_line(line, sizeof(line), PQerrorMessage(pg->conn));
    if (!*primary)
        primary = "no message from the server";
    if (pg_connection_lost(pg) && !pg->sqlstate[0])
        return err_set(ML_EDB, "%s: connection lost: %s", what, primary);
    if (pg->sqlstate[0])
        return err_set(ML_EDB, "%s: %s (sqlstate %s)", what, primary, pg->sqlstate);
    return err_set(ML_EDB, "%s: %s", what, primary);
}

/* Fault injection for the tests, as db.h's hooks do for MySQL (read once per
 * process; only the maskload-test binary, MASKLOAD_TEST_HOOKS, has them):
 * MASKLOAD_TEST_KILL_AT=stmt:N|commit:N kills the process right after its
 * N-th successful statement (any connection of this module, session setup,
 * BEGIN and COPY included, COMMIT not) or its N-th successful COMMIT;
 * MASKLOAD_TEST_PAUSE_AT=commit:N with MASKLOAD_TEST_PAUSE_FILE=PATH creates
 * PATH after the N-th COMMIT and waits while it exists (at most 120 s).
 * `commit` is 0 after a statement, 1 after a COMMIT. */
#ifdef MASKLOAD_TEST_HOOKS
static unsigned long pg_hook_parse(const char *v, int *commit)
{
    if (v && strncmp(v, "stmt:", 5) == 0) {
        *commit = 0;
        return strtoul(v + 5, NULL, 10);
    }
    if (v && strncmp(v, "commit:", 7) == 0) {
        *commit = 1;
        return strtoul(v + 7, NULL, 10);
    }
    return 0;
}

static void pg_hook_after(int commit)
{
    /* counted across the threads of the process (writer, surrogates
     * ahead, parallel streams, heartbeat), under a lock */
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static unsigned long kill_n, pause_n, count[2];
    static int read, kill_at, pause_at;
    unsigned long now;
    pthread_mutex_lock(&mu);
    if (!read) {
        read = 1;
        kill_n = pg_hook_parse(getenv("MASKLOAD_TEST_KILL_AT"), &kill_at);
        pause_n = pg_hook_parse(getenv("MASKLOAD_TEST_PAUSE_AT"), &pause_at);
    }
    now = kill_n || pause_n ? ++count[commit] : 0;
    pthread_mutex_unlock(&mu);
    if (!now)
        return;
    if (kill_n && kill_at == commit && now == kill_n) {
        log_warn("test hook: killing the process after %s %lu", commit ? "commit" : "statement",
                 kill_n);
        raise(SIGKILL);
    }
    if (pause_n && pause_at == commit && now == pause_n) {
        const char *path = getenv("MASKLOAD_TEST_PAUSE_FILE");
        FILE *f = path ? fopen(path, "w") : NULL;
        if (!f)
            return;
        fclose(f);
        log_warn("test hook: pausing after %s %lu while '%s' exists",
                 commit ? "commit" : "statement", pause_n, path);
        for (int i = 0; i < 1200; i++) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            FILE *still = fopen(path, "r");
            if (!still)
                break;
            fclose(still);
            nanosleep(&ts, NULL);
        }
    }
}
#else
static void pg_hook_after(int commit)
{
    (void)commit;
}
#endif

static void succeeded(struct pg *pg, const PGresult *res)
{
    const char *n = PQcmdTuples((PGresult *)res);
    pg->sqlstate[0] = '\0';
    pg->affected = n && *n ? strtoull(n, NULL, 10) : 0;
    if (strcmp(PQcmdStatus((PGresult *)res), "COMMIT") != 0)
        pg_hook_after(0);
}

/* Notices (e.g. "relation already exists, skipping") go to the debug log,
 * primary message only, never to stderr as libpq's default does. */
static void on_notice(void *arg, const PGresult *res)
{
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    (void)arg;
    log_debug("postgres: %s", primary ? primary : "notice");
}

/* ---- quoting ---- */

int pg_append_ident(struct buf *out, const char *name)
{
    size_t mark = out->len;
    int rc;
    if (!name || !*name)
        return err_set(ML_EINVAL, "empty identifier");
    rc = buf_addc(out, '"');
    for (const char *s = name; !rc && *s; s++) {
        if (*s == '"')
            rc = buf_addc(out, '"');
        if (!rc)
            rc = buf_addc(out, *s);
    }
    if (!rc)
        rc = buf_addc(out, '"');
    if (rc)
        buf_truncate(out, mark);
    return rc;
}

int pg_append_literal(struct buf *out, const char *s, size_t len)
{
    size_t mark = out->len;
    int rc;
    if (memchr(s, '\0', len))
        return err_set(ML_EINVAL, "a text value holds a NUL byte, which PostgreSQL cannot store");
    rc = buf_addc(out, '\'');
    for (size_t i = 0; !rc && i < len; i++) {
        if (s[i] == '\'')
            rc = buf_addc(out, '\'');
        if (!rc)
            rc = buf_addc(out, s[i]);
    }
    if (!rc)
        rc = buf_addc(out, '\'');
    if (rc)
        buf_truncate(out, mark);
    return rc;
}

int pg_array_append_element(struct buf *out, const char *s, size_t len)
{
    size_t mark = out->len;
    int rc;
    if (memchr(s, '\0', len))
        return err_set(ML_EINVAL, "a text value holds a NUL byte, which PostgreSQL cannot store");
    rc = buf_adds(out, mark && out->data[mark - 1] != '{' ? ",\"" : "\"");
    for (size_t i = 0; !rc && i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            rc = buf_addc(out, '\\');
        if (!rc)
            rc = buf_addc(out, s[i]);
    }
    if (!rc)
        rc = buf_addc(out, '"');
    if (rc)
        buf_truncate(out, mark);
    return rc;
}

int pg_copy_append_field(struct buf *out, const char *s, size_t len)
{
    size_t mark = out->len;
    int rc = 0;
    if (!s)
        return buf_add(out, "\\N", 2);
    if (memchr(s, '\0', len))
        return err_set(ML_EINVAL, "a text value holds a NUL byte, which PostgreSQL cannot store");
    /* the bytes up to the next one COPY escapes go in one append */
    for (size_t i = 0, run = 0; !rc && i <= len; i++) {
        const char *esc = NULL;
        if (i < len) {
            switch (s[i]) {
            case '\\':
                esc = "\\\\";
                break;
            case '\t':
                esc = "\\t";
                break;
            case '\n':
                esc = "\\n";
                break;
            case '\r':
                esc = "\\r";
                break;
            default:
                continue;
            }
        }
        if (i > run)
            rc = buf_add(out, s + run, i - run);
        if (!rc && esc)
            rc = buf_add(out, esc, 2);
        run = i + 1;
    }
    if (rc)
        buf_truncate(out, mark);
    return rc;
}

/* ---- connections ---- */

const char *pg_sslmode(int tls_mode)
{
    static const char *const modes[] = {"disable", "require", "verify-ca", "verify-full"};
    return tls_mode >= 0 && (size_t)tls_mode < ARRAY_LEN(modes) ? modes[tls_mode] : NULL;
}

/* What to do about a failed connection, for the failures a new setup meets
 * first, as MySQL's messages say it (db.c). libpq gives no SQLSTATE for a
 * failed connection: the server's message is read, in its default English. */
static const char *connect_hint(const char *reason)
{
    if (strstr(reason, "password authentication failed") ||
        (strstr(reason, "role \"") && strstr(reason, "does not exist")))
        return "; check the password, and run `maskload init` if the account does not exist "
               "yet";
    if (strstr(reason, "database \"") && strstr(reason, "does not exist"))
        return "; run `maskload init` first (it creates the database, its schema, the accounts "
               "and their grants)";
    return "";
}

/* The session's fixed settings (pg.h), then search_path and lock_timeout. */
static int session_setup(struct pg *pg, const struct pg_params *p)
{
    struct buf sql = BUF_INIT;
    int rc = buf_adds(&sql, "SET client_encoding = 'UTF8'; SET TimeZone = 'UTC'; "
                            "SET DateStyle = 'ISO, YMD'; SET standard_conforming_strings = on; "
                            "SET bytea_output = 'hex'");
    if (!rc && p->schema && *p->schema) {
        rc = buf_adds(&sql, "; SET search_path = ");
        if (!rc)
            rc = pg_append_ident(&sql, p->schema);
    }
    if (!rc && p->lock_timeout_s)
        rc = buf_addf(&sql, "; SET lock_timeout = '%us'", p->lock_timeout_s);
    if (!rc)
        rc = pg_exec(pg, sql.data);
    buf_release(&sql);
    return rc ? err_prefix(rc, "session setup") : 0;
}

int pg_connect(const struct pg_params *p, struct pg **out)
{
    const char *keys[20], *vals[20];
    char port[12], timeout[12], where[1024], reason[512];
    size_t n = 0;
    const char *host = p->host && *p->host ? p->host : NULL;
    const char *sock = p->socket_dir && *p->socket_dir ? p->socket_dir : NULL;
    const char *sslmode = pg_sslmode(p->tls_mode);
    struct pg *pg;
    int rc;
    *out = NULL;
    if (!sslmode || (p->tls_mode >= 2 && !p->tls_ca))
        return err_set(ML_EINVAL, "tls mode %d needs a CA file", p->tls_mode);
    if (!p->tls_cert != !p->tls_key)
        return err_set(ML_EINVAL, "a client certificate needs its key, and a key its certificate");
    if (!host && !sock)
        host = "127.0.0.1";
    if (!p->user || !*p->user)
        return err_set(ML_EINVAL, "a PostgreSQL connection needs a user");
    snprintf(port, sizeof(port), "%u", p->port ? p->port : 5432);
    snprintf(timeout, sizeof(timeout), "%u", p->connect_timeout_s ? p->connect_timeout_s : 10);
    if (p->hosts)
        snprintf(where, sizeof(where), "a read-write server of '%s' (ports %s)", p->hosts,
                 p->ports);
    else if (host)
        snprintf(where, sizeof(where), "'%s:%s'", host, port);
    else
        snprintf(where, sizeof(where), "'%s (port %s)'", sock, port);
#define KV(k, v)                                                                                   \
    do {                                                                                           \
        keys[n] = (k);                                                                             \
        vals[n] = (v);                                                                             \
        n++;                                                                                       \
    } while (0)
    if (p->hosts) {
        KV("host", p->hosts);
        KV("port", p->ports);
        KV("target_session_attrs", "read-write");
    } else {
        KV("host", host ? host : sock);
        KV("port", port);
    }
    KV("user", p->user);
    if (p->password)
        KV("password", p->password);
    if (p->database && *p->database)
        KV("dbname", p->database);
    KV("connect_timeout", timeout);
    KV("client_encoding", "UTF8");
    KV("application_name", "maskload");
    KV("sslmode", sslmode);
    if (p->tls_ca)
        KV("sslrootcert", p->tls_ca);
    if (p->tls_cert) {
        KV("sslcert", p->tls_cert);
        KV("sslkey", p->tls_key);
    }
    /* no Kerberos attempt before the password, no ~/.pgpass guess */
    KV("gssencmode", "disable");
    KV("passfile", "/dev/null");
    KV(NULL, NULL);
#undef KV
    if (!(pg = calloc(1, sizeof(*pg))))
        return err_set(ML_ENOMEM, "out of memory");
    /* expand_dbname 0: a database name is a name, never a conninfo string */
    pg->conn = PQconnectdbParams(keys, vals, 0);
    if (!pg->conn) {
        free(pg);
        return err_set(ML_ENOMEM, "out of memory");
    }
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        one_line(reason, sizeof(reason), PQerrorMessage(pg->conn));
        err_set(ML_EDB, "cannot connect to %s as '%s': %s%s", where, p->user, reason,
                connect_hint(reason));
        PQfinish(pg->conn);
        free(pg);
        return ML_EDB;
    }
    PQsetNoticeReceiver(pg->conn, on_notice, NULL);
    if ((rc = session_setup(pg, p))) {
        pg_close(pg);
        return rc;
    }
    if (p->hosts)
        pg_server_name(pg, where, sizeof(where));
    log_debug("connected as '%s' to %s, database '%s' (tls: %s)", p->user, where, PQdb(pg->conn),
              PQsslInUse(pg->conn) ? PQsslAttribute(pg->conn, "protocol") : "off");
    *out = pg;
    return 0;
}

void pg_close(struct pg *pg)
{
    if (!pg)
        return;
    PQfinish(pg->conn);
    free(pg);
}

void pg_server_name(const struct pg *pg, char *out, size_t len)
{
    const char *h = PQhost(pg->conn), *p = PQport(pg->conn);
    snprintf(out, len, "%s:%s", h ? h : "?", p ? p : "?");
}

int pg_server_version(const struct pg *pg)
{
    return PQserverVersion(pg->conn);
}

const char *pg_tls_protocol(struct pg *pg)
{
    return PQsslInUse(pg->conn) ? PQsslAttribute(pg->conn, "protocol") : NULL;
}

/* ---- statements ---- */

/* Checks a result: its status must be one of the two given. */
static int check_result(struct pg *pg, PGresult *res, ExecStatusType a, ExecStatusType b,
                        const char *what)
{
    ExecStatusType st;
    if (!res)
        return fail(pg, NULL, what);
    st = PQresultStatus(res);
    if (st != a && st != b)
        return fail(pg, res, what);
    return 0;
}

int pg_exec(struct pg *pg, const char *sql)
{
    PGresult *res;
    int rc;
    if (pg->in_copy)
        return err_set(ML_EINVAL, "a COPY is in progress on this connection");
    res = PQexec(pg->conn, sql);
    rc = check_result(pg, res, PGRES_COMMAND_OK, PGRES_TUPLES_OK, "query failed");
    if (!rc)
        succeeded(pg, res);
    PQclear(res);
    return rc;
}

/* The parameters as libpq wants them: text, NUL-terminated. Values with
 * lengths are copied (*copies, wiped and freed by free_params); a NUL
 * inside a length is refused. */
static int bind_params(int n, const char *const *values, const size_t *lengths, const char ***bound,
                       char ***copies)
{
    *bound = NULL;
    *copies = NULL;
    if (n < 0 || (n > 0 && !values))
        return err_set(ML_EINVAL, "bad parameter list");
    if (n == 0)
        return 0;
    if (!(*bound = calloc((size_t)n, sizeof(**bound))) ||
        !(*copies = calloc((size_t)n, sizeof(**copies)))) {
        free(*bound);
        *bound = NULL;
        return err_set(ML_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        if (!values[i] || !lengths) {
            (*bound)[i] = values[i];
            continue;
        }
        if (memchr(values[i], '\0', lengths[i]))
            return err_set(ML_EINVAL,
                           "parameter $%d holds a NUL byte, which PostgreSQL text cannot store",
                           i + 1);
        if (!((*copies)[i] = malloc(lengths[i] + 1)))
            return err_set(ML_ENOMEM, "out of memory");
        memcpy((*copies)[i], values[i], lengths[i]);
        (*copies)[i][lengths[i]] = '\0';
        (*bound)[i] = (*copies)[i];
    }
    return 0;
}

static void free_params(int n, const char **bound, char **copies)
{
    for (int i = 0; copies && i < n; i++)
        if (copies[i]) {
            mem_wipe(copies[i], strlen(copies[i]));
            free(copies[i]);
        }
    free(copies);
    free(bound);
}

/* One statement with parameters; *res the result when it succeeded. */
static int run_params(struct pg *pg, const char *sql, int n, const char *const *values,
                      const size_t *lengths, PGresult **res)
{
    const char **bound;
    char **copies;
    int rc;
    *res = NULL;
    if (pg->in_copy)
        return err_set(ML_EINVAL, "a COPY is in progress on this connection");
    rc = bind_params(n, values, lengths, &bound, &copies);
    if (!rc) {
        /* text format in and out; the server infers each parameter's type */
        *res = PQexecParams(pg->conn, sql, n, NULL, bound, NULL, NULL, 0);
        rc = check_result(pg, *res, PGRES_COMMAND_OK, PGRES_TUPLES_OK, "query failed");
        if (rc) {
            PQclear(*res);
            *res = NULL;
        } else {
            succeeded(pg, *res);
        }
    }
    free_params(n, bound, copies);
    return rc;
}

int pg_exec_params(struct pg *pg, const char *sql, int n, const char *const *values,
                   const size_t *lengths)
{
    PGresult *res;
    int rc = run_params(pg, sql, n, values, lengths, &res);
    PQclear(res);
    return rc;
}

static int wrap_result(PGresult *res, struct pg_result **out)
{
    struct pg_result *r = calloc(1, sizeof(*r));
    *out = NULL;
    if (!r) {
        PQclear(res);
        return err_set(ML_ENOMEM, "out of memory");
    }
    r->res = res;
    r->nrows = PQntuples(res);
    r->ncols = (unsigned)PQnfields(res);
    if (r->ncols && (!(r->vals = calloc(r->ncols, sizeof(*r->vals))) ||
                     !(r->lens = calloc(r->ncols, sizeof(*r->lens))))) {
        pg_result_free(r);
        return err_set(ML_ENOMEM, "out of memory");
    }
    *out = r;
    return 0;
}

int pg_query(struct pg *pg, const char *sql, struct pg_result **out)
{
    PGresult *res;
    int rc;
    *out = NULL;
    if (pg->in_copy)
        return err_set(ML_EINVAL, "a COPY is in progress on this connection");
    res = PQexec(pg->conn, sql);
    rc = check_result(pg, res, PGRES_TUPLES_OK, PGRES_COMMAND_OK, "query failed");
    if (rc) {
        PQclear(res);
        return rc;
    }
    succeeded(pg, res);
    return wrap_result(res, out);
}

int pg_query_params(struct pg *pg, const char *sql, int n, const char *const *values,
                    const size_t *lengths, struct pg_result **out)
{
    PGresult *res;
    int rc = run_params(pg, sql, n, values, lengths, &res);
    *out = NULL;
    return rc ? rc : wrap_result(res, out);
}

int pg_result_next(struct pg_result *r, const char *const **row, const size_t **lengths)
{
    if (r->row >= r->nrows)
        return 0;
    for (unsigned c = 0; c < r->ncols; c++) {
        bool null = PQgetisnull(r->res, r->row, (int)c);
        r->vals[c] = null ? NULL : PQgetvalue(r->res, r->row, (int)c);
        r->lens[c] = null ? 0 : (size_t)PQgetlength(r->res, r->row, (int)c);
    }
    r->row++;
    *row = r->vals;
    if (lengths)
        *lengths = r->lens;
    return 1;
}

unsigned pg_result_columns(const struct pg_result *r)
{
    return r->ncols;
}

const char *pg_result_column_name(const struct pg_result *r, unsigned i)
{
    const char *name = i < r->ncols ? PQfname(r->res, (int)i) : NULL;
    return name ? name : "";
}

unsigned long long pg_result_rows(const struct pg_result *r)
{
    return (unsigned long long)r->nrows;
}

void pg_result_free(struct pg_result *r)
{
    if (!r)
        return;
    PQclear(r->res);
    free(r->vals);
    free(r->lens);
    free(r);
}

void pg_result_free_wiped(struct pg_result *r)
{
    if (!r)
        return;
    for (int i = 0; r->res && i < r->nrows; i++)
        for (unsigned c = 0; c < r->ncols; c++)
            if (!PQgetisnull(r->res, i, (int)c))
                mem_wipe(PQgetvalue(r->res, i, (int)c), (size_t)PQgetlength(r->res, i, (int)c));
    pg_result_free(r);
}

int pg_query_value(struct pg *pg, const char *sql, struct buf *out, bool *found)
{
    struct pg_result *r;
    const char *const *row;
    const size_t *len;
    int rc;
    *found = false;
    buf_wipe(out);
    if ((rc = pg_query(pg, sql, &r)))
        return rc;
    if (r->ncols > 0 && pg_result_next(r, &row, &len) && row[0]) {
        rc = buf_add(out, row[0], len[0]);
        *found = rc == 0;
    }
    pg_result_free_wiped(r);
    if (rc)
        buf_wipe(out);
    return rc;
}

unsigned long long pg_affected_rows(const struct pg *pg)
{
    return pg->affected;
}

/* ---- transactions ---- */

int pg_begin(struct pg *pg)
{
    return pg_exec(pg, "BEGIN");
}

/* The commit point of the tests' fault injection (pg_hook_after, above). */
static void pg_hook_after_commit(void)
{
    pg_hook_after(1);
}

int pg_commit(struct pg *pg)
{
    PGresult *res;
    int rc;
    if (pg->in_copy)
        return err_set(ML_EINVAL, "a COPY is in progress on this connection");
    res = PQexec(pg->conn, "COMMIT");
    rc = check_result(pg, res, PGRES_COMMAND_OK, PGRES_COMMAND_OK, "commit failed");
    /* COMMIT of a transaction a failed statement aborted answers ROLLBACK */
    if (!rc && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
        snprintf(pg->sqlstate, sizeof(pg->sqlstate), "25P02");
        rc = err_set(ML_EDB, "commit failed: the server rolled the transaction back (a statement "
                             "of it had failed) (sqlstate 25P02)");
    } else if (!rc) {
        succeeded(pg, res);
    }
    PQclear(res);
    if (!rc)
        pg_hook_after_commit();
    return rc;
}

void pg_rollback(struct pg *pg)
{
    if (pg->in_copy)
        pg_copy_abort(pg, "rolled back");
    if (pg_connection_lost(pg))
        return;
    PGresult *res = PQexec(pg->conn, "ROLLBACK");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        log_debug("rollback failed: %s", PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                                             ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                                             : "no message");
    PQclear(res);
}

/* ---- COPY FROM STDIN ---- */

/* Reads every result left after a copy (the verdict, then NULL). */
static int copy_verdict(struct pg *pg, const char *what, unsigned long long *rows)
{
    PGresult *res;
    int rc = 0;
    bool seen = false;
    while ((res = PQgetResult(pg->conn)) != NULL) {
        if (!rc && !seen) {
            rc = check_result(pg, res, PGRES_COMMAND_OK, PGRES_COMMAND_OK, what);
            if (!rc) {
                succeeded(pg, res);
                if (rows)
                    *rows = pg->affected;
            }
        }
        seen = true;
        PQclear(res);
    }
    if (!rc && !seen)
        rc = fail(pg, NULL, what);
    return rc;
}

int pg_copy_begin(struct pg *pg, const char *sql)
{
    PGresult *res;
    if (pg->in_copy)
        return err_set(ML_EINVAL, "a COPY is in progress on this connection");
    res = PQexec(pg->conn, sql);
    if (res && PQresultStatus(res) == PGRES_COPY_IN) {
        PQclear(res);
        pg->in_copy = true;
        pg->sqlstate[0] = '\0';
        return 0;
    }
    if (res &&
        (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK)) {
        PQclear(res);
        return err_set(ML_EDB, "copy failed: the statement is not a COPY ... FROM STDIN");
    }
    bool copy_out = res && PQresultStatus(res) == PGRES_COPY_OUT;
    int rc = copy_out ? err_set(ML_EDB, "copy failed: the statement is not a COPY ... FROM STDIN")
                      : fail(pg, res, "copy failed");
    PQclear(res);
    if (copy_out) { /* never read: the rest of the results end it */
        char *row;
        while (PQgetCopyData(pg->conn, &row, 0) > 0)
            PQfreemem(row);
        while ((res = PQgetResult(pg->conn)) != NULL)
            PQclear(res);
    }
    return rc;
}

int pg_copy_put(struct pg *pg, const char *data, size_t len)
{
    if (!pg->in_copy)
        return err_set(ML_EINVAL, "no COPY in progress on this connection");
    while (len > 0) {
        size_t n = len < COPY_CHUNK ? len : COPY_CHUNK;
        if (PQputCopyData(pg->conn, data, (int)n) != 1) {
            int rc = fail(pg, NULL, "copy failed");
            pg->in_copy = false;
            (void)copy_verdict(pg, "copy failed", NULL);
            return rc;
        }
        data += n;
        len -= n;
    }
    return 0;
}

int pg_copy_end(struct pg *pg, unsigned long long *rows)
{
    if (!pg->in_copy)
        return err_set(ML_EINVAL, "no COPY in progress on this connection");
    pg->in_copy = false;
    if (PQputCopyEnd(pg->conn, NULL) != 1) {
        int rc = fail(pg, NULL, "copy failed");
        (void)copy_verdict(pg, "copy failed", NULL);
        return rc;
    }
    return copy_verdict(pg, "copy failed", rows);
}

void pg_copy_abort(struct pg *pg, const char *reason)
{
    if (!pg->in_copy)
        return;
    pg->in_copy = false;
    if (PQputCopyEnd(pg->conn, reason ? reason : "aborted by the client") == 1)
        (void)copy_verdict(pg, "copy aborted", NULL);
    err_clear();
}

int pg_copy_from(struct pg *pg, const char *sql, const char *data, size_t len,
                 unsigned long long *rows)
{
    int rc = pg_copy_begin(pg, sql);
    if (!rc)
        rc = pg_copy_put(pg, data, len);
    if (!rc)
        rc = pg_copy_end(pg, rows);
    return rc;
}

/* ---- accounts ---- */

int pg_set_role_password(struct pg *pg, const char *role, const char *password)
{
    struct buf sql = BUF_INIT;
    char *verifier;
    int rc;
    if (!role || !*role || !password)
        return err_set(ML_EINVAL, "a role and a password are needed");
    /* NULL algorithm: the server's password_encryption (scram-sha-256) */
    verifier = PQencryptPasswordConn(pg->conn, password, role, NULL);
    if (!verifier)
        return fail(pg, NULL, "password of a role");
    rc = buf_adds(&sql, "ALTER ROLE ");
    if (!rc)
        rc = pg_append_ident(&sql, role);
    if (!rc)
        rc = buf_adds(&sql, " PASSWORD ");
    if (!rc)
        rc = pg_append_literal(&sql, verifier, strlen(verifier));
    mem_wipe(verifier, strlen(verifier));
    PQfreemem(verifier);
    if (!rc && (rc = pg_exec(pg, sql.data)))
        err_prefix(rc, "password of role '%s'", role);
    buf_wipe(&sql);
    return rc;
}
