/* source_file.c - records from a local file (`kind: file`).
 *
 * The file is JSON Lines (one JSON record per line; blank lines skipped),
 * read a page of `page_size` lines at a time, so memory stays bounded by the
 * page size whatever the file's size. A line that is not valid JSON becomes a
 * string record, which the mapping rejects into load_rejects with its
 * position: a bad line never stops the load. A file whose first non-blank
 * byte is '[' holds one JSON array and is read whole (up to 256 MiB), as one
 * page. Page references are "file:<path>:<first line>"; a record's position
 * is "<ref>#<index in the page>".
 */
#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "banned.h"

#define WHOLE_FILE_MAX ((size_t)256 << 20)
#define LINE_MAX_BYTES ((size_t)64 << 20)

struct file_source {
    FILE *f;
    char *path;
    unsigned page_size;
    unsigned long pages;
    unsigned long line; /* lines read so far */
    struct buf page;    /* JSON text of the page being built */
    struct buf ref;
    char *linebuf;
    size_t linecap;
    int started;
    int done;
};

static int file_next_page(void *impl, struct source_page *pg);
static unsigned long file_pages(const void *impl);
static void file_close(void *impl);

static const struct source_ops file_ops = {file_next_page, NULL, file_pages, file_close};

int source_file_open(const struct config_source *src, struct source **out)
{
    struct file_source *fs;
    *out = NULL;
    if (!src->file_path)
        return err_set(ML_ECONFIG, "source '%s': no path", src->name);
    fs = calloc(1, sizeof(*fs));
    if (!fs)
        return err_set(ML_ENOMEM, "out of memory");
    buf_init(&fs->page, 0);
    buf_init(&fs->ref, 0);
    fs->page_size = src->page_size ? src->page_size : 100;
    fs->path = strdup(src->file_path);
    fs->f = fs->path ? fopen(fs->path, "rb") : NULL;
    if (!fs->f) {
        int e = errno;
        file_close(fs);
        return err_set(ML_EIO, "source '%s': cannot open '%s': %s", src->name, src->file_path,
                       strerror(e));
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
    free(fs->linebuf);
    buf_wipe(&fs->page); /* records hold PII */
    buf_release(&fs->ref);
    free(fs);
}

static unsigned long file_pages(const void *impl)
{
    return ((const struct file_source *)impl)->pages;
}

/* Reads the whole file (it starts with '['): one page. */
static int read_whole(struct file_source *fs, struct source_page *pg)
{
    char chunk[65536];
    size_t n;
    int rc = 0;
    buf_wipe(&fs->page);
    buf_init(&fs->page, WHOLE_FILE_MAX);
    while (!rc && (n = fread(chunk, 1, sizeof(chunk), fs->f)) > 0)
        rc = buf_add(&fs->page, chunk, n);
    if (!rc && ferror(fs->f))
        rc = err_set(ML_EIO, "reading '%s': %s", fs->path, strerror(errno));
    if (rc == ML_ETOOBIG)
        rc = err_set(ML_ETOOBIG,
                     "'%s' holds one JSON array larger than %zu bytes; write it as JSON Lines",
                     fs->path, WHOLE_FILE_MAX);
    if (!rc)
        rc = json_parse(fs->page.data, fs->page.len, &pg->doc);
    if (!rc && json_type(json_root(pg->doc)) != JSON_ARRAY) {
        json_free(pg->doc);
        pg->doc = NULL;
        rc = err_set(ML_EJSON, "'%s' starts with '[' but is not a JSON array", fs->path);
    }
    if (rc)
        return err_prefix(rc, "file '%s'", fs->path);
    fs->done = 1;
    buf_reset(&fs->ref);
    rc = buf_addf(&fs->ref, "file:%s:1", fs->path);
    if (rc)
        return rc;
    pg->ref = fs->ref.data;
    fs->pages++;
    return json_array_size(json_root(pg->doc)) ? 1 : 0;
}

static int file_next_page(void *impl, struct source_page *pg)
{
    struct file_source *fs = impl;
    unsigned records = 0;
    unsigned long first = 0;
    int rc = 0;

    if (fs->done)
        return 0;
    if (!fs->started) {
        int c;
        fs->started = 1;
        while ((c = getc(fs->f)) == ' ' || c == '\t' || c == '\r' || c == '\n')
            ;
        if (c != EOF)
            ungetc(c, fs->f);
        if (c == '[') {
            rewind(fs->f);
            return read_whole(fs, pg);
        }
        rewind(fs->f);
    }
    if (fs->page.cap)
        mem_wipe(fs->page.data, fs->page.cap);
    buf_reset(&fs->page);
    rc = buf_addc(&fs->page, '[');
    while (!rc && records < fs->page_size) {
        ssize_t n = getline(&fs->linebuf, &fs->linecap, fs->f);
        json_doc *probe;
        if (n < 0) {
            if (ferror(fs->f))
                rc = err_set(ML_EIO, "reading '%s': %s", fs->path, strerror(errno));
            fs->done = 1;
            break;
        }
        fs->line++;
        if ((size_t)n > LINE_MAX_BYTES) {
            rc = err_set(ML_ETOOBIG, "'%s' line %lu is longer than %zu bytes", fs->path, fs->line,
                         LINE_MAX_BYTES);
            break;
        }
        while (n > 0 && (fs->linebuf[n - 1] == '\n' || fs->linebuf[n - 1] == '\r'))
            n--;
        size_t sp = 0;
        while (sp < (size_t)n && (fs->linebuf[sp] == ' ' || fs->linebuf[sp] == '\t'))
            sp++;
        if (sp == (size_t)n)
            continue; /* blank line */
        if (!records)
            first = fs->line;
        if (records++)
            rc = buf_addc(&fs->page, ',');
        if (rc)
            break;
        /* a line that is not JSON becomes a string record (rejected by the
         * mapping, never quoted into a reason) */
        if (json_parse(fs->linebuf, (size_t)n, &probe) == 0) {
            json_free(probe);
            rc = buf_add(&fs->page, fs->linebuf, (size_t)n);
        } else {
            fs->linebuf[n] = '\0';
            rc = json_quote(&fs->page, fs->linebuf);
        }
        mem_wipe(fs->linebuf, (size_t)n);
    }
    if (!rc)
        rc = buf_addc(&fs->page, ']');
    if (rc)
        return err_prefix(rc, "file '%s'", fs->path);
    if (records == 0)
        return 0;
    rc = json_parse(fs->page.data, fs->page.len, &pg->doc);
    if (rc)
        return err_prefix(rc, "file '%s' (lines from %lu)", fs->path, first);
    buf_reset(&fs->ref);
    rc = buf_addf(&fs->ref, "file:%s:%lu", fs->path, first);
    if (rc) {
        json_free(pg->doc);
        pg->doc = NULL;
        return rc;
    }
    pg->ref = fs->ref.data;
    fs->pages++;
    return 1;
}
