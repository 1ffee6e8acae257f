/*
 * fixture_api — a loopback HTTP server that replays JSON fixture files in the
 * shape of the seed's mockapi.io API, for maskload's integration tests.
 *
 * Usage:
 *   fixture_api --data DIR [--port N] [--bind ADDR] [--prefix PATH]
 *               [--port-file FILE] [--require-header 'Name: value']
 *   fixture_api --generate users=N,messages=M[,seed=S] [same options]
 *   (faults are set at run time through POST /__faults, see below)
 *
 * Contract
 * - Every file DIR/<name>.json must hold a JSON array; it is served at
 *   GET <prefix>/<name>. <name> may contain only [A-Za-z0-9._-]. All files are
 *   loaded and split into elements once at start; a file that is unreadable
 *   or not one JSON array, or a DIR without any *.json file, makes the
 *   program exit 2 before it listens, with the file and the reason on stderr.
 *   Only the array's structure is checked (json_page_set_array: brackets,
 *   strings, commas), not what is inside each element, so a fixture can hold
 *   records the loader must reject (invalid UTF-8, a lone surrogate escape).
 * - GET <prefix>/<name>                  -> 200, the whole array.
 *   GET <prefix>/<name>?page=N&limit=M   -> 200, elements [(N-1)*M, N*M) as a
 *   JSON array (1-based page); `[]` past the end. page and limit must both be
 *   positive decimal integers (at most 2147483647) and must come together;
 *   anything else -> 400 with a JSON body {"error":..., "detail":...}.
 *   Other query parameters are ignored (as mockapi ignores unknown ones).
 * - --since PARAM=FIELD (an incremental API): a request carrying PARAM=V is
 *   served only the elements whose top-level FIELD is >= V, paginated like
 *   the whole array: V and FIELD both ISO 8601 timestamps (compared as
 *   instants, in UTC) or both integers; elements without such a FIELD are
 *   left out. A V that is neither -> 400. Each such request is logged on
 *   stdout: "fixture_api: since PARAM=V: N of M records (page P)".
 * - --require-header 'Name: value': every data request (not /health, not
 *   /__*) without header Name (any case) of exactly that value -> 401
 *   {"error":"unauthorized"}, before any fault rule's reply (a taken rule
 *   still counts). For bearer tokens ('Authorization: Bearer X') and basic
 *   auth ('Authorization: Basic <base64 of user:password>').
 * - --generate users=N,messages=M[,seed=S] (instead of --data; the
 *   benchmark's generator mode): serves <prefix>/users and <prefix>/messages,
 *   N and M records of bench/gen_records.h (seed S, default 1), each page
 *   made on request from (seed, index), so no record is held in memory or
 *   on disk. The pages and the whole array are byte for byte those of
 *   --data on the files `bench_gen --users N --messages M --seed S` writes.
 *   One reply holds at most GEN_MAX_REPLY records: a larger page, or the
 *   whole array of a larger endpoint, -> 400. --since is refused with it.
 * - GET /health -> 200 "ok" (text/plain). Any other path -> 404, any method
 *   other than GET -> 405 with "Allow: GET" (checked before the path), except
 *   on the control paths /__* below. JSON
 *   bodies, errors included, are sent with Content-Type: application/json.
 * - Elements are served byte for byte as the file spells them (escapes such
 *   as \u0000, number spellings, key order and duplicates, whitespace inside
 *   an element); only the whitespace between elements is dropped: the whole
 *   array and every page are "[" + elements joined by "," + "]".
 * - Defaults: --bind 127.0.0.1 (loopback only), --port 8080,
 *   --prefix /evaluation/dataengineer/jr/v1 (trailing '/' removed; "" allowed).
 *   --port 0 binds a free port. Once listening, the port number and a newline
 *   are written to --port-file (through a temporary file and rename(), so a
 *   reader never sees a partial file), then
 *   "fixture_api: listening on http://ADDR:PORT<prefix>" is printed on stdout
 *   and flushed.
 * - Runs until SIGINT or SIGTERM, then stops the server and exits 0.
 *   Exit 1: cannot listen or cannot write the port file. Exit 2: usage error
 *   or bad fixture data.
 *
 * Fault injection and the request log (for tests; loopback clients only,
 * any other client gets 403, whatever --bind says):
 * - POST /__faults with a JSON array of rules (or one rule object) appends
 *   them; every rule is validated first and an invalid one (unknown field,
 *   wrong type, out of range) makes the whole request 400 with a "detail".
 *   200 {"rules": N active}. GET /__faults lists the rules with the `times`
 *   they have left; DELETE /__faults removes them all.
 * - A rule: {"path": P, "page": N, "times": T, "status": S, "retry_after": R,
 *   "delay_ms": D, "truncate": bool, "reset": bool, "body": B}. path (required)
 *   matches a request path equal to P or ending with P ("/users" matches
 *   "<prefix>/users"); page (optional) limits it to requests with page=N;
 *   times (default 1, up to 10^9) is how many matching requests it affects.
 *   Numbers must be JSON integers (2, not 2.0 or 2e0).
 *   Each data request (anything but /__*) takes the FIRST matching rule
 *   that has times left, and:
 *     delay_ms (0..60000)  waits that long first;
 *     reset                then closes the connection without any response
 *                          (SO_LINGER 0: the client sees a reset or an empty
 *                          reply); nothing else of the rule applies;
 *     body                 replaces the body (the string's bytes, NUL bytes
 *                          included, sent as JSON), with status S or 200;
 *     status               else replaces the reply by S with a JSON error body;
 *     retry_after          adds a Retry-After header (number or string, as given);
 *     truncate             declares the full Content-Length but sends only the
 *                          first half of the body, then closes the connection.
 *   A rule with only `path` (and page/times) serves the request normally.
 * - GET /__requests -> {"requests":[{"path":..., "page": N|null, "count":
 *   C}, ...]}, every data request counted by path and page (null when page
 *   is absent or not a positive integer), faulty or not, /health included.
 *   GET /__requests?path=P[&page=N] -> {"count": C}, the sum over paths
 *   matching P as rules do (and page N). DELETE /__requests empties the log.
 * - Other methods on these two paths -> 405 with Allow; other /__* -> 404.
 *   POST bodies over 64 KiB -> 413.
 *
 * Every request goes through handle_request(), which only computes the reply
 * (status, content type, body); send_reply() turns it into an MHD response.
 * serve_with_faults() applies a matching rule between the two; the rules and
 * the log are the only mutable state, behind one mutex.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "convert.h"
#include "error.h"
#include "gen_records.h"
#include "json.h"
#include "banned.h"

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

#define DEFAULT_PREFIX "/evaluation/dataengineer/jr/v1"
#define DEFAULT_PORT   8080
#define MAX_PAGE_PARAM 2147483647UL
#define GEN_MAX_REPLY  100000UL

/* One served array, held as the text of its whole reply: `whole` is "[" +
 * the elements' original bytes joined by "," + "]" (malloc'd, NUL-terminated).
 * Element i is whole[start[i], start[i + 1] - 1): the byte before start[i + 1]
 * is the ',' or the final ']' that follows it (start has count + 1 entries),
 * so elements [first, first + n) are the one run whole[start[first],
 * start[first + n] - 1) and a page costs one copy. */
