/* cmd_status.c - `maskload status [--limit N]`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "runs.h"
#include "banned.h"

int cmd_status(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"limit", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned long limit = 10;
    struct run_info *runs;
    size_t n;
    int c, rc;
    char *end;
    while ((c = getopt_long(argc, argv, ":n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            limit = strtoul(optarg, &end, 10);
            if (*end || limit == 0 || limit > 10000) {
                fprintf(stderr,
                        "maskload: status: --limit wants a number from 1 to 10000, not '%s'\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            puts("usage: maskload [-c FILE] status [--limit N]\n\nShows the N most recent runs "
                 "(default 10).");
            return EXIT_OK;
        case ':':
            fprintf(stderr, "maskload: status: option '%s' needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "maskload: status: unknown option '%s'\n", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "maskload: status: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    rc = runs_recent(cfg, (unsigned)limit, &runs, &n);
    if (rc)
        return cmd_fail(rc);
    if (n == 0)
        puts("no runs recorded yet");
    for (size_t i = 0; i < n; i++) {
        /* a 'running' row whose lease is dead (runs.h) */
        char state[96];
        if (runs[i].stale == 1)
            snprintf(state, sizeof(state), "running (stale: process gone)");
        else if (runs[i].stale && runs[i].heartbeat_at[0])
            snprintf(state, sizeof(state), "running (stale: no heartbeat since %s)",
                     runs[i].heartbeat_at);
        else if (runs[i].stale)
            snprintf(state, sizeof(state), "running (stale: no lease)");
        else
            snprintf(state, sizeof(state), "%s", runs[i].status);
        printf("run %llu  %-9s  started %s  finished %s  streams %s\n", runs[i].run_id, state,
               runs[i].started_at, runs[i].finished_at[0] ? runs[i].finished_at : "-",
               runs[i].streams);
        if (runs[i].counts[0])
            printf("    %s\n", runs[i].counts);
        if (runs[i].error[0])
            printf("    error: %s\n", runs[i].error);
    }
    free(runs);
    return EXIT_OK;
}
