/* json_speed.c - the json module alone: parse speed and memory on bench data.
 *
 *   bench_json_speed FILE --big-mb 0 [--page-records N] [--reps R]   (speed)
 *   bench_json_speed FILE [--big-mb M]                                (memory)
 *
 * FILE is a file the generator wrote (bench_gen: a JSON array, one record
 * per line). One measurement per run, printed as one line:
 * - speed (--big-mb 0): the records are grouped into pages of N (default 1000) records,
 *   as the fixture API serves them; each page is split (json_page_set_array)
 *   and every record parsed into one reused document (json_page_parse_record)
 *   and walked, R times (default 3). MB/s of page text, CPU time.
 * - memory (with --big-mb M, default 200; 0 skips it): one page of M MB made
 *   of the file's first records repeated, split and parsed the same way;
 *   the process's peak RSS (getrusage) against the page's size. Run it in a
 *   process of its own: the speed run's memory would count too.
 * Exit 0, or 1 on any failure (a record that does not parse is a failure:
 * the generator writes valid JSON).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "buf.h"
#include "error.h"
#include "json.h"
#include "banned.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Visits every node (so that nothing the loader would read is skipped). */
static size_t walk(const json_node *n)
{
    size_t count = 1, len;
    if (json_type(n) == JSON_STRING)
        (void)json_string_len(n, &len);
    for (const json_node *m = json_child(n); m; m = json_next(m))
        count += walk(m);
    return count;
}

/* Splits `page` (consumed) and parses every record; adds to *nodes. */
static int parse_page(json_page *pg, json_doc *doc, struct buf *page, size_t *nodes)
{
    int rc = json_page_set_array(pg, page);
    if (rc)
        return rc;
    for (size_t i = 0; i < json_page_count(pg); i++) {
        rc = json_page_parse_record(pg, i, doc);
        if (rc)
            return rc;
        *nodes += walk(json_root(doc));
    }
    return 0;
}

/* The records of the file: one per line between "[" and "]" lines. */
struct records {
    char *text; /* whole file */
    size_t *off, *len, n;
};

static int read_records(const char *path, struct records *r)
{
    FILE *f = fopen(path, "rb");
    struct buf all = BUF_INIT;
    char chunk[1 << 16];
    size_t got, cap = 0;
    if (!f)
        return err_set(ML_EIO, "cannot open '%s'", path);
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (buf_add(&all, chunk, got)) {
            fclose(f);
            return ML_ENOMEM;
        }
    fclose(f);
    r->text = buf_detach(&all, NULL);
    r->n = 0;
    r->off = r->len = NULL;
    for (char *p = r->text; p && *p;) {
        char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        size_t k = l;
        while (k && (p[k - 1] == ',' || p[k - 1] == '\r'))
            k--;
        if (k > 1 && p[0] == '{') {
            if (r->n == cap) {
                cap = cap ? cap * 2 : 1024;
                r->off = realloc(r->off, cap * sizeof(size_t));
                r->len = realloc(r->len, cap * sizeof(size_t));
                if (!r->off || !r->len)
                    return ML_ENOMEM;
            }
            r->off[r->n] = (size_t)(p - r->text);
            r->len[r->n++] = k;
        }
        p = nl ? nl + 1 : NULL;
    }
    return r->n ? 0 : err_set(ML_EINVAL, "'%s' holds no records", path);
}

/* Appends records [first, first + n) as one JSON array. */
static int build_page(const struct records *r, size_t first, size_t n, struct buf *out)
{
    int rc = buf_addc(out, '[');
    for (size_t i = 0; !rc && i < n; i++) {
        size_t k = (first + i) % r->n;
        if (i)
            rc = buf_addc(out, ',');
        if (!rc)
            rc = buf_add(out, r->text + r->off[k], r->len[k]);
    }
    return rc ? rc : buf_addc(out, ']');
}

int main(int argc, char **argv)
{
    size_t per_page = 1000, big_mb = 200;
    unsigned reps = 3;
    struct records r;
    if (argc < 2) {
        fprintf(stderr,
                "usage: bench_json_speed FILE [--page-records N] [--reps R] [--big-mb M]\n");
        return 2;
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--page-records") == 0)
            per_page = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--big-mb") == 0)
            big_mb = strtoul(argv[i + 1], NULL, 10);
    }
    if (per_page == 0 || reps == 0) {
        fprintf(stderr, "bench_json_speed: --page-records and --reps must be positive\n");
        return 2;
    }
    if (read_records(argv[1], &r)) {
        fprintf(stderr, "bench_json_speed: %s\n", err_msg());
        return 1;
    }
    json_page *pg = json_page_new();
    json_doc *doc = json_doc_new();
    struct buf page = BUF_INIT;
    size_t nodes = 0, bytes = 0;
    if (!pg || !doc)
        return 1;

    if (big_mb == 0) { /* speed */
        /* pages built beforehand, so that only parsing is timed */
        size_t npages = (r.n + per_page - 1) / per_page;
        struct buf *pages = calloc(npages, sizeof(*pages));
        for (size_t p = 0; p < npages; p++) {
            size_t n = r.n - p * per_page < per_page ? r.n - p * per_page : per_page;
            if (!pages || build_page(&r, p * per_page, n, &pages[p]))
                return 1;
        }
        double parse_s = 0;
        for (unsigned k = 0; k < reps; k++)
            for (size_t p = 0; p < npages; p++) {
                /* the page is consumed by the split: a fresh copy each
                 * time, made outside the timed part */
                struct buf copy = BUF_INIT;
                if (buf_add(&copy, pages[p].data, pages[p].len))
                    return 1;
                bytes += copy.len;
                double t0 = now_s();
                if (parse_page(pg, doc, &copy, &nodes)) {
                    fprintf(stderr, "bench_json_speed: page %zu: %s\n", p, err_msg());
                    return 1;
                }
                parse_s += now_s() - t0;
                buf_release(&copy);
            }
        printf("speed: %zu records in pages of %zu, %.1f MB x %u: %.0f MB/s (split + parse "
               "every record + walk every node), %zu nodes\n",
               r.n, per_page, (double)bytes / reps / 1e6, reps, (double)bytes / 1e6 / parse_s,
               nodes);
        return 0;
    }

    /* memory: one page of big_mb MB */
    size_t want = big_mb << 20, n = 0;
    if (buf_addc(&page, '['))
        return 1;
    while (page.len < want) {
        size_t k = n++ % r.n;
        if ((n > 1 && buf_addc(&page, ',')) || buf_add(&page, r.text + r.off[k], r.len[k]))
            return 1;
    }
    if (buf_addc(&page, ']'))
        return 1;
    free(r.text); /* only the page stays */
    r.text = NULL;
    size_t page_bytes = page.len;
    double t0 = now_s();
    if (parse_page(pg, doc, &page, &nodes)) {
        fprintf(stderr, "bench_json_speed: big page: %s\n", err_msg());
        return 1;
    }
    double wall = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss = (double)ru.ru_maxrss * 1024.0;
    printf("memory: one page of %.1f MB (%zu records): parsed in %.2f s (%.0f MB/s); peak RSS "
           "%.1f MB = %.2fx the page\n",
           (double)page_bytes / 1e6, n, wall, (double)page_bytes / 1e6 / wall, rss / 1e6,
           rss / (double)page_bytes);
    json_page_free(pg);
    json_free(doc);
    return 0;
}