struct endpoint {
    char *name;
    int generated; /* 0: from a file; 1: the users, 2: the messages of server.gen
                    * (whole, start and since unused) */
    char *whole;
    size_t whole_len;
    size_t *start;
    size_t count;
    /* --since: each element's FIELD, canonical (convert_timestamp text, or
     * an integer); kind 0 when it has none */
    struct since_key {
        int kind; /* 0 none, 1 timestamp, 2 integer */
        char ts[CONVERT_DATETIME_LEN];
        long long i;
    } * since;
};

struct faults;

/* Immutable after start: request threads only read it, except *faults,
 * which has its own lock. */
struct server {
    char *prefix; /* no trailing '/'; may be "" */
    size_t prefix_len;
    struct endpoint *endpoints; /* sorted by name */
    size_t n_endpoints;
    struct faults *faults;
    char *require_name;        /* --require-header: NULL = none */
    const char *require_value; /* its value */
    char *since_param;         /* --since PARAM=FIELD: NULL = none */
    const char *since_field;
    const struct gen_set *gen; /* --generate: the data set, else NULL */
};

/* What handle_request decided. body points either at memory that outlives
 * the server (owned == NULL) or at owned, a malloc'd buffer the reply owns. */
struct reply {
    unsigned int status;
    const char *content_type;
    const char *allow;       /* Allow header for 405, else NULL */
    const char *retry_after; /* Retry-After header, else NULL */
    bool truncate;           /* send half the body under the full Content-Length, then close */
    const char *body;
    size_t len;
    char *owned;
};

static const char content_json[] = "application/json";

/* ---------------------------------------------------------------- loading */

static void endpoint_release(struct endpoint *ep)
{
    free(ep->whole);
    free(ep->start);
    free(ep->since);
    free(ep->name);
    memset(ep, 0, sizeof(*ep));
}

static void server_release(struct server *srv)
{
    for (size_t i = 0; i < srv->n_endpoints; i++)
        endpoint_release(&srv->endpoints[i]);
    free(srv->endpoints);
    free(srv->prefix);
    free(srv->require_name);
    free(srv->since_param);
    memset(srv, 0, sizeof(*srv));
}

/* Appends the whole file at `path` to `out`. Returns 0, or -1 with errno set. */
static int read_file(const char *path, struct buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    for (;;) {
        if (buf_grow(out, 65536) < 0) {
            close(fd);
            errno = ENOMEM;
            return -1;
        }
        ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
        out->data[out->len] = '\0';
    }
    close(fd);
    return 0;
}

static bool endpoint_name_ok(const char *name, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* Loads DIR/<file> into ep: splits it as one JSON array and copies the
 * elements' bytes, unchanged, into ep->whole. Returns 0, or -1 after printing
 * why (ep may then hold part of the result: endpoint_release frees it). */
static int endpoint_load(struct endpoint *ep, const char *dir, const char *file)
{
    char path[PATH_MAX];
    struct buf text = BUF_INIT;
    json_page *pg = NULL;
    size_t n, whole_len = 2 /* "[" "]" */, pos = 0;
    int rc = -1;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path)) {
        fprintf(stderr, "fixture_api: path too long: '%s/%s'\n", dir, file);
        return -1;
    }
    if (read_file(path, &text) < 0) {
        fprintf(stderr, "fixture_api: cannot read '%s': %s\n", path, strerror(errno));
        goto out;
    }
    if (!(pg = json_page_new()))
        goto oom;
    /* takes the text; err_msg() says what it is if not an array ("got an
     * object, not an array", "truncated at byte 812 of 812 ...") */
    if (json_page_set_array(pg, &text) < 0) {
        fprintf(stderr, "fixture_api: %s: %s\n", path, err_msg());
        goto out;
    }

    n = json_page_count(pg);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        json_page_record_text(pg, i, &len);
        whole_len += len + (i ? 1 : 0);
    }
    ep->name = strndup(file, strlen(file) - strlen(".json"));
    ep->start = malloc((n + 1) * sizeof(*ep->start));
    ep->whole = malloc(whole_len + 1);
    if (!ep->name || !ep->start || !ep->whole)
        goto oom;
    ep->whole[pos++] = '[';
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *el = json_page_record_text(pg, i, &len);
        ep->start[i] = pos;
        memcpy(ep->whole + pos, el, len);
        pos += len;
        ep->whole[pos++] = i + 1 < n ? ',' : ']';
    }
    if (n == 0)
        ep->whole[pos++] = ']';
    ep->start[n] = pos; /* one past the ']' */
    ep->whole[pos] = '\0';
    ep->whole_len = pos;
    ep->count = n;
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "fixture_api: %s: out of memory\n", path);
out:
    json_page_free(pg);
    buf_release(&text);
    return rc;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every DIR/<name>.json. Returns 0, or -1 after printing why. */
static int server_load(struct server *srv, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "fixture_api: cannot open data directory '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        char path[PATH_MAX];
        struct stat st;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path) ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (!endpoint_name_ok(de->d_name, len - 5)) {
            fprintf(stderr,
                    "fixture_api: %s: file name must be <name>.json with name in "
                    "[A-Za-z0-9._-]\n",
                    path);
            goto out;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char **bigger = realloc(names, ncap * sizeof(*names));
            if (!bigger)
                goto oom;
            names = bigger;
            cap = ncap;
        }
        if (!(names[n] = strdup(de->d_name)))
            goto oom;
        n++;
    }
    if (n == 0) {
        fprintf(stderr, "fixture_api: no *.json file in data directory '%s'\n", dir);
        goto out;
    }
    qsort(names, n, sizeof(*names), compare_names);
    srv->endpoints = calloc(n, sizeof(*srv->endpoints));
    if (!srv->endpoints)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        if (endpoint_load(&srv->endpoints[i], dir, names[i]) < 0) {
            endpoint_release(&srv->endpoints[i]);
            goto out;
        }
        srv->n_endpoints++;
    }
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "fixture_api: out of memory while listing '%s'\n", dir);
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

/* Parses --generate users=N,messages=M[,seed=S] (N >= 1, M >= 0) and
 * prepares the data set. Returns 0, or -1 after printing why. */
static int generate_parse(const char *spec, struct gen_set *g)
{
    unsigned long long v[3] = {0, 0, 1};
    bool seen[3] = {false, false, false};
    static const char *const keys[] = {"users", "messages", "seed"};
    const char *p = spec;
    while (*p) {
        size_t klen = strcspn(p, "=,");
        int k = -1;
        for (int i = 0; i < 3; i++)
            if (strlen(keys[i]) == klen && strncmp(p, keys[i], klen) == 0)
                k = i;
        if (k < 0 || p[klen] != '=' || seen[k])
            goto bad;
        p += klen + 1;
        char *end;
        errno = 0;
        v[k] = strtoull(p, &end, 10);
        if (errno || end == p || *p == '-' || (*end && *end != ','))
            goto bad;
        seen[k] = true;
        p = *end ? end + 1 : end;
    }
    if (!seen[0] || !seen[1] || v[0] == 0 || v[0] > 1000000000ULL || v[1] > 1000000000ULL)
        goto bad;
    if (gen_init(g, (unsigned long)v[0], (unsigned long)v[1], v[2]) < 0) {
        fprintf(stderr, "fixture_api: out of memory\n");
        return -1;
    }
    return 0;
bad:
    fprintf(stderr,
            "fixture_api: invalid --generate '%s' (users=N,messages=M[,seed=S] with 1 <= N <= "
            "10^9, 0 <= M <= 10^9)\n",
            spec);
    return -1;
}

