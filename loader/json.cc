/* json.cc - the json module: simdjson's on-demand parser behind json.h.
 *
 * This is the only file that sees simdjson (C++17); everything else reads
 * JSON through json.h. Division of the work:
 * - simdjson validates the bytes of a document (UTF-8, no raw control
 *   characters in strings, closed strings) in its first stage, then walks
 *   the tokens: structure (colons, commas, brackets), literals, order;
 * - this file builds the flat node array of a json_doc from that walk,
 *   checks number tokens against the RFC 8259 grammar and keeps their text,
 *   decodes string escapes itself (so that a lone surrogate fails only the
 *   reading of its own string, with a message naming it), and splits pages
 *   of records by their array structure alone (record isolation).
 */
#include "json.h"

#include <simdjson.h>

#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

extern "C" {
#include "buf.h"
#include "error.h"
}
#include "banned.h"

namespace od = simdjson::ondemand;

/* ---- nodes and documents ----
 *
 * A document is its nodes in pre-order: a container is followed by its
 * members, `skip` is the size of a node's subtree (itself included), so the
 * next sibling of n is n + n->skip (when NODE_HAS_NEXT). Strings, keys and
 * number tokens live, NUL-terminated, in the document's arena, which is
 * reserved before the walk at the text's length + 2 (decoding never
 * lengthens: see decode_string), so no pointer into it ever moves. */

enum node_flag : uint8_t {
    NODE_HAS_NEXT = 1, /* a sibling follows */
    NODE_TRUE = 2,     /* JSON_BOOL: true */
    NODE_BAD = 4,      /* JSON_STRING: holds a bad surrogate escape (see problem) */
};

/* What is wrong with a string holding a bad surrogate escape. */
enum string_problem : uint8_t {
    SP_NONE = 0,
    SP_LONE_HIGH, /* \ud800 not followed by a low surrogate escape */
    SP_LONE_LOW,  /* \udc00 not preceded by a high one (also the reversed pair) */
};

struct json_node {
    const char *key; /* member key, NUL-terminated; NULL for elements and roots */
    const char *str; /* JSON_STRING: decoded bytes; JSON_NUMBER: token text */
    uint32_t len;    /* string / token length; containers: number of members */
    uint32_t skip;   /* nodes in this subtree, itself included */
    uint8_t type;    /* enum json_type */
    uint8_t flags;   /* enum node_flag */
    uint8_t problem; /* enum string_problem when NODE_BAD */
    uint16_t unit;   /* the offending UTF-16 code unit when NODE_BAD */
};

struct json_doc {
    json_node *nodes;
    size_t nnodes, cap_nodes;
    char *arena; /* strings, keys, number tokens */
    size_t arena_len, arena_cap;
    char *input; /* padded copy of the text for json_doc_parse */
    size_t input_cap;
    od::parser parser;
};

static const size_t PADDING = simdjson::SIMDJSON_PADDING;

static const char *skip_string(const char *p, const char *end);
static bool number_valid(const char *s, size_t n);
static bool is_ws(char c);

/* ---- errors ---- */

/* A failure of the walk: an ML_* code and a message naming the cause. */
struct walk {
    json_doc *doc;
    const char *text; /* start of the document */
    size_t len;
    unsigned depth;
    /* just past the last token consumed, and how many containers were open
     * there: the root ends after that many closing brackets */
    const char *tail;
    unsigned tail_depth;
    int rc;
    char why[200];
};

static void note_tail(walk *w, const char *end)
{
    w->tail = end;
    w->tail_depth = w->depth;
}

static int walk_fail(walk *w, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int walk_fail(walk *w, int rc, const char *fmt, ...)
{
    if (w->rc)
        return w->rc; /* the first cause is the one reported */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->why, sizeof(w->why), fmt, ap);
    va_end(ap);
    w->rc = rc;
    return rc;
}

static size_t offset_of(const walk *w, const char *p)
{
    return p >= w->text && p <= w->text + w->len ? (size_t)(p - w->text) : w->len;
}

/* A printable description of byte c for messages (never a whole value). */
static void describe_byte(unsigned char c, char out[16])
{
    if (c >= 0x21 && c < 0x7f)
        snprintf(out, 16, "'%c'", c);
    else
        snprintf(out, 16, "byte 0x%02x", c);
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid
 * (overlongs, surrogates, beyond U+10FFFF, truncated). */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (n == 0 || c > 0xf4 || (size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0)))
        return 0;
    if (n == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)))
        return 0;
    return n;
}

/* The dotted path of the member holding byte `off` of a text that failed
 * ("city", "profile.profession", "subscription[1].status"), for messages:
 * key bytes other than letters, digits, '_' and '-' are shown as '?', so a
 * message stays printable UTF-8 whatever the keys hold. Empty when the byte
 * is in no member. Diagnostics only: the text's structure is trusted as far
 * as it goes. */
static void path_at(const walk *w, size_t off, char *out, size_t cap)
{
    struct frame {
        bool obj, want_key;
        const char *key;
        size_t keylen;
        unsigned long index;
    } st[64];
    unsigned d = 0;
    const char *s = w->text, *p = s, *end = s + w->len;
    out[0] = '\0';
    while (p < end && (size_t)(p - s) <= off) {
        char c = *p;
        if (c == '"') {
            const char *q = skip_string(p, end);
            if (!q)
                q = end;
            bool is_key = d && st[d - 1].obj && st[d - 1].want_key;
            if (off < (size_t)(q - s))
                break; /* the byte is in this string: a key or a value */
            if (is_key) {
                st[d - 1].key = p + 1;
                st[d - 1].keylen = (size_t)(q - p) - 2;
                st[d - 1].want_key = false;
            }
            p = q;
            continue;
        }
        if ((c == '{' || c == '[') && d < sizeof(st) / sizeof(st[0])) {
            st[d].obj = c == '{';
            st[d].want_key = c == '{';
            st[d].key = NULL;
            st[d].keylen = 0;
            st[d].index = 0;
            d++;
        } else if ((c == '}' || c == ']') && d) {
            d--;
        } else if (c == ',' && d) {
            if (st[d - 1].obj) {
                st[d - 1].want_key = true;
                st[d - 1].key = NULL;
            } else {
                st[d - 1].index++;
            }
        }
        p++;
    }
    size_t o = 0;
    for (unsigned i = 0; i < d && o + 24 < cap; i++) {
        if (st[i].obj && st[i].key) {
            if (o)
                out[o++] = '.';
            for (size_t k = 0; k < st[i].keylen && o + 2 < cap; k++) {
                unsigned char ch = (unsigned char)st[i].key[k];
                out[o++] = (isalnum(ch) || ch == '_' || ch == '-') ? (char)ch : '?';
            }
        } else if (!st[i].obj) {
            o += (size_t)snprintf(out + o, cap - o, "[%lu]", st[i].index);
        }
    }
    out[o < cap ? o : cap - 1] = '\0';
}

