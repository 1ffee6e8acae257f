/* retry.h - when a failed remote call is tried again, and how long to wait.
 *
 * The policy is pure: no I/O, no clock, no hidden state. Jitter comes from a
 * random word the caller passes in (retry_rng_next over a caller-owned
 * state), so a test with a fixed seed sees fixed delays. Only
 * retry_rng_seed(), the stop request and retry_sleep_ms() touch the outside
 * world.
 *
 * Rules:
 * - Transient, so retried: no connection, timeouts, resets and other network
 *   failures, a body shorter than its Content-Length, an unusable body
 *   (invalid JSON, wrong shape), HTTP 429 and every 5xx.
 * - Permanent, so never retried: any other status (3xx left unfollowed, 4xx
 *   but 429), and anything retrying cannot fix (malformed URL, failed TLS
 *   verification, a body over the size cap).
 * - Attempt n (1-based) that failed transiently is followed by attempt n+1
 *   while n <= retries; the wait before it is the exponential backoff
 *   d = min(max_ms, base_ms * 2^(n-1)) with "equal jitter" (uniform in
 *   [d/2, d]), but never less than the server's Retry-After, itself clamped
 *   to retry_after_max_s. Every wait is therefore bounded by
 *   max(max_ms, 1000 * retry_after_max_s).
 */
#ifndef ML_RETRY_H
#define ML_RETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct retry_policy {
    unsigned retries;           /* retries after the first attempt; 0 = one attempt only */
    unsigned base_ms;           /* backoff before the first retry, before jitter; >= 1 */
    unsigned max_ms;            /* cap of the backoff; >= base_ms */
    unsigned retry_after_max_s; /* cap on a server's Retry-After; 0 ignores it */
};

/* How one attempt ended. */
enum retry_outcome {
    RETRY_OK = 0,    /* usable response */
    RETRY_CONNECT,   /* could not resolve or connect */
    RETRY_TIMEOUT,   /* connect, whole-request or low-speed timeout */
    RETRY_NETWORK,   /* connection reset, empty reply, send/receive failure */
    RETRY_TRUNCATED, /* body shorter than its declared Content-Length */
    RETRY_BAD_BODY,  /* body received but unusable (invalid JSON, not an array) */
    RETRY_STATUS,    /* an HTTP status other than the one expected; see the status */
    RETRY_PERMANENT, /* retrying cannot help */
};

/* Name of an outcome for messages ("timeout", ...); never NULL. */
const char *retry_outcome_name(enum retry_outcome o);

/* True for 429 and 500..599. */
bool retry_status_transient(long status);

/* True when an attempt that ended with `o` (and HTTP `status`, used only for
 * RETRY_STATUS) may succeed if tried again. False for RETRY_OK. */
bool retry_transient(enum retry_outcome o, long status);

/* True when attempt number `attempt` (1-based), which ended with `o`/`status`,
 * is to be followed by another: the failure is transient and the policy's
 * retries are not used up. */
bool retry_should(const struct retry_policy *p, unsigned attempt, enum retry_outcome o,
                  long status);

/* The jittered exponential backoff after attempt `attempt` (1-based), in ms:
 * d = min(max_ms, base_ms * 2^(attempt-1)), result d/2 + random % (d - d/2 + 1),
 * i.e. in [d/2, d]. random = 0 gives the lower bound, UINT32_MAX often the
 * upper one. */
unsigned retry_backoff_ms(const struct retry_policy *p, unsigned attempt, uint32_t random);

/* The wait before the attempt after `attempt`: the backoff, raised to the
 * server's Retry-After (`retry_after_s`, < 0 when absent) clamped to
 * retry_after_max_s. */
unsigned retry_delay_ms(const struct retry_policy *p, unsigned attempt, long retry_after_s,
                        uint32_t random);

/* Parses a Retry-After value (RFC 9110 10.2.3): delta-seconds, or an
 * HTTP-date in any of its three forms (IMF-fixdate "Sun, 06 Nov 1994
 * 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT", asctime "Sun Nov
 * 6 08:49:37 1994"), taken relative to `now`. Surrounding blanks are
 * ignored; a date in the past gives 0; huge values saturate at 2^31-1.
 * Returns 0 with *seconds set, or ML_EINVAL (no message) when the value is
 * neither form. */
int retry_after_parse(const char *value, time_t now, long *seconds);

/* Next 32 random bits of a splitmix64 generator whose state the caller owns. */
uint32_t retry_rng_next(uint64_t *state);

/* A seed that differs between processes (clock and pid), so that loaders
 * started together do not retry in step. */
uint64_t retry_rng_seed(void);

/* The stop request: set from a SIGINT/SIGTERM handler (async-signal-safe,
 * any thread), it makes every retry loop give up at its next wait instead of
 * trying again. retry_clear_stop() withdraws it (tests, or a process that
 * goes on after handling the stop). */
void retry_request_stop(void);
bool retry_stop_requested(void);
void retry_clear_stop(void);

/* Sleeps `ms` milliseconds. Returns 0, or ML_EIO with a message as soon as a
 * stop is requested (checked at least every 50 ms, whichever thread sleeps)
 * or a signal handler runs in the sleeping thread: the caller then gives up
 * instead of trying again. */
int retry_sleep_ms(unsigned ms);

#endif