/* The endpoints of --generate: users and messages (sorted by name). */
static int server_generated(struct server *srv, const struct gen_set *g)
{
    srv->gen = g;
    srv->endpoints = calloc(2, sizeof(*srv->endpoints));
    if (!srv->endpoints)
        goto oom;
    srv->endpoints[0].name = strdup("messages");
    srv->endpoints[0].generated = 2;
    srv->endpoints[0].count = g->messages;
    srv->endpoints[1].name = strdup("users");
    srv->endpoints[1].generated = 1;
    srv->endpoints[1].count = g->users;
    srv->n_endpoints = 2;
    if (!srv->endpoints[0].name || !srv->endpoints[1].name)
        goto oom;
    return 0;
oom:
    fprintf(stderr, "fixture_api: out of memory\n");
    return -1;
}

/* --------------------------------------------------------------- requests */

static void reply_static(struct reply *r, unsigned int status, const char *type, const char *body)
{
    r->status = status;
    r->content_type = type;
    r->body = body;
    r->len = strlen(body);
    r->owned = NULL;
}

/* 200 with a constant JSON body. Returns 0. */
static int reply_static_json(struct reply *r, const char *body)
{
    reply_static(r, MHD_HTTP_OK, content_json, body);
    return 0;
}

/* Sets r to the JSON text built in `b` with `status`; `built` is true when
 * every append to b succeeded. The text moves into r (malloc'd memory:
 * send_reply frees owned bodies with free()) and b is left empty. Returns 0,
 * or -1 (b released) when building failed or out of memory. */
static int reply_json_status(struct reply *r, unsigned int status, struct buf *b, bool built)
{
    if (!built) {
        buf_release(b);
        return -1;
    }
    r->owned = buf_detach(b, &r->len);
    if (!r->owned)
        return -1;
    r->body = r->owned;
    r->status = status;
    r->content_type = content_json;
    return 0;
}

/* The same with status 200. */
static int reply_json(struct reply *r, struct buf *b, bool built)
{
    return reply_json_status(r, MHD_HTTP_OK, b, built);
}

/* Builders of JSON objects in a buf; each returns true when every append
 * succeeded. add_key appends `"key":`, after a ',' unless the member is the
 * object's first (the text so far ends with its '{'). */
static bool add_key(struct buf *b, const char *key)
{
    bool first = b->len > 0 && b->data[b->len - 1] == '{';
    return (first || buf_addc(b, ',') == 0) && json_quote(b, key) == 0 && buf_addc(b, ':') == 0;
}

/* Member `"key":"value"` (value any bytes up to its NUL, escaped). */
static bool add_string(struct buf *b, const char *key, const char *value)
{
    return add_key(b, key) && json_quote(b, value) == 0;
}

/* Member `"key":N`. */
static bool add_number(struct buf *b, const char *key, unsigned long long value)
{
    return add_key(b, key) && buf_addf(b, "%llu", value) == 0;
}

/* Member `"key":true`, `"key":null`, ... (a JSON literal). */
static bool add_literal(struct buf *b, const char *key, const char *literal)
{
    return add_key(b, key) && buf_adds(b, literal) == 0;
}

/* {"error":error, <key>:value} — value may be any text (escaped). */
static int reply_error(struct reply *r, unsigned int status, const char *error, const char *key,
                       const char *value)
{
    struct buf b = BUF_INIT;
    bool ok = buf_addc(&b, '{') == 0 && add_string(&b, "error", error) &&
              (!key || add_string(&b, key, value)) && buf_addc(&b, '}') == 0;
    return reply_json_status(r, status, &b, ok);
}

/* Positive decimal integer, digits only, 1..MAX_PAGE_PARAM. */
static bool parse_positive(const char *s, size_t len, unsigned long *out)
{
    unsigned long v = 0;
    if (!s || len == 0 || len > 10)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > MAX_PAGE_PARAM)
        return false;
    *out = v;
    return true;
}

/* Looks up a query parameter. Returns false when absent; *value is NULL for a
 * key given without '=' ("?page"). */
static bool query_param(struct MHD_Connection *conn, const char *key, const char **value,
                        size_t *value_len)
{
    *value = NULL;
    *value_len = 0;
    return MHD_lookup_connection_value_n(conn, MHD_GET_ARGUMENT_KIND, key, strlen(key), value,
                                         value_len) == MHD_YES;
}

static const struct endpoint *find_endpoint(const struct server *srv, const char *url)
{
    if (strncmp(url, srv->prefix, srv->prefix_len) != 0 || url[srv->prefix_len] != '/')
        return NULL;
    const char *name = url + srv->prefix_len + 1;
    for (size_t i = 0; i < srv->n_endpoints; i++)
        if (strcmp(srv->endpoints[i].name, name) == 0)
            return &srv->endpoints[i];
    return NULL;
}

/* Builds the JSON array of ep's elements [first, first + count): "[", their
 * run of ep->whole (elements and the commas between them), "]". */
static int reply_slice(struct reply *r, const struct endpoint *ep, size_t first, size_t count)
{
    if (count == 0) {
        reply_static(r, MHD_HTTP_OK, content_json, "[]");
        return 0;
    }
    const char *run = ep->whole + ep->start[first];
    size_t run_len = ep->start[first + count] - 1 - ep->start[first];
    char *body = malloc(run_len + 3);
    if (!body)
        return -1;
    size_t pos = 0;
    body[pos++] = '[';
    memcpy(body + pos, run, run_len);
    pos += run_len;
    body[pos++] = ']';
    body[pos] = '\0';
    r->status = MHD_HTTP_OK;
    r->content_type = content_json;
    r->body = body;
    r->len = pos;
    r->owned = body;
    return 0;
}

/* A timestamp or integer text into a since_key; false when it is neither. */
static bool since_parse(const char *s, struct since_key *k)
{
    memset(k, 0, sizeof(*k));
    if (convert_int64(s, &k->i) == 0) {
        k->kind = 2;
        return true;
    }
    if (convert_timestamp(s, k->ts) == 0) {
        k->kind = 1;
        return true;
    }
    return false;
}

