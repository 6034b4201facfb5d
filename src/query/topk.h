/*
 * topk.h — bounded top-k selection (a binary min-heap on score).
 *
 * Scores are "higher is better" throughout the engine (see simd/distance.h). The heap
 * keeps the k best (score, segment slot, row) triples; `floor` is the score a candidate
 * must beat once the heap is full, so the scan loop rejects most rows with one compare.
 * Ties are broken by (slot, row) so results are deterministic across runs and
 * identical before and after flush/compaction only up to equal scores.
 */
#ifndef VS_QUERY_TOPK_H
#define VS_QUERY_TOPK_H

#include <stddef.h>
#include <stdint.h>

typedef struct vs__hit {
    float score;
    uint32_t slot; /* segment slot in the query's segment list */
    uint32_t row;
} vs__hit;

typedef struct vs__topk {
    vs__hit *h;
    size_t n, k;
    float floor; /* -inf until full */
} vs__topk;

/* a is worse than b */
static inline int vs__hit_worse(const vs__hit *a, const vs__hit *b) {
    if (a->score != b->score) return a->score < b->score;
    if (a->slot != b->slot) return a->slot > b->slot;
    return a->row > b->row;
}

static inline void vs__topk_sift_down(vs__topk *t, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->n && vs__hit_worse(&t->h[l], &t->h[m])) m = l;
        if (r < t->n && vs__hit_worse(&t->h[r], &t->h[m])) m = r;
        if (m == i) return;
        vs__hit tmp = t->h[i];
        t->h[i] = t->h[m];
        t->h[m] = tmp;
        i = m;
    }
}

static inline void vs__topk_push(vs__topk *t, float score, uint32_t slot, uint32_t row) {
    vs__hit x = {score, slot, row};
    if (t->n < t->k) {
        size_t i = t->n++;
        t->h[i] = x;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!vs__hit_worse(&t->h[i], &t->h[p])) break;
            vs__hit tmp = t->h[i];
            t->h[i] = t->h[p];
            t->h[p] = tmp;
            i = p;
        }
        if (t->n == t->k) t->floor = t->h[0].score;
        return;
    }
    if (!vs__hit_worse(&t->h[0], &x)) return;
    t->h[0] = x;
    vs__topk_sift_down(t, 0);
    t->floor = t->h[0].score;
}

/* Sorts the heap's contents best-first in place (destroys the heap order). */
void vs__topk_sort(vs__topk *t);

#endif
