/* sqlfiles.h - the project's SQL files, embedded in the binary at build time
 * (cmake/embed_sql.cmake), so an installed maskload needs no source tree.
 *
 * Directories: "ddl", "grants", "views/monitoring", "queries", "mappings"
 * (the built-in stream definitions, YAML); within one
 * directory, files are in name order. Texts are NUL-terminated.
 */
#ifndef ML_SQLFILES_H
#define ML_SQLFILES_H

#include <stdbool.h>
#include <stddef.h>

struct sql_file {
    const char *dir;
    const char *name; /* file name, e.g. "080_load_audit.sql", "users.yaml" */
    const char *text;
    size_t len;
};

extern const struct sql_file sql_files[];
extern const size_t sql_files_count;

/* Splits a script into statements: on each call, skips whitespace and
 * comments, then returns 1 with the next statement (without its ';') in
 * `stmt`/`len`, or 0 at the end. Quotes ('', "", ``) and comments (--, #,
 * C-style) are honoured. *pos is advanced. */
int sqlscript_next(const char *text, size_t total, size_t *pos, const char **stmt, size_t *len);

/* Expands {{name}} placeholders from parallel arrays names/values into out.
 * An unknown placeholder fails with ML_EINTERNAL naming it. */
struct buf;
int sqlscript_expand(const char *text, size_t len, const char *const *names,
                     const char *const *values, size_t n, struct buf *out);

/* Appends statement `stmt` (as sqlscript_next returns it) on one line: runs
 * of whitespace and comments outside quotes become one space (a comment
 * before the first word, or after the last, disappears); a line break
 * inside a '...' or "..." literal is written as the escape \n or \r
 * (sessions run with backslash escapes), so the statement means the same.
 * ML_ENOMEM leaves `out` as it was. */
int sqlscript_one_line(const char *stmt, size_t len, struct buf *out);

/* ---- reading the words of a statement (init's plan of either warehouse) ---- */

/* A word, or a quoted identifier (its inside, word and quoted set), or a
 * string literal or one other character (word false); n 0 at the end. */
struct sql_token {
    const char *s;
    size_t n;
    bool word, quoted;
};

/* The token of t[0..len) from index i (blanks skipped) into *tok; returns
 * the index after it. `quote` is the dialect's identifier quote: '`'
 * (MySQL: '...' and "..." are strings with backslash escapes) or '"'
 * (PostgreSQL: only '...' is a string, without escapes); a quote doubled
 * inside stays part of the run. */
size_t sqlscript_token(const char *t, size_t len, size_t i, char quote, struct sql_token *tok);
/* Whether tok is the word `word` (ASCII case ignored; a quoted one too). */
bool sqlscript_token_is(const struct sql_token *tok, const char *word);
/* The word `tok` as a NUL-terminated name in out[0..size); false (out
 * unchanged) when it is no word or does not fit. */
bool sqlscript_token_name(const struct sql_token *tok, char *out, size_t size);
/* Reads the words `seq` (space separated) from *i; false when they differ. */
bool sqlscript_expect(const char *t, size_t len, size_t *i, char quote, const char *seq);

#endif
