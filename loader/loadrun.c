/* loadrun.c - loadrun.h. */
#include "loadrun.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
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
