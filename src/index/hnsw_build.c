/*
 * hnsw_build.c — bulk, multi-threaded construction of an HNSW graph.
 *
 * ALGORITHM (Malkov & Yashunin, Algorithms 1, 2 and 4)
 *   Rows are inserted one at a time (Algorithm 1). A row's level is drawn before the
 *   build from an exponential distribution, floor(-ln(u) / ln(m)), with u a hash of
 *   (seed, row) (splitmix64): the levels depend on the seed and the row alone, never on
 *   the thread count or the order of insertion, and they are known up front, so the
 *   upper layers' lists are allocated once, packed by row (hnsw_int.h).
 *   Insertion of q at level L: a greedy walk from the entry down to layer L+1
 *   (hnsw.c: vs__hnsw_descend), then on each layer min(L, top)..0 a beam search with
 *   ef_construction (Algorithm 2, hnsw.c), the neighbour selection heuristic of
 *   Algorithm 4 picks at most m of the results (extendCandidates = false,
 *   keepPrunedConnections = false, as hnswlib), q links to them and each of them links
 *   back to q. A back link into a full list (m0 = 2m on layer 0, m above) re-runs the
 *   heuristic over the old links plus q with that list's cap, as hnswlib does. The walk
 *   on the next layer down starts from the nearest result.
 *
 * THREADS AND LOCKING
 *   Workers take rows in row order from an atomic counter (row 0, or the first row not
 *   skipped, is placed first as the entry by the calling thread). Lists are written
 *   under a spinlock striped by node id (65536 stripes); a thread holds at most one
 *   stripe at a time (its own list, then each neighbour's in turn), so there is no lock
 *   order to get wrong and no deadlock. Walks read lists without locks (relaxed atomic
 *   words, hnsw_int.h), like hnswlib's readers see lists change between two reads: a
 *   concurrent rewrite only changes which nodes the walk sees. The entry point and top
 *   level sit under one mutex; a thread inserting a row above the current top holds it
 *   for that whole insertion (hnswlib does the same), which happens about log_m(n)
 *   times. Because another thread can link to q (a walk on layer l-1 may start at q,
 *   found on layer l) before q has written its own list on that layer, q merges its
 *   choice with whatever is already there rather than overwriting it.
 *   With one thread, the same seed and the same input give the same graph bit for bit.
 *
 * REACHABILITY REPAIR
 *   Pruning (Algorithm 4) can take away the last link into a node, which then cannot
 *   be found on layer 0 (hnswlib has the same fault; duplicates make it likelier). After
 *   the workers finish, a breadth-first pass from the entry marks what layer 0 reaches;
 *   each node it missed is searched for, and the nearest reached node found links to
 *   it: into a free slot, or, when its list is full, in place of its last link t, with
 *   t added to the missed node's own list (replacing its last link if that is full) so
 *   every path through the old link still exists (x -> u -> t). Links out of a node that
 *   was unreachable lie on no path from the entry, so no reached node is lost, and
 *   every repair reaches at least one more node: the pass ends with all of them reached.
 *
 * MEMORY
 *   Everything (graph, per-thread scratch, locks, the repair's queue) is allocated
 *   before the workers start, so a failed allocation returns VS_ENOMEM with nothing
 *   leaked and no thread to stop; workers never allocate. The graph is 137 bytes per
 *   row for m = 16 (hnsw_int.h); a worker adds a visited bitmap (n/8 bytes) and small
 *   buffers.
 *
 * PERFORMANCE (bench/bench_hnsw, 1M x 128 clustered, m = 16, ef_construction = 200,
 * Zen 5 dev box with 2 cores shared with other jobs)
 *   Nearly all the time is the ef_construction walk (hnsw.c), bound by memory like a
 *   search; the heuristic and the back links are a few %.
 *     1 thread: 112-114 s (112 s of CPU); hnswlib 0.6.2 (-O3 -march=native, same
 *     data and parameters): 259-271 s of CPU (271 s wall at best).
 *     2 threads: 200k rows 23.0 s -> 11.4 s (2.01x) with both cores free; at 1M the
 *     box was never free for a whole run: best 64.1 s (1.75x) with 1.66 cores busy.
 *     The CPU time of a 2-thread build equals the 1-thread one (107-117 s against
 *     112-128 s), so the threads add no work: no lock waits worth measuring.
 *   The repair relinks a handful of nodes (12 of 200k, 20 of 100k at 768 dims).
 */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "index/hnsw_int.h"
