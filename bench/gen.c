/* gen.c - seedable benchmark data in the shape of the seed API.
 *
 *   bench_gen --users N --messages M [--seed S] --out DIR [--expected-only]
 *
 * Writes DIR/users.json and DIR/messages.json (JSON arrays the fixture API
 * serves, one record a line) and DIR/expected.env with the rows a correct
 * load produces. With --expected-only it writes expected.env alone: the
 * fixture API's generator mode (fixture_api --generate) then serves the same
 * records without any file. The records are those of gen_records.h, each a
 * function of (seed, index): same seed and sizes, same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_records.h"

static int write_array(const char *path, const struct gen_set *g, int users, unsigned long *valid,
                       unsigned long *subs)
{
    static char buf[1 << 20];
    char rec[GEN_RECORD_MAX];
    unsigned long n = users ? g->users : g->messages;
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    setvbuf(f, buf, _IOFBF, sizeof(buf));
    fputs("[\n", f);
    for (unsigned long i = 1; i <= n; i++) {
        int k;
        size_t len =
            users ? gen_user(g, i, rec, sizeof(rec), &k) : gen_message(g, i, rec, sizeof(rec), &k);
        if (i > 1)
            fputs(",\n", f);
        fwrite(rec, 1, len, f);
        if (users && k >= 0) {
            (*valid)++;
            *subs += (unsigned long)k;
        } else if (!users && k)
            (*valid)++;
    }
    fputs("\n]\n", f);
    if (fclose(f)) {
        perror(path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long users = 0, messages = 0;
    unsigned long long seed = 1;
    const char *dir = NULL;
    int expected_only = 0;
    char path[4096], rec[GEN_RECORD_MAX];
    struct gen_set g;
    unsigned long valid_users = 0, subs = 0, valid_messages = 0;
    FILE *f;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--expected-only"))
            expected_only = 1;
        else if (i + 1 < argc && !strcmp(argv[i], "--users"))
            users = strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(argv[i], "--messages"))
            messages = strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(argv[i], "--seed"))
            seed = strtoull(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(argv[i], "--out"))
            dir = argv[++i];
        else {
            dir = NULL; /* unknown argument: usage */
            break;
        }
    }
    if (!dir || !users) {
        fprintf(stderr,
                "usage: bench_gen --users N --messages M [--seed S] --out DIR [--expected-only]\n");
        return 2;
    }
    if (gen_init(&g, users, messages, seed) < 0) {
        fprintf(stderr, "bench_gen: out of memory\n");
        return 1;
    }
    if (expected_only) {
        for (unsigned long u = 1; u <= users; u++) {
            int k;
            gen_user(&g, u, rec, sizeof(rec), &k);
            if (k >= 0) {
                valid_users++;
                subs += (unsigned long)k;
            }
        }
        for (unsigned long m = 1; m <= messages; m++) {
            int k;
            gen_message(&g, m, rec, sizeof(rec), &k);
            valid_messages += (unsigned long)k;
        }
    } else {
        snprintf(path, sizeof(path), "%s/users.json", dir);
        if (write_array(path, &g, 1, &valid_users, &subs) < 0)
            return 1;
        snprintf(path, sizeof(path), "%s/messages.json", dir);
        if (write_array(path, &g, 0, &valid_messages, &subs) < 0)
            return 1;
    }
    gen_release(&g);

    snprintf(path, sizeof(path), "%s/expected.env", dir);
    f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    fprintf(f, "GEN_USERS=%lu\nGEN_MESSAGES=%lu\nGEN_SEED=%llu\n", users, messages, seed);
    fprintf(f, "EXPECT_USERS=%lu\nEXPECT_SUBSCRIPTIONS=%lu\nEXPECT_MESSAGES=%lu\n", valid_users,
            subs, valid_messages);
    if (fclose(f)) {
        perror(path);
        return 1;
    }
    return 0;
}
