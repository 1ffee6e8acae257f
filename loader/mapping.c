#include "mapping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convert.h"
#include "error.h"
#include "banned.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define NO_OFFSET    ((size_t)-1)
/* A value quoted in a reject reason is cut to this many bytes. */
#define REASON_VALUE_MAX 64

/* ---- built-in stream definitions (DESIGN.md "Schema" and "PII policy") ---- */

static const struct column_def users_cols[] = {
    {"user_id", COL_BIGINT, 0, 0, NULL},      {"created_at", COL_DATETIME, 0, 0, NULL},
    {"updated_at", COL_DATETIME, 0, 0, NULL}, {"city_id", COL_SURROGATE, 0, 0, "city"},
    {"country", COL_TEXT, 100, 0, NULL},      {"zipcode_id", COL_SURROGATE, 0, 0, "zipcode"},
    {"email_domain", COL_TEXT, 255, 0, NULL}, {"birth_year", COL_SMALLINT, 0, 0, NULL},
    {"birth_date", COL_DATE, 0, 0, NULL},     {"gender", COL_TEXT, 32, 0, NULL},
    {"is_smoking", COL_BOOL, 0, 0, NULL},     {"profession_id", COL_SURROGATE, 0, 0, "profession"},
    {"income", COL_DECIMAL, 12, 2, NULL},
};
static const struct table_def users_table = {"users_raw", users_cols, ARRAY_LEN(users_cols), 1};

static const struct field_spec users_fields[] = {
    {"id", "user_id", PII_KEEP, true, NULL},
    {"createdAt", "created_at", PII_KEEP, true, NULL},
    {"updatedAt", "updated_at", PII_KEEP, false, NULL},
    {"firstName", NULL, PII_DROP, false, NULL},
    {"lastName", NULL, PII_DROP, false, NULL},
    {"address", NULL, PII_DROP, false, NULL},
    {"city", "city_id", PII_SURROGATE, false, NULL},
    {"country", "country", PII_KEEP, false, NULL},
    {"zipCode", "zipcode_id", PII_SURROGATE, false, NULL},
    {"email", "email_domain", PII_EMAIL_DOMAIN, false, NULL},
    {"birthDate", "birth_year", PII_YEAR, false, "birth_date"},
    {"profile.gender", "gender", PII_KEEP, false, NULL},
    {"profile.isSmoking", "is_smoking", PII_KEEP, false, NULL},
    {"profile.profession", "profession_id", PII_SURROGATE, false, NULL},
    {"profile.income", "income", PII_KEEP, false, NULL},
};

static const struct column_def subs_cols[] = {
    {"user_id", COL_BIGINT, 0, 0, NULL},      {"subscription_no", COL_SMALLINT, 0, 0, NULL},
    {"created_at", COL_DATETIME, 0, 0, NULL}, {"start_date", COL_DATE, 0, 0, NULL},
    {"end_date", COL_DATE, 0, 0, NULL},       {"status", COL_TEXT, 32, 0, NULL},
    {"amount", COL_DECIMAL, 10, 2, NULL},
};
static const struct table_def subs_table = {"subscriptions_raw", subs_cols, ARRAY_LEN(subs_cols),
                                            2};

static const struct field_spec subs_fields[] = {
    {"createdAt", "created_at", PII_KEEP, false, NULL},
    {"startDate", "start_date", PII_KEEP, false, NULL},
    {"endDate", "end_date", PII_KEEP, false, NULL},
    {"status", "status", PII_KEEP, false, NULL},
    {"amount", "amount", PII_KEEP, false, NULL},
};
static const struct child_def users_child = {"subscription", &subs_table, subs_fields,
                                             ARRAY_LEN(subs_fields)};

static const struct column_def messages_cols[] = {
    {"message_id", COL_BIGINT, 0, 0, NULL},
    {"created_at", COL_DATETIME, 0, 0, NULL},
    {"sender_id", COL_BIGINT, 0, 0, NULL},
    {"receiver_id", COL_BIGINT, 0, 0, NULL},
};
static const struct table_def messages_table = {"messages_raw", messages_cols,
                                                ARRAY_LEN(messages_cols), 1};

static const struct field_spec messages_fields[] = {
    {"id", "message_id", PII_KEEP, true, NULL},
    {"createdAt", "created_at", PII_KEEP, true, NULL},
    {"senderId", "sender_id", PII_KEEP, false, NULL},
    {"receiverId", "receiver_id", PII_KEEP, false, NULL},
    {"message", NULL, PII_DROP, false, NULL},
};

/* Login events from an SQS queue (source_sqs.c): each record is the message
 * envelope {"MessageId", "SentTimestamp", "Body": {user_id, device_type, ip,
 * locale, app_version, device_id}}; a body that is not a JSON object, or
 * lacks user_id, is rejected. ip and device_id become surrogates; app_version
 * is kept as sent and its major number as an integer. */
static const struct column_def logins_cols[] = {
    {"message_id", COL_TEXT, 128, 0, NULL},
    {"created_at", COL_EPOCH_MS, 0, 0, NULL},
    {"user_id", COL_TEXT, 128, 0, NULL},
    {"device_type", COL_TEXT, 32, 0, NULL},
    {"ip_id", COL_SURROGATE, 0, 0, "ip"},
    {"device_id", COL_SURROGATE, 0, 0, "device"},
    {"locale", COL_TEXT, 32, 0, NULL},
    {"app_version", COL_TEXT, 32, 0, NULL},
    {"app_version_major", COL_VERSION_MAJOR, 0, 0, NULL},
};
static const struct table_def logins_table = {"user_logins", logins_cols, ARRAY_LEN(logins_cols),
                                              1};

