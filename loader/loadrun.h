/* loadrun.h - the steps of `maskload run` that do not depend on the
 * warehouse, shared by load.c (MySQL) and load_pg.c (PostgreSQL): which
 * streams run, the loop over them, and ending the run with the first
 * error's message. */
#ifndef ML_LOADRUN_H
#define ML_LOADRUN_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "load.h"

/* Whether `stream` runs under opt (NULL or no only_stream: every one). */
bool loadrun_selected(const struct load_options *opt, const char *stream);

/* Appends the names of the streams that run, comma-separated, in config
 * order, to *names; *nrun is how many. 0 or ML_ENOMEM. */
int loadrun_names(const struct config *cfg, const struct load_options *opt, struct buf *names,
                  size_t *nrun);

/* Calls load(arg, stream) for every stream that runs, in config order,
 * until one fails; its code, else 0. */
int loadrun_each(const struct config *cfg, const struct load_options *opt,
                 int (*load)(void *arg, const struct config_stream *st), void *arg);

/* Ends run `run_id` through end(arg, status_rc, error_text), which records
 * it. rc 0: the run succeeded, end(arg, 0, NULL)'s code is returned. rc not
 * 0: end(arg, rc, message) marks it failed with err_msg() (after "lost the
 * connection to the warehouse: " when `lost`), rc is returned with that
 * message, and if end fails too the message says so and why. */
int loadrun_end(int rc, bool lost, unsigned long long run_id,
                int (*end)(void *arg, int status_rc, const char *error_text), void *arg);

#endif
