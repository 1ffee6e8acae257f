/* json.h - strict, exact JSON reading (simdjson behind a C interface).
 *
 * Two levels:
 *
 * - A json_page holds the text of many records: either one JSON array as a
 *   source sent it (json_page_set_array), or records appended one by one
 *   (json_page_add_record: JSON Lines, queue messages). Splitting an array
 *   checks only its structure (brackets, strings, commas), so one record
 *   that is bad inside (a lone surrogate escape, invalid UTF-8, nesting
 *   too deep, a raw control character) never makes the page unreadable:
 *   only that record fails, when it is parsed.
 * - A json_doc is one parsed value (a record, an API response): a flat,
 *   read-only tree of json_node, in memory the doc owns and reuses from one
 *   parse to the next (no allocation per value).
 *
 * Rules (RFC 8259, strictly):
 * - text must be UTF-8; raw control characters (U+0000..U+001F) inside
 *   strings are errors; nesting deeper than JSON_MAX_DEPTH is an error;
 *   nothing but whitespace may follow the value; a UTF-8 byte-order mark
 *   before the value is skipped.
 * - numbers keep their token text: json_int64 / json_uint64 convert it
 *   exactly (never through a double) and fail when it does not fit;
 *   json_number_text hands the text to decimal conversions.
 * - string escapes are decoded when the document is parsed, but a bad escape
 *   (a lone or reversed surrogate: "\ud800", "\udc00\ud800") fails only the
 *   reading of THAT string (json_string_len returns NULL with err_msg()
 *   naming the escape): a bad escape in a value nobody reads (a dropped or
 *   unknown field) is skipped unread. Bytes that are not JSON at all
 *   (invalid UTF-8, raw control characters) fail the whole record wherever
 *   they are, since no field of such a record can be trusted to be where it
 *   seems.
 * - duplicate keys in one object: the LAST one wins (json_get finds it);
 *   json_child/json_next still visit every member.
 * - an object key holding a NUL byte or a bad escape is kept in its JSON
 *   spelling (`a\u0000b`), so it never matches a plain key.
 *
 * Errors: ML_EJSON for text that is not JSON, ML_ENOMEM, ML_ETOOBIG (input
 * over JSON_DOC_MAX); err_msg() names the cause and the byte offset.
 */
#ifndef ML_JSON_H
#define ML_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct buf;
typedef struct json_doc json_doc;
typedef struct json_node json_node;
typedef struct json_page json_page;

/* Deepest nesting of arrays and objects accepted in one document. */
#define JSON_MAX_DEPTH 512
/* Largest single document json_parse accepts (a page of records is split
 * first, so this bounds one record or one API response). */
#define JSON_DOC_MAX ((size_t)1 << 31)

enum json_type {
    JSON_ABSENT = 0, /* missing key / NULL node */
    JSON_NULL,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
};

/* ---- documents ---- */

/* A new empty document (root absent), or NULL when out of memory. */
json_doc *json_doc_new(void);
/* Parses `len` bytes (need not be NUL-terminated) into `doc`, replacing what
 * it held (every node of the previous parse becomes invalid). On failure the
 * root is absent and the result is ML_EJSON (err_msg: cause and byte
 * offset), ML_ETOOBIG or ML_ENOMEM. */
int json_doc_parse(json_doc *doc, const char *text, size_t len);
/* json_doc_new + json_doc_parse; *out is NULL on failure. */
int json_parse(const char *text, size_t len, json_doc **out);
/* Frees the document and wipes the memory that held its text (records are
 * PII). NULL is a no-op. */
void json_free(json_doc *doc);
const json_node *json_root(const json_doc *doc);

/* ---- nodes (valid until the next parse into, or the free of, their doc;
 * every accessor accepts NULL and then answers "absent") ---- */

enum json_type json_type(const json_node *n);
const char *json_type_name(enum json_type t);

/* Member of an object by key (exact, case-sensitive; the last of duplicate
 * keys); NULL when absent or when `obj` is not an object. */
const json_node *json_get(const json_node *obj, const char *key);
/* Member by dotted path ("profile.income"). */
const json_node *json_path(const json_node *obj, const char *path);

