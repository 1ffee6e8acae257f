/* partition.c - partitions of partitioned stream tables (partition.h). */
#include "partition.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "convert.h"
#include "error.h"
#include "log.h"
#include "wh.h"
#include "wallclock.h"
#include "banned.h"

/* ---- the calendar ---- */

partition_day partition_floor(enum partition_unit by, partition_day day)
{
    int y, m, d;
    if (by != PARTITION_MONTH)
        return day;
    convert_civil_from_days(day, &y, &m, &d);
    return convert_days_from_civil(y, m, 1);
}

partition_day partition_next(enum partition_unit by, partition_day start)
{
    int y, m, d;
    if (by != PARTITION_MONTH)
        return start + 1;
    convert_civil_from_days(start, &y, &m, &d);
    return m == 12 ? convert_days_from_civil(y + 1, 1, 1) : convert_days_from_civil(y, m + 1, 1);
}

void partition_day_text(partition_day day, char out[11])
{
    int y, m, d;
    convert_civil_from_days(day, &y, &m, &d);
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
             (unsigned)d % 100u);
}

void partition_name(enum partition_unit by, partition_day start, char out[65])
{
    int y, m, d;
    convert_civil_from_days(start, &y, &m, &d);
    if (by == PARTITION_MONTH)
        snprintf(out, 65, "p%04d%02d", y % 10000, m);
    else
        snprintf(out, 65, "p%04d%02d%02d", y % 10000, m, d);
}

static partition_day day_of(time_t t)
{
    long long s = (long long)t;
    return s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
}

/* The first day of the newest period to keep ready at `now`. */
static partition_day last_wanted(const struct partition_def *pd, time_t now)
{
    partition_day p = partition_floor(pd->by, day_of(now));
    for (unsigned i = 0; i < pd->ahead; i++)
        p = partition_next(pd->by, p);
    return p;
}

int partition_initial(const struct partition_def *pd, time_t now, struct ddlgen_partition **out,
                      size_t *n)
{
    partition_day first = partition_floor(
        pd->by, day_of(now) - (pd->retention_days ? (partition_day)pd->retention_days : 0));
    partition_day last = last_wanted(pd, now);
    size_t count = 2;
    for (partition_day p = first; p <= last; p = partition_next(pd->by, p))
        count++;
    struct ddlgen_partition *v = calloc(count, sizeof(*v));
    if (!v)
        return err_set(ML_ENOMEM, "out of memory");
    size_t i = 0;
    snprintf(v[i].name, sizeof(v[i].name), "%s", PARTITION_PAST);
    partition_day_text(first, v[i++].bound);
    for (partition_day p = first; p <= last; p = partition_next(pd->by, p)) {
        partition_name(pd->by, p, v[i].name);
        partition_day_text(partition_next(pd->by, p), v[i++].bound);
    }
    snprintf(v[i++].name, sizeof(v[0].name), "%s", PARTITION_FUTURE);
    *out = v;
    *n = i;
    return 0;
}

int partition_create_clause(struct buf *out, const struct table_def *t, enum db_dialect d)
{
    struct ddlgen_partition *v = NULL;
    size_t n = 0;
    time_t now;
    int rc = t->partition ? wallclock_now(&now)
                          : err_set(ML_EINVAL, "table '%s' is not partitioned", t->name);
    if (!rc)
        rc = partition_initial(t->partition, now, &v, &n);
    if (!rc)
        rc = ddlgen_partition_by(out, t, v, n, d);
    free(v);
    return rc;
}

/* ---- the table as the server has it ---- */

static partition_day day_from_text(const char *s)
{
    int y = 0, m = 1, d = 1;
    sscanf(s, "%4d-%2d-%2d", &y, &m, &d);
    return convert_days_from_civil(y, m, d);
}

/* The partitions as the shared decisions below see them, oldest first:
 * MySQL's as they are (p_past, the periods, p_future: bound ""); a
 * PostgreSQL table's periods (each named as MySQL names it, for the first
 * day of its range) between a p_past of no relation (rel ""), bounded by
 * the oldest period's start: the rows of the DEFAULT partition older than
 * that, and the DEFAULT partition last (bound ""), which also catches the
 * rows beyond the newest period. */
struct live_partition {
    char name[65];
    char rel[65];   /* PostgreSQL: the partition's table; "" for p_past */
    char start[11]; /* PostgreSQL: the first day of its range; "" for MySQL */
    char bound[11]; /* "" = MAXVALUE (MySQL) or DEFAULT (PostgreSQL) */
};