#include "util/alloc.h"

#define NLOCK 65536u
#define MAX_THREADS 256u
/* room for one list plus the new node's choice (merge case) */
#define BUF (3 * VS__HNSW_M_MAX + 1)

typedef struct build {
    vs__hnsw *h;
    const float *base;
    size_t dim;
    vs__hnsw_dist_fn dist;
    size_t efc;
    _Atomic uint8_t *locks;
    pthread_mutex_t gmu;
    atomic_size_t next;
    size_t to; /* rows below this are inserted by this call */
} build;

typedef struct worker {
    build *b;
    vs__hnsw_scratch *s;
    vs__hnsw_cand *cand; /* BUF */
    uint32_t *sel;       /* BUF */
    float *seld;         /* BUF */
    float *tmp;          /* BUF */
    pthread_t th;
} worker;

/* ---------------------------------------------------------------- locks -- */

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void lock_node(build *b, uint32_t i) {
    _Atomic uint8_t *l = &b->locks[i & (NLOCK - 1)];
    for (unsigned spins = 0;;) {
        if (!atomic_exchange_explicit(l, 1, memory_order_acquire)) return;
        while (atomic_load_explicit(l, memory_order_relaxed)) {
            if (++spins < 1024)
                cpu_relax();
            else
                sched_yield();
        }
    }
}

static void unlock_node(build *b, uint32_t i) {
    atomic_store_explicit(&b->locks[i & (NLOCK - 1)], 0, memory_order_release);
}

/* --------------------------------------------------------------- levels -- */

static uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint8_t draw_level(uint64_t seed, size_t row, double ml) {
    uint64_t r = splitmix64(seed ^ splitmix64((uint64_t)row));
    double u = ((double)(r >> 11) + 1.0) * (1.0 / 9007199254740992.0); /* (0, 1] */
    double l = -log(u) * ml;
    return l >= VS__HNSW_MAX_LEVEL ? VS__HNSW_MAX_LEVEL : (uint8_t)l;
}

/* ---------------------------------------------------- Algorithm 4 (heuristic) -- */

static inline const float *row(const build *b, uint32_t i) {
    return b->base + (size_t)i * b->dim;
}

/* Chunk of selected nodes compared per kernel call: stops early, as hnswlib's loop
 * does at the first selected node nearer to the candidate than the query is. */
#define HCHUNK 8

/* C[0..nc) sorted nearest first (distances to the base point). Keeps a candidate iff
 * no node kept before it is nearer to it than the base point is; at most mmax. With
 * fewer than mmax candidates all are kept, as hnswlib does (it matters only while the
 * graph is smaller than m, where it links everything to everything). */
static size_t heuristic(worker *w, const vs__hnsw_cand *C, size_t nc, size_t mmax,
                        uint32_t *out, float *outd) {
    build *b = w->b;
    size_t ns = 0;
    if (nc < mmax) {
        for (; ns < nc; ns++) {
            out[ns] = C[ns].id & VS__HNSW_ID_MASK;
            outd[ns] = C[ns].d;
        }
        return ns;
    }
    for (size_t i = 0; i < nc && ns < mmax; i++) {
        uint32_t c = C[i].id & VS__HNSW_ID_MASK;
        float dc = C[i].d;
        int good = 1;
        for (size_t j = 0; j < ns && good; j += HCHUNK) {
            size_t k = ns - j < HCHUNK ? ns - j : HCHUNK;
            b->dist(row(b, c), b->base, b->dim, out + j, k, w->tmp);
            for (size_t t = 0; t < k; t++)
                if (w->tmp[t] < dc) {
                    good = 0;
                    break;
                }
        }
        if (good) {
            out[ns] = c;
            outd[ns] = dc;
            ns++;
        }
    }
    return ns;
}

