/* privacy.h - `maskload privacy-report`: how easily the analyst's tables
 * single a person out, in counts only.
 *
 * For every configured stream, over the table the analyst reads (its main
 * table, then its child tables): the rows; for the main table of a stream
 * that declares quasi_identifiers and k, the rows that share their
 * combination of those columns with fewer than k rows (the rows the
 * monitoring view monitor_<table>_small_groups counts groups of); and, for
 * every column of the definition, the rows whose value no other row of the
 * table has. NULL counts as one value (two NULL rows share it). Only counts
 * leave the database: no value is read or returned. Runs as the loader
 * (wh_connect), queries only, on either warehouse.
 */
#ifndef ML_PRIVACY_H
#define ML_PRIVACY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct privacy_column {
    const char *name;               /* belongs to the configuration's definitions */
    bool key;                       /* one of the table's natural-key columns */
    unsigned long long unique_rows; /* rows whose value in this column is theirs alone */
};

struct privacy_table {
    const char *stream; /* the stream's name (config) */
    const char *table;  /* the table's name (definition) */
    bool child;         /* a child table of the stream */
    unsigned long long rows;
    /* quasi-identifiers (main table of a stream that declares them) */
    const char *const *quasi; /* NULL when none */
    unsigned nquasi, k;
    unsigned long long small_groups;      /* combinations shared by fewer than k rows */
    unsigned long long rows_small_groups; /* the rows in them */
    struct privacy_column *cols;          /* ncols, in table order */
    size_t ncols;
};

struct privacy_report {
    struct privacy_table *tables; /* ntables, in config order, main table first */
    size_t ntables;
};

/* Measures every configured stream (only `only_stream` when not NULL: an
 * unknown name is ML_EUSAGE). 0, or the failure (the report then holds
 * nothing). */
int privacy_measure(const struct config *cfg, const char *only_stream, struct privacy_report *rep);

/* part / whole as a share in [0, 1]; 0 for an empty table. */
double privacy_share(unsigned long long part, unsigned long long whole);

void privacy_report_release(struct privacy_report *rep);

#endif