struct live {
    struct live_partition *p;
    size_t n, cap;
};

/* Appends a partition (rel, start and bound may be ""). ML_ENOMEM. */
static int live_add(struct live *lv, const char *name, const char *rel, const char *start,
                    const char *bound)
{
    if (lv->n == lv->cap) {
        size_t ncap = lv->cap ? 2 * lv->cap : 32;
        struct live_partition *g = realloc(lv->p, ncap * sizeof(*g));
        if (!g)
            return err_set(ML_ENOMEM, "out of memory");
        lv->p = g;
        lv->cap = ncap;
    }
    struct live_partition *p = &lv->p[lv->n++];
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->rel, sizeof(p->rel), "%s", rel);
    snprintf(p->start, sizeof(p->start), "%s", start);
    snprintf(p->bound, sizeof(p->bound), "%s", bound);
    return 0;
}

/* "YYYY-MM-DD" from a bound as the server writes it ('2025-03-01' or
 * '2025-03-01 00:00:00'); false for anything else. */
static bool bound_of(const char *desc, char out[11])
{
    int y, m, d;
    if (*desc == '\'')
        desc++;
    if (strlen(desc) < 10 || sscanf(desc, "%4d-%2d-%2d", &y, &m, &d) != 3 || desc[4] != '-' ||
        desc[7] != '-')
        return false;
    memcpy(out, desc, 10);
    out[10] = '\0';
    return true;
}

/* "`created_at`", "\"created_at\"" or "created_at" names `column`. */
static bool expression_is(const char *expr, const char *column)
{
    size_t n = strlen(expr), c = strlen(column);
    if (n == c + 2 && (expr[0] == '`' || expr[0] == '"') && expr[n - 1] == expr[0])
        return strncasecmp(expr + 1, column, c) == 0;
    return strcasecmp(expr, column) == 0;
}

static int not_partitioned(const struct table_def *t)
{
    return err_set(ML_ECONFIG,
                   "table '%s' is not partitioned, but its mapping declares partition: on "
                   "'%s' (init does not rebuild a table: rename or drop it and run init)",
                   t->name, t->partition->column);
}

static int unreadable_bound(const struct table_def *t, const char *part, const char *bound)
{
    return err_set(ML_ECONFIG,
                   "table '%s': partition '%s' has a bound the loader cannot read ('%s')", t->name,
                   part, bound ? bound : "NULL");
}

static int read_live_mysql(struct wh *w, const char *database, const struct table_def *t,
                           struct live *out)
{
    static const char sql[] =
        "SELECT PARTITION_NAME, PARTITION_METHOD, PARTITION_EXPRESSION, PARTITION_DESCRIPTION "
        "FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = $1 AND TABLE_NAME = $2 "
        "ORDER BY PARTITION_ORDINAL_POSITION";
    const char *params[2] = {database, t->name};
    struct wh_result *r = NULL;
    const char *const *row;
    int rc = wh_query(w, sql, 2, params, NULL, &r);
    while (!rc && (rc = wh_result_next(r, &row, NULL)) == 1) {
        rc = 0;
        if (!row[0])
            rc = not_partitioned(t);
        else if (!row[1] || strcmp(row[1], "RANGE COLUMNS") != 0 || !row[2] ||
                 !expression_is(row[2], t->partition->column))
            rc = err_set(ML_ECONFIG,
                         "table '%s' is partitioned by %s(%s), its mapping says RANGE COLUMNS "
                         "on '%s': change it by hand",
                         t->name, row[1] ? row[1] : "?", row[2] ? row[2] : "?",
                         t->partition->column);
        char bound[11] = "";
        if (!rc && (!row[3] || (strcmp(row[3], "MAXVALUE") != 0 && !bound_of(row[3], bound))))
            rc = unreadable_bound(t, row[0], row[3]);
        if (!rc)
            rc = live_add(out, row[0], "", "", bound);
    }
    if (rc == 0 && out->n == 0)
        rc = err_set(ML_ECONFIG, "table '%s' does not exist (run `maskload init`)", t->name);
    if (!rc && (out->p[out->n - 1].bound[0] || out->n < 2))
        rc = err_set(ML_ECONFIG,
                     "table '%s' has no MAXVALUE partition last (%s): it was changed by hand; "
                     "add one (REORGANIZE) so that maintenance can add partitions",
                     t->name, PARTITION_FUTURE);
    wh_result_free(r);
    return rc < 0 ? rc : 0;
}

