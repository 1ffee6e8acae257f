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

struct live_partition {
    char name[65];
    char bound[11]; /* "" = MAXVALUE */
};

struct live {
    struct live_partition *p;
    size_t n;
};

/* "YYYY-MM-DD" from a PARTITION_DESCRIPTION ('2025-03-01' or
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

/* "`created_at`" or "created_at" names `column`. */
static bool expression_is(const char *expr, const char *column)
{
    size_t n = strlen(expr), c = strlen(column);
    if (n == c + 2 && expr[0] == '`' && expr[n - 1] == '`')
        return strncasecmp(expr + 1, column, c) == 0;
    return strcasecmp(expr, column) == 0;
}

static int read_live(struct db *db, const char *database, const struct table_def *t,
                     struct live *out)
{
    struct buf sql = BUF_INIT;
    struct db_result *r = NULL;
    const char *const *row;
    const unsigned long *len;
    size_t cap = 0;
    int rc = buf_adds(&sql, "SELECT PARTITION_NAME, PARTITION_METHOD, PARTITION_EXPRESSION, "
                            "PARTITION_DESCRIPTION FROM information_schema.PARTITIONS WHERE "
                            "TABLE_SCHEMA = ");
    if (!rc)
        rc = db_append_quoted(db, &sql, database, strlen(database));
    if (!rc)
        rc = buf_adds(&sql, " AND TABLE_NAME = ");
    if (!rc)
        rc = db_append_quoted(db, &sql, t->name, strlen(t->name));
    if (!rc)
        rc = buf_adds(&sql, " ORDER BY PARTITION_ORDINAL_POSITION");
    if (!rc)
        rc = db_query(db, sql.data, &r);
    while (!rc && (rc = db_result_next(r, &row, &len)) == 1) {
        rc = 0;
        if (!row[0])
            rc = err_set(ML_ECONFIG,
                         "table '%s' is not partitioned, but its mapping declares partition: on "
                         "'%s' (init does not rebuild a table: rename or drop it and run init)",
                         t->name, t->partition->column);
        else if (!row[1] || strcmp(row[1], "RANGE COLUMNS") != 0 || !row[2] ||
                 !expression_is(row[2], t->partition->column))
            rc = err_set(ML_ECONFIG,
                         "table '%s' is partitioned by %s(%s), its mapping says RANGE COLUMNS "
                         "on '%s': change it by hand",
                         t->name, row[1] ? row[1] : "?", row[2] ? row[2] : "?",
                         t->partition->column);
        if (rc)
            break;
        if (out->n == cap) {
            size_t ncap = cap ? 2 * cap : 32;
            struct live_partition *g = realloc(out->p, ncap * sizeof(*g));
            if (!g) {
                rc = err_set(ML_ENOMEM, "out of memory");
                break;
            }
            out->p = g;
            cap = ncap;
        }
        struct live_partition *p = &out->p[out->n++];
        snprintf(p->name, sizeof(p->name), "%s", row[0]);
        p->bound[0] = '\0';
        if (!row[3] || (strcmp(row[3], "MAXVALUE") != 0 && !bound_of(row[3], p->bound)))
            rc = err_set(ML_ECONFIG,
                         "table '%s': partition '%s' has a bound the loader cannot "
                         "read ('%s')",
                         t->name, p->name, row[3] ? row[3] : "NULL");
    }
    if (rc == 0 && out->n == 0)
        rc = err_set(ML_ECONFIG, "table '%s' does not exist (run `maskload init`)", t->name);
    if (!rc && (out->p[out->n - 1].bound[0] || out->n < 2))
        rc = err_set(ML_ECONFIG,
                     "table '%s' has no MAXVALUE partition last (%s): it was changed by hand; "
                     "add one (REORGANIZE) so that maintenance can add partitions",
                     t->name, PARTITION_FUTURE);
    db_result_free(r);
    buf_release(&sql);
    return rc < 0 ? rc : 0;
}

static partition_day day_from_text(const char *s)
{
    int y = 0, m = 1, d = 1;
    sscanf(s, "%4d-%2d-%2d", &y, &m, &d);
    return convert_days_from_civil(y, m, d);
}

/* ---- maintenance ---- */

