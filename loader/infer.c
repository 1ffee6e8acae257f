/* infer.c - a mapping proposed from a sample of a source (infer.h). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "convert.h"
#include "error.h"
#include "infer.h"
#include "json.h"
#include "source.h"
#include "banned.h"

#define MAX_FIELDS 500 /* fields per table; more are counted, not proposed */
#define MAX_DEPTH  16  /* object nesting flattened into dotted paths */
#define MAX_PATH   200

/* ---- value shapes ---- */

static bool email_local_char(unsigned char c)
{
    return isalnum(c) || strchr("._%+-'", c) != NULL;
}

/* An address at s[0..n): local@domain.tld. */
static bool email_span(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    size_t local, i, dots = 0;
    if (!at)
        return false;
    local = (size_t)(at - s);
    if (local == 0 || local > 64 || n - local - 1 < 3)
        return false;
    for (i = 0; i < local; i++)
        if (!email_local_char((unsigned char)s[i]))
            return false;
    for (i = local + 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (i == local + 1 || i + 1 == n || s[i - 1] == '.')
                return false;
            dots++;
        } else if (!isalnum(c) && c != '-') {
            return false;
        }
    }
    return dots > 0;
}

bool infer_is_email(const char *s)
{
    return email_span(s, strlen(s));
}

bool infer_has_email(const char *s)
{
    size_t n = strlen(s);
    for (const char *at = strchr(s, '@'); at; at = strchr(at + 1, '@')) {
        size_t b = (size_t)(at - s), e = b + 1;
        while (b > 0 && email_local_char((unsigned char)s[b - 1]))
            b--;
        while (e < n && (isalnum((unsigned char)s[e]) || s[e] == '.' || s[e] == '-'))
            e++;
        while (e > b && s[e - 1] == '.') /* a sentence's full stop */
            e--;
        if (email_span(s + b, e - b))
            return true;
    }
    return false;
}

bool infer_is_ipv4(const char *s)
{
    for (int part = 0; part < 4; part++) {
        unsigned v = 0, digits = 0;
        if (part > 0) {
            if (*s != '.')
                return false;
            s++;
        }
        while (isdigit((unsigned char)*s)) {
            if (digits > 0 && v == 0)
                return false; /* a leading zero */
            v = v * 10 + (unsigned)(*s++ - '0');
            if (++digits > 3 || v > 255)
                return false;
        }
        if (digits == 0)
            return false;
    }
    return *s == '\0';
}

bool infer_is_ipv6(const char *s)
{
    size_t groups = 0, n = strlen(s);
    bool gap = false;
    const char *p = s;
    if (n < 2 || n > 45)
        return false;
    if (p[0] == ':' && p[1] != ':')
        return false;
    while (*p) {
        size_t hex = 0;
        if (*p == ':') {
            if (p[1] == ':') {
                if (gap)
                    return false;
                gap = true;
                p += 2;
                if (!*p)
                    break;
            } else if (p != s) {
                p++;
            } else {
                return false;
            }
        }
        if (strchr(p, '.') && !strchr(p, ':')) { /* a trailing IPv4 part */
            if (!infer_is_ipv4(p))
                return false;
            groups += 2;
            break;
        }
        while (isxdigit((unsigned char)p[hex]))
            hex++;
        if (hex == 0 || hex > 4 || (p[hex] != ':' && p[hex] != '\0'))
            return false;
        groups++;
        p += hex;
        if (*p == ':' && p[1] == '\0')
            return false;
    }
    return gap ? groups < 8 : groups == 8;
}

