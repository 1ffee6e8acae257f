/* pii_scan - reads every table and view an account can see in a database and
 * reports any cell that holds a PII value of the fixture.
 *
 * usage: pii_scan -P PORT -u USER -D DB -f FIXTURE_DIR [-k postgres [-S SCHEMA]]
 *        (password from $PII_SCAN_PASSWORD)
 * -k postgres scans a PostgreSQL database instead of a MySQL one: every
 * table and view of SCHEMA (default maskload) the account may SELECT.
 * PII values: users' firstName, lastName, address, city, zipCode, email,
 * birthDate (as sent and as a date), profile.profession; messages' message.
 * Values of 6 or more bytes match as substrings, shorter ones only as whole
 * cells. Exit 0: nothing found (and at least one table scanned); 1: PII found;
 * 2: usage or connection error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "pg.h"

struct pii_value {
    char *value;
    const char *field;
};

static struct pii_value values[4096];
static size_t nvalues;

static void add_value(const char *field, const char *v)
{
    if (!v || !*v || nvalues == sizeof(values) / sizeof(values[0]))
        return;
    values[nvalues].value = strdup(v);
    values[nvalues].field = field;
    nvalues++;
}

static int read_file(const char *path, struct buf *out)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;
    if (!f)
        return -1;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(out, chunk, n);
    fclose(f);
    return 0;
}

static int collect(const char *dir, const char *file, const char *const *paths, size_t npaths)
{
    char path[4096];
    struct buf text = BUF_INIT;
    json_doc *doc;
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (read_file(path, &text) || json_parse(text.data, text.len, &doc)) {
        fprintf(stderr, "pii_scan: cannot read %s\n", path);
        return -1;
    }
    for (const json_node *rec = json_child(json_root(doc)); rec; rec = json_next(rec)) {
        for (size_t i = 0; i < npaths; i++) {
            const char *s = json_string(json_path(rec, paths[i]));
            add_value(paths[i], s);
            if (s && strcmp(paths[i], "birthDate") == 0 && strlen(s) >= 10) {
                char date[11];
                memcpy(date, s, 10);
                date[10] = '\0';
                add_value("birthDate (date)", date);
            }
        }
    }
    json_free(doc);
    buf_release(&text);
    return 0;
}

static const struct pii_value *match(const char *cell, unsigned long len)
{
    for (size_t i = 0; i < nvalues; i++) {
        size_t vl = strlen(values[i].value);
        if (vl >= 6 ? memmem(cell, len, values[i].value, vl) != NULL
                    : (vl == len && memcmp(cell, values[i].value, vl) == 0))
            return &values[i];
    }
    return NULL;
}

/* The MySQL scan: every table and view of `database` the account may read. */
static int scan_mysql(const char *port, const char *user, const char *database, size_t *tables,
                      size_t *cells, int *found)
{
    struct db *db;
    struct db_result *list;
    const char *const *row;
    struct db_params p = {.host = "127.0.0.1",
                          .port = (unsigned)atoi(port),
                          .user = user,
                          .password = getenv("PII_SCAN_PASSWORD"),
                          .database = database};
    if (db_connect(&p, &db)) {
        fprintf(stderr, "pii_scan: %s\n", err_msg());
        return 2;
    }
    /* information_schema lists only what this account may read */
    if (db_query(db,
                 "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
                 "ORDER BY table_name",
                 &list)) {
        fprintf(stderr, "pii_scan: %s\n", err_msg());
        return 2;
    }
    while (db_result_next(list, &row, NULL) == 1) {
        char sql[512];
        struct db_result *r;
        const char *const *cellrow;
        const unsigned long *lens;
        snprintf(sql, sizeof(sql), "SELECT * FROM `%s`", row[0]);
        if (db_query(db, sql, &r)) {
            printf("skip %s: %s\n", row[0], err_msg());
            continue;
        }
        (*tables)++;
        unsigned long long rowno = 0;
        while (db_result_next(r, &cellrow, &lens) == 1) {
            rowno++;
            for (unsigned i = 0; i < db_result_columns(r); i++) {
                const struct pii_value *m;
                if (!cellrow[i])
                    continue;
                (*cells)++;
                if ((m = match(cellrow[i], lens[i]))) {
                    printf("PII: %s.%s row %llu holds a fixture %s\n", row[0],
                           db_result_column_name(r, i), rowno, m->field);
                    (*found)++;
                }
            }
        }
        db_result_free(r);
    }
    db_result_free(list);
    db_close(db);
    return 0;
}