static void sort_cands(vs__hnsw_cand *C, size_t n) {
    for (size_t i = 1; i < n; i++) {
        vs__hnsw_cand x = C[i];
        size_t j = i;
        while (j > 0 && C[j - 1].d > x.d) {
            C[j] = C[j - 1];
            j--;
        }
        C[j] = x;
    }
}

/* Reads node x's list on layer l into ids; returns the count. */
static size_t read_list(const vs__hnsw *h, uint32_t x, int l, uint32_t *ids) {
    const uint32_t *L = vs__hnsw_list(h, x, l);
    uint32_t cap = vs__hnsw_cap(h, l);
    size_t k = 0;
    for (; k < cap; k++) {
        uint32_t v = vs__hnsw_ld(L + k);
        if (v == VS__HNSW_NONE) break;
        ids[k] = v;
    }
    return k;
}

static void write_list(const vs__hnsw *h, uint32_t x, int l, const uint32_t *ids, size_t k) {
    uint32_t *L = vs__hnsw_list(h, x, l);
    uint32_t cap = vs__hnsw_cap(h, l);
    for (size_t j = 0; j < k; j++) vs__hnsw_st(L + j, ids[j]);
    for (size_t j = k; j < cap; j++) vs__hnsw_st(L + j, VS__HNSW_NONE);
}

/* Adds `add` (k nodes, distances addd from x) to x's list on layer l; when the result
 * exceeds the cap, Algorithm 4 over the union picks what stays. Caller holds x's lock. */
static void merge_links(worker *w, uint32_t x, int l, const uint32_t *add, const float *addd,
                        size_t k) {
    build *b = w->b;
    const vs__hnsw *h = b->h;
    const size_t cap = vs__hnsw_cap(h, l);
    uint32_t *L = vs__hnsw_list(h, x, l);
    size_t have = read_list(h, x, l, w->sel);
    /* drop what is already there (and self links) */
    size_t nadd = 0;
    uint32_t addv[2 * VS__HNSW_M_MAX];
    float adddv[2 * VS__HNSW_M_MAX];
    for (size_t i = 0; i < k; i++) {
        int dup = add[i] == x;
        for (size_t j = 0; j < have && !dup; j++) dup = w->sel[j] == add[i];
        if (!dup) {
            addv[nadd] = add[i];
            adddv[nadd++] = addd[i];
        }
    }
    if (!nadd) return;
    if (have + nadd <= cap) {
        for (size_t i = 0; i < nadd; i++) vs__hnsw_st(L + have + i, addv[i]);
        return;
    }
    /* Over the cap: distances from x to its current links, then Algorithm 4. */
    b->dist(row(b, x), b->base, b->dim, w->sel, have, w->tmp);
    size_t nc = 0;
    for (size_t j = 0; j < have; j++) w->cand[nc++] = (vs__hnsw_cand){w->tmp[j], w->sel[j]};
    for (size_t i = 0; i < nadd; i++) w->cand[nc++] = (vs__hnsw_cand){adddv[i], addv[i]};
    sort_cands(w->cand, nc);
    size_t ns = heuristic(w, w->cand, nc, cap, w->sel, w->seld);
    write_list(h, x, l, w->sel, ns);
}

/* ------------------------------------------------------------ Algorithm 1 -- */