bool infer_luhn(const char *d)
{
    size_t n = strlen(d);
    unsigned sum = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (!isdigit((unsigned char)d[n - 1 - i]))
            return false;
        v = (unsigned)(d[n - 1 - i] - '0');
        if (i % 2 == 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

bool infer_is_card(const char *s)
{
    char d[20];
    size_t n = 0;
    for (; *s; s++) {
        if (isdigit((unsigned char)*s)) {
            if (n >= 19)
                return false;
            d[n++] = *s;
        } else if (*s != ' ' && *s != '-') {
            return false;
        }
    }
    d[n] = '\0';
    return n >= 13 && infer_luhn(d);
}

bool infer_is_iban(const char *s)
{
    char c[40];
    size_t n = 0;
    unsigned rem = 0;
    for (; *s; s++) {
        if (*s == ' ')
            continue;
        if (!isalnum((unsigned char)*s) || n >= 34)
            return false;
        c[n++] = (char)toupper((unsigned char)*s);
    }
    if (n < 15 || !isalpha((unsigned char)c[0]) || !isalpha((unsigned char)c[1]) ||
        !isdigit((unsigned char)c[2]) || !isdigit((unsigned char)c[3]))
        return false;
    /* the first four characters moved to the end, letters as 10..35, mod 97 */
    for (size_t k = 0; k < n; k++) {
        char ch = c[(k + 4) % n];
        if (isdigit((unsigned char)ch))
            rem = (rem * 10 + (unsigned)(ch - '0')) % 97;
        else
            rem = (rem * 100 + (unsigned)(ch - 'A' + 10)) % 97;
    }
    return rem == 1;
}

bool infer_is_phone(const char *s)
{
    size_t digits = 0, seps = 0;
    bool plus = s[0] == '+';
    for (const char *p = s + plus; *p; p++) {
        if (isdigit((unsigned char)*p))
            digits++;
        else if (strchr(" -().", *p))
            seps++;
        else
            return false;
    }
    if (digits < 7 || digits > 15)
        return false;
    if (!plus && seps == 0)
        return false; /* a bare number is an integer, not a phone */
    if (strlen(s) == 10 && s[4] == '-' && s[7] == '-')
        return false; /* a date */
    return !infer_is_card(s);
}

/* ---- per-field statistics ---- */

enum vclass { V_BOOL, V_INT, V_DEC, V_DATE, V_DATETIME, V_STR, V_NCLASS };

struct scope;

struct fstat {
    char *path; /* dotted, relative to the scope's record */
    char *key;  /* the last segment */
    unsigned long present, nulls, objects, arrays_obj, arrays_scalar, arrays_empty, unreadable;
    unsigned long cls[V_NCLASS];
    unsigned long midnight;  /* datetimes at 00:00:00 */
    unsigned long nonstring; /* JSON numbers and booleans (a text column refuses them) */
    bool wide;               /* an integer beyond 64 bits */
    unsigned long long absmax;
    long long imin, imax;
    unsigned int_digits, scale;
    size_t maxchars;
    unsigned long email, email_in, ipv4, ipv6, phone, iban, card;
    uint64_t *hashes; /* of the values, for a key's uniqueness */
    size_t nhash, hcap;
    struct scope *child; /* an array of objects, in the main table only */
};

struct scope {
    struct fstat *f;
    size_t n, cap;
    unsigned long records;
    unsigned long skipped; /* keys not proposed (unaddressable, data-like, too many) */
    unsigned long deep;    /* objects nested beyond MAX_DEPTH */
};

static void scope_free(struct scope *sc)
{
    if (!sc)
        return;
    for (size_t i = 0; i < sc->n; i++) {
        free(sc->f[i].path);
        free(sc->f[i].hashes);
        scope_free(sc->f[i].child);
        free(sc->f[i].child);
    }
    free(sc->f);
}

static struct fstat *field_get(struct scope *sc, const char *path, const char *key)
{
    for (size_t i = 0; i < sc->n; i++)
        if (strcmp(sc->f[i].path, path) == 0)
            return &sc->f[i];
    if (sc->n >= MAX_FIELDS)
        return NULL;
    if (sc->n == sc->cap) {
        size_t nc = sc->cap ? sc->cap * 2 : 16;
        struct fstat *nf = realloc(sc->f, nc * sizeof(*nf));
        if (!nf)
            return NULL;
        sc->f = nf;
        sc->cap = nc;
    }
    struct fstat *f = &sc->f[sc->n];
    memset(f, 0, sizeof(*f));
    f->path = strdup(path);
    if (!f->path)
        return NULL;
    f->key = f->path + (key - path);
    sc->n++;
    return f;
}

/* A key the mapping can address and that is a name, not data. */
static bool key_usable(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c < 0x20 || c == 0x7f || c == '.' || c == '\\' || c == '"')
            return false;
    }
    return !(infer_has_email(k) || infer_is_ipv4(k) || infer_is_ipv6(k) || infer_is_card(k) ||
             infer_is_iban(k) || infer_is_phone(k));
}

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* "-12", "12.50": the integer digits and the scale of a plain number text
 * (no exponent, no leading zeros); false for anything else. */
static bool plain_number(const char *s, unsigned *idig, unsigned *scale, bool *frac)
{
    const char *p = s + (*s == '-');
    size_t i = 0, f = 0;
    while (isdigit((unsigned char)p[i]))
        i++;
    if (i == 0 || (i > 1 && p[0] == '0'))
        return false;
    *frac = false;
    if (p[i] == '.') {
        *frac = true;
        while (isdigit((unsigned char)p[i + 1 + f]))
            f++;
        if (f == 0)
            return false;
        if (p[i + 1 + f] != '\0')
            return false;
    } else if (p[i] != '\0') {
        return false;
    }
    *idig = (unsigned)i;
    *scale = (unsigned)f;
    return true;
}

static void see_number_text(struct fstat *f, const char *t)
{
    unsigned idig, scale;
    bool frac;
    long long v;
    if (!plain_number(t, &idig, &scale, &frac)) {
        f->cls[V_STR]++; /* an exponent: kept as text */
        return;
    }
    if (idig > f->int_digits)
        f->int_digits = idig;
    if (frac) {
        f->cls[V_DEC]++;
        if (scale > f->scale)
            f->scale = scale;
        return;
    }
    f->cls[V_INT]++;
    if (convert_int64(t, &v)) {
        f->wide = true;
        return;
    }
    unsigned long long a = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    if (f->cls[V_INT] == 1 || v < f->imin)
        f->imin = v;
    if (f->cls[V_INT] == 1 || v > f->imax)
        f->imax = v;
    if (a > f->absmax)
        f->absmax = a;
}

