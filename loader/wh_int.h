/* wh_int.h - the operations table behind wh.h, one per warehouse kind
 * (wh_mysql.c over db.h, wh_pg.c over pg.h). Only the wh*.c files see it.
 * `c` is the kind's connection, `r` its buffered result. */
#ifndef ML_WH_INT_H
#define ML_WH_INT_H

#include "wh.h"

struct wh_ops {
    const char *name;
    void (*close)(void *c);
    enum db_dialect (*dialect)(void *c);
    const char *(*tls)(void *c);
    int (*begin)(void *c);
    int (*commit)(void *c);
    void (*rollback)(void *c);
    int (*exec)(void *c, const char *sql, int n, const char *const *values, const size_t *lengths);
    unsigned long long (*affected)(void *c);
    int (*query)(void *c, const char *sql, int n, const char *const *values, const size_t *lengths,
                 void **r);
    unsigned (*columns)(void *r);
    /* next row: 1 with *row and lens[0..columns) filled, 0 at the end */
    int (*next)(void *r, const char *const **row, size_t *lens);
    unsigned long long (*rows)(void *r);
    void (*free)(void *r, bool wiped);
    enum db_err_class (*error_class)(void *c);
    bool (*lost)(void *c);
    bool (*undefined_table)(void *c);
    enum db_err_class (*code_class)(unsigned err, const char *sqlstate);
    bool (*code_undefined_table)(unsigned err, const char *sqlstate);
    size_t (*bytes)(const char *s, size_t len, unsigned char *out, size_t cap);
};

extern const struct wh_ops wh_mysql_ops;
extern const struct wh_ops wh_pg_ops;

/* A handle over c: owned (wh_close closes c) or borrowed. NULL, with the
 * error set, when out of memory (c is then left as it is). */
struct wh *wh_new(const struct wh_ops *ops, void *c, bool owned);

#endif
