/* reveal.h - audited reveal: the value behind a surrogate id, read through
 * the warehouse's stored procedure pii_reveal (installed by `init`, see
 * ddlgen_reveal_procedure), which logs every call in pii_access_log with
 * the calling account, the time, the kind, the id and the reason. On
 * PostgreSQL pii_reveal is a function (SELECT pii_reveal(...)) whose log row
 * commits with the call's own transaction: the call runs alone.
 */
#ifndef ML_REVEAL_H
#define ML_REVEAL_H

#include <stdbool.h>

#include "buf.h"
#include "config.h"

/* Longest reason accepted, in characters (pii_access_log.reason). */
#define REVEAL_REASON_MAX 1024

/* A reason for a reveal or an erasure: valid UTF-8, at most
 * REVEAL_REASON_MAX characters, with a character that is not white space.
 * 0, or ML_EUSAGE with a message saying what is wrong (never quoting it). */
int reveal_reason_check(const char *reason);

/* Calls pii_reveal(kind, id, reason) as the config's warehouse account (for
 * the steward, the steward's own config names the steward account) and
 * puts the value into `value` (replacing its content: PII, the caller
 * wipes it); *found is false when the kind has no such id (the call is
 * logged all the same). The reason is checked first (reveal_reason_check),
 * before connecting. ML_EUSAGE for a bad reason, a kind that is not a
 * name, or a kind the procedure refuses (unknown: the server's message;
 * wh_error_raised);
 * ML_EDB for anything else the server refuses (no EXECUTE right, no
 * procedure: run `maskload init`). */
int reveal_value(const struct config *cfg, const char *kind, unsigned long long id,
                 const char *reason, struct buf *value, bool *found);

#endif
