/* cmd_plan.c - `maskload plan`. */
#include <stdio.h>

#include "buf.h"
#include "cmd.h"
#include "log.h"
#include "schema.h"
#include "banned.h"

static const char plan_help[] =
    "usage: maskload [-c FILE] plan\n\n"
    "Prints the statements `maskload init` would run now, one per line ending in\n"
    "';' (CREATE for missing tables, ALTER TABLE for tables whose mapping changed,\n"
    "the grants), and in '-- ' lines what it does besides (views, accounts; never a\n"
    "password). Changes nothing. Exit 2, with init's message, when init would\n"
    "refuse a change.";

int cmd_plan(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct schema_report rep;
    struct buf out = BUF_INIT;
    int c, status = EXIT_OK, rc;
    while ((c = cmd_option(argc, argv, ":h", opts, plan_help, &status)) >= 0)
        ;
    if (c == CMD_OPTS_EXIT)
        return status;
    rc = schema_plan(cfg, &out, &rep);
    if (rc) {
        buf_release(&out);
        return cmd_fail(rc);
    }
    fputs(out.data, stdout);
    fflush(stdout); /* the plan before the summary on stderr */
    buf_release(&out);
    log_info("plan: %zu statements; %zu tables to alter (%zu columns to add, %zu to change), "
             "%zu columns no longer in a mapping kept; nothing was changed",
             rep.statements, rep.tables_altered, rep.columns_added, rep.columns_changed,
             rep.columns_kept);
    return EXIT_OK;
}
