/* sqltext.c - sqltext.h: SQL text with a sticky error. */
#include "sqltext.h"

#include <stdarg.h>

#include "pg.h"
#include "banned.h"

void sq_add(struct sq *q, const char *s)
{
    if (!q->rc)
        q->rc = buf_adds(q->b, s);
}

void sq_addf(struct sq *q, const char *fmt, ...)
{
    va_list ap;
    if (q->rc)
        return;
    va_start(ap, fmt);
    q->rc = buf_vaddf(q->b, fmt, ap);
    va_end(ap);
}

void sq_ident(struct sq *q, const char *name)
{
    if (!q->rc)
        q->rc = q->dialect == DB_DIALECT_POSTGRES ? pg_append_ident(q->b, name)
                                                  : db_append_ident(q->b, name);
}

void sq_col_of(struct sq *q, const char *alias, const char *col)
{
    if (alias) {
        sq_add(q, alias);
        sq_add(q, ".");
    }
    sq_ident(q, col);
}
