/* cmd.h - the CLI's commands. They parse their own options, call module
 * APIs, print results, and return an exit status (never exit()). */
#ifndef ML_CMD_H
#define ML_CMD_H

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

#endif
