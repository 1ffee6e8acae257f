#include "json.h"

#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "banned.h"

/* json_doc and json_node are cJSON in disguise. */
#define C(n) ((const cJSON *)(const void *)(n))
#define M(n) ((cJSON *)(void *)(n))
#define N(c) ((const json_node *)(const void *)(c))

/* ---- strings that hold NUL bytes ----
 *
 * cJSON decodes "\u0000" (and a raw NUL byte inside a string token) into its
 * NUL-terminated valuestring, so the C string ends at the first NUL although
 * the rest of the decoded bytes follow it. json_parse() therefore scans the
 * text once more when it holds such a string and records, in document order:
 * - the decoded length of every string VALUE holding a NUL: stored in the
 *   node's valueint (unused by cJSON for strings; 0 = "use strlen");
 * - every object KEY holding a NUL: the key is replaced by its JSON spelling
 *   (e.g. `a\u0000b`, six characters for the escape), so that it can never
 *   match a plain key such as "a" and shows up as what it is in messages.
 * cJSON keeps duplicate keys and document order, so a pre-order walk of the
 * tree meets string tokens in the order of the text. */

struct nul_fix {
    size_t index;    /* n-th string value, or n-th key, in document order */
    const char *raw; /* its spelling between the quotes */
    size_t raw_len;
};

struct nul_fixes {
    struct nul_fix *values, *keys;
    size_t nvalues, nkeys, cap_values, cap_keys;
};

static int fix_push(struct nul_fix **v, size_t *n, size_t *cap, struct nul_fix f)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct nul_fix *nv = realloc(*v, ncap * sizeof(*nv));
        if (!nv)
            return err_set(ML_ENOMEM, "out of memory parsing json");
        *v = nv;
        *cap = ncap;
    }
    (*v)[(*n)++] = f;
    return 0;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
    unsigned v = 0;
    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* cJSON skips every byte <= 32 as whitespace: so must we, to stay in step. */
static bool cjson_space(char c)
{
    return (unsigned char)c <= 32;
}

/* Scans text[0..end) (a document cJSON accepted) for string tokens holding a
 * NUL (escaped or raw) and fills `fx` with their positions in document order. */
static int scan_nul_strings(const char *text, const char *end, struct nul_fixes *fx)
{
    size_t nvalue = 0, nkey = 0;
    const char *p = text;
    while (p < end) {
        if (*p != '"') {
            p++;
            continue;
        }
        const char *start = ++p;
        bool has_nul = false;
        while (p < end && *p != '"') {
            unsigned cp;
            if (*p != '\\') {
                has_nul |= *p == '\0';
                p++;
            } else if (end - p >= 6 && p[1] == 'u' && hex4(p + 2, end, &cp) == 0) {
                has_nul |= cp == 0;
                p += 6;
            } else {
                p += end - p >= 2 ? 2 : 1;
            }
        }
        const char *tok_end = p < end ? p : end;
        if (p < end)
            p++; /* closing quote */
        const char *q = p;
        while (q < end && cjson_space(*q))
            q++;
        bool is_key = q < end && *q == ':';
        struct nul_fix f = {is_key ? nkey : nvalue, start, (size_t)(tok_end - start)};
        int rc = 0;
        if (has_nul && is_key)
            rc = fix_push(&fx->keys, &fx->nkeys, &fx->cap_keys, f);
        else if (has_nul)
            rc = fix_push(&fx->values, &fx->nvalues, &fx->cap_values, f);
        if (rc)
            return rc;
        if (is_key)
            nkey++;
        else
            nvalue++;
    }
    return 0;
}