static void insert(worker *w, uint32_t q) {
    build *b = w->b;
    vs__hnsw *h = b->h;
    const int lq = h->level[q];
    const float *vq = row(b, q);

    pthread_mutex_lock(&b->gmu);
    uint32_t ep = h->entry;
    int top = h->top;
    int hold = lq > top;
    if (!hold) pthread_mutex_unlock(&b->gmu);
    if (ep == VS__HNSW_NONE) { /* the first node */
        h->entry = q;
        h->top = lq;
        pthread_mutex_unlock(&b->gmu);
        return;
    }
    float dep;
    b->dist(vq, b->base, b->dim, &ep, 1, &dep);
    if (top > lq) vs__hnsw_descend(h, b->base, b->dim, b->dist, vq, top, lq, &ep, &dep, w->s, NULL);
    for (int l = lq < top ? lq : top; l >= 0; l--) {
        size_t np = vs__hnsw_search_layer(h, b->base, b->dim, b->dist, vq, ep, dep, b->efc, l,
                                          w->s, NULL);
        vs__hnsw_cand *P = w->s->pool;
        /* q itself cannot be in the graph yet on this layer, but a concurrent link to
         * q could make the walk meet it: drop it. */
        size_t nc = 0;
        for (size_t i = 0; i < np; i++)
            if ((P[i].id & VS__HNSW_ID_MASK) != q) P[nc++] = P[i];
        if (!nc) continue;
        uint32_t sel[VS__HNSW_M_MAX];
        float seld[VS__HNSW_M_MAX];
        size_t ns = heuristic(w, P, nc, h->m, sel, seld);
        ep = P[0].id & VS__HNSW_ID_MASK;
        dep = P[0].d;
        lock_node(b, q);
        merge_links(w, q, l, sel, seld, ns);
        unlock_node(b, q);
        for (size_t i = 0; i < ns; i++) {
            lock_node(b, sel[i]);
            merge_links(w, sel[i], l, &q, &seld[i], 1);
            unlock_node(b, sel[i]);
        }
    }
    if (hold) {
        h->entry = q;
        h->top = lq;
        pthread_mutex_unlock(&b->gmu);
    }
}

static void *work(void *arg) {
    worker *w = arg;
    build *b = w->b;
    const vs__hnsw *h = b->h;
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&b->next, 1, memory_order_relaxed);
        if (i >= b->to) break;
        if (h->level[i] != VS__HNSW_ABSENT) insert(w, (uint32_t)i);
    }
    return NULL;
}

/* ----------------------------------------------------------------- repair -- */

static inline int bit_get(const uint64_t *m, size_t i) { return (int)((m[i >> 6] >> (i & 63)) & 1); }
static inline void bit_set(uint64_t *m, size_t i) { m[i >> 6] |= 1ull << (i & 63); }

/* Marks everything reachable on layer 0 from `from` (not yet marked). */
static size_t bfs(const vs__hnsw *h, uint32_t from, uint64_t *seen, uint32_t *queue) {
    if (bit_get(seen, from)) return 0;
    size_t head = 0, tail = 0;
    bit_set(seen, from);
    queue[tail++] = from;
    while (head < tail) {
        const uint32_t *L = vs__hnsw_list(h, queue[head++], 0);
        for (uint32_t j = 0; j < h->m0 && L[j] != VS__HNSW_NONE; j++)
            if (!bit_get(seen, L[j])) {
                bit_set(seen, L[j]);
                queue[tail++] = L[j];
            }
    }
    return tail;
}

static size_t list_len(const vs__hnsw *h, uint32_t x, int l) {
    const uint32_t *L = vs__hnsw_list(h, x, l);
    size_t k = 0;
    while (k < vs__hnsw_cap(h, l) && L[k] != VS__HNSW_NONE) k++;
    return k;
}