/* --since: every element's FIELD, parsed once at start. 0 or -1. */
static int endpoint_since_keys(struct endpoint *ep, const char *field)
{
    json_doc *doc = json_doc_new();
    ep->since = calloc(ep->count ? ep->count : 1, sizeof(*ep->since));
    if (!doc || !ep->since) {
        json_free(doc);
        return -1;
    }
    for (size_t i = 0; i < ep->count; i++) {
        const char *el = ep->whole + ep->start[i];
        size_t len = ep->start[i + 1] - 1 - ep->start[i];
        const json_node *v;
        char num[32];
        size_t nlen;
        if (json_doc_parse(doc, el, len) != 0)
            continue;
        v = json_get(json_root(doc), field);
        if (json_type(v) == JSON_STRING && json_string(v))
            since_parse(json_string(v), &ep->since[i]);
        else if (json_type(v) == JSON_NUMBER && json_number_text(v, &nlen) && nlen < sizeof(num)) {
            memcpy(num, json_number_text(v, &nlen), nlen + 1);
            since_parse(num, &ep->since[i]);
        }
    }
    json_free(doc);
    return 0;
}

static bool since_ge(const struct since_key *a, const struct since_key *b)
{
    if (a->kind != b->kind || a->kind == 0)
        return false;
    return a->kind == 2 ? a->i >= b->i : strcmp(a->ts, b->ts) >= 0;
}

/* The elements >= since, page `page` of `limit` (0: all), as one reply. */
static int reply_since(struct reply *r, const struct endpoint *ep, const struct since_key *since,
                       unsigned long page, unsigned long limit, const char *param,
                       const char *value)
{
    struct buf body = BUF_INIT;
    size_t matched = 0, sent = 0;
    uint64_t first = limit ? (uint64_t)(page - 1) * limit : 0;
    int rc = buf_addc(&body, '[');
    for (size_t i = 0; !rc && i < ep->count; i++) {
        if (!since_ge(&ep->since[i], since))
            continue;
        if (matched++ < first || (limit && sent >= limit))
            continue;
        if (sent++)
            rc = buf_addc(&body, ',');
        if (!rc)
            rc = buf_add(&body, ep->whole + ep->start[i], ep->start[i + 1] - 1 - ep->start[i]);
    }
    if (!rc)
        rc = buf_addc(&body, ']');
    if (rc) {
        buf_release(&body);
        return -1;
    }
    printf("fixture_api: since %s=%s: %zu of %zu records (page %lu)\n", param, value, matched,
           ep->count, page);
    fflush(stdout);
    r->status = MHD_HTTP_OK;
    r->content_type = content_json;
    r->owned = buf_detach(&body, &r->len);
    r->body = r->owned;
    return r->owned ? 0 : -1;
}

/* Decides the reply to one request; the whole routing contract lives here.
 * Returns 0, or -1 when out of memory (the connection is then dropped). */
/* Builds the JSON array of generated records [first, first + count) of ep,
 * as its file would hold them; a count over GEN_MAX_REPLY (a page's limit
 * or the whole array) -> 400 before anything is made. */
static int reply_generated(struct reply *r, const struct server *srv, const struct endpoint *ep,
                           size_t first, size_t count)
{
    struct buf b = BUF_INIT;
    char rec[GEN_RECORD_MAX];
    if (count > GEN_MAX_REPLY)
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "bad request", "detail",
                           "a generated endpoint serves at most 100000 records per request");
    if (buf_grow(&b, count * 300 + 3) < 0 || buf_addc(&b, '[') < 0)
        goto oom;
    for (size_t i = 0; i < count; i++) {
        int k;
        size_t len = ep->generated == 1
                         ? gen_user(srv->gen, first + i + 1, rec, sizeof(rec), &k)
                         : gen_message(srv->gen, first + i + 1, rec, sizeof(rec), &k);
        if ((i && buf_addc(&b, ',') < 0) || buf_add(&b, rec, len) < 0)
            goto oom;
    }
    if (buf_addc(&b, ']') < 0)
        goto oom;
    size_t len;
    char *body = buf_detach(&b, &len);
    r->status = MHD_HTTP_OK;
    r->content_type = content_json;
    r->body = body;
    r->len = len;
    r->owned = body;
    return 0;
oom:
    buf_release(&b);
    return -1;
}

static int handle_request(const struct server *srv, struct MHD_Connection *conn, const char *method,
                          const char *url, struct reply *r)
{
    memset(r, 0, sizeof(*r));

    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
        r->allow = MHD_HTTP_METHOD_GET;
        return reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed", "method", method);
    }
    if (strcmp(url, "/health") == 0) {
        reply_static(r, MHD_HTTP_OK, "text/plain", "ok");
        return 0;
    }
    const struct endpoint *ep = find_endpoint(srv, url);
    if (!ep)
        return reply_error(r, MHD_HTTP_NOT_FOUND, "not found", "path", url);

    const char *page_s, *limit_s;
    size_t page_len, limit_len;
    bool has_page = query_param(conn, "page", &page_s, &page_len);
    bool has_limit = query_param(conn, "limit", &limit_s, &limit_len);
    const char *since_s = NULL;
    size_t since_len = 0;
    struct since_key since;
    if (srv->since_param && query_param(conn, srv->since_param, &since_s, &since_len) &&
        (strlen(since_s) != since_len || !since_parse(since_s, &since)))
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "bad request", "detail",
                           "the since parameter must be an ISO 8601 timestamp or an integer");
    if (since_s && !has_page && !has_limit)
        return reply_since(r, ep, &since, 1, 0, srv->since_param, since_s);
    if (!has_page && !has_limit && ep->generated)
        return reply_generated(r, srv, ep, 0, ep->count);
    if (!has_page && !has_limit) {
        reply_static(r, MHD_HTTP_OK, content_json, ep->whole);
        r->len = ep->whole_len;
        return 0;
    }
    unsigned long page, limit;
    if (!has_page || !has_limit)
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "bad request", "detail",
                           "page and limit must be given together");
    if (!parse_positive(page_s, page_len, &page))
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "bad request", "detail",
                           "page must be a positive integer");
    if (!parse_positive(limit_s, limit_len, &limit))
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "bad request", "detail",
                           "limit must be a positive integer");

    if (since_s)
        return reply_since(r, ep, &since, page, limit, srv->since_param, since_s);
    /* both <= 2^31-1, so the product fits in 64 bits */
    uint64_t first = (uint64_t)(page - 1) * (uint64_t)limit;
    size_t count = 0;
    if (first < ep->count) {
        uint64_t left = ep->count - first;
        count = (size_t)(left < limit ? left : limit);
    }
    if (ep->generated)
        return reply_generated(r, srv, ep, count ? (size_t)first : 0,
                               limit > GEN_MAX_REPLY ? (size_t)limit : count);
    return reply_slice(r, ep, count ? (size_t)first : 0, count);
}

/* ----------------------------------------------------------------- faults */

/* One fault rule (see the contract at the top). Strings are malloc'd. */
struct fault_rule {
    char *path;          /* the request path, or a suffix of it */
    long page;           /* page=N the rule is limited to; -1 = any request */
    unsigned long times; /* matching requests it still applies to */
    unsigned int status; /* 0 = the normal status */
    char *retry_after;   /* Retry-After header value; NULL = none */
    unsigned int delay_ms;
    bool truncate;
    bool reset;
    char *body; /* replaces the normal body (body_len bytes, NUL bytes included, then
                 * a NUL); NULL = keep it */
    size_t body_len;
};

