/*
 * fixture_api — a loopback HTTP server that replays JSON fixture files in the
 * shape of the seed's mockapi.io API, for maskload's integration tests.
 *
 * Usage:
 *   fixture_api --data DIR [--port N] [--bind ADDR] [--prefix PATH]
 *               [--port-file FILE]
 *
 * Contract
 * - Every file DIR/<name>.json must hold a JSON array; it is served at
 *   GET <prefix>/<name>. <name> may contain only [A-Za-z0-9._-]. All files are
 *   loaded, validated and serialised once at start; a file that is unreadable,
 *   not valid JSON or not an array, or a DIR without any *.json file, makes
 *   the program exit 2 before it listens, with the file named on stderr.
 * - GET <prefix>/<name>                  -> 200, the whole array.
 *   GET <prefix>/<name>?page=N&limit=M   -> 200, elements [(N-1)*M, N*M) as a
 *   JSON array (1-based page); `[]` past the end. page and limit must both be
 *   positive decimal integers (at most 2147483647) and must come together;
 *   anything else -> 400 with a JSON body {"error":..., "detail":...}.
 *   Other query parameters are ignored (as mockapi ignores unknown ones).
 * - GET /health -> 200 "ok" (text/plain). Any other path -> 404, any method
 *   other than GET -> 405 with "Allow: GET" (checked before the path). JSON
 *   bodies, errors included, are sent with Content-Type: application/json.
 * - Elements are re-serialised by cJSON (cJSON_PrintUnformatted): whitespace
 *   is dropped, \uXXXX escapes come out as UTF-8, numbers may change spelling
 *   (1.50 -> 1.5). Fixtures keep ids and amounts as strings, as mockapi does.
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
 * Every request goes through handle_request(), which only computes the reply
 * (status, content type, body); send_reply() turns it into an MHD response.
 * Fault injection belongs between the two.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cJSON.h>
#include <microhttpd.h>

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

#define DEFAULT_PREFIX "/evaluation/dataengineer/jr/v1"
#define DEFAULT_PORT   8080
#define MAX_PAGE_PARAM 2147483647UL

/* One served array. items[i] is element i serialised once at start
 * (cJSON-allocated); whole is "[" items joined by "," "]" (malloc'd). */
struct endpoint {
    char *name;
    char **items;
    size_t *item_len;
    size_t count;
    char *whole;
    size_t whole_len;
};

/* Immutable after start: request threads only read it. */
struct server {
    char *prefix; /* no trailing '/'; may be "" */
    size_t prefix_len;
    struct endpoint *endpoints; /* sorted by name */
    size_t n_endpoints;
};

/* What handle_request decided. body points either at memory that outlives
 * the server (owned == NULL) or at owned, a malloc'd buffer the reply owns. */
struct reply {
    unsigned int status;
    const char *content_type;
    const char *allow; /* Allow header for 405, else NULL */
    const char *body;
    size_t len;
    char *owned;
};

static const char json_type[] = "application/json";

/* ---------------------------------------------------------------- loading */

static void endpoint_release(struct endpoint *ep)
{
    for (size_t i = 0; i < ep->count; i++)
        cJSON_free(ep->items[i]);
    free(ep->items);
    free(ep->item_len);
    free(ep->whole);
    free(ep->name);
    memset(ep, 0, sizeof(*ep));
}

static void server_release(struct server *srv)
{
    for (size_t i = 0; i < srv->n_endpoints; i++)
        endpoint_release(&srv->endpoints[i]);
    free(srv->endpoints);
    free(srv->prefix);
    memset(srv, 0, sizeof(*srv));
}

/* Reads a whole file into a NUL-terminated malloc'd buffer. Returns 0, or -1
 * with errno set. */
static int read_file(const char *path, char **out, size_t *out_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        goto fail;
    for (;;) {
        if (len + 1 >= cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger)
                goto fail;
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
fail : {
    int saved = errno;
    free(buf);
    close(fd);
    errno = saved ? saved : ENOMEM;
    return -1;
}
}

/* 1-based line and column of byte offset `off` in text. */
static void text_position(const char *text, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
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

/* Loads DIR/<file> into ep. Returns 0, or -1 after printing why. */
static int endpoint_load(struct endpoint *ep, const char *dir, const char *file)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t text_len = 0, n, whole_len = 2 /* "[" "]" */, pos = 0;
    cJSON *root = NULL;
    const cJSON *el;
    const char *end = NULL;
    int rc = -1;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path)) {
        fprintf(stderr, "fixture_api: path too long: '%s/%s'\n", dir, file);
        return -1;
    }
    if (read_file(path, &text, &text_len) < 0) {
        fprintf(stderr, "fixture_api: cannot read '%s': %s\n", path, strerror(errno));
        return -1;
    }
    root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        size_t off = end ? (size_t)(end - text) : 0, line, col;
        text_position(text, off, &line, &col);
        fprintf(stderr, "fixture_api: %s:%zu:%zu: invalid JSON\n", path, line, col);
        goto out;
    }
    if (!cJSON_IsArray(root)) {
        fprintf(stderr, "fixture_api: %s: top-level value is not a JSON array\n", path);
        goto out;
    }

    n = (size_t)cJSON_GetArraySize(root);
    ep->name = strndup(file, strlen(file) - strlen(".json"));
    ep->items = calloc(n ? n : 1, sizeof(*ep->items));
    ep->item_len = calloc(n ? n : 1, sizeof(*ep->item_len));
    if (!ep->name || !ep->items || !ep->item_len)
        goto oom;

    cJSON_ArrayForEach(el, root)
    {
        char *s = cJSON_PrintUnformatted(el);
        if (!s)
            goto oom;
        ep->items[ep->count] = s;
        ep->item_len[ep->count] = strlen(s);
        whole_len += ep->item_len[ep->count] + (ep->count ? 1 : 0);
        ep->count++;
    }
    ep->whole = malloc(whole_len + 1);
    if (!ep->whole)
        goto oom;
    ep->whole[pos++] = '[';
    for (size_t i = 0; i < ep->count; i++) {
        if (i)
            ep->whole[pos++] = ',';
        memcpy(ep->whole + pos, ep->items[i], ep->item_len[i]);
        pos += ep->item_len[i];
    }
    ep->whole[pos++] = ']';
    ep->whole[pos] = '\0';
    ep->whole_len = pos;
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "fixture_api: %s: out of memory\n", path);
out:
    cJSON_Delete(root);
    free(text);
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