/* Explains a first-stage failure (the bytes are not JSON) with its offset
 * and the member it is in: only ever run on a text that already failed. */
static int explain_bytes(walk *w, simdjson::error_code e)
{
    char path[128], in[160];
    const unsigned char *s = (const unsigned char *)w->text, *end = s + w->len;
    bool in_string = false;
    for (const unsigned char *p = s; p < end;) {
        size_t n = utf8_seq(p, end);
        if (n == 0 || (in_string && *p < 0x20)) {
            path_at(w, (size_t)(p - s), path, sizeof(path));
            snprintf(in, sizeof(in), "%s%s%s", path[0] ? " in field '" : "", path,
                     path[0] ? "'" : "");
        }
        if (n == 0)
            return walk_fail(w, ML_EJSON, "invalid UTF-8%s at byte %zu", in, (size_t)(p - s));
        if (in_string && *p < 0x20)
            return walk_fail(w, ML_EJSON,
                             "raw control character U+%04X in a string%s at byte %zu", *p, in,
                             (size_t)(p - s));
        if (*p == '"')
            in_string = !in_string;
        else if (*p == '\\' && in_string && p + 1 < end)
            n = 2; /* an escaped byte, e.g. \" */
        p += n;
    }
    if (in_string || e == simdjson::UNCLOSED_STRING)
        return walk_fail(w, ML_EJSON, "unclosed string (the text ends at byte %zu)", w->len);
    return walk_fail(w, ML_EJSON, "%s", simdjson::error_message(e));
}

/* ---- where a structural error is (diagnostics only) ----
 *
 * simdjson says THAT the structure is wrong, not where. Only for a text that
 * already failed, this walks the RFC 8259 grammar once more to find the first
 * byte where it breaks and what was expected there. It decides nothing: the
 * verdict is simdjson's. */

struct locator {
    const char *s, *p, *end;
    const char *what; /* set at the failure */
};

static bool loc_fail(locator *l, const char *what)
{
    l->what = what;
    return false;
}

static void loc_ws(locator *l)
{
    while (l->p < l->end && is_ws(*l->p))
        l->p++;
}

static bool loc_string(locator *l)
{
    const char *q = skip_string(l->p, l->end);
    if (!q)
        return loc_fail(l, "unclosed string");
    l->p = q;
    return true;
}

