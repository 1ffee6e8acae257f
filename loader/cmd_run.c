/* cmd_run.c - `maskload run [--stream NAME] [--follow] [--full] [--as-of TIME]
 * [--rebuild-history]`. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "error.h"
#include "history.h"
#include "load.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "runs.h"
#include "banned.h"

/* The metrics of run `run_id` into `path` (metrics.h). */
static int write_metrics(const struct config *cfg, unsigned long long run_id, const char *path)
{
    struct run_info *run = NULL;
    struct monitor_stream *last = NULL;
    size_t nlast = 0;
    int rc = runs_get(cfg, run_id, &run);
    if (!rc)
        rc = monitor_streams(cfg, &last, &nlast);
    if (!rc)
        rc = metrics_write(path, run, last, nlast);
    free(last);
    runs_free(run, run ? 1 : 0);
    return rc;
}

static const char run_help[] =
    "usage: maskload [-c FILE] run [--stream NAME] [--follow] [--full] [--as-of TIME]\n"
    "                             [--rebuild-history] [--metrics-file PATH]\n\n"
    "Loads every configured stream (or only NAME) into the warehouse.\n"
    "--follow keeps polling a queue stream (kind sqs) instead of stopping when\n"
    "it is empty; SIGINT or SIGTERM ends it after committing what was read.\n"
    "--full reads incremental streams whole, ignoring their stored cursor\n"
    "(the cursor of what it loads is stored at the end).\n"
    "--as-of YYYY-MM-DDTHH:MM:SSZ: the time the snapshot of a history stream\n"
    "(history: scd2) is as of (default: the run's start); never older than the\n"
    "history's latest change. --rebuild-history is refused: snapshots are not kept.\n"
    "--metrics-file PATH writes Prometheus textfile metrics of the run to PATH.";

int cmd_run(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"stream", required_argument, NULL, 's'},
        {"follow", no_argument, NULL, 'f'},
        {"full", no_argument, NULL, 'F'},
        {"as-of", required_argument, NULL, 'a'},
        {"metrics-file", required_argument, NULL, 'm'},
        {"rebuild-history", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct load_options opt = {0};
    struct load_result res;
    char as_of[HISTORY_AS_OF_LEN];
    int c, status = EXIT_OK, rc;
    const char *metrics_file = NULL;
    while ((c = cmd_option(argc, argv, ":s:fFa:rm:h", opts, run_help, &status)) >= 0) {
        switch (c) {
        case 's':
            opt.only_stream = optarg;
            break;
        case 'f':
            opt.follow = true;
            break;
        case 'F':
            opt.full = true;
            break;
        case 'a':
            if (history_parse_as_of(optarg, as_of))
                return cmd_fail(ML_EUSAGE);
            opt.as_of = as_of;
            break;
        case 'r':
            opt.rebuild_history = true;
            break;
        case 'm':
            metrics_file = optarg;
            break;
        }
    }
    if (c == CMD_OPTS_EXIT)
        return status;
    rc = load_run(cfg, &opt, &res);
    if (metrics_file && res.run_id) {
        char saved[2048]; /* the run's error survives the metrics' */
        snprintf(saved, sizeof(saved), "%s", rc ? err_msg() : "");
        int mrc = write_metrics(cfg, res.run_id, metrics_file);
        if (mrc)
            log_error("run %llu: %s", res.run_id, err_msg());
        if (rc)
            err_set(rc, "%s", saved);
        else
            rc = mrc;
    }
    if (rc) {
        if (res.run_id)
            log_error("run %llu failed", res.run_id);
        return cmd_fail(rc);
    }
    log_info("run %llu succeeded", res.run_id);
    return EXIT_OK;
}
