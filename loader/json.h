/* json.h - read-only access to parsed JSON (cJSON behind an opaque type).
 *
 * A json_doc owns its whole tree; every json_node pointer obtained from it is
 * valid until json_free(doc). Accessors accept NULL and then return "absent".
 */
#ifndef ML_JSON_H
#define ML_JSON_H

#include <stdbool.h>
#include <stddef.h>

struct buf;
typedef struct json_doc json_doc;
typedef struct json_node json_node;

enum json_type {
    JSON_ABSENT = 0, /* missing key / NULL node */
    JSON_NULL,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
    JSON_INVALID
};

/* Parses `len` bytes (need not be NUL-terminated). Only whitespace (and NUL
 * padding, with nothing after it) may follow the value. On failure returns
 * ML_EJSON with a message giving the byte offset of the error.
 *
 * Strings holding NUL bytes ("\u0000") keep their whole value: read them with
 * json_string_len(). An object KEY holding a NUL is replaced by its JSON
 * spelling (`a\u0000b`), so it never matches a plain key. */
int json_parse(const char *text, size_t len, json_doc **out);
void json_free(json_doc *doc);
const json_node *json_root(const json_doc *doc);

enum json_type json_type(const json_node *n);
const char *json_type_name(enum json_type t);

/* Member of an object by key (exact, case-sensitive); NULL when absent or
 * when `obj` is not an object. */
const json_node *json_get(const json_node *obj, const char *key);
/* Member by dotted path ("profile.income"). */
const json_node *json_path(const json_node *obj, const char *path);

size_t json_array_size(const json_node *arr);
/* Iteration: first child / next sibling; NULL at the end. Works for arrays
 * and objects. */
const json_node *json_child(const json_node *n);
const json_node *json_next(const json_node *n);
/* Key of an object member; NULL for array elements. */
const char *json_key(const json_node *n);

/* Scalars. json_string returns the NUL-terminated text of a string node;
 * NULL when the node is not a string OR when the string holds a NUL byte
 * (so that no caller ever sees a value cut at the NUL). */
const char *json_string(const json_node *n);
/* The bytes of a string node and their number in *len (NUL bytes included;
 * s[*len] is NUL). NULL with *len = 0 when the node is not a string. */
const char *json_string_len(const json_node *n, size_t *len);
double json_number(const json_node *n);
bool json_bool(const json_node *n);
/* Exact integer value of a JSON number if it is integral and within int64;
 * returns 0 or ML_ERECORD. */
int json_int64(const json_node *n, long long *out);

/* Appends the compact JSON text of `n` to `out` (strings whole, NUL bytes
 * as \u0000). */
int json_print(const json_node *n, struct buf *out);

/* Builders for small documents (reject payloads, machine-readable output). */
json_node *json_new_object(void);
json_node *json_new_array(void);
int json_add_string(json_node *obj, const char *key, const char *value);
int json_add_number(json_node *obj, const char *key, double value);
int json_add_node(json_node *obj, const char *key, json_node *child); /* takes ownership */
int json_append(json_node *arr, json_node *child);                    /* takes ownership */
json_node *json_duplicate(const json_node *n);
/* Removes and frees a member of an object; no-op when absent. */
void json_remove(json_node *obj, const char *key);
void json_node_free(json_node *n);

/* Appends a JSON string literal (quoted, escaped) for `s` to `out`. */
int json_quote(struct buf *out, const char *s);
/* The same for `len` bytes that may hold NUL bytes (printed as \u0000). */
int json_quote_len(struct buf *out, const char *s, size_t len);

#endif
