/* pg_driver - drives the pg module (pg.h) and the PostgreSQL dialect of
 * ddlgen against a real PostgreSQL for the integration tests.
 *
 * usage: pg_driver ddl|copy|grants|later|errors
 * The server and names come from the environment: PG_PORT (host 127.0.0.1),
 * PG_DATABASE, PG_SCHEMA; the admin is `postgres` with
 * $MASKLOAD_ADMIN_PASSWORD; the accounts are <database>_loader,
 * <database>_analyst and <database>_steward with $MASKLOAD_LOADER_PASSWORD,
 * $MASKLOAD_ANALYST_PASSWORD and $MASKLOAD_STEWARD_PASSWORD, members of the
 * roles maskload_<database>_loader, _analyst and _steward. No secret is read
 * from argv.
 *
 *   ddl     creates the schema, every built-in mapping's tables and their
 *           sensitive tables with the generated DDL, and stand-ins of
 *           load_runs and load_rejects
 *   copy    COPYs hostile values and reads them back; binds them as
 *           parameters; COPYs typed values into users_raw (after `ddl`);
 *           resolves repeated surrogate values through the run's cache;
 *           the refusals (NUL, invalid UTF-8, a bad COPY row, a value too
 *           long, an impossible date, a number too large, a commit after a
 *           failure, a statement that is not a COPY)
 *   grants  applies the generated roles and privileges and the accounts
 *   later   creates a table after the grants; the loader writes it
 *   errors  a bad password, TLS refusals, deadlock, serialization failure,
 *           lock timeout and a lost connection, each with its class
 * Prints "ok - ..." / "not ok - ..." lines; exit 0 when every check passed,
 * 1 when one failed, 2 on a usage error.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "crypto.h"
#include "ddlgen.h"
#include "error.h"
#include "pg.h"
#include "streamdef.h"
#include "surrogate_pg.h"

static int failures;

static void check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int cond, const char *fmt, ...)
{
    va_list ap;
    printf("%s - ", cond ? "ok" : "not ok");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond)
        failures++;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "pg_driver: %s is not set\n", name);
        exit(2);
    }
    return v;
}

static char account[3][100], role[3][100];
enum { LOADER, ANALYST, STEWARD };

static void names(void)
{
    static const char *const jobs[3] = {"loader", "analyst", "steward"};
    const char *db = env("PG_DATABASE");
    for (int i = 0; i < 3; i++) {
        snprintf(account[i], sizeof(account[i]), "%s_%s", db, jobs[i]);
        snprintf(role[i], sizeof(role[i]), "maskload_%s_%s", db, jobs[i]);
    }
}

static struct pg_params params(const char *user, const char *password)
{
    struct pg_params p = {0};
    p.host = "127.0.0.1";
    p.port = (unsigned)atoi(env("PG_PORT"));
    p.user = user;
    p.password = password;
    p.database = env("PG_DATABASE");
    p.schema = env("PG_SCHEMA");
    p.connect_timeout_s = 5;
    return p;
}

static struct pg *connect_as(const char *user, const char *password)
{
    struct pg_params p = params(user, password);
    struct pg *pg;
    if (pg_connect(&p, &pg)) {
        printf("not ok - connect as '%s': %s\n", user, err_msg());
        exit(1);
    }
    return pg;
}

static struct pg *admin(void)
{
    return connect_as("postgres", env("MASKLOAD_ADMIN_PASSWORD"));
}

static int exec_buf(struct pg *pg, struct buf *sql, const char *what)
{
    int rc = pg_exec(pg, sql->data);
    if (rc)
        printf("# %s: %s\n", what, err_msg());
    return rc;
}

/* ---- ddl ---- */