static size_t repair(worker *w, uint64_t *seen, uint32_t *queue) {
    build *b = w->b;
    vs__hnsw *h = b->h;
    size_t reached = bfs(h, h->entry, seen, queue), fixed = 0;
    for (size_t u = 0; u < h->n && reached < h->nodes; u++) {
        if (h->level[u] == VS__HNSW_ABSENT || bit_get(seen, u)) continue;
        const float *vu = row(b, (uint32_t)u);
        uint32_t ep = h->entry;
        float dep;
        b->dist(vu, b->base, b->dim, &ep, 1, &dep);
        vs__hnsw_descend(h, b->base, b->dim, b->dist, vu, h->top, 0, &ep, &dep, w->s, NULL);
        size_t np = vs__hnsw_search_layer(h, b->base, b->dim, b->dist, vu, ep, dep, b->efc, 0,
                                          w->s, NULL);
        const vs__hnsw_cand *P = w->s->pool;
        uint32_t x = VS__HNSW_NONE, xfull = VS__HNSW_NONE;
        for (size_t i = 0; i < np && x == VS__HNSW_NONE; i++) {
            uint32_t c = P[i].id & VS__HNSW_ID_MASK;
            if (c == u || !bit_get(seen, c)) continue;
            if (list_len(h, c, 0) < h->m0)
                x = c;
            else if (xfull == VS__HNSW_NONE)
                xfull = c;
        }
        if (x == VS__HNSW_NONE) x = xfull != VS__HNSW_NONE ? xfull : h->entry;
        uint32_t *Lx = vs__hnsw_list(h, x, 0);
        size_t kx = list_len(h, x, 0);
        /* Searches may be reading these lists (a growing graph): word stores. */
        if (kx < h->m0) {
            vs__hnsw_st(Lx + kx, (uint32_t)u);
        } else { /* x -> u -> t in place of x -> t */
            uint32_t t = Lx[h->m0 - 1];
            vs__hnsw_st(Lx + h->m0 - 1, (uint32_t)u);
            uint32_t *Lu = vs__hnsw_list(h, (uint32_t)u, 0);
            size_t ku = list_len(h, (uint32_t)u, 0);
            int has = t == u;
            for (size_t j = 0; j < ku; j++) has |= Lu[j] == t;
            if (!has) vs__hnsw_st(Lu + (ku < h->m0 ? ku : h->m0 - 1), t);
        }
        reached += bfs(h, (uint32_t)u, seen, queue);
        fixed++;
    }
    return fixed;
}

/* ------------------------------------------------------- insertion state -- */

/* What vs__hnsw_insert keeps between calls on one graph: the locks, the entry mutex
 * and one worker per thread (scratch prepared for `prepared` rows). */
struct vs__hnsw_ins {
    build b;
    worker *ws;
    size_t nw;
    size_t prepared;
};

static void free_workers(worker *ws, size_t nw) {
    if (!ws) return;
    for (size_t i = 0; i < nw; i++) {
        vs__hnsw_scratch_free(ws[i].s);
        vs__free(ws[i].cand);
        vs__free(ws[i].sel);
        vs__free(ws[i].seld);
        vs__free(ws[i].tmp);
    }
    vs__free(ws);
}

void vs__hnsw_ins_free(struct vs__hnsw_ins *ins) {
    if (!ins) return;
    free_workers(ins->ws, ins->nw);
    vs__free(ins->b.locks);
    pthread_mutex_destroy(&ins->b.gmu);
    vs__free(ins);
}

/* Makes h->ins ready for nt workers over h->cap rows; VS_ENOMEM leaves h as it was
 * (an old state of fewer workers is kept). */
static int ins_ready(vs__hnsw *h, size_t nt) {
    struct vs__hnsw_ins *ins = h->ins;
    if (!ins) {
        if (!(ins = vs__calloc(1, sizeof *ins))) return VS_ENOMEM;
        if (!(ins->b.locks = vs__calloc(NLOCK, sizeof *ins->b.locks)) ||
            pthread_mutex_init(&ins->b.gmu, NULL)) {
            vs__free(ins->b.locks);
            vs__free(ins);
            return VS_ENOMEM;
        }
        h->ins = ins;
    }
    if (ins->nw < nt) {
        worker *ws = vs__calloc(nt, sizeof *ws);
        if (!ws) return VS_ENOMEM;
        for (size_t i = 0; i < nt; i++) {
            worker *w = &ws[i];
            w->b = &ins->b;
            if (!(w->s = vs__hnsw_scratch_new()) ||
                !(w->cand = vs__malloc(BUF * sizeof *w->cand)) ||
                !(w->sel = vs__malloc(BUF * sizeof *w->sel)) ||
                !(w->seld = vs__malloc(BUF * sizeof *w->seld)) ||
                !(w->tmp = vs__malloc(BUF * sizeof *w->tmp))) {
                free_workers(ws, nt);
                return VS_ENOMEM;
            }
        }
        free_workers(ins->ws, ins->nw);
        ins->ws = ws;
        ins->nw = nt;
        ins->prepared = 0;
    }
    const size_t efc = h->ef_construction < h->m ? h->m : h->ef_construction;
    if (ins->prepared < h->cap) {
        for (size_t i = 0; i < ins->nw; i++)
            if (vs__hnsw_scratch_prepare(ins->ws[i].s, h->cap, efc)) return VS_ENOMEM;
        ins->prepared = h->cap;
    }
    ins->b.h = h;
    ins->b.dim = h->dim;
    ins->b.efc = efc;
    ins->b.dist = vs__hnsw_kern_for(vs__dist())->dist[h->kind == VS__SCORE_NEGL2];
    return VS_OK;
}