static int by_start(const void *a, const void *b)
{
    return strcmp(((const struct live_partition *)a)->start,
                  ((const struct live_partition *)b)->start);
}

/* "FOR VALUES FROM ('2025-03-01 00:00:00') TO ('2025-04-01 00:00:00')" */
static bool range_of(const char *expr, char from[11], char to[11])
{
    const char *f = strstr(expr, "FROM (");
    const char *t = f ? strstr(f, ") TO (") : NULL;
    return f && t && bound_of(f + 6, from) && bound_of(t + 6, to);
}

static int read_live_pg(struct wh *w, const char *schema, const struct table_def *t,
                        struct live *out)
{
    static const char key_sql[] =
        "SELECT coalesce(pg_get_partkeydef(c.oid), '') FROM pg_catalog.pg_class c JOIN "
        "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND "
        "c.relname = $2 AND c.relkind IN ('r', 'p')";
    static const char parts_sql[] =
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_catalog.pg_inherits i "
        "JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid JOIN pg_catalog.pg_class p ON p.oid = "
        "i.inhparent JOIN pg_catalog.pg_namespace n ON n.oid = p.relnamespace WHERE n.nspname = "
        "$1 AND p.relname = $2";
    const char *params[2] = {schema, t->name};
    struct buf key = BUF_INIT;
    struct wh_result *r = NULL;
    struct live periods = {0};
    const char *const *row;
    char dflt[65] = "";
    bool found = false;
    int rc = wh_query_value(w, key_sql, 2, params, &key, &found);
    if (!rc && !found)
        rc = err_set(ML_ECONFIG, "table '%s' does not exist (run `maskload init`)", t->name);
    if (!rc && !key.data[0])
        rc = not_partitioned(t);
    if (!rc) { /* "RANGE (created_at)" */
        size_t n = key.len;
        bool range = n > 8 && strncmp(key.data, "RANGE (", 7) == 0 && key.data[n - 1] == ')';
        if (range)
            key.data[n - 1] = '\0';
        if (!range || !expression_is(key.data + 7, t->partition->column))
            rc = err_set(ML_ECONFIG,
                         "table '%s' is partitioned by %s, its mapping says RANGE on '%s': "
                         "change it by hand",
                         t->name, key.data, t->partition->column);
    }
    if (!rc)
        rc = wh_query(w, parts_sql, 2, params, NULL, &r);
    while (!rc && (rc = wh_result_next(r, &row, NULL)) == 1) {
        rc = 0;
        if (row[1] && strcmp(row[1], "DEFAULT") == 0) {
            snprintf(dflt, sizeof(dflt), "%s", row[0]);
            continue;
        }
        char from[11], to[11];
        if (!row[1] || !range_of(row[1], from, to))
            rc = unreadable_bound(t, row[0], row[1]);
        else
            rc = live_add(&periods, "", row[0], from, to);
    }
    if (!rc && !dflt[0])
        rc = err_set(ML_ECONFIG,
                     "table '%s' has no DEFAULT partition: it was changed by hand; add one "
                     "(CREATE TABLE %s_%s PARTITION OF %s DEFAULT) so that no insert fails",
                     t->name, t->name, DDLGEN_PARTITION_DEFAULT, t->name);
    const struct live_partition *v = periods.p;
    if (!rc && periods.n)
        qsort(periods.p, periods.n, sizeof(*v), by_start);
    if (!rc && periods.n)
        rc = live_add(out, PARTITION_PAST, "", "", v[0].start);
    for (size_t i = 0; !rc && i < periods.n; i++) {
        char name[65];
        partition_name(t->partition->by, day_from_text(v[i].start), name);
        rc = live_add(out, name, v[i].rel, v[i].start, v[i].bound);
    }
    if (!rc)
        rc = live_add(out, DDLGEN_PARTITION_DEFAULT, dflt, "", "");
    wh_result_free(r);
    buf_release(&key);
    free(periods.p);
    return rc < 0 ? rc : 0;
}

static int read_live(struct wh *w, const char *space, const struct table_def *t, struct live *out)
{
    out->n = 0;
    return wh_is_postgres(w) ? read_live_pg(w, space, t, out) : read_live_mysql(w, space, t, out);
}

/* ---- maintenance: what to change is decided once, the SQL is the dialect's ---- */

