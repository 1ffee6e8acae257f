/* loadrun.c - loadrun.h. */
#include "loadrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "streamdef.h"
#include "banned.h"

bool loadrun_selected(const struct load_options *opt, const char *stream)
{
    return !opt || !opt->only_stream || strcmp(opt->only_stream, stream) == 0;
}

int loadrun_names(const struct config *cfg, const struct load_options *opt, struct buf *names,
                  size_t *nrun)
{
    int rc = 0;
    *nrun = 0;
    for (size_t i = 0; !rc && i < cfg->nstreams; i++) {
        if (!loadrun_selected(opt, cfg->streams[i].name))
            continue;
        rc = buf_addf(names, "%s%s", *nrun ? "," : "", cfg->streams[i].name);
        (*nrun)++;
    }
    return rc;
}

int loadrun_each(const struct config *cfg, const struct load_options *opt,
                 int (*load)(void *arg, const struct config_stream *st), void *arg)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < cfg->nstreams; i++)
        if (loadrun_selected(opt, cfg->streams[i].name))
            rc = load(arg, &cfg->streams[i]);
    return rc;
}

int loadrun_end(int rc, bool lost, unsigned long long run_id,
                int (*end)(void *arg, int status_rc, const char *error_text), void *arg)
{
    char saved[2048];
    if (!rc)
        return end(arg, 0, NULL);
    snprintf(saved, sizeof(saved), "%s%s", lost ? "lost the connection to the warehouse: " : "",
             err_msg());
    if (end(arg, rc, saved)) {
        char why[1024]; /* err_set must not read the buffer it writes */
        snprintf(why, sizeof(why), "%s", err_msg());
        return err_set(rc, "%s (and run %llu could not be marked failed: %s)", saved, run_id, why);
    }
    return err_set(rc, "%s", saved);
}

/* The tables of def, main then children, as they are named. */
static const struct table_def *table_at(const struct stream_def *def, unsigned i)
{
    return i == 0 ? def->table : def->children[i - 1].table;
}

static bool kind_in_table(const struct table_def *t, const char *kind)
{
    for (unsigned c = 0; t && c < t->ncols; c++)
        if (t->cols[c].type == COL_SURROGATE && t->cols[c].kind &&
            strcmp(t->cols[c].kind, kind) == 0)
            return true;
    return false;
}

bool loadrun_share(const struct stream_def *a, const struct stream_def *b, char *why, size_t len)
{
    if (!a || !b)
        return false;
    for (unsigned i = 0; i <= a->nchildren; i++) {
        const struct table_def *ta = table_at(a, i);
        if (!ta)
            continue;
        for (unsigned j = 0; j <= b->nchildren; j++) {
            const struct table_def *tb = table_at(b, j);
            if (tb && strcmp(ta->name, tb->name) == 0) {
                snprintf(why, len, "table %s", ta->name);
                return true;
            }
        }
        for (unsigned c = 0; c < ta->ncols; c++) {
            const char *kind = ta->cols[c].kind;
            if (ta->cols[c].type != COL_SURROGATE || !kind)
                continue;
            for (unsigned j = 0; j <= b->nchildren; j++)
                if (kind_in_table(table_at(b, j), kind)) {
                    snprintf(why, len, "surrogate kind '%s'", kind);
                    return true;
                }
        }
    }
    return false;
}

int loadrun_group(const struct config *cfg, const struct load_options *opt,
                  struct loadrun_groups *g)
{
    unsigned *label;
    memset(g, 0, sizeof(*g));
    g->streams = calloc(cfg->nstreams ? cfg->nstreams : 1, sizeof(*g->streams));
    g->group = calloc(cfg->nstreams ? cfg->nstreams : 1, sizeof(*g->group));
    label = calloc(cfg->nstreams ? cfg->nstreams : 1, sizeof(*label));
    if (!g->streams || !g->group || !label) {
        free(label);
        loadrun_groups_free(g);
        return err_set(ML_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < cfg->nstreams; i++)
        if (loadrun_selected(opt, cfg->streams[i].name)) {
            label[g->n] = (unsigned)g->n;
            g->streams[g->n++] = &cfg->streams[i];
        }
    /* one label per group: the smallest index among its streams */
    for (size_t i = 0; i < g->n; i++)
        for (size_t j = i + 1; j < g->n; j++) {
            char why[128];
            unsigned from, to;
            if (label[i] == label[j] ||
                !loadrun_share(g->streams[i]->def, g->streams[j]->def, why, sizeof(why)))
                continue;
            from = label[i] > label[j] ? label[i] : label[j];
            to = label[i] < label[j] ? label[i] : label[j];
            for (size_t k = 0; k < g->n; k++)
                if (label[k] == from)
                    label[k] = to;
        }
    /* numbered in the order of their first stream */
    for (size_t i = 0; i < g->n; i++) {
        if (label[i] == i)
            g->group[i] = (unsigned)g->ngroups++;
        else
            g->group[i] = g->group[label[i]];
    }
    free(label);
    return 0;
}

void loadrun_groups_free(struct loadrun_groups *g)
{
    free(g->streams);
    free(g->group);
    memset(g, 0, sizeof(*g));
}
