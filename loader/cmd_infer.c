/* cmd_infer.c - `maskload infer`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "infer.h"
#include "log.h"
#include "banned.h"

static const char infer_usage[] =
    "usage: maskload [-c FILE] infer --source NAME [--path PATH] [--sample N]\n\n"
    "Reads N records (default 1000) of a configured source (an http source at PATH\n"
    "under its base_url, or a file source; never a queue) and prints a mapping\n"
    "document on stdout, usable as `mapping: FILE` unedited: types from the values,\n"
    "a key from an id-like field, nested objects as dotted paths, arrays of objects\n"
    "as children, and for personal data (by field name and value shape) an action\n"
    "with a comment saying why. It never prints a sampled value. Changes nothing.";

int cmd_infer(const struct config *cfg, int argc, char **argv)
{
    struct infer_opts o = {NULL, NULL, 1000};
    struct infer_report rep;
    struct buf out = BUF_INIT;
    int rc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            puts(infer_usage);
            return EXIT_OK;
        }
        if (strcmp(a, "--source") != 0 && strcmp(a, "--path") != 0 && strcmp(a, "--sample") != 0) {
            fprintf(stderr, "maskload: infer: unexpected argument '%s'\n", a);
            return EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "maskload: infer: option '%s' needs a value\n", a);
            return EXIT_USAGE;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--source") == 0) {
            o.source = v;
        } else if (strcmp(a, "--path") == 0) {
            o.path = v;
        } else {
            char *end;
            unsigned long n = strtoul(v, &end, 10);
            if (v[0] < '1' || v[0] > '9' || *end || n > 1000000) {
                fprintf(stderr,
                        "maskload: infer: --sample needs a number of records, 1..1000000\n");
                return EXIT_USAGE;
            }
            o.sample = n;
        }
    }
    if (!o.source) {
        fprintf(stderr, "maskload: infer: --source NAME is required\n");
        return EXIT_USAGE;
    }
    rc = infer_mapping(cfg, &o, &out, &rep);
    if (rc) {
        buf_release(&out);
        return cmd_fail(rc);
    }
    fputs(out.data, stdout);
    fflush(stdout);
    buf_release(&out);
    log_info("infer: %lu records sampled (%lu unreadable), %lu columns proposed, %lu fields "
             "judged personal",
             rep.records, rep.unreadable, rep.columns, rep.personal);
    return EXIT_OK;
}
