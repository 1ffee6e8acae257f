/* infer.h - `maskload infer`: a mapping proposed from a sample of a source.
 *
 * Reads up to `sample` records of a configured http or file source (never a
 * queue: receiving would hide its messages from the next run) and writes a
 * mapping document (the language of config_mapping.c: table, description,
 * key, columns, drop, children) that `mapping: FILE` accepts unedited.
 *
 * Contract on personal data: the document never holds a sampled value, not
 * in a column, a comment, a description or an error message. It holds field
 * names (JSON keys), counts, and types; a key that itself looks like
 * personal data (an e-mail, an address, a card number: an object keyed by
 * data) is skipped, never printed. Every column judged personal carries its
 * action (drop, surrogate with a kind, email_domain, year) and a comment
 * saying why (which field name or value shape).
 */
#ifndef ML_INFER_H
#define ML_INFER_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct buf;

struct infer_opts {
    const char *source;   /* a name under `sources` */
    const char *path;     /* http: the path under base_url; NULL = "" */
    unsigned long sample; /* records to read, >= 1 */
};

struct infer_report {
    unsigned long records;    /* records read and parsed */
    unsigned long unreadable; /* records that were not JSON objects */
    unsigned long columns;    /* columns proposed, children included */
    unsigned long personal;   /* fields judged personal (dropped or masked) */
};

/* Samples the source and appends the mapping document to `out`. 0, or
 * ML_ECONFIG (unknown source, a queue source, nothing readable sampled),
 * or the source's error. err_msg() never quotes a record. */
int infer_mapping(const struct config *cfg, const struct infer_opts *o, struct buf *out,
                  struct infer_report *rep);

/* Value-shape detectors (whole value, NUL-terminated). */
bool infer_is_email(const char *s);
bool infer_has_email(const char *s); /* an e-mail address anywhere in the text */
bool infer_is_ipv4(const char *s);
bool infer_is_ipv6(const char *s);
bool infer_is_phone(const char *s);
bool infer_is_iban(const char *s);   /* country, check digits, mod-97 checksum */
bool infer_is_card(const char *s);   /* 13..19 digits (spaces/dashes allowed), Luhn */
bool infer_luhn(const char *digits); /* digits only */

#endif