/* Requests seen per (path, page), page -1 when absent or not a number. */
struct request_count {
    char *path;
    long page;
    unsigned long count;
};

/* The only mutable state of the server; every access holds `lock`. */
struct faults {
    pthread_mutex_t lock;
    struct fault_rule *rules; /* in the order they were added */
    size_t nrules, cap_rules;
    struct request_count *seen;
    size_t nseen, cap_seen;
};

#define MAX_CONTROL_BODY (64u * 1024u)
#define MAX_DELAY_MS     60000u

static void rule_release(struct fault_rule *f)
{
    free(f->path);
    free(f->retry_after);
    free(f->body);
    memset(f, 0, sizeof(*f));
}

static void faults_clear_rules(struct faults *fs)
{
    for (size_t i = 0; i < fs->nrules; i++)
        rule_release(&fs->rules[i]);
    fs->nrules = 0;
}

static void faults_clear_seen(struct faults *fs)
{
    for (size_t i = 0; i < fs->nseen; i++)
        free(fs->seen[i].path);
    fs->nseen = 0;
}

static void faults_release(struct faults *fs)
{
    faults_clear_rules(fs);
    faults_clear_seen(fs);
    free(fs->rules);
    free(fs->seen);
    pthread_mutex_destroy(&fs->lock);
}

/* A rule's path matches the request path when equal to it or a suffix of it. */
static bool path_matches(const char *rule, const char *url)
{
    size_t rl = strlen(rule), ul = strlen(url);
    return rl > 0 && rl <= ul && strcmp(url + ul - rl, rule) == 0;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* A malloc'd copy of n bytes plus a NUL, or NULL when out of memory. */
static char *mem_dup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Counts the request and takes the first rule that matches it (copied into
 * *out, which the caller releases). Returns 1 when a rule applies, 0 when
 * none does, -1 when out of memory. */
static int faults_take(struct faults *fs, const char *url, long page, struct fault_rule *out)
{
    int rc = 0;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&fs->lock);
    size_t i;
    for (i = 0; i < fs->nseen; i++)
        if (fs->seen[i].page == page && strcmp(fs->seen[i].path, url) == 0)
            break;
    if (i == fs->nseen) {
        if (fs->nseen == fs->cap_seen) {
            size_t ncap = fs->cap_seen ? fs->cap_seen * 2 : 16;
            struct request_count *bigger = realloc(fs->seen, ncap * sizeof(*bigger));
            if (!bigger)
                goto oom;
            fs->seen = bigger;
            fs->cap_seen = ncap;
        }
        if (!(fs->seen[i].path = strdup(url)))
            goto oom;
        fs->seen[i].page = page;
        fs->seen[i].count = 0;
        fs->nseen++;
    }
    fs->seen[i].count++;
    for (i = 0; i < fs->nrules; i++) {
        struct fault_rule *f = &fs->rules[i];
        if (f->times == 0 || !path_matches(f->path, url) || (f->page >= 0 && f->page != page))
            continue;
        f->times--;
        *out = *f;
        out->path = strdup(f->path);
        out->retry_after = dup_or_null(f->retry_after);
        out->body = f->body ? mem_dup(f->body, f->body_len) : NULL;
        if (!out->path || (f->retry_after && !out->retry_after) || (f->body && !out->body)) {
            rule_release(out);
            goto oom;
        }
        rc = 1;
        break;
    }
    pthread_mutex_unlock(&fs->lock);
    return rc;
oom:
    pthread_mutex_unlock(&fs->lock);
    return -1;
}

