#include "sqlfiles.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

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

/* The index after the quoted run opening at t[i] (t[i] its quote), a doubled
 * quote inside it and, with `escapes`, a backslash and what follows kept. */
static size_t quoted_end(const char *t, size_t len, size_t i, bool escapes)
{
    char q = t[i++];
    while (i < len) {
        if (escapes && t[i] == '\\')
            i += 2;
        else if (t[i] == q && i + 1 < len && t[i + 1] == q)
            i += 2;
        else if (t[i++] == q)
            return i;
    }
    return len;
}

size_t sqlscript_token(const char *t, size_t len, size_t i, char quote, struct sql_token *tok)
{
    bool mysql = quote == '`';
    while (i < len && isspace((unsigned char)t[i]))
        i++;
    tok->s = t + i;
    tok->n = 0;
    tok->word = tok->quoted = false;
    if (i >= len)
        return i;
    if (t[i] == quote) {
        size_t j = quoted_end(t, len, i, false);
        tok->s = t + i + 1;
        tok->n = j - i >= 2 ? j - i - 2 : 0;
        tok->word = tok->quoted = true;
        return j;
    }
    if (isalnum((unsigned char)t[i]) || t[i] == '_') {
        size_t j = i;
        while (j < len && (isalnum((unsigned char)t[j]) || t[j] == '_'))
            j++;
        tok->n = j - i;
        tok->word = true;
        return j;
    }
    if (t[i] == '\'' || (mysql && t[i] == '"')) {
        tok->n = quoted_end(t, len, i, mysql) - i;
        return i + tok->n;
    }
    tok->n = 1;
    return i + 1;
}

bool sqlscript_token_is(const struct sql_token *tok, const char *word)
{
    return tok->word && tok->n == strlen(word) && strncasecmp(tok->s, word, tok->n) == 0;
}

bool sqlscript_token_name(const struct sql_token *tok, char *out, size_t size)
{
    if (!tok->word || tok->n >= size)
        return false;
    memcpy(out, tok->s, tok->n);
    out[tok->n] = '\0';
    return true;
}

bool sqlscript_expect(const char *t, size_t len, size_t *i, char quote, const char *seq)
{
    char w[32];
    while (*seq) {
        size_t n = strcspn(seq, " ");
        struct sql_token tok;
        if (n >= sizeof(w))
            return false;
        memcpy(w, seq, n);
        w[n] = '\0';
        *i = sqlscript_token(t, len, *i, quote, &tok);
        if (!sqlscript_token_is(&tok, w))
            return false;
        seq += n;
        while (*seq == ' ')
            seq++;
    }
    return true;
}
