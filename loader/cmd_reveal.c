/* cmd_reveal.c - `maskload reveal --kind KIND --id N --reason TEXT`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "cmd.h"
#include "error.h"
#include "reveal.h"
#include "banned.h"

static const char reveal_help[] =
    "usage: maskload [-c FILE] reveal --kind KIND --id N --reason TEXT\n"
    "\n"
    "Prints the value behind surrogate N of KIND (sensitive_<KIND>_ids), read through the\n"
    "audited procedure pii_reveal as the config's warehouse account (the steward's own\n"
    "config names the steward account). Every call is logged in pii_access_log with the\n"
    "account, the time, the kind, the id and the reason. Exit status 1 when there is no\n"
    "such id (the call is logged), 2 for a missing or blank reason (nothing is sent).";

int cmd_reveal(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"kind", required_argument, NULL, 'k'},
        {"id", required_argument, NULL, 'i'},
        {"reason", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *kind = NULL, *id_text = NULL, *reason = NULL;
    unsigned long long id;
    struct buf value = BUF_INIT;
    bool found = false;
    char *end;
    int c, status = EXIT_OK, rc;
    while ((c = cmd_option(argc, argv, ":k:i:r:h", opts, reveal_help, &status)) >= 0) {
        switch (c) {
        case 'k':
            kind = optarg;
            break;
        case 'i':
            id_text = optarg;
            break;
        case 'r':
            reason = optarg;
            break;
        }
    }
    if (c == CMD_OPTS_EXIT)
        return status;
    if (!kind || !id_text || !reason) {
        fprintf(stderr, "maskload: reveal: --kind, --id and --reason are required\n");
        return EXIT_USAGE;
    }
    errno = 0;
    id = strtoull(id_text, &end, 10);
    if (id_text[0] < '0' || id_text[0] > '9' || *end || errno || id == 0) {
        fprintf(stderr,
                "maskload: reveal: --id wants a surrogate id (a positive integer), not "
                "'%s'\n",
                id_text);
        return EXIT_USAGE;
    }
    rc = reveal_value(cfg, kind, id, reason, &value, &found);
    if (rc) {
        buf_wipe(&value);
        return cmd_fail(rc);
    }
    if (!found) {
        fprintf(stderr, "maskload: reveal: no %s with id %llu (the request is logged)\n", kind, id);
        return EXIT_FAILED;
    }
    fwrite(value.data, 1, value.len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    buf_wipe(&value);
    return EXIT_OK;
}