/* One table's maintenance: the table, where it is, who owns and reads it. */
struct maint {
    struct wh *w;
    const struct config *cfg;
    const char *space; /* MySQL: the database; PostgreSQL: the schema */
    const struct table_def *t;
    time_t now;
    unsigned long long run_id;
    struct partition_report rep; /* this attempt's */
    bool locked;                 /* PostgreSQL: the table locked ACCESS EXCLUSIVE */
    struct buf sql;
};

/* Appends "space"."name" (PostgreSQL) or `name` (MySQL) to out. */
static int append_rel_to(struct maint *m, struct buf *out, const char *name)
{
    enum db_dialect d = wh_dialect(m->w);
    return wh_is_postgres(m->w) ? wh_append_qualified(d, out, m->space, name)
                                : wh_append_ident(d, out, name);
}

static int append_rel(struct maint *m, const char *name)
{
    return append_rel_to(m, &m->sql, name);
}

/* Runs the statement in m->sql. PostgreSQL: the first change of an attempt
 * locks the table ACCESS EXCLUSIVE first, as its DDL would table by table
 * (attaching: the DEFAULT partition; dropping: the table): a reader that
 * has the table and waits for a partition would otherwise deadlock with
 * it. Only when there is something to change, and until the commit. */
static int exec_sql(struct maint *m)
{
    if (wh_is_postgres(m->w) && !m->locked) {
        struct buf lock = BUF_INIT;
        int rc = buf_adds(&lock, "LOCK TABLE ");
        if (!rc)
            rc = append_rel_to(m, &lock, m->t->name);
        if (!rc)
            rc = buf_adds(&lock, " IN ACCESS EXCLUSIVE MODE");
        if (!rc)
            rc = wh_exec(m->w, lock.data);
        buf_release(&lock);
        if (rc)
            return rc;
        m->locked = true;
    }
    return wh_exec(m->w, m->sql.data);
}

/* Adds the periods after the newest bound up to the newest one wanted;
 * with none (a PostgreSQL table as init creates it) from the one holding
 * now - retention, as partition_initial. */
static int add_ahead(struct maint *m, const struct live *lv)
{
    const struct table_def *t = m->t;
    const struct partition_def *pd = t->partition;
    partition_day want_end = partition_next(pd->by, last_wanted(pd, m->now));
    partition_day have_end =
        lv->n >= 2 ? day_from_text(lv->p[lv->n - 2].bound)
                   : partition_floor(pd->by, day_of(m->now) - (partition_day)pd->retention_days);
    const struct live_partition *last = &lv->p[lv->n - 1];
    if (have_end >= want_end)
        return 0;
    size_t count = 1;
    for (partition_day p = have_end; p < want_end; p = partition_next(pd->by, p))
        count++;
    struct ddlgen_partition *v = calloc(count, sizeof(*v));
    if (!v)
        return err_set(ML_ENOMEM, "out of memory");
    size_t i = 0;
    for (partition_day p = have_end; p < want_end; p = partition_next(pd->by, p)) {
        /* a period not starting on its first day (a bound set by hand): named for its start */
        partition_name(pd->by, p, v[i].name);
        partition_day_text(partition_next(pd->by, partition_floor(pd->by, p)), v[i++].bound);
    }
    snprintf(v[i++].name, sizeof(v[0].name), "%s", last->name);
    int rc = 0;
    buf_reset(&m->sql);
    if (!wh_is_postgres(m->w)) {
        rc = ddlgen_partition_split_last(&m->sql, t, last->name, v, i, wh_dialect(m->w));
        if (!rc)
            rc = exec_sql(m);
    }
    /* PostgreSQL: one partition at a time, each from the previous bound */
    const char *readers[2] = {m->cfg->roles.analyst, m->cfg->roles.steward};
    char from[11];
    partition_day_text(have_end, from);
    for (size_t k = 0; !rc && wh_is_postgres(m->w) && k + 1 < i; k++) {
        buf_reset(&m->sql);
        rc = ddlgen_partition_add_pg(&m->sql, t, m->space, last->rel, k ? v[k - 1].bound : from,
                                     &v[k], readers, 2);
        if (!rc)
            rc = exec_sql(m);
    }
    if (!rc) {
        log_info("partition: table '%s': added %zu partition(s) %s .. %s ahead", t->name, i - 1,
                 v[0].name, v[i - 2].name);
        m->rep.added += i - 1;
    }
    free(v);
    return rc;
}