/* --------------------------------------------------------------- requests */

static void reply_static(struct reply *r, unsigned int status, const char *type, const char *body)
{
    r->status = status;
    r->content_type = type;
    r->body = body;
    r->len = strlen(body);
    r->owned = NULL;
}

/* {"error":error, <key>:value} — value may be any text (escaped by cJSON). */
static int reply_error(struct reply *r, unsigned int status, const char *error, const char *key,
                       const char *value)
{
    cJSON *o = cJSON_CreateObject();
    char *s = NULL;
    if (o && cJSON_AddStringToObject(o, "error", error) &&
        (!key || cJSON_AddStringToObject(o, key, value)))
        s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return -1;
    /* copy into malloc'd memory: send_reply frees owned bodies with free() */
    r->len = strlen(s);
    r->owned = malloc(r->len + 1);
    if (r->owned)
        memcpy(r->owned, s, r->len + 1);
    cJSON_free(s);
    if (!r->owned)
        return -1;
    r->body = r->owned;
    r->status = status;
    r->content_type = json_type;
    return 0;
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

/* Builds the JSON array of ep's elements [first, first + count). */
static int reply_slice(struct reply *r, const struct endpoint *ep, size_t first, size_t count)
{
    size_t len = 2;
    for (size_t i = 0; i < count; i++)
        len += ep->item_len[first + i] + (i ? 1 : 0);
    char *body = malloc(len + 1);
    if (!body)
        return -1;
    size_t pos = 0;
    body[pos++] = '[';
    for (size_t i = 0; i < count; i++) {
        if (i)
            body[pos++] = ',';
        memcpy(body + pos, ep->items[first + i], ep->item_len[first + i]);
        pos += ep->item_len[first + i];
    }
    body[pos++] = ']';
    body[pos] = '\0';
    r->status = MHD_HTTP_OK;
    r->content_type = json_type;
    r->body = body;
    r->len = pos;
    r->owned = body;
    return 0;
}

/* Decides the reply to one request; the whole routing contract lives here.
 * Returns 0, or -1 when out of memory (the connection is then dropped). */
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
    if (!has_page && !has_limit) {
        reply_static(r, MHD_HTTP_OK, json_type, ep->whole);
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

    /* both <= 2^31-1, so the product fits in 64 bits */
    uint64_t first = (uint64_t)(page - 1) * (uint64_t)limit;
    size_t count = 0;
    if (first < ep->count) {
        uint64_t left = ep->count - first;
        count = (size_t)(left < limit ? left : limit);
    }
    return reply_slice(r, ep, count ? (size_t)first : 0, count);
}

static void free_body(void *body)
{
    free(body);
}

/* Queues r on conn; takes ownership of r->owned. */
static mhd_result send_reply(struct MHD_Connection *conn, struct reply *r)
{
    struct MHD_Response *resp;
    if (r->owned)
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
        (r->allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow) != MHD_YES)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    mhd_result rc = MHD_queue_response(conn, r->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static mhd_result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *upload_data,
                             size_t *upload_data_size, void **req_cls)
{
    static int seen; /* marks that the headers of this request were seen */
    (void)version;
    (void)upload_data;

    if (*req_cls == NULL) { /* first call: headers only */
        *req_cls = &seen;
        return MHD_YES;
    }
    if (*upload_data_size != 0) { /* a body we do not use: discard it */
        *upload_data_size = 0;
        return MHD_YES;
    }
    struct reply r;
    if (handle_request(cls, conn, method, url, &r) < 0)
        return MHD_NO;
    return send_reply(conn, &r);
}

/* ------------------------------------------------------------------- main */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: fixture_api --data DIR [--port N] [--bind ADDR] [--prefix PATH]\n"
            "                   [--port-file FILE]\n"
            "Serves DIR/<name>.json (a JSON array) at GET <prefix>/<name>[?page=N&limit=M].\n"
            "Defaults: --bind 127.0.0.1 --port %d --prefix %s; --port 0 picks a free port.\n",
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
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL, *bind_addr = "127.0.0.1", *prefix = DEFAULT_PREFIX;
    const char *port_file = NULL;
    unsigned long port = DEFAULT_PORT;
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
    if (!data_dir) {
        fprintf(stderr, "fixture_api: --data DIR is required\n");
        usage(stderr);
        return 2;
    }
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
    memset(&srv, 0, sizeof(srv));
    srv.prefix = strdup(prefix);
    if (!srv.prefix) {
        fprintf(stderr, "fixture_api: out of memory\n");
        return 1;
    }
    srv.prefix_len = strlen(srv.prefix);
    while (srv.prefix_len > 0 && srv.prefix[srv.prefix_len - 1] == '/')
        srv.prefix[--srv.prefix_len] = '\0';
    if (server_load(&srv, data_dir) < 0) {
        server_release(&srv);
        return 2;
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
                         sa, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_END);
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
    return exit_code;
}