static int cmd_ddl(void)
{
    const struct stream_def *defs[8];
    const struct table_def **tables;
    const char **kinds;
    size_t ndefs = 0, ntables, nkinds;
    struct buf sql = BUF_INIT;
    struct pg *pg = admin();
    for (size_t i = 0; streamdef_builtin_names[i]; i++) {
        const struct stream_def *d = streamdef_builtin(streamdef_builtin_names[i]);
        check(d != NULL, "a built-in mapping parses");
        if (d && ndefs < 8)
            defs[ndefs++] = d;
    }
    check(ddlgen_pg_schema(&sql, env("PG_SCHEMA")) == 0 && exec_buf(pg, &sql, "schema") == 0,
          "CREATE SCHEMA");
    check(ddlgen_stream_tables(defs, ndefs, &tables, &ntables) == 0 && ntables >= 4,
          "the built-in mappings' tables are listed");
    for (size_t i = 0; i < ntables; i++) {
        buf_reset(&sql);
        int rc = ddlgen_create_table(&sql, tables[i], DB_DIALECT_POSTGRES);
        if (!rc)
            rc = exec_buf(pg, &sql, tables[i]->name);
        check(rc == 0, "CREATE TABLE %s (generated PostgreSQL DDL)", tables[i]->name);
        /* a second time: IF NOT EXISTS, nothing changes */
        if (!rc)
            check(exec_buf(pg, &sql, tables[i]->name) == 0, "CREATE TABLE %s again is a no-op",
                  tables[i]->name);
    }
    free(tables);
    check(ddlgen_surrogate_kinds(defs, ndefs, &kinds, &nkinds) == 0 && nkinds >= 3,
          "the built-in mappings' surrogate kinds are listed");
    for (size_t i = 0; i < nkinds; i++) {
        buf_reset(&sql);
        int rc = ddlgen_sensitive_table(&sql, kinds[i], DB_DIALECT_POSTGRES);
        if (!rc)
            rc = exec_buf(pg, &sql, kinds[i]);
        check(rc == 0, "CREATE TABLE sensitive_%s_ids", kinds[i]);
    }
    free(kinds);
    /* stand-ins of the run audit tables: the analyst may read load_runs,
     * never load_rejects */
    check(pg_exec(pg, "CREATE TABLE IF NOT EXISTS load_runs (run_id bigint GENERATED ALWAYS AS "
                      "IDENTITY PRIMARY KEY, started_at timestamp(3) NOT NULL, status "
                      "varchar(16) NOT NULL);"
                      "CREATE TABLE IF NOT EXISTS load_rejects (reject_id bigint GENERATED "
                      "ALWAYS AS IDENTITY PRIMARY KEY, run_id bigint NOT NULL, reason "
                      "varchar(2048) NOT NULL, payload text)") == 0,
          "stand-ins of load_runs and load_rejects");
    /* a surrogate: the digest must be 32 bytes, unique */
    check(pg_exec(pg, "INSERT INTO sensitive_city_ids (digest, value, first_seen_at) VALUES "
                      "(decode(repeat('ab', 32), 'hex'), 'Berlin', now())") == 0,
          "a sensitive row with a 32-byte digest");
    check(pg_exec(pg, "INSERT INTO sensitive_city_ids (digest, value, first_seen_at) VALUES "
                      "(decode(repeat('ab', 32), 'hex'), 'Bonn', now())") != 0 &&
              strcmp(pg_sqlstate(pg), "23505") == 0,
          "the same digest twice is refused (unique, 23505)");
    check(pg_exec(pg, "INSERT INTO sensitive_city_ids (digest, value, first_seen_at) VALUES "
                      "(decode('abcd', 'hex'), 'Köln', now())") != 0 &&
              strcmp(pg_sqlstate(pg), "23514") == 0,
          "a digest of 2 bytes is refused (check, 23514)");
    check(pg_exec(pg, "INSERT INTO sensitive_city_ids (id, digest, value, first_seen_at) VALUES "
                      "(7, decode(repeat('cd', 32), 'hex'), 'Köln', now())") != 0,
          "an id chosen by the client is refused (identity ALWAYS)");
    check(strstr(err_msg(), "Köln") == NULL && strstr(err_msg(), "INSERT") == NULL,
          "the error names neither the value nor the statement");
    buf_release(&sql);
    pg_close(pg);
    return failures ? 1 : 0;
}

/* ---- copy ---- */

struct hostile {
    const char *v;
    size_t len;
};

/* Surrogates through the run's cache (surrogate_pg.h), in the city table
 * of `ddl`: a value the batch repeats is sent once and takes the id of its
 * first appearance; new ids follow first appearance; another cache reads
 * the same ids and creates none. The rows are deleted after. */
static void check_cached_surrogates(struct pg *pg)
{
    static const unsigned char key[32] = {7, 1, 7};
    const char *vals[6] = {"drv-a", "drv-b", "drv-a", "drv-c", "drv-b", "drv-a"};
    size_t lens[6];
    unsigned long long ids[6] = {0}, again[6] = {0}, created = 0, created2 = 0;
    unsigned long long lookups = 0, hits = 0;
    struct crypto_mac *mac = NULL;
    struct surrogate_pg_cache *cache = NULL, *other = NULL;
    size_t mapped = 0;
    for (size_t i = 0; i < 6; i++)
        lens[i] = strlen(vals[i]);
    check(crypto_mac_new(key, sizeof(key), &mac) == 0 && surrogate_pg_cache_new(100, &cache) == 0 &&
              surrogate_pg_cache_new(100, &other) == 0,
          "a digest key and two surrogate caches");
    check(surrogate_pg_resolve_cached(cache, mac, pg, "city", vals, lens, 6, ids, &created) == 0,
          "six city values, three of them distinct, resolved through a cache");
    check(created == 3, "three surrogates created (%llu)", created);
    check(ids[0] && ids[1] && ids[3] && ids[0] == ids[2] && ids[0] == ids[5] && ids[1] == ids[4],
          "a repeated value takes the id of its first appearance");
    check(ids[0] < ids[1] && ids[1] < ids[3], "new ids in the order of first appearance");
    surrogate_pg_cache_stats(cache, &lookups, &hits);
    check(lookups == 6 && hits == 0, "six lookups, no hit in an empty cache (%llu, %llu)", lookups,
          hits);
    {
        int rc =
            surrogate_pg_resolve_cached(other, mac, pg, "city", vals, lens, 6, again, &created2);
        check(rc == 0 && created2 == 0 && memcmp(ids, again, sizeof(ids)) == 0,
              "another cache reads the same ids and creates none");
    }
    for (size_t i = 0; i < 6; i++) {
        char id[24];
        const char *p[1] = {id};
        struct pg_result *r = NULL;
        const char *const *row;
        const size_t *len;
        snprintf(id, sizeof(id), "%llu", ids[i]);
        if (pg_query_params(pg, "SELECT value FROM sensitive_city_ids WHERE id = $1::bigint", 1, p,
                            NULL, &r) == 0 &&
            pg_result_next(r, &row, &len) == 1 && row[0] && strcmp(row[0], vals[i]) == 0)
            mapped++;
        pg_result_free(r);
    }
    check(mapped == 6, "every id maps to its own value");
    check(pg_exec(pg, "DELETE FROM sensitive_city_ids WHERE value LIKE 'drv-%'") == 0,
          "the check's surrogates deleted");
    surrogate_pg_cache_free(cache);
    surrogate_pg_cache_free(other);
    crypto_mac_free(mac);
}

