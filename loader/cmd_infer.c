/* cmd_infer.c - `maskload infer`. */
#include <stdio.h>
#include <stdlib.h>

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
    static const struct option opts[] = {
        {"source", required_argument, NULL, 's'},
        {"path", required_argument, NULL, 'p'},
        {"sample", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct infer_opts o = {NULL, NULL, 1000};
    struct infer_report rep;
    struct buf out = BUF_INIT;
    int c, status = EXIT_OK, rc;
    while ((c = cmd_option(argc, argv, ":s:p:n:h", opts, infer_usage, &status)) >= 0) {
        switch (c) {
        case 's':
            o.source = optarg;
            break;
        case 'p':
            o.path = optarg;
            break;
        case 'n': {
            char *end;
            unsigned long n = strtoul(optarg, &end, 10);
            if (optarg[0] < '1' || optarg[0] > '9' || *end || n > 1000000) {
                fprintf(stderr,
                        "maskload: infer: --sample needs a number of records, 1..1000000\n");
                return EXIT_USAGE;
            }
            o.sample = n;
            break;
        }
        }
    }
    if (c == CMD_OPTS_EXIT)
        return status;
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
