/* fuzz_page.c - libFuzzer target: an API page as the http source receives it.
 *
 * json_parse() of the body, then the page checks of loader/source_http.c
 * (a JSON array of at most `limit` elements; those checks are not a function
 * of their own, so they are repeated here), then every element through every
 * built-in mapping in ONE batch per mapping, as load.c does with a page.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "banned.h"

#define PAGE_LIMIT 100

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_doc *doc = NULL;
    struct map_options opt = {BIRTH_DATE_YEAR};
    if (json_parse((const char *)data, size, &doc))
        return 0;
    const json_node *root = json_root(doc);
    if (json_type(root) != JSON_ARRAY || json_array_size(root) > PAGE_LIMIT) {
        json_free(doc);
        return 0; /* the source fails the run with a message */
    }
    for (size_t m = 0; m < FUZZ_NMAPPINGS; m++) {
        const struct stream_def *def = mapping_find(fuzz_mappings[m]);
        struct batch b;
        size_t n = 0;
        if (!def)
            continue;
        batch_init(&b, def);
        for (const json_node *rec = json_child(root); rec; rec = json_next(rec), n++) {
            int rc = mapping_map_record(&b, rec, &opt, "fuzz-page#n");
            if (rc && rc != ML_ENOMEM)
                abort();
        }
        if (b.records != n)
            abort();
        fuzz_check_batch(&b);
        batch_release(&b);
    }
    fuzz_roundtrip(root);
    json_free(doc);
    return 0;
}
