/* gen_records.h - the benchmark's records, each derived from (seed, index).
 *
 * Every user and every message is a pure function of the data set's seed,
 * its sizes and the record's 1-based index: its random draws come from a
 * generator seeded with (seed, kind, index) alone, so any record can be made
 * on its own, in any order, without the ones before it. bench_gen writes
 * them to files (bench/gen.c); the fixture API's generator mode makes each
 * page from them on request (tests/fixture_api.c --generate); both spell a
 * record with the same bytes.
 *
 * Distributions: cities (2,000), zip codes (30,000) and professions (300)
 * Zipf-skewed (s = 1.1); 0-3 subscriptions per user; about 1% of users
 * (missing id, unparseable date, a bad subscription amount) and 0.5% of
 * messages (unparseable date) are invalid and must land in load_rejects;
 * message senders and receivers are uniform over the users.
 */
#ifndef ML_BENCH_GEN_RECORDS_H
#define ML_BENCH_GEN_RECORDS_H

#include <stddef.h>

/* The longest record gen_user or gen_message writes, with its NUL. */
#define GEN_RECORD_MAX 2048

struct gen_zipf {
    double *cdf;
    unsigned n;
};

/* One data set: its sizes, its seed and the Zipf tables (read-only after
 * gen_init, so threads may share it). */
struct gen_set {
    unsigned long users, messages;
    unsigned long long seed;
    struct gen_zipf city, zip, profession;
};

/* Prepares a data set of `users` users and `messages` messages. Returns 0, or
 * -1 when out of memory (nothing to release then). */
int gen_init(struct gen_set *g, unsigned long users, unsigned long messages,
             unsigned long long seed);
void gen_release(struct gen_set *g);

/* Writes user u (1 <= u <= g->users) as one JSON object into out (cap >=
 * GEN_RECORD_MAX), NUL-terminated; returns its length. *subs is set to the
 * number of subscription rows a correct load keeps of it, or -1 when the
 * record is invalid (a reject). */
size_t gen_user(const struct gen_set *g, unsigned long u, char *out, size_t cap, int *subs);

/* Writes message m (1 <= m <= g->messages) likewise; *valid is 1, or 0 when
 * a correct load rejects it. */
size_t gen_message(const struct gen_set *g, unsigned long m, char *out, size_t cap, int *valid);

#endif
