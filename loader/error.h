/* error.h - error codes and the last error message.
 *
 * Contract: every fallible function in maskload returns 0 on success or one of
 * the negative ML_E* codes below. A function that fails records a message with
 * err_set() naming what failed and where (git's error() style: lowercase,
 * failure first, subject quoted); the caller may add context with
 * err_prefix(). Only main() turns codes into exit statuses and prints.
 * The message store is thread-local.
 */
#ifndef ML_ERROR_H
#define ML_ERROR_H

/* X(name, code, description) */
#define ML_ERRNO_MAP(X)                                                                            \
    X(ENOMEM, -1, "out of memory")                                                                 \
    X(EINVAL, -2, "invalid argument")                                                              \
    X(ECONFIG, -3, "configuration error")                                                          \
    X(EUSAGE, -4, "usage error")                                                                   \
    X(EIO, -5, "input/output error")                                                               \
    X(EHTTP, -6, "http error")                                                                     \
    X(EJSON, -7, "malformed json")                                                                 \
    X(EDB, -8, "database error")                                                                   \
    X(ERECORD, -9, "invalid record")                                                               \
    X(ETOOBIG, -10, "size limit exceeded")                                                         \
    X(ECRYPTO, -11, "crypto error")                                                                \
    X(ECHECK, -12, "anomalies over threshold")                                                     \
    X(EINTERNAL, -13, "internal error")

enum ml_error {
    ML_OK = 0,
#define ML_ERR_ENUM(name, code, desc) ML_##name = (code),
    ML_ERRNO_MAP(ML_ERR_ENUM)
#undef ML_ERR_ENUM
};

/* Records a formatted message for `code` and returns `code`, so callers can
 * write `return err_set(ML_EIO, "read '%s': %s", path, strerror(errno));`. */
int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends "<formatted>: " to the current message; returns `code`. */
int err_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last recorded message; "" when none. Valid until the next err_* call. */
const char *err_msg(void);

/* Forgets the last message. */
void err_clear(void);

/* Symbolic name ("ECONFIG") and description of a code; never NULL. */
const char *err_name(int code);
const char *err_describe(int code);

#endif