static void put_utf8(char **o, unsigned cp)
{
    unsigned char *u = (unsigned char *)*o;
    if (cp < 0x80) {
        *u++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *u++ = (unsigned char)(0xc0 | (cp >> 6));
        *u++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *u++ = (unsigned char)(0xe0 | (cp >> 12));
        *u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *u++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else {
        *u++ = (unsigned char)(0xf0 | (cp >> 18));
        *u++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        *u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *u++ = (unsigned char)(0x80 | (cp & 0x3f));
    }
    *o = (char *)u;
}

/* Decodes a string token (its spelling between the quotes) as cJSON does
 * into a cJSON_malloc'd, NUL-terminated buffer; *len gets its length. With
 * `spell`, produces instead a printable JSON spelling (for keys): escapes are
 * kept as written and raw control bytes are written as \u00XX. NULL when out
 * of memory or on an escape cJSON would have refused. */
static char *decode_token(const char *s, size_t n, bool spell, size_t *len)
{
    static const char hexd[] = "0123456789abcdef";
    /* decoding never grows the text; spelling grows a raw byte to 6 */
    char *out = cJSON_malloc(spell ? 6 * n + 1 : n + 1), *o = out;
    const char *p = s, *end = s + n;
    if (!out)
        return NULL;
    while (p < end) {
        unsigned cp, lo;
        if (spell) {
            unsigned char c = (unsigned char)*p++;
            if (c < 0x20) {
                memcpy(o, "\\u00", 4);
                o[4] = hexd[c >> 4];
                o[5] = hexd[c & 15];
                o += 6;
            } else {
                *o++ = (char)c;
            }
            continue;
        }
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        if (end - p < 2)
            goto bad;
        switch (p[1]) {
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case '"':
        case '\\':
        case '/':
            *o++ = p[1];
            break;
        case 'u':
            if (hex4(p + 2, end, &cp))
                goto bad;
            p += 6;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                goto bad;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &lo) ||
                    lo < 0xdc00 || lo > 0xdfff)
                    goto bad;
                p += 6;
                cp = 0x10000 + (((cp & 0x3ff) << 10) | (lo & 0x3ff));
            }
            put_utf8(&o, cp);
            continue;
        default:
            goto bad;
        }
        p += 2;
    }
    *o = '\0';
    *len = (size_t)(o - out);
    return out;
bad:
    cJSON_free(out);
    return NULL;
}

struct fix_walk {
    const struct nul_fixes *fx;
    size_t nvalue, nkey, ivalue, ikey;
};

/* Pre-order walk applying the fixes; `is_member` when `c` is an object
 * member. A value gets its own decoding of the token (never trusting an
 * allocation size it did not make), checked against cJSON's up to the first
 * NUL, so that a walk out of step is an error, never a wrong value. */