/* Adds the periods after the newest bound up to the newest one wanted. */
static int add_ahead(struct db *db, const struct table_def *t, const struct live *lv, time_t now,
                     struct partition_report *rep)
{
    const struct partition_def *pd = t->partition;
    partition_day want_end = partition_next(pd->by, last_wanted(pd, now));
    partition_day have_end =
        lv->n >= 2 ? day_from_text(lv->p[lv->n - 2].bound) : partition_floor(pd->by, day_of(now));
    if (have_end >= want_end)
        return 0;
    size_t count = 1;
    for (partition_day p = have_end; p < want_end; p = partition_next(pd->by, p))
        count++;
    struct ddlgen_partition *v = calloc(count, sizeof(*v));
    struct buf sql = BUF_INIT;
    if (!v)
        return err_set(ML_ENOMEM, "out of memory");
    size_t i = 0;
    for (partition_day p = have_end; p < want_end; p = partition_next(pd->by, p)) {
        /* a period not starting on its first day (a bound set by hand): named for its start */
        partition_name(pd->by, p, v[i].name);
        partition_day_text(partition_next(pd->by, partition_floor(pd->by, p)), v[i++].bound);
    }
    snprintf(v[i++].name, sizeof(v[0].name), "%s", lv->p[lv->n - 1].name);
    int rc = ddlgen_partition_split_last(&sql, t, lv->p[lv->n - 1].name, v, i, db_dialect(db));
    if (!rc)
        rc = db_exec_len(db, sql.data, sql.len);
    if (!rc) {
        log_info("partition: table '%s': added %zu partition(s) %s .. %s ahead", t->name, i - 1,
                 v[0].name, v[i - 2].name);
        if (rep)
            rep->added += i - 1;
    }
    free(v);
    buf_release(&sql);
    return rc;
}

static int count_rows(struct db *db, const struct table_def *t, const char *part,
                      unsigned long long *n)
{
    struct buf sql = BUF_INIT;
    bool is_null = false;
    int rc = buf_adds(&sql, "SELECT COUNT(*) FROM ");
    if (!rc)
        rc = db_append_ident(&sql, t->name);
    if (!rc)
        rc = buf_adds(&sql, " PARTITION (");
    if (!rc)
        rc = db_append_ident(&sql, part);
    if (!rc)
        rc = buf_adds(&sql, ")");
    if (!rc)
        rc = db_query_u64(db, sql.data, n, &is_null);
    buf_release(&sql);
    return rc;
}

static int record_drop(struct db *db, const struct table_def *t, const struct live_partition *p,
                       const char *start, unsigned long long rows, const char *cutoff,
                       unsigned long long run_id)
{
    struct buf sql = BUF_INIT;
    int rc = run_id ? buf_addf(&sql,
                               "INSERT INTO load_partition_drops (run_id, table_name, "
                               "partition_name, range_start, range_end, rows_dropped, "
                               "retention_days, cutoff, dropped_at) VALUES (%llu, ",
                               run_id)
                    : buf_adds(&sql, "INSERT INTO load_partition_drops (run_id, table_name, "
                                     "partition_name, range_start, range_end, rows_dropped, "
                                     "retention_days, cutoff, dropped_at) VALUES (NULL, ");
    if (!rc)
        rc = db_append_quoted(db, &sql, t->name, strlen(t->name));
    if (!rc)
        rc = buf_adds(&sql, ", ");
    if (!rc)
        rc = db_append_quoted(db, &sql, p->name, strlen(p->name));
    if (!rc)
        rc = start ? buf_addf(&sql, ", '%s', ", start) : buf_adds(&sql, ", NULL, ");
    if (!rc)
        rc = buf_addf(&sql, "'%s', %llu, %u, '%s', UTC_TIMESTAMP(3))", p->bound, rows,
                      t->partition->retention_days, cutoff);
    if (!rc)
        rc = db_exec_len(db, sql.data, sql.len);
    buf_release(&sql);
    return rc;
}

/* Empties the leading partitions wholly older than now - retention and
 * merges them into p_past. */