/* ---------------------------------------------------------------- growing -- */

static int check_params(size_t dim, int kind, const vs__hnsw_params *p, vs__err *e) {
    if (!p) return vs__errf(e, VS_EINVAL, "hnsw: missing parameters");
    if (p->m < VS__HNSW_M_MIN || p->m > VS__HNSW_M_MAX)
        return vs__errf(e, VS_EINVAL, "hnsw m must be in %d..%d, got %u", VS__HNSW_M_MIN,
                        VS__HNSW_M_MAX, p->m);
    if (p->ef_construction < 1 || p->ef_construction > VS__HNSW_EF_MAX)
        return vs__errf(e, VS_EINVAL, "hnsw ef_construction must be in 1..%d, got %u",
                        VS__HNSW_EF_MAX, p->ef_construction);
    if (kind != VS__SCORE_DOT && kind != VS__SCORE_NEGL2)
        return vs__errf(e, VS_EINVAL, "hnsw: unknown score kind %d", kind);
    if (dim == 0) return vs__errf(e, VS_EINVAL, "hnsw: dimension 0");
    return VS_OK;
}

int vs__hnsw_new(size_t dim, int kind, const vs__hnsw_params *p, vs__hnsw **out, vs__err *e) {
    *out = NULL;
    int rc = check_params(dim, kind, p, e);
    if (rc) return rc;
    vs__hnsw *h = vs__calloc(1, sizeof *h);
    if (!h) return vs__errf(e, VS_ENOMEM, "out of memory for an hnsw graph");
    h->dim = dim;
    h->kind = kind;
    h->m = p->m;
    h->m0 = 2 * p->m;
    h->stride0 = (h->m0 + 15) & ~15u;
    h->ef_construction = p->ef_construction;
    h->seed = p->seed;
    h->entry = VS__HNSW_NONE;
    h->top = -1;
    h->growing = 1;
    h->pub = vs__hnsw_pack(VS__HNSW_NONE, -1);
    *out = h;
    return VS_OK;
}

void vs__hnsw_grow_release(vs__hnsw_grow *g) {
    vs__free(g->level);
    vs__free(g->uoff);
    vs__aligned_free(g->l0);
    vs__free(g->up);
    memset(g, 0, sizeof *g);
}

/* Copies `used` bytes of src to dst and fills the rest of its `total` bytes with NONE
 * words (0xFF bytes): the lists of rows and layers not linked yet. */
static void copy_lists(void *dst, const void *src, size_t used, size_t total) {
    if (used) memcpy(dst, src, used);
    memset((char *)dst + used, 0xFF, total - used);
}

