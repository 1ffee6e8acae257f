/* gen.c - seedable benchmark data in the shape of the seed API.
 *
 *   bench_gen --users N --messages M [--seed S] --out DIR
 *
 * Writes DIR/users.json and DIR/messages.json (JSON arrays the fixture API
 * serves) and DIR/expected.env with the rows a correct load produces.
 * Distributions: cities (2,000), zip codes (30,000) and professions (300)
 * are Zipf-skewed (s = 1.1), so a few values are very common and the
 * surrogate cache matters; 0-3 subscriptions per user; about 1% of users and
 * 0.5% of messages are invalid (missing id, unparseable date, bad amount)
 * and must land in load_rejects. Same seed, same bytes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long rng_state;

static unsigned long long rnd(void)
{
    unsigned long long z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned below(unsigned n)
{
    return (unsigned)(rnd() % n);
}

struct zipf {
    double *cdf;
    unsigned n;
};

static void zipf_init(struct zipf *z, unsigned n, double s)
{
    double sum = 0;
    z->n = n;
    z->cdf = malloc(n * sizeof(double));
    if (!z->cdf)
        exit(1);
    for (unsigned k = 0; k < n; k++) {
        sum += 1.0 / pow(k + 1, s);
        z->cdf[k] = sum;
    }
    for (unsigned k = 0; k < n; k++)
        z->cdf[k] /= sum;
}

static unsigned zipf_draw(const struct zipf *z)
{
    double u = (double)(rnd() >> 11) / 9007199254740992.0;
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

static void ts(char *out, size_t cap, unsigned long long t)
{
    /* t: seconds since 2020-01-01, up to ~3 years */
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
             secs / 60 % 60, secs % 60, below(1000));
}

int main(int argc, char **argv)
{
    unsigned long users = 0, messages = 0;
    unsigned long long seed = 1;
    const char *dir = NULL;
    char path[4096];
    struct zipf zc, zz, zp;
    unsigned long valid_users = 0, subs = 0, valid_messages = 0;
    FILE *f;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--users"))
            users = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--messages"))
            messages = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--out"))
            dir = argv[i + 1];
    }
    if (!dir || !users) {
        fprintf(stderr, "usage: bench_gen --users N --messages M [--seed S] --out DIR\n");
        return 2;
    }
    rng_state = seed;
    zipf_init(&zc, 2000, 1.1);
    zipf_init(&zz, 30000, 1.1);
    zipf_init(&zp, 300, 1.1);

    snprintf(path, sizeof(path), "%s/users.json", dir);
    f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof(buf));
    fputs("[\n", f);
    for (unsigned long u = 1; u <= users; u++) {
        char city[64], zip[16], prof[64], created[40], updated[40], birth[40];
        unsigned long long t0 = rnd() % (2ull * 365 * 86400);
        unsigned bad = below(1000) < 10 ? 1 + below(3) : 0; /* ~1% invalid */
        unsigned nsub = below(4);
        name_of(city, sizeof(city), zipf_draw(&zc), 1);
        snprintf(zip, sizeof(zip), "%05u", zipf_draw(&zz));
        name_of(prof, sizeof(prof), zipf_draw(&zp), 7);
        ts(created, sizeof(created), t0);
        ts(updated, sizeof(updated), t0 + rnd() % (300 * 86400));
        snprintf(birth, sizeof(birth), "%04u-%02u-%02uT00:00:00.000Z", 1950 + below(55),
                 1 + below(12), 1 + below(28));
        fprintf(f,
                "%s{\"createdAt\":\"%s\",\"updatedAt\":\"%s\",\"firstName\":\"Zq%s%s\","
                "\"lastName\":\"Zq%s%s\",\"address\":\"%u Zq%s Street\",\"city\":\"%s\","
                "\"country\":\"%s\",\"zipCode\":\"%s\",\"email\":\"zq%lu@%s\","
                "\"birthDate\":\"%s\",\"profile\":{\"gender\":\"%s\",\"isSmoking\":%s,"
                "\"profession\":\"%s\",\"income\":\"%u.%02u\"},\"subscription\":[",
                u > 1 ? ",\n" : "", bad == 2 ? "not a date" : created, updated, syll[below(20)],
                syll[below(20)], syll[below(20)], syll[below(20)], 1 + below(200), syll[below(20)],
                city, countries[zipf_draw(&zp) % 10], zip, u, domains[below(5)], birth,
                genders[below(3)], below(4) ? "false" : "true", prof, 1000 + below(200000),
                below(100));
        for (unsigned s = 0; s < nsub; s++) {
            char sc[40], ss[40], se[40];
            unsigned long long st = t0 + (unsigned long long)s * 90 * 86400;
            ts(sc, sizeof(sc), st);
            ts(ss, sizeof(ss), st + 3600);
            ts(se, sizeof(se), st + 90ull * 86400);
            fprintf(f,
                    "%s{\"createdAt\":\"%s\",\"startDate\":\"%s\",\"endDate\":\"%s\","
                    "\"status\":\"%s\",\"amount\":\"%s\"}",
                    s ? "," : "", sc, ss, se, s + 1 == nsub ? "Active" : "Inactive",
                    bad == 3 && s == 0 ? "free" : (s ? "9.99" : "4.99"));
        }
        if (bad == 3 && nsub == 0)
            bad = 0; /* no subscription to spoil */
        if (bad == 1)
            fputs("]}", f); /* no id */
        else
            fprintf(f, "],\"id\":\"%lu\"}", u);
        if (!bad) {
            valid_users++;
            subs += nsub;
        }
    }
    fputs("\n]\n", f);
    if (fclose(f)) {
        perror(path);
        return 1;
    }

    snprintf(path, sizeof(path), "%s/messages.json", dir);
    f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    setvbuf(f, buf, _IOFBF, sizeof(buf));
    fputs("[\n", f);
    for (unsigned long m = 1; m <= messages; m++) {
        char created[40];
        int bad = below(1000) < 5;
        ts(created, sizeof(created), rnd() % (3ull * 365 * 86400));
        fprintf(f,
                "%s{\"createdAt\":\"%s\",\"message\":\"Zq message %lu from %s %s\","
                "\"receiverId\":\"%lu\",\"id\":\"%lu\",\"senderId\":\"%lu\"}",
                m > 1 ? ",\n" : "", bad ? "yesterday" : created, m, syll[below(20)],
                syll[below(20)], (unsigned long)(1 + rnd() % users), m,
                (unsigned long)(1 + rnd() % users));
        valid_messages += !bad;
    }
    fputs("\n]\n", f);
    if (fclose(f)) {
        perror(path);
        return 1;
    }

    snprintf(path, sizeof(path), "%s/expected.env", dir);
    f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    fprintf(f, "GEN_USERS=%lu\nGEN_MESSAGES=%lu\nGEN_SEED=%llu\n", users, messages, seed);
    fprintf(f, "EXPECT_USERS=%lu\nEXPECT_SUBSCRIPTIONS=%lu\nEXPECT_MESSAGES=%lu\n", valid_users,
            subs, valid_messages);
    fclose(f);
    free(zc.cdf);
    free(zz.cdf);
    free(zp.cdf);
    return 0;
}
