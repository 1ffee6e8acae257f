/* fuzz_mapping.c - libFuzzer target: the record mapper on arbitrary JSON.
 *
 * The input is parsed with json_parse(); whatever it is (object or not) is
 * mapped by every built-in stream mapping. A record must become rows or a
 * reject, never an error or a crash; batch invariants hold (records =
 * accepted + rejects + duplicates, cells inside the arena); json_print of the
 * record parses back.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_doc *doc = NULL;
    if (json_parse((const char *)data, size, &doc))
        return 0;
    fuzz_map_all(json_root(doc));
    fuzz_roundtrip(json_root(doc));
    json_free(doc);
    return 0;
}