static int cmd_copy(void)
{
    static char long_value[9000];
    const struct hostile values[] = {
        {"tab\there", 0},
        {"new\nline", 0},
        {"carriage\rreturn", 0},
        {"back\\slash \\N \\t \\\\", 0},
        {"\\.", 0},
        {"quote ' and \" double", 0},
        {"'); DROP TABLE hostile; --", 0},
        {"UTF-8: M\xc3\xbcller \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89", 0},
        {"", 0},
        {NULL, 0},
        {"ends in a backslash\\", 0},
        {"\x01\x02 control \x1b[0m", 0},
        {long_value, 0},
    };
    const size_t n = sizeof(values) / sizeof(values[0]);
    struct buf data = BUF_INIT;
    struct pg *pg = admin();
    struct pg_result *r;
    unsigned long long rows = 0;
    const char *const *row;
    const size_t *len;
    size_t seen = 0, equal = 0;
    memset(long_value, 'x', sizeof(long_value) - 1);
    long_value[100] = '\t';
    long_value[5000] = '\n';
    /* the session's fixed settings hold whatever the database's defaults
     * (the test sets bytea_output escape on the database beforehand) */
    {
        struct buf v = BUF_INIT;
        bool found = false;
        int rc = pg_query_value(pg,
                                "SELECT current_setting('bytea_output') || ' ' || "
                                "'\\x01ff'::bytea::text || ' ' || current_setting('DateStyle')",
                                &v, &found);
        check(rc == 0 && found && strcmp(v.data, "hex \\x01ff ISO, YMD") == 0,
              "the session reads a bytea as hex and dates as ISO (%s)", found ? v.data : "none");
        buf_release(&v);
    }

    check(pg_exec(pg, "DROP TABLE IF EXISTS hostile; CREATE TABLE hostile (id integer PRIMARY "
                      "KEY, v text NULL)") == 0,
          "a table for hostile values");
    for (size_t i = 0; i < n; i++) {
        int rc = buf_addf(&data, "%zu\t", i);
        if (!rc)
            rc = pg_copy_append_field(&data, values[i].v, values[i].v ? strlen(values[i].v) : 0);
        if (!rc)
            rc = buf_addc(&data, '\n');
        if (rc)
            check(0, "a COPY row is written");
    }
    check(pg_copy_from(pg, "COPY hostile (id, v) FROM STDIN", data.data, data.len, &rows) == 0,
          "COPY FROM STDIN of the hostile values");
    check(rows == n, "COPY reports every row");
    check(pg_query(pg, "SELECT id, v FROM hostile ORDER BY id", &r) == 0, "read them back");
    while (r && pg_result_next(r, &row, &len)) {
        size_t i = (size_t)atoi(row[0]);
        seen++;
        if (i < n && (values[i].v ? row[1] && len[1] == strlen(values[i].v) &&
                                        memcmp(row[1], values[i].v, len[1]) == 0
                                  : row[1] == NULL))
            equal++;
        else
            printf("# row %zu differs\n", i);
    }
    pg_result_free(r);
    check(seen == n && equal == n, "every value reads back byte for byte (NULL as NULL)");

    /* the same values as one text[] parameter (the surrogates' statement):
     * every element reads back byte for byte, in its place */
    buf_reset(&data);
    {
        int rc = buf_addc(&data, '{');
        size_t m = 0;
        for (size_t i = 0; !rc && i < n; i++)
            if (values[i].v) {
                rc = pg_array_append_element(&data, values[i].v, strlen(values[i].v));
                m++;
            }
        if (!rc)
            rc = buf_addc(&data, '}');
        check(rc == 0, "a text[] of the hostile values is written");
        const char *arr[1] = {data.data};
        seen = equal = 0;
        check(pg_query_params(pg, "SELECT u.ord, u.v FROM unnest($1::text[]) WITH ORDINALITY "
                                  "AS u(v, ord) ORDER BY u.ord",
                              1, arr, NULL, &r) == 0,
              "the text[] is bound and unnested");
        for (size_t i = 0; r && i < n; i++) {
            if (!values[i].v)
                continue;
            if (pg_result_next(r, &row, &len) != 1)
                break;
            seen++;
            if (row[1] && len[1] == strlen(values[i].v) && memcmp(row[1], values[i].v, len[1]) == 0)
                equal++;
            else
                printf("# element of value %zu differs\n", i);
        }
        pg_result_free(r);
        check(seen == m && equal == m, "every text[] element reads back byte for byte");
        buf_reset(&data);
        check(pg_array_append_element(&data, "a\0b", 3) == ML_EINVAL && data.len == 0,
              "a NUL byte is refused by the array writer, the buffer unchanged");
    }

    /* NUL: refused before anything is sent */
    buf_reset(&data);
    check(pg_copy_append_field(&data, "a\0b", 3) == ML_EINVAL && data.len == 0,
          "a NUL byte is refused by the COPY writer, the buffer unchanged");
    {
        const char *vals[2] = {"99", "a\0b"};
        size_t lens[2] = {2, 3};
        check(pg_exec_params(pg, "INSERT INTO hostile (id, v) VALUES ($1, $2)", 2, vals, lens) ==
                  ML_EINVAL,
              "a NUL byte is refused as a bound parameter");
        check(pg_append_literal(&data, "a\0b", 3) == ML_EINVAL,
              "a NUL byte is refused in a literal");
    }
    /* invalid UTF-8: refused by the server, the message quotes no value */
    buf_reset(&data);
    buf_adds(&data, "100\tbad \xff\xfe secret-value\n");
    check(pg_copy_from(pg, "COPY hostile (id, v) FROM STDIN", data.data, data.len, NULL) != 0 &&
              strcmp(pg_sqlstate(pg), "22021") == 0 && pg_error_class(pg) == DB_ERR_FATAL,
          "invalid UTF-8 is refused (22021, fatal)");
    check(strstr(err_msg(), "secret-value") == NULL && strstr(err_msg(), "COPY") == NULL,
          "its message names neither the row nor the statement");
    printf("# message: %s\n", err_msg());
    /* a bad row: the whole COPY is refused, nothing kept */
    buf_reset(&data);
    buf_adds(&data, "200\tfine\n201\n");
    check(pg_copy_from(pg, "COPY hostile (id, v) FROM STDIN", data.data, data.len, NULL) != 0 &&
              strcmp(pg_sqlstate(pg), "22P04") == 0,
          "a row with a missing column fails the COPY (22P04)");
    {
        struct buf v = BUF_INIT;
        bool found;
        check(pg_query_value(pg, "SELECT count(*) FROM hostile WHERE id >= 100", &v, &found) == 0 &&
                  found && strcmp(v.data, "0") == 0,
              "nothing of a refused COPY is kept; the connection still works");
        buf_release(&v);
    }
    check(pg_copy_from(pg, "SELECT 1", "", 0, NULL) != 0,
          "a statement that is not a COPY is refused");
    check(pg_exec(pg, "SELECT 1") == 0, "the connection is usable after it");
    /* COPY inside a transaction, aborted: nothing kept */
    check(pg_begin(pg) == 0 && pg_copy_begin(pg, "COPY hostile (id, v) FROM STDIN") == 0 &&
              pg_copy_put(pg, "300\tx\n", 6) == 0,
          "a COPY begun in a transaction");
    pg_copy_abort(pg, "test abort");
    pg_rollback(pg);
    {
        struct buf v = BUF_INIT;
        bool found;
        check(pg_query_value(pg, "SELECT count(*) FROM hostile WHERE id = 300", &v, &found) == 0 &&
                  strcmp(v.data, "0") == 0,
              "an aborted COPY keeps nothing");
        buf_release(&v);
    }

    /* bound parameters: the same values through PQexecParams */
    for (size_t i = 0; i < n; i++) {
        char id[24];
        const char *vals[2] = {id, values[i].v};
        snprintf(id, sizeof(id), "%zu", 1000 + i);
        if (pg_exec_params(pg, "INSERT INTO hostile (id, v) VALUES ($1, $2)", 2, vals, NULL)) {
            printf("# insert %zu: %s\n", i, err_msg());
            check(0, "a bound insert");
        }
    }
    equal = 0;
    for (size_t i = 0; i < n; i++) {
        const char *vals[1] = {values[i].v};
        int rc = values[i].v
                     ? pg_query_params(pg, "SELECT id FROM hostile WHERE v = $1 ORDER BY id", 1,
                                       vals, NULL, &r)
                     : pg_query(pg, "SELECT id FROM hostile WHERE v IS NULL ORDER BY id", &r);
        if (!rc && pg_result_rows(r) == 2 && pg_result_next(r, &row, &len) &&
            (size_t)atoi(row[0]) == i && pg_result_next(r, &row, &len) &&
            (size_t)atoi(row[0]) == 1000 + i)
            equal++;
        pg_result_free(r);
        r = NULL;
    }
    check(equal == n, "every bound value equals its COPYed twin (and only it)");
    {
        struct buf v = BUF_INIT;
        bool found;
        const char *vals[1] = {"'); DROP TABLE hostile; --"};
        check(pg_query_params(pg, "SELECT count(*) FROM hostile WHERE v = $1", 1, vals, NULL, &r) ==
                      0 &&
                  pg_result_next(r, &row, &len) && strcmp(row[0], "2") == 0,
              "an injection attempt bound as a parameter is only data");
        pg_result_free(r);
        check(pg_query_value(pg, "SELECT to_regclass('hostile') IS NOT NULL", &v, &found) == 0 &&
                  strcmp(v.data, "t") == 0,
              "the table is still there");
        buf_release(&v);
    }
    /* commit after a failed statement answers ROLLBACK: an error */
    check(pg_begin(pg) == 0, "BEGIN");
    check(pg_exec(pg, "INSERT INTO hostile (id, v) VALUES (1, 'duplicate key')") != 0 &&
              strcmp(pg_sqlstate(pg), "23505") == 0,
          "a duplicate key fails (23505)");
    check(strstr(err_msg(), "duplicate key") != NULL && strstr(err_msg(), "(id)=(1)") == NULL,
          "the message is the server's primary one, without the DETAIL quoting the key");
    check(pg_commit(pg) != 0 && strcmp(pg_sqlstate(pg), "25P02") == 0,
          "COMMIT of the failed transaction is reported as a failure");
    check(pg_exec(pg, "SELECT 1") == 0 && pg_affected_rows(pg) == 1, "the session goes on");
    check(pg_exec(pg, "SET search_path = maskload") == 0 && pg_affected_rows(pg) == 0,
          "a statement without rows counts none");
    /* typed columns of a built-in mapping's table (created by `ddl`) */
    {
        static const char typed[] =
            "1\t2024-02-29 23:59:59.999\tC\xc3\xb4te d'Ivoire\\t\\\\\tf\tt\t123456789012.34\t"
            "1999-12-31\t7\t2024-03-01 00:00:00\n"
            "2\t1970-01-01 00:00:00.001\tnew\\nline\t\\N\t\\N\t-0.01\t\\N\t7\t2024-03-01 "
            "00:00:00\n";
        static const char *const want[2][7] = {
            {"1", "2024-02-29 23:59:59.999", "C\xc3\xb4te d'Ivoire\t\\", "f", "t",
             "123456789012.34", "1999-12-31"},
            {"2", "1970-01-01 00:00:00.001", "new\nline", NULL, NULL, "-0.01", NULL},
        };
        const char *copy = "COPY users_raw (user_id, created_at, country, gender, is_smoking, "
                           "income, birth_date, load_run_id, loaded_at) FROM STDIN";
        size_t same = 0, k = 0;
        check(pg_copy_from(pg, copy, typed, sizeof(typed) - 1, &rows) == 0 && rows == 2,
              "COPY into users_raw (timestamp(3), varchar, boolean, numeric, date)");
        check(pg_query(pg,
                       "SELECT user_id, created_at, country, gender, is_smoking, income, "
                       "birth_date FROM users_raw ORDER BY user_id",
                       &r) == 0,
              "read users_raw back");
        while (r && k < 2 && pg_result_next(r, &row, &len)) {
            size_t c = 0;
            while (c < 7 && (want[k][c] ? row[c] && strcmp(row[c], want[k][c]) == 0 : !row[c]))
                c++;
            same += c == 7;
            if (c < 7)
                printf("# users_raw row %zu column %zu: [%s]\n", k, c, row[c] ? row[c] : "NULL");
            k++;
        }
        pg_result_free(r);
        r = NULL;
        check(same == 2, "every typed value reads back as written (milliseconds, UTF-8, NULLs)");
        check(pg_copy_from(
                  pg, copy,
                  "3\t2024-01-01 00:00:00\tx\tabcdefghijabcdefghijabcdefghijabc\tt\t1\t"
                  "2000-01-01\t7\t2024-01-01 00:00:00\n",
                  strlen("3\t2024-01-01 00:00:00\tx\tabcdefghijabcdefghijabcdefghijabc\tt\t1\t"
                         "2000-01-01\t7\t2024-01-01 00:00:00\n"),
                  NULL) != 0 &&
                  strcmp(pg_sqlstate(pg), "22001") == 0,
              "a value longer than varchar(32) is refused, not cut (22001)");
        check(pg_copy_from(pg, copy, "4\t2024-02-30 00:00:00\tx\tg\tt\t1\t\\N\t7\t2024-01-01\n",
                           strlen("4\t2024-02-30 00:00:00\tx\tg\tt\t1\t\\N\t7\t2024-01-01\n"),
                           NULL) != 0 &&
                  strcmp(pg_sqlstate(pg), "22008") == 0,
              "an impossible timestamp is refused (22008)");
        check(pg_copy_from(
                  pg, copy, "5\t2024-01-01\tx\tg\tt\t123456789012345.1\t\\N\t7\t2024-01-01\n",
                  strlen("5\t2024-01-01\tx\tg\tt\t123456789012345.1\t\\N\t7\t2024-01-01\n"),
                  NULL) != 0 &&
                  strcmp(pg_sqlstate(pg), "22003") == 0,
              "a number too large for numeric(14,2) is refused (22003)");
    }
    /* a data exception quotes the value in its primary message: left out */
    check(pg_exec(pg, "SELECT 'secret-abc'::integer") != 0 && strcmp(pg_sqlstate(pg), "22P02") == 0,
          "a value that is no integer is refused (22P02)");
    check(strstr(err_msg(), "secret-abc") == NULL &&
              strstr(err_msg(), "invalid input syntax for type integer (value not shown)") != NULL,
          "its message says what failed, without the value");
    printf("# message: %s\n", err_msg());
    /* literal and identifier quoting */
    buf_reset(&data);
    buf_adds(&data, "SELECT ");
    pg_append_literal(&data, "it's a \\ test", strlen("it's a \\ test"));
    buf_adds(&data, " AS ");
    pg_append_ident(&data, "we\"ird");
    {
        check(pg_query(pg, data.data, &r) == 0 && pg_result_next(r, &row, &len) &&
                  strcmp(row[0], "it's a \\ test") == 0 &&
                  strcmp(pg_result_column_name(r, 0), "we\"ird") == 0,
              "a quoted literal and identifier round-trip");
        pg_result_free(r);
    }
    buf_release(&data);
    check_cached_surrogates(pg);
    pg_close(pg);
    return failures ? 1 : 0;
}

