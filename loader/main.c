/* main.c - maskload's command line: global options, config, dispatch. */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "error.h"
#include "http.h"
#include "load.h"
#include "log.h"
#include "retry.h"
#include "version.h"
#include "banned.h"

/* The commands, declared once: dispatch and the unknown-command message
 * are derived from this table. */
static const struct command {
    const char *name;
    int (*fn)(const struct config *cfg, int argc, char **argv);
} commands[] = {
    {"init", cmd_init},     {"plan", cmd_plan},     {"run", cmd_run},
    {"check", cmd_check},   {"status", cmd_status}, {"privacy-report", cmd_privacy_report},
    {"reveal", cmd_reveal}, {"forget", cmd_forget}, {"rekey", cmd_rekey},
    {"doctor", cmd_doctor}, {"infer", cmd_infer},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* True when the command's arguments (argv[0] the command) ask for help. */
static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

/* "init, plan, ... or forget" */
static void command_list(char *out, size_t sz)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < NCOMMANDS && used < sz; i++)
        used += (size_t)snprintf(out + used, sz - used, "%s%s",
                                 i == 0               ? ""
                                 : i + 1 == NCOMMANDS ? " or "
                                                      : ", ",
                                 commands[i].name);
}

static const char usage_text[] =
    "usage: maskload [-c FILE] [-v | -q] COMMAND [OPTIONS]\n"
    "\n"
    "PII-safe analytics-warehouse loader for MySQL/MariaDB.\n"
    "\n"
    "commands (`maskload help COMMAND` or `maskload COMMAND --help` for one):\n"
    "  init                 create the database, tables, roles, accounts, grants and views\n"
    "                       (idempotent; uses the `admin` account of the config); after a\n"
    "                       mapping change adds columns and widens types, refuses the rest\n"
    "  plan                 print the statements init would run; changes nothing\n"
    "  run [--stream NAME] [--follow] [--full] [--as-of TIME]\n"
    "                       load every configured stream, or only NAME; --follow keeps\n"
    "                       polling a queue stream until SIGINT/SIGTERM; --full: incremental\n"
    "                       streams ignore their cursor; --as-of: the time a history\n"
    "                       stream's snapshot is as of (UTC, ...Z)\n"
    "  check [--format table|json|prometheus]\n"
    "                       count the monitoring views; exit 3 when one is over its threshold\n"
    "  status [--limit N]   show the most recent runs\n"
    "  privacy-report [--stream NAME] [--format table|json]  re-identification risk, counts only\n"
    "  reveal --kind KIND --id N --reason TEXT   print a surrogate's value (audited, steward)\n"
    "  forget --subject ID --reason TEXT         erase a data subject from every stream\n"
    "  rekey --new-key-file F   move the surrogate digests to a new key (rekey --help)\n"
    "  doctor               check the setup (server, privileges, key, sources) and say the fix\n"
    "  infer --source NAME [--path P] [--sample N]  print a mapping proposed from a sample\n"
    "\n"
    "options:\n"
    "  -c, --config FILE    configuration file (default: $MASKLOAD_CONFIG, else ./maskload.yaml)\n"
    "  -v, --verbose        debug logging\n"
    "  -q, --quiet          errors only\n"
    "      --version        print the version and exit\n"
    "  -h, --help           print this help and exit\n"
    "\n"
    "exit status: 0 ok, 1 run failed, 2 usage or configuration error,\n"
    "             3 anomalies over threshold (check)\n";

static void on_signal(int sig)
{
    (void)sig;
    load_request_stop();
    retry_request_stop(); /* ends a wait between HTTP retries in any thread */
}

/* The process holds passwords, the digest key and PII in memory: it never
 * writes a core file (RLIMIT_CORE 0, also for a core_pattern pipe, which the
 * kernel skips for a non-dumpable process) and other unprivileged processes
 * of the same user cannot ptrace it or read its /proc/<pid>/mem. Done first,
 * before the config (and its secrets) is read. Returns 0 or -1. */
static int disable_core_dumps(void)
{
    struct rlimit rl = {0, 0};
    int rc = 0;
    if (setrlimit(RLIMIT_CORE, &rl) != 0)
        rc = -1;
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        rc = -1;
    return rc;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "maskload: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'maskload --help'.\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
    };
    const char *config_path = getenv("MASKLOAD_CONFIG");
    int verbosity = 0, c, status;
    struct config cfg;
    const char *cmd;
    const struct command *command;

    if (disable_core_dumps() != 0) {
        fprintf(stderr, "maskload: cannot disable core dumps; refusing to handle secrets\n");
        return EXIT_FAILED;
    }
    /* Each page is parsed into tens of thousands of small JSON nodes and freed
     * whole. With glibc's fastbins those frees are consolidated again at every
     * larger allocation, which measured as about half the loader's CPU time
     * (bench/README.md); without fastbins the same load takes half the CPU. */
    mallopt(M_MXFAST, 0);
    if (!config_path || !*config_path)
        config_path = "maskload.yaml";
    /* '+': stop at the command; its options are its own */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:c:vqh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'v':
            verbosity = 1;
            break;
        case 'q':
            verbosity = -1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        case 'V':
            printf("maskload %s\n", MASKLOAD_VERSION);
            return EXIT_OK;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        char list[256];
        command_list(list, sizeof(list));
        return usage_error("no command given (%s)", list);
    }
    cmd = argv[optind];
    /* `maskload help [CMD]` and `maskload CMD --help`: the usage, without
     * reading the config (a command prints it before it touches cfg) */
    if (strcmp(cmd, "help") == 0) {
        char *help_argv[] = {optind + 1 < argc ? argv[optind + 1] : NULL, "--help", NULL};
        if (!help_argv[0]) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        }
        if (optind + 2 < argc)
            return usage_error("help takes one command, not '%s'", argv[optind + 2]);
        command = find_command(help_argv[0]);
        if (!command) {
            char list[256], msg[512];
            command_list(list, sizeof(list));
            snprintf(msg, sizeof(msg), "no help for '%s': not a command (commands: %s)",
                     help_argv[0], list);
            return usage_error("%s", msg);
        }
        optind = 0;
        return command->fn(NULL, 2, help_argv);
    }
    command = find_command(cmd);
    if (command && wants_help(argc - optind, argv + optind)) {
        argc -= optind;
        argv += optind;
        optind = 0;
        return command->fn(NULL, argc, argv);
    }
    if (!command) {
        char list[256], msg[512];
        command_list(list, sizeof(list));
        snprintf(msg, sizeof(msg), "unknown command '%s' (want %s)", cmd, list);
        return usage_error("%s", msg);
    }

    log_set_level(verbosity > 0 ? LOG_DEBUG : verbosity < 0 ? LOG_ERROR : LOG_INFO);
    if (config_load(&cfg, config_path)) {
        log_error("config: %s", err_msg());
        return EXIT_USAGE;
    }
    if (verbosity == 0) {
        enum log_level lvl;
        if (cfg.log_level && log_parse_level(cfg.log_level, &lvl) == 0)
            log_set_level(lvl);
    }
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    if (http_global_init()) {
        config_release(&cfg);
        return cmd_fail(ML_EHTTP);
    }
    argc -= optind;
    argv += optind;
    optind = 0; /* reset getopt for the command's own options */
    status = command->fn(&cfg, argc, argv);
    http_global_cleanup();
    config_release(&cfg);
    return status;
}