static const struct field_spec logins_fields[] = {
    {"MessageId", "message_id", PII_KEEP, true, NULL},
    {"SentTimestamp", "created_at", PII_KEEP, true, NULL},
    {"Body.user_id", "user_id", PII_KEEP, true, NULL},
    {"Body.device_type", "device_type", PII_KEEP, false, NULL},
    {"Body.ip", "ip_id", PII_SURROGATE, false, NULL},
    {"Body.device_id", "device_id", PII_SURROGATE, false, NULL},
    {"Body.locale", "locale", PII_KEEP, false, NULL},
    {"Body.app_version", "app_version", PII_KEEP, false, NULL},
    {"Body.app_version", "app_version_major", PII_KEEP, false, NULL},
};

static const struct stream_def streams[] = {
    {"users", &users_table, users_fields, ARRAY_LEN(users_fields), "id", &users_child, NULL},
    {"messages", &messages_table, messages_fields, ARRAY_LEN(messages_fields), "id", NULL, NULL},
    {"user_logins", &logins_table, logins_fields, ARRAY_LEN(logins_fields), "MessageId", NULL,
     "load_processed_ids"},
};

const struct stream_def *mapping_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(streams); i++)
        if (strcmp(streams[i].name, name) == 0)
            return &streams[i];
    return NULL;
}

/* ---- batch storage ---- */

int batch_init(struct batch *b, const struct stream_def *def)
{
    memset(b, 0, sizeof(*b));
    b->def = def;
    b->main.def = def->table;
    b->child.def = def->child ? def->child->table : NULL;
    buf_init(&b->arena, 0);
    buf_init(&b->rej_arena, 0);
    buf_init(&b->scratch, 0);
    buf_init(&b->unknown_names, 0);
    buf_init(&b->known_shape, 0);
    buf_init(&b->shape, 0);
    return 0;
}

void batch_reset(struct batch *b)
{
    if (b->arena.cap)
        mem_wipe(b->arena.data, b->arena.cap);
    buf_reset(&b->arena);
    buf_reset(&b->rej_arena);
    b->main.nrows = 0;
    b->child.nrows = 0;
    b->nchildren = 0;
    b->nrejects = 0;
    b->records = 0;
    b->accepted = 0;
    b->duplicates = 0;
    b->already_processed = 0;
    b->unknown_records = 0;
    if (b->key_slots)
        memset(b->key_slots, 0, b->key_slots_cap * sizeof(*b->key_slots));
    b->key_slots_used = 0;
}

void batch_release(struct batch *b)
{
    buf_wipe(&b->arena);
    buf_release(&b->rej_arena);
    buf_wipe(&b->scratch);
    free(b->main.cells);
    free(b->child.cells);
    free(b->children);
    free(b->rejects);
    free(b->superseded);
    free(b->key_slots);
    buf_release(&b->unknown_names);
    buf_release(&b->known_shape);
    buf_release(&b->shape);
    memset(b, 0, sizeof(*b));
}

struct cell *batch_cell(struct table_rows *t, size_t row, unsigned col)
{
    return &t->cells[row * t->def->ncols + col];
}

const char *batch_text(const struct batch *b, const struct cell *c)
{
    return b->arena.data + c->off;
}

const char *batch_rej_text(const struct batch *b, size_t off)
{
    return off == NO_OFFSET ? NULL : b->rej_arena.data + off;
}

static int add_row(struct table_rows *t, size_t *row)
{
    if (t->nrows == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 256;
        struct cell *c = realloc(t->cells, ncap * t->def->ncols * sizeof(*c));
        if (!c)
            return err_set(ML_ENOMEM, "out of memory growing a batch");
        t->cells = c;
        t->cap = ncap;
    }
    *row = t->nrows++;
    memset(&t->cells[*row * t->def->ncols], 0, t->def->ncols * sizeof(struct cell));
    return 0;
}

