#include "json.h"

#include <cJSON.h>
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

int json_parse(const char *text, size_t len, json_doc **out)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    *out = NULL;
    if (!root) {
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        return err_set(ML_EJSON, "invalid json at byte %zu of %zu", off, len);
    }
    /* reject trailing garbage other than whitespace */
    if (end) {
        const char *p = end;
        const char *stop = text + len;
        while (p < stop && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            p++;
        if (p < stop && *p != '\0') {
            cJSON_Delete(root);
            return err_set(ML_EJSON, "trailing data after json at byte %zu of %zu",
                           (size_t)(p - text), len);
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
    return json_type(n) == JSON_STRING ? C(n)->valuestring : NULL;
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

int json_print(const json_node *n, struct buf *out)
{
    char *s = cJSON_PrintUnformatted(C(n));
    int rc;
    if (!s)
        return err_set(ML_ENOMEM, "out of memory printing json");
    rc = buf_adds(out, s);
    cJSON_free(s);
    return rc;
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

json_node *json_duplicate(const json_node *n)
{
    return (json_node *)(void *)cJSON_Duplicate(C(n), 1);
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
    static const char hex[] = "0123456789abcdef";
    int rc = buf_addc(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; !rc && *p; p++) {
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