/* ---- grants ---- */

static int cmd_grants(void)
{
    const struct stream_def *defs[8];
    size_t ndefs = 0;
    struct buf sql = BUF_INIT;
    struct pg *pg = admin();
    const char *analyst_extra[] = {"load_runs"};
    const char *steward_extra[] = {"load_rejects"};
    static const char *const pw_vars[3] = {"MASKLOAD_LOADER_PASSWORD", "MASKLOAD_ANALYST_PASSWORD",
                                           "MASKLOAD_STEWARD_PASSWORD"};
    struct ddlgen_pg_access a = {0};
    names();
    for (size_t i = 0; streamdef_builtin_names[i] && ndefs < 8; i++)
        defs[ndefs++] = streamdef_builtin(streamdef_builtin_names[i]);
    a.database = env("PG_DATABASE");
    a.schema = env("PG_SCHEMA");
    a.loader = role[LOADER];
    a.analyst = role[ANALYST];
    a.steward = role[STEWARD];
    a.analyst_tables = analyst_extra;
    a.nanalyst = 1;
    a.steward_tables = steward_extra;
    a.nsteward = 1;
    check(ddlgen_pg_access(&sql, defs, ndefs, &a) == 0 && exec_buf(pg, &sql, "access") == 0,
          "the generated roles and privileges apply");
    check(exec_buf(pg, &sql, "access again") == 0, "and apply again (idempotent)");
    for (int i = 0; i < 3; i++) {
        buf_reset(&sql);
        int rc = ddlgen_pg_account(&sql, account[i], role[i], a.schema);
        if (!rc)
            rc = exec_buf(pg, &sql, account[i]);
        if (!rc)
            rc = pg_set_role_password(pg, account[i], env(pw_vars[i]));
        check(rc == 0, "account %s in role %s with its password", account[i], role[i]);
    }
    {
        /* the analyst may not be given the restricted tables */
        const char *bad[] = {"sensitive_city_ids"};
        struct buf x = BUF_INIT;
        a.analyst_tables = bad;
        check(ddlgen_pg_access(&x, defs, ndefs, &a) == ML_EINVAL && x.len == 0,
              "a sensitive table on the analyst's list is refused");
        buf_release(&x);
    }
    /* the server keeps only a verifier, never the password */
    {
        struct buf v = BUF_INIT;
        bool found;
        buf_reset(&sql);
        buf_adds(&sql, "SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = ");
        pg_append_literal(&sql, account[ANALYST], strlen(account[ANALYST]));
        check(pg_query_value(pg, sql.data, &v, &found) == 0 && found &&
                  strcmp(v.data, "SCRAM-SHA-256$") == 0,
              "the analyst's password is stored as a SCRAM verifier");
        buf_release(&v);
    }
    buf_release(&sql);
    pg_close(pg);
    return failures ? 1 : 0;
}