/* The integer value of `n` when it is a JSON integer within [lo, hi]. */
static bool int_in_range(const json_node *n, long long lo, long long hi, long long *out)
{
    long long v;
    if (json_type(n) != JSON_NUMBER || json_int64(n, &v) < 0 || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Parses one rule object; on error returns -1 with *why set (static text). */
static int rule_parse(const json_node *o, struct fault_rule *f, const char **why)
{
    static const char *const known[] = {"path",     "page",     "times", "status", "retry_after",
                                        "delay_ms", "truncate", "reset", "body",   NULL};
    const json_node *it;
    const char *s;
    size_t len;
    long long v;
    memset(f, 0, sizeof(*f));
    f->page = -1;
    f->times = 1;
    if (json_type(o) != JSON_OBJECT) {
        *why = "each rule must be a JSON object";
        return -1;
    }
    for (it = json_child(o); it; it = json_next(it)) {
        size_t k = 0;
        while (known[k] && strcmp(known[k], json_key(it)) != 0)
            k++;
        if (!known[k]) {
            *why = "unknown field in a rule (known: path, page, times, status, retry_after, "
                   "delay_ms, truncate, reset, body)";
            return -1;
        }
    }
    s = json_string(json_get(o, "path")); /* NULL too for a NUL byte or a bad escape */
    if (!s || !s[0]) {
        *why = "'path' must be a non-empty string";
        return -1;
    }
    if (!(f->path = strdup(s)))
        goto oom;
    if ((it = json_get(o, "page"))) {
        if (!int_in_range(it, 1, MAX_PAGE_PARAM, &v)) {
            *why = "'page' must be a positive integer";
            goto bad;
        }
        f->page = (long)v;
    }
    if ((it = json_get(o, "times"))) {
        if (!int_in_range(it, 1, 1000000000, &v)) {
            *why = "'times' must be an integer from 1 to 1000000000";
            goto bad;
        }
        f->times = (unsigned long)v;
    }
    if ((it = json_get(o, "status"))) {
        if (!int_in_range(it, 100, 599, &v)) {
            *why = "'status' must be an integer from 100 to 599";
            goto bad;
        }
        f->status = (unsigned int)v;
    }
    if ((it = json_get(o, "retry_after"))) {
        char num[32];
        if (int_in_range(it, 0, 1000000000, &v)) {
            snprintf(num, sizeof(num), "%lld", v);
            f->retry_after = strdup(num);
        } else if ((s = json_string(it)) && !strpbrk(s, "\r\n")) {
            f->retry_after = strdup(s);
        } else {
            *why = "'retry_after' must be a non-negative integer or a one-line string";
            goto bad;
        }
        if (!f->retry_after)
            goto oom;
    }
    if ((it = json_get(o, "delay_ms"))) {
        if (!int_in_range(it, 0, MAX_DELAY_MS, &v)) {
            *why = "'delay_ms' must be an integer from 0 to 60000";
            goto bad;
        }
        f->delay_ms = (unsigned int)v;
    }
    if ((it = json_get(o, "truncate"))) {
        if (json_type(it) != JSON_BOOL) {
            *why = "'truncate' must be true or false";
            goto bad;
        }
        f->truncate = json_bool(it);
    }
    if ((it = json_get(o, "reset"))) {
        if (json_type(it) != JSON_BOOL) {
            *why = "'reset' must be true or false";
            goto bad;
        }
        f->reset = json_bool(it);
    }
    if ((it = json_get(o, "body"))) {
        if (!(s = json_string_len(it, &len))) { /* NUL bytes are kept */
            *why = "'body' must be a string (the raw body to send)";
            goto bad;
        }
        if (!(f->body = mem_dup(s, len)))
            goto oom;
        f->body_len = len;
    }
    return 0;
oom:
    *why = "out of memory";
bad:
    rule_release(f);
    return -1;
}

/* Appends the rules of `text` (a JSON array of rule objects, or one object).
 * Nothing is added unless every rule is valid. Returns the number of rules
 * now active, or -1 with *why set. */
static long faults_add(struct faults *fs, const char *text, size_t len, const char **why)
{
    json_doc *doc = NULL;
    const json_node *root, *el;
    struct fault_rule *parsed = NULL;
    size_t n = 0, k = 0;
    long total = -1;
    if (json_parse(text, len, &doc) < 0) {
        *why = "the body must be a JSON array of rules";
        return -1;
    }
    root = json_root(doc);
    if (json_type(root) == JSON_OBJECT) {
        n = 1;
    } else if (json_type(root) == JSON_ARRAY) {
        n = json_array_size(root);
    } else {
        *why = "the body must be a JSON array of rules";
        goto out;
    }
    parsed = calloc(n ? n : 1, sizeof(*parsed));
    if (!parsed) {
        *why = "out of memory";
        goto out;
    }
    if (json_type(root) == JSON_OBJECT) {
        if (rule_parse(root, &parsed[0], why) < 0)
            goto out;
        k = 1;
    } else {
        for (el = json_child(root); el; el = json_next(el)) {
            if (rule_parse(el, &parsed[k], why) < 0)
                goto out;
            k++;
        }
    }
    pthread_mutex_lock(&fs->lock);
    if (fs->nrules + n > fs->cap_rules) {
        size_t ncap = fs->cap_rules ? fs->cap_rules : 8;
        while (ncap < fs->nrules + n)
            ncap *= 2;
        struct fault_rule *bigger = realloc(fs->rules, ncap * sizeof(*bigger));
        if (!bigger) {
            pthread_mutex_unlock(&fs->lock);
            *why = "out of memory";
            goto out;
        }
        fs->rules = bigger;
        fs->cap_rules = ncap;
    }
    memcpy(fs->rules + fs->nrules, parsed, n * sizeof(*parsed));
    fs->nrules += n;
    total = (long)fs->nrules;
    pthread_mutex_unlock(&fs->lock);
    k = 0; /* moved into fs */
out:
    for (size_t i = 0; i < k; i++)
        rule_release(&parsed[i]);
    free(parsed);
    json_free(doc);
    return total;
}

/* GET /__faults: the active rules with the requests they still apply to. */
static int reply_rules(struct reply *r, struct faults *fs)
{
    struct buf b = BUF_INIT;
    bool ok = buf_addc(&b, '[') == 0;
    pthread_mutex_lock(&fs->lock);
    for (size_t i = 0; ok && i < fs->nrules; i++) {
        const struct fault_rule *f = &fs->rules[i];
        ok = (i == 0 || buf_addc(&b, ',') == 0) && buf_addc(&b, '{') == 0 &&
             add_string(&b, "path", f->path) &&
             (f->page < 0 || add_number(&b, "page", (unsigned long long)f->page)) &&
             add_number(&b, "times", f->times) &&
             (!f->status || add_number(&b, "status", f->status)) &&
             (!f->retry_after || add_string(&b, "retry_after", f->retry_after)) &&
             (!f->delay_ms || add_number(&b, "delay_ms", f->delay_ms)) &&
             (!f->truncate || add_literal(&b, "truncate", "true")) &&
             (!f->reset || add_literal(&b, "reset", "true")) &&
             (!f->body || (add_key(&b, "body") && json_quote_len(&b, f->body, f->body_len) == 0)) &&
             buf_addc(&b, '}') == 0;
    }
    pthread_mutex_unlock(&fs->lock);
    ok = ok && buf_addc(&b, ']') == 0;
    return reply_json(r, &b, ok);
}

/* GET /__requests[?path=P[&page=N]]: the whole log, or the count of the
 * requests whose path matches P (equal or suffix) and, if given, page N. */
static int reply_requests(struct reply *r, struct faults *fs, struct MHD_Connection *conn)
{
    const char *path = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "path");
    const char *page_s = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "page");
    unsigned long page = 0;
    struct buf b = BUF_INIT;
    bool ok;
    if (page_s && !parse_positive(page_s, strlen(page_s), &page))
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "bad request", "detail",
                           "page must be a positive integer");
    if (page_s && !path)
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "bad request", "detail", "page needs path");
    pthread_mutex_lock(&fs->lock);
    if (path) {
        unsigned long count = 0;
        for (size_t i = 0; i < fs->nseen; i++)
            if (path_matches(path, fs->seen[i].path) && (!page_s || fs->seen[i].page == (long)page))
                count += fs->seen[i].count;
        ok = buf_addc(&b, '{') == 0 && add_number(&b, "count", count) && buf_addc(&b, '}') == 0;
    } else {
        ok = buf_adds(&b, "{\"requests\":[") == 0;
        for (size_t i = 0; ok && i < fs->nseen; i++) {
            const struct request_count *rc = &fs->seen[i];
            ok = (i == 0 || buf_addc(&b, ',') == 0) && buf_addc(&b, '{') == 0 &&
                 add_string(&b, "path", rc->path) &&
                 (rc->page < 0 ? add_literal(&b, "page", "null")
                               : add_number(&b, "page", (unsigned long long)rc->page)) &&
                 add_number(&b, "count", rc->count) && buf_addc(&b, '}') == 0;
        }
        ok = ok && buf_adds(&b, "]}") == 0;
    }
    pthread_mutex_unlock(&fs->lock);
    return reply_json(r, &b, ok);
}

/* True when the peer of conn is on the loopback network. */
static bool client_is_loopback(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        const uint8_t *b = in6->sin6_addr.s6_addr;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
               (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && b[12] == 127);
    }
    return false;
}

/* The control endpoints under /__ (faults and the request log). */
static int handle_control(const struct server *srv, struct MHD_Connection *conn, const char *method,
                          const char *url, const char *body, size_t body_len, bool body_too_big,
                          struct reply *r)
{
    struct faults *fs = srv->faults;
    bool is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
    bool is_delete = strcmp(method, MHD_HTTP_METHOD_DELETE) == 0;
    memset(r, 0, sizeof(*r));
    if (!client_is_loopback(conn))
        return reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden", "detail",
                           "control endpoints answer loopback clients only");
    if (strcmp(url, "/__faults") == 0) {
        if (strcmp(method, MHD_HTTP_METHOD_POST) == 0) {
            const char *why = NULL;
            if (body_too_big)
                return reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "too large", "detail",
                                   "rules are limited to 64 KiB");
            long total = faults_add(fs, body, body_len, &why);
            if (total < 0)
                return reply_error(r, MHD_HTTP_BAD_REQUEST, "bad request", "detail", why);
            struct buf b = BUF_INIT;
            bool ok = buf_addc(&b, '{') == 0 &&
                      add_number(&b, "rules", (unsigned long long)total) && buf_addc(&b, '}') == 0;
            return reply_json(r, &b, ok);
        }
        if (is_delete) {
            pthread_mutex_lock(&fs->lock);
            faults_clear_rules(fs);
            pthread_mutex_unlock(&fs->lock);
            return reply_static_json(r, "{}");
        }
        if (is_get)
            return reply_rules(r, fs);
        r->allow = "GET, POST, DELETE";
        return reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed", "method", method);
    }
    if (strcmp(url, "/__requests") == 0) {
        if (is_delete) {
            pthread_mutex_lock(&fs->lock);
            faults_clear_seen(fs);
            pthread_mutex_unlock(&fs->lock);
            return reply_static_json(r, "{}");
        }
        if (is_get)
            return reply_requests(r, fs, conn);
        r->allow = "GET, DELETE";
        return reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed", "method", method);
    }
    return reply_error(r, MHD_HTTP_NOT_FOUND, "not found", "path", url);
}