/* The rows of partition p: MySQL's PARTITION (p); PostgreSQL's table of
 * p, or for p_past the rows of the DEFAULT partition `dflt` older than its
 * bound. */
static int count_rows(struct maint *m, const struct live_partition *p,
                      const struct live_partition *dflt, unsigned long long *n)
{
    enum db_dialect d = wh_dialect(m->w);
    bool is_null = false;
    buf_reset(&m->sql);
    int rc = buf_adds(&m->sql, "SELECT COUNT(*) FROM ");
    if (!rc && !wh_is_postgres(m->w)) {
        rc = wh_append_ident(d, &m->sql, m->t->name);
        if (!rc)
            rc = buf_adds(&m->sql, " PARTITION (");
        if (!rc)
            rc = wh_append_ident(d, &m->sql, p->name);
        if (!rc)
            rc = buf_adds(&m->sql, ")");
    } else if (!rc && p->rel[0]) {
        rc = append_rel(m, p->rel);
    } else if (!rc) {
        rc = append_rel(m, dflt->rel);
        if (!rc)
            rc = buf_adds(&m->sql, " WHERE ");
        if (!rc)
            rc = wh_append_ident(d, &m->sql, m->t->partition->column);
        if (!rc)
            rc = buf_addf(&m->sql, " < '%s'", p->bound); /* checked YYYY-MM-DD */
    }
    if (!rc)
        rc = wh_query_u64(m->w, m->sql.data, 0, NULL, n, &is_null);
    return rc;
}

static int record_drop(struct maint *m, const struct live_partition *p, const char *start,
                       unsigned long long rows, const char *cutoff)
{
    char run[32], nrows[32], days[16];
    snprintf(run, sizeof(run), "%llu", m->run_id);
    snprintf(nrows, sizeof(nrows), "%llu", rows);
    snprintf(days, sizeof(days), "%u", m->t->partition->retention_days);
    const char *values[8] = {
        m->run_id ? run : NULL, m->t->name, p->name, start, p->bound, nrows, days, cutoff};
    buf_reset(&m->sql);
    int rc = buf_addf(&m->sql,
                      "INSERT INTO load_partition_drops (run_id, table_name, partition_name, "
                      "range_start, range_end, rows_dropped, retention_days, cutoff, dropped_at) "
                      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, %s)",
                      wh_is_postgres(m->w) ? "(now() AT TIME ZONE 'UTC')" : "UTC_TIMESTAMP(3)");
    if (!rc)
        rc = wh_exec_params(m->w, m->sql.data, 8, values, NULL);
    return rc;
}

/* Empties the first n partitions, expired: MySQL truncates them (those
 * holding rows, or all when they are then merged into one p_past ending
 * where the last of them did); PostgreSQL drops their tables and deletes
 * p_past's rows from the DEFAULT partition. */
static int empty_expired(struct maint *m, const struct live *lv, size_t n,
                         const unsigned long long *rows, bool merge)
{
    const char **names = calloc(n, sizeof(*names));
    size_t nact = 0;
    int rc = names ? 0 : err_set(ML_ENOMEM, "out of memory");
    enum db_dialect d = wh_dialect(m->w);
    for (size_t i = 0; !rc && i < n; i++) {
        const struct live_partition *p = &lv->p[i];
        if (!rows[i] && !merge)
            continue;
        if (!wh_is_postgres(m->w)) {
            names[nact++] = p->name;
            continue;
        }
        buf_reset(&m->sql);
        if (p->rel[0]) {
            rc = buf_adds(&m->sql, "DROP TABLE ");
            if (!rc)
                rc = append_rel(m, p->rel);
        } else if (rows[i]) {
            rc = buf_adds(&m->sql, "DELETE FROM ");
            if (!rc)
                rc = append_rel(m, lv->p[lv->n - 1].rel);
            if (!rc)
                rc = buf_adds(&m->sql, " WHERE ");
            if (!rc)
                rc = wh_append_ident(d, &m->sql, m->t->partition->column);
            if (!rc)
                rc = buf_addf(&m->sql, " < '%s'", p->bound);
        } else {
            continue;
        }
        if (!rc)
            rc = exec_sql(m);
    }
    buf_reset(&m->sql);
    if (!rc && nact)
        rc = ddlgen_partition_truncate(&m->sql, m->t, names, nact, d);
    if (!rc && nact)
        rc = exec_sql(m);
    if (!rc && merge && !wh_is_postgres(m->w)) {
        struct ddlgen_partition into;
        snprintf(into.name, sizeof(into.name), "%s", PARTITION_PAST);
        snprintf(into.bound, sizeof(into.bound), "%s", lv->p[n - 1].bound);
        buf_reset(&m->sql);
        for (size_t i = 0; i < n; i++)
            names[i] = lv->p[i].name;
        rc = ddlgen_partition_merge_first(&m->sql, m->t, names, n, &into, d);
        if (!rc)
            rc = exec_sql(m);
    }
    free(names);
    return rc;
}

