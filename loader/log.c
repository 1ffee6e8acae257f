#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "error.h"
#include "banned.h"

static enum log_level current_level = LOG_INFO;
static int with_timestamps = 1;
static void (*before_write)(void);

void log_set_before_write(void (*fn)(void))
{
    before_write = fn;
}

void log_set_level(enum log_level level)
{
    current_level = level;
}
enum log_level log_get_level(void)
{
    return current_level;
}
void log_set_timestamps(int on)
{
    with_timestamps = on;
}

int log_parse_level(const char *name, enum log_level *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return err_set(ML_EINVAL, "unknown log level '%s' (want error, warn, info or debug)", name);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *const tags[] = {"error", "warning", "info", "debug"};
    char line[4096];
    size_t off = 0;
    va_list ap;
    if (level > current_level)
        return;
    if (with_timestamps) {
        struct timeval tv;
        struct tm tm;
        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        off = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
        off +=
            (size_t)snprintf(line + off, sizeof(line) - off, ".%03dZ ", (int)(tv.tv_usec / 1000));
    }
    off += (size_t)snprintf(line + off, sizeof(line) - off, "maskload: %s: ", tags[level]);
    va_start(ap, fmt);
    if (off < sizeof(line))
        vsnprintf(line + off, sizeof(line) - off, fmt, ap);
    va_end(ap);
    if (before_write)
        before_write();
    fprintf(stderr, "%s\n", line);
}
