#include "cursor.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "convert.h"
#include "error.h"
#include "log.h"
#include "wh.h"
#include "banned.h"

#define DURATION_MAX_S (3650LL * 86400)

int cursor_parse_duration(const char *s, long long *seconds)
{
    long long n = 0, unit;
    size_t i = 0;
    if (!s || s[0] < '0' || s[0] > '9')
        return ML_EINVAL;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        n = n * 10 + (s[i] - '0');
        if (n > DURATION_MAX_S)
            return ML_EINVAL;
    }
    switch (s[i]) {
    case 's':
        unit = 1;
        break;
    case 'm':
        unit = 60;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'd':
        unit = 86400;
        break;
    default:
        return ML_EINVAL;
    }
    if (s[i + 1] != '\0' || n > DURATION_MAX_S / unit)
        return ML_EINVAL;
    *seconds = n * unit;
    return 0;
}

/* ---- "YYYY-MM-DD hh:mm:ss.fff" <-> milliseconds since 1970 ---- */

static bool digits_at(const char *s, size_t from, size_t n, long long *out)
{
    long long v = 0;
    for (size_t i = from; i < from + n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool datetime_ms(const char *s, long long *ms)
{
    long long y, mo, d, h, mi, se, f;
    if (strlen(s) != 23 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' ||
        s[16] != ':' || s[19] != '.')
        return false;
    if (!digits_at(s, 0, 4, &y) || !digits_at(s, 5, 2, &mo) || !digits_at(s, 8, 2, &d) ||
        !digits_at(s, 11, 2, &h) || !digits_at(s, 14, 2, &mi) || !digits_at(s, 17, 2, &se) ||
        !digits_at(s, 20, 3, &f))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
        return false;
    *ms = ((convert_days_from_civil((int)y, (int)mo, (int)d) * 24 + h) * 60 + mi) * 60000 +
          se * 1000 + f;
    return true;
}

static bool integer_value(const char *s, long long *v)
{
    char *end;
    if (!s || !*s || (s[0] != '-' && (s[0] < '0' || s[0] > '9')))
        return false;
    *v = strtoll(s, &end, 10);
    return *end == '\0' && *v != LLONG_MIN && *v != LLONG_MAX;
}

bool cursor_value_ok(enum cursor_kind kind, const char *s)
{
    long long v;
    return kind == CURSOR_INTEGER ? integer_value(s, &v) : datetime_ms(s, &v);
}

int cursor_cmp(enum cursor_kind kind, const char *a, const char *b)
{
    long long x = 0, y = 0;
    if (kind == CURSOR_INTEGER) {
        integer_value(a, &x);
        integer_value(b, &y);
        return x < y ? -1 : x > y;
    }
    return strcmp(a, b); /* fixed width, most significant first */
}

int cursor_param(enum cursor_kind kind, const char *stored, long long lookback_s,
                 char out[CURSOR_TEXT_MAX])
{
    long long v, rest;
    if (lookback_s < 0 || lookback_s > DURATION_MAX_S)
        return ML_EINVAL;
    if (kind == CURSOR_INTEGER) {
        if (!integer_value(stored, &v) || v < LLONG_MIN / 2)
            return ML_EINVAL;
        snprintf(out, CURSOR_TEXT_MAX, "%lld", v - lookback_s);
        return 0;
    }
    if (!datetime_ms(stored, &v))
        return ML_EINVAL;
    v -= lookback_s * 1000;
    if (kind == CURSOR_EPOCH_MS) {
        snprintf(out, CURSOR_TEXT_MAX, "%lld", v);
        return 0;
    }
    long long days = v >= 0 ? v / 86400000 : -((-v + 86399999) / 86400000);
    rest = v - days * 86400000;
    if (days < -800000 || days > 3000000) /* outside years 1000..9999 anyway */
        return ML_EINVAL;
    int cy, cm, cd;
    convert_civil_from_days(days, &cy, &cm, &cd);
    if (cy < 1000 || cy > 9999)
        return ML_EINVAL;
    char tmp[128];
    int n = snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02lld:%02lld:%02lld.%03lldZ", cy, cm, cd,
                     rest / 3600000, rest / 60000 % 60, rest / 1000 % 60, rest % 1000);
    if (n < 0 || n >= CURSOR_TEXT_MAX)
        return ML_EINVAL;
    memcpy(out, tmp, (size_t)n + 1);
    return 0;
}

/* ---- an incremental stream's cursor through one run ---- */

void cursor_run_start(struct cursor_run *cr, enum cursor_kind kind, bool sorted, const char *stored,
                      bool full)
{
    memset(cr, 0, sizeof(*cr));
    cr->kind = kind;
    cr->sorted = sorted;
    if (!stored)
        return;
    snprintf(cr->written, sizeof(cr->written), "%s", stored);
    cr->has_written = !full; /* --full stores its cursor even when equal */
    if (full)
        return;
    /* never behind the stored cursor, even when nothing newer comes */
    memcpy(cr->seen, cr->written, sizeof(cr->seen));
    cr->has_seen = true;
}

/* The largest cursor value among the batch's main rows into out (*has
 * false when no row has one), and how many rows had none. */
static void batch_max(const struct cursor_run *cr, const struct batch *b, int col,
                      char out[CURSOR_TEXT_MAX], bool *has, unsigned long long *nulls)
{
    struct table_rows *rows = batch_rows((struct batch *)b, BATCH_MAIN);
    char v[CURSOR_TEXT_MAX];
    *has = false;
    *nulls = 0;
    for (size_t r = 0; r < rows->nrows; r++) {
        const struct cell *c = batch_cell(rows, r, (unsigned)col);
        if (c->kind == CELL_INT)
            snprintf(v, sizeof(v), "%lld", c->i);
        else if (c->kind == CELL_TEXT && c->len < sizeof(v)) {
            memcpy(v, batch_text(b, c), c->len);
            v[c->len] = '\0';
        } else {
            (*nulls)++;
            continue;
        }
        if (!cursor_value_ok(cr->kind, v)) {
            (*nulls)++;
            continue;
        }
        if (!*has || cursor_cmp(cr->kind, v, out) > 0)
            memcpy(out, v, sizeof(v));
        *has = true;
    }
}

void cursor_run_batch(struct cursor_run *cr, const struct batch *b, int col, bool last,
                      const char **store)
{
    batch_max(cr, b, col, cr->pending, &cr->has_pending, &cr->pending_nulls);
    if (cr->has_pending && cr->has_seen && cursor_cmp(cr->kind, cr->pending, cr->seen) < 0)
        cr->has_pending = false; /* not beyond what earlier batches reached */
    if (!cr->has_pending && cr->has_seen) {
        memcpy(cr->pending, cr->seen, sizeof(cr->pending));
        cr->has_pending = true;
    }
    cr->pending_store = cr->has_pending && (cr->sorted || last);
    *store = cr->pending_store && (!cr->has_written || strcmp(cr->pending, cr->written) != 0)
                 ? cr->pending
                 : NULL;
}

void cursor_run_committed(struct cursor_run *cr)
{
    if (cr->has_pending) {
        memcpy(cr->seen, cr->pending, sizeof(cr->seen));
        cr->has_seen = true;
        if (cr->pending_store) {
            memcpy(cr->written, cr->pending, sizeof(cr->written));
            cr->has_written = true;
        }
    }
    cr->without += cr->pending_nulls;
    cr->has_pending = cr->pending_store = false;
    cr->pending_nulls = 0;
}

const char *cursor_run_unstored(const struct cursor_run *cr)
{
    return cr->has_seen && (!cr->has_written || strcmp(cr->seen, cr->written) != 0) ? cr->seen
                                                                                    : NULL;
}

int cursor_read_stored(struct wh *w, enum cursor_kind kind, const char *name, const char *stream,
                       char out[CURSOR_TEXT_MAX], bool *found)
{
    static const char sql[] = "SELECT cursor_value FROM load_cursors WHERE stream = $1";
    const char *p[1] = {stream};
    struct wh_result *r = NULL;
    const char *const *row;
    int rc = wh_query(w, sql, 1, p, NULL, &r);
    *found = false;
    if (rc)
        return err_prefix(rc, "reading the cursor of stream '%s' (did `maskload init` run?)",
                          stream);
    if (wh_result_next(r, &row, NULL) == 1 && row[0]) {
        if (!cursor_value_ok(kind, row[0]) || strlen(row[0]) >= CURSOR_TEXT_MAX)
            rc = err_set(ML_EDB,
                         "load_cursors holds '%.40s' for stream '%s', which is no value of its "
                         "cursor '%s' (run --full to store a new one)",
                         row[0], stream, name);
        else {
            snprintf(out, CURSOR_TEXT_MAX, "%s", row[0]);
            *found = true;
        }
    }
    wh_result_free(r);
    return rc;
}

int cursor_store(struct wh *w, unsigned long long run_id, const char *stream, const char *value)
{
    static const char *const sql[2] = {
        "INSERT INTO load_cursors (stream, cursor_value, run_id, updated_at) VALUES ($1, $2, $3, "
        "UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE cursor_value = VALUES(cursor_value), run_id = "
        "VALUES(run_id), updated_at = VALUES(updated_at)",
        "INSERT INTO load_cursors (stream, cursor_value, run_id, updated_at) VALUES ($1, $2, "
        "$3::bigint, (now() AT TIME ZONE 'UTC')) ON CONFLICT (stream) DO UPDATE SET cursor_value "
        "= EXCLUDED.cursor_value, run_id = EXCLUDED.run_id, updated_at = EXCLUDED.updated_at",
    };
    char run[24];
    const char *p[3] = {stream, value, run};
    int rc;
    snprintf(run, sizeof(run), "%llu", run_id);
    rc = wh_exec_params(w, sql[wh_is_postgres(w)], 3, p, NULL);
    return rc ? err_prefix(rc, "storing the cursor of stream '%s'", stream) : 0;
}

int cursor_run_store_unstored(struct cursor_run *cr, struct wh *w, unsigned long long run_id,
                              const char *stream)
{
    const char *v = cursor_run_unstored(cr);
    int rc;
    if (!v)
        return 0;
    rc = wh_begin(w);
    if (!rc)
        rc = cursor_store(w, run_id, stream, v);
    if (!rc)
        rc = wh_commit(w);
    if (rc) {
        wh_rollback(w);
        return rc;
    }
    snprintf(cr->written, sizeof(cr->written), "%s", v);
    cr->has_written = true;
    return 0;
}

void cursor_run_log(const struct cursor_run *cr, const char *stream, const char *name)
{
    if (cr->without)
        log_warn("stream '%s': %llu records without a value of the cursor '%s': loaded, the "
                 "cursor not moved by them",
                 stream, cr->without, name);
    if (cr->has_written)
        log_info("stream '%s': cursor %s = %s", stream, name, cr->written);
}