/* Closes the connection with a TCP reset: no response at all. */
static void reset_connection(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) {
        struct linger lg = {1, 0}; /* close() then sends RST */
        setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
}

static void sleep_ms(unsigned int ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void free_body(void *body)
{
    free(body);
}

/* The first `sent` bytes of a body whose Content-Length says more. */
struct cut_body {
    char *data;
    size_t sent;
};

static ssize_t cut_body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct cut_body *cb = cls;
    if (pos >= cb->sent)
        return MHD_CONTENT_READER_END_WITH_ERROR; /* MHD closes the connection */
    size_t n = cb->sent - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, cb->data + pos, n);
    return (ssize_t)n;
}

static void cut_body_free(void *cls)
{
    struct cut_body *cb = cls;
    free(cb->data);
    free(cb);
}

/* A response that declares r's full length but sends only its first half. */
static struct MHD_Response *truncated_response(const struct reply *r)
{
    struct cut_body *cb = calloc(1, sizeof(*cb));
    if (!cb)
        return NULL;
    cb->sent = r->len / 2;
    cb->data = malloc(cb->sent ? cb->sent : 1);
    if (!cb->data) {
        free(cb);
        return NULL;
    }
    memcpy(cb->data, r->body, cb->sent);
    struct MHD_Response *resp =
        MHD_create_response_from_callback((uint64_t)r->len, 4096, cut_body_read, cb, cut_body_free);
    if (!resp)
        cut_body_free(cb);
    return resp;
}

/* Queues r on conn; takes ownership of r->owned. */
static mhd_result send_reply(struct MHD_Connection *conn, struct reply *r)
{
    struct MHD_Response *resp;
    if (r->truncate) {
        resp = truncated_response(r);
        free(r->owned);
        r->owned = NULL;
    } else if (r->owned)
        resp = MHD_create_response_from_buffer_with_free_callback(r->len, r->owned, free_body);
    else
        /* MHD's API takes void * but never writes a PERSISTENT buffer */
        resp = MHD_create_response_from_buffer(r->len, (void *)(uintptr_t)r->body,
                                               MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r->owned);
        r->owned = NULL;
        return MHD_NO;
    }
    r->owned = NULL;
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type) != MHD_YES ||
        (r->allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow) != MHD_YES) ||
        (r->retry_after &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, r->retry_after) != MHD_YES)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    mhd_result rc = MHD_queue_response(conn, r->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Per-request state: the body of a control request (capped). */
struct request {
    char *body;
    size_t len, cap;
    bool too_big;
};

static int request_append(struct request *rq, const char *data, size_t n)
{
    if (rq->too_big || rq->len + n > MAX_CONTROL_BODY) {
        rq->too_big = true;
        return 0;
    }
    if (rq->len + n + 1 > rq->cap) {
        size_t ncap = rq->cap ? rq->cap : 1024;
        while (ncap < rq->len + n + 1)
            ncap *= 2;
        char *bigger = realloc(rq->body, ncap);
        if (!bigger)
            return -1;
        rq->body = bigger;
        rq->cap = ncap;
    }
    memcpy(rq->body + rq->len, data, n);
    rq->len += n;
    rq->body[rq->len] = '\0';
    return 0;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct request *rq = *req_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (rq) {
        free(rq->body);
        free(rq);
        *req_cls = NULL;
    }
}

/* The page=N of a request, -1 when absent or not a positive integer. */
static long request_page(struct MHD_Connection *conn)
{
    const char *v;
    size_t len;
    unsigned long page;
    if (!query_param(conn, "page", &v, &len) || !parse_positive(v, len, &page))
        return -1;
    return (long)page;
}

/* Serves a data request with the first matching fault rule, if any, applied:
 * delay, then reset, or a replaced status/body, Retry-After, truncation. */
/* Whether the request has header `name` with exactly `value`. */
static bool header_is(struct MHD_Connection *conn, const char *name, const char *value)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
    return v && strcmp(v, value) == 0;
}

static mhd_result serve_with_faults(const struct server *srv, struct MHD_Connection *conn,
                                    const char *method, const char *url)
{
    struct fault_rule f;
    struct reply r;
    int taken = faults_take(srv->faults, url, request_page(conn), &f);
    mhd_result rc;
    if (taken < 0)
        return MHD_NO;
    if (taken && f.delay_ms)
        sleep_ms(f.delay_ms);
    if (taken && f.reset) {
        reset_connection(conn);
        rule_release(&f);
        return MHD_NO; /* MHD closes the connection without a response */
    }
    int hrc;
    if (taken && f.body) {
        memset(&r, 0, sizeof(r));
        r.status = f.status ? f.status : MHD_HTTP_OK;
        r.content_type = content_json;
        r.len = f.body_len;
        r.owned = f.body; /* moved into the reply */
        r.body = r.owned;
        f.body = NULL;
        hrc = 0;
    } else if (taken && f.status) {
        char detail[16];
        snprintf(detail, sizeof(detail), "%u", f.status);
        memset(&r, 0, sizeof(r));
        hrc = reply_error(&r, f.status, "injected fault", "status", detail);
    } else if (srv->require_name && strcmp(url, "/health") != 0 &&
               !header_is(conn, srv->require_name, srv->require_value)) {
        memset(&r, 0, sizeof(r));
        hrc = reply_error(&r, MHD_HTTP_UNAUTHORIZED, "unauthorized", "header", srv->require_name);
    } else {
        hrc = handle_request(srv, conn, method, url, &r);
    }
    if (hrc < 0) {
        rule_release(&f);
        return MHD_NO;
    }
    if (taken) {
        r.retry_after = f.retry_after;
        r.truncate = f.truncate;
    }
    rc = send_reply(conn, &r);
    rule_release(&f);
    return rc;
}

