#include "source.h"

#include <stdlib.h>

#include "error.h"
#include "banned.h"

struct source {
    const struct source_ops *ops;
    void *impl;
};

int source_wrap(const struct source_ops *ops, void *impl, struct source **out)
{
    struct source *s = calloc(1, sizeof(*s));
    *out = NULL;
    if (!s) {
        ops->close(impl);
        return err_set(ML_ENOMEM, "out of memory");
    }
    s->ops = ops;
    s->impl = impl;
    *out = s;
    return 0;
}

int source_open(const struct config *cfg, const struct config_stream *st, struct source **out)
{
    const struct config_source *src = config_find_source(cfg, st->source);
    *out = NULL;
    if (!src)
        return err_set(ML_ECONFIG, "stream '%s': unknown source '%s'", st->name, st->source);
    switch (src->kind) {
    case SOURCE_HTTP:
        return source_http_open(src, st->path, out);
    case SOURCE_SQS:
    case SOURCE_FILE:
        break;
    }
    return err_set(ML_ECONFIG, "stream '%s': source '%s' is of a kind this version cannot read",
                   st->name, src->name);
}

int source_next_page(struct source *s, struct source_page *pg)
{
    pg->doc = NULL;
    pg->ref = NULL;
    return s->ops->next_page(s->impl, pg);
}

void source_page_release(struct source_page *pg)
{
    json_free(pg->doc);
    pg->doc = NULL;
}

int source_committed(struct source *s)
{
    return s->ops->committed ? s->ops->committed(s->impl) : 0;
}

unsigned long source_pages(const struct source *s)
{
    return s->ops->pages(s->impl);
}

void source_close(struct source *s)
{
    if (!s)
        return;
    s->ops->close(s->impl);
    free(s);
}
