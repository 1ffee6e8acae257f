/* convert.h - strict conversions of source values to typed SQL literals.
 *
 * Each parser accepts its input or returns ML_ERECORD with err_msg() saying
 * what is wrong (without quoting the value, which may be PII: callers decide
 * whether to quote it). Outputs are NUL-terminated literal texts ready to be
 * placed between quotes in SQL (they contain only digits, '-', ':', '.', ' ').
 */
#ifndef ML_CONVERT_H
#define ML_CONVERT_H

#include <stdbool.h>
#include <stddef.h>

#define CONVERT_DATETIME_LEN 24 /* "YYYY-MM-DD hh:mm:ss.fff" + NUL */
#define CONVERT_DATE_LEN     11 /* "YYYY-MM-DD" + NUL */
#define CONVERT_DECIMAL_LEN  48

/* ISO 8601 timestamp "YYYY-MM-DD[Thh:mm[:ss[.f+]]][Z|±hh[:]mm]" (also a
 * space instead of T) -> UTC "YYYY-MM-DD hh:mm:ss.fff" (fraction truncated
 * to milliseconds). A value without zone is taken as UTC. Years 1000..9999. */
int convert_timestamp(const char *s, char out[CONVERT_DATETIME_LEN]);

/* A date "YYYY-MM-DD" or a full timestamp (converted to UTC, then its date). */
int convert_date(const char *s, char out[CONVERT_DATE_LEN]);

/* Year of a date/timestamp as above. */
int convert_year(const char *s, int *year);

/* Decimal text "[-]digits[.digits]" or a JSON number's token text (exponent
 * allowed) with at most `int_digits` digits before the point and at most
 * `scale` significant digits after it: "4.5" -> "4.50" and "4.500" ->
 * "4.50", but "12.345" into scale 2 (or "1e-7") is ML_ERECORD, never
 * rounded. Exact: the text never passes through binary floating point. */
int convert_decimal(const char *s, unsigned int_digits, unsigned scale,
                    char out[CONVERT_DECIMAL_LEN]);

/* Base-10 integer text, optional sign, no spaces, within int64. */
int convert_int64(const char *s, long long *out);

/* Validates UTF-8 (no overlongs, no surrogates, <= U+10FFFF) and counts code
 * points. Returns true when valid. */
bool convert_utf8_valid(const char *s, size_t len, size_t *nchars);

/* The length in bytes of the longest prefix of s[0..len) holding at most
 * `maxchars` characters, cut only before a byte that starts one (never
 * inside a UTF-8 sequence): len when s has no more than that. */
size_t convert_utf8_prefix(const char *s, size_t len, size_t maxchars);

/* The proleptic Gregorian calendar, declared once: days since 1970-01-01
 * of a date (y, m 1..12, d 1..31; not checked), and back. */
long long convert_days_from_civil(int y, int m, int d);
void convert_civil_from_days(long long days, int *y, int *m, int *d);

#endif