/* ---- later ---- */

static int cmd_later(void)
{
    struct pg *pg = admin(), *loader;
    names();
    check(pg_exec(pg, "CREATE TABLE IF NOT EXISTS later_table (id integer PRIMARY KEY, note "
                      "text)") == 0,
          "a table created after the grants (by the admin)");
    pg_close(pg);
    loader = connect_as(account[LOADER], env("MASKLOAD_LOADER_PASSWORD"));
    check(pg_exec(loader, "INSERT INTO later_table VALUES (1, 'by the loader') ON CONFLICT DO "
                          "NOTHING") == 0,
          "the loader writes it (default privileges)");
    check(pg_exec(loader, "CREATE TABLE loader_made (id integer)") != 0 &&
              strcmp(pg_sqlstate(loader), "42501") == 0,
          "the loader cannot create tables in the schema (42501)");
    check(pg_exec(loader, "CREATE TEMP TABLE staging (id integer)") == 0,
          "the loader can create a temporary (staging) table");
    pg_close(loader);
    return failures ? 1 : 0;
}

/* ---- errors ---- */

struct deadlock_side {
    struct pg *pg;
    int first, second; /* rows to lock, in that order */
    pthread_barrier_t *barrier;
    int rc;
    char sqlstate[6];
    enum db_err_class cls;
};

