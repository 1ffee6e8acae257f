/* batchtx.c - the statements of a batch's transaction besides its rows
 * (which writer.h writes): exactly-once claims, child-table tails, rejects. */
#include "batchtx.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "error.h"
#include "log.h"
#include "banned.h"

/* Statements are cut at about this size, well under max_allowed_packet. */
#define STMT_TARGET (4u << 20)

static int cmp_child_key(const void *a, const void *b)
{
    long long x = ((const struct child_count *)a)->parent_key;
    long long y = ((const struct child_count *)b)->parent_key;
    return x < y ? -1 : x > y;
}

int batchtx_trim_children(struct db *db, struct buf *sql, const struct batch *b, unsigned ci)
{
    const struct table_def *t = batch_def(b)->children[ci].table;
    size_t nchildren;
    const struct child_count *children = batch_children(b, ci, &nchildren);
    struct child_count *sorted = NULL, *trim = NULL;
    size_t ntrim = 0;
    int rc = 0;
    if (!t || nchildren == 0)
        return 0;
    sorted = malloc(nchildren * sizeof(*sorted));
    trim = malloc(nchildren * sizeof(*trim));
    if (!sorted || !trim) {
        rc = err_set(ML_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(sorted, children, nchildren * sizeof(*sorted));
    qsort(sorted, nchildren, sizeof(*sorted), cmp_child_key);
    for (size_t i = 0; !rc && i < nchildren;) {
        struct db_result *r;
        const char *const *row;
        size_t end = i + 5000 < nchildren ? i + 5000 : nchildren;
        buf_reset(sql);
        rc = buf_addf(sql, "SELECT `%s`, MAX(`%s`) FROM `%s` WHERE `%s`", t->cols[0].name,
                      t->cols[1].name, t->name, t->cols[0].name);
        /* parent keys (sorted, distinct) filling at least half of their
         * range: one range read, whose other parents find no match below */
        if (!rc && (unsigned long long)sorted[end - 1].parent_key -
                           (unsigned long long)sorted[i].parent_key <
                       2 * (unsigned long long)(end - i)) {
            rc = buf_addf(sql, " BETWEEN %lld AND %lld", sorted[i].parent_key,
                          sorted[end - 1].parent_key);
            i = end;
        } else {
            if (!rc)
                rc = buf_adds(sql, " IN (");
            for (size_t first = i; !rc && i < end; i++)
                rc = buf_addf(sql, "%s%lld", i == first ? "" : ",", sorted[i].parent_key);
            if (!rc)
                rc = buf_addc(sql, ')');
        }
        if (!rc)
            rc = buf_addf(sql, " GROUP BY `%s`", t->cols[0].name);
        if (!rc)
            rc = db_query(db, sql->data, &r);
        if (rc)
            break;
        while (db_result_next(r, &row, NULL) == 1) {
            struct child_count key = {0, 0}, *hit;
            if (!row[0] || !row[1])
                continue;
            key.parent_key = strtoll(row[0], NULL, 10);
            hit = bsearch(&key, sorted, nchildren, sizeof(*sorted), cmp_child_key);
            if (hit && strtoull(row[1], NULL, 10) >= hit->count)
                trim[ntrim++] = *hit;
        }
        db_result_free(r);
    }
    for (size_t i = 0; !rc && i < ntrim;) {
        buf_reset(sql);
        rc = buf_addf(sql, "DELETE FROM `%s` WHERE ", t->name);
        for (size_t first = i; !rc && i < ntrim && i - first < 1000; i++)
            rc = buf_addf(sql, "%s(`%s`=%lld AND `%s`>=%u)", i == first ? "" : " OR ",
                          t->cols[0].name, trim[i].parent_key, t->cols[1].name, trim[i].count);
        if (!rc)
            rc = db_exec_len(db, sql->data, sql->len);
    }
out:
    free(sorted);
    free(trim);
    return rc ? err_prefix(rc, "trimming %s", t->name) : 0;
}

/* load_rejects' source_ref and reason hold this many characters (ddl/
 * 080_load_audit.sql, and PostgreSQL's): a longer one is cut, at a
 * character's start. */
#define REJECT_TEXT_CHARS 2048
/* rows per statement: four parameters each (a bound statement has at most
 * 65535), and the text at about STMT_TARGET */
#define REJECT_ROWS_MAX 1000

/* One row's placeholders: $1 the run, $2 the stream, then its four. */
static int reject_row_sql(struct buf *sql, bool pg, bool first, unsigned k)
{
    return buf_addf(sql, "%s(%s, $2, $%u, $%u, $%u, $%u, %s)", first ? "" : ", ",
                    pg ? "$1::bigint" : "$1", k, k + 1, k + 2, k + 3,
                    pg ? "(now() AT TIME ZONE 'UTC')" : "UTC_TIMESTAMP(3)");
}

int batchtx_rejects(struct wh *w, const struct batch *b, const char *stream,
                    unsigned long long run_id)
{
    const bool pg = wh_is_postgres(w);
    const size_t nrejects = batch_counts(b).rejected;
    const size_t nmax = 2 + 4 * (size_t)REJECT_ROWS_MAX;
    const char **values = NULL;
    size_t *lens = NULL, i = 0;
    char run[24];
    struct buf sql = BUF_INIT;
    int rc = 0;
    if (!nrejects)
        return 0;
    values = calloc(nmax, sizeof(*values));
    lens = calloc(nmax, sizeof(*lens));
    if (!values || !lens)
        rc = err_set(ML_ENOMEM, "out of memory");
    snprintf(run, sizeof(run), "%llu", run_id);
    while (!rc && i < nrejects) {
        size_t bytes = 0;
        unsigned n = 2;
        values[0] = run;
        lens[0] = strlen(run);
        values[1] = stream;
        lens[1] = strlen(stream);
        buf_reset(&sql);
        rc = buf_adds(&sql, "INSERT INTO load_rejects (run_id, stream, source_ref, record_key, "
                            "reason, payload, rejected_at) VALUES ");
        for (size_t first = i; !rc && i < nrejects && i - first < REJECT_ROWS_MAX &&
                               (i == first || bytes < STMT_TARGET);
             i++) {
            const struct reject *r = batch_reject(b, i);
            const char *v[4] = {batch_rej_text(b, r->source_ref), batch_rej_text(b, r->record_key),
                                batch_rej_text(b, r->reason), batch_rej_text(b, r->payload)};
            rc = reject_row_sql(&sql, pg, i == first, n + 1);
            for (unsigned c = 0; !rc && c < 4; c++) {
                size_t len = v[c] ? strlen(v[c]) : 0;
                if (c == 0 || c == 2) { /* source_ref, reason: never NULL, at most so long */
                    if (!v[c])
                        v[c] = "";
                    len = convert_utf8_prefix(v[c], len, REJECT_TEXT_CHARS);
                }
                values[n] = v[c];
                lens[n++] = len;
                bytes += len;
            }
        }
        if (!rc)
            rc = wh_exec_params(w, sql.data, (int)n, values, lens);
    }
    buf_release(&sql);
    free(values);
    free(lens);
    return rc ? err_prefix(rc, "recording the rejects of stream '%s' in load_rejects", stream) : 0;
}

int batchtx_claim(struct db *db, struct buf *sql, struct batch *b, unsigned long long run_id)
{
    const struct stream_def *def = batch_def(b);
    struct batch_claim *cl = NULL;
    bool *dropped = NULL;
    size_t n = 0, ndropped = 0;
    int rc = batch_claims(b, &cl, &n);
    if (!rc && !(dropped = calloc(n ? n : 1, sizeof(bool))))
        rc = err_set(ML_ENOMEM, "out of memory claiming records");
    for (size_t i = 0; !rc && i < n; i++) {
        buf_reset(sql);
        rc = buf_adds(sql, "INSERT IGNORE INTO ");
        if (!rc)
            rc = db_append_ident(sql, def->processed_table);
        if (!rc)
            rc = buf_adds(sql, " (stream, record_id, run_id, outcome, processed_at) VALUES (");
        if (!rc)
            rc = db_append_quoted(db, sql, def->name, strlen(def->name));
        if (!rc)
            rc = buf_addc(sql, ',');
        if (!rc)
            rc = db_append_quoted(db, sql, batch_claim_key(&cl[i]), cl[i].len);
        if (!rc)
            rc = buf_addf(sql, ",%llu,'%s',UTC_TIMESTAMP(3))", run_id,
                          cl[i].reject ? "rejected" : "loaded");
        if (!rc)
            rc = db_exec_len(db, sql->data, sql->len);
        if (!rc && db_affected_rows(db) == 0)
            dropped[i] = true;
    }
    if (rc && cl)
        err_prefix(rc, "recording processed records in %s", def->processed_table);
    if (!rc)
        rc = batch_drop_claims(b, cl, n, dropped, &ndropped);
    if (!rc && ndropped)
        log_info("%zu records already processed by an earlier transaction (redelivered): "
                 "skipped",
                 ndropped);
    free(cl);
    free(dropped);
    return rc;
}
