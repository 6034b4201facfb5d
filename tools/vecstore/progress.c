/*
 * progress.c — the stderr progress bar (contract in progress.h).
 *
 * The bar is redrawn in place with '\r' and cleared with an ANSI erase-line before any
 * other message, so an error printed mid-import never ends up glued to a half bar.
 */
#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#include "cli.h"

#define BAR_WIDTH 30

void progress_start(progress *p, const char *label) {
    p->on = isatty(STDERR_FILENO);
    p->drawn = 0;
    p->t0 = p->last = cli_now();
    p->label = label;
}

void progress_update(progress *p, double frac, uint64_t count) {
    if (!p->on) return;
    double now = cli_now();
    if (p->drawn && now - p->last < 0.1 && frac < 1.0) return;
    p->last = now;
    if (frac < 0) frac = 0;
    if (frac > 1) frac = 1;
    int fill = (int)(frac * BAR_WIDTH);
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < fill ? '#' : '.';
    bar[BAR_WIDTH] = 0;
    double el = now - p->t0;
    fprintf(stderr, "\r%-10s [%s] %5.1f%%  %llu records  %.0f/s", p->label, bar, frac * 100.0,
            (unsigned long long)count, el > 0 ? (double)count / el : 0.0);
    fflush(stderr);
    p->drawn = 1;
}

void progress_end(progress *p) {
    if (!p->on || !p->drawn) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->drawn = 0;
}
