/* sqltext.h - SQL text built piece by piece with a sticky error.
 *
 * A `struct sq` appends to its buffer until a call fails; from then on every
 * call does nothing and `rc` keeps the first error code (ML_ENOMEM,
 * ML_ETOOBIG, ML_EINVAL for a name that cannot be quoted), so a statement
 * writer checks `rc` once at its end. Identifiers are quoted as the
 * `dialect` quotes them (backquotes for MariaDB/MySQL, double quotes for
 * PostgreSQL, the quote doubled inside). The zero dialect is MariaDB's, so
 * `{buf, 0}` is a MySQL writer. */
#ifndef ML_SQLTEXT_H
#define ML_SQLTEXT_H

#include "buf.h"
#include "db.h"

struct sq {
    struct buf *b;
    int rc;
    enum db_dialect dialect;
};

void sq_add(struct sq *q, const char *s);
void sq_addf(struct sq *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* name quoted as the dialect quotes it */
void sq_ident(struct sq *q, const char *name);
/* alias.name (alias may be NULL: name alone), the name quoted */
void sq_col_of(struct sq *q, const char *alias, const char *col);

#endif
