/* source_http.c - paginated JSON API source (`kind: http`).
 *
 * Walks `<base_url><path>?page=N&limit=M` from page 1 until a page is an
 * empty array (the seed API's contract). Every page must be a JSON array of
 * at most `limit` elements; anything else fails with a message naming the
 * URL. `max_pages` bounds the walk.
 */
#include "source.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "banned.h"

struct http_source {
    struct http_client *http;
    struct buf base; /* base_url + path */
    struct buf url;  /* current page URL */
    unsigned page_size;
    unsigned max_pages;
    unsigned long page; /* pages fetched so far */
    bool done;
};

static int http_next_page(void *impl, struct source_page *pg);
static unsigned long http_pages(const void *impl);
static void http_close(void *impl);

static const struct source_ops http_ops = {http_next_page, NULL, http_pages, http_close};

int source_http_open(const struct config_source *src, const char *path, struct source **out)
{
    struct http_source *ps;
    struct http_options opt = {0};
    int rc;
    *out = NULL;
    if (src->kind != SOURCE_HTTP)
        return err_set(ML_ECONFIG, "source '%s': only kind http is supported for this stream",
                       src->name);
    ps = calloc(1, sizeof(*ps));
    if (!ps)
        return err_set(ML_ENOMEM, "out of memory");
    buf_init(&ps->base, 0);
    buf_init(&ps->url, 0);
    ps->page_size = src->page_size ? src->page_size : 100;
    ps->max_pages = src->max_pages ? src->max_pages : 1000000;
    opt.connect_timeout_s = src->connect_timeout_s;
    opt.timeout_s = src->timeout_s;
    opt.ca_file = src->ca_file;
    rc = http_client_new(&opt, &ps->http);
    if (!rc) {
        /* join base and path with exactly one '/' */
        size_t bl = strlen(src->base_url);
        while (bl && src->base_url[bl - 1] == '/')
            bl--;
        rc = buf_add(&ps->base, src->base_url, bl);
        if (!rc && path && *path)
            rc = buf_addf(&ps->base, "%s%s", path[0] == '/' ? "" : "/", path);
    }
    if (rc) {
        http_close(ps);
        return rc;
    }
    return source_wrap(&http_ops, ps, out);
}

static void http_close(void *impl)
{
    struct http_source *ps = impl;
    if (!ps)
        return;
    http_client_free(ps->http);
    buf_release(&ps->base);
    buf_release(&ps->url);
    free(ps);
}

static unsigned long http_pages(const void *impl)
{
    return ((const struct http_source *)impl)->page;
}

static int http_next_page(void *impl, struct source_page *pg)
{
    struct http_source *ps = impl;
    json_doc **doc = &pg->doc;
    const char **url = &pg->ref;
    struct http_response resp;
    json_doc *d = NULL;
    int rc;
    size_t n;

    *doc = NULL;
    *url = NULL;
    if (ps->done)
        return 0;
    if (ps->page >= ps->max_pages)
        return err_set(ML_EHTTP, "'%s': more than %u pages (sources.*.max_pages); stopping",
                       ps->base.data, ps->max_pages);
    buf_reset(&ps->url);
    rc = buf_addf(&ps->url, "%s%cpage=%lu&limit=%u", ps->base.data,
                  strchr(ps->base.data, '?') ? '&' : '?', ps->page + 1, ps->page_size);
    if (rc)
        return rc;
    *url = ps->url.data;

    rc = http_get(ps->http, ps->url.data, &resp);
    if (rc) {
        http_response_release(&resp);
        return rc;
    }
    if (resp.status != 200) {
        rc = err_set(ML_EHTTP, "GET '%s': HTTP status %ld", ps->url.data, resp.status);
        http_response_release(&resp);
        return rc;
    }
    rc = json_parse(resp.body.data, resp.body.len, &d);
    http_response_release(&resp);
    if (rc)
        return err_prefix(rc, "GET '%s' (page %lu)", ps->url.data, ps->page + 1);
    if (json_type(json_root(d)) != JSON_ARRAY) {
        rc = err_set(ML_EJSON, "GET '%s' (page %lu): expected a JSON array, got %s", ps->url.data,
                     ps->page + 1, json_type_name(json_type(json_root(d))));
        json_free(d);
        return rc;
    }
    n = json_array_size(json_root(d));
    if (n > ps->page_size) {
        json_free(d);
        return err_set(ML_EHTTP,
                       "GET '%s': page has %zu records, more than the limit %u asked for "
                       "(the API does not paginate with page/limit)",
                       ps->url.data, n, ps->page_size);
    }
    ps->page++;
    if (n == 0) {
        ps->done = true;
        json_free(d);
        return 0;
    }
    log_debug("fetched '%s': %zu records", ps->url.data, n);
    *doc = d;
    return 1;
}
