/* source.h - where records come from: one interface over every source kind.
 *
 * A source hands out pages of records (json_page), in order: a page whose
 * array structure is intact is handed out even when some of its records are
 * bad inside; each record is parsed on its own by the loader
 * (json_page_parse_record), so one bad record is one reject. The loader
 * maps them into batches and, after each batch commits, calls
 * source_committed(): every record handed out before that call is then
 * safely in the warehouse (a queue source deletes those messages; a
 * paginated API has nothing to do). The loader only commits at page
 * boundaries, so a page is never split across two transactions.
 */
#ifndef ML_SOURCE_H
#define ML_SOURCE_H

#include "config.h"
#include "json.h"

struct source;

struct source_page {
    json_page *records; /* owned by the page */
    const char *ref;    /* where it came from, e.g. the page URL; valid until the next call.
                           With line numbers (json_page_line, JSON Lines files) a record's
                           position is "<ref>:<line>", else "<ref>#<index>". */
};

/* The operations of one source kind. */
struct source_ops {
    int (*next_page)(void *impl, struct source_page *pg); /* 1 page, 0 exhausted, <0 error */
    int (*committed)(void *impl);                         /* may be NULL */
    int (*record_outcome)(void *impl, size_t index, bool rejected); /* may be NULL */
    unsigned long (*pages)(const void *impl);
    void (*close)(void *impl);
    /* how far the source is, 0..1, or negative when it cannot tell; may be
     * NULL (cannot tell). May be called from another thread than next_page's. */
    double (*fraction)(const void *impl);
};

/* Opens the source of stream `st` (its kind decides the implementation). */
int source_open(const struct config *cfg, const struct config_stream *st, struct source **out);

/* source_open, asking for the records changed since a cursor (an
 * incremental stream, streamdef.h): every page request of the http source
 * carries `param=value` (both URL-encoded) beside the stream's path and the
 * source's params. Other kinds: ML_ECONFIG (the config refuses them). */
int source_open_since(const struct config *cfg, const struct config_stream *st, const char *param,
                      const char *value, struct source **out);

/* Wraps an implementation; used by the kind-specific open functions. */
int source_wrap(const struct source_ops *ops, void *impl, struct source **out);

/* Next page: 1 with pg filled (release with source_page_release), 0 when
 * the source is exhausted, negative on failure (err_msg names the source). */
int source_next_page(struct source *s, struct source_page *pg);
void source_page_release(struct source_page *pg);

/* The loader's verdict on record `index` of the page last handed out:
 * loaded (or superseded) or rejected. Reported for every record, before the
 * batch holding it commits; a source that acknowledges (a queue) decides
 * from it what committed() acknowledges. 0 or an error. */
int source_record_outcome(struct source *s, size_t index, bool rejected);

/* Everything handed out so far is committed. 0 or an error (the records are
 * committed; a failure here means they may be delivered again). */
int source_committed(struct source *s);
/* True when committed() acknowledges to the source (a queue deletes what was
 * read since its last call): the loader then writes its batches in line,
 * acknowledging each right after its commit. */
bool source_acknowledges(const struct source *s);

unsigned long source_pages(const struct source *s);
/* How far the source is, 0..1 (a file: bytes read of its size), or
 * negative when it cannot tell. */
double source_fraction(const struct source *s);
void source_close(struct source *s);

/* `maskload doctor`: whether the source of stream `st` answers, changing
 * nothing. An http or file source reads its first page, with no retries
 * (*records: the records on it); a queue answers GetQueueAttributes
 * (*records: its approximate number of messages; nothing is received).
 * 0, or the error (err_msg names the source). */
int source_probe(const struct config *cfg, const struct config_stream *st,
                 unsigned long long *records);

/* Kind-specific constructors. */
int source_http_open(const struct config_source *src, const char *path, struct source **out);
int source_file_open(const struct config_source *src, struct source **out);
/* An SQS queue (source_sqs.c): a page is one ReceiveMessage result. */
int source_sqs_probe(const struct config_source *src, unsigned long long *approx);
int source_sqs_open(const struct config *cfg, const struct config_source *src,
                    const struct config_stream *st, struct source **out);

#endif
