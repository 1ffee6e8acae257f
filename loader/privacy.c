#include "privacy.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "streamdef.h"
#include "wh.h"
#include "banned.h"

double privacy_share(unsigned long long part, unsigned long long whole)
{
    return whole ? (double)part / (double)whole : 0.0;
}

void privacy_report_release(struct privacy_report *rep)
{
    for (size_t i = 0; i < rep->ntables; i++)
        free(rep->tables[i].cols);
    free(rep->tables);
    rep->tables = NULL;
    rep->ntables = 0;
}

/* "`a`, `b`" (quoted as the dialect quotes): the quasi-identifier list. */
static int add_column_list(struct wh *w, struct buf *sql, const char *const *cols, unsigned n)
{
    int rc = 0;
    for (unsigned i = 0; !rc && i < n; i++) {
        if (i)
            rc = buf_adds(sql, ", ");
        if (!rc)
            rc = wh_append_ident(wh_dialect(w), sql, cols[i]);
    }
    return rc;
}

/* "SELECT <what> FROM (SELECT COUNT(*) AS n FROM `table` GROUP BY <cols>
 * HAVING COUNT(*) < below) AS g": the grouping runs in the server, one
 * number comes back. */
static int query_small(struct wh *w, const char *what, const char *table, const char *const *cols,
                       unsigned n, unsigned long long below, unsigned long long *out)
{
    struct buf sql = BUF_INIT;
    int rc = buf_addf(&sql, "SELECT %s FROM (SELECT COUNT(*) AS n FROM ", what);
    if (!rc)
        rc = wh_append_ident(wh_dialect(w), &sql, table);
    if (!rc)
        rc = buf_adds(&sql, " GROUP BY ");
    if (!rc)
        rc = add_column_list(w, &sql, cols, n);
    if (!rc)
        rc = buf_addf(&sql, " HAVING COUNT(*) < %llu) AS g", below);
    if (!rc)
        rc = wh_query_u64(w, sql.data, 0, NULL, out, NULL);
    buf_release(&sql);
    return rc;
}

/* The rows (and, when `groups` is not NULL, the groups) of `table` whose
 * combination of `cols` is shared by fewer than `below` rows. */
static int count_small(struct wh *w, const char *table, const char *const *cols, unsigned n,
                       unsigned long long below, unsigned long long *rows,
                       unsigned long long *groups)
{
    int rc = query_small(w, "COALESCE(SUM(g.n), 0)", table, cols, n, below, rows);
    if (!rc && groups)
        rc = query_small(w, "COUNT(*)", table, cols, n, below, groups);
    return rc;
}

static int measure_table(struct wh *w, const char *stream, const struct table_def *t,
                         const struct stream_def *def, bool child, struct privacy_table *out)
{
    struct buf sql = BUF_INIT;
    int rc;
    memset(out, 0, sizeof(*out));
    out->stream = stream;
    out->table = t->name;
    out->child = child;
    out->cols = calloc(t->ncols ? t->ncols : 1, sizeof(*out->cols));
    if (!out->cols)
        return err_set(ML_ENOMEM, "out of memory");
    out->ncols = t->ncols;
    rc = buf_adds(&sql, "SELECT COUNT(*) FROM ");
    if (!rc)
        rc = wh_append_ident(wh_dialect(w), &sql, t->name);
    if (!rc)
        rc = wh_query_u64(w, sql.data, 0, NULL, &out->rows, NULL);
    buf_release(&sql);
    if (!rc && !child && def->nquasi) {
        out->quasi = def->quasi;
        out->nquasi = def->nquasi;
        out->k = def->k;
        rc = count_small(w, t->name, def->quasi, def->nquasi, def->k, &out->rows_small_groups,
                         &out->small_groups);
    }
    for (unsigned c = 0; !rc && c < t->ncols; c++) {
        const char *name = t->cols[c].name;
        out->cols[c].name = name;
        out->cols[c].key = c < t->nkey;
        rc = count_small(w, t->name, &name, 1, 2, &out->cols[c].unique_rows, NULL);
    }
    if (rc)
        err_prefix(rc, "measuring table '%s' of stream '%s'", t->name, stream);
    return rc;
}

int privacy_measure(const struct config *cfg, const char *only_stream, struct privacy_report *rep)
{
    struct wh *w = NULL;
    size_t cap = 0;
    int rc = 0;
    memset(rep, 0, sizeof(*rep));
    if (only_stream && !config_find_stream(cfg, only_stream))
        return err_set(ML_EUSAGE, "privacy-report: no stream '%s' in the configuration",
                       only_stream);
    for (size_t i = 0; i < cfg->nstreams; i++)
        if (cfg->streams[i].def && (!only_stream || strcmp(only_stream, cfg->streams[i].name) == 0))
            cap += 1 + cfg->streams[i].def->nchildren;
    rep->tables = calloc(cap ? cap : 1, sizeof(*rep->tables));
    if (!rep->tables)
        return err_set(ML_ENOMEM, "out of memory");
    rc = wh_connect(cfg, WH_LOADER, &w);
    for (size_t i = 0; !rc && i < cfg->nstreams; i++) {
        const struct config_stream *st = &cfg->streams[i];
        const struct stream_def *def = st->def;
        if (!def || (only_stream && strcmp(only_stream, st->name) != 0))
            continue;
        for (unsigned p = 0; !rc && p <= def->nchildren; p++) {
            const struct table_def *t = p ? def->children[p - 1].table : def->table;
            rc = measure_table(w, st->name, t, def, p > 0, &rep->tables[rep->ntables]);
            rep->ntables++; /* counted either way: its cols are released */
        }
    }
    wh_close(w);
    if (rc) {
        privacy_report_release(rep);
        return err_prefix(rc, "privacy-report");
    }
    return 0;
}
