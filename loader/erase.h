/* erase.h - erasure of a data subject (`maskload forget`) and the skipping
 * of erased subjects' records by later runs.
 *
 * A data subject is identified by the columns a stream definition declares
 * `subject: true` (users.user_id, messages.sender_id and receiver_id,
 * user_logins.user_id); a child table's rows belong to their parent's
 * subject. The subject's digest is MAC("maskload.subject" || 0x00 ||
 * text), MAC = HMAC-SHA256 with the pii digest key, or plain SHA-256 when
 * the config has none; pii_erasures keeps only that digest, never the id.
 *
 * Text and type. The subject is compared with each subject column in the
 * column's type: an integer column matches only an id that is the canonical
 * decimal spelling of an integer in the column's range ("42", "-7"; not
 * "042", "+42", "42abc", "4.2e1"), compared as an integer literal so that
 * the server never converts a string; a text column matches the id byte
 * for byte (no collation, no trailing-space padding). A record's subject
 * text, for the digest, is the canonical decimal of the integer an integer
 * column would store (the JSON number, or the string the mapping parses),
 * else the JSON string's content or the number's token text: so a record
 * that forget's id deleted is the record a run skips.
 */
#ifndef ML_ERASE_H
#define ML_ERASE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "crypto.h"
#include "db.h"
#include "json.h"
#include "streamdef.h"

/* The longest subject id accepted, in bytes. */
#define ERASE_SUBJECT_MAX 255

struct erase_report {
    unsigned long long rows_deleted; /* stream table rows (main and child tables) */
    unsigned long long
        surrogates_deleted;             /* sensitive_<kind>_ids rows nobody references any more */
    unsigned long long rejects_deleted; /* load_rejects rows holding the subject */
    bool already_erased;                /* pii_erasures held the subject before */
    char digest_hex[2 * CRYPTO_DIGEST_LEN + 1]; /* the subject's digest (pii_erasures.digest) */
};

/* `maskload forget`: as the config's warehouse (loader) account, in ONE
 * transaction:
 * - for every configured stream whose main table has subject columns: the
 *   rows of its child tables whose parent holds `subject` in a subject
 *   column, then those main rows;
 * - the rows of load_rejects of those streams whose record key (when the
 *   key column is a subject column) or whose payload's value at a subject
 *   column's path is the subject;
 * - the surrogates (sensitive_<kind>_ids) referenced by the deleted rows
 *   that no remaining row of any configured stream table references;
 * - the subject's digest into pii_erasures (rows_deleted added up when it
 *   is there already), and an entry in pii_access_log (USER(), 'forget',
 *   the digest, `reason`, found = rows or rejects were deleted).
 * A subject no row holds is recorded all the same (later runs skip it).
 * The subject must be 1..ERASE_SUBJECT_MAX bytes of UTF-8 and the reason
 * pass reveal_reason_check, both checked before connecting (ML_EUSAGE).
 * Refused (ML_EIO) while a run is live (lease.h): a run started during
 * the erasure waits for it and then skips the subject. Refused
 * (ML_ECONFIG, pii_key.h) when the config's key is not the warehouse's or
 * a rekey is pending.
 * On failure nothing is changed (the transaction is rolled back).
 * Either warehouse (wh.h), the SQL per dialect: on PostgreSQL the leases
 * are locked with LOCK TABLE (SHARE ROW EXCLUSIVE: a lease INSERT waits),
 * a text subject column is compared with '=' (byte for byte under a
 * deterministic collation), a reject's payload (text, not always JSON) is
 * parsed here to read its subject paths, and the log names session_user. */
int erase_forget(const struct config *cfg, const char *subject, const char *reason,
                 struct erase_report *rep);

/* The erased subjects, for a run: a set of digests, read once at the
 * run's start (bounded: 32 bytes a subject). */
struct erase_set;

/* Reads pii_erasures through `db` with the digest key of the config
 * (key_len 0: SHA-256). ML_EDB (run `maskload init` when the table is
 * missing), ML_ENOMEM, ML_ECRYPTO. */
int erase_set_load(struct db *db, const unsigned char *key, size_t key_len, struct erase_set **out);
/* The same through either warehouse (wh.h; PostgreSQL's bytea decoded). */
struct wh;
int erase_set_load_wh(struct wh *w, const unsigned char *key, size_t key_len,
                      struct erase_set **out);
void erase_set_free(struct erase_set *s);
/* A copy of set `s` with a digest context of its own (keyed with key), for
 * another thread: a set is used by one thread at a time (its MAC context is
 * not shared). The same subjects as `s`, read at the same time. 0,
 * ML_ENOMEM or ML_ECRYPTO. */
int erase_set_copy(const struct erase_set *s, const unsigned char *key, size_t key_len,
                   struct erase_set **out);
/* Subjects in the set. */
size_t erase_set_size(const struct erase_set *s);

/* True in *erased when a subject field of record `rec` (the main table's
 * subject columns of `def`) holds an erased subject: such a record must be
 * stored nowhere. NULL or an empty set: never. 0, or ML_ECRYPTO/ML_ENOMEM
 * (never ML_ERECORD: a malformed value is simply not a match). */
int erase_set_match(struct erase_set *s, const struct stream_def *def, const json_node *rec,
                    bool *erased);

/* The digest of subject text s[0..len) (the contract above). 0 or
 * ML_ECRYPTO. */
int erase_subject_digest(struct crypto_mac *mac, const char *s, size_t len,
                         unsigned char out[CRYPTO_DIGEST_LEN]);

#endif
