/* source_file.c - records from a local file (`kind: file`).
 *
 * `format` says what the file holds, decided per file, never per record:
 * - jsonl: one JSON record per line, read a page of `page_size` lines at a
 *   time (memory bounded by the page, whatever the file's size). Blank lines
 *   are skipped; a UTF-8 BOM at the start of the file or of a line is
 *   skipped. Each line is one record: a line that is not JSON is rejected
 *   with its real line number ("file:<path>:<line>") and never stops the
 *   load.
 * - json: the whole file is one JSON array of records (read whole, up to
 *   256 MiB, handed out as one page; positions "file:<path>#<index>"). A file
 *   that is not one array fails the run with what it is instead.
 * - auto (default): json when the first non-space byte of the file (after a
 *   BOM) is '[' and the whole file is one array; otherwise jsonl (so a JSON
 *   Lines file whose first record happens to be an array is read as lines).
 */
#include "source.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "error.h"
#include "banned.h"

#define WHOLE_FILE_MAX ((size_t)256 << 20)
#define LINE_MAX_BYTES ((size_t)64 << 20)

struct file_source {
    FILE *f;
    char *path;
    enum file_format format;
    unsigned page_size;
    unsigned long pages;
    unsigned long line; /* lines read so far */
    struct buf ref;
    json_page *whole; /* format json (or auto that found one array): the page */
    char *linebuf;
    size_t linecap;
    int started;
    int done;
    unsigned long long size;           /* bytes, at open */
    _Atomic unsigned long long offset; /* bytes read (JSON Lines), for progress */
};

static int file_next_page(void *impl, struct source_page *pg);
static unsigned long file_pages(const void *impl);
static void file_close(void *impl);

static double file_fraction(const void *impl)
{
    const struct file_source *fs = impl;
    if (!fs->size)
        return -1;
    double f = (double)atomic_load(&fs->offset) / (double)fs->size;
    return f > 1 ? 1 : f;
}

static const struct source_ops file_ops = {file_next_page, NULL,       NULL,
                                           file_pages,     file_close, file_fraction};

int source_file_open(const struct config_source *src, struct source **out)
{
    struct file_source *fs;
    *out = NULL;
    if (!src->file_path)
        return err_set(ML_ECONFIG, "source '%s': no path", src->name);
    fs = calloc(1, sizeof(*fs));
    if (!fs)
        return err_set(ML_ENOMEM, "out of memory");
    buf_init(&fs->ref, 0);
    fs->format = src->file_format;
    fs->page_size = src->page_size ? src->page_size : 100;
    fs->path = strdup(src->file_path);
    fs->f = fs->path ? fopen(fs->path, "rb") : NULL;
    if (fs->f) {
        struct stat sb;
        if (fstat(fileno(fs->f), &sb) == 0 && S_ISREG(sb.st_mode))
            fs->size = (unsigned long long)sb.st_size;
    }
    if (!fs->f) {
        int e = errno;
        file_close(fs);
        return err_set(ML_EIO, "source '%s': cannot open '%s': %s", src->name, src->file_path,
                       strerror(e));
    }
    if (!fs->path || buf_addf(&fs->ref, "file:%s", fs->path)) {
        file_close(fs);
        return err_set(ML_ENOMEM, "out of memory");
    }
    return source_wrap(&file_ops, fs, out);
}

static void file_close(void *impl)
{
    struct file_source *fs = impl;
    if (!fs)
        return;
    if (fs->f)
        fclose(fs->f);
    free(fs->path);
    if (fs->linebuf)
        mem_wipe(fs->linebuf, fs->linecap); /* records hold PII */
    free(fs->linebuf);
    json_page_free(fs->whole);
    buf_release(&fs->ref);
    free(fs);
}

static unsigned long file_pages(const void *impl)
{
    return ((const struct file_source *)impl)->pages;
}

/* Reads the whole file and splits it as one array into fs->whole. 0, or
 * ML_EJSON when it is not one array (err_msg says what it is), ML_ETOOBIG,
 * ML_EIO. */
