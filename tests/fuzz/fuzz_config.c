/* fuzz_config.c - libFuzzer target: config_parse() on arbitrary bytes.
 *
 * The parser must return 0 or ML_ECONFIG/ML_ENOMEM for any input, never
 * crash, leak or read out of bounds, and config_release() must free all.
 * ${VAR} references resolve from the environment; password_file paths are
 * relative to the current directory (run.sh runs the targets in an empty
 * directory with stdin from /dev/null).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "error.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config cfg;
    static int env_done;
    if (!env_done) {
        /* the variables the seed configs use */
        setenv("MASKLOAD_LOADER_PASSWORD", "fuzz-loader", 1);
        setenv("MASKLOAD_ADMIN_PASSWORD", "fuzz-admin", 1);
        setenv("MASKLOAD_ANALYST_PASSWORD", "fuzz-analyst", 1);
        setenv("MASKLOAD_STEWARD_PASSWORD", "fuzz-steward", 1);
        setenv("MASKLOAD_DIGEST_KEY", "fuzz-digest-key", 1);
        env_done = 1;
    }
    int rc = config_parse(&cfg, (const char *)data, size, "fuzz.yaml");
    if (rc == 0)
        config_release(&cfg);
    else if (rc != ML_ECONFIG && rc != ML_ENOMEM)
        abort(); /* the contract: config errors only */
    return 0;
}