int vs__hnsw_grow_prepare(const vs__hnsw *h, size_t rows, int exact, const uint64_t *skip,
                          vs__hnsw_grow *g, vs__err *e) {
    memset(g, 0, sizeof *g);
    if (rows < h->n)
        return vs__errf(e, VS_EINVAL, "hnsw: cannot shrink below the %zu rows inserted", h->n);
    if (rows > VS__HNSW_MAX_ROWS)
        return vs__errf(e, VS_ERANGE, "hnsw: %zu rows exceed the limit of %zu", rows,
                        VS__HNSW_MAX_ROWS);
    size_t cap = rows;
    if (!exact) {
        if (rows <= h->cap) return VS_OK; /* room already */
        size_t grown = h->cap + h->cap / 2;
        if (cap < grown) cap = grown;
        if (cap < 1024) cap = 1024;
        if (cap > VS__HNSW_MAX_ROWS) cap = VS__HNSW_MAX_ROWS;
    } else if (rows == h->cap) {
        return VS_OK;
    }
    const size_t keep = cap < h->cap ? cap : h->cap; /* rows whose state is copied */
    size_t l0bytes;
    if (vs__mul_ok(cap ? cap : 1, (size_t)h->stride0 * sizeof(uint32_t), &l0bytes)) goto nomem;
    if (!(g->level = vs__malloc(cap ? cap : 1)) || !(g->uoff = vs__malloc((cap ? cap : 1) * 4)) ||
        !(g->l0 = vs__aligned_alloc(64, l0bytes)))
        goto nomem;
    if (keep) {
        memcpy(g->level, h->level, keep);
        memcpy(g->uoff, h->uoff, keep * 4);
    }
    size_t nupper = keep < h->cap ? h->uoff[keep] : h->nupper, nodes = 0;
    for (size_t i = 0; i < keep; i++) nodes += g->level[i] != VS__HNSW_ABSENT;
    const size_t keep_up = nupper;
    const double ml = 1.0 / log((double)h->m);
    for (size_t i = keep; i < cap; i++) {
        g->uoff[i] = (uint32_t)nupper;
        if (skip && bit_get(skip, i)) {
            g->level[i] = VS__HNSW_ABSENT;
            continue;
        }
        g->level[i] = draw_level(h->seed, i, ml);
        nupper += g->level[i];
        nodes++;
        if (nupper > UINT32_MAX) {
            vs__hnsw_grow_release(g);
            return vs__errf(e, VS_ERANGE, "hnsw: %zu upper-layer lists exceed the limit", nupper);
        }
    }
    size_t upbytes;
    if (vs__mul_ok(nupper ? nupper : 1, (size_t)h->m * sizeof(uint32_t), &upbytes) ||
        !(g->up = vs__malloc(upbytes)))
        goto nomem;
    /* Plain copies: only the caller inserts into h (and it is here); searches only read. */
    copy_lists(g->l0, h->l0, keep * (size_t)h->stride0 * sizeof(uint32_t), l0bytes);
    copy_lists(g->up, h->up, keep_up * h->m * sizeof(uint32_t), upbytes);
    g->cap = cap;
    g->nupper = nupper;
    g->nodes = nodes;
    g->ready = 1;
    return VS_OK;
nomem:
    vs__hnsw_grow_release(g);
    return vs__errf(e, VS_ENOMEM, "out of memory growing an hnsw graph to %zu rows", cap);
}

void vs__hnsw_grow_commit(vs__hnsw *h, vs__hnsw_grow *g) {
    if (!g->ready) return;
    uint8_t *level = h->level;
    uint32_t *uoff = h->uoff, *l0 = h->l0, *up = h->up;
    h->level = g->level;
    h->uoff = g->uoff;
    h->l0 = g->l0;
    h->up = g->up;
    h->cap = g->cap;
    h->nupper = g->nupper;
    h->nodes = g->nodes;
    memset(g, 0, sizeof *g);
    g->level = level; /* the old arrays, for vs__hnsw_grow_release */
    g->uoff = uoff;
    g->l0 = l0;
    g->up = up;
}