static int apply_fixes(cJSON *c, bool is_member, struct fix_walk *w)
{
    for (; c; c = c->next) {
        if (is_member) {
            if (w->ikey < w->fx->nkeys && w->fx->keys[w->ikey].index == w->nkey) {
                const struct nul_fix *f = &w->fx->keys[w->ikey++];
                size_t len;
                char *k = decode_token(f->raw, f->raw_len, true, &len);
                if (!k)
                    return err_set(ML_ENOMEM, "out of memory parsing json");
                if (!(c->type & cJSON_StringIsConst))
                    cJSON_free(c->string);
                c->type &= ~cJSON_StringIsConst;
                c->string = k;
            }
            w->nkey++;
        }
        if ((c->type & 0xff) == cJSON_String) {
            if (w->ivalue < w->fx->nvalues && w->fx->values[w->ivalue].index == w->nvalue) {
                const struct nul_fix *f = &w->fx->values[w->ivalue++];
                size_t len = 0;
                char *v = decode_token(f->raw, f->raw_len, false, &len);
                if (!v)
                    return err_set(ML_EJSON, "invalid json: bad escape in a string");
                if (len > INT_MAX || !c->valuestring || strcmp(v, c->valuestring) != 0 ||
                    strlen(v) == len) {
                    cJSON_free(v);
                    return err_set(ML_EINTERNAL, "json: strings holding NUL bytes out of step");
                }
                cJSON_free(c->valuestring);
                c->valuestring = v;
                c->valueint = (int)len;
            }
            w->nvalue++;
        } else if (c->child) {
            int rc = apply_fixes(c->child, (c->type & 0xff) == cJSON_Object, w);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int json_parse(const char *text, size_t len, json_doc **out)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    *out = NULL;
    if (!root) {
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        return err_set(ML_EJSON, "invalid json at byte %zu of %zu", off, len);
    }
    if (!end || end < text || end > text + len)
        end = text + len;
    /* reject trailing data other than whitespace (and NUL padding: nothing
     * may follow the padding) */
    {
        const char *p = end;
        const char *stop = text + len;
        while (p < stop && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            p++;
        while (p < stop && *p == '\0')
            p++;
        if (p < stop) {
            cJSON_Delete(root);
            return err_set(ML_EJSON, "trailing data after json at byte %zu of %zu",
                           (size_t)(p - text), len);
        }
    }
    if (memchr(text, '\0', (size_t)(end - text)) ||
        memmem(text, (size_t)(end - text), "\\u0000", 6)) {
        struct nul_fixes fx = {0};
        int rc = scan_nul_strings(text, end, &fx);
        if (!rc && (fx.nvalues || fx.nkeys)) {
            struct fix_walk w = {&fx, 0, 0, 0, 0};
            rc = apply_fixes(root, false, &w);
            if (!rc && (w.ivalue != fx.nvalues || w.ikey != fx.nkeys))
                rc = err_set(ML_EINTERNAL, "json: strings holding NUL bytes out of step");
        }
        free(fx.values);
        free(fx.keys);
        if (rc) {
            cJSON_Delete(root);
            return rc;
        }
    }
    *out = (json_doc *)(void *)root;
    return 0;
}

void json_free(json_doc *doc)
{
    cJSON_Delete((cJSON *)(void *)doc);
}

const json_node *json_root(const json_doc *doc)
{
    return (const json_node *)(const void *)doc;
}

enum json_type json_type(const json_node *n)
{
    const cJSON *c = C(n);
    if (!c)
        return JSON_ABSENT;
    switch (c->type & 0xff) {
    case cJSON_NULL:
        return JSON_NULL;
    case cJSON_False:
    case cJSON_True:
        return JSON_BOOL;
    case cJSON_Number:
        return JSON_NUMBER;
    case cJSON_String:
        return JSON_STRING;
    case cJSON_Array:
        return JSON_ARRAY;
    case cJSON_Object:
        return JSON_OBJECT;
    default:
        return JSON_INVALID;
    }
}

const char *json_type_name(enum json_type t)
{
    static const char *const names[] = {"absent", "null",  "boolean", "number",
                                        "string", "array", "object",  "invalid"};
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "invalid";
}

const json_node *json_get(const json_node *obj, const char *key)
{
    if (json_type(obj) != JSON_OBJECT)
        return NULL;
    return N(cJSON_GetObjectItemCaseSensitive(C(obj), key));
}

const json_node *json_path(const json_node *obj, const char *path)
{
    char part[128];
    const char *p = path;
    const json_node *cur = obj;
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

size_t json_array_size(const json_node *arr)
{
    if (json_type(arr) != JSON_ARRAY)
        return 0;
    return (size_t)cJSON_GetArraySize(C(arr));
}

const json_node *json_child(const json_node *n)
{
    enum json_type t = json_type(n);
    if (t != JSON_ARRAY && t != JSON_OBJECT)
        return NULL;
    return N(C(n)->child);
}

const json_node *json_next(const json_node *n)
{
    return n ? N(C(n)->next) : NULL;
}

const char *json_key(const json_node *n)
{
    return n ? C(n)->string : NULL;
}

const char *json_string(const json_node *n)
{
    if (json_type(n) != JSON_STRING || C(n)->valueint > 0)
        return NULL; /* a string holding NUL bytes is never handed out cut */
    return C(n)->valuestring;
}

const char *json_string_len(const json_node *n, size_t *len)
{
    *len = 0;
    if (json_type(n) != JSON_STRING || !C(n)->valuestring)
        return NULL;
    *len = C(n)->valueint > 0 ? (size_t)C(n)->valueint : strlen(C(n)->valuestring);
    return C(n)->valuestring;
}

double json_number(const json_node *n)
{
    return json_type(n) == JSON_NUMBER ? C(n)->valuedouble : 0;
}

bool json_bool(const json_node *n)
{
    return n && (C(n)->type & 0xff) == cJSON_True;
}

int json_int64(const json_node *n, long long *out)
{
    double d;
    if (json_type(n) != JSON_NUMBER)
        return err_set(ML_ERECORD, "not a number");
    d = C(n)->valuedouble;
    /* doubles represent integers exactly only up to 2^53 */
    if (!isfinite(d) || d != floor(d) || d > 9007199254740992.0 || d < -9007199254740992.0)
        return err_set(ML_ERECORD, "not an integer in the exact range");
    *out = (long long)d;
    return 0;
}

/* Printer of our own (not cJSON_PrintUnformatted) so that strings holding
 * NUL bytes are printed whole, as \u0000. Output is compact, like cJSON's. */
static int print_number(const cJSON *c, struct buf *out)
{
    char tmp[32];
    double d = c->valuedouble, back = 0;
    if (isnan(d) || isinf(d))
        return buf_adds(out, "null");
    if (d == (double)c->valueint)
        return buf_addf(out, "%d", c->valueint);
    snprintf(tmp, sizeof(tmp), "%1.15g", d);
    back = strtod(tmp, NULL);
    if (back != d)
        snprintf(tmp, sizeof(tmp), "%1.17g", d);
    return buf_adds(out, tmp);
}

static int print_node(const cJSON *c, struct buf *out, unsigned depth)
{
    int rc = 0;
    if (depth > 10000)
        return err_set(ML_EJSON, "json nested too deeply to print");
    switch (c->type & 0xff) {
    case cJSON_NULL:
        return buf_adds(out, "null");
    case cJSON_False:
        return buf_adds(out, "false");
    case cJSON_True:
        return buf_adds(out, "true");
    case cJSON_Number:
        return print_number(c, out);
    case cJSON_String: {
        size_t len;
        const char *s = json_string_len(N(c), &len);
        return json_quote_len(out, s ? s : "", len);
    }
    case cJSON_Raw:
        return buf_adds(out, c->valuestring ? c->valuestring : "");
    case cJSON_Array:
    case cJSON_Object: {
        bool obj = (c->type & 0xff) == cJSON_Object;
        rc = buf_addc(out, obj ? '{' : '[');
        for (const cJSON *e = c->child; !rc && e; e = e->next) {
            if (e != c->child)
                rc = buf_addc(out, ',');
            if (!rc && obj)
                rc = json_quote(out, e->string ? e->string : "");
            if (!rc && obj)
                rc = buf_addc(out, ':');
            if (!rc)
                rc = print_node(e, out, depth + 1);
        }
        return rc ? rc : buf_addc(out, obj ? '}' : ']');
    }
    default:
        return err_set(ML_EJSON, "cannot print an invalid json node");
    }
}

int json_print(const json_node *n, struct buf *out)
{
    if (!n)
        return err_set(ML_EJSON, "cannot print an absent json node");
    return print_node(C(n), out, 0);
}

json_node *json_new_object(void)
{
    return (json_node *)(void *)cJSON_CreateObject();
}
json_node *json_new_array(void)
{
    return (json_node *)(void *)cJSON_CreateArray();
}

int json_add_string(json_node *obj, const char *key, const char *value)
{
    if (!cJSON_AddStringToObject(M(obj), key, value))
        return err_set(ML_ENOMEM, "out of memory building json");
    return 0;
}

int json_add_number(json_node *obj, const char *key, double value)
{
    if (!cJSON_AddNumberToObject(M(obj), key, value))
        return err_set(ML_ENOMEM, "out of memory building json");
    return 0;
}

int json_add_node(json_node *obj, const char *key, json_node *child)
{
    if (!child || !cJSON_AddItemToObject(M(obj), key, M(child))) {
        cJSON_Delete(M(child));
        return err_set(ML_ENOMEM, "out of memory building json");
    }
    return 0;
}

int json_append(json_node *arr, json_node *child)
{
    if (!child || !cJSON_AddItemToArray(M(arr), M(child))) {
        cJSON_Delete(M(child));
        return err_set(ML_ENOMEM, "out of memory building json");
    }
    return 0;
}

/* cJSON_Duplicate copies valuestring with strdup: give the copies of
 * strings holding NUL bytes their whole value back. */
static int fix_duplicate(const cJSON *src, cJSON *dst)
{
    for (; src && dst; src = src->next, dst = dst->next) {
        if ((src->type & 0xff) == cJSON_String && src->valueint > 0 && src->valuestring) {
            size_t len = (size_t)src->valueint;
            char *v = cJSON_malloc(len + 1);
            if (!v)
                return -1;
            memcpy(v, src->valuestring, len + 1);
            if (!(dst->type & cJSON_IsReference))
                cJSON_free(dst->valuestring);
            dst->type &= ~cJSON_IsReference;
            dst->valuestring = v;
            dst->valueint = src->valueint;
        } else if (fix_duplicate(src->child, dst->child)) {
            return -1;
        }
    }
    return 0;
}

json_node *json_duplicate(const json_node *n)
{
    cJSON *dup = cJSON_Duplicate(C(n), 1);
    if (!dup)
        return NULL;
    /* only the node itself, not its siblings */
    const cJSON *src = C(n);
    if ((src->type & 0xff) == cJSON_String && src->valueint > 0) {
        size_t len = (size_t)src->valueint;
        char *v = cJSON_malloc(len + 1);
        if (!v) {
            cJSON_Delete(dup);
            return NULL;
        }
        memcpy(v, src->valuestring, len + 1);
        cJSON_free(dup->valuestring);
        dup->valuestring = v;
        dup->valueint = src->valueint;
    } else if (fix_duplicate(src->child, dup->child)) {
        cJSON_Delete(dup);
        return NULL;
    }
    return (json_node *)(void *)dup;
}

void json_remove(json_node *obj, const char *key)
{
    if (json_type(obj) == JSON_OBJECT)
        cJSON_DeleteItemFromObjectCaseSensitive(M(obj), key);
}

void json_node_free(json_node *n)
{
    cJSON_Delete(M(n));
}

int json_quote(struct buf *out, const char *s)
{
    return json_quote_len(out, s, strlen(s));
}

int json_quote_len(struct buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    int rc = buf_addc(out, '"');
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    for (; !rc && p < end; p++) {
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
        default:
            if (*p < 0x20) {
                char e[7] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15], 0};
                rc = buf_adds(out, e);
            } else {
                rc = buf_addc(out, (char)*p);
            }
        }
    }
    return rc ? rc : buf_addc(out, '"');
}
