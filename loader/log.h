/* log.h - diagnostics on stderr.
 *
 * Lines are "maskload: <level>: <message>" with an optional UTC timestamp
 * prefix (log_set_timestamps). Messages must never contain secrets or PII
 * values: callers log names, counts and positions, not values.
 */
#ifndef ML_LOG_H
#define ML_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_timestamps(int on);
/* Parses "error|warn|info|debug"; returns 0 or ML_EINVAL. */
int log_parse_level(const char *name, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* `fn`, when not NULL, runs before each line is written (progress.h clears
 * its live terminal line with it). */
void log_set_before_write(void (*fn)(void));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