static int apply_retention(struct db *db, const struct table_def *t, const struct live *lv,
                           time_t now, unsigned long long run_id, struct partition_report *rep)
{
    const struct partition_def *pd = t->partition;
    time_t cut = now - (time_t)pd->retention_days * 86400;
    partition_day cut_day = day_of(cut);
    char cutoff[32], cut_text[11];
    size_t nexp = 0, nact = 0;
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
    const char **names = calloc(nexp, sizeof(*names));
    struct buf sql = BUF_INIT;
    if (!rows || !names)
        rc = err_set(ML_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < nexp; i++)
        rc = count_rows(db, t, lv->p[i].name, &rows[i]);
    /* an empty p_past alone: nothing to do (every run would see it) */
    bool merge = nexp > 1 || strcmp(lv->p[0].name, PARTITION_PAST) != 0;
    for (size_t i = 0; !rc && i < nexp; i++)
        if (rows[i] || merge)
            names[nact++] = lv->p[i].name;
    if (!rc && nact)
        rc = ddlgen_partition_truncate(&sql, t, names, nact, db_dialect(db));
    if (!rc && nact)
        rc = db_exec_len(db, sql.data, sql.len);
    if (!rc && merge) {
        struct ddlgen_partition into;
        snprintf(into.name, sizeof(into.name), "%s", PARTITION_PAST);
        snprintf(into.bound, sizeof(into.bound), "%s", lv->p[nexp - 1].bound);
        buf_reset(&sql);
        for (size_t i = 0; i < nexp; i++)
            names[i] = lv->p[i].name;
        rc = ddlgen_partition_merge_first(&sql, t, names, nexp, &into, db_dialect(db));
        if (!rc)
            rc = db_exec_len(db, sql.data, sql.len);
    }
    for (size_t i = 0; !rc && i < nexp; i++) {
        if (!rows[i] && !merge)
            continue;
        if (!rows[i] && strcmp(lv->p[i].name, PARTITION_PAST) == 0)
            continue; /* an empty p_past merged with the others: nothing was dropped from it */
        rc = record_drop(db, t, &lv->p[i], i ? lv->p[i - 1].bound : NULL, rows[i], cutoff, run_id);
        if (!rc) {
            log_info("partition: table '%s': dropped partition %s (before %s, %llu rows): "
                     "older than the retention of %ud (cutoff %s)",
                     t->name, lv->p[i].name, lv->p[i].bound, rows[i], pd->retention_days, cutoff);
            if (rep) {
                rep->dropped++;
                rep->rows_dropped += rows[i];
            }
        }
    }
    free(rows);
    free(names);
    buf_release(&sql);
    return rc;
}

/* The server errors of an ALTER whose partitions another maintenance
 * (another run, on this node or another) changed meanwhile: the named
 * partition is gone or already there (1516: a partition to reorganize is
 * gone), or the ranges no longer meet. */
static bool changed_meanwhile(unsigned err)
{
    return err == 1507 || err == 1508 || err == 1516 || err == 1517 || err == 1519 || err == 1520 ||
           err == 1735;
}

/* No lock: every statement names the partitions it expects, so when two
 * maintenances meet, the later statement fails on the server
 * (changed_meanwhile) and is planned again from the partitions as they are
 * now, which then needs nothing more. A named lock (GET_LOCK) would let
 * any account that guesses its name stall the loader, and serialises
 * nothing across the nodes of a cluster. */
int partition_maintain(struct db *db, const char *database, const struct table_def *t,
                       unsigned long long run_id, struct partition_report *rep)
{
    struct live lv = {0};
    time_t now;
    if (!t || !t->partition)
        return err_set(ML_EINVAL, "partition maintenance of a table that is not partitioned");
    int rc = wallclock_now(&now);
    /* an ALTER waits for readers of the table (a long analyst query): not
     * for ever, and not holding back the readers queued behind it */
    if (!rc)
        rc = db_exec(db, "SET @maskload_lwt = @@SESSION.lock_wait_timeout, SESSION "
                         "lock_wait_timeout = 60");
    bool set_lwt = !rc;
    for (int attempt = 0; !rc && attempt < 3; attempt++) {
        rc = read_live(db, database, t, &lv);
        if (!rc)
            rc = add_ahead(db, t, &lv, now, rep);
        if (!rc && t->partition->retention_days) {
            free(lv.p);
            lv = (struct live){0};
            rc = read_live(db, database, t, &lv);
            if (!rc)
                rc = apply_retention(db, t, &lv, now, run_id, rep);
        }
        free(lv.p);
        lv = (struct live){0};
        /* a deadlock or lock wait with another maintenance's ALTER is
         * planned again too: the other one has usually done the work */
        if (!rc || !(changed_meanwhile(db_errno(db)) || db_error_is_transient(db)) || attempt == 2)
            break;
        log_info("partition: table '%s': its partitions changed meanwhile (another "
                 "maintenance: %s); planning again",
                 t->name, err_msg());
        rc = 0;
    }
    if (set_lwt)
        (void)db_exec(db, "SET SESSION lock_wait_timeout = @maskload_lwt");
    return rc;
}

int partition_maintain_all(struct db *db, const char *database,
                           const struct stream_def *const *defs, size_t ndefs,
                           unsigned long long run_id)
{
    for (size_t i = 0; i < ndefs; i++) {
        const struct table_def *t = defs[i] ? defs[i]->table : NULL;
        if (!t || !t->partition)
            continue;
        int rc = partition_maintain(db, database, t, run_id, NULL);
        if (rc)
            return err_prefix(rc, "partitions of table '%s'", t->name);
    }
    return 0;
}
