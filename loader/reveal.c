#include "reveal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "convert.h"
#include "error.h"
#include "log.h"
#include "wh.h"
#include "banned.h"

int reveal_reason_check(const char *reason)
{
    size_t n = reason ? strlen(reason) : 0, chars = 0;
    bool text = false;
    if (!reason || !convert_utf8_valid(reason, n, &chars))
        return err_set(ML_EUSAGE, "the reason must be UTF-8 text");
    for (size_t i = 0; i < n && !text; i++)
        text = !isspace((unsigned char)reason[i]);
    if (!text)
        return err_set(ML_EUSAGE, "a reason is required (it is written to pii_access_log)");
    if (chars > REVEAL_REASON_MAX)
        return err_set(ML_EUSAGE, "the reason is longer than %d characters", REVEAL_REASON_MAX);
    return 0;
}

static bool kind_ok(const char *kind)
{
    size_t n = kind ? strlen(kind) : 0;
    if (n == 0 || n > 64 || !(isalpha((unsigned char)kind[0]) || kind[0] == '_'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)kind[i]) && kind[i] != '_')
            return false;
    return true;
}

int reveal_value(const struct config *cfg, const char *kind, unsigned long long id,
                 const char *reason, struct buf *value, bool *found)
{
    struct wh *w = NULL;
    char id_text[24];
    const char *params[3] = {kind, id_text, reason};
    int rc = reveal_reason_check(reason);
    *found = false;
    if (!rc && !kind_ok(kind))
        rc = err_set(ML_EUSAGE, "'%s' is not a surrogate kind (a name like city or zipcode)",
                     kind ? kind : "");
    if (rc)
        return rc;
    snprintf(id_text, sizeof(id_text), "%llu", id);
    rc = wh_connect(cfg, WH_LOADER, &w);
    if (!rc) {
        /* MySQL: the procedure; PostgreSQL: the function (it cannot commit
         * on its own: the call runs alone, in its own transaction) */
        rc = wh_query_value(
            w, wh_is_postgres(w) ? "SELECT pii_reveal($1, $2, $3)" : "CALL pii_reveal($1, $2, $3)",
            3, params, value, found);
        if (rc && wh_error_raised(w)) {
            char why[512]; /* err_set must not read the buffer it writes */
            snprintf(why, sizeof(why), "%s", err_msg());
            rc = err_set(ML_EUSAGE, "%s", why);
        }
        if (rc)
            err_prefix(rc, "reveal of %s %llu", kind, id);
    }
    wh_close(w);
    return rc;
}
