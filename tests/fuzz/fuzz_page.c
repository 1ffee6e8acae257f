/* fuzz_page.c - libFuzzer target: an API page as the http source receives it.
 *
 * json_page_set_array() of the body (the structure check of
 * loader/source_http.c), then every record parsed on its own into one reused
 * document and mapped by every built-in mapping in ONE batch per mapping, as
 * load.c does with a page: a record that is not JSON is rejected through
 * mapping_reject_unparsed, never an error. Invariants: records = accepted +
 * rejects + duplicates, and nothing but ML_ERECORD comes out of a record.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "banned.h"

#define PAGE_LIMIT 100

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct map_options opt = {BIRTH_DATE_YEAR};
    struct buf body = BUF_INIT;
    json_page *pg = json_page_new();
    json_doc *doc = json_doc_new();
    if (!pg || !doc || buf_add(&body, data, size))
        abort();
    if (json_page_set_array(pg, &body) || json_page_count(pg) > PAGE_LIMIT)
        goto out; /* the source retries, then fails the run with a message */
    if (body.len != 0)
        abort(); /* the page took the text */
    for (size_t m = 0; m < FUZZ_NMAPPINGS; m++) {
        const struct stream_def *def = mapping_find(fuzz_mappings[m]);
        struct batch *b;
        size_t n = json_page_count(pg);
        if (!def)
            continue;
        b = batch_new(def);
        if (!b)
            abort();
        for (size_t i = 0; i < n; i++) {
            int rc = json_page_parse_record(pg, i, doc);
            if (rc == ML_ERECORD)
                rc = mapping_reject_unparsed(b, err_msg(), "fuzz-page", i, 0);
            else if (rc == 0)
                rc = mapping_map_record_at(b, json_root(doc), &opt, "fuzz-page", i, 0);
            else if (rc != ML_ENOMEM)
                abort();
            if (rc && rc != ML_ENOMEM)
                abort();
            if (rc == 0 && m == 0 && json_root(doc))
                fuzz_roundtrip(json_root(doc));
        }
        if (batch_counts(b).records != n)
            abort();
        fuzz_check_batch(b);
        batch_free(b);
    }
out:
    buf_release(&body);
    json_free(doc);
    json_page_free(pg);
    return 0;
}
