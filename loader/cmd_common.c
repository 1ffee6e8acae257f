/* cmd_common.c - what every command shares: the failure exit and option
 * parsing with the same messages (cmd.h). */
#include <stdio.h>

#include "cmd.h"
#include "error.h"
#include "log.h"
#include "banned.h"

int cmd_fail(int rc)
{
    const char *msg = err_msg();
    log_error("%s", msg[0] ? msg : err_describe(rc));
    return (rc == ML_ECONFIG || rc == ML_EUSAGE) ? EXIT_USAGE : EXIT_FAILED;
}

int cmd_option(int argc, char **argv, const char *shortopts, const struct option *opts,
               const char *help, int *status)
{
    int c = getopt_long(argc, argv, shortopts, opts, NULL);
    switch (c) {
    case -1:
        if (optind >= argc)
            return CMD_OPTS_DONE;
        fprintf(stderr, "maskload: %s: unexpected argument '%s'\n", argv[0], argv[optind]);
        break;
    case 'h':
        puts(help);
        *status = EXIT_OK;
        return CMD_OPTS_EXIT;
    case ':':
        fprintf(stderr, "maskload: %s: option '%s' needs a value\n", argv[0], argv[optind - 1]);
        break;
    case '?':
        fprintf(stderr, "maskload: %s: unknown option '%s'\n", argv[0], argv[optind - 1]);
        break;
    default:
        return c;
    }
    *status = EXIT_USAGE;
    return CMD_OPTS_EXIT;
}
