/*
 * progress.h — a one-line progress bar on stderr.
 *
 * It draws only when stderr is a terminal (isatty), so logs, pipes and the tests see
 * nothing but the summary lines; redraws are rate-limited to ten per second so that a
 * fast import does not spend its time repainting.
 */
#ifndef VS_CLI_PROGRESS_H
#define VS_CLI_PROGRESS_H

#include <stdint.h>

typedef struct progress {
    int on;          /* stderr is a terminal */
    int drawn;       /* something is on the line and must be cleared */
    double t0, last; /* start and last redraw (cli_now seconds) */
    const char *label;
} progress;

void progress_start(progress *p, const char *label);
/* frac in [0, 1]; count is what has been processed so far (records). */
void progress_update(progress *p, double frac, uint64_t count);
/* Clears the bar so that the next line starts on a clean line. */
void progress_end(progress *p);

#endif
