/*
 * quant_kmeans.c — k-means for one PQ sub-space: k-means++ seeding, then Lloyd.
 *
 * Seeding follows Arthur & Vassilvitskii, "k-means++: The Advantages of Careful
 * Seeding" (SODA 2007), section 2.2: the first centre is a uniformly drawn point, each
 * next one a point drawn with probability D(x)^2 / sum D^2, D(x) the distance from x to
 * the nearest centre chosen so far. Lloyd's iteration then alternates (1) assign every
 * point to its nearest centre and (2) move every centre to the mean of its points,
 * until no assignment changes or `iters` updates were made.
 *
 * DETERMINISM. Training must give the same codebook for the same seed on every machine,
 * whatever SIMD build it runs (a codebook trained on one node must encode the same way
 * as one trained on another, and the tests compare with memcmp). Every distance comes
 * from ops->cols, which sums in index order without fused multiply-add on every build
 * (quant.h), and argmin takes the first minimum; everything else here is sequential C
 * (sums in double, in point order). Random draws come from vs__quant_rng.
 *
 * EMPTY CLUSTERS. A centre that lost all its points is moved onto the point that is
 * currently farthest from its own centre (each such point used once), the cheapest
 * deterministic repair: it splits the worst-served region. When every point sits on a
 * centre already (fewer distinct points than k) the empty centre stays a duplicate; a
 * duplicate never wins an assignment (argmin takes the first), which is harmless.
 *
 * COST. Seeding and each Lloyd pass are n * k * d multiply-adds, vectorised across the
 * k centres (or the n points when seeding) by ops->cols. With n = 65536, d = 8, k = 256
 * a pass takes about 20 ms on one AVX-512 core (bench/bench_quant).
 *
 * Memory: x transposed (n * d floats) for the seeding kernel, n distances and
 * assignments, k * d double sums. All through util/alloc.h; VS_ENOMEM, nothing leaks.
 */
#include <string.h>

#include "index/quant.h"
#include "util/alloc.h"

int vs__quant_kmeans(const vs__quant_ops *ops, const float *x, size_t n, size_t d, size_t k,
                     unsigned iters, uint64_t seed, float *cent_t, double *mse, vs__err *e) {
    int rc = VS_OK;
    float *xt = NULL, *dmin = NULL, *dnew = NULL, *dk = NULL;
    uint8_t *assign = NULL;
    double *sums = NULL;
    size_t *counts = NULL;
    size_t nd;
    uint64_t rng = seed;

    if (vs__mul_ok(n, d, &nd) || nd > SIZE_MAX / sizeof(float) || k == 0 || k > 256 || n == 0)
        return vs__errf(e, VS_EINVAL, "k-means: bad sizes n %zu d %zu k %zu", n, d, k);
    xt = vs__malloc(nd * sizeof(float));
    dmin = vs__malloc(n * sizeof(float));
    dnew = vs__malloc(n * sizeof(float));
    dk = vs__malloc(k * sizeof(float));
    assign = vs__malloc(n);
    sums = vs__malloc(k * d * sizeof(double));
    counts = vs__malloc(k * sizeof(size_t));
    if (!xt || !dmin || !dnew || !dk || !assign || !sums || !counts) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory training k-means (%zu points of %zu)", n, d);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) xt[j * n + i] = x[i * d + j];

    /* ---- k-means++ seeding ---- */
    size_t first = (size_t)(vs__quant_rng(&rng) % n);
    for (size_t j = 0; j < d; j++) cent_t[j * k] = x[first * d + j];
    ops->cols(x + first * d, xt, d, n, n, 1, dmin);
    size_t c = 1;
    for (; c < k; c++) {
        double total = 0.0;
        for (size_t i = 0; i < n; i++) total += dmin[i];
        if (!(total > 0.0)) break; /* every point is a centre already */
        double r = vs__quant_rng_unit(&rng) * total, acc = 0.0;
        size_t pick = n;
        for (size_t i = 0; i < n; i++) {
            if (dmin[i] <= 0.0f) continue;
            acc += dmin[i];
            pick = i;
            if (acc > r) break;
        }
        /* pick < n: total > 0 means some dmin > 0, and rounding can only leave us at
         * the last such point. */
        for (size_t j = 0; j < d; j++) cent_t[j * k + c] = x[pick * d + j];
        ops->cols(x + pick * d, xt, d, n, n, 1, dnew);
        for (size_t i = 0; i < n; i++)
            if (dnew[i] < dmin[i]) dmin[i] = dnew[i];
    }
    for (; c < k; c++) /* duplicates of the first centre */
        for (size_t j = 0; j < d; j++) cent_t[j * k + c] = cent_t[j * k];

    /* ---- Lloyd ---- */
    double err = 0.0;
    for (unsigned it = 0;; it++) {
        size_t changed = 0;
        err = 0.0;
        for (size_t i = 0; i < n; i++) {
            ops->cols(x + i * d, cent_t, d, k, k, 1, dk);
            size_t a = ops->argmin(dk, k);
            if (it == 0 || assign[i] != (uint8_t)a) changed++;
            assign[i] = (uint8_t)a;
            dmin[i] = dk[a];
            err += dk[a];
        }
        if (it == iters || changed == 0) break;

        memset(sums, 0, k * d * sizeof(double));
        memset(counts, 0, k * sizeof(size_t));
        for (size_t i = 0; i < n; i++) {
            double *s = sums + (size_t)assign[i] * d;
            for (size_t j = 0; j < d; j++) s[j] += x[i * d + j];
            counts[assign[i]]++;
        }
        for (size_t cc = 0; cc < k; cc++) {
            if (counts[cc] > 0) {
                for (size_t j = 0; j < d; j++)
                    cent_t[j * k + cc] = (float)(sums[cc * d + j] / (double)counts[cc]);
                continue;
            }
            /* Empty: move it onto the farthest point not used yet. */
            size_t far = 0;
            for (size_t i = 1; i < n; i++)
                if (dmin[i] > dmin[far]) far = i;
            if (!(dmin[far] > 0.0f)) continue;
            dmin[far] = -1.0f;
            for (size_t j = 0; j < d; j++) cent_t[j * k + cc] = x[far * d + j];
        }
    }
    if (mse) *mse = err / (double)n;

done:
    vs__free(xt);
    vs__free(dmin);
    vs__free(dnew);
    vs__free(dk);
    vs__free(assign);
    vs__free(sums);
    vs__free(counts);
    return rc;
}
