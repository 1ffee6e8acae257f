/* gen_records.c - the benchmark's records from (seed, index); see gen_records.h. */
#include "gen_records.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

/* A record's own random stream (splitmix64), seeded from (seed, kind, index). */
struct rng {
    unsigned long long s;
};

static unsigned long long rnd(struct rng *r)
{
    unsigned long long z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned below(struct rng *r, unsigned n)
{
    return (unsigned)(rnd(r) % n);
}

static void rng_for(struct rng *r, const struct gen_set *g, unsigned kind, unsigned long index)
{
    r->s = g->seed * 0xD1B54A32D192ED03ull + kind;
    r->s = rnd(r) ^ ((unsigned long long)index * 0xA0761D6478BD642Full);
    (void)rnd(r);
}

static int zipf_init(struct gen_zipf *z, unsigned n, double s)
{
    double sum = 0;
    z->n = n;
    z->cdf = malloc(n * sizeof(double));
    if (!z->cdf)
        return -1;
    for (unsigned k = 0; k < n; k++) {
        sum += 1.0 / pow(k + 1, s);
        z->cdf[k] = sum;
    }
    for (unsigned k = 0; k < n; k++)
        z->cdf[k] /= sum;
    return 0;
}

static unsigned zipf_draw(const struct gen_zipf *z, struct rng *r)
{
    double u = (double)(rnd(r) >> 11) / 9007199254740992.0;
    unsigned lo = 0, hi = z->n - 1;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (z->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int gen_init(struct gen_set *g, unsigned long users, unsigned long messages,
             unsigned long long seed)
{
    memset(g, 0, sizeof(*g));
    g->users = users;
    g->messages = messages;
    g->seed = seed;
    if (zipf_init(&g->city, 2000, 1.1) < 0 || zipf_init(&g->zip, 30000, 1.1) < 0 ||
        zipf_init(&g->profession, 300, 1.1) < 0) {
        gen_release(g);
        return -1;
    }
    return 0;
}

void gen_release(struct gen_set *g)
{
    free(g->city.cdf);
    free(g->zip.cdf);
    free(g->profession.cdf);
    memset(g, 0, sizeof(*g));
}

static const char *const syll[] = {"ka", "lo", "mi", "ra",  "sen", "tor", "vel", "an", "bu",  "del",
                                   "ga", "ho", "ix", "jun", "ke",  "lum", "nor", "pe", "qui", "sa"};
static const char *const countries[] = {"Brazil", "Germany", "France", "Switzerland", "Poland",
                                        "Spain",  "Italy",   "Japan",  "Canada",      "Kenya"};
static const char *const genders[] = {"female", "male", "other"};
static const char *const domains[] = {"example.com", "mail.test", "post.example.org",
                                      "corp.example", "uni.example.edu"};

/* A deterministic name for value k of a kind. */
static void name_of(char *out, size_t cap, unsigned k, unsigned salt)
{
    unsigned long long h = (k + 1) * 0x9E3779B97F4A7C15ull + salt;
    size_t len = 0;
    for (int i = 0; i < 3 && len + 4 < cap; i++) {
        const char *s = syll[h % 20];
        h /= 20;
        len += (size_t)snprintf(out + len, cap - len, "%s", s);
    }
    out[0] = (char)(out[0] - 32);
    snprintf(out + len, cap - len, " %u", k);
}

/* t: seconds since 2020-01-01 (a few years), as ISO 8601 with random millis */
static void ts(char *out, size_t cap, unsigned long long t, struct rng *r)
{
    unsigned days = (unsigned)(t / 86400), secs = (unsigned)(t % 86400);
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y = 2020, m = 0;
    for (;;) {
        unsigned yd = (y % 4 == 0) ? 366 : 365;
        if (days < yd)
            break;
        days -= yd;
        y++;
    }
    for (;;) {
        unsigned md = mdays[m] + (m == 1 && y % 4 == 0);
        if (days < md)
            break;
        days -= md;
        m++;
    }
    snprintf(out, cap, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", y, m + 1, days + 1, secs / 3600,
             secs / 60 % 60, secs % 60, below(r, 1000));
}

/* Appends with vsnprintf, keeping *len at most cap - 1. */
__attribute__((format(printf, 4, 5))) static void put(char *out, size_t cap, size_t *len,
                                                      const char *fmt, ...)
{
    va_list ap;
    if (*len + 1 >= cap)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(out + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len = *len + (size_t)n < cap ? *len + (size_t)n : cap - 1;
}

size_t gen_user(const struct gen_set *g, unsigned long u, char *out, size_t cap, int *subs)
{
    struct rng r;
    char city[64], zip[16], prof[64], created[40], updated[40], birth[40];
    size_t len = 0;
    rng_for(&r, g, 1, u);
    /* every draw in a fixed order (never two in one argument list) */
    unsigned long long t0 = rnd(&r) % (2ull * 365 * 86400);
    unsigned bad = below(&r, 1000) < 10 ? 1 + below(&r, 3) : 0; /* ~1% invalid */
    unsigned nsub = below(&r, 4);
    name_of(city, sizeof(city), zipf_draw(&g->city, &r), 1);
    snprintf(zip, sizeof(zip), "%05u", zipf_draw(&g->zip, &r));
    name_of(prof, sizeof(prof), zipf_draw(&g->profession, &r), 7);
    ts(created, sizeof(created), t0, &r);
    unsigned long long later = rnd(&r) % (300 * 86400);
    ts(updated, sizeof(updated), t0 + later, &r);
    unsigned by = 1950 + below(&r, 55), bm = 1 + below(&r, 12), bd = 1 + below(&r, 28);
    snprintf(birth, sizeof(birth), "%04u-%02u-%02uT00:00:00.000Z", by, bm, bd);
    const char *f1 = syll[below(&r, 20)], *f2 = syll[below(&r, 20)];
    const char *l1 = syll[below(&r, 20)], *l2 = syll[below(&r, 20)];
    unsigned house = 1 + below(&r, 200);
    const char *street = syll[below(&r, 20)];
    const char *country = countries[zipf_draw(&g->profession, &r) % 10];
    const char *domain = domains[below(&r, 5)];
    const char *gender = genders[below(&r, 3)];
    const char *smoking = below(&r, 4) ? "false" : "true";
    unsigned income = 1000 + below(&r, 200000), cents = below(&r, 100);
    put(out, cap, &len,
        "{\"createdAt\":\"%s\",\"updatedAt\":\"%s\",\"firstName\":\"Zq%s%s\","
        "\"lastName\":\"Zq%s%s\",\"address\":\"%u Zq%s Street\",\"city\":\"%s\","
        "\"country\":\"%s\",\"zipCode\":\"%s\",\"email\":\"zq%lu@%s\","
        "\"birthDate\":\"%s\",\"profile\":{\"gender\":\"%s\",\"isSmoking\":%s,"
        "\"profession\":\"%s\",\"income\":\"%u.%02u\"},\"subscription\":[",
        bad == 2 ? "not a date" : created, updated, f1, f2, l1, l2, house, street, city, country,
        zip, u, domain, birth, gender, smoking, prof, income, cents);
    for (unsigned s = 0; s < nsub; s++) {
        char sc[40], ss[40], se[40];
        unsigned long long st = t0 + (unsigned long long)s * 90 * 86400;
        ts(sc, sizeof(sc), st, &r);
        ts(ss, sizeof(ss), st + 3600, &r);
        ts(se, sizeof(se), st + 90ull * 86400, &r);
        put(out, cap, &len,
            "%s{\"createdAt\":\"%s\",\"startDate\":\"%s\",\"endDate\":\"%s\","
            "\"status\":\"%s\",\"amount\":\"%s\"}",
            s ? "," : "", sc, ss, se, s + 1 == nsub ? "Active" : "Inactive",
            bad == 3 && s == 0 ? "free" : (s ? "9.99" : "4.99"));
    }
    if (bad == 3 && nsub == 0)
        bad = 0; /* no subscription to spoil */
    if (bad == 1)
        put(out, cap, &len, "]}"); /* no id */
    else
        put(out, cap, &len, "],\"id\":\"%lu\"}", u);
    *subs = bad ? -1 : (int)nsub;
    return len;
}

size_t gen_message(const struct gen_set *g, unsigned long m, char *out, size_t cap, int *valid)
{
    struct rng r;
    char created[40];
    size_t len = 0;
    rng_for(&r, g, 2, m);
    int bad = below(&r, 1000) < 5;
    unsigned long long t = rnd(&r) % (3ull * 365 * 86400);
    ts(created, sizeof(created), t, &r);
    const char *w1 = syll[below(&r, 20)], *w2 = syll[below(&r, 20)];
    unsigned long receiver = (unsigned long)(1 + rnd(&r) % g->users);
    unsigned long sender = (unsigned long)(1 + rnd(&r) % g->users);
    put(out, cap, &len,
        "{\"createdAt\":\"%s\",\"message\":\"Zq message %lu from %s %s\","
        "\"receiverId\":\"%lu\",\"id\":\"%lu\",\"senderId\":\"%lu\"}",
        bad ? "yesterday" : created, m, w1, w2, receiver, m, sender);
    *valid = !bad;
    return len;
}