static int column_index(const struct table_def *t, const char *name)
{
    for (unsigned i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---- one value ---- */

/* A mapping failure that becomes a reject: ML_ERECORD with the reason in err_msg(). */
static int field_error(const struct field_spec *f, const json_node *v, const char *what)
{
    size_t n;
    const char *s = json_string_len(v, &n);
    if (f->action != PII_KEEP || !s)
        return err_set(ML_ERECORD, "field '%s'%s: %s", f->path,
                       f->action != PII_KEEP ? " (PII, value not shown)" : "", what);
    size_t cut = n > REASON_VALUE_MAX ? REASON_VALUE_MAX : n;
    while (cut < n && cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
        cut--; /* never split a UTF-8 sequence */
    if (!convert_utf8_valid(s, cut, NULL))
        return err_set(ML_ERECORD, "field '%s': %s (value not valid UTF-8)", f->path, what);
    /* control characters (NUL included) are shown escaped, never raw */
    char shown[REASON_VALUE_MAX * 6 + 1];
    size_t o = 0;
    for (size_t i = 0; i < cut; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(shown + o, sizeof(shown) - o, "\\u%04x", ch);
        else
            shown[o++] = (char)ch;
    }
    shown[o] = '\0';
    return err_set(ML_ERECORD, "field '%s': %s: '%s'%s", f->path, what, shown,
                   cut < n ? "..." : "");
}

/* True when a string value holds a NUL byte (JSON "\u0000"). */
static bool has_nul(const char *s, size_t len)
{
    return s && memchr(s, '\0', len) != NULL;
}

/* field_error with the current err_msg() as the description (copied first,
 * because err_set overwrites the message store). */
static int field_error_copy(const struct field_spec *f, const json_node *v)
{
    char what[256];
    snprintf(what, sizeof(what), "%s", err_msg());
    return field_error(f, v, what);
}

static int put_text(struct batch *b, struct cell *c, enum cell_kind kind, const char *s, size_t len)
{
    c->kind = kind;
    c->off = b->arena.len;
    c->len = len;
    int rc = buf_add(&b->arena, s, len);
    return rc ? rc : buf_addc(&b->arena, '\0');
}

/* Text of a scalar for parsers: strings as they are (with their length, NUL
 * bytes included), numbers as their exact token text (never through a
 * double). NULL for other types and for unreadable strings. */
static const char *scalar_text(const json_node *v, size_t *len)
{
    *len = 0;
    if (json_type(v) == JSON_STRING)
        return json_string_len(v, len);
    if (json_type(v) == JSON_NUMBER)
        return json_number_text(v, len);
    return NULL;
}

/* Milliseconds since 1970-01-01 UTC -> "YYYY-MM-DD hh:mm:ss.fff"; -1 outside
 * years 1970..9999. */
static int epoch_ms_text(long long ms, char out[CONVERT_DATETIME_LEN])
{
    struct tm tm;
    time_t secs;
    if (ms < 0 || ms > 253402300799999LL) /* 9999-12-31 23:59:59.999 */
        return -1;
    secs = (time_t)(ms / 1000);
    int milli = (int)(ms % 1000);
    if (!gmtime_r(&secs, &tm) ||
        strftime(out, CONVERT_DATETIME_LEN, "%Y-%m-%d %H:%M:%S", &tm) != 19)
        return -1;
    out[19] = '.';
    out[20] = (char)('0' + milli / 100);
    out[21] = (char)('0' + milli / 10 % 10);
    out[22] = (char)('0' + milli % 10);
    out[23] = '\0';
    return 0;
}

static int map_value(struct batch *b, const struct field_spec *f, const struct column_def *col,
                     const json_node *v, struct cell *c, const struct map_options *opt,
                     struct cell *date_cell)
{
    const char *s;
    size_t slen = 0;
    int rc;
    enum json_type t = json_type(v);
    /* NUL bytes are data only where a value is stored as text (kept text
     * columns, surrogate values); a value that is parsed (numbers, dates,
     * e-mail addresses) must not hold one: a parser would stop at the NUL. */
    const char *sv = json_string_len(v, &slen);
    bool nul = has_nul(sv, slen);

    /* a string whose escapes cannot be decoded (a lone surrogate) fails the
     * record only when its value is used; a dropped field is never read */
    if (f->action != PII_DROP && json_string_problem(v))
        return err_set(ML_ERECORD, "%s in field '%s'", json_string_problem(v), f->path);
    if (t == JSON_ABSENT || t == JSON_NULL) {
        if (f->required)
            return field_error(
                f, v, t == JSON_ABSENT ? "missing required field" : "required field is null");
        c->kind = CELL_NULL;
        return 0;
    }
    switch (f->action) {
    case PII_EMAIL_DOMAIN:
        if (t != JSON_STRING)
            return field_error(f, v, "must be a string");
        if (nul)
            return field_error(f, v, "not an e-mail address (holds a NUL byte)");
        rc = pii_email_domain(json_string(v), &b->scratch);
        if (rc == ML_ERECORD)
            return field_error(f, v, "not an e-mail address");
        if (rc)
            return rc;
        if (!convert_utf8_valid(b->scratch.data, b->scratch.len, &(size_t){0}) ||
            b->scratch.len > col->size)
            return field_error(f, v, "e-mail domain is not valid UTF-8 or too long");
        return put_text(b, c, CELL_TEXT, b->scratch.data, b->scratch.len);
    case PII_YEAR: {
        int year;
        char date[CONVERT_DATE_LEN];
        if (t != JSON_STRING)
            return field_error(f, v, "must be a date string");
        if (nul)
            return field_error(f, v, "not an ISO 8601 date (holds a NUL byte)");
        if (convert_year(json_string(v), &year) || convert_date(json_string(v), date))
            return field_error(f, v, "not an ISO 8601 date");
        c->kind = CELL_INT;
        c->i = year;
        if (date_cell && opt && opt->birth_date == BIRTH_DATE_DATE)
            return put_text(b, date_cell, CELL_TEXT, date, strlen(date));
        return 0;
    }
    case PII_SURROGATE:
        s = scalar_text(v, &slen);
        if (!s)
            return field_error(f, v, "must be a string or a number");
        if (!convert_utf8_valid(s, slen, NULL))
            return field_error(f, v, "not valid UTF-8");
        if (slen > MAPPING_SURROGATE_VALUE_MAX)
            return field_error(f, v, "longer than 1048576 bytes (MAPPING_SURROGATE_VALUE_MAX)");
        rc = pii_normalise(col->kind, s, slen, &b->scratch);
        if (rc)
            return rc;
        if (b->scratch.len == 0) {
            c->kind = CELL_NULL;
            return 0;
        }
        rc = put_text(b, c, CELL_PENDING, b->scratch.data, b->scratch.len);
        mem_wipe(b->scratch.data, b->scratch.len);
        return rc;
    case PII_DROP:
        return 0;
    case PII_KEEP:
        break;
    }

    switch (col->type) {
    case COL_BIGINT:
    case COL_SMALLINT: {
        long long ll;
        if (t == JSON_NUMBER)
            rc = json_int64(v, &ll); /* exact: from the token text */
        else if (t == JSON_STRING)
            rc = nul ? err_set(ML_ERECORD, "not an integer (holds a NUL byte)")
                     : convert_int64(json_string(v), &ll);
        else
            return field_error(f, v, "must be an integer");
        if (rc)
            return field_error_copy(f, v);
        if (col->type == COL_SMALLINT && (ll < -32768 || ll > 32767))
            return field_error(f, v, "integer out of range");
        c->kind = CELL_INT;
        c->i = ll;
        return 0;
    }
    case COL_DECIMAL: {
        char out[CONVERT_DECIMAL_LEN];
        s = scalar_text(v, &slen);
        if (!s)
            return field_error(f, v, "must be a number or a decimal string");
        if (nul)
            return field_error(f, v, "not a decimal number (holds a NUL byte)");
        if (convert_decimal(s, col->size, col->scale, out))
            return field_error_copy(f, v);
        return put_text(b, c, CELL_TEXT, out, strlen(out));
    }
    case COL_DATETIME: {
        char out[CONVERT_DATETIME_LEN];
        if (t != JSON_STRING)
            return field_error(f, v, "must be a timestamp string");
        if (nul)
            return field_error(f, v, "not an ISO 8601 timestamp (holds a NUL byte)");
        if (convert_timestamp(json_string(v), out))
            return field_error_copy(f, v);
        return put_text(b, c, CELL_TEXT, out, strlen(out));
    }
    case COL_DATE: {
        char out[CONVERT_DATE_LEN];
        if (t != JSON_STRING)
            return field_error(f, v, "must be a date string");
        if (nul)
            return field_error(f, v, "not an ISO 8601 date (holds a NUL byte)");
        if (convert_date(json_string(v), out))
            return field_error_copy(f, v);
        return put_text(b, c, CELL_TEXT, out, strlen(out));
    }
    case COL_BOOL:
        if (t != JSON_BOOL)
            return field_error(f, v, "must be true or false");
        c->kind = CELL_INT;
        c->i = json_bool(v) ? 1 : 0;
        return 0;
    case COL_TEXT: {
        size_t n;
        s = json_string_len(v, &slen);
        if (!s)
            return field_error(f, v, "must be a string");
        if (!convert_utf8_valid(s, slen, &n))
            return field_error(f, v, "not valid UTF-8");
        if (n > col->size) {
            char what[64];
            snprintf(what, sizeof(what), "longer than %u characters", col->size);
            return field_error(f, v, what);
        }
        return put_text(b, c, CELL_TEXT, s, slen); /* NUL bytes kept */
    }
    case COL_EPOCH_MS: {
        char out[CONVERT_DATETIME_LEN];
        long long ms;
        if (t == JSON_NUMBER)
            rc = json_int64(v, &ms);
        else if (t == JSON_STRING && !nul && json_string(v)[0] >= '0' && json_string(v)[0] <= '9')
            rc = convert_int64(json_string(v), &ms);
        else
            return field_error(f, v, "must be milliseconds since 1970 (an integer)");
        if (rc || epoch_ms_text(ms, out))
            return field_error(f, v, "not milliseconds since 1970 within years 1970..9999");
        return put_text(b, c, CELL_TEXT, out, strlen(out));
    }
    case COL_VERSION_MAJOR: {
        long long major = 0;
        size_t digits = 0;
        s = json_string(v);
        if (t == JSON_NUMBER) {
            if (json_int64(v, &major) || major < 0 || major > 2147483647)
                return field_error(f, v, "not a version number");
            c->kind = CELL_INT;
            c->i = major;
            return 0;
        }
        if (!s || nul)
            return field_error(f, v, "must be a version string such as '2.3.0'");
        if (*s == 'v' || *s == 'V')
            s++;
        for (; s[digits] >= '0' && s[digits] <= '9' && digits < 10; digits++)
            major = major * 10 + (s[digits] - '0');
        if (digits == 0 || digits == 10 || major > 2147483647 ||
            (s[digits] && !strchr(".-+", s[digits])))
            return field_error(f, v, "not a version string such as '2.3.0'");
        c->kind = CELL_INT;
        c->i = major;
        return 0;
    }
    case COL_SURROGATE:
        break;
    }
    return err_set(ML_EINTERNAL, "column '%s' has no mapping for its type", col->name);
}

/* Resolves a dotted path; an intermediate that exists but is not an object
 * is a record error. */
static int lookup(const json_node *rec, const char *path, const json_node **out)
{
    char part[128];
    const char *p = path;
    const json_node *cur = rec;
    *out = NULL;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof(part))
            return err_set(ML_EINTERNAL, "path too long");
        memcpy(part, p, n);
        part[n] = '\0';
        if (json_type(cur) != JSON_OBJECT) {
            return err_set(ML_ERECORD, "field '%.*s' must be an object, got %s",
                           (int)(p - path - 1), path, json_type_name(json_type(cur)));
        }
        cur = json_get(cur, part);
        if (!cur)
            return 0;
        p += n;
        if (*p == '.')
            p++;
        if (*p && json_type(cur) == JSON_NULL)
            return 0;
    }
    *out = cur;
    return 0;
}

static int map_fields(struct batch *b, const struct field_spec *fields, unsigned nfields,
                      const struct table_def *tdef, struct table_rows *rows, size_t row,
                      const json_node *rec, const struct map_options *opt)
{
    for (unsigned i = 0; i < nfields; i++) {
        const struct field_spec *f = &fields[i];
        const json_node *v;
        int col, dcol = -1, rc = lookup(rec, f->path, &v);
        if (rc)
            return rc;
        if (!f->column)
            continue;
        col = column_index(tdef, f->column);
        if (f->date_column)
            dcol = column_index(tdef, f->date_column);
        if (col < 0)
            return err_set(ML_EINTERNAL, "mapping names unknown column '%s'", f->column);
        rc = map_value(b, f, &tdef->cols[col], v, batch_cell(rows, row, (unsigned)col), opt,
                       dcol >= 0 ? batch_cell(rows, row, (unsigned)dcol) : NULL);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- rejects ---- */

/* 2 when `path` is a kept field, 1 when it is a prefix of one ("profile"
 * of "profile.gender"), else 0. */
static int kept_state(const struct field_spec *fields, unsigned nfields, const char *path)
{
    size_t n = strlen(path);
    int st = 0;
    for (unsigned i = 0; i < nfields; i++) {
        if (fields[i].action != PII_KEEP)
            continue;
        if (strcmp(fields[i].path, path) == 0)
            return 2;
        if (strncmp(fields[i].path, path, n) == 0 && fields[i].path[n] == '.')
            st = 1;
    }
    return st;
}

/* Writes the kept (non-PII) fields of object `obj`, whose dotted path is
 * `prefix` ("" or "profile."), as a JSON object in the record's own order,
 * so nothing unknown or personal can reach load_rejects. Of duplicate keys
 * only the one the mapping read (the last) is written; strings that cannot
 * be read or are not UTF-8 (load_rejects is utf8mb4) stay out. `child_path`
 * names the top-level array whose elements are written with `child`'s
 * fields (NULL: none). */
static int write_kept(struct buf *out, const json_node *obj, const char *prefix,
                      const struct field_spec *fields, unsigned nfields, const char *child_path,
                      const struct child_def *child)
{
    int rc = buf_addc(out, '{');
    bool first = true;
    for (const json_node *m = json_child(obj); !rc && m; m = json_next(m)) {
        char full[256];
        const char *key = json_key(m);
        enum json_type t = json_type(m);
        size_t mark = out->len;
        if (!key || json_get(obj, key) != m ||
            (size_t)snprintf(full, sizeof(full), "%s%s", prefix, key) >= sizeof(full))
            continue;
        rc = buf_adds(out, first ? "" : ",");
        if (!rc)
            rc = json_quote(out, key);
        if (!rc)
            rc = buf_addc(out, ':');
        if (rc)
            break;
        size_t value_at = out->len;
        if (child_path && strcmp(full, child_path) == 0 && t == JSON_ARRAY) {
            rc = buf_addc(out, '[');
            for (const json_node *e = json_child(m); !rc && e; e = json_next(e)) {
                if (e != json_child(m))
                    rc = buf_addc(out, ',');
                if (!rc && json_type(e) == JSON_OBJECT)
                    rc = write_kept(out, e, "", child->fields, child->nfields, NULL, NULL);
                else if (!rc)
                    rc = buf_adds(out, "{}");
            }
            if (!rc)
                rc = buf_addc(out, ']');
        } else {
            int st = kept_state(fields, nfields, full);
            size_t slen;
            const char *str = json_string_len(m, &slen);
            if (st == 2 && t != JSON_OBJECT && t != JSON_ARRAY &&
                (t != JSON_STRING || (str && convert_utf8_valid(str, slen, NULL)))) {
                rc = json_print(m, out);
            } else if (st == 1 && t == JSON_OBJECT) {
                char sub[260];
                snprintf(sub, sizeof(sub), "%s.", full);
                rc = write_kept(out, m, sub, fields, nfields, NULL, NULL);
                if (!rc && out->len == value_at + 2)
                    buf_truncate(out, mark); /* nothing kept inside */
            } else {
                buf_truncate(out, mark); /* not kept: not written */
            }
        }
        if (out->len > mark)
            first = false;
    }
    return rc ? rc : buf_addc(out, '}');
}

static int build_payload(const struct stream_def *def, const json_node *rec, struct buf *out)
{
    if (json_type(rec) != JSON_OBJECT)
        return buf_adds(out, "{}");
    return write_kept(out, rec, "", def->fields, def->nfields, def->child ? def->child->path : NULL,
                      def->child);
}

static int rej_add(struct batch *b, const char *s, size_t *off)
{
    *off = b->rej_arena.len;
    int rc = buf_adds(&b->rej_arena, s);
    return rc ? rc : buf_addc(&b->rej_arena, '\0');
}

/* The position of the record being mapped: `ref`, "ref:line" when line is
 * not 0 (a line of a file), else "ref#index" when index is not NO_OFFSET.
 * Only formatted when the record is rejected. */
struct record_pos {
    const char *ref;
    size_t index;
    unsigned long line;
};

static int add_reject(struct batch *b, const json_node *rec, struct record_pos pos,
                      const char *reason)
{
    struct reject *r;
    struct buf payload = BUF_INIT;
    const json_node *key = NULL;
    int rc;
    if (b->nrejects == b->rejects_cap) {
        size_t ncap = b->rejects_cap ? b->rejects_cap * 2 : 16;
        struct reject *nr = realloc(b->rejects, ncap * sizeof(*nr));
        if (!nr)
            return err_set(ML_ENOMEM, "out of memory");
        b->rejects = nr;
        b->rejects_cap = ncap;
    }
    r = &b->rejects[b->nrejects];
    r->record_key = NO_OFFSET;
    r->source_ref = b->rej_arena.len;
    rc = pos.line                 ? buf_addf(&b->rej_arena, "%s:%lu", pos.ref, pos.line)
         : pos.index == NO_OFFSET ? buf_adds(&b->rej_arena, pos.ref)
                                  : buf_addf(&b->rej_arena, "%s#%zu", pos.ref, pos.index);
    if (!rc)
        rc = buf_addc(&b->rej_arena, '\0');
    if (!rc)
        rc = rej_add(b, reason, &r->reason);
    if (!rc && json_type(rec) == JSON_OBJECT) {
        const char *ks;
        size_t kl;
        /* a key holding a NUL byte is not recorded: record_key is text */
        if (lookup(rec, b->def->key_path, &key) == 0 && (ks = scalar_text(key, &kl)) && kl <= 255 &&
            !has_nul(ks, kl) && convert_utf8_valid(ks, kl, NULL))
            rc = rej_add(b, ks, &r->record_key);
    }
    if (!rc)
        rc = build_payload(b->def, rec, &payload);
    if (!rc)
        rc = rej_add(b, payload.data, &r->payload);
    buf_release(&payload);
    if (!rc)
        b->nrejects++;
    return rc;
}

/* ---- duplicate keys within a batch: the last record wins ---- */

static size_t key_hash(const struct batch *b, size_t row)
{
    const struct table_def *t = b->main.def;
    size_t h = 1469598103934665603u;
    for (unsigned k = 0; k < t->nkey; k++) {
        const struct cell *c = &b->main.cells[row * t->ncols + k];
        h = (h ^ (size_t)c->kind) * 1099511628211u;
        if (c->kind == CELL_INT) {
            h = (h ^ (size_t)(unsigned long long)c->i) * 1099511628211u;
        } else if (c->kind == CELL_TEXT || c->kind == CELL_PENDING) {
            const unsigned char *p = (const unsigned char *)b->arena.data + c->off;
            for (size_t i = 0; i < c->len; i++)
                h = (h ^ p[i]) * 1099511628211u;
        }
    }
    return h;
}

static bool key_equal(const struct batch *b, size_t r1, size_t r2)
{
    const struct table_def *t = b->main.def;
    for (unsigned k = 0; k < t->nkey; k++) {
        const struct cell *x = &b->main.cells[r1 * t->ncols + k];
        const struct cell *y = &b->main.cells[r2 * t->ncols + k];
        if (x->kind != y->kind)
            return false;
        if (x->kind == CELL_INT && x->i != y->i)
            return false;
        if ((x->kind == CELL_TEXT || x->kind == CELL_PENDING) &&
            (x->len != y->len ||
             memcmp(b->arena.data + x->off, b->arena.data + y->off, x->len) != 0))
            return false;
    }
    return true;
}

/* Inserts main row `row` into the key set; *prev gets the row it replaces,
 * or (size_t)-1. */
static int key_set_put(struct batch *b, size_t row, size_t *prev)
{
    *prev = NO_OFFSET;
    if ((b->key_slots_used + 1) * 2 > b->key_slots_cap) {
        size_t ncap = b->key_slots_cap ? b->key_slots_cap * 2 : 512;
        size_t *ns = calloc(ncap, sizeof(*ns));
        if (!ns)
            return err_set(ML_ENOMEM, "out of memory tracking record keys");
        for (size_t i = 0; i < b->key_slots_cap; i++) {
            size_t r = b->key_slots[i];
            if (!r)
                continue;
            size_t j = key_hash(b, r - 1) & (ncap - 1);
            while (ns[j])
                j = (j + 1) & (ncap - 1);
            ns[j] = r;
        }
        free(b->key_slots);
        b->key_slots = ns;
        b->key_slots_cap = ncap;
    }
    size_t mask = b->key_slots_cap - 1;
    for (size_t j = key_hash(b, row) & mask;; j = (j + 1) & mask) {
        if (!b->key_slots[j]) {
            b->key_slots[j] = row + 1;
            b->key_slots_used++;
            return 0;
        }
        if (key_equal(b, b->key_slots[j] - 1, row)) {
            *prev = b->key_slots[j] - 1;
            b->key_slots[j] = row + 1;
            return 0;
        }
    }
}

static int mark_row(struct batch *b, size_t row, bool superseded)
{
    if (row >= b->superseded_cap) {
        size_t ncap = b->superseded_cap ? b->superseded_cap : 256;
        while (ncap <= row)
            ncap *= 2;
        bool *n = realloc(b->superseded, ncap * sizeof(*n));
        if (!n)
            return err_set(ML_ENOMEM, "out of memory tracking record keys");
        b->superseded = n;
        b->superseded_cap = ncap;
    }
    b->superseded[row] = superseded;
    return 0;
}

/* Called for an accepted main row: supersedes an earlier row of the same key. */
static int note_key(struct batch *b, size_t row)
{
    size_t prev;
    int rc = mark_row(b, row, false);
    if (!rc)
        rc = key_set_put(b, row, &prev);
    if (rc || prev == NO_OFFSET)
        return rc;
    b->superseded[prev] = true;
    b->duplicates++;
    b->accepted--;
    return 0;
}

int batch_drop(struct batch *b, const bool *drop_rows, const bool *drop_rejects)
{
    const unsigned nc = b->main.def->ncols;
    size_t w = 0, dropped = 0;
    if (b->def->child)
        return err_set(ML_EINTERNAL, "stream '%s': batch_drop with a child table", b->def->name);
    for (size_t r = 0; drop_rows && r < b->main.nrows; r++) {
        if (drop_rows[r]) {
            dropped++;
            continue;
        }
        if (w != r) {
            memmove(&b->main.cells[w * nc], &b->main.cells[r * nc], nc * sizeof(struct cell));
            if (r < b->superseded_cap && w < b->superseded_cap)
                b->superseded[w] = b->superseded[r];
        }
        w++;
    }
    if (drop_rows) {
        b->accepted -= dropped;
        b->already_processed += dropped;
        b->main.nrows = w;
        /* the key set points at old row numbers: rebuild it */
        if (b->key_slots)
            memset(b->key_slots, 0, b->key_slots_cap * sizeof(*b->key_slots));
        b->key_slots_used = 0;
        for (size_t r = 0; r < w; r++) {
            size_t prev;
            int rc = key_set_put(b, r, &prev);
            if (rc)
                return rc;
        }
    }
    w = 0;
    for (size_t i = 0; drop_rejects && i < b->nrejects; i++) {
        if (drop_rejects[i]) {
            b->already_processed++;
            continue;
        }
        b->rejects[w++] = b->rejects[i];
    }
    if (drop_rejects)
        b->nrejects = w;
    return 0;
}

int batch_compact(struct batch *b)
{
    const unsigned nc = b->main.def->ncols;
    const unsigned ncc = b->child.def ? b->child.def->ncols : 0;
    const bool with_children = b->def->child && b->nchildren == b->main.nrows;
    size_t w = 0, cw = 0, cr = 0;
    if (b->duplicates == 0)
        return 0;
    for (size_t r = 0; r < b->main.nrows; r++) {
        size_t nchild = with_children ? b->children[r].count : 0;
        bool keep = !(r < b->superseded_cap && b->superseded[r]);
        if (keep) {
            if (w != r)
                memmove(&b->main.cells[w * nc], &b->main.cells[r * nc], nc * sizeof(struct cell));
            if (with_children) {
                if (cw != cr && nchild)
                    memmove(&b->child.cells[cw * ncc], &b->child.cells[cr * ncc],
                            nchild * ncc * sizeof(struct cell));
                b->children[w] = b->children[r];
                cw += nchild;
            }
            w++;
        }
        cr += nchild;
    }
    b->main.nrows = w;
    if (with_children) {
        b->child.nrows = cw;
        b->nchildren = w;
    }
    for (size_t r = 0; r < w && r < b->superseded_cap; r++)
        b->superseded[r] = false;
    /* the key set points at old row numbers: rebuild it */
    if (b->key_slots)
        memset(b->key_slots, 0, b->key_slots_cap * sizeof(*b->key_slots));
    b->key_slots_used = 0;
    for (size_t r = 0; r < w; r++) {
        size_t prev;
        int rc = key_set_put(b, r, &prev);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- fields outside the mapping: accepted, never stored, names noted ---- */

static void note_unknown_name(struct batch *b, const char *prefix, const char *key)
{
    char name[160];
    size_t o = 0;
    for (const char *parts[2] = {prefix, key}, **pp = parts; pp < parts + 2; pp++) {
        for (const unsigned char *p = (const unsigned char *)*pp; *p && o < 64; p++) {
            if (*p < 0x20 || *p == 0x7f || *p == ',')
                o += (size_t)snprintf(name + o, sizeof(name) - o, "\\x%02x", *p);
            else
                name[o++] = (char)*p;
        }
    }
    name[o] = '\0';
    /* the names are kept newline separated; look for this one */
    const char *all = b->unknown_names.data;
    for (const char *p = all; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n == o && memcmp(p, name, n) == 0)
            return;
        p = nl ? nl + 1 : NULL;
    }
    if (b->nunknown_names >= MAPPING_UNKNOWN_NAMES_MAX) {
        b->unknown_names_more = true;
        return;
    }
    if (buf_adds(&b->unknown_names, name) == 0 && buf_addc(&b->unknown_names, '\n') == 0)
        b->nunknown_names++;
}

/* True when `full` is a field path (or the child path), or *prefix when it
 * starts a longer field path ("profile" of "profile.gender"). */
static bool path_known(const struct field_spec *fields, unsigned nfields, const char *child_path,
                       const char *full, bool *prefix)
{
    size_t n = strlen(full);
    *prefix = false;
    if (child_path && strcmp(child_path, full) == 0)
        return true;
    for (unsigned i = 0; i < nfields; i++) {
        if (strcmp(fields[i].path, full) == 0)
            return true;
        if (strncmp(fields[i].path, full, n) == 0 && fields[i].path[n] == '.')
            *prefix = true;
    }
    return false;
}

/* Checks the members of `obj` (at dotted `prefix`) against the field paths;
 * returns true when one is unknown. */
static bool check_members(struct batch *b, const json_node *obj, const char *prefix,
                          const char *shown_prefix, const struct field_spec *fields,
                          unsigned nfields, const char *child_path)
{
    bool unknown = false;
    for (const json_node *m = json_child(obj); m; m = json_next(m)) {
        char full[256];
        bool pre;
        const char *key = json_key(m);
        if (!key)
            continue;
        if ((size_t)snprintf(full, sizeof(full), "%s%s", prefix, key) >= sizeof(full)) {
            note_unknown_name(b, shown_prefix, key);
            unknown = true;
            continue;
        }
        if (path_known(fields, nfields, child_path, full, &pre))
            continue;
        if (pre) {
            if (json_type(m) == JSON_OBJECT) {
                char sub[260], shown[260];
                snprintf(sub, sizeof(sub), "%s.", full);
                snprintf(shown, sizeof(shown), "%s%s.", shown_prefix, key);
                unknown |= check_members(b, m, sub, shown, fields, nfields, NULL);
            }
            continue; /* a wrong type is the mapping's business (reject) */
        }
        note_unknown_name(b, shown_prefix, key);
        unknown = true;
    }
    return unknown;
}

/* Appends the key structure of `n`: '{' key NUL <value> ... '}' for objects,
 * '[' <element> ... ']' for arrays, nothing for scalars. Two records with the
 * same structure have the same unknown fields (the check below looks only at
 * keys and at which values are objects or arrays). */
static int append_shape(struct buf *out, const json_node *n, unsigned depth)
{
    enum json_type t = json_type(n);
    int rc = 0;
    if (t != JSON_OBJECT && t != JSON_ARRAY)
        return 0;
    if (depth > 8)
        return err_set(ML_ERECORD, "too deep"); /* no fast path: full check */
    rc = buf_addc(out, t == JSON_OBJECT ? '{' : '[');
    for (const json_node *m = json_child(n); !rc && m; m = json_next(m)) {
        const char *key = json_key(m);
        if (t == JSON_OBJECT && key)
            rc = buf_add(out, key, strlen(key) + 1);
        if (!rc)
            rc = append_shape(out, m, depth + 1);
    }
    return rc ? rc : buf_addc(out, t == JSON_OBJECT ? '}' : ']');
}

static void note_unknown_fields(struct batch *b, const json_node *rec)
{
    const struct stream_def *d = b->def;
    /* Fast path: records of one source nearly always share one structure;
     * a record shaped like the last one without unknown fields has none. */
    buf_reset(&b->shape);
    bool shaped = append_shape(&b->shape, rec, 0) == 0;
    if (shaped && b->shape.len == b->known_shape.len && b->shape.len &&
        memcmp(b->shape.data, b->known_shape.data, b->shape.len) == 0)
        return;
    bool unknown =
        check_members(b, rec, "", "", d->fields, d->nfields, d->child ? d->child->path : NULL);
    if (d->child) {
        const json_node *arr = json_get(rec, d->child->path);
        char shown[160];
        snprintf(shown, sizeof(shown), "%s[].", d->child->path);
        for (const json_node *e = json_child(arr); e && json_type(arr) == JSON_ARRAY;
             e = json_next(e))
            if (json_type(e) == JSON_OBJECT)
                unknown |=
                    check_members(b, e, "", shown, d->child->fields, d->child->nfields, NULL);
    }
    if (unknown) {
        b->unknown_records++;
    } else if (shaped) {
        buf_reset(&b->known_shape);
        if (buf_add(&b->known_shape, b->shape.data, b->shape.len))
            buf_reset(&b->known_shape);
    }
}

int batch_unknown_names(const struct batch *b, struct buf *out)
{
    int rc = 0;
    buf_reset(out);
    for (const char *p = b->unknown_names.data; !rc && p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (out->len)
            rc = buf_adds(out, ", ");
        if (!rc)
            rc = buf_add(out, p, n);
        p = nl ? nl + 1 : NULL;
    }
    if (!rc && b->unknown_names_more)
        rc = buf_adds(out, ", ...");
    return rc;
}

/* ---- one record ---- */

static int child_count_add(struct batch *b, long long key, unsigned count)
{
    if (b->nchildren == b->children_cap) {
        size_t ncap = b->children_cap ? b->children_cap * 2 : 256;
        struct child_count *n = realloc(b->children, ncap * sizeof(*n));
        if (!n)
            return err_set(ML_ENOMEM, "out of memory");
        b->children = n;
        b->children_cap = ncap;
    }
    b->children[b->nchildren].parent_key = key;
    b->children[b->nchildren].count = count;
    b->nchildren++;
    return 0;
}

static int map_children(struct batch *b, const json_node *rec, long long key,
                        const struct map_options *opt)
{
    const struct child_def *cd = b->def->child;
    const json_node *arr;
    unsigned pos = 0;
    int rc = lookup(rec, cd->path, &arr);
    if (rc)
        return rc;
    if (arr && json_type(arr) != JSON_ARRAY && json_type(arr) != JSON_NULL)
        return err_set(ML_ERECORD, "field '%s' must be an array, got %s", cd->path,
                       json_type_name(json_type(arr)));
    for (const json_node *e = json_child(arr); e; e = json_next(e), pos++) {
        size_t row;
        if (pos > 65535)
            return err_set(ML_ERECORD, "field '%s' has more than 65536 elements", cd->path);
        if (json_type(e) != JSON_OBJECT)
            return err_set(ML_ERECORD, "element %u of '%s' must be an object, got %s", pos,
                           cd->path, json_type_name(json_type(e)));
        rc = add_row(&b->child, &row);
        if (rc)
            return rc;
        struct cell *c0 = batch_cell(&b->child, row, 0), *c1 = batch_cell(&b->child, row, 1);
        c0->kind = CELL_INT;
        c0->i = key;
        c1->kind = CELL_INT;
        c1->i = pos;
        rc = map_fields(b, cd->fields, cd->nfields, cd->table, &b->child, row, e, opt);
        if (rc) {
            if (rc == ML_ERECORD)
                err_prefix(rc, "element %u of '%s'", pos, cd->path);
            return rc;
        }
    }
    return child_count_add(b, key, pos);
}

static int map_record(struct batch *b, const json_node *rec, const struct map_options *opt,
                      struct record_pos source_ref)
{
    size_t row, arena_mark = b->arena.len, child_mark = b->child.nrows, cc_mark = b->nchildren;
    int rc;
    b->records++;
    if (json_type(rec) != JSON_OBJECT) {
        err_set(ML_ERECORD, "record must be a JSON object, got %s", json_type_name(json_type(rec)));
        return add_reject(b, rec, source_ref, err_msg());
    }
    note_unknown_fields(b, rec);
    rc = add_row(&b->main, &row);
    if (rc)
        return rc;
    rc = map_fields(b, b->def->fields, b->def->nfields, b->def->table, &b->main, row, rec, opt);
    if (!rc && b->def->child)
        rc = map_children(b, rec, batch_cell(&b->main, row, 0)->i, opt);
    if (rc == 0) {
        b->accepted++;
        return note_key(b, row);
    }
    /* undo the partial record */
    b->main.nrows--;
    b->child.nrows = child_mark;
    b->nchildren = cc_mark;
    if (b->arena.len > arena_mark)
        mem_wipe(b->arena.data + arena_mark, b->arena.len - arena_mark);
    buf_truncate(&b->arena, arena_mark);
    if (rc != ML_ERECORD)
        return rc;
    return add_reject(b, rec, source_ref, err_msg());
}

int mapping_map_record(struct batch *b, const json_node *rec, const struct map_options *opt,
                       const char *source_ref)
{
    struct record_pos pos = {source_ref, NO_OFFSET, 0};
    return map_record(b, rec, opt, pos);
}

int mapping_map_record_at(struct batch *b, const json_node *rec, const struct map_options *opt,
                          const char *page_ref, size_t index, unsigned long line)
{
    struct record_pos pos = {page_ref, index, line};
    return map_record(b, rec, opt, pos);
}

int mapping_reject_unparsed(struct batch *b, const char *reason, const char *page_ref, size_t index,
                            unsigned long line)
{
    struct record_pos pos = {page_ref, index, line};
    char why[600];
    b->records++;
    snprintf(why, sizeof(why), "record is not valid JSON: %s", reason);
    return add_reject(b, NULL, pos, why);
}