static void see_string(struct fstat *f, const char *s, size_t len)
{
    char tmp[CONVERT_DATETIME_LEN];
    size_t nch = len;
    convert_utf8_valid(s, len, &nch);
    if (nch > f->maxchars)
        f->maxchars = nch;
    if (strlen(s) != len) {
        f->cls[V_STR]++;
        return;
    }
    if (infer_is_email(s))
        f->email++;
    else if (infer_has_email(s))
        f->email_in++;
    if (infer_is_ipv4(s))
        f->ipv4++;
    else if (infer_is_ipv6(s))
        f->ipv6++;
    if (infer_is_card(s))
        f->card++;
    else if (infer_is_phone(s))
        f->phone++;
    if (infer_is_iban(s))
        f->iban++;
    unsigned idig, scale;
    bool frac;
    if (plain_number(s, &idig, &scale, &frac) && len <= 40) {
        see_number_text(f, s);
        return;
    }
    if (len == 10 && convert_date(s, tmp) == 0) {
        f->cls[V_DATE]++;
        return;
    }
    if (len > 10 && len <= 40 && (s[10] == 'T' || s[10] == ' ') && convert_timestamp(s, tmp) == 0) {
        f->cls[V_DATETIME]++;
        if (strcmp(tmp + 11, "00:00:00.000") == 0)
            f->midnight++;
        return;
    }
    f->cls[V_STR]++;
}

static void see_hash(struct fstat *f, const char *s, size_t n)
{
    if (f->nhash == f->hcap) {
        size_t nc = f->hcap ? f->hcap * 2 : 64;
        uint64_t *nh = realloc(f->hashes, nc * sizeof(*nh));
        if (!nh)
            return;
        f->hashes = nh;
        f->hcap = nc;
    }
    f->hashes[f->nhash++] = fnv(s, n);
}

static int walk(struct scope *sc, const json_node *obj, const char *prefix, int depth, bool main);

static int see_value(struct scope *sc, const json_node *v, const char *path, const char *key,
                     int depth, bool main)
{
    struct fstat *f;
    enum json_type t = json_type(v);
    if (t == JSON_OBJECT) {
        if (depth >= MAX_DEPTH) {
            sc->deep++;
            return 0;
        }
        f = field_get(sc, path, key);
        if (f)
            f->objects++;
        return walk(sc, v, path, depth + 1, main);
    }
    f = field_get(sc, path, key);
    if (!f) {
        sc->skipped++;
        return 0;
    }
    if (t == JSON_NULL) {
        f->nulls++;
        return 0;
    }
    f->present++;
    switch (t) {
    case JSON_BOOL:
        f->cls[V_BOOL]++;
        f->nonstring++;
        if (f->maxchars < 5)
            f->maxchars = 5;
        break;
    case JSON_NUMBER: {
        size_t len;
        const char *txt = json_number_text(v, &len);
        see_number_text(f, txt);
        f->nonstring++;
        if (len > f->maxchars)
            f->maxchars = len;
        see_hash(f, txt, len);
        break;
    }
    case JSON_STRING: {
        size_t len;
        const char *s = json_string_len(v, &len);
        if (!s) {
            f->unreadable++;
            break;
        }
        see_string(f, s, len);
        see_hash(f, s, len);
        break;
    }
    case JSON_ARRAY: {
        bool objs = false;
        if (json_array_size(v) == 0) {
            f->arrays_empty++;
            break;
        }
        for (const json_node *e = json_child(v); e; e = json_next(e))
            if (json_type(e) == JSON_OBJECT)
                objs = true;
        if (!objs) {
            f->arrays_scalar++;
            break;
        }
        f->arrays_obj++;
        if (!main)
            break;
        if (!f->child) {
            f->child = calloc(1, sizeof(*f->child));
            if (!f->child)
                return err_set(ML_ENOMEM, "infer: out of memory");
        }
        for (const json_node *e = json_child(v); e; e = json_next(e)) {
            if (json_type(e) != JSON_OBJECT)
                continue;
            f->child->records++;
            int rc = walk(f->child, e, "", 0, false);
            if (rc)
                return rc;
        }
        break;
    }
    default:
        break;
    }
    return 0;
}

