/* schemadiff.h - how a stream table in the warehouse differs from its
 * definition, and which of the differences `init` may close.
 *
 * The live side is read through the warehouse interface (schemadiff_read:
 * information_schema TABLES and COLUMNS of MySQL, the pg_catalog of
 * PostgreSQL, into the same struct); everything else is pure and works on
 * plain structs, so the rules are unit-tested without a server, and are
 * one set of rules for both warehouses. The ALTER text is ddlgen's, in the
 * dialect's shape (schemadiff_alter_sql builds its input).
 *
 * What is compared, for the table's columns, then load_run_id and loaded_at
 * (ddlgen_meta_columns): presence (by name, case-insensitively, as the
 * server compares column names), type (information_schema COLUMN_TYPE and
 * COLLATION_NAME against ddlgen's spelling of the definition), NULL / NOT
 * NULL, the COMMENT (the description); the primary key (the columns the
 * server marks PRI, in column order, against the definition's key); the
 * table COMMENT. Column order and secondary indexes are not compared.
 *
 * What `init` may do (schema: evolve):
 *   - add a column the table lacks: ADD COLUMN ... AFTER the column the
 *     definition puts before it (PostgreSQL, which cannot place a column:
 *     at the end); existing rows get NULL. A new column that
 *     is required (NOT NULL) is refused while the table has rows (the rows
 *     would get an invented value);
 *   - widen a type: smallint < int < bigint (tinyint, mediumint in between)
 *     of the same signedness; varchar(n) -> varchar(m >= n); varchar -> text
 *     types and a text type to a larger one (PostgreSQL: varchar -> text);
 *     decimal(p,s) -> decimal(p',s')
 *     with p'-s' >= p-s and s' >= s. Always with the same collation;
 *   - make a NOT NULL column nullable; make a nullable column required (NOT
 *     NULL) only while the table is EMPTY (with rows it is refused: rows may
 *     hold NULL, and the server would turn them into invented values);
 *   - restate a column whose COMMENT differs (MODIFY COLUMN), and the table
 *     COMMENT;
 *   - keep a column the definition no longer has: data is never dropped by
 *     a mapping edit. One that is NOT NULL without a default would make
 *     every insert fail, so it is made nullable (type kept).
 * Everything else is refused: a narrowing, any other type change (bigint ->
 * date), a collation change, a different primary key. With `schema:
 * freeze` every difference is refused, a kept column included.
 */
#ifndef ML_SCHEMADIFF_H
#define ML_SCHEMADIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "db.h"
#include "streamdef.h"
#include "wh.h"

/* ---- SQL types ---- */

enum sqlt_base {
    SQLT_OTHER = 0, /* a type this module does not reason about (float, enum, json, ...) */
    SQLT_TINYINT,
    SQLT_SMALLINT,
    SQLT_MEDIUMINT,
    SQLT_INT,
    SQLT_BIGINT,
    SQLT_BOOL, /* BOOLEAN, which the server reports as tinyint(1) */
    SQLT_DECIMAL,
    SQLT_CHAR,
    SQLT_VARCHAR,
    SQLT_TINYTEXT,
    SQLT_TEXT,
    SQLT_MEDIUMTEXT,
    SQLT_LONGTEXT,
    SQLT_BINARY,
    SQLT_VARBINARY,
    SQLT_DATE,
    SQLT_DATETIME,
    SQLT_TIMESTAMP,
    SQLT_BYTEA, /* PostgreSQL's binary string (a digest column) */
};

struct sqltype {
    enum sqlt_base base;
    unsigned len;   /* CHAR, VARCHAR, BINARY, VARBINARY: length; DECIMAL: precision;
                       DATETIME, TIMESTAMP: fraction digits; integers: display width (ignored) */
    unsigned scale; /* DECIMAL */
    bool is_unsigned;
    char collation[65]; /* a COLLATE clause, or the column's COLLATION_NAME; "" when none */
    char text[96];      /* the spelling as given, lower case (truncated): names SQLT_OTHER */
};

/* Parses a column type as information_schema.COLUMNS.COLUMN_TYPE spells it
 * ("bigint(20)", "smallint(5) unsigned", "decimal(12,2)", "tinyint(1)",
 * "datetime(3)", "mediumtext"; MySQL 8 without display widths), as
 * PostgreSQL's format_type does ("integer", "numeric(12,2)", "character
 * varying(64)", "character(64)", "timestamp(3) without time zone") or as
 * ddlgen writes it ("BIGINT UNSIGNED", "CHAR(64) CHARACTER SET ascii COLLATE
 * ascii_bin", "char(64) COLLATE \"C\""), case-insensitively. Never fails:
 * what it does not know, or a modifier it does not expect (zerofill, with
 * time zone), is SQLT_OTHER. */
void schemadiff_parse_type(const char *spelling, struct sqltype *out);

/* The type as messages spell it: "bigint unsigned", "decimal(12,2)",
 * "varchar(32)", "boolean", "datetime(3)", the text for SQLT_OTHER; with
 * `with_collation` and a collation, " collate <name>" follows. */
void schemadiff_type_name(const struct sqltype *t, bool with_collation, char *out, size_t outsz);

/* The type the definition wants for `c` in dialect `d`: ddlgen's spelling,
 * parsed; a text type without a COLLATE clause gets the dialect's default
 * collation. ML_EINVAL when ddlgen cannot spell it. */
