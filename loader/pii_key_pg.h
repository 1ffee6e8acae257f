/* pii_key_pg.h - the fingerprint of the digest key in a PostgreSQL
 * warehouse (table pii_key of ddl/postgres/085_pii_key.sql). The same
 * contract and the same decisions as pii_key.h, whose pii_key_check_state
 * and pii_key_check_sample these call: only the reading and writing go
 * through pg.h. Every query names the table schema-qualified. */
#ifndef ML_PII_KEY_PG_H
#define ML_PII_KEY_PG_H

#include <stdbool.h>
#include <stddef.h>

#include "pg.h"
#include "pii_key.h"

/* pii_key_read of schema `schema` through `pg`. 0 or ML_EDB. */
int pii_key_pg_read(struct pg *pg, const char *schema, struct pii_key_state *st);

/* pii_key_verify: the stored fingerprint against the configured key, or,
 * with none stored and `absent_ok`, the key against the first stored digest
 * of every sensitive_<kind>_ids table of the schema that has a row. */
int pii_key_pg_verify(struct pg *pg, const char *schema, const unsigned char *key, size_t key_len,
                      bool absent_ok, const char *cmd);

/* pii_key_record: stores the key's fingerprint when none is (INSERT ... ON
 * CONFLICT DO NOTHING), then verifies it. */
int pii_key_pg_record(struct pg *pg, const char *schema, const unsigned char *key, size_t key_len,
                      bool *recorded);

#endif
