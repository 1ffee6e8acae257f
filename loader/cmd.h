/* cmd.h - the CLI's commands. They parse their own options, call module
 * APIs, print results, and return an exit status (never exit()). */
#ifndef ML_CMD_H
#define ML_CMD_H

#include <getopt.h>

#include "config.h"

enum exit_status { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_ANOMALIES = 3 };

/* argv[0] is the command name. cfg is loaded and valid, except for
 * `maskload help CMD` and `CMD --help`, which call the command with cfg
 * NULL: a command handles --help (prints its usage, returns EXIT_OK)
 * before it reads cfg, and reads no cfg while parsing its options. */
int cmd_init(const struct config *cfg, int argc, char **argv);
int cmd_plan(const struct config *cfg, int argc, char **argv);
int cmd_run(const struct config *cfg, int argc, char **argv);
int cmd_check(const struct config *cfg, int argc, char **argv);
int cmd_status(const struct config *cfg, int argc, char **argv);
int cmd_privacy_report(const struct config *cfg, int argc, char **argv);
int cmd_reveal(const struct config *cfg, int argc, char **argv);
int cmd_forget(const struct config *cfg, int argc, char **argv);
int cmd_rekey(const struct config *cfg, int argc, char **argv);
int cmd_doctor(const struct config *cfg, int argc, char **argv);
int cmd_infer(const struct config *cfg, int argc, char **argv);

/* Prints "maskload: error: <err_msg()>" and returns the exit status for `rc`. */
int cmd_fail(int rc);

/* One step of a command's option parsing: getopt_long over argv (argv[0]
 * the command's name) with `shortopts` (starting with ':') and `opts`
 * (ending in a zero entry; {"help", no_argument, NULL, 'h'} among them).
 * Returns the `val` of the next option (optarg set for its value), or
 *   CMD_OPTS_DONE  the options are over and no argument is left over;
 *   CMD_OPTS_EXIT  the command ends now with *status: --help printed `help`
 *                  (EXIT_OK), or a missing value, an unknown option or a
 *                  left-over argument was reported on stderr naming the
 *                  command and the option (EXIT_USAGE).
 * The command handles every other value it listed; nothing else comes. */
enum { CMD_OPTS_DONE = -1, CMD_OPTS_EXIT = -2 };
int cmd_option(int argc, char **argv, const char *shortopts, const struct option *opts,
               const char *help, int *status);

#endif
