/* pii_key_pg.h - the fingerprint of the digest key in a PostgreSQL
 * warehouse (table pii_key of ddl/postgres/085_pii_key.sql), on a pg
 * connection the caller holds: pii_key.h's pii_key_wh_* functions (one
 * implementation for both warehouses, in pii_key.c) over wh_borrow_pg. */
#ifndef ML_PII_KEY_PG_H
#define ML_PII_KEY_PG_H

#include <stdbool.h>
#include <stddef.h>

#include "pg.h"
#include "pii_key.h"

/* pii_key_verify: the stored fingerprint against the configured key, or,
 * with none stored and `absent_ok`, the key against the first stored digest
 * of every sensitive_<kind>_ids table of the schema that has a row. */
int pii_key_pg_verify(struct pg *pg, const char *schema, const unsigned char *key, size_t key_len,
                      bool absent_ok, const char *cmd);

#endif
