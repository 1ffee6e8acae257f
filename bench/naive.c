/* naive.c - the row-at-a-time baseline (the original pipeline's approach), for `make bench`.
 *
 *   bench_naive --url BASE_URL/users --users N --port P --database DB
 *   (password in $BENCH_DB_PASSWORD, user root, host 127.0.0.1)
 *
 * Fetches pages of 100 users from the fixture API and, per user: for each of
 * city, zip code and profession a SELECT of the value's id and an INSERT when
 * it is new; an existence check of the user (no index, like the original pipeline's
 * VARCHAR tables); one INSERT for the user and one per subscription; every
 * statement in autocommit. Stops after N users. Prints
 *   NAIVE users=<n> rows=<rows inserted> seconds=<s>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "db.h"
#include "error.h"
#include "http.h"
#include "json.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int q(struct db *db, struct buf *sql, const char *s)
{
    if (!s)
        return buf_adds(sql, "NULL");
    return db_append_quoted(db, sql, s, strlen(s));
}

static const char *str(const json_node *o, const char *path)
{
    const json_node *n = json_path(o, path);
    return n ? json_string(n) : NULL;
}

static int surrogate(struct db *db, const char *kind, const char *v, unsigned long long *id)
{
    struct buf sql = BUF_INIT;
    bool is_null;
    int rc;
    *id = 0;
    if (!v)
        return 0;
    rc = buf_addf(&sql, "SELECT id FROM naive_sensitive_%s WHERE value=", kind);
    if (!rc)
        rc = q(db, &sql, v);
    if (!rc)
        rc = db_query_u64(db, sql.data, id, &is_null);
    if (!rc && is_null) {
        buf_reset(&sql);
        rc = buf_addf(&sql, "INSERT INTO naive_sensitive_%s (value) VALUES (", kind);
        if (!rc)
            rc = q(db, &sql, v);
        if (!rc)
            rc = buf_addc(&sql, ')');
        if (!rc)
            rc = db_exec(db, sql.data);
        if (!rc)
            *id = db_insert_id(db);
    }
    buf_release(&sql);
    return rc;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *database = NULL;
    unsigned long want = 1000, done = 0, rows = 0;
    unsigned port = 3306;
    struct db_params p = {0};
    struct db *db = NULL;
    struct http_client *http = NULL;
    struct http_options hopt = {0};
    struct buf sql = BUF_INIT, page_url = BUF_INIT;
    double t0;
    int rc;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--url"))
            url = argv[i + 1];
        else if (!strcmp(argv[i], "--users"))
            want = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--port"))
            port = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--database"))
            database = argv[i + 1];
    }
    if (!url || !database) {
        fprintf(stderr, "usage: bench_naive --url URL --users N --port P --database DB\n");
        return 2;
    }
    p.host = "127.0.0.1";
    p.port = port;
    p.user = "root";
    p.password = getenv("BENCH_DB_PASSWORD");
    p.database = database;
    rc = http_global_init();
    if (!rc)
        rc = db_connect(&p, &db);
    if (!rc)
        rc = http_client_new(&hopt, &http);
    static const char *const ddl[] = {
        "DROP TABLE IF EXISTS naive_users, naive_subscriptions, naive_sensitive_city, "
        "naive_sensitive_zipcode, naive_sensitive_profession",
        "CREATE TABLE naive_sensitive_city (id BIGINT AUTO_INCREMENT PRIMARY KEY, value "
        "VARCHAR(255))",
        "CREATE TABLE naive_sensitive_zipcode LIKE naive_sensitive_city",
        "CREATE TABLE naive_sensitive_profession LIKE naive_sensitive_city",
        "CREATE TABLE naive_users (user_id VARCHAR(32), created_at VARCHAR(64), updated_at "
        "VARCHAR(64), city_id BIGINT, country VARCHAR(100), zipcode_id BIGINT, email_domain "
        "VARCHAR(255), birth_year VARCHAR(8), gender VARCHAR(32), is_smoking VARCHAR(8), "
        "profession_id BIGINT, income VARCHAR(32))",
        "CREATE TABLE naive_subscriptions (user_id VARCHAR(32), created_at VARCHAR(64), "
        "start_date VARCHAR(64), end_date VARCHAR(64), status VARCHAR(32), amount VARCHAR(32))",
    };
    for (size_t i = 0; !rc && i < sizeof(ddl) / sizeof(ddl[0]); i++)
        rc = db_exec(db, ddl[i]);
    t0 = now();
    for (unsigned long page = 1; !rc && done < want; page++) {
        struct http_response resp;
        json_doc *doc = NULL;
        buf_reset(&page_url);
        buf_addf(&page_url, "%s?page=%lu&limit=100", url, page);
        rc = http_get(http, page_url.data, &resp);
        if (!rc)
            rc = json_parse(resp.body.data, resp.body.len, &doc);
        http_response_release(&resp);
        if (rc)
            break;
        const json_node *rec = json_child(json_root(doc));
        if (!rec) {
            json_free(doc);
            break;
        }
        for (; !rc && rec && done < want; rec = json_next(rec)) {
            unsigned long long city, zip, prof, exists = 0;
            const char *id = str(rec, "id"), *email = str(rec, "email"), *birth;
            bool is_null;
            done++;
            if (!id)
                continue;
            rc = surrogate(db, "city", str(rec, "city"), &city);
            if (!rc)
                rc = surrogate(db, "zipcode", str(rec, "zipCode"), &zip);
            if (!rc)
                rc = surrogate(db, "profession", str(rec, "profile.profession"), &prof);
            buf_reset(&sql);
            if (!rc)
                rc = buf_adds(&sql, "SELECT COUNT(*) FROM naive_users WHERE user_id=");
            if (!rc)
                rc = q(db, &sql, id);
            if (!rc)
                rc = db_query_u64(db, sql.data, &exists, &is_null);
            if (rc || exists)
                continue;
            birth = str(rec, "birthDate");
            buf_reset(&sql);
            rc = buf_adds(&sql, "INSERT INTO naive_users VALUES (");
            q(db, &sql, id);
            buf_addc(&sql, ',');
            q(db, &sql, str(rec, "createdAt"));
            buf_addc(&sql, ',');
            q(db, &sql, str(rec, "updatedAt"));
            buf_addf(&sql, ",%llu,", city);
            q(db, &sql, str(rec, "country"));
            buf_addf(&sql, ",%llu,", zip);
            q(db, &sql, email && strchr(email, '@') ? strchr(email, '@') + 1 : NULL);
            buf_addf(&sql, ",'%.4s',", birth ? birth : "");
            q(db, &sql, str(rec, "profile.gender"));
            buf_adds(&sql, ",NULL,");
            buf_addf(&sql, "%llu,", prof);
            q(db, &sql, str(rec, "profile.income"));
            rc = buf_addc(&sql, ')');
            if (!rc)
                rc = db_exec(db, sql.data);
            rows++;
            for (const json_node *s = json_child(json_path(rec, "subscription")); !rc && s;
                 s = json_next(s)) {
                buf_reset(&sql);
                buf_adds(&sql, "INSERT INTO naive_subscriptions VALUES (");
                q(db, &sql, id);
                buf_addc(&sql, ',');
                q(db, &sql, str(s, "createdAt"));
                buf_addc(&sql, ',');
                q(db, &sql, str(s, "startDate"));
                buf_addc(&sql, ',');
                q(db, &sql, str(s, "endDate"));
                buf_addc(&sql, ',');
                q(db, &sql, str(s, "status"));
                buf_addc(&sql, ',');
                q(db, &sql, str(s, "amount"));
                rc = buf_addc(&sql, ')');
                if (!rc)
                    rc = db_exec(db, sql.data);
                rows++;
            }
        }
        json_free(doc);
    }
    if (rc) {
        fprintf(stderr, "bench_naive: %s\n", err_msg());
        return 1;
    }
    printf("NAIVE users=%lu rows=%lu seconds=%.3f\n", done, rows, now() - t0);
    http_client_free(http);
    db_close(db);
    buf_release(&sql);
    buf_release(&page_url);
    return 0;
}
