/* source.h - paginated JSON API source (`kind: http`).
 *
 * Walks `<base_url><path>?page=N&limit=M` from page 1 until a page is an
 * empty array (the seed API's contract). Every page must be a JSON array of
 * at most `limit` elements; anything else fails with a message naming the
 * URL. `max_pages` bounds the walk.
 */
#ifndef ML_SOURCE_H
#define ML_SOURCE_H

#include "config.h"
#include "json.h"

struct page_source;

int source_open(const struct config_source *src, const char *path, struct page_source **out);
void source_close(struct page_source *ps);

/* Fetches the next page: 1 with *doc (owned by the caller; its root is an
 * array) and *url (valid until the next call), 0 when the source is
 * exhausted, negative on failure. */
int source_next_page(struct page_source *ps, json_doc **doc, const char **url);

unsigned long source_pages(const struct page_source *ps);

#endif