int vs__hnsw_insert(vs__hnsw *h, const float *base, size_t to, size_t threads, vs__err *e) {
    if (to > h->cap)
        return vs__errf(e, VS_EINVAL, "hnsw insert: row %zu is past the %zu reserved", to, h->cap);
    if (h->mapped) return vs__errf(e, VS_EINVAL, "hnsw insert: the graph is read-only (mapped)");
    if (to <= h->n) return VS_OK;
    if (!base) return vs__errf(e, VS_EINVAL, "hnsw insert: no vectors");
    size_t from = h->n, rows = to - from;
    size_t nt = threads ? threads : (size_t)sysconf(_SC_NPROCESSORS_ONLN);
    if (nt < 1) nt = 1;
    if (nt > MAX_THREADS) nt = MAX_THREADS;
    /* never more than one thread per 256 rows (the rest would only contend) */
    if (nt > 1 && nt > rows / 256) nt = rows / 256 > 1 ? rows / 256 : 1;
    if (ins_ready(h, nt))
        return vs__errf(e, VS_ENOMEM, "out of memory inserting %zu rows into an hnsw graph", rows);
    struct vs__hnsw_ins *ins = h->ins;
    build *b = &ins->b;
    b->base = base;
    b->to = to;
    size_t next = from;
    if (h->entry == VS__HNSW_NONE) {
        /* the first node becomes the entry before any worker starts */
        while (next < to && h->level[next] == VS__HNSW_ABSENT) next++;
        if (next < to) insert(&ins->ws[0], (uint32_t)next++);
    }
    atomic_store(&b->next, next);
    size_t started = 1;
    for (size_t i = 1; i < nt; i++) {
        if (pthread_create(&ins->ws[i].th, NULL, work, &ins->ws[i])) break; /* fewer threads */
        started++;
    }
    work(&ins->ws[0]);
    for (size_t i = 1; i < started; i++) pthread_join(ins->ws[i].th, NULL);
    /* Publish: rows first, then the entry (hnsw_int.h, GROWING GRAPHS). */
    __atomic_store_n(&h->n, to, __ATOMIC_RELEASE);
    __atomic_store_n(&h->pub, vs__hnsw_pack(h->entry, h->top), __ATOMIC_RELEASE);
    return VS_OK;
}

int vs__hnsw_finish(vs__hnsw *h, const float *base, vs__err *e) {
    if (h->n != h->cap)
        return vs__errf(e, VS_EINVAL, "hnsw finish: %zu of %zu rows inserted", h->n, h->cap);
    if (h->nodes && !base) return vs__errf(e, VS_EINVAL, "hnsw finish: no vectors");
    int rc = VS_OK;
    if (h->nodes && h->ins) {
        uint64_t *seen = vs__calloc((h->n + 63) / 64, sizeof *seen);
        uint32_t *queue = vs__malloc(h->nodes * sizeof *queue);
        if (seen && queue && ins_ready(h, 1) == VS_OK) {
            /* The insert that grew the graph may have read another copy of the rows
             * (vs__hnsw_insert returns early when nothing is left to insert). */
            h->ins->b.base = base;
            h->repaired = repair(&h->ins->ws[0], seen, queue);
        } else
            rc = vs__errf(e, VS_ENOMEM, "out of memory checking an hnsw graph's reachability");
        vs__free(seen);
        vs__free(queue);
    }
    if (!rc) {
        vs__hnsw_ins_free(h->ins);
        h->ins = NULL;
    }
    return rc;
}

/* ------------------------------------------------------------------ build -- */

int vs__hnsw_build(const float *base, size_t n, size_t dim, int kind, const vs__hnsw_params *p,
                   const uint64_t *skip, vs__hnsw **out, vs__err *e) {
    vs__hnsw *h = NULL;
    vs__hnsw_grow g;
    int rc;
    if (out) *out = NULL;
    if (!p || !out) return vs__errf(e, VS_EINVAL, "hnsw build: missing %s", p ? "output" : "parameters");
    if (n > 0 && !base) return vs__errf(e, VS_EINVAL, "hnsw build: no vectors");
    if (n > VS__HNSW_MAX_ROWS)
        return vs__errf(e, VS_ERANGE, "hnsw build: %zu rows exceed the limit of %zu", n,
                        VS__HNSW_MAX_ROWS);
    if ((rc = vs__hnsw_new(dim, kind, p, &h, e))) return rc;
    if ((rc = vs__hnsw_grow_prepare(h, n, 1, skip, &g, e))) goto fail;
    vs__hnsw_grow_commit(h, &g);
    vs__hnsw_grow_release(&g);
    if ((rc = vs__hnsw_insert(h, base, n, p->threads, e)) || (rc = vs__hnsw_finish(h, base, e)))
        goto fail;
    h->growing = 0; /* nobody else has seen it: from now on an ordinary, finished graph */
    *out = h;
    return VS_OK;
fail:
    vs__hnsw_free(h);
    return rc;
}