/* Members of an array or object. */
size_t json_array_size(const json_node *arr);
/* Iteration: first child / next sibling; NULL at the end. */
const json_node *json_child(const json_node *n);
const json_node *json_next(const json_node *n);
/* Key of an object member (NUL-terminated; see the rules above for keys
 * with NUL bytes or bad escapes); NULL for array elements and roots. */
const char *json_key(const json_node *n);

/* The decoded bytes of a string node and their number in *len (NUL bytes
 * included; s[*len] is NUL). NULL with *len = 0 when the node is not a
 * string, and also when the string holds a bad escape: then err_msg() names
 * it ("lone surrogate \ud800") and json_string_problem() returns the same. */
const char *json_string_len(const json_node *n, size_t *len);
/* The same NUL-terminated; NULL also when the string holds a NUL byte (so
 * that no caller sees a value cut at the NUL). */
const char *json_string(const json_node *n);
/* Why a string node cannot be read ("lone surrogate \ud800"), or NULL when
 * it can (or is not a string). */
const char *json_string_problem(const json_node *n);

/* The token text of a number node, exactly as sent ("-12.50e3"), and its
 * length; NULL when not a number. NUL-terminated. */
const char *json_number_text(const json_node *n, size_t *len);
/* Exact integer value of a number node whose text is an integer (no
 * fraction, no exponent) within int64 / uint64. Returns 0, or ML_ERECORD
 * with err_msg() saying why ("not an integer", "out of range for a signed
 * 64-bit integer"); *out is untouched on failure. */
int json_int64(const json_node *n, long long *out);
int json_uint64(const json_node *n, unsigned long long *out);
bool json_bool(const json_node *n);

/* Appends the compact JSON text of `n` to `out` (strings re-escaped from
 * their decoded bytes, NUL bytes as \u0000; numbers as their token text; an
 * unreadable string as null). */
int json_print(const json_node *n, struct buf *out);

/* Appends a JSON string literal (quoted, escaped) for `s` to `out`. */
int json_quote(struct buf *out, const char *s);
/* The same for `len` bytes that may hold NUL bytes (printed as \u0000). */
int json_quote_len(struct buf *out, const char *s, size_t len);

/* ---- pages of records ---- */

json_page *json_page_new(void);
/* Wipes (the text is PII) and frees. NULL is a no-op. */
void json_page_free(json_page *pg);
/* Empties the page (text wiped) for reuse. */
void json_page_reset(json_page *pg);

/* Takes the content of `text` (the buffer is left empty; the page now owns
 * and will wipe the bytes) and splits it as one JSON array of records.
 * Checks only the array's structure: a leading BOM and whitespace, '[',
 * values separated by ',' with brackets balanced outside strings, ']', then
 * only whitespace. Returns 0 with json_page_count() records, or ML_EJSON with
 * err_msg() saying what the text is instead ("truncated at byte 812 of
 * 812", "got an object, not an array", "not JSON: starts with '<' (HTML?)",
 * "unexpected ':' at byte 17"); the page is then empty. */
int json_page_set_array(json_page *pg, struct buf *text);

/* Appends one record's text (copied), remembering `line` as its position
 * (0 when it has none). A leading UTF-8 BOM is skipped. The text is not
 * checked here: json_page_parse_record says whether it is JSON. */
int json_page_add_record(json_page *pg, const char *text, size_t len, unsigned long line);

size_t json_page_count(const json_page *pg);
/* The line given to json_page_add_record for record `i`, or 0. */
unsigned long json_page_line(const json_page *pg, size_t i);
/* The raw text of record `i` as the source sent it (BOM and surrounding
 * whitespace excluded) and its length; valid until the page changes. */
const char *json_page_record_text(const json_page *pg, size_t i, size_t *len);

/* Parses record `i` into `doc` (replacing what it held). 0, or ML_ERECORD
 * with err_msg() naming the cause ("invalid UTF-8 at byte 12 of the
 * record", "nesting deeper than 512 levels", "raw control character U+0009
 * in a string at byte 40"); never quotes the record's bytes. ML_ENOMEM on
 * resource failure. */
int json_page_parse_record(const json_page *pg, size_t i, json_doc *doc);

#ifdef __cplusplus
}
#endif

#endif
