/* rekey.h - `maskload rekey`: moves a warehouse's surrogate digests to a new
 * key, keeping every surrogate id. One implementation over wh.h for both
 * warehouses: MySQL/MariaDB (the tables of warehouse.database, digest
 * BINARY(32)) and PostgreSQL (those of warehouse.schema, digest bytea).
 *
 * The configured key (pii.digest_key_file, or unkeyed digests with
 * `pii.digest: sha256`) is the old key: its fingerprint must be the one
 * stored in pii_key (pii_key.h). The new key is read from a file as
 * pii.digest_key_file is (config_read_key_file). For every table named
 * sensitive_<kind>_ids in the warehouse (pii_key_wh_kinds: from
 * information_schema, not only the kinds the configuration uses, so none is
 * left behind), in name order,
 * one transaction recomputes each row's digest from its stored value,
 *   digest = HMAC-SHA256(new key, kind || 0x00 || value)
 * which is the digest a run with the new key computes for that value (the
 * stored value is the normalised one), and adds the kind to the progress
 * recorded in pii_key in the same transaction. Ids, values and every analyst
 * table stay as they are. A kind is converted whole or not at all.
 *
 * Progress: the first step records the new key's fingerprint as pending;
 * from then on init and run refuse (pii_key_wh_verify). Killed at any point,
 * the same command (same new key file) resumes with the kinds not yet done,
 * also when the configuration already names the new key.
 * The last step makes the new fingerprint the warehouse's; the owner then
 * points pii.digest_key_file at the new file.
 *
 * Refusals (ML_ECONFIG, nothing changed):
 *  - the configured key is not the stored one, or a rekey to another key is
 *    pending, or the new key is the configured one;
 *  - configured streams have `pii: hmac` columns (their inputs are not
 *    stored, so they cannot be recomputed: old rows keep old-key values,
 *    new rows get new-key values) unless opt->hmac_columns_change;
 *  - pii_erasures holds digests of erased subjects (their ids are not stored,
 *    so those digests cannot be recomputed and the erased subjects would load
 *    again) unless opt->erased_subjects_loadable.
 * ML_EDB when a run is live (runs_live): a rekey never overlaps a run.
 *
 * Test hooks (unset in production; neither changes what is written): with
 * MASKLOAD_TEST_REKEY_STOP_AFTER=N the process kills itself (SIGKILL) right
 * after committing the N-th kind it converts; with MASKLOAD_TEST_REKEY_STOP_IN=N
 * inside the N-th kind's transaction, after its digests were rewritten and
 * before the commit, as an operator's `kill -9` at those points would.
 */
#ifndef ML_REKEY_H
#define ML_REKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "pii_key.h"

struct rekey_options {
    const char *new_key_file;      /* required */
    bool hmac_columns_change;      /* `--hmac-columns-change` */
    bool erased_subjects_loadable; /* `--erased-subjects-loadable` */
};

struct rekey_report {
    char old_fp[PII_KEY_FP_BUF], new_fp[PII_KEY_FP_BUF];
    bool resumed;            /* a pending rekey to the same key was continued */
    size_t kinds;            /* sensitive tables in the warehouse */
    size_t kinds_converted;  /* converted by this call */
    size_t kinds_already;    /* converted before (resume) */
    unsigned long long rows; /* digests rewritten by this call */
    size_t hmac_columns;     /* `hmac` columns whose old values stay old-key */
};

int rekey_run(const struct config *cfg, const struct rekey_options *opt, struct rekey_report *rep);

#endif
