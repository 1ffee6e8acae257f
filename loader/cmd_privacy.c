/* cmd_privacy.c - `maskload privacy-report [--stream NAME] [--format table|json]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "json.h"
#include "privacy.h"
#include "banned.h"

static void print_table(const struct privacy_report *rep)
{
    for (size_t i = 0; i < rep->ntables; i++) {
        const struct privacy_table *t = &rep->tables[i];
        printf("%sstream %s, %stable %s: %llu rows\n", i ? "\n" : "", t->stream,
               t->child ? "child " : "", t->table, t->rows);
        if (t->nquasi) {
            printf("  quasi-identifiers (");
            for (unsigned q = 0; q < t->nquasi; q++)
                printf("%s%s", q ? ", " : "", t->quasi[q]);
            printf("), k = %u: %llu rows (%.2f%%) in %llu groups smaller than k\n", t->k,
                   t->rows_small_groups, 100.0 * privacy_share(t->rows_small_groups, t->rows),
                   t->small_groups);
        }
        printf("  %-32s %12s %9s\n", "column", "unique rows", "share");
        for (size_t c = 0; c < t->ncols; c++)
            printf("  %-32s %12llu %8.2f%%%s\n", t->cols[c].name, t->cols[c].unique_rows,
                   100.0 * privacy_share(t->cols[c].unique_rows, t->rows),
                   t->cols[c].key ? "  (key)" : "");
    }
}

static void print_json(const struct privacy_report *rep)
{
    struct buf b = BUF_INIT;
    buf_adds(&b, "{\"tables\":[");
    for (size_t i = 0; i < rep->ntables; i++) {
        const struct privacy_table *t = &rep->tables[i];
        buf_adds(&b, i ? ",{\"stream\":" : "{\"stream\":");
        json_quote(&b, t->stream);
        buf_adds(&b, ",\"table\":");
        json_quote(&b, t->table);
        buf_addf(&b, ",\"child\":%s,\"rows\":%llu", t->child ? "true" : "false", t->rows);
        if (t->nquasi) {
            buf_adds(&b, ",\"quasi_identifiers\":[");
            for (unsigned q = 0; q < t->nquasi; q++) {
                if (q)
                    buf_addc(&b, ',');
                json_quote(&b, t->quasi[q]);
            }
            buf_addf(&b,
                     "],\"k\":%u,\"small_groups\":%llu,\"rows_in_small_groups\":%llu,"
                     "\"small_group_share\":%.6f",
                     t->k, t->small_groups, t->rows_small_groups,
                     privacy_share(t->rows_small_groups, t->rows));
        }
        buf_adds(&b, ",\"columns\":[");
        for (size_t c = 0; c < t->ncols; c++) {
            buf_adds(&b, c ? ",{\"name\":" : "{\"name\":");
            json_quote(&b, t->cols[c].name);
            buf_addf(&b, ",\"key\":%s,\"unique_rows\":%llu,\"unique_share\":%.6f}",
                     t->cols[c].key ? "true" : "false", t->cols[c].unique_rows,
                     privacy_share(t->cols[c].unique_rows, t->rows));
        }
        buf_adds(&b, "]}");
    }
    buf_adds(&b, "]}");
    puts(b.data);
    buf_release(&b);
}

static const char privacy_help[] =
    "usage: maskload [-c FILE] privacy-report [--stream NAME] [--format table|json]\n\n"
    "Prints, per stream table the analyst reads: its rows; the share of rows in\n"
    "quasi-identifier groups smaller than k (when the stream declares\n"
    "quasi_identifiers and k); for each column, the share of rows whose value no\n"
    "other row has. Counts only, never a value. Connects as the loader.";

int cmd_privacy_report(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"stream", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *format = "table", *stream = NULL;
    struct privacy_report rep;
    int c, status = EXIT_OK, rc;
    while ((c = cmd_option(argc, argv, ":s:f:h", opts, privacy_help, &status)) >= 0) {
        switch (c) {
        case 's':
            stream = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        }
    }
    if (c == CMD_OPTS_EXIT)
        return status;
    if (strcmp(format, "table") && strcmp(format, "json")) {
        fprintf(stderr, "maskload: privacy-report: unknown format '%s' (want table or json)\n",
                format);
        return EXIT_USAGE;
    }
    rc = privacy_measure(cfg, stream, &rep);
    if (rc)
        return cmd_fail(rc);
    if (strcmp(format, "json") == 0)
        print_json(&rep);
    else
        print_table(&rep);
    privacy_report_release(&rep);
    return EXIT_OK;
}
