/* cmd_check.c - `maskload check [--format table|json|prometheus]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cmd.h"
#include "json.h"
#include "monitor.h"
#include "banned.h"

/* "2026-12-02T01:00:00Z" of seconds since 1970, UTC. */
static void utc_text(long long s, char *out, size_t cap)
{
    time_t t = (time_t)s;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, cap, "?");
}

static void print_streams_table(const struct monitor_stream *st, size_t ns)
{
    char when[32];
    printf("%-40s %s\n", "stream", "last successful run");
    for (size_t i = 0; i < ns; i++) {
        if (st[i].ever)
            utc_text(st[i].last_success_s, when, sizeof(when));
        printf("%-40s %s\n", st[i].stream, st[i].ever ? when : "never");
    }
}

static void print_table(const struct monitor_result *r, size_t n, size_t over, size_t skipped)
{
    printf("%-40s %10s %10s  %s\n", "view", "rows", "threshold", "status");
    for (size_t i = 0; i < n; i++)
        printf("%-40s %10llu %10ld  %s\n", r[i].view, r[i].rows, r[i].threshold,
               r[i].over ? "OVER" : "ok");
    printf("%zu of %zu views over threshold\n", over, n);
    if (skipped)
        printf("%zu views not installed: they read tables no configured stream creates\n", skipped);
}

static void print_json(const struct monitor_result *r, size_t n, size_t over, size_t skipped,
                       const struct monitor_stream *st, size_t ns)
{
    struct buf b = BUF_INIT;
    buf_addf(&b, "{\"over\":%zu,\"skipped\":%zu,\"views\":[", over, skipped);
    for (size_t i = 0; i < n; i++) {
        buf_adds(&b, i ? ",{\"view\":" : "{\"view\":");
        json_quote(&b, r[i].view);
        buf_addf(&b, ",\"rows\":%llu,\"threshold\":%ld,\"over\":%s}", r[i].rows, r[i].threshold,
                 r[i].over ? "true" : "false");
    }
    buf_adds(&b, "],\"streams\":[");
    for (size_t i = 0; i < ns; i++) {
        char when[32];
        buf_adds(&b, i ? ",{\"stream\":" : "{\"stream\":");
        json_quote(&b, st[i].stream);
        if (st[i].ever) {
            utc_text(st[i].last_success_s, when, sizeof(when));
            buf_addf(&b, ",\"last_success\":\"%s\",\"last_success_timestamp\":%lld}", when,
                     st[i].last_success_s);
        } else {
            buf_adds(&b, ",\"last_success\":null,\"last_success_timestamp\":null}");
        }
    }
    buf_adds(&b, "]}");
    puts(b.data);
    buf_release(&b);
}

static void print_prometheus(const struct monitor_result *r, size_t n,
                             const struct monitor_stream *st, size_t ns)
{
    puts("# HELP maskload_monitor_rows Rows returned by a maskload monitoring view.");
    puts("# TYPE maskload_monitor_rows gauge");
    for (size_t i = 0; i < n; i++)
        printf("maskload_monitor_rows{view=\"%s\"} %llu\n", r[i].view, r[i].rows);
    puts("# HELP maskload_monitor_threshold Rows allowed before the check fails.");
    puts("# TYPE maskload_monitor_threshold gauge");
    for (size_t i = 0; i < n; i++)
        printf("maskload_monitor_threshold{view=\"%s\"} %ld\n", r[i].view, r[i].threshold);
    puts("# HELP maskload_stream_last_success_timestamp_seconds When the last successful run "
         "that loaded a stream finished (0: never).");
    puts("# TYPE maskload_stream_last_success_timestamp_seconds gauge");
    for (size_t i = 0; i < ns; i++)
        printf("maskload_stream_last_success_timestamp_seconds{stream=\"%s\"} %lld\n", st[i].stream,
               st[i].ever ? st[i].last_success_s : 0LL);
}

static const char check_help[] =
    "usage: maskload [-c FILE] check [--format table|json|prometheus]\n\n"
    "Counts the rows of every monitoring view and compares them with the thresholds\n"
    "of the config (check.thresholds, check.default_threshold). Exit status 3 when a\n"
    "view is over its threshold; a stream's freshness or min_rows view fails at one\n"
    "row unless check.thresholds names it. Shows the last successful run per stream.";

int cmd_check(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *format = "table";
    struct monitor_result *res;
    struct monitor_stream *st = NULL;
    size_t n, over, skipped, ns = 0;
    int c, status = EXIT_OK, rc;
    while ((c = cmd_option(argc, argv, ":f:h", opts, check_help, &status)) >= 0) {
        switch (c) {
        case 'f':
            format = optarg;
            break;
        }
    }
    if (c == CMD_OPTS_EXIT)
        return status;
    if (strcmp(format, "table") && strcmp(format, "json") && strcmp(format, "prometheus")) {
        fprintf(stderr, "maskload: check: unknown format '%s' (want table, json or prometheus)\n",
                format);
        return EXIT_USAGE;
    }
    rc = monitor_check(cfg, &res, &n, &over, &skipped);
    if (rc)
        return cmd_fail(rc);
    rc = monitor_streams(cfg, &st, &ns);
    if (rc) {
        free(res);
        return cmd_fail(rc);
    }
    if (strcmp(format, "json") == 0)
        print_json(res, n, over, skipped, st, ns);
    else if (strcmp(format, "prometheus") == 0)
        print_prometheus(res, n, st, ns);
    else {
        print_table(res, n, over, skipped);
        print_streams_table(st, ns);
    }
    free(res);
    free(st);
    return over ? EXIT_ANOMALIES : EXIT_OK;
}
