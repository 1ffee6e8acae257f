/* cmd_run.c - `maskload run [--stream NAME] [--follow] [--full]`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "load.h"
#include "log.h"
#include "banned.h"

int cmd_run(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"stream", required_argument, NULL, 's'},
        {"follow", no_argument, NULL, 'f'},
        {"full", no_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct load_options opt = {0};
    struct load_result res;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":s:fFh", opts, NULL)) != -1) {
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
        case 'h':
            puts("usage: maskload [-c FILE] run [--stream NAME] [--follow] [--full]\n\n"
                 "Loads every configured stream (or only NAME) into the warehouse.\n"
                 "--follow keeps polling a queue stream (kind sqs) instead of stopping when\n"
                 "it is empty; SIGINT or SIGTERM ends it after committing what was read.\n"
                 "--full reads incremental streams whole, ignoring their stored cursor\n"
                 "(the cursor of what it loads is stored at the end).");
            return EXIT_OK;
        case ':':
            fprintf(stderr, "maskload: run: option '%s' needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "maskload: run: unknown option '%s'\n", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "maskload: run: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    rc = load_run(cfg, &opt, &res);
    if (rc) {
        if (res.run_id)
            log_error("run %llu failed", res.run_id);
        return cmd_fail(rc);
    }
    log_info("run %llu succeeded", res.run_id);
    return EXIT_OK;
}
