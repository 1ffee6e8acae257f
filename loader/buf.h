/* buf.h - the one growable byte buffer used everywhere.
 *
 * Invariants: `data` is never NULL and always NUL-terminated at data[len]
 * (an empty buffer points at a shared static ""); len < cap whenever cap > 0.
 * `max` (0 = unlimited) caps len for untrusted input: an append that would
 * exceed it fails with ML_ETOOBIG and leaves the buffer unchanged.
 * Appends fail with ML_ENOMEM without changing the buffer.
 */
#ifndef ML_BUF_H
#define ML_BUF_H

#include <stdarg.h>
#include <stddef.h>

extern char buf_empty_[];

struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};

#define BUF_INIT                                                                                   \
    {                                                                                              \
        buf_empty_, 0, 0, 0                                                                        \
    }

void buf_init(struct buf *b, size_t max);
int buf_grow(struct buf *b, size_t extra);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
/* Appends v in decimal, as "%lld" writes it (no printf: for a cell of
 * every row). */
int buf_add_int(struct buf *b, long long v);
/* The same digits written to the end of num[0..BUF_INT_LEN) (no NUL):
 * returns where they start; *len gets their number. */
#define BUF_INT_LEN 24
const char *buf_int_text(char num[BUF_INT_LEN], long long v, size_t *len);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Shortens to `len` (<= current len). */
void buf_truncate(struct buf *b, size_t len);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Frees the memory; the buffer is empty again and keeps its max. */
void buf_release(struct buf *b);
/* Overwrites the whole allocation with zeros, then releases it. Use for
 * buffers that held secrets or PII. */
void buf_wipe(struct buf *b);
/* Hands the malloc'd string to the caller (NULL on allocation failure) and
 * leaves the buffer empty. */
char *buf_detach(struct buf *b, size_t *len);

/* Zeroes n bytes in a way the compiler cannot drop. */
void mem_wipe(void *p, size_t n);

#endif
