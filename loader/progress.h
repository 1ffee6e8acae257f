/* progress.h - what a long stream is doing, while it does it.
 *
 * On a terminal (stderr is a tty): one live line per stream, redrawn at
 * most four times a second: records, records/s, pages, rejects, elapsed,
 * and a percentage and ETA when the source knows how far it is (a file).
 * Off a terminal: an info line per stream every `interval_s` seconds (none
 * when 0). Both are silent below the info log level (-q). The stream's
 * summary line at its end is the loader's own (load.c). Log lines written
 * while a live line shows first clear it (log.h log_set_before_write).
 */
#ifndef ML_PROGRESS_H
#define ML_PROGRESS_H

struct progress;

/* A stream's progress (stream: its name, copied). Never fails: without
 * memory there is no progress shown. */
struct progress *progress_start(const char *stream, unsigned interval_s);

/* After each page: the stream's records and rejects so far, pages read,
 * and how far the source is (0..1), or a negative number when it cannot
 * tell. NULL p is fine. */
void progress_update(struct progress *p, unsigned long long records, unsigned long long pages,
                     unsigned long long rejects, double fraction);

/* The stream ended: the live line is cleared. NULL is fine. */
void progress_end(struct progress *p);

/* From now on no live line, even on a terminal: the info lines every
 * interval_s seconds instead. For streams loaded on threads of their own at
 * the same time (one terminal line cannot show two streams); call it before
 * those threads start. */
void progress_lines_only(void);

#endif
