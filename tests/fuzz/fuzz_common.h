/* fuzz_common.h - shared by the mapping and page fuzz targets: maps one
 * record with every built-in stream mapping, then exercises what the loader
 * does with a batch (compaction, reject texts, payload printing). */
#ifndef ML_FUZZ_COMMON_H
#define ML_FUZZ_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "json.h"
#include "mapping.h"

static const char *const fuzz_mappings[] = {"users", "messages", "user_logins"};
#define FUZZ_NMAPPINGS (sizeof(fuzz_mappings) / sizeof(fuzz_mappings[0]))

/* Checks the invariants of a batch after mapping; aborts on a violation. */
static void fuzz_check_batch(struct batch *b)
{
    struct batch_counts n = batch_counts(b);
    if (n.records != n.accepted + n.rejected + n.duplicates)
        abort();
    for (size_t i = 0; i < n.rejected; i++) {
        const struct reject *r = batch_reject(b, i);
        if (!batch_rej_text(b, r->reason) || !batch_rej_text(b, r->payload) ||
            !batch_rej_text(b, r->source_ref))
            abort();
    }
    if (batch_compact(b))
        abort();
    size_t arena_len = batch_memory(b).arena_len;
    if (batch_rows(b, BATCH_MAIN)->nrows != n.accepted)
        abort();
    /* every table's cells inside the arena; each child: one count per main
     * row, the counts adding up to its rows */
    for (unsigned t = 0; t < batch_ntables(b); t++) {
        struct table_rows *rows = batch_rows(b, t);
        for (size_t r = 0; r < rows->nrows; r++)
            for (unsigned c = 0; c < rows->def->ncols; c++) {
                const struct cell *cl = batch_cell(rows, r, c);
                if ((cl->kind == CELL_TEXT || cl->kind == CELL_PENDING) &&
                    cl->off + cl->len > arena_len)
                    abort();
            }
        if (t == BATCH_MAIN)
            continue;
        size_t ncounts, sum = 0;
        const struct child_count *cc = batch_children(b, t - 1, &ncounts);
        if (ncounts != n.accepted)
            abort();
        for (size_t i = 0; i < ncounts; i++)
            sum += cc[i].count;
        if (sum != rows->nrows)
            abort();
    }
    struct buf names = BUF_INIT;
    if (batch_unknown_names(b, &names))
        abort();
    buf_release(&names);
}

/* Maps `rec` (any JSON node) with every built-in mapping. */
static void fuzz_map_all(const json_node *rec)
{
    struct map_options opt = {BIRTH_DATE_DATE};
    for (size_t m = 0; m < FUZZ_NMAPPINGS; m++) {
        const struct stream_def *def = mapping_find(fuzz_mappings[m]);
        struct batch *b;
        if (!def)
            continue;
        b = batch_new(def);
        if (!b)
            abort();
        /* twice: the second time every key is a duplicate */
        for (int k = 0; k < 2; k++) {
            int rc = mapping_map_record(b, rec, &opt, "fuzz#0");
            if (rc && rc != ML_ENOMEM)
                abort(); /* bad input is a reject, never an error */
        }
        fuzz_check_batch(b);
        batch_free(b);
    }
}

/* json_print, reparse, print again: the texts must agree. */
static void fuzz_roundtrip(const json_node *n)
{
    struct buf a = BUF_INIT, c = BUF_INIT;
    json_doc *back = NULL;
    if (json_print(n, &a))
        abort();
    if (json_parse(a.data, a.len, &back))
        abort(); /* what we print must parse */
    if (json_print(json_root(back), &c))
        abort();
    if (a.len != c.len || memcmp(a.data, c.data, a.len) != 0)
        abort();
    json_free(back);
    buf_release(&a);
    buf_release(&c);
}

#endif