/* The leading partitions wholly older than now - retention (their bound
 * at or before it; p_past always, the newest catch-all never) emptied,
 * their rows counted first, each one that held rows or went recorded. */
static int apply_retention(struct maint *m, const struct live *lv)
{
    const struct partition_def *pd = m->t->partition;
    time_t cut = m->now - (time_t)pd->retention_days * 86400;
    partition_day cut_day = day_of(cut);
    char cutoff[32], cut_text[11];
    size_t nexp = 0;
    int rc = 0;
    partition_day_text(cut_day, cut_text);
    snprintf(cutoff, sizeof(cutoff), "%s %02d:%02d:%02d", cut_text,
             (int)((long long)(cut - cut_day * 86400) / 3600),
             (int)((long long)(cut - cut_day * 86400) % 3600 / 60),
             (int)((long long)(cut - cut_day * 86400) % 60));
    /* bounds are midnights: bound <= cut exactly when its day <= cut's day */
    while (nexp + 1 < lv->n && day_from_text(lv->p[nexp].bound) <= cut_day)
        nexp++;
    if (nexp == 0)
        return 0;
    unsigned long long *rows = calloc(nexp, sizeof(*rows));
    if (!rows)
        return err_set(ML_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < nexp; i++)
        rc = count_rows(m, &lv->p[i], &lv->p[lv->n - 1], &rows[i]);
    /* an empty p_past alone: nothing to do (every run would see it) */
    bool merge = nexp > 1 || strcmp(lv->p[0].name, PARTITION_PAST) != 0;
    if (!rc)
        rc = empty_expired(m, lv, nexp, rows, merge);
    for (size_t i = 0; !rc && i < nexp; i++) {
        if (!rows[i] && !merge)
            continue;
        if (!rows[i] && strcmp(lv->p[i].name, PARTITION_PAST) == 0)
            continue; /* an empty p_past merged with the others: nothing was dropped from it */
        rc = record_drop(m, &lv->p[i], i ? lv->p[i - 1].bound : NULL, rows[i], cutoff);
        if (!rc) {
            log_info("partition: table '%s': dropped partition %s (before %s, %llu rows): "
                     "older than the retention of %ud (cutoff %s)",
                     m->t->name, lv->p[i].name, lv->p[i].bound, rows[i], pd->retention_days,
                     cutoff);
            m->rep.dropped++;
            m->rep.rows_dropped += rows[i];
        }
    }
    free(rows);
    return rc;
}

/* MySQL: the server errors of an ALTER whose partitions another
 * maintenance (another run, on this node or another) changed meanwhile: the
 * named partition is gone or already there (1516: a partition to
 * reorganize is gone), or the ranges no longer meet. */
static bool changed_meanwhile(unsigned err)
{
    return err == 1507 || err == 1508 || err == 1516 || err == 1517 || err == 1519 || err == 1520 ||
           err == 1735;
}

/* One attempt: the partitions read, the missing ones added, read again,
 * the expired ones emptied. PostgreSQL runs it in one transaction as the
 * loader role (which owns the table and its partitions, so that what one
 * maintainer creates the next may drop), after a lock that maintainers
 * take in turn and that neither readers nor writers wait for (SHARE UPDATE
 * EXCLUSIVE): the second one reads what the first committed and has
 * nothing left to do. */