static mhd_result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *upload_data,
                             size_t *upload_data_size, void **req_cls)
{
    const struct server *srv = cls;
    struct request *rq = *req_cls;
    (void)version;

    if (!rq) { /* first call: headers only */
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        *req_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size != 0) { /* body: kept for control requests only */
        if (strncmp(url, "/__", 3) == 0 && request_append(rq, upload_data, *upload_data_size) < 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strncmp(url, "/__", 3) == 0) {
        struct reply r;
        if (handle_control(srv, conn, method, url, rq->body ? rq->body : "", rq->len, rq->too_big,
                           &r) < 0)
            return MHD_NO;
        return send_reply(conn, &r);
    }
    return serve_with_faults(srv, conn, method, url);
}

/* ------------------------------------------------------------------- main */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: fixture_api --data DIR [--port N] [--bind ADDR] [--prefix PATH]\n"
            "                   [--port-file FILE] [--require-header 'Name: value']\n"
            "                   [--since PARAM=FIELD]\n"
            "       fixture_api --generate users=N,messages=M[,seed=S] [same options]\n"
            "Serves DIR/<name>.json (a JSON array) at GET <prefix>/<name>[?page=N&limit=M];\n"
            "--generate serves the benchmark's users and messages, made page by page.\n"
            "Defaults: --bind 127.0.0.1 --port %d --prefix %s; --port 0 picks a free port.\n"
            "Tests inject faults with POST/GET/DELETE /__faults and read the request log\n"
            "with GET/DELETE /__requests (loopback clients only).\n",
            DEFAULT_PORT, DEFAULT_PREFIX);
}

/* Writes "PORT\n" to path via a temporary file and rename(). Returns 0 or -1. */
static int write_port_file(const char *path, unsigned int port)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int ok = fprintf(f, "%u\n", port) > 0;
    ok = (fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"prefix", required_argument, NULL, 'x'},
        {"port-file", required_argument, NULL, 'f'},
        {"require-header", required_argument, NULL, 'r'},
        {"since", required_argument, NULL, 's'},
        {"generate", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL, *bind_addr = "127.0.0.1", *prefix = DEFAULT_PREFIX;
    const char *port_file = NULL, *require = NULL, *since = NULL, *generate = NULL;
    unsigned long port = DEFAULT_PORT;
    struct gen_set gen;
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            data_dir = optarg;
            break;
        case 'p': {
            char *end;
            errno = 0;
            port = strtoul(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-' || port > 65535) {
                fprintf(stderr, "fixture_api: invalid --port '%s' (0..65535)\n", optarg);
                return 2;
            }
            break;
        }
        case 'b':
            bind_addr = optarg;
            break;
        case 'x':
            prefix = optarg;
            break;
        case 'f':
            port_file = optarg;
            break;
        case 'r':
            require = optarg;
            break;
        case 's':
            since = optarg;
            break;
        case 'g':
            generate = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fixture_api: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!data_dir == !generate) {
        fprintf(stderr, "fixture_api: one of --data DIR and --generate is required\n");
        usage(stderr);
        return 2;
    }
    if (generate && since) {
        fprintf(stderr, "fixture_api: --since cannot be used with --generate\n");
        return 2;
    }
    memset(&gen, 0, sizeof(gen));
    if (generate && generate_parse(generate, &gen) < 0)
        return 2;
    if (prefix[0] != '\0' && prefix[0] != '/') {
        fprintf(stderr, "fixture_api: --prefix '%s' must start with '/'\n", prefix);
        return 2;
    }

    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    struct sockaddr *sa;
    unsigned int flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    bool ipv6 = false;
    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));
    if (inet_pton(AF_INET, bind_addr, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&sin;
    } else if (inet_pton(AF_INET6, bind_addr, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&sin6;
        flags |= MHD_USE_IPv6;
        ipv6 = true;
    } else {
        fprintf(stderr, "fixture_api: invalid --bind '%s' (numeric IPv4 or IPv6 address)\n",
                bind_addr);
        return 2;
    }

    struct server srv;
    struct faults faults;
    memset(&srv, 0, sizeof(srv));
    memset(&faults, 0, sizeof(faults));
    pthread_mutex_init(&faults.lock, NULL);
    srv.faults = &faults;
    srv.prefix = strdup(prefix);
    if (!srv.prefix) {
        fprintf(stderr, "fixture_api: out of memory\n");
        faults_release(&faults);
        return 1;
    }
    if (require) {
        const char *colon = strchr(require, ':');
        if (!colon || colon == require) {
            fprintf(stderr, "fixture_api: --require-header wants 'Name: value'\n");
            free(srv.prefix);
            faults_release(&faults);
            return 2;
        }
        srv.require_name = strndup(require, (size_t)(colon - require));
        srv.require_value = colon + 1 + strspn(colon + 1, " \t");
        if (!srv.require_name) {
            fprintf(stderr, "fixture_api: out of memory\n");
            free(srv.prefix);
            faults_release(&faults);
            return 1;
        }
    }
    if (since) {
        const char *eq = strchr(since, '=');
        if (!eq || eq == since || !eq[1]) {
            fprintf(stderr, "fixture_api: --since wants PARAM=FIELD\n");
            server_release(&srv);
            faults_release(&faults);
            return 2;
        }
        srv.since_param = strndup(since, (size_t)(eq - since));
        srv.since_field = eq + 1;
    }
    srv.prefix_len = strlen(srv.prefix);
    while (srv.prefix_len > 0 && srv.prefix[srv.prefix_len - 1] == '/')
        srv.prefix[--srv.prefix_len] = '\0';
    if (generate ? server_generated(&srv, &gen) < 0 : server_load(&srv, data_dir) < 0) {
        server_release(&srv);
        faults_release(&faults);
        gen_release(&gen);
        return generate ? 1 : 2;
    }
    for (size_t i = 0; srv.since_param && i < srv.n_endpoints; i++)
        if (endpoint_since_keys(&srv.endpoints[i], srv.since_field) < 0) {
            fprintf(stderr, "fixture_api: out of memory\n");
            server_release(&srv);
            faults_release(&faults);
            return 1;
        }

    /* Block the stop signals before MHD starts its threads, so they inherit the
     * mask and only sigwait() below receives them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    int exit_code = 1, sig;
    const union MHD_DaemonInfo *info;
    unsigned int bound;
    struct MHD_Daemon *daemon =
        MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, &srv, MHD_OPTION_SOCK_ADDR,
                         sa, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (!daemon) {
        fprintf(stderr, "fixture_api: cannot listen on %s port %lu\n", bind_addr, port);
        goto out;
    }
    info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    bound = info ? info->port : (unsigned int)port;
    if (bound == 0) {
        fprintf(stderr, "fixture_api: cannot determine the bound port\n");
        goto stop_daemon;
    }
    if (port_file && write_port_file(port_file, bound) < 0) {
        fprintf(stderr, "fixture_api: cannot write port file '%s': %s\n", port_file,
                strerror(errno));
        goto stop_daemon;
    }
    printf("fixture_api: listening on http://%s%s%s:%u%s\n", ipv6 ? "[" : "", bind_addr,
           ipv6 ? "]" : "", bound, srv.prefix);
    fflush(stdout);

    while (sigwait(&stop, &sig) != 0)
        ;
    exit_code = 0;
stop_daemon:
    MHD_stop_daemon(daemon);
out:
    server_release(&srv);
    faults_release(&faults);
    gen_release(&gen);
    return exit_code;
}