static void *deadlock_run(void *arg)
{
    struct deadlock_side *s = arg;
    char sql[96];
    int rc = pg_begin(s->pg);
    snprintf(sql, sizeof(sql), "UPDATE contended SET n = n + 1 WHERE id = %d", s->first);
    if (!rc)
        rc = pg_exec(s->pg, sql);
    pthread_barrier_wait(s->barrier); /* both hold their first row */
    snprintf(sql, sizeof(sql), "UPDATE contended SET n = n + 1 WHERE id = %d", s->second);
    if (!rc)
        rc = pg_exec(s->pg, sql);
    s->rc = rc;
    snprintf(s->sqlstate, sizeof(s->sqlstate), "%s", pg_sqlstate(s->pg));
    s->cls = rc ? pg_error_class(s->pg) : DB_ERR_FATAL;
    if (rc)
        pg_rollback(s->pg);
    else
        rc = pg_commit(s->pg);
    return NULL;
}

static int cmd_errors(void)
{
    struct pg *a = admin(), *b = admin(), *pg;
    struct pg_params p;
    char where[64];
    names();
    snprintf(where, sizeof(where), "127.0.0.1:%s", env("PG_PORT"));

    /* a bad password: the message names host:port and the user, not the password */
    p = params(account[ANALYST], "wrong-password-7f3a");
    check(pg_connect(&p, &pg) == ML_EDB, "a bad password fails the connection");
    printf("# message: %s\n", err_msg());
    check(strstr(err_msg(), where) != NULL && strstr(err_msg(), account[ANALYST]) != NULL,
          "its message names host:port and the user");
    check(strstr(err_msg(), "wrong-password-7f3a") == NULL, "and not the password");
    check(strstr(err_msg(), "password authentication failed") != NULL,
          "and says what the server refused");
    /* TLS: the verify modes need a CA */
    p = params("postgres", env("MASKLOAD_ADMIN_PASSWORD"));
    p.tls_mode = 2;
    check(pg_connect(&p, &pg) == ML_EINVAL, "tls verify_ca without a CA file is refused");
    p.tls_mode = 1;
    p.tls_cert = "/nonexistent.crt";
    check(pg_connect(&p, &pg) == ML_EINVAL, "a client certificate without its key is refused");
    p.tls_cert = NULL;
    if (!getenv("PG_TLS_CA")) {
        /* the server serves no TLS (no openssl to make its certificate) */
        check(pg_connect(&p, &pg) == ML_EDB && strstr(err_msg(), "SSL") != NULL,
              "tls required against a server without TLS fails (sslmode=require)");
        printf("# message: %s\n", err_msg());
    } else {
        const char *proto;
        check(pg_connect(&p, &pg) == 0 && (proto = pg_tls_protocol(pg)) != NULL &&
                  strncmp(proto, "TLS", 3) == 0,
              "tls required: the session is encrypted (sslmode=require)");
        pg_close(pg);
        p.tls_mode = 0;
        check(pg_connect(&p, &pg) == 0 && pg_tls_protocol(pg) == NULL,
              "tls off: the session is not encrypted (sslmode=disable)");
        pg_close(pg);
        p.tls_mode = 2;
        p.tls_ca = env("PG_TLS_CA");
        check(pg_connect(&p, &pg) == 0 && pg_tls_protocol(pg) != NULL,
              "tls verify_ca with the server's CA connects (sslmode=verify-ca)");
        pg_close(pg);
        p.tls_ca = env("PG_TLS_WRONG_CA");
        check(pg_connect(&p, &pg) == ML_EDB && strstr(err_msg(), "certificate verify failed"),
              "tls verify_ca with another CA is refused");
        printf("# message: %s\n", err_msg());
        p.tls_mode = 3;
        p.tls_ca = env("PG_TLS_CA");
        check(pg_connect(&p, &pg) == ML_EDB && strstr(err_msg(), "does not match host name"),
              "tls verify_identity refuses a certificate for another name (sslmode=verify-full)");
        printf("# message: %s\n", err_msg());
        p.host = "localhost";
        check(pg_connect(&p, &pg) == 0 && pg_tls_protocol(pg) != NULL,
              "tls verify_identity connects to the name the certificate holds");
        pg_close(pg);
        p.host = "127.0.0.1";
    }
    check(strcmp(pg_sslmode(0), "disable") == 0 && strcmp(pg_sslmode(1), "require") == 0 &&
              strcmp(pg_sslmode(2), "verify-ca") == 0 &&
              strcmp(pg_sslmode(3), "verify-full") == 0 && pg_sslmode(4) == NULL,
          "tls modes map to disable, require, verify-ca, verify-full");

    check(pg_exec(a, "DROP TABLE IF EXISTS contended; CREATE TABLE contended (id integer PRIMARY "
                     "KEY, n integer NOT NULL); INSERT INTO contended VALUES (1, 0), (2, 0)") == 0,
          "a table to contend for");

    /* deadlock: two sessions lock rows 1,2 and 2,1 */
    {
        pthread_barrier_t barrier;
        struct deadlock_side s1 = {a, 1, 2, &barrier, 0, "", DB_ERR_FATAL};
        struct deadlock_side s2 = {b, 2, 1, &barrier, 0, "", DB_ERR_FATAL};
        pthread_t t1, t2;
        pthread_barrier_init(&barrier, NULL, 2);
        pthread_create(&t1, NULL, deadlock_run, &s1);
        pthread_create(&t2, NULL, deadlock_run, &s2);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        pthread_barrier_destroy(&barrier);
        struct deadlock_side *victim = s1.rc ? &s1 : &s2, *other = s1.rc ? &s2 : &s1;
        check((s1.rc != 0) != (s2.rc != 0), "a deadlock fails exactly one of two sessions");
        check(strcmp(victim->sqlstate, "40P01") == 0 && victim->cls == DB_ERR_RETRY_TX,
              "the deadlock is 40P01, classified retry");
        check(other->rc == 0, "the other session's transaction goes through");
    }
    /* serialization failure: a repeatable-read snapshot updating a row
     * another session changed since */
    check(pg_exec(a, "BEGIN ISOLATION LEVEL REPEATABLE READ") == 0 &&
              pg_exec(a, "SELECT n FROM contended WHERE id = 1") == 0,
          "a repeatable-read snapshot");
    check(pg_exec(b, "UPDATE contended SET n = n + 10 WHERE id = 1") == 0,
          "another session changes a row of it");
    check(pg_exec(a, "UPDATE contended SET n = n + 1 WHERE id = 1") != 0 &&
              strcmp(pg_sqlstate(a), "40001") == 0 && pg_error_class(a) == DB_ERR_RETRY_TX,
          "updating it is a serialization failure (40001), classified retry");
    pg_rollback(a);
    /* lock timeout: a session with lock_timeout 1 s waits for a held row */
    {
        struct pg *c;
        struct timespec t0, t1;
        p = params("postgres", env("MASKLOAD_ADMIN_PASSWORD"));
        p.lock_timeout_s = 1;
        check(pg_connect(&p, &c) == 0, "a session with lock_timeout 1 s");
        check(pg_begin(a) == 0 && pg_exec(a, "UPDATE contended SET n = n + 1 WHERE id = 2") == 0,
              "another holds a row");
        clock_gettime(CLOCK_MONOTONIC, &t0);
        check(pg_exec(c, "UPDATE contended SET n = n + 1 WHERE id = 2") != 0 &&
                  strcmp(pg_sqlstate(c), "55P03") == 0 && pg_error_class(c) == DB_ERR_RETRY_TX,
              "waiting for it ends in lock_not_available (55P03), classified retry");
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("# waited %.2f s\n", waited);
        check(waited >= 0.9 && waited < 10, "after about the lock_timeout");
        pg_rollback(a);
        pg_close(c);
    }
    /* a lost connection: the admin ends the session */
    {
        struct buf pid = BUF_INIT, sql = BUF_INIT;
        bool found;
        check(pg_query_value(b, "SELECT pg_backend_pid()", &pid, &found) == 0 && found,
              "the session's server process");
        buf_addf(&sql, "SELECT pg_terminate_backend(%s)", pid.data);
        check(pg_exec(a, sql.data) == 0, "the admin terminates it");
        int rc = pg_exec(b, "SELECT 1");
        check(rc == ML_EDB && pg_error_class(b) == DB_ERR_LOST && pg_connection_lost(b),
              "the next statement fails, classified connection lost");
        printf("# message: %s\n", err_msg());
        buf_release(&pid);
        buf_release(&sql);
    }
    /* a statement error is fatal, the session is not lost */
    check(pg_exec(a, "SELECT * FROM no_such_table") != 0 && strcmp(pg_sqlstate(a), "42P01") == 0 &&
              pg_error_class(a) == DB_ERR_FATAL && !pg_connection_lost(a),
          "an unknown table is 42P01, fatal, the session alive");
    check(strstr(err_msg(), "no_such_table") != NULL && strstr(err_msg(), "SELECT") == NULL,
          "the message is the server's, not the SQL text");
    pg_close(a);
    pg_close(b);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pg_driver ddl|copy|grants|later|errors\n");
        return 2;
    }
    if (strcmp(argv[1], "ddl") == 0)
        return cmd_ddl();
    if (strcmp(argv[1], "copy") == 0)
        return cmd_copy();
    if (strcmp(argv[1], "grants") == 0)
        return cmd_grants();
    if (strcmp(argv[1], "later") == 0)
        return cmd_later();
    if (strcmp(argv[1], "errors") == 0)
        return cmd_errors();
    fprintf(stderr, "pg_driver: unknown command '%s'\n", argv[1]);
    return 2;
}