int schemadiff_expected_type(const struct column_def *c, enum db_dialect d, struct sqltype *out);

enum schemadiff_verdict {
    SD_SAME,        /* nothing to do */
    SD_WIDER,       /* `to` holds every value of `from`: MODIFY may widen */
    SD_NARROWER,    /* the reverse: refused */
    SD_INCOMPATIBLE /* neither (or another collation): refused */
};

/* What becoming `to` means for a column of type `from` (rules above). */
enum schemadiff_verdict schemadiff_type_change(const struct sqltype *from,
                                               const struct sqltype *to);

/* ---- the table as the server has it ---- */

struct schemadiff_live_column {
    const char *name;
    const char *type;      /* COLUMN_TYPE */
    const char *comment;   /* COLUMN_COMMENT ("" when none) */
    const char *collation; /* COLLATION_NAME; NULL for non-text columns */
    const char *charset;   /* CHARACTER_SET_NAME; NULL for non-text columns */
    bool nullable;         /* IS_NULLABLE = 'YES' */
    bool primary;          /* in the primary key (COLUMN_KEY = 'PRI') */
    bool has_default;      /* an insert may leave it out: a DEFAULT, auto_increment, generated */
    unsigned position;     /* ORDINAL_POSITION */
};

struct schemadiff_live_table {
    bool exists;
    bool has_rows;
    const char *comment;                 /* TABLE_COMMENT */
    struct schemadiff_live_column *cols; /* in ORDINAL_POSITION order */
    size_t ncols;
};

/* Reads table `table` of `space` (the database of a MySQL warehouse, the
 * schema of a PostgreSQL one; whether it exists, its COMMENT, columns, and
 * whether it has a row) into *out, which the caller releases with
 * schemadiff_live_release (also after a failure). A table that does not
 * exist is not an error: out->exists is false. Needs only a privilege on
 * the table (the loader account's is enough). PostgreSQL reports the
 * collation of every text column ("default" when its type names none; a
 * MODIFY of PostgreSQL restates no character set: charset is NULL). ML_EDB
 * on a failed query. */
int schemadiff_read(struct wh *w, const char *space, const char *table,
                    struct schemadiff_live_table *out);
void schemadiff_live_release(struct schemadiff_live_table *t);

/* ---- the differences ---- */

enum schemadiff_action {
    SD_KEY,           /* the primary key differs (always refused) */
    SD_ADD,           /* a column the table lacks: ADD COLUMN */
    SD_MODIFY,        /* a column to restate as the definition says: MODIFY COLUMN */
    SD_RELAX,         /* a column the definition no longer has, NOT NULL without a default:
                         made nullable, kept */
    SD_KEEP,          /* a column the definition no longer has: kept as it is (no statement) */
    SD_TABLE_COMMENT, /* the table COMMENT */
};

struct schemadiff_change {
    enum schemadiff_action action;
    const struct column_def *col; /* ADD, MODIFY: the definition's column */
    bool not_null;                /* ADD, MODIFY: NOT NULL as the definition says */
    const char *after;            /* ADD: the definition's previous column; NULL = first */
    const struct schemadiff_live_column *live; /* MODIFY, RELAX, KEEP */
    /* MODIFY: what differs (a dialect that restates a column whole, MySQL's,
     * needs none of them; PostgreSQL writes each on its own) */
    bool type_differs, null_differs, comment_differs;
    bool refused; /* `init` may not make this change */
    /* what differs, for `run`: "table 'x' lacks column 'y'", "table 'x'
     * column 'y' is varchar(32), the mapping says varchar(64)", ... */
    char what[512];
    /* refused: "<file>:<line>:<col>: table 'x' column 'y': bigint cannot
     * become date (incompatible; nothing was changed)" */
    char refusal[2048];
};

struct schemadiff {
    const struct stream_def *def;
    const struct table_def *table;
    bool missing;                      /* the table does not exist: CREATE TABLE */
    struct schemadiff_change *changes; /* malloc'd, in ALTER order */
    size_t nchanges;
    size_t nrefused;
};

/* Compares table `t` of definition `def` (its main or a child table) with the
 * live table. *out points into def and live: both must outlive it; release
 * it with schemadiff_release. 0, or ML_EINVAL/ML_ENOMEM (a definition ddlgen
 * cannot spell; out of memory); a refused change is not a failure (see
 * out->nrefused and schemadiff_refusal). */
int schemadiff_compare(const struct stream_def *def, const struct table_def *t,
                       const struct schemadiff_live_table *live, enum db_dialect d,
                       struct schemadiff *out);
void schemadiff_release(struct schemadiff *diff);

/* The number of changes one ALTER TABLE makes (ADD, MODIFY, RELAX, the
 * table COMMENT): 0 when the table needs none. */
size_t schemadiff_alters(const struct schemadiff *diff);

/* The first refused change, or NULL. */
const struct schemadiff_change *schemadiff_refusal(const struct schemadiff *diff);

/* The first change that makes the table not match its definition for a
 * loader (anything but a column kept under schema: evolve), or NULL. */
const struct schemadiff_change *schemadiff_mismatch(const struct schemadiff *diff);

/* Appends the ALTER TABLE (no trailing ';') for the changes of `diff`;
 * appends nothing when schemadiff_alters() is 0. ML_EINVAL when a change is
 * refused. */
int schemadiff_alter_sql(struct buf *out, const struct schemadiff *diff, enum db_dialect d);

#endif