static bool loc_value(locator *l, unsigned depth)
{
    loc_ws(l);
    if (l->p == l->end)
        return loc_fail(l, "the text ends where a value should be");
    if (depth > JSON_MAX_DEPTH)
        return loc_fail(l, "nesting too deep");
    char c = *l->p;
    if (c == '{' || c == '[') {
        bool obj = c == '{';
        char close = obj ? '}' : ']';
        l->p++;
        loc_ws(l);
        if (l->p < l->end && *l->p == close) {
            l->p++;
            return true;
        }
        for (;;) {
            loc_ws(l);
            if (obj) {
                if (l->p == l->end || *l->p != '"')
                    return loc_fail(l, "expected a key (a string)");
                if (!loc_string(l))
                    return false;
                loc_ws(l);
                if (l->p == l->end || *l->p != ':')
                    return loc_fail(l, "expected ':' after a key");
                l->p++;
            }
            if (!loc_value(l, depth + 1))
                return false;
            loc_ws(l);
            if (l->p < l->end && *l->p == ',') {
                l->p++;
                continue;
            }
            if (l->p < l->end && *l->p == close) {
                l->p++;
                return true;
            }
            return loc_fail(l, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    if (c == '"')
        return loc_string(l);
    const char *t = l->p;
    while (l->p < l->end && !is_ws(*l->p) && !strchr(",:[]{}\"", *l->p))
        l->p++;
    size_t n = (size_t)(l->p - t);
    if ((n == 4 && memcmp(t, "true", 4) == 0) || (n == 5 && memcmp(t, "false", 5) == 0) ||
        (n == 4 && memcmp(t, "null", 4) == 0) || (n && number_valid(t, n)))
        return true;
    l->p = t;
    return loc_fail(l, n == 0                                 ? "expected a value"
                       : (c == '-' || (c >= '0' && c <= '9')) ? "malformed number"
                                                              : "not a JSON value");
}

/* Finds the first grammar error of w's text; false when there is none. */
static bool locate_error(const walk *w, size_t *at, const char **what)
{
    locator l = {w->text, w->text, w->text + w->len, NULL};
    if (loc_value(&l, 1)) {
        loc_ws(&l);
        if (l.p == l.end)
            return false;
        l.what = "unexpected bytes after the value";
    }
    *at = (size_t)(l.p - l.s);
    *what = l.what;
    return true;
}

/* A simdjson failure met during the walk, at (about) position p. */
static int walk_error(walk *w, simdjson::error_code e, const char *p)
{
    size_t at = offset_of(w, p);
    switch (e) {
    case simdjson::MEMALLOC:
        return walk_fail(w, ML_ENOMEM, "out of memory parsing json");
    case simdjson::CAPACITY:
        return walk_fail(w, ML_ETOOBIG, "document of %zu bytes is too large", w->len);
    case simdjson::DEPTH_ERROR:
        return walk_fail(w, ML_EJSON, "nesting deeper than %d levels", JSON_MAX_DEPTH);
    case simdjson::UTF8_ERROR:
    case simdjson::UNESCAPED_CHARS:
    case simdjson::UNCLOSED_STRING:
        return explain_bytes(w, e);
    case simdjson::EMPTY:
        return walk_fail(w, ML_EJSON, "no JSON value: empty or only whitespace (%zu bytes)",
                         w->len);
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
        return walk_fail(w, ML_EJSON,
                         "truncated: an array or object is not closed at the end "
                         "(byte %zu)",
                         w->len);
    default:
        break;
    }
    size_t found;
    const char *where_what;
    if (locate_error(w, &found, &where_what))
        return walk_fail(w, ML_EJSON, "malformed JSON at byte %zu: %s", found, where_what);
    const char *what = e == simdjson::TAPE_ERROR ? "a missing or extra comma, colon, bracket or key"
                       : e == simdjson::INCORRECT_TYPE ? "not a JSON value"
                                                       : simdjson::error_message(e);
    if (at < w->len) {
        char b[16];
        describe_byte((unsigned char)w->text[at], b);
        return walk_fail(w, ML_EJSON, "malformed JSON at byte %zu (%s): %s", at, b, what);
    }
    return walk_fail(w, ML_EJSON, "malformed JSON at byte %zu: %s", at, what);
}

/* Brackets must balance and match, outside strings, within JSON_MAX_DEPTH,
 * before simdjson's on-demand walk sees the text: it trusts the structure
 * of what passed its first stage (an unclosed "[[[[" makes it read past its
 * index), and this pass also gives nesting and truncation their messages. */
static int check_brackets(walk *w)
{
    char open[JSON_MAX_DEPTH];
    unsigned depth = 0;
    const char *p = w->text, *end = p + w->len;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            const char *q = skip_string(p, end);
            if (!q)
                return walk_fail(w, ML_EJSON, "unclosed string (the text ends at byte %zu)",
                                 w->len);
            p = q;
            continue;
        }
        if (c == '[' || c == '{') {
            if (depth == JSON_MAX_DEPTH)
                return walk_fail(w, ML_EJSON, "nesting deeper than %d levels at byte %zu",
                                 JSON_MAX_DEPTH, offset_of(w, p));
            open[depth++] = c;
        } else if (c == ']' || c == '}') {
            if (depth == 0 || open[depth - 1] != (c == ']' ? '[' : '{'))
                return walk_fail(w, ML_EJSON, "unbalanced '%c' at byte %zu", c, offset_of(w, p));
            depth--;
        }
        p++;
    }
    if (depth)
        return walk_fail(w, ML_EJSON,
                         "truncated: %u array(s) or object(s) not closed at the end (byte %zu)",
                         depth, w->len);
    return 0;
}

/* ---- building nodes ---- */

static int push_node(walk *w, enum json_type t, const char *key, size_t *idx)
{
    json_doc *d = w->doc;
    if (d->nnodes == d->cap_nodes) {
        size_t ncap = d->cap_nodes ? d->cap_nodes * 2 : 64;
        void *p = realloc(d->nodes, ncap * sizeof(json_node));
        if (!p)
            return walk_fail(w, ML_ENOMEM, "out of memory parsing json");
        d->nodes = (json_node *)p;
        d->cap_nodes = ncap;
    }
    if (d->nnodes >= UINT32_MAX)
        return walk_fail(w, ML_ETOOBIG, "more than %u values in one document", UINT32_MAX);
    json_node *n = &d->nodes[d->nnodes];
    memset(n, 0, sizeof(*n));
    n->type = (uint8_t)t;
    n->key = key;
    n->skip = 1;
    *idx = d->nnodes++;
    return 0;
}

/* Room in the arena; the reservation made before the walk always suffices
 * (a failure here is a bug, reported rather than overrun). */
static char *arena_take(walk *w, size_t n)
{
    json_doc *d = w->doc;
    if (n > d->arena_cap - d->arena_len) {
        walk_fail(w, ML_EINTERNAL, "json arena overrun");
        return NULL;
    }
    char *p = d->arena + d->arena_len;
    d->arena_len += n;
    return p;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits at p (bounds checked by the caller), or -1. */
static long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static char *put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xc0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (char)(0xf0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* The result of decoding one string token's content. */
struct decoded {
    char *s;
    size_t len;
    uint8_t problem; /* enum string_problem */
    uint16_t unit;
    bool nul; /* holds a NUL byte */
};

/* Decodes the content of a string token (between its quotes: raw[0..n))
 * into the arena, NUL-terminated. Never writes more than n + 1 bytes: each
 * escape decodes to at most as many bytes as it spells. A bad surrogate
 * escape is noted in out->problem (its bytes become U+FFFD, which no caller
 * sees: the string is unreadable); any other bad escape or an unescaped '"'
 * is a syntax error (ML_EJSON). */
static int decode_string(walk *w, const char *raw, size_t n, decoded *out)
{
    char *o = arena_take(w, n + 1);
    const char *p = raw, *end = raw + n;
    if (!o)
        return w->rc;
    out->s = o;
    out->problem = SP_NONE;
    out->unit = 0;
    out->nul = false;
    size_t plain = 0; /* the common case: nothing to decode, copied as is */
    while (plain < n && p[plain] != '\\' && p[plain] != '"' && p[plain] != '\0')
        plain++;
    memcpy(o, p, plain);
    if (plain == n) {
        o[n] = '\0';
        out->len = n;
        return 0;
    }
    o += plain;
    p += plain;
    while (p < end) {
        if (*p == '"')
            return walk_fail(w, ML_EJSON, "unescaped '\"' inside a string at byte %zu",
                             offset_of(w, p));
        if (*p != '\\') {
            if (*p == '\0')
                out->nul = true;
            *o++ = *p++;
            continue;
        }
        if (p + 1 >= end)
            return walk_fail(w, ML_EJSON, "string ends in a lone backslash at byte %zu",
                             offset_of(w, p));
        char c = p[1];
        const char *simple = strchr("\"\\/bfnrt", c);
        if (c && simple) {
            static const char to[] = "\"\\/\b\f\n\r\t";
            *o++ = to[simple - "\"\\/bfnrt"];
            p += 2;
            continue;
        }
        if (c != 'u') {
            char b[16];
            describe_byte((unsigned char)c, b);
            return walk_fail(w, ML_EJSON, "invalid escape '\\' followed by %s at byte %zu", b,
                             offset_of(w, p));
        }
        long u = end - p >= 6 ? hex4(p + 2) : -1;
        if (u < 0)
            return walk_fail(w, ML_EJSON, "invalid \\u escape (not four hex digits) at byte %zu",
                             offset_of(w, p));
        p += 6;
        if (u >= 0xd800 && u <= 0xdbff) {
            long lo = end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2) : -1;
            if (lo >= 0xdc00 && lo <= 0xdfff) {
                o = put_utf8(o, 0x10000 + (((unsigned long)u - 0xd800) << 10) +
                                    ((unsigned long)lo - 0xdc00));
                p += 6;
                continue;
            }
            if (out->problem == SP_NONE) {
                out->problem = SP_LONE_HIGH;
                out->unit = (uint16_t)u;
            }
            o = put_utf8(o, 0xfffd);
            continue;
        }
        if (u >= 0xdc00 && u <= 0xdfff) {
            if (out->problem == SP_NONE) {
                out->problem = SP_LONE_LOW;
                out->unit = (uint16_t)u;
            }
            o = put_utf8(o, 0xfffd);
            continue;
        }
        if (u == 0)
            out->nul = true;
        o = put_utf8(o, (unsigned long)u);
    }
    *o = '\0';
    out->len = (size_t)(o - out->s);
    /* give back what decoding saved */
    w->doc->arena_len = (size_t)(o + 1 - w->doc->arena);
    return 0;
}

/* Spelling of a problem for messages: "lone surrogate \ud800". */
static void problem_text(uint8_t problem, uint16_t unit, char *out, size_t n)
{
    if (problem == SP_LONE_HIGH)
        snprintf(out, n, "lone surrogate \\u%04x (a high surrogate without its low half)", unit);
    else if (problem == SP_LONE_LOW)
        snprintf(out, n, "lone surrogate \\u%04x (a low surrogate without its high half)", unit);
    else
        snprintf(out, n, "no problem");
}

/* The content of the string token starting at tok (its opening quote);
 * tok_len covers the token and the whitespace after it (simdjson's
 * raw_json_token). */
static int string_content(walk *w, const char *tok, size_t tok_len, const char **raw, size_t *n)
{
    while (tok_len > 1 && (tok[tok_len - 1] == ' ' || tok[tok_len - 1] == '\t' ||
                           tok[tok_len - 1] == '\n' || tok[tok_len - 1] == '\r'))
        tok_len--;
    if (tok_len < 2 || tok[0] != '"' || tok[tok_len - 1] != '"')
        return walk_fail(w, ML_EJSON, "malformed string at byte %zu", offset_of(w, tok));
    /* the closing quote must not be escaped: count the backslashes before it */
    size_t bs = 0;
    while (tok_len - 2 > bs && tok[tok_len - 2 - bs] == '\\')
        bs++;
    if (bs % 2)
        return walk_fail(w, ML_EJSON, "unclosed string at byte %zu", offset_of(w, tok));
    *raw = tok + 1;
    *n = tok_len - 2;
    note_tail(w, tok + tok_len);
    return 0;
}

/* A key: decoded when it is plain text; kept in its JSON spelling when it
 * holds a NUL byte or a bad escape, so that it never matches a plain key. */
static int make_key(walk *w, const char *raw, size_t n, const char **key)
{
    decoded dec;
    size_t mark = w->doc->arena_len;
    if (decode_string(w, raw, n, &dec))
        return w->rc;
    if (dec.nul || dec.problem != SP_NONE) {
        w->doc->arena_len = mark;
        char *o = arena_take(w, n + 1);
        if (!o)
            return w->rc;
        memcpy(o, raw, n);
        o[n] = '\0';
        *key = o;
        return 0;
    }
    *key = dec.s;
    return 0;
}

/* RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool number_valid(const char *s, size_t n)
{
    size_t i = 0;
    auto digit = [&](size_t k) { return k < n && s[k] >= '0' && s[k] <= '9'; };
    if (i < n && s[i] == '-')
        i++;
    if (!digit(i))
        return false;
    if (s[i] == '0')
        i++;
    else
        while (digit(i))
            i++;
    if (i < n && s[i] == '.') {
        i++;
        if (!digit(i))
            return false;
        while (digit(i))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (!digit(i))
            return false;
        while (digit(i))
            i++;
    }
    return i == n;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int set_number(walk *w, json_node *nd, const char *tok, size_t tok_len)
{
    while (tok_len && is_ws(tok[tok_len - 1]))
        tok_len--;
    if (!number_valid(tok, tok_len))
        return walk_fail(w, ML_EJSON, "malformed number at byte %zu", offset_of(w, tok));
    char *o = arena_take(w, tok_len + 1);
    if (!o)
        return w->rc;
    memcpy(o, tok, tok_len);
    o[tok_len] = '\0';
    nd->str = o;
    nd->len = (uint32_t)tok_len;
    note_tail(w, tok + tok_len);
    return 0;
}

static int set_string(walk *w, size_t idx, const char *tok, size_t tok_len)
{
    const char *raw = NULL;
    size_t n = 0;
    decoded dec;
    if (string_content(w, tok, tok_len, &raw, &n) || decode_string(w, raw, n, &dec))
        return w->rc;
    json_node *nd = &w->doc->nodes[idx];
    nd->str = dec.s;
    nd->len = (uint32_t)dec.len;
    if (dec.problem != SP_NONE) {
        nd->flags |= NODE_BAD;
        nd->problem = dec.problem;
        nd->unit = dec.unit;
    }
    return 0;
}

/* The content of a member's key: simdjson hands the position just after its
 * opening quote; the key ends at the last '"' before the ':' that precedes
 * the value (which starts at `value_at`). */
static int key_content(walk *w, const char *after_quote, const char *value_at, const char **raw,
                       size_t *n)
{
    const char *p = value_at;
    while (p > after_quote && is_ws(p[-1]))
        p--;
    if (p <= after_quote || p[-1] != ':')
        return walk_fail(w, ML_EJSON, "missing ':' after a key at byte %zu",
                         offset_of(w, after_quote));
    p--;
    while (p > after_quote && is_ws(p[-1]))
        p--;
    if (p <= after_quote || p[-1] != '"')
        return walk_fail(w, ML_EJSON, "malformed key at byte %zu", offset_of(w, after_quote));
    *raw = after_quote;
    *n = (size_t)(p - 1 - after_quote);
    return 0;
}

static int walk_value(walk *w, od::value v, const char *key);

/* Links a finished member into its container: the previous member gets
 * NODE_HAS_NEXT; the container's subtree and member count grow. */
static void link_member(json_doc *d, size_t parent, size_t *prev, size_t idx)
{
    if (*prev != SIZE_MAX)
        d->nodes[*prev].flags |= NODE_HAS_NEXT;
    *prev = idx;
    d->nodes[parent].len++;
}

static int walk_object(walk *w, od::object o, size_t idx)
{
    size_t prev = SIZE_MAX;
    for (auto field_r : o) {
        od::field field;
        simdjson::error_code e = std::move(field_r).get(field);
        if (e)
            return walk_error(w, e, NULL);
        const char *after_quote = (const char *)field.key().raw();
        od::value child = field.value();
        std::string_view tok = child.raw_json_token();
        const char *raw = NULL, *key = NULL;
        size_t n = 0;
        if (key_content(w, after_quote, tok.data(), &raw, &n) || make_key(w, raw, n, &key))
            return w->rc;
        size_t member = w->doc->nnodes;
        if (walk_value(w, child, key))
            return w->rc;
        link_member(w->doc, idx, &prev, member);
    }
    return 0;
}

static int walk_array(walk *w, od::array a, size_t idx)
{
    size_t prev = SIZE_MAX;
    for (auto el_r : a) {
        od::value el;
        simdjson::error_code e = std::move(el_r).get(el);
        if (e)
            return walk_error(w, e, NULL);
        size_t member = w->doc->nnodes;
        if (walk_value(w, el, NULL))
            return w->rc;
        link_member(w->doc, idx, &prev, member);
    }
    return 0;
}

static int walk_value(walk *w, od::value v, const char *key)
{
    od::json_type t;
    std::string_view tok = v.raw_json_token();
    size_t idx;
    simdjson::error_code e;
    if ((e = v.type().get(t)))
        return walk_error(w, e, tok.data());
    switch (t) {
    case od::json_type::object:
    case od::json_type::array: {
        if (++w->depth > JSON_MAX_DEPTH)
            return walk_fail(w, ML_EJSON, "nesting deeper than %d levels at byte %zu",
                             JSON_MAX_DEPTH, offset_of(w, tok.data()));
        bool obj = t == od::json_type::object;
        if (push_node(w, obj ? JSON_OBJECT : JSON_ARRAY, key, &idx))
            return w->rc;
        if (obj) {
            od::object o;
            if ((e = v.get_object().get(o)))
                return walk_error(w, e, tok.data());
            if (walk_object(w, o, idx))
                return w->rc;
        } else {
            od::array a;
            if ((e = v.get_array().get(a)))
                return walk_error(w, e, tok.data());
            if (walk_array(w, a, idx))
                return w->rc;
        }
        if (w->doc->nodes[idx].len == 0)
            note_tail(w, tok.data() + 1); /* empty: its own bracket closes next */
        w->depth--;
        w->doc->nodes[idx].skip = (uint32_t)(w->doc->nnodes - idx);
        return 0;
    }
    case od::json_type::string:
        if (push_node(w, JSON_STRING, key, &idx))
            return w->rc;
        return set_string(w, idx, tok.data(), tok.size());
    case od::json_type::number:
        if (push_node(w, JSON_NUMBER, key, &idx))
            return w->rc;
        return set_number(w, &w->doc->nodes[idx], tok.data(), tok.size());
    case od::json_type::boolean: {
        bool b;
        if ((e = v.get_bool().get(b)))
            return walk_error(w, e, tok.data());
        if (push_node(w, JSON_BOOL, key, &idx))
            return w->rc;
        if (b)
            w->doc->nodes[idx].flags |= NODE_TRUE;
        note_tail(w, tok.data() + (b ? 4 : 5));
        return 0;
    }
    case od::json_type::null: {
        bool is_null;
        if ((e = v.is_null().get(is_null)) || !is_null)
            return walk_error(w, e ? e : simdjson::N_ATOM_ERROR, tok.data());
        note_tail(w, tok.data() + 4);
        return push_node(w, JSON_NULL, key, &idx);
    }
    }
    return walk_fail(w, ML_EJSON, "malformed JSON at byte %zu", offset_of(w, tok.data()));
}

/* A document whose root is a scalar: simdjson has checked its bytes
 * (iterate); the token is the trimmed text. */
static int walk_scalar_root(walk *w, const char *s, size_t n)
{
    size_t idx;
    while (n && is_ws(*s)) {
        s++;
        n--;
    }
    while (n && is_ws(s[n - 1]))
        n--;
    if (n == 0)
        return walk_fail(w, ML_EJSON, "no JSON value: empty or only whitespace (%zu bytes)",
                         w->len);
    if (*s == '"') {
        if (push_node(w, JSON_STRING, NULL, &idx))
            return w->rc;
        return set_string(w, idx, s, n);
    }
    if (n == 4 && memcmp(s, "true", 4) == 0) {
        if (push_node(w, JSON_BOOL, NULL, &idx))
            return w->rc;
        w->doc->nodes[idx].flags |= NODE_TRUE;
        return 0;
    }
    if ((n == 5 && memcmp(s, "false", 5) == 0))
        return push_node(w, JSON_BOOL, NULL, &idx);
    if (n == 4 && memcmp(s, "null", 4) == 0)
        return push_node(w, JSON_NULL, NULL, &idx);
    if (*s == '-' || (*s >= '0' && *s <= '9')) {
        if (push_node(w, JSON_NUMBER, NULL, &idx))
            return w->rc;
        return set_number(w, &w->doc->nodes[idx], s, n);
    }
    char b[16];
    describe_byte((unsigned char)*s, b);
    return walk_fail(w, ML_EJSON, "not JSON: %s at byte %zu is no value", b, offset_of(w, s));
}

static void doc_clear(json_doc *d)
{
    if (d->arena_len)
        mem_wipe(d->arena, d->arena_len);
    d->nnodes = 0;
    d->arena_len = 0;
}

/* After the walk of a root container: only its closing brackets and
 * whitespace may follow the last token (simdjson stops at the root's end
 * and does not look further). */
static int check_end(walk *w)
{
    const char *p = w->tail, *end = w->text + w->len;
    if (!p)
        return walk_fail(w, ML_EINTERNAL, "json walk lost its place");
    for (unsigned i = 0; i < w->tail_depth; i++) {
        while (p < end && is_ws(*p))
            p++;
        if (p == end || (*p != ']' && *p != '}'))
            return walk_fail(w, ML_EJSON, "malformed JSON at byte %zu", offset_of(w, p));
        p++;
    }
    while (p < end && is_ws(*p))
        p++;
    if (p != end)
        return walk_fail(w, ML_EJSON, "unexpected bytes after the value at byte %zu",
                         offset_of(w, p));
    return 0;
}

/* Parses text[0..len), which has at least PADDING readable bytes after it. */
static int doc_parse_padded(json_doc *d, const char *text, size_t len, bool brackets_checked)
{
    walk w;
    memset(&w, 0, sizeof(w));
    w.doc = d;
    doc_clear(d);
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        text += 3;
        len -= 3;
    }
    w.text = text;
    w.len = len;
    if (len > JSON_DOC_MAX)
        return err_set(ML_ETOOBIG, "json document of %zu bytes exceeds %zu bytes", len,
                       JSON_DOC_MAX);
    if (len + 2 > d->arena_cap) {
        size_t ncap = len + 2 < 4096 ? 4096 : len + 2;
        char *na = (char *)malloc(ncap);
        if (!na)
            return err_set(ML_ENOMEM, "out of memory parsing json");
        if (d->arena_cap)
            mem_wipe(d->arena, d->arena_cap);
        free(d->arena);
        d->arena = na;
        d->arena_cap = ncap;
    }
    if (d->parser.capacity() < len) {
        size_t want = len < 4096 ? 4096 : len;
        if (d->parser.allocate(want, JSON_MAX_DEPTH + 8))
            return err_set(ML_ENOMEM, "out of memory parsing json (%zu bytes)", len);
    }
    od::document doc;
    simdjson::error_code e = simdjson::SUCCESS;
    size_t first = 0;
    while (first < len && is_ws(text[first]))
        first++;
    /* a root that is no container is one token, checked whole by
     * walk_scalar_root: only containers need their brackets checked */
    bool container = first < len && (text[first] == '{' || text[first] == '[');
    if (!container || brackets_checked || !check_brackets(&w))
        e = d->parser.iterate(text, len, len + PADDING).get(doc);
    if (!e && !w.rc) {
        if (!container) {
            walk_scalar_root(&w, text, len);
        } else if (!e) {
            od::value root;
            if ((e = doc.get_value().get(root)))
                walk_error(&w, e, text);
            else if (!walk_value(&w, root, NULL))
                check_end(&w);
        }
    }
    if (e && !w.rc)
        walk_error(&w, e, NULL);
    if (w.rc) {
        doc_clear(d);
        return err_set(w.rc, "%s", w.why);
    }
    return 0;
}

extern "C" {

json_doc *json_doc_new(void)
{
    json_doc *d = (json_doc *)calloc(1, sizeof(json_doc));
    if (!d)
        return NULL;
    new (&d->parser) od::parser(JSON_DOC_MAX);
    return d;
}

int json_doc_parse(json_doc *doc, const char *text, size_t len)
{
    if (len > JSON_DOC_MAX) {
        doc_clear(doc);
        return err_set(ML_ETOOBIG, "json document of %zu bytes exceeds %zu bytes", len,
                       JSON_DOC_MAX);
    }
    if (len + PADDING > doc->input_cap) {
        size_t ncap = len + PADDING < 4096 ? 4096 : len + PADDING;
        char *p = (char *)malloc(ncap);
        if (!p) {
            doc_clear(doc);
            return err_set(ML_ENOMEM, "out of memory parsing json (%zu bytes)", len);
        }
        if (doc->input_cap)
            mem_wipe(doc->input, doc->input_cap);
        free(doc->input);
        doc->input = p;
        doc->input_cap = ncap;
    }
    if (len)
        memcpy(doc->input, text, len);
    memset(doc->input + len, 0, PADDING);
    int rc = doc_parse_padded(doc, doc->input, len, false);
    mem_wipe(doc->input, len);
    return rc;
}

int json_parse(const char *text, size_t len, json_doc **out)
{
    json_doc *d = json_doc_new();
    *out = NULL;
    if (!d)
        return err_set(ML_ENOMEM, "out of memory parsing json");
    int rc = json_doc_parse(d, text, len);
    if (rc) {
        json_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void json_free(json_doc *doc)
{
    if (!doc)
        return;
    if (doc->arena_cap)
        mem_wipe(doc->arena, doc->arena_cap);
    if (doc->input_cap)
        mem_wipe(doc->input, doc->input_cap);
    free(doc->arena);
    free(doc->input);
    free(doc->nodes);
    doc->parser.~parser();
    free(doc);
}

const json_node *json_root(const json_doc *doc)
{
    return doc && doc->nnodes ? &doc->nodes[0] : NULL;
}

enum json_type json_type(const json_node *n)
{
    return n ? (enum json_type)n->type : JSON_ABSENT;
}

const char *json_type_name(enum json_type t)
{
    static const char *const names[] = {"absent", "null",  "boolean", "number",
                                        "string", "array", "object"};
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "unknown";
}

const json_node *json_child(const json_node *n)
{
    if (!n || (n->type != JSON_ARRAY && n->type != JSON_OBJECT) || n->len == 0)
        return NULL;
    return n + 1;
}

const json_node *json_next(const json_node *n)
{
    return n && (n->flags & NODE_HAS_NEXT) ? n + n->skip : NULL;
}

size_t json_array_size(const json_node *arr)
{
    return arr && (arr->type == JSON_ARRAY || arr->type == JSON_OBJECT) ? arr->len : 0;
}

const json_node *json_get(const json_node *obj, const char *key)
{
    const json_node *found = NULL;
    if (!obj || obj->type != JSON_OBJECT || !key)
        return NULL;
    for (const json_node *m = json_child(obj); m; m = json_next(m))
        if (m->key[0] == key[0] && strcmp(m->key, key) == 0)
            found = m; /* duplicate keys: the last one wins */
    return found;
}

const json_node *json_path(const json_node *obj, const char *path)
{
    char part[256];
    const char *p = path;
    const json_node *cur = obj;
    if (!path)
        return NULL;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof(part))
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        cur = json_get(cur, part);
        p += n;
        if (*p == '.')
            p++;
    }
    return cur;
}

const char *json_key(const json_node *n)
{
    return n ? n->key : NULL;
}

const char *json_string_problem(const json_node *n)
{
    static thread_local char why[96];
    if (!n || n->type != JSON_STRING || !(n->flags & NODE_BAD))
        return NULL;
    problem_text(n->problem, n->unit, why, sizeof(why));
    return why;
}

const char *json_string_len(const json_node *n, size_t *len)
{
    *len = 0;
    if (!n || n->type != JSON_STRING)
        return NULL;
    if (n->flags & NODE_BAD) {
        err_set(ML_ERECORD, "%s", json_string_problem(n));
        return NULL;
    }
    *len = n->len;
    return n->str;
}

const char *json_string(const json_node *n)
{
    size_t len;
    const char *s = json_string_len(n, &len);
    return s && memchr(s, '\0', len) == NULL ? s : NULL;
}

const char *json_number_text(const json_node *n, size_t *len)
{
    if (!n || n->type != JSON_NUMBER) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = n->len;
    return n->str;
}

/* The digits of an integer token: sign and magnitude, or ML_ERECORD. */
static int integer_token(const json_node *n, const char *kind, bool *neg, unsigned long long *mag)
{
    size_t len;
    const char *s = json_number_text(n, &len);
    if (!s)
        return err_set(ML_ERECORD, "not a number");
    *neg = s[0] == '-';
    size_t i = *neg ? 1 : 0;
    if (strpbrk(s, ".eE"))
        return err_set(ML_ERECORD, "not an integer (%s)",
                       strchr(s, '.') ? "has a fraction" : "has an exponent");
    unsigned long long v = 0;
    for (; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (~0ULL - d) / 10)
            return err_set(ML_ERECORD, "integer out of range for %s 64-bit integer", kind);
        v = v * 10 + d;
    }
    *mag = v;
    return 0;
}

int json_int64(const json_node *n, long long *out)
{
    bool neg;
    unsigned long long mag;
    int rc = integer_token(n, "a signed", &neg, &mag);
    if (rc)
        return rc;
    if (neg ? mag > 9223372036854775808ULL : mag > 9223372036854775807ULL)
        return err_set(ML_ERECORD, "integer out of range for a signed 64-bit integer");
    *out = neg ? (mag == 9223372036854775808ULL ? (-9223372036854775807LL - 1) : -(long long)mag)
               : (long long)mag;
    return 0;
}

int json_uint64(const json_node *n, unsigned long long *out)
{
    bool neg;
    unsigned long long mag;
    int rc = integer_token(n, "an unsigned", &neg, &mag);
    if (rc)
        return rc;
    if (neg && mag != 0)
        return err_set(ML_ERECORD, "integer out of range for an unsigned 64-bit integer "
                                   "(negative)");
    *out = mag;
    return 0;
}

bool json_bool(const json_node *n)
{
    return n && n->type == JSON_BOOL && (n->flags & NODE_TRUE);
}

static int print_node(const json_node *n, struct buf *out)
{
    switch ((enum json_type)n->type) {
    case JSON_ABSENT:
    case JSON_NULL:
        return buf_adds(out, "null");
    case JSON_BOOL:
        return buf_adds(out, (n->flags & NODE_TRUE) ? "true" : "false");
    case JSON_NUMBER:
        return buf_add(out, n->str, n->len);
    case JSON_STRING:
        if (n->flags & NODE_BAD)
            return buf_adds(out, "null");
        return json_quote_len(out, n->str, n->len);
    case JSON_ARRAY:
    case JSON_OBJECT: {
        bool obj = n->type == JSON_OBJECT;
        int rc = buf_addc(out, obj ? '{' : '[');
        for (const json_node *m = json_child(n); !rc && m; m = json_next(m)) {
            if (m != n + 1)
                rc = buf_addc(out, ',');
            if (!rc && obj)
                rc = json_quote(out, m->key);
            if (!rc && obj)
                rc = buf_addc(out, ':');
            if (!rc)
                rc = print_node(m, out);
        }
        return rc ? rc : buf_addc(out, obj ? '}' : ']');
    }
    }
    return err_set(ML_EINTERNAL, "json node of unknown type");
}

int json_print(const json_node *n, struct buf *out)
{
    return n ? print_node(n, out) : buf_adds(out, "null");
}

int json_quote(struct buf *out, const char *s)
{
    return json_quote_len(out, s, strlen(s));
}

int json_quote_len(struct buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    int rc = buf_grow(out, len + 2);
    if (!rc)
        rc = buf_addc(out, '"');
    while (!rc && p < end) {
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            rc = buf_add(out, run, (size_t)(p - run));
        if (rc || p == end)
            break;
        if (*p >= 0x80) {
            size_t n = utf8_seq(p, end);
            if (n) {
                rc = buf_add(out, p, n);
                p += n;
            } else {
                rc = buf_adds(out, "\\ufffd"); /* not UTF-8: never invalid JSON out */
                p++;
            }
            continue;
        }
        switch (*p) {
        case '"':
            rc = buf_adds(out, "\\\"");
            break;
        case '\\':
            rc = buf_adds(out, "\\\\");
            break;
        case '\n':
            rc = buf_adds(out, "\\n");
            break;
        case '\r':
            rc = buf_adds(out, "\\r");
            break;
        case '\t':
            rc = buf_adds(out, "\\t");
            break;
        default: {
            char e[7] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15], 0};
            rc = buf_adds(out, e);
        }
        }
        p++;
    }
    return rc ? rc : buf_addc(out, '"');
}

} /* extern "C" */

