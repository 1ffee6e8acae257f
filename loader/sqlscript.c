#include "sqlfiles.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "banned.h"

/* Skips whitespace and comments from *i; returns the new index. */
static size_t skip_blank(const char *t, size_t n, size_t i)
{
    for (;;) {
        while (i < n && isspace((unsigned char)t[i]))
            i++;
        if (i + 1 < n && t[i] == '-' && t[i + 1] == '-' &&
            (i + 2 >= n || isspace((unsigned char)t[i + 2]))) {
            while (i < n && t[i] != '\n')
                i++;
        } else if (i < n && t[i] == '#') {
            while (i < n && t[i] != '\n')
                i++;
        } else if (i + 1 < n && t[i] == '/' && t[i + 1] == '*') {
            i += 2;
            while (i + 1 < n && !(t[i] == '*' && t[i + 1] == '/'))
                i++;
            i = i + 2 <= n ? i + 2 : n;
        } else {
            return i;
        }
    }
}

int sqlscript_next(const char *text, size_t total, size_t *pos, const char **stmt, size_t *len)
{
    size_t i = skip_blank(text, total, *pos), start;
    while (i < total && text[i] == ';')
        i = skip_blank(text, total, i + 1);
    if (i >= total) {
        *pos = total;
        return 0;
    }
    start = i;
    while (i < total && text[i] != ';') {
        char c = text[i];
        if (c == '\'' || c == '"' || c == '`') {
            i++;
            while (i < total && text[i] != c) {
                if (text[i] == '\\' && c != '`')
                    i++;
                i++;
            }
            i++;
        } else if (c == '-' && i + 1 < total && text[i + 1] == '-' &&
                   (i + 2 >= total || isspace((unsigned char)text[i + 2]))) {
            while (i < total && text[i] != '\n')
                i++;
        } else if (c == '#') {
            while (i < total && text[i] != '\n')
                i++;
        } else if (c == '/' && i + 1 < total && text[i + 1] == '*') {
            i += 2;
            while (i + 1 < total && !(text[i] == '*' && text[i + 1] == '/'))
                i++;
            i += 2;
        } else {
            i++;
        }
    }
    if (i > total)
        i = total;
    *stmt = text + start;
    *len = i - start;
    while (*len && isspace((unsigned char)(*stmt)[*len - 1]))
        (*len)--;
    *pos = i < total ? i + 1 : total;
    return 1;
}

int sqlscript_expand(const char *text, size_t len, const char *const *names,
                     const char *const *values, size_t n, struct buf *out)
{
    size_t i = 0;
    int rc = 0;
    while (!rc && i < len) {
        const char *open = memchr(text + i, '{', len - i);
        if (!open || (size_t)(open - text) + 1 >= len || open[1] != '{') {
            size_t upto = open ? (size_t)(open - text) + 1 : len;
            rc = buf_add(out, text + i, upto - i);
            i = upto;
            continue;
        }
        rc = buf_add(out, text + i, (size_t)(open - text) - i);
        const char *name = open + 2;
        const char *close = NULL;
        for (const char *p = name; p + 1 < text + len; p++)
            if (p[0] == '}' && p[1] == '}') {
                close = p;
                break;
            }
        if (!close)
            return err_set(ML_EINTERNAL, "unterminated placeholder in an SQL file");
        size_t nl = (size_t)(close - name);
        size_t k;
        for (k = 0; k < n; k++)
            if (strlen(names[k]) == nl && memcmp(names[k], name, nl) == 0)
                break;
        if (k == n)
            return err_set(ML_EINTERNAL, "unknown placeholder '{{%.*s}}' in an SQL file", (int)nl,
                           name);
        if (!rc)
            rc = buf_adds(out, values[k]);
        i = (size_t)(close - text) + 2;
    }
    return rc;
}

int sqlscript_one_line(const char *stmt, size_t len, struct buf *out)
{
    size_t mark = out->len, i = 0;
    bool space = false, any = false;
    int rc = 0;
    while (!rc && i < len) {
        char c = stmt[i];
        size_t j = skip_blank(stmt, len, i);
        if (j > i) {
            /* whitespace and comments: one space between words */
            space = any;
            i = j;
            continue;
        }
        if (space)
            rc = buf_addc(out, ' ');
        space = false;
        any = true;
        if (rc)
            break;
        if (c == '\'' || c == '"' || c == '`') {
            rc = buf_addc(out, c);
            for (i++; !rc && i < len && stmt[i] != c; i++) {
                if (stmt[i] == '\\' && c != '`' && i + 1 < len) {
                    rc = buf_add(out, stmt + i, 2);
                    i++;
                } else if ((stmt[i] == '\n' || stmt[i] == '\r') && c != '`') {
                    rc = buf_adds(out, stmt[i] == '\n' ? "\\n" : "\\r");
                } else {
                    rc = buf_addc(out, stmt[i]);
                }
            }
            if (!rc && i < len)
                rc = buf_addc(out, c);
            i++;
        } else {
            rc = buf_addc(out, c);
            i++;
        }
    }
    if (rc)
        buf_truncate(out, mark);
    return rc;
}