/* The PostgreSQL scan: every relation of `schema` the account may read. */
static int scan_pg(const char *port, const char *user, const char *database, const char *schema,
                   size_t *tables, size_t *cells, int *found)
{
    struct pg *pg;
    struct pg_result *list;
    const char *const *row;
    struct pg_params p = {.host = "127.0.0.1",
                          .port = (unsigned)atoi(port),
                          .user = user,
                          .password = getenv("PII_SCAN_PASSWORD"),
                          .database = database,
                          .schema = schema};
    const char *const arg[] = {schema};
    if (pg_connect(&p, &pg)) {
        fprintf(stderr, "pii_scan: %s\n", err_msg());
        return 2;
    }
    if (pg_query_params(pg,
                        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = "
                        "c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm', 'p') "
                        "AND has_table_privilege(c.oid, 'SELECT') ORDER BY 1",
                        1, arg, NULL, &list)) {
        fprintf(stderr, "pii_scan: %s\n", err_msg());
        pg_close(pg);
        return 2;
    }
    while (pg_result_next(list, &row, NULL) == 1) {
        struct buf sql = BUF_INIT;
        struct pg_result *r;
        const char *const *cellrow;
        const size_t *lens;
        buf_adds(&sql, "SELECT * FROM ");
        pg_append_ident(&sql, row[0]);
        if (pg_query(pg, sql.data, &r)) {
            printf("skip %s: %s\n", row[0], err_msg());
            buf_release(&sql);
            continue;
        }
        buf_release(&sql);
        (*tables)++;
        unsigned long long rowno = 0;
        while (pg_result_next(r, &cellrow, &lens) == 1) {
            rowno++;
            for (unsigned i = 0; i < pg_result_columns(r); i++) {
                const struct pii_value *m;
                if (!cellrow[i])
                    continue;
                (*cells)++;
                if ((m = match(cellrow[i], lens[i]))) {
                    printf("PII: %s.%s row %llu holds a fixture %s\n", row[0],
                           pg_result_column_name(r, i), rowno, m->field);
                    (*found)++;
                }
            }
        }
        pg_result_free(r);
    }
    pg_result_free(list);
    pg_close(pg);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const user_paths[] = {"firstName", "lastName",          "address",
                                             "city",      "zipCode",           "email",
                                             "birthDate", "profile.profession"};
    static const char *const message_paths[] = {"message"};
    const char *port = "3306", *user = NULL, *database = NULL, *fixtures = NULL;
    const char *kind = "mysql", *schema = "maskload";
    int c, found = 0;
    size_t tables = 0, cells = 0;

    while ((c = getopt(argc, argv, "P:u:D:f:k:S:")) != -1) {
        switch (c) {
        case 'P':
            port = optarg;
            break;
        case 'u':
            user = optarg;
            break;
        case 'D':
            database = optarg;
            break;
        case 'f':
            fixtures = optarg;
            break;
        case 'k':
            kind = optarg;
            break;
        case 'S':
            schema = optarg;
            break;
        default:
            return 2;
        }
    }
    if (!user || !database || !fixtures ||
        (strcmp(kind, "mysql") != 0 && strcmp(kind, "postgres") != 0)) {
        fprintf(stderr, "usage: pii_scan -P PORT -u USER -D DB -f FIXTURE_DIR "
                        "[-k mysql|postgres [-S SCHEMA]]\n");
        return 2;
    }
    if (collect(fixtures, "users.json", user_paths, 8) ||
        collect(fixtures, "messages.json", message_paths, 1))
        return 2;
    if (strcmp(kind, "postgres") == 0
            ? scan_pg(port, user, database, schema, &tables, &cells, &found)
            : scan_mysql(port, user, database, &tables, &cells, &found))
        return 2;
    printf("scanned %zu tables/views, %zu cells, %zu PII values: %d findings\n", tables, cells,
           nvalues, found);
    for (size_t i = 0; i < nvalues; i++)
        free(values[i].value);
    if (tables == 0)
        return 2;
    return found ? 1 : 0;
}