/* ---- pages ---- */

struct page_record {
    size_t off, len;
    unsigned long line;
    bool checked; /* brackets known to balance, match and nest within the limit */
};

struct json_page {
    struct buf text; /* records' bytes; always PADDING spare bytes allocated */
    size_t written;  /* bytes of text ever holding data (wiped on reset and free;
                        beyond it the memory was never written, and touching it
                        would only cost page faults) */
    page_record *recs;
    size_t n, cap;
};

static int page_push(json_page *pg, size_t off, size_t len, unsigned long line)
{
    if (pg->n == pg->cap) {
        size_t ncap = pg->cap ? pg->cap * 2 : 64;
        void *p = realloc(pg->recs, ncap * sizeof(page_record));
        if (!p)
            return err_set(ML_ENOMEM, "out of memory splitting a page");
        pg->recs = (page_record *)p;
        pg->cap = ncap;
    }
    pg->recs[pg->n].off = off;
    pg->recs[pg->n].len = len;
    pg->recs[pg->n].line = line;
    pg->recs[pg->n].checked = false;
    pg->n++;
    return 0;
}

/* The end of the string whose opening quote is at p (just past its closing
 * quote), or NULL when the text ends first. */
static const char *skip_string(const char *p, const char *end)
{
    p++;
    for (;;) {
        const char *q = (const char *)memchr(p, '"', (size_t)(end - p));
        if (!q)
            return NULL;
        size_t bs = 0;
        while (q - bs > p && q[-1 - (ptrdiff_t)bs] == '\\')
            bs++;
        if (bs % 2 == 0)
            return q + 1;
        p = q + 1;
    }
}

