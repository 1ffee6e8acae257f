/* doctor.h - `maskload doctor`: what is wrong with this setup, and the fix.
 *
 * Each check ends OK, WARN or FAIL with a one-line finding and, unless OK,
 * the fix. The checks, in order: the warehouse connection (as the loader),
 * the server's kind and version, local_infile (bulk loads), the session's
 * sql_mode and time zone, TLS, the loader's privileges on the warehouse
 * database, the digest key against the warehouse's fingerprint (pii_key.h),
 * anonymous accounts that would shadow the configured ones (through the
 * admin account, when one is configured), and each configured source:
 * http and file sources by reading their first page (no retries), SQS
 * queues by GetQueueAttributes (nothing is received). Nothing is changed.
 * A check that cannot run because an earlier one failed is not reported.
 *
 * With `warehouse.kind: postgres`: the connection, the server's version,
 * the session (UTC, UTF8, standard_conforming_strings), TLS, the loader's
 * privileges on load_runs of the schema, the digest key, what PUBLIC holds
 * of the database, the schema and its tables (through the admin account,
 * in place of the anonymous accounts), and the sources.
 */
#ifndef ML_DOCTOR_H
#define ML_DOCTOR_H

#include <stddef.h>

#include "config.h"

enum doctor_level { DOCTOR_OK, DOCTOR_WARN, DOCTOR_FAIL };

struct doctor_check {
    char name[48];
    enum doctor_level level;
    char finding[512];
    char fix[512]; /* "" when OK */
};

struct doctor_report {
    struct doctor_check *checks;
    size_t n, cap;
    size_t fails, warns;
};

/* Runs every check. 0 (the report says what failed), or ML_ENOMEM. */
int doctor_run(const struct config *cfg, struct doctor_report *rep);
void doctor_report_release(struct doctor_report *rep);

#endif
