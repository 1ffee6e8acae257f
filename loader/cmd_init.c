/* cmd_init.c - `maskload init`. */
#include <stdio.h>

#include "cmd.h"
#include "log.h"
#include "schema.h"
#include "banned.h"

static const char init_help[] =
    "usage: maskload [-c FILE] init [--reset-passwords]\n\n"
    "Creates (or brings up to date) the warehouse database, its tables, the roles and\n"
    "accounts, the grants and the monitoring and analysis views. Safe to rerun.\n"
    "After a mapping change it adds new columns and widens types (ALTER TABLE);\n"
    "a narrowing or incompatible change (or any change under `schema: freeze`)\n"
    "exits 2 with nothing changed. Columns a mapping no longer has stay.\n"
    "An account that exists keeps its password (init says so, and warns when it\n"
    "is not the configured one); --reset-passwords sets the configured ones.\n"
    "`maskload plan` shows the statements first.";

int cmd_init(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"reset-passwords", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct schema_options opt = {0};
    struct schema_report rep;
    int c, status = EXIT_OK, rc;
    while ((c = cmd_option(argc, argv, ":rh", opts, init_help, &status)) >= 0)
        if (c == 'r')
            opt.reset_passwords = true;
    if (c == CMD_OPTS_EXIT)
        return status;
    rc = schema_init(cfg, &opt, &rep);
    if (rc)
        return cmd_fail(rc);
    log_info("init: database '%s' ready on %s: %zu table files, %zu stream tables, "
             "%zu sensitive tables, %zu views (%zu skipped), %zu accounts, %zu statements",
             cfg->warehouse.database, rep.server, rep.tables, rep.stream_tables,
             rep.sensitive_tables, rep.views, rep.views_skipped, rep.accounts, rep.statements);
    if (rep.tables_altered || rep.columns_kept)
        log_info("init: %zu tables altered: %zu columns added, %zu changed; %zu columns no "
                 "longer in a mapping kept",
                 rep.tables_altered, rep.columns_added, rep.columns_changed, rep.columns_kept);
    return EXIT_OK;
}