/* What a text that is not a JSON array is, from its first byte. */
static const char *not_array_what(char c)
{
    switch (c) {
    case '{':
        return "got an object, not an array";
    case '"':
        return "got a string, not an array";
    case '<':
        return "not JSON: starts with '<' (HTML or XML?)";
    case 't':
    case 'f':
        return "got a boolean (or not JSON), not an array";
    case 'n':
        return "got null (or not JSON), not an array";
    default:
        return (c == '-' || (c >= '0' && c <= '9')) ? "got a number, not an array" : NULL;
    }
}

/* Splits text as one array; records are (offset, length) pairs. */
static int split_array(json_page *pg)
{
    const char *s = pg->text.data, *end = s + pg->text.len, *p = s;
    size_t m = pg->text.len;
    if (m >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3;
    while (p < end && is_ws(*p))
        p++;
    if (p == end)
        return err_set(ML_EJSON, "empty body (%zu bytes of whitespace), not a JSON array", m);
    if (*p != '[') {
        const char *what = not_array_what(*p);
        char b[16];
        describe_byte((unsigned char)*p, b);
        return what ? err_set(ML_EJSON, "%s", what)
                    : err_set(ML_EJSON, "not JSON: starts with %s", b);
    }
    p++;
    while (p < end && is_ws(*p))
        p++;
    if (p < end && *p == ']') {
        p++;
    } else {
        for (;;) {
            const char *start = p;
            bool checked = false;
            if (p == end)
                return err_set(ML_EJSON, "truncated at byte %zu of %zu (the array is not closed)",
                               m, m);
            if (*p == '"') {
                p = skip_string(p, end);
                if (!p)
                    return err_set(ML_EJSON,
                                   "truncated at byte %zu of %zu (inside record %zu, a string "
                                   "opened at byte %zu)",
                                   m, m, pg->n + 1, (size_t)(start - s));
            } else if (*p == '{' || *p == '[') {
                /* the record ends where its brackets balance; whether they
                 * also match and stay within JSON_MAX_DEPTH is noted, so
                 * that a record found well-formed here is not checked again
                 * (check_brackets) and a bad one stays the record's error */
                size_t depth = 0;
                char open[JSON_MAX_DEPTH];
                checked = true;
                while (p < end) {
                    char c = *p;
                    if (c == '"') {
                        const char *q = skip_string(p, end);
                        if (!q)
                            break;
                        p = q;
                        continue;
                    }
                    if (c == '{' || c == '[') {
                        if (depth < JSON_MAX_DEPTH)
                            open[depth] = c;
                        else
                            checked = false;
                        depth++;
                    } else if (c == '}' || c == ']') {
                        if (depth > JSON_MAX_DEPTH || open[depth - 1] != (c == '}' ? '{' : '['))
                            checked = false;
                        if (--depth == 0) {
                            p++;
                            break;
                        }
                    }
                    p++;
                }
                if (depth != 0)
                    return err_set(ML_EJSON,
                                   "truncated at byte %zu of %zu (inside record %zu, opened at "
                                   "byte %zu)",
                                   m, m, pg->n + 1, (size_t)(start - s));
            } else {
                while (p < end && !is_ws(*p) && !strchr(",]}[{\":", *p))
                    p++;
                if (p == start) {
                    char b[16];
                    describe_byte((unsigned char)*p, b);
                    return err_set(ML_EJSON, "unexpected %s at byte %zu of the array", b,
                                   (size_t)(p - s));
                }
            }
            int rc = page_push(pg, (size_t)(start - s), (size_t)(p - start), 0);
            if (rc)
                return rc;
            pg->recs[pg->n - 1].checked = checked;
            while (p < end && is_ws(*p))
                p++;
            if (p == end)
                return err_set(ML_EJSON, "truncated at byte %zu of %zu (the array is not closed)",
                               m, m);
            if (*p == ']') {
                p++;
                break;
            }
            if (*p != ',') {
                char b[16];
                describe_byte((unsigned char)*p, b);
                return err_set(ML_EJSON,
                               "expected ',' or ']' after record %zu, got %s at byte %zu of %zu",
                               pg->n, b, (size_t)(p - s), m);
            }
            p++;
            while (p < end && is_ws(*p))
                p++;
            if (p < end && *p == ']')
                return err_set(ML_EJSON, "a comma before ']' at byte %zu (trailing comma)",
                               (size_t)(p - s));
        }
    }
    while (p < end && is_ws(*p))
        p++;
    if (p != end)
        return err_set(ML_EJSON, "unexpected bytes after the array at byte %zu of %zu",
                       (size_t)(p - s), m);
    return 0;
}

extern "C" {

json_page *json_page_new(void)
{
    json_page *pg = (json_page *)calloc(1, sizeof(json_page));
    if (pg)
        buf_init(&pg->text, 0);
    return pg;
}

void json_page_reset(json_page *pg)
{
    if (!pg)
        return;
    if (pg->text.cap)
        mem_wipe(pg->text.data, pg->written > pg->text.len ? pg->written : pg->text.len);
    buf_reset(&pg->text);
    pg->written = 0;
    pg->n = 0;
}

void json_page_free(json_page *pg)
{
    if (!pg)
        return;
    json_page_reset(pg);
    buf_release(&pg->text);
    free(pg->recs);
    free(pg);
}

int json_page_set_array(json_page *pg, struct buf *text)
{
    json_page_reset(pg);
    buf_release(&pg->text);
    pg->text = *text;
    pg->written = text->len;
    buf_init(text, text->max);
    pg->text.max = 0;
    int rc = buf_grow(&pg->text, PADDING);
    if (!rc)
        rc = split_array(pg);
    if (rc)
        json_page_reset(pg);
    return rc;
}

int json_page_add_record(json_page *pg, const char *text, size_t len, unsigned long line)
{
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        text += 3;
        len -= 3;
    }
    while (len && is_ws(*text)) {
        text++;
        len--;
    }
    while (len && is_ws(text[len - 1]))
        len--;
    size_t off = pg->text.len;
    int rc = buf_add(&pg->text, text, len);
    if (pg->text.len > pg->written)
        pg->written = pg->text.len;
    if (!rc)
        rc = buf_grow(&pg->text, PADDING);
    if (!rc)
        rc = page_push(pg, off, len, line);
    if (rc)
        buf_truncate(&pg->text, off);
    return rc;
}

size_t json_page_count(const json_page *pg)
{
    return pg ? pg->n : 0;
}

unsigned long json_page_line(const json_page *pg, size_t i)
{
    return pg && i < pg->n ? pg->recs[i].line : 0;
}

const char *json_page_record_text(const json_page *pg, size_t i, size_t *len)
{
    if (!pg || i >= pg->n) {
        *len = 0;
        return NULL;
    }
    *len = pg->recs[i].len;
    return pg->text.data + pg->recs[i].off;
}

int json_page_parse_record(const json_page *pg, size_t i, json_doc *doc)
{
    if (!pg || i >= pg->n) {
        doc_clear(doc);
        return err_set(ML_EINTERNAL, "no record %zu in the page", i);
    }
    /* the page keeps PADDING allocated bytes after its text, and a record's
     * text is followed by the rest of the page: parse it in place */
    int rc = doc_parse_padded(doc, pg->text.data + pg->recs[i].off, pg->recs[i].len,
                              pg->recs[i].checked);
    return rc == ML_EJSON ? ML_ERECORD : rc;
}

} /* extern "C" */