static int walk(struct scope *sc, const json_node *obj, const char *prefix, int depth, bool main)
{
    char path[MAX_PATH + 1];
    for (const json_node *m = json_child(obj); m; m = json_next(m)) {
        const char *k = json_key(m);
        int n;
        if (!k || !key_usable(k)) {
            sc->skipped++;
            continue;
        }
        n = prefix[0] ? snprintf(path, sizeof(path), "%s.%s", prefix, k)
                      : snprintf(path, sizeof(path), "%s", k);
        if (n < 0 || (size_t)n >= sizeof(path)) {
            sc->skipped++;
            continue;
        }
        int rc = see_value(sc, m, path, path + n - strlen(k), depth, main);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- naming ---- */

/* The words of a key: split at camel-case humps and non-alphanumerics,
 * lower case, joined by '_' ("firstName" -> "first_name"). */
static void words_of(const char *k, char *out, size_t sz)
{
    size_t o = 0;
    for (size_t i = 0; k[i] && o + 2 < sz; i++) {
        unsigned char c = (unsigned char)k[i];
        if (isalnum(c)) {
            bool hump = isupper(c) && i > 0 &&
                        (islower((unsigned char)k[i - 1]) || isdigit((unsigned char)k[i - 1]) ||
                         (isupper((unsigned char)k[i - 1]) && islower((unsigned char)k[i + 1])));
            if (hump && o > 0 && out[o - 1] != '_')
                out[o++] = '_';
            out[o++] = (char)tolower(c);
        } else if (o > 0 && out[o - 1] != '_') {
            out[o++] = '_';
        }
    }
    while (o > 0 && out[o - 1] == '_')
        o--;
    out[o] = '\0';
}

static bool has_word(const char *w, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(w, word); p; p = strstr(p + 1, word))
        if ((p == w || p[-1] == '_') && (p[n] == '_' || p[n] == '\0'))
            return true;
    return false;
}

/* "first_name" -> "firstname" */
static void squash(const char *w, char *out, size_t sz)
{
    size_t o = 0;
    for (; *w && o + 1 < sz; w++)
        if (*w != '_')
            out[o++] = *w;
    out[o] = '\0';
}

/* A SQL identifier from a dotted path, unique among `used`. */
static void column_name(const char *path, const char *suffix, char **used, size_t nused,
                        char out[65])
{
    char w[MAX_PATH * 2 + 16], base[65];
    words_of(path, w, sizeof(w));
    if (suffix) {
        size_t n = strlen(w);
        if (strcmp(suffix, "_year") == 0 && n > 5 && strcmp(w + n - 5, "_date") == 0)
            w[n - 5] = '\0';
        if (!(strcmp(suffix, "_domain") == 0 && n > 7 && strcmp(w + n - 7, "_domain") == 0))
            snprintf(w + strlen(w), sizeof(w) - strlen(w), "%s", suffix);
    }
    if (!w[0] || isdigit((unsigned char)w[0]))
        snprintf(base, sizeof(base), "f_%.58s", w);
    else
        snprintf(base, sizeof(base), "%.60s", w);
    snprintf(out, 65, "%s", base);
    for (unsigned k = 2;; k++) {
        bool taken = false;
        for (size_t i = 0; i < nused && !taken; i++)
            taken = strcmp(used[i], out) == 0;
        if (!taken)
            return;
        snprintf(out, 65, "%.58s_%u", base, k);
    }
}

/* ---- decisions ---- */

enum action { A_KEEP, A_DROP, A_SURROGATE, A_EMAIL, A_YEAR };

struct decision {
    enum action act;
    const char *kind;      /* surrogate */
    char why_name[96];     /* "field name 'email'" or "" */
    const char *why_value; /* "e-mail values" or NULL */
    const char *effect;    /* what the action keeps */
};

/* Judges by the field's name (its last key). */
static enum action by_name(const char *key, const char **kind)
{
    char w[160], s[160];
    words_of(key, w, sizeof(w));
    squash(w, s, sizeof(s));
    *kind = NULL;
    if (strstr(s, "email") || has_word(w, "mail"))
        return A_EMAIL;
    if (strstr(s, "birth") || strcmp(s, "dob") == 0 || has_word(w, "dob"))
        return A_YEAR;
    if (strstr(s, "zip") || strstr(s, "postal") || strstr(s, "postcode") || has_word(w, "plz")) {
        *kind = "zipcode";
        return A_SURROGATE;
    }
    if (has_word(w, "city") || has_word(w, "town")) {
        *kind = "city";
        return A_SURROGATE;
    }
    if (has_word(w, "ip") || strstr(s, "ipaddr") || strstr(s, "ipv4") || strstr(s, "ipv6")) {
        *kind = "ip";
        return A_SURROGATE;
    }
    if (has_word(w, "device") || strstr(s, "deviceid")) {
        *kind = "device";
        return A_SURROGATE;
    }
    static const char *const drop_exact[] = {
        "name",      "fullname",   "firstname",  "lastname", "surname",
        "givenname", "familyname", "middlename", "username", "displayname",
        "nickname",  "maidenname", "forename",   "message",  "msg",
        "text",      "body",       "comment",    "comments", "content",
        "tel",       "fax",        "pan",        "ssn",      NULL};
    for (size_t i = 0; drop_exact[i]; i++)
        if (strcmp(s, drop_exact[i]) == 0)
            return A_DROP;
    static const char *const drop_part[] = {
        "firstname",   "lastname",   "surname",        "fullname",   "address",  "street",
        "phone",       "mobile",     "socialsecurity", "nationalid", "passport", "iban",
        "bankaccount", "creditcard", "cardnumber",     "ccnumber",   NULL};
    for (size_t i = 0; drop_part[i]; i++)
        if (strstr(s, drop_part[i]))
            return A_DROP;
    if (has_word(w, "ssn") || has_word(w, "card") || has_word(w, "tel") || has_word(w, "message"))
        return A_DROP;
    return A_KEEP;
}

static bool most(unsigned long n, unsigned long of)
{
    return n > 0 && 2 * n >= of;
}

static void simple_key(const char *key, char *out, size_t sz, const char *fmt)
{
    for (const char *p = key; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-') {
            snprintf(out, sz, "its field name");
            return;
        }
    snprintf(out, sz, fmt, key);
}

static void decide(const struct fstat *f, struct decision *d)
{
    const char *kind;
    unsigned long strs = f->present;
    enum action an = by_name(f->key, &kind);
    enum action av = A_KEEP;
    const char *vkind = NULL;
    memset(d, 0, sizeof(*d));
    /* by value shape: the strongest shape held by at least half the values */
    if (most(f->card, strs)) {
        av = A_DROP;
        d->why_value = "card numbers (Luhn)";
    } else if (most(f->iban, strs)) {
        av = A_DROP;
        d->why_value = "IBAN values (checksum)";
    } else if (most(f->email, strs)) {
        av = A_EMAIL;
        d->why_value = "e-mail values";
    } else if (most(f->ipv4 + f->ipv6, strs)) {
        av = A_SURROGATE;
        vkind = "ip";
        d->why_value = f->ipv4 >= f->ipv6 ? "IPv4 values" : "IPv6 values";
    } else if (most(f->phone, strs)) {
        av = A_DROP;
        d->why_value = "phone-number values";
    } else if (f->email_in > 0 || f->email > 0) {
        av = A_DROP;
        d->why_value = "text holding e-mail addresses";
    }
    if (an != A_KEEP)
        simple_key(f->key, d->why_name, sizeof(d->why_name), "field name '%s'");
    if (an == A_DROP || av == A_DROP || (an == A_KEEP && av == A_KEEP)) {
        d->act = (an == A_DROP || av == A_DROP) ? A_DROP : A_KEEP;
        if (an != A_DROP)
            d->why_name[0] = '\0';
        if (av != A_DROP && an == A_DROP)
            d->why_value = NULL;
    } else if (an != A_KEEP) {
        d->act = an;
        d->kind = kind;
        if (av != an)
            d->why_value = NULL;
    } else {
        d->act = av;
        d->kind = vkind;
    }
    if (d->act == A_SURROGATE && !d->kind)
        d->kind = vkind ? vkind : "value";
    switch (d->act) {
    case A_DROP:
        d->effect = "dropped: stored nowhere";
        break;
    case A_SURROGATE:
        d->effect = "a surrogate id: the value goes to the restricted sensitive table";
        break;
    case A_EMAIL:
        d->effect = "keeps the domain only";
        break;
    case A_YEAR:
        d->effect = "keeps the year only";
        break;
    default:
        d->effect = NULL;
    }
}

static bool time_like(const char *key)
{
    char w[160];
    size_t n = strlen(key);
    words_of(key, w, sizeof(w));
    return has_word(w, "at") || has_word(w, "time") || has_word(w, "timestamp") ||
           has_word(w, "ts") || has_word(w, "date") || has_word(w, "epoch") ||
           (n > 2 && strcmp(key + n - 2, "At") == 0);
}

static unsigned pow2_at_least(size_t n)
{
    unsigned p = 16;
    while (p < n)
        p *= 2;
    return p;
}

static bool id_like(const char *key);

/* Values a type may leave out and still be proposed: a sample's stray bad
 * values (under a tenth of them) should not turn a column into text. */
static unsigned long tolerance(unsigned long total)
{
    return total >= 10 ? (total + 9) / 10 : 0;
}

/* The column type of a kept field into out, *why a comment or NULL, *misfits
 * the values of the sample the type does not hold (on_invalid: null). */
static void column_type(const struct fstat *f, char *out, size_t sz, const char **why,
                        unsigned long *misfits)
{
    const unsigned long *c = f->cls;
    unsigned long total = f->present, tol = tolerance(total);
    unsigned long dates = c[V_DATE] + c[V_DATETIME];
    *why = NULL;
    *misfits = 0;
    if (total == 0) {
        snprintf(out, sz, "varchar(255)");
        *why = "always null in the sample";
        return;
    }
    if (c[V_BOOL] + tol >= total) {
        snprintf(out, sz, "boolean");
        *misfits = total - c[V_BOOL];
        return;
    }
    if (c[V_INT] + tol >= total && !f->wide) {
        *misfits = total - c[V_INT];
        if (time_like(f->key) && f->imin >= 946684800000LL && f->imax <= 4102444800000LL) {
            snprintf(out, sz, "epoch_ms");
            *why = "integers in the range of milliseconds since 1970 (2000..2100)";
        } else if (id_like(f->key)) {
            snprintf(out, sz, "bigint"); /* ids grow, and refer to other tables' keys */
        } else if (f->absmax <= 3276) {
            snprintf(out, sz, "smallint");
        } else if (f->absmax <= 214748364) {
            snprintf(out, sz, "int");
        } else {
            snprintf(out, sz, "bigint");
        }
        return;
    }
    if (c[V_INT] + c[V_DEC] + tol >= total) {
        unsigned s = f->scale, p = f->int_digits + 2 + f->scale;
        if (s <= 30 && p <= 65) {
            snprintf(out, sz, "\"decimal(%u,%u)\"", p < s + 1 ? s + 1 : p, s);
            *misfits = total - c[V_INT] - c[V_DEC];
            return;
        }
    }
    if (dates + tol >= total) {
        *misfits = total - dates;
        if (f->midnight == c[V_DATETIME]) {
            snprintf(out, sz, "date");
        } else {
            snprintf(out, sz, "datetime");
            *why = "ISO timestamps, stored in UTC";
        }
        return;
    }
    unsigned long kinds = 0;
    for (int i = 0; i < V_NCLASS; i++)
        kinds += c[i] > 0;
    if (kinds > 1)
        *why = "mixed kinds of values: kept as text";
    *misfits = f->nonstring; /* a text column takes strings only */
    if (f->maxchars * 2 > 256)
        snprintf(out, sz, "text");
    else
        snprintf(out, sz, "varchar(%u)", pow2_at_least(f->maxchars * 2));
}

static bool id_like(const char *key)
{
    size_t n = strlen(key);
    return strcmp(key, "id") == 0 || strcmp(key, "ID") == 0 || strcmp(key, "Id") == 0 ||
           (n > 3 && strcmp(key + n - 3, "_id") == 0) ||
           (n > 2 && strcmp(key + n - 2, "Id") == 0) || (n > 2 && strcmp(key + n - 2, "ID") == 0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A key field: top-level, id-like, in every record, never null, unique,
 * integers or short strings; "id" preferred. */
static const struct fstat *pick_key(struct scope *sc, bool any_name)
{
    const struct fstat *best = NULL;
    for (size_t i = 0; i < sc->n; i++) {
        struct fstat *f = &sc->f[i];
        struct decision d;
        unsigned long need = sc->records - tolerance(sc->records);
        bool ok =
            strchr(f->path, '.') == NULL && (any_name || id_like(f->key)) && f->nhash >= need &&
            ((f->cls[V_INT] >= need && !f->wide) || (f->cls[V_STR] >= need && f->maxchars <= 64));
        if (!ok)
            continue;
        decide(f, &d);
        if (d.act != A_KEEP)
            continue;
        qsort(f->hashes, f->nhash, sizeof(uint64_t), cmp_u64);
        for (size_t k = 1; k < f->nhash && ok; k++)
            ok = f->hashes[k] != f->hashes[k - 1];
        if (!ok)
            continue;
        if (!best || strcmp(f->key, "id") == 0)
            best = f;
        if (strcmp(f->key, "id") == 0 || any_name)
            break;
    }
    return best;
}

/* ---- the document ---- */

/* A YAML double-quoted scalar (keys are printable, checked by key_usable). */
static int yq(struct buf *out, const char *s)
{
    int rc = buf_addc(out, '"');
    for (; !rc && *s; s++)
        rc = (*s == '"' || *s == '\\') ? buf_addf(out, "\\%c", *s) : buf_addc(out, *s);
    return rc ? rc : buf_addc(out, '"');
}

struct emit {
    struct buf *out;
    struct infer_report *rep;
    char *used[MAX_FIELDS + 8];
    size_t nused;
    char names[MAX_FIELDS + 8][65];
};

/* Column names the loader adds to every table (ddlgen.c) or to a history
 * table: a field so named gets a suffix. */
static const char *const loader_columns[] = {"load_run_id", "loaded_at", "valid_from", "valid_to",
                                             "is_current"};

static void reserve_names(struct emit *e, const char *also)
{
    e->nused = 0;
    for (size_t i = 0; i < sizeof(loader_columns) / sizeof(loader_columns[0]); i++) {
        snprintf(e->names[e->nused], sizeof(e->names[0]), "%s", loader_columns[i]);
        e->used[e->nused] = e->names[e->nused];
        e->nused++;
    }
    if (also) {
        snprintf(e->names[e->nused], sizeof(e->names[0]), "%s", also);
        e->used[e->nused] = e->names[e->nused];
        e->nused++;
    }
}

static const char *use_name(struct emit *e, const char *path, const char *suffix)
{
    char *slot = e->names[e->nused];
    column_name(path, suffix, e->used, e->nused, slot);
    e->used[e->nused++] = slot;
    return slot;
}

static int comment_pii(struct buf *out, const char *ind, const struct decision *d)
{
    return buf_addf(out, "%s# PII: %s%s%s -> %s\n", ind, d->why_name,
                    d->why_name[0] && d->why_value ? " and " : "", d->why_value ? d->why_value : "",
                    d->effect);
}

/* Whether `path` lies inside a field that is an object in some records and
 * a plain value in others. */
static bool under_mixed(const struct scope *sc, const char *path)
{
    for (size_t i = 0; i < sc->n; i++) {
        const struct fstat *g = &sc->f[i];
        size_t n = strlen(g->path);
        if (g->objects > 0 && g->present > 0 && strncmp(path, g->path, n) == 0 && path[n] == '.')
            return true;
    }
    return false;
}

/* Columns and drops of one scope (the main table or a child). */
static int emit_scope(struct emit *e, struct scope *sc, const struct fstat *key, const char *ind,
                      struct buf *drops, struct buf *dropnotes, struct fstat **children,
                      size_t *nchildren)
{
    struct buf *out = e->out;
    int rc = 0;
    char type[48];
    for (size_t pass = 0; pass < 2 && !rc; pass++) {
        for (size_t i = 0; i < sc->n && !rc; i++) {
            struct fstat *f = &sc->f[i];
            struct decision d;
            const char *why = NULL;
            unsigned long misfits = 0;
            if ((pass == 0) != (f == key))
                continue;
            if (f->objects > 0 && f->present == 0)
                continue; /* an object: its members are fields of their own */
            if (f->objects > 0) {
                /* the loader would reject the records where it is not the
                 * object its members' paths go through: the whole field is
                 * dropped, its members included */
                rc = buf_addf(dropnotes,
                              "%s# a field that is an object in %lu sampled records and a "
                              "value in %lu: dropped with its members\n",
                              ind, f->objects, f->present);
                if (!rc)
                    rc = buf_addf(drops, "%s", drops->len ? ", " : "");
                if (!rc)
                    rc = yq(drops, f->path);
                continue;
            }
            if (under_mixed(sc, f->path)) {
                continue;
            }
            if (f->arrays_obj > 0 && f->child && f->child->n > 0 && children &&
                f->arrays_scalar == 0 &&
                f->present - f->arrays_obj - f->arrays_empty <= tolerance(f->present)) {
                children[(*nchildren)++] = f;
                continue;
            }
            if (f->arrays_obj > 0 || f->arrays_scalar > 0 ||
                (f->arrays_empty > 0 && f->arrays_empty == f->present)) {
                simple_key(f->key, type, sizeof(type), "'%s'");
                rc = buf_addf(dropnotes, "%s# ", ind);
                if (!rc)
                    rc = buf_addf(dropnotes, "%s: %s, dropped (a column holds one value)\n",
                                  strcmp(type, "its field name") ? type : "a field",
                                  f->arrays_obj
                                      ? "an array of objects not split into a child "
                                        "table (that needs an integer key, members, one level)"
                                      : "an array of values");
                if (!rc)
                    rc = buf_addf(drops, "%s", drops->len ? ", " : "");
                if (!rc)
                    rc = yq(drops, f->path);
                continue;
            }
            decide(f, &d);
            if (f->unreadable > 0 && d.act == A_KEEP) {
                d.act = A_DROP;
                d.why_value = "strings that cannot be read";
                d.effect = "dropped";
            }
            if (d.act == A_DROP) {
                e->rep->personal++;
                rc = comment_pii(dropnotes, ind, &d);
                if (!rc)
                    rc = buf_addf(drops, "%s", drops->len ? ", " : "");
                if (!rc)
                    rc = yq(drops, f->path);
                continue;
            }
            e->rep->columns++;
            if (d.act != A_KEEP) {
                e->rep->personal++;
                rc = comment_pii(out, ind, &d);
                if (rc)
                    break;
            }
            const char *suffix = d.act == A_SURROGATE ? "_id"
                                 : d.act == A_EMAIL   ? "_domain"
                                 : d.act == A_YEAR    ? "_year"
                                                      : NULL;
            const char *name = use_name(e, f->path, suffix);
            if (d.act == A_KEEP) {
                if (f == key) {
                    bool num = f->cls[V_INT] >= sc->records - tolerance(sc->records);
                    snprintf(type, sizeof(type), "%s", num ? "bigint" : "varchar(64)");
                    misfits = sc->records - (num ? f->cls[V_INT] : f->cls[V_STR]);
                    rc = buf_addf(out, "%s# the key: %s, unique in the sample", ind,
                                  id_like(f->key) ? "named like an id" : "present in every record");
                    if (!rc && misfits)
                        rc = buf_addf(out, "; %lu sampled records lack a usable one (rejected)",
                                      misfits);
                    if (!rc)
                        rc = buf_adds(out, "\n");
                    misfits = 0;
                } else {
                    column_type(f, type, sizeof(type), &why, &misfits);
                }
                if (!rc && why)
                    rc = buf_addf(out, "%s# %s\n", ind, why);
                if (!rc && misfits)
                    rc = buf_addf(out, "%s# %lu sampled values are not %s: loaded as NULL\n", ind,
                                  misfits, type);
            }
            if (!rc)
                rc = buf_addf(out, "%s- { name: %s, from: ", ind, name);
            if (!rc)
                rc = yq(out, f->path);
            if (!rc && d.act == A_KEEP)
                rc = buf_addf(out, ", type: %s", type);
            if (!rc && misfits)
                rc = buf_adds(out, ", on_invalid: null");
            if (!rc && d.act == A_SURROGATE)
                rc = buf_addf(out, ", pii: surrogate, kind: %s", d.kind);
            if (!rc && d.act == A_EMAIL)
                rc = buf_addf(out, ", pii: email_domain, on_invalid: null");
            if (!rc && d.act == A_YEAR)
                rc = buf_addf(out, ", pii: year, on_invalid: null");
            if (!rc && f == key)
                rc = buf_addf(out, ", required: true, description: natural key");
            if (!rc)
                rc = buf_adds(out, " }\n");
        }
    }
    return rc;
}

static void table_base(const struct infer_opts *o, const struct config_source *src, char *out,
                       size_t sz)
{
    const char *from = src->name;
    char w[256];
    if (src->kind == SOURCE_HTTP && o->path && o->path[0]) {
        const char *p = o->path, *end = p + strcspn(p, "?"), *b = end;
        while (b > p && b[-1] == '/')
            b--;
        end = b;
        while (b > p && b[-1] != '/')
            b--;
        snprintf(w, sizeof(w), "%.*s", (int)(end - b), b);
        if (w[0])
            from = w;
    }
    static const char *const reserved[] = {"sensitive_", "load_", "pii_", "monitor_", "analysis_"};
    char n[256];
    words_of(from, n, sizeof(n));
    snprintf(w, sizeof(w), "%.40s", n);
    if (!w[0] || isdigit((unsigned char)w[0]))
        snprintf(w, sizeof(w), "sampled");
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strncmp(w, reserved[i], strlen(reserved[i])) == 0) {
            snprintf(out, sz, "t_%.40s", w); /* the loader's own tables are so named */
            return;
        }
    snprintf(out, sz, "%.40s", w);
}

static int emit_doc(struct emit *e, const struct infer_opts *o, const struct config_source *src,
                    struct scope *root)
{
    struct buf *out = e->out;
    struct buf drops = BUF_INIT, notes = BUF_INIT;
    struct fstat *children[MAX_FIELDS];
    size_t nchildren = 0;
    const struct fstat *key = pick_key(root, false);
    bool named = key != NULL;
    char base[64], keyname[65] = "";
    int rc;
    if (!key)
        key = pick_key(root, true);
    if (!key)
        return err_set(ML_EINVAL,
                       "infer: no field of source '%s' is present, non-null and unique in the "
                       "sampled records, and a mapping needs a key; nothing printed",
                       src->name);
    table_base(o, src, base, sizeof(base));
    reserve_names(e, NULL);
    if (key)
        column_name(key->path, NULL, e->used, e->nused, keyname);
    rc = buf_addf(out,
                  "# proposed by `maskload infer` from %lu records of source '%s'; read it before "
                  "use:\n# the types come from the sample, personal data is judged by field names "
                  "and value shapes\n",
                  root->records, src->name);
    if (!rc && (root->skipped || root->deep))
        rc = buf_addf(out,
                      "# %lu fields were not proposed (names that cannot be addressed or "
                      "look like data, nesting deeper than %d, or over %d fields)\n",
                      root->skipped + root->deep, MAX_DEPTH, MAX_FIELDS);
    if (!rc)
        rc = buf_addf(out, "table: %s_raw\ndescription: %s records sampled by maskload infer\n",
                      base, base);
    if (!rc && key)
        rc = buf_addf(out, "key: [%s]\n", keyname);
    if (!rc && !named)
        rc = buf_adds(out, "# no field named like an id is present, non-null and unique in the "
                           "sample: the key below is the first field that is; check it\n");
    if (!rc)
        rc = buf_adds(out, "columns:\n");
    if (!rc)
        rc = emit_scope(
            e, root, key, "  ", &drops, &notes,
            key && key->cls[V_INT] + tolerance(root->records) >= root->records ? children : NULL,
            &nchildren);
    if (!rc && drops.len)
        rc = buf_addf(out, "%sdrop: [%s]\n", notes.len ? notes.data : "", drops.data);
    if (!rc && nchildren)
        rc = buf_adds(out, "children:\n");
    for (size_t i = 0; i < nchildren && !rc; i++) {
        struct fstat *f = children[i];
        char cb[80];
        const char *pos;
        buf_reset(&drops);
        buf_reset(&notes);
        reserve_names(e, keyname); /* a child table has its own columns, and the parent's key */
        words_of(f->path, cb, sizeof(cb));
        cb[40] = '\0';
        rc = buf_addf(out, "  # an array of objects in %lu sampled records: a child table\n",
                      f->arrays_obj);
        if (!rc)
            rc = buf_addf(out, "  - table: %.24s_%.34s_raw\n    from: ", base, cb);
        if (!rc)
            rc = yq(out, f->path);
        pos = use_name(e, f->path, "_no");
        if (!rc)
            rc = buf_addf(out,
                          "\n    position: { name: %s, description: \"0-based position in "
                          "the array\" }\n    columns:\n",
                          pos);
        if (!rc)
            rc = emit_scope(e, f->child, NULL, "      ", &drops, &notes, NULL, NULL);
        if (!rc && drops.len)
            rc = buf_addf(out, "%s    drop: [%s]\n", notes.len ? notes.data : "", drops.data);
    }
    buf_release(&drops);
    buf_release(&notes);
    return rc;
}

int infer_mapping(const struct config *cfg, const struct infer_opts *o, struct buf *out,
                  struct infer_report *rep)
{
    const struct config_source *src = config_find_source(cfg, o->source);
    struct config_source once;
    struct source *s = NULL;
    struct scope root = {0};
    json_doc *doc = NULL;
    struct emit *e = NULL;
    int rc;
    memset(rep, 0, sizeof(*rep));
    if (!src)
        return err_set(ML_ECONFIG, "infer: unknown source '%s'", o->source);
    if (src->kind == SOURCE_SQS)
        return err_set(ML_ECONFIG,
                       "infer: source '%s' is a queue: receiving messages to sample them would "
                       "hide them from the next run; sample a file or an http source",
                       src->name);
    if (src->kind == SOURCE_FILE && o->path)
        return err_set(ML_EUSAGE, "infer: --path is for an http source; '%s' is a file", src->name);
    once = *src;
    once.retries = 0;
    rc = src->kind == SOURCE_HTTP ? source_http_open(&once, o->path ? o->path : "", &s)
                                  : source_file_open(&once, &s);
    doc = rc ? NULL : json_doc_new();
    if (!rc && !doc)
        rc = err_set(ML_ENOMEM, "infer: out of memory");
    while (!rc && root.records < o->sample) {
        struct source_page pg = {0};
        int got = source_next_page(s, &pg);
        if (got <= 0) {
            rc = got;
            break;
        }
        size_t n = json_page_count(pg.records);
        for (size_t i = 0; i < n && !rc && root.records < o->sample; i++) {
            if (json_page_parse_record(pg.records, i, doc) ||
                json_type(json_root(doc)) != JSON_OBJECT) {
                rep->unreadable++;
                continue;
            }
            root.records++;
            rc = walk(&root, json_root(doc), "", 0, true);
        }
        source_page_release(&pg);
    }
    json_free(doc);
    if (s)
        source_close(s);
    rep->records = root.records;
    if (!rc && root.records == 0)
        rc = err_set(ML_ECONFIG, "infer: source '%s' gave no readable record (%lu unreadable)",
                     src->name, rep->unreadable);
    if (!rc) {
        e = calloc(1, sizeof(*e));
        if (!e)
            rc = err_set(ML_ENOMEM, "infer: out of memory");
    }
    if (!rc) {
        e->out = out;
        e->rep = rep;
        rc = emit_doc(e, o, src, &root);
    }
    free(e);
    scope_free(&root);
    return rc;
}
