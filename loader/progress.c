/* progress.c - a stream's progress (progress.h). */
#include "progress.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "banned.h"

struct progress {
    char stream[72];
    bool tty, shown;
    unsigned interval_s;
    double started, last;
};

/* the stream whose live line is on the terminal, for log lines to clear */
static struct progress *live;
static bool lines_only; /* progress_lines_only */

void progress_lines_only(void)
{
    lines_only = true;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void clear_live(void)
{
    if (live && live->shown) {
        fputs("\r\033[K", stderr);
        live->shown = false;
    }
}

static void hms(double s, char *out, size_t sz)
{
    unsigned long t = s > 0 ? (unsigned long)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(out, sz, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, sz, "%lu:%02lu", t / 60, t % 60);
}

struct progress *progress_start(const char *stream, unsigned interval_s)
{
    struct progress *p;
    if (log_get_level() < LOG_INFO)
        return NULL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    snprintf(p->stream, sizeof(p->stream), "%s", stream);
    p->tty = !lines_only && isatty(STDERR_FILENO) == 1;
    p->interval_s = interval_s;
    p->started = p->last = now_s();
    if (p->tty) {
        live = p;
        log_set_before_write(clear_live);
    }
    return p;
}

void progress_update(struct progress *p, unsigned long long records, unsigned long long pages,
                     unsigned long long rejects, double fraction)
{
    char elapsed[32], eta[64] = "";
    double t, rate;
    if (!p)
        return;
    t = now_s();
    if (p->tty ? t - p->last < 0.25 : !p->interval_s || t - p->last < p->interval_s)
        return;
    p->last = t;
    rate = t > p->started ? (double)records / (t - p->started) : 0;
    hms(t - p->started, elapsed, sizeof(elapsed));
    if (fraction > 0 && fraction <= 1) {
        char left[32];
        hms((t - p->started) * (1 - fraction) / fraction, left, sizeof(left));
        snprintf(eta, sizeof(eta), ", %.0f%%, ETA %s", 100 * fraction, left);
    }
    if (p->tty) {
        fprintf(stderr, "\r\033[K%s: %llu records (%.0f/s), %llu pages, %llu rejects, %s%s",
                p->stream, records, rate, pages, rejects, elapsed, eta);
        fflush(stderr);
        p->shown = true;
    } else {
        log_info("stream '%s': %llu records so far (%.0f/s), %llu pages, %llu rejects, %s "
                 "elapsed%s",
                 p->stream, records, rate, pages, rejects, elapsed, eta);
    }
}

void progress_end(struct progress *p)
{
    if (!p)
        return;
    if (live == p) {
        clear_live();
        live = NULL;
        log_set_before_write(NULL);
    }
    free(p);
}