static int maintain_once(struct maint *m)
{
    struct live lv = {0};
    int rc = 0;
    bool pg = wh_is_postgres(m->w);
    memset(&m->rep, 0, sizeof(m->rep));
    m->locked = false;
    if (pg) {
        rc = wh_begin(m->w);
        buf_reset(&m->sql);
        if (!rc) /* not for ever behind a long analyst query */
            rc = buf_adds(&m->sql, "SET LOCAL lock_timeout = '60s'; SET LOCAL ROLE ");
        if (!rc)
            rc = wh_append_ident(DB_DIALECT_POSTGRES, &m->sql, m->cfg->roles.loader);
        if (!rc)
            rc = buf_adds(&m->sql, "; LOCK TABLE ");
        if (!rc)
            rc = append_rel(m, m->t->name);
        if (!rc)
            rc = buf_adds(&m->sql, " IN SHARE UPDATE EXCLUSIVE MODE");
        if (!rc)
            rc = exec_sql(m);
    }
    if (!rc)
        rc = read_live(m->w, m->space, m->t, &lv);
    if (!rc)
        rc = add_ahead(m, &lv);
    if (!rc && m->t->partition->retention_days) {
        rc = read_live(m->w, m->space, m->t, &lv);
        if (!rc)
            rc = apply_retention(m, &lv);
    }
    if (pg && !rc)
        rc = wh_commit(m->w);
    else if (pg)
        wh_rollback(m->w);
    free(lv.p);
    return rc;
}

/* How many times one maintenance is planned: each failed attempt means
 * another maintenance changed the partitions meanwhile (did work), and a
 * few of them at once (three runs starting together) may meet more than
 * twice. */
#define MAINTAIN_ATTEMPTS 6

/* MySQL takes no lock: every statement names the partitions it expects,
 * so when two maintenances meet, the later statement fails on the server
 * (changed_meanwhile) and is planned again from the partitions as they are
 * now, which then needs nothing more. A named lock (GET_LOCK) would let
 * any account that guesses its name stall the loader, and serialises
 * nothing across the nodes of a cluster. */
int partition_maintain(struct wh *w, const struct config *cfg, const struct table_def *t,
                       unsigned long long run_id, struct partition_report *rep)
{
    struct maint m = {.w = w, .cfg = cfg, .t = t, .run_id = run_id};
    if (!t || !t->partition)
        return err_set(ML_EINVAL, "partition maintenance of a table that is not partitioned");
    bool pg = wh_is_postgres(w);
    m.space = config_warehouse_space(cfg);
    buf_init(&m.sql, 0);
    int rc = wallclock_now(&m.now);
    /* a MySQL ALTER waits for readers of the table (a long analyst query):
     * not for ever, and not holding back the readers queued behind it */
    if (!rc && !pg)
        rc = wh_exec(w, "SET @maskload_lwt = @@SESSION.lock_wait_timeout, SESSION "
                        "lock_wait_timeout = 60");
    bool set_lwt = !rc && !pg;
    for (int attempt = 0; !rc && attempt < MAINTAIN_ATTEMPTS; attempt++) {
        rc = maintain_once(&m);
        if (!rc && rep) {
            rep->added += m.rep.added;
            rep->dropped += m.rep.dropped;
            rep->rows_dropped += m.rep.rows_dropped;
        }
        /* a deadlock or lock wait with another maintenance is planned again
         * too: the other one has usually done the work */
        struct db *db = wh_db(w);
        if (!rc || attempt == MAINTAIN_ATTEMPTS - 1 ||
            !((db && changed_meanwhile(db_errno(db))) || wh_error_class(w) == DB_ERR_RETRY_TX))
            break;
        log_info("partition: table '%s': its partitions changed meanwhile (another "
                 "maintenance: %s); planning again",
                 t->name, err_msg());
        rc = 0;
    }
    if (set_lwt)
        (void)wh_exec(w, "SET SESSION lock_wait_timeout = @maskload_lwt");
    buf_release(&m.sql);
    return rc;
}

int partition_maintain_all(struct wh *w, const struct config *cfg,
                           const struct stream_def *const *defs, size_t ndefs,
                           unsigned long long run_id)
{
    for (size_t i = 0; i < ndefs; i++) {
        const struct table_def *t = defs[i] ? defs[i]->table : NULL;
        if (!t || !t->partition)
            continue;
        int rc = partition_maintain(w, cfg, t, run_id, NULL);
        if (rc)
            return err_prefix(rc, "partitions of table '%s'", t->name);
    }
    return 0;
}

int partition_maintain_run(struct wh *w, const struct config *cfg, const char *only,
                           unsigned long long run_id)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < cfg->nstreams; i++) {
        const struct stream_def *def = cfg->streams[i].def;
        if ((only && strcmp(only, cfg->streams[i].name) != 0) || !def || !def->table->partition)
            continue;
        rc = partition_maintain_all(w, cfg, &def, 1, run_id);
    }
    return rc;
}
