/* cmd_init.c - `maskload init`. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "schema.h"
#include "banned.h"

int cmd_init(const struct config *cfg, int argc, char **argv)
{
    struct schema_report rep;
    int rc;
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            puts(
                "usage: maskload [-c FILE] init\n\n"
                "Creates (or brings up to date) the warehouse database, its tables, the roles and\n"
                "accounts, the grants and the monitoring and analysis views. Safe to rerun.\n"
                "After a mapping change it adds new columns and widens types (ALTER TABLE);\n"
                "a narrowing or incompatible change (or any change under `schema: freeze`)\n"
                "exits 2 with nothing changed. Columns a mapping no longer has stay.\n"
                "`maskload plan` shows the statements first.");
            return EXIT_OK;
        }
        fprintf(stderr, "maskload: init: unexpected argument '%s'\n", argv[1]);
        return EXIT_USAGE;
    }
    rc = schema_init(cfg, &rep);
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
