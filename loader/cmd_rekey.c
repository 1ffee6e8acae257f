/* cmd_rekey.c - `maskload rekey --new-key-file F [--hmac-columns-change]
 * [--erased-subjects-loadable]`. */
#include <stdio.h>

#include "cmd.h"
#include "log.h"
#include "rekey.h"
#include "banned.h"

static const char rekey_help[] =
    "usage: maskload [-c FILE] rekey --new-key-file F [--hmac-columns-change]\n"
    "                                [--erased-subjects-loadable]\n\n"
    "Moves every surrogate digest of the warehouse (every sensitive_<kind>_ids table) from\n"
    "the configured key to the key in F (its first line, as pii.digest_key_file reads it),\n"
    "kind by kind, each in one transaction; surrogate ids and analyst tables do not change.\n"
    "Killed midway, the same command resumes; until it has finished, init and run refuse.\n"
    "Afterwards point pii.digest_key_file at F.\n\n"
    "  --new-key-file F            the new key (make one: openssl rand -hex 32 > F; chmod 600 F)\n"
    "  --hmac-columns-change       accept that pii: hmac columns keep old-key values in rows\n"
    "                              loaded before and get new-key values after\n"
    "  --erased-subjects-loadable  accept that subjects recorded in pii_erasures load again\n"
    "                              (their digests cannot be recomputed)";

int cmd_rekey(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"new-key-file", required_argument, NULL, 'k'},
        {"hmac-columns-change", no_argument, NULL, 'H'},
        {"erased-subjects-loadable", no_argument, NULL, 'E'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct rekey_options opt = {0};
    struct rekey_report rep;
    char a[PII_KEY_FP_BUF], b[PII_KEY_FP_BUF];
    int c, status = EXIT_OK, rc;
    while ((c = cmd_option(argc, argv, ":h", opts, rekey_help, &status)) >= 0) {
        switch (c) {
        case 'k':
            opt.new_key_file = optarg;
            break;
        case 'H':
            opt.hmac_columns_change = true;
            break;
        case 'E':
            opt.erased_subjects_loadable = true;
            break;
        }
    }
    if (c == CMD_OPTS_EXIT)
        return status;
    if (!opt.new_key_file) {
        fprintf(stderr, "maskload: rekey: --new-key-file FILE is required\n");
        return EXIT_USAGE;
    }
    rc = rekey_run(cfg, &opt, &rep);
    if (rc)
        return cmd_fail(rc);
    log_info("rekey: done%s: %zu kinds (%zu converted now, %zu before), %llu digests rewritten; "
             "the warehouse's key is now %s (was %s)",
             rep.resumed ? " (resumed)" : "", rep.kinds, rep.kinds_converted, rep.kinds_already,
             rep.rows, pii_key_show(rep.new_fp, a), pii_key_show(rep.old_fp, b));
    if (rep.hmac_columns)
        log_warn("rekey: %zu pii: hmac columns keep old-key values in the rows loaded before",
                 rep.hmac_columns);
    printf("rekey finished: now point pii.digest_key_file at %s (and remove any pii.digest: "
           "sha256); runs with the old key are refused from now on\n",
           opt.new_key_file);
    return EXIT_OK;
}