static int read_whole(struct file_source *fs)
{
    char chunk[65536];
    struct buf text;
    size_t n;
    int rc = 0;
    buf_init(&text, WHOLE_FILE_MAX);
    rewind(fs->f);
    while (!rc && (n = fread(chunk, 1, sizeof(chunk), fs->f)) > 0)
        rc = buf_add(&text, chunk, n);
    mem_wipe(chunk, sizeof(chunk));
    if (!rc && ferror(fs->f))
        rc = err_set(ML_EIO, "reading '%s': %s", fs->path, strerror(errno));
    if (rc == ML_ETOOBIG)
        rc = err_set(ML_ETOOBIG,
                     "'%s' holds one JSON array larger than %zu bytes; write it as JSON Lines",
                     fs->path, WHOLE_FILE_MAX);
    if (!rc && !(fs->whole = json_page_new()))
        rc = err_set(ML_ENOMEM, "out of memory");
    if (!rc)
        rc = json_page_set_array(fs->whole, &text);
    buf_wipe(&text);
    if (rc) {
        json_page_free(fs->whole);
        fs->whole = NULL;
    }
    return rc;
}

/* format auto: is the first non-space byte of the file (after a BOM) '['? */
static int starts_with_bracket(struct file_source *fs)
{
    int c = getc(fs->f);
    if (c == 0xef && getc(fs->f) == 0xbb && getc(fs->f) == 0xbf)
        c = getc(fs->f);
    while (c == ' ' || c == '\t' || c == '\r' || c == '\n')
        c = getc(fs->f);
    rewind(fs->f);
    return c == '[';
}

/* Decides the format on the first call; for json reads the file. */
static int file_start(struct file_source *fs)
{
    int rc;
    fs->started = 1;
    if (fs->format == FILE_FORMAT_JSONL)
        return 0;
    if (fs->format == FILE_FORMAT_AUTO && !starts_with_bracket(fs)) {
        fs->format = FILE_FORMAT_JSONL;
        return 0;
    }
    rc = read_whole(fs);
    if (rc == ML_EJSON && fs->format == FILE_FORMAT_AUTO) {
        /* starts with '[' but is not one array: JSON Lines whose first
         * record is an array */
        err_clear();
        rewind(fs->f);
        fs->format = FILE_FORMAT_JSONL;
        return 0;
    }
    if (rc)
        return err_prefix(rc, "file '%s' (format json)", fs->path);
    fs->format = FILE_FORMAT_JSON;
    return 0;
}

static int file_next_page(void *impl, struct source_page *pg)
{
    struct file_source *fs = impl;
    json_page *page;
    int rc = 0;

    if (fs->done)
        return 0;
    if (!fs->started && (rc = file_start(fs)))
        return rc;
    if (fs->format == FILE_FORMAT_JSON) {
        fs->done = 1;
        page = fs->whole;
        fs->whole = NULL;
        if (json_page_count(page) == 0) {
            json_page_free(page);
            return 0;
        }
        fs->pages++;
        pg->records = page;
        pg->ref = fs->ref.data;
        return 1;
    }
    page = json_page_new();
    if (!page)
        return err_set(ML_ENOMEM, "out of memory");
    while (!rc && json_page_count(page) < fs->page_size) {
        ssize_t n = getline(&fs->linebuf, &fs->linecap, fs->f);
        if (n < 0) {
            if (ferror(fs->f))
                rc = err_set(ML_EIO, "reading '%s': %s", fs->path, strerror(errno));
            fs->done = 1;
            break;
        }
        fs->line++;
        atomic_fetch_add(&fs->offset, (unsigned long long)n);
        if ((size_t)n > LINE_MAX_BYTES) {
            rc = err_set(ML_ETOOBIG, "'%s' line %lu is longer than %zu bytes", fs->path, fs->line,
                         LINE_MAX_BYTES);
            break;
        }
        size_t sp = 0;
        if (n >= 3 && memcmp(fs->linebuf, "\xef\xbb\xbf", 3) == 0)
            sp = 3; /* a BOM: at the start of the file, or of a concatenated file */
        while (sp < (size_t)n && strchr(" \t\r\n", fs->linebuf[sp]) && fs->linebuf[sp])
            sp++;
        if (sp < (size_t)n)
            rc = json_page_add_record(page, fs->linebuf, (size_t)n, fs->line);
        mem_wipe(fs->linebuf, (size_t)n);
    }
    if (rc || json_page_count(page) == 0) {
        json_page_free(page);
        return rc ? err_prefix(rc, "file '%s'", fs->path) : 0;
    }
    fs->pages++;
    pg->records = page;
    pg->ref = fs->ref.data;
    return 1;
}
