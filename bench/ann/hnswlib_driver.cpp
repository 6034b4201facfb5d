/*
 * hnswlib_driver.cpp — native hnswlib, the reference peer of the ANN benchmark.
 *
 * hnswlib is a header-only C++ library; its strongest build is the one compiled for the
 * machine it runs on, so scripts/bench-ann.sh compiles this file at run time from
 * Debian's libhnswlib-dev headers (/usr/include/hnswlib) with
 *     g++ -O3 -march=native -DNDEBUG -std=c++17 -pthread
 * which turns on its AVX-512 L2 kernel (hnswlib.h: USE_AVX512 when __AVX512F__).
 *
 * BUILD   HierarchicalNSW<float>(L2Space(d), n, M, efConstruction, seed 100); the rows are
 *         added with addPoint(row, label = row index) from --threads threads pulling rows
 *         from one atomic counter (what hnswlib's Python binding's ParallelFor does).
 *         build_s = the whole addPoint phase (includes copying the vectors in).
 * INDEX   index_bytes = the size of saveIndex()'s file: level-0 block (vectors, 2·M links,
 *         labels) + upper-layer link lists, i.e. the index as hnswlib stores it.
 * SEARCH  setEf(ef); searchKnn(q, k) one query at a time on this thread (hnswlib's
 *         search is single-threaded per call), sweep as in annrun.h.
 *
 * usage: hnswlib_driver BASE QUERY OUTDIR [annrun.h options]
 */
#include <hnswlib/hnswlib.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "annrun.h"

static const char *PROG = "hnswlib_driver";

struct ctx {
    hnswlib::HierarchicalNSW<float> *h;
};

static int search_one(void *c, const float *q, unsigned k, unsigned ef, int32_t *ids) {
    hnswlib::HierarchicalNSW<float> *h = static_cast<struct ctx *>(c)->h;
    h->setEf(ef);
    auto r = h->searchKnn(q, k);
    int got = (int)r.size();
    for (int i = got - 1; i >= 0; i--) { /* the queue pops the farthest first */
        ids[i] = (int32_t)r.top().second;
        r.pop();
    }
    return got;
}

int main(int argc, char **argv) {
    ann_opts o;
    char err[ANN_ERR_LEN];
    size_t n, dim, nq, qdim;
    ann_parse(PROG, argc, argv, &o);
    if (std::string(o.tag) == PROG) o.tag = "hnswlib";
    float *xb = ann_read_f32(o.base, &n, &dim, err);
    if (!xb) ann_die(PROG, err);
    float *xq = ann_read_f32(o.query, &nq, &qdim, err);
    if (!xq) ann_die(PROG, err);
    if (qdim != dim) ann_die(PROG, "base and query dimensions differ");

    ann_build b = {};
    b.import_s = -1;
    b.hwm_reset = ann_reset_hwm();
    b.rss_before = ann_status_bytes("VmRSS");

    hnswlib::L2Space space(dim);
    auto *h = new hnswlib::HierarchicalNSW<float>(&space, n, o.m, o.efc, 100);
    double t0 = ann_now();
    {
        std::atomic<size_t> next(0);
        auto work = [&]() {
            for (size_t i; (i = next.fetch_add(1)) < n;) h->addPoint(xb + i * dim, i);
        };
        std::vector<std::thread> pool;
        for (unsigned t = 1; t < o.threads; t++) pool.emplace_back(work);
        work();
        for (auto &t : pool) t.join();
    }
    b.build_s = ann_now() - t0;
    b.hwm_after = ann_status_bytes("VmHWM");
    fprintf(stderr, "%s: built %zu x %zu in %.2f s on %u threads\n", PROG, n, dim, b.build_s,
            o.threads);

    std::string tmp = std::string(o.outdir) + "/hnswlib.index.tmp";
    h->saveIndex(tmp);
    struct stat st;
    b.index_bytes = stat(tmp.c_str(), &st) == 0 ? (uint64_t)st.st_size : 0;
    unlink(tmp.c_str());
    b.index_how = "size of saveIndex() file (vectors + links + labels)";
    b.version = "hnswlib (Debian libhnswlib-dev headers), g++ -O3 -march=native";
#if defined(USE_AVX512)
    b.notes = "distance kernel: AVX-512 (USE_AVX512)";
#elif defined(USE_AVX)
    b.notes = "distance kernel: AVX (USE_AVX)";
#else
    b.notes = "distance kernel: SSE or scalar";
#endif

    FILE *f = ann_json_open(PROG, &o, "hnswlib", n, dim, nq, &b);
    struct ctx c = {h};
    ann_sweep(PROG, &o, f, xq, nq, dim, &c, search_one);
    delete h;
    ann_free(xb);
    ann_free(xq);
    return 0;
}
