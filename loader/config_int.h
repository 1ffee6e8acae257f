/* config_int.h - the config module's internals, shared by its files:
 * config.c (the configuration file) and config_mapping.c (the stream
 * mapping language). Not for use outside the config module: it exposes
 * libyaml's types, which nothing else may see.
 *
 * Every function reports failures with cfg_error() ("<file>:<line>:<col>:
 * <what>", ML_ECONFIG) or ML_ENOMEM, and returns 0 or that code.
 */
#ifndef ML_CONFIG_INT_H
#define ML_CONFIG_INT_H

#include <stddef.h>

#include <yaml.h>

#include "buf.h"
#include "config.h"

#define CONFIG_MAX_BYTES ((size_t)16 << 20) /* a config file is small */
#define SCALAR_MAX_BYTES ((size_t)1 << 20)  /* one value after ${VAR} substitution */
#define SECRET_LINE_MAX  ((size_t)65536)    /* first line of a password/key file */
#define SHOW_MAX         64                 /* bytes of a value echoed in messages */
#define SHOW_BUF         (SHOW_MAX * 4 + 8)
#define KEYPATH_BUF      320
#define ENV_NAME_MAX     255

/* cfg_get_scalar() flags */
#define SC_SECRET    1u /* wipe every intermediate copy */
#define SC_ALLOW_NUL 2u /* value may contain NUL bytes (digest key) */

struct parse {
    yaml_document_t *doc;
    const char *name; /* file name for messages */
    char *dir;        /* directory of the file, for relative paths */
    yaml_node_t *root;
    struct config *cfg; /* being filled; released by the caller on failure */
};

/* A known key of a section and its value; both NULL when the key is absent. */
struct field {
    yaml_node_t *key;
    yaml_node_t *value;
};

/* An interpolated scalar value: malloc'd, NUL-terminated at s[len]. */
struct scalar {
    char *s;
    size_t len;
    int subst; /* a ${VAR} was substituted: do not echo the value */
};

enum name_kind { NAME_IDENT, NAME_USER, NAME_HOST, NAME_LABEL };

/* Records "<file>:<line>:<col>: <text>" for `node` (1:1 when NULL) and
 * returns ML_ECONFIG. */
int cfg_error(struct parse *p, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cfg_nomem(void);

/* Messages: a scalar's value shown safely (escaped, cut, never a ${VAR}
 * result); "in 'path'" / "at the top level"; "path.key". */
const char *cfg_show(char *dst, const struct scalar *v);
const char *cfg_key_show(char *dst, const yaml_node_t *k);
const char *cfg_where(char *dst, size_t cap, const char *path);
const char *cfg_join(char *dst, size_t cap, const char *path, const char *key);
const char *cfg_node_kind(const yaml_node_t *n);

/* Nodes. */
yaml_node_t *cfg_node_at(struct parse *p, int index);
int cfg_scalar_is(const yaml_node_t *n, const char *s);
int cfg_is_null(const yaml_node_t *n);
/* A mapping (or null: an empty section) without duplicate or non-scalar keys. */
int cfg_map_check(struct parse *p, yaml_node_t *node, const char *path);
size_t cfg_map_size(const yaml_node_t *node);
/* The name of names[0..n) nearest to `key` (a typo: one edit for keys of
 * up to 4 bytes, two for longer ones; swapped neighbours count one), or
 * NULL when none is that near. For "did you mean" in messages. */
const char *cfg_nearest(const char *key, const char *const *names, size_t n);

/* cfg_map_check, and every key one of names[0..n); fields[i] gets names[i]. */
int cfg_map_fields(struct parse *p, yaml_node_t *node, const char *path, const char *const *names,
                   struct field *fields, size_t n);

/* Scalars (${VAR} interpolated). */
int cfg_get_scalar(struct parse *p, const yaml_node_t *node, const char *keypath, unsigned flags,
                   struct scalar *out);
void cfg_scalar_release(struct scalar *v);
int cfg_set_str(struct parse *p, const struct field *f, const char *path, const char *key,
                char **dst);
int cfg_set_default(char **dst, const char *def);
int cfg_set_uint(struct parse *p, const struct field *f, const char *path, const char *key,
                 unsigned min, unsigned max, unsigned def, unsigned *out);
int cfg_set_enum(struct parse *p, const struct field *f, const char *path, const char *key,
                 const char *const *words, const char *list, int *out);
int cfg_name_ok(enum name_kind kind, const char *s, size_t len);
int cfg_name_error(struct parse *p, const yaml_node_t *node, enum name_kind kind, const char *shown,
                   const char *keypath);
/* `rel` resolved against the directory of the file being parsed. */
int cfg_resolve_path(struct parse *p, const char *rel, struct buf *out);

/* The stream mapping language (config_mapping.c). */
struct stream_def;
struct streamdef_arena;
struct sql_file;
/* The mapping keys ("table", "columns", ...), in the order cfg_parse_mapping
 * expects them in `keys`. */
const char *const *cfg_mapping_keys(size_t *n);
/* Parses the mapping `node` at `path` (its keys already split into `keys`,
 * in cfg_mapping_keys order, or NULL to split them here) into a definition
 * named `name`, defined in `file`, allocated in `a`. */
int cfg_parse_mapping(struct parse *p, yaml_node_t *node, const struct field *keys,
                      const char *path, const char *name, const char *file,
                      struct streamdef_arena *a, const struct stream_def **out);
/* The index in cfg_mapping_keys from which on the keys (quasi_identifiers,
 * k) may also stand on a stream's entry beside `mapping:`. */
size_t cfg_mapping_entry_keys_from(void);
/* Completes `def`, a definition just built into this configuration's arena
 * `a` and not yet shared, with the quasi_identifiers and k in keys[0] and
 * keys[1] (both absent: nothing to do). Refused: one without the other, a
 * second declaration (the definition has them already), a name that is no
 * column of the main table or is a key column, a repeat, k outside
 * 2..1000000. */
int cfg_mapping_privacy(struct parse *p, const struct field *keys, const char *path,
                        struct streamdef_arena *a, const struct stream_def *def);
/* After every stream is parsed: each `references:` names a table of a
 * configured stream (a built-in's naming an unconfigured one is left out)
 * and a column of a comparable type there, and no two generated monitoring
 * views (checks, small groups, freshness, min_rows) nor a hand-written one
 * share a name, but checks naming one view with `monitor:`. */
int cfg_mapping_validate_checks(struct parse *p);
/* The embedded mappings/<name>.yaml, or NULL. */
const struct sql_file *cfg_builtin_mapping_file(const char *name);

/* Documents. */
void cfg_protect_references(char *t, size_t len);
int cfg_yaml_failure(struct parse *p, const yaml_parser_t *parser, const char *text, size_t len);
void cfg_document_wipe(yaml_document_t *doc);
void cfg_parser_wipe(yaml_parser_t *parser);
char *cfg_dir_of(const char *name);

#endif
