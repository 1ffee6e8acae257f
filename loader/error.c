#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "banned.h"

#define ERR_MSG_MAX 2048

static _Thread_local char err_text[ERR_MSG_MAX];

int err_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_text, sizeof(err_text), fmt, ap);
    va_end(ap);
    return code;
}

int err_prefix(int code, const char *fmt, ...)
{
    char prefix[ERR_MSG_MAX];
    char old[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err_text, sizeof(old));
    size_t pl = strlen(prefix), ol = strlen(old), o = 0;
    if (pl > ERR_MSG_MAX - 1)
        pl = ERR_MSG_MAX - 1;
    memcpy(err_text, prefix, pl);
    o = pl;
    if (ol && o + 2 < ERR_MSG_MAX) {
        memcpy(err_text + o, ": ", 2);
        o += 2;
        if (ol > ERR_MSG_MAX - 1 - o)
            ol = ERR_MSG_MAX - 1 - o;
        memcpy(err_text + o, old, ol);
        o += ol;
    }
    err_text[o] = '\0';
    return code;
}

const char *err_msg(void)
{
    return err_text;
}

void err_clear(void)
{
    err_text[0] = '\0';
}

const char *err_name(int code)
{
    switch (code) {
    case ML_OK:
        return "OK";
#define ML_ERR_NAME(name, c, desc)                                                                 \
    case c:                                                                                        \
        return #name;
        ML_ERRNO_MAP(ML_ERR_NAME)
#undef ML_ERR_NAME
    }
    return "EUNKNOWN";
}

const char *err_describe(int code)
{
    switch (code) {
    case ML_OK:
        return "success";
#define ML_ERR_DESC(name, c, desc)                                                                 \
    case c:                                                                                        \
        return desc;
        ML_ERRNO_MAP(ML_ERR_DESC)
#undef ML_ERR_DESC
    }
    return "unknown error";
}
