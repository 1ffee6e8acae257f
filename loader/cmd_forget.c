/* cmd_forget.c - `maskload forget --subject ID --reason TEXT`. */
#include <stdio.h>

#include "cmd.h"
#include "erase.h"
#include "banned.h"

static const char forget_help[] =
    "usage: maskload [-c FILE] forget --subject ID --reason TEXT\n"
    "\n"
    "Erases data subject ID (the value of the columns the stream definitions declare\n"
    "`subject: true`, e.g. a user id) from every configured stream, in one transaction:\n"
    "its rows and their child rows, its rejects, and the surrogate values no remaining row\n"
    "references. Records a keyed digest of ID (never ID itself) in pii_erasures, so that\n"
    "later runs skip its records, and the request in pii_access_log. Run with the loader's\n"
    "config. Exit status 2 for a missing or blank reason or subject (nothing is changed).";

int cmd_forget(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"subject", required_argument, NULL, 's'},
        {"reason", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *subject = NULL, *reason = NULL;
    struct erase_report rep;
    int c, status = EXIT_OK, rc;
    while ((c = cmd_option(argc, argv, ":s:r:h", opts, forget_help, &status)) >= 0) {
        switch (c) {
        case 's':
            subject = optarg;
            break;
        case 'r':
            reason = optarg;
            break;
        }
    }
    if (c == CMD_OPTS_EXIT)
        return status;
    if (!subject || !reason) {
        fprintf(stderr, "maskload: forget: --subject and --reason are required\n");
        return EXIT_USAGE;
    }
    rc = erase_forget(cfg, subject, reason, &rep);
    if (rc)
        return cmd_fail(rc);
    printf("forgot subject (digest %s): %llu rows, %llu rejects, %llu surrogates deleted%s\n",
           rep.digest_hex, rep.rows_deleted, rep.rejects_deleted, rep.surrogates_deleted,
           rep.rows_deleted || rep.rejects_deleted ? ""
           : rep.already_erased                    ? " (it was erased before)"
                                : " (no row held it; recorded so that later runs skip it)");
    return EXIT_OK;
}
