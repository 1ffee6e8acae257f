/* cmd_doctor.c - `maskload doctor`. */
#include <stdio.h>

#include "cmd.h"
#include "doctor.h"
#include "error.h"
#include "banned.h"

static const char doctor_help[] =
    "usage: maskload [-c FILE] doctor\n\n"
    "Checks the setup and says how to fix what is wrong: the warehouse connection,\n"
    "server, local_infile, sql_mode, time zone, TLS, the loader's privileges, the\n"
    "digest key against the warehouse's fingerprint, anonymous accounts that shadow\n"
    "the configured ones (with an admin section), and each source (its first page;\n"
    "a queue's attributes, receiving nothing). Changes nothing.\n"
    "Exit 0 when nothing FAILs (WARNs allowed), 1 otherwise.";

int cmd_doctor(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const level_names[] = {"OK  ", "WARN", "FAIL"};
    struct doctor_report rep;
    int o, status = EXIT_OK, rc;
    while ((o = cmd_option(argc, argv, ":h", opts, doctor_help, &status)) >= 0)
        ;
    if (o == CMD_OPTS_EXIT)
        return status;
    rc = doctor_run(cfg, &rep);
    if (rc)
        return cmd_fail(rc);
    for (size_t i = 0; i < rep.n; i++) {
        const struct doctor_check *c = &rep.checks[i];
        printf("%s  %-20s %s\n", level_names[c->level], c->name, c->finding);
        if (c->fix[0])
            printf("      %-20s fix: %s\n", "", c->fix);
    }
    printf("doctor: %zu checks, %zu warnings, %zu failures\n", rep.n, rep.warns, rep.fails);
    rc = rep.fails ? EXIT_FAILED : EXIT_OK;
    doctor_report_release(&rep);
    return rc;
}
