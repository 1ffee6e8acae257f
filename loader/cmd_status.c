/* cmd_status.c - `maskload status [--limit N] [--format table|json]`. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "json.h"
#include "runs.h"
#include "banned.h"

/* "succeeded", or for a 'running' row whose lease is dead (runs.h) why */
static void run_state(const struct run_info *r, char *out, size_t sz)
{
    if (r->stale == 1)
        snprintf(out, sz, "running (stale: process gone)");
    else if (r->stale && r->heartbeat_at[0])
        snprintf(out, sz, "running (stale: no heartbeat since %s)", r->heartbeat_at);
    else if (r->stale)
        snprintf(out, sz, "running (stale: no lease)");
    else
        snprintf(out, sz, "%s", r->status);
}

/* {"runs":[{"run_id", "status", "stale", "started_at", "finished_at",
 * "streams", "error", "counts": {"users": {"fetched": 15, ...}}}]} */
static int print_json(const struct run_info *runs, size_t n)
{
    static const char *const stale_words[] = {"", "process gone", "no heartbeat"};
    struct buf b = BUF_INIT;
    int rc = buf_adds(&b, "{\"runs\":[");
    for (size_t i = 0; !rc && i < n; i++) {
        const struct run_info *r = &runs[i];
        rc = buf_addf(&b, "%s{\"run_id\":%llu,\"status\":", i ? "," : "", r->run_id);
        if (!rc)
            rc = json_quote(&b, r->status);
        if (!rc)
            rc = buf_adds(&b, ",\"stale\":");
        if (!rc)
            rc = r->stale ? json_quote(&b, stale_words[r->stale > 2 ? 2 : r->stale])
                          : buf_adds(&b, "null");
        if (!rc)
            rc = buf_adds(&b, ",\"started_at\":");
        if (!rc)
            rc = json_quote(&b, r->started_at);
        if (!rc)
            rc = buf_adds(&b, ",\"finished_at\":");
        if (!rc)
            rc = r->finished_at[0] ? json_quote(&b, r->finished_at) : buf_adds(&b, "null");
        if (!rc)
            rc = buf_adds(&b, ",\"streams\":");
        if (!rc)
            rc = json_quote(&b, r->streams);
        if (!rc)
            rc = buf_adds(&b, ",\"error\":");
        if (!rc)
            rc = r->error[0] ? json_quote(&b, r->error) : buf_adds(&b, "null");
        if (!rc)
            rc = buf_adds(&b, ",\"counts\":{");
        for (size_t k = 0; !rc && k < r->ncounts; k++) {
            rc = buf_adds(&b, k ? "," : "");
            if (!rc)
                rc = json_quote(&b, r->counts[k].stream);
            for (size_t c = 0; !rc && c < RUN_NCOUNTS; c++)
                rc = buf_addf(&b, "%s\"%s\":%llu", c ? "," : ":{", run_count_columns[c],
                              r->counts[k].n[c]);
            if (!rc)
                rc = buf_addc(&b, '}');
        }
        if (!rc)
            rc = buf_adds(&b, "}}");
    }
    if (!rc)
        rc = buf_adds(&b, "]}\n");
    if (!rc)
        fputs(b.data, stdout);
    buf_release(&b);
    return rc;
}

static const char status_help[] =
    "usage: maskload [-c FILE] status [--limit N] [--format table|json]\n\n"
    "Shows the N most recent runs (default 10) with every count of each stream:\n"
    "fetched, loaded, rejected, duplicates, erased, with unknown fields, malformed\n"
    "values stored as NULL, new surrogates; and whether a running run is stale.";

int cmd_status(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"limit", required_argument, NULL, 'n'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned long limit = 10;
    bool json = false;
    struct run_info *runs;
    size_t n;
    int c, status = EXIT_OK, rc;
    char *end;
    while ((c = cmd_option(argc, argv, ":n:f:h", opts, status_help, &status)) >= 0) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "json") && strcmp(optarg, "table")) {
                fprintf(stderr, "maskload: status: --format wants table or json, not '%s'\n",
                        optarg);
                return EXIT_USAGE;
            }
            json = strcmp(optarg, "json") == 0;
            break;
        case 'n':
            limit = strtoul(optarg, &end, 10);
            if (*end || limit == 0 || limit > 10000) {
                fprintf(stderr,
                        "maskload: status: --limit wants a number from 1 to 10000, not '%s'\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        }
    }
    if (c == CMD_OPTS_EXIT)
        return status;
    rc = runs_recent(cfg, (unsigned)limit, &runs, &n);
    if (rc)
        return cmd_fail(rc);
    if (json) {
        rc = print_json(runs, n);
        runs_free(runs, n);
        return rc ? cmd_fail(rc) : EXIT_OK;
    }
    if (n == 0)
        puts("no runs recorded yet");
    for (size_t i = 0; i < n; i++) {
        char state[96];
        run_state(&runs[i], state, sizeof(state));
        printf("run %llu  %-9s  started %s  finished %s  streams %s\n", runs[i].run_id, state,
               runs[i].started_at, runs[i].finished_at[0] ? runs[i].finished_at : "-",
               runs[i].streams);
        for (size_t k = 0; k < runs[i].ncounts; k++) {
            const struct run_stream_counts *sc = &runs[i].counts[k];
            printf("    %s:", sc->stream);
            for (size_t k2 = RUN_fetched; k2 < RUN_NCOUNTS; k2++)
                printf("%s %llu %s", k2 == RUN_fetched ? "" : ",", sc->n[k2], run_count_labels[k2]);
            printf(" (%llu pages)\n", sc->n[RUN_pages]);
        }
        if (runs[i].error[0])
            printf("    error: %s\n", runs[i].error);
    }
    runs_free(runs, n);
    return EXIT_OK;
}
