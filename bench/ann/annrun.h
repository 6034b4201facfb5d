/*
 * annrun.h — what the native ANN drivers (vecstore_ann.c, hnswlib_driver.cpp) share, so
 * that both measure the same way: the command line, the clock, the memory probe, the
 * query sweep and the JSON they write. bench/ann/annrun.py is the same for the Python
 * peers (faiss, hnswlib's Python binding). Header-only, everything static inline.
 *
 * COMMAND LINE (every driver)
 *   DRIVER BASE QUERY OUTDIR [--m 16] [--efc 200] [--threads 2] [--k 10]
 *          [--efs 10,16,...] [--reps 1] [--warmup 200] [--build-only] [--tag NAME]
 *   BASE/QUERY: .fvecs, .bvecs or .npy (annio.h). The driver builds its index over BASE
 *   with --threads threads, then (unless --build-only) runs the sweep and writes
 *   OUTDIR/<system>.t<threads>.json and OUTDIR/<system>.ef<EF>.ivecs (k ids per query,
 *   nearest first, -1 where fewer than k came back).
 *
 * MEMORY (the "peak build memory" figure)
 *   After the base and query vectors are loaded the driver resets the process's RSS
 *   high-water mark (writing "5" to /proc/self/clear_refs, Linux >= 4.0) and reads VmRSS
 *   (the baseline: program, libraries, the raw vectors). After the build it reads VmHWM.
 *   build_mem_bytes = VmHWM - baseline: what building the index added at its peak, over
 *   and above the input the caller already held, whatever the system copies, allocates
 *   or maps (file-backed pages of an mmap'd segment count once touched). Each system
 *   runs in its own process so that nothing else shares the figure. If the reset is not
 *   allowed, the HWM covers the loading too and the JSON says hwm_reset = false.
 *
 * SWEEP
 *   For each ef: --warmup queries untimed (the first ones), then every query once, one
 *   at a time on this thread, each timed with CLOCK_MONOTONIC; repeated --reps times,
 *   the fastest pass kept (on a shared VM interference only ever slows a pass down).
 *   QPS = nq / wall time of the pass; latency mean and p99 over its queries.
 */
#ifndef VS_BENCH_ANNRUN_H
#define VS_BENCH_ANNRUN_H

#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "annio.h"

#define ANN_MAX_EFS 64

typedef struct ann_opts {
    const char *base, *query, *outdir, *tag;
    unsigned m, efc, threads, k, reps, warmup;
    unsigned efs[ANN_MAX_EFS];
    size_t n_efs;
    int build_only;
} ann_opts;

static inline double ann_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void ann_die(const char *prog, const char *msg) {
    fprintf(stderr, "%s: %s\n", prog, msg);
    exit(1);
}

static inline unsigned ann_uint(const char *prog, const char *name, const char *v) {
    char *end;
    unsigned long x = strtoul(v ? v : "", &end, 10);
    if (!v || !*v || *end || x == 0 || x > 1000000) {
        fprintf(stderr, "%s: %s needs a positive integer, got '%s'\n", prog, name,
                v ? v : "");
        exit(2);
    }
    return (unsigned)x;
}

static inline void ann_parse(const char *prog, int argc, char **argv, ann_opts *o) {
    static const unsigned def_efs[] = {10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512};
    memset(o, 0, sizeof *o);
    o->m = 16, o->efc = 200, o->threads = 2, o->k = 10, o->reps = 1, o->warmup = 200;
    o->tag = prog;
    o->n_efs = sizeof def_efs / sizeof def_efs[0];
    memcpy(o->efs, def_efs, sizeof def_efs);
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--build-only")) {
            o->build_only = 1;
            continue;
        }
        if (a[0] == '-' && a[1] == '-') {
            i++;
            if (!strcmp(a, "--m")) o->m = ann_uint(prog, a, v);
            else if (!strcmp(a, "--efc")) o->efc = ann_uint(prog, a, v);
            else if (!strcmp(a, "--threads")) o->threads = ann_uint(prog, a, v);
            else if (!strcmp(a, "--k")) o->k = ann_uint(prog, a, v);
            else if (!strcmp(a, "--reps")) o->reps = ann_uint(prog, a, v);
            else if (!strcmp(a, "--warmup")) o->warmup = v && !strcmp(v, "0") ? 0 : ann_uint(prog, a, v);
            else if (!strcmp(a, "--tag") && v) o->tag = v;
            else if (!strcmp(a, "--efs") && v) {
                char buf[512], *save = NULL;
                snprintf(buf, sizeof buf, "%s", v);
                o->n_efs = 0;
                for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                    if (o->n_efs == ANN_MAX_EFS) ann_die(prog, "too many --efs values");
                    o->efs[o->n_efs++] = ann_uint(prog, "--efs", t);
                }
            } else {
                fprintf(stderr, "%s: unknown option %s\n", prog, a);
                exit(2);
            }
            continue;
        }
        if (pos == 0) o->base = a;
        else if (pos == 1) o->query = a;
        else if (pos == 2) o->outdir = a;
        else ann_die(prog, "too many arguments");
        pos++;
    }
    if (pos != 3) {
        fprintf(stderr,
                "usage: %s BASE QUERY OUTDIR [--m M] [--efc EFC] [--threads T] [--k K]\n"
                "          [--efs E1,E2,...] [--reps R] [--warmup W] [--build-only]\n",
                prog);
        exit(2);
    }
}

/* A "Key:   123 kB" line of /proc/self/status, in bytes; 0 if absent. */
static inline uint64_t ann_status_bytes(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t v = 0;
    size_t kl = strlen(key);
    if (!f) return 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            v = strtoull(line + kl + 1, NULL, 10) * 1024;
            break;
        }
    }
    fclose(f);
    return v;
}

/* Resets VmHWM to the current RSS; 1 if the kernel allowed it. */
static inline int ann_reset_hwm(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    int ok;
    if (!f) return 0;
    ok = fputs("5", f) >= 0;
    ok = (fclose(f) == 0) && ok;
    return ok;
}

static inline int ann_cpus_allowed(void) {
#ifdef CPU_COUNT
    cpu_set_t s;
    if (sched_getaffinity(0, sizeof s, &s) == 0) return CPU_COUNT(&s);
#endif
    return -1;
}

static inline int ann_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One query: write up to k ids (nearest first) into ids, return how many, or -1. */
typedef int (*ann_search_fn)(void *ctx, const float *q, unsigned k, unsigned ef, int32_t *ids);

typedef struct ann_build {
    double build_s;        /* the build as the system defines it (see the driver) */
    double import_s;       /* VecStore: upserts before the build; -1 for the others */
    uint64_t rss_before;   /* VmRSS after loading, before the build */
    uint64_t hwm_after;    /* VmHWM after the build */
    int hwm_reset;
    uint64_t index_bytes;  /* the index as stored (see index_how) */
    const char *index_how;
    const char *version;
    const char *notes;     /* free text, may be NULL */
} ann_build;

static inline void ann_json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f), fputc(*s, f);
        else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

/* Opens OUTDIR/<tag>.t<threads>.json and writes everything up to the sweep. */
static inline FILE *ann_json_open(const char *prog, const ann_opts *o, const char *system, size_t n,
                           size_t dim, size_t nq, const ann_build *b) {
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s.t%u.json", o->outdir, o->tag, o->threads);
    if (!(f = fopen(path, "w"))) ann_die(prog, "cannot create the result JSON");
    fprintf(f, "{\n  \"system\": ");
    ann_json_str(f, system);
    fprintf(f, ",\n  \"tag\": ");
    ann_json_str(f, o->tag);
    fprintf(f, ",\n  \"version\": ");
    ann_json_str(f, b->version);
    fprintf(f, ",\n  \"base\": ");
    ann_json_str(f, o->base);
    fprintf(f, ",\n  \"query\": ");
    ann_json_str(f, o->query);
    fprintf(f,
            ",\n  \"n\": %zu, \"dim\": %zu, \"nq\": %zu, \"k\": %u, \"m\": %u, "
            "\"ef_construction\": %u,\n  \"build_threads\": %u, \"cpus_allowed\": %d,\n"
            "  \"build_s\": %.4f, \"import_s\": %.4f,\n"
            "  \"raw_data_bytes\": %llu, \"rss_before_build_bytes\": %llu, "
            "\"hwm_after_build_bytes\": %llu, \"hwm_reset\": %s,\n"
            "  \"build_mem_bytes\": %lld,\n  \"index_bytes\": %llu, \"index_how\": ",
            n, dim, nq, o->k, o->m, o->efc, o->threads, ann_cpus_allowed(), b->build_s,
            b->import_s, (unsigned long long)((n + nq) * dim * 4),
            (unsigned long long)b->rss_before, (unsigned long long)b->hwm_after,
            b->hwm_reset ? "true" : "false", (long long)b->hwm_after - (long long)b->rss_before,
            (unsigned long long)b->index_bytes);
    ann_json_str(f, b->index_how);
    fprintf(f, ",\n  \"notes\": ");
    ann_json_str(f, b->notes ? b->notes : "");
    fprintf(f, ",\n  \"search\": [");
    return f;
}

/* Runs the sweep (unless --build-only), appending one object per ef, and closes f. */
static inline void ann_sweep(const char *prog, const ann_opts *o, FILE *f, const float *xq, size_t nq,
                      size_t dim, void *ctx, ann_search_fn fn) {
    double *lat = (double *)malloc(nq * sizeof *lat), *best = (double *)malloc(nq * sizeof *best);
    int32_t *ids = (int32_t *)malloc(nq * o->k * sizeof *ids);
    char err[ANN_ERR_LEN], path[4096];
    if (!lat || !best || !ids) ann_die(prog, "out of memory");
    for (size_t e = 0; !o->build_only && e < o->n_efs; e++) {
        unsigned ef = o->efs[e];
        double best_wall = 1e300;
        for (size_t i = 0; i < o->warmup && i < nq; i++) {
            if (fn(ctx, xq + i * dim, o->k, ef, ids) < 0) ann_die(prog, "search failed");
        }
        for (unsigned r = 0; r < o->reps; r++) {
            double t0 = ann_now();
            for (size_t i = 0; i < nq; i++) {
                int32_t *row = ids + i * o->k;
                double a = ann_now();
                int got = fn(ctx, xq + i * dim, o->k, ef, row);
                lat[i] = ann_now() - a;
                if (got < 0) ann_die(prog, "search failed");
                for (int j = got; j < (int)o->k; j++) row[j] = -1;
            }
            double wall = ann_now() - t0;
            if (wall < best_wall) {
                best_wall = wall;
                memcpy(best, lat, nq * sizeof *lat);
            }
        }
        double sum = 0;
        for (size_t i = 0; i < nq; i++) sum += best[i];
        qsort(best, nq, sizeof *best, ann_cmp_double);
        size_t i99 = (size_t)(0.99 * (double)(nq - 1) + 0.5);
        snprintf(path, sizeof path, "%s/%s.ef%u.ivecs", o->outdir, o->tag, ef);
        if (ann_write_ivecs(path, ids, nq, o->k, err)) ann_die(prog, err);
        fprintf(f,
                "%s\n    {\"ef\": %u, \"qps\": %.2f, \"lat_mean_us\": %.3f, "
                "\"lat_p50_us\": %.3f, \"lat_p99_us\": %.3f, \"ids\": \"%s.ef%u.ivecs\"}",
                e ? "," : "", ef, (double)nq / best_wall, sum / (double)nq * 1e6,
                best[nq / 2] * 1e6, best[i99] * 1e6, o->tag, ef);
        fprintf(stderr, "%s: ef %4u  %9.1f QPS  mean %8.1f us  p99 %8.1f us\n", o->tag, ef,
                (double)nq / best_wall, sum / (double)nq * 1e6, best[i99] * 1e6);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* CPU time of the whole process, so the runner can tell how much of the machine's
     * busy time during the run was someone else's (see bench-ann.sh). */
    fprintf(f, "\n  ],\n  \"cpu_s\": %.3f\n}\n",
            (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
                (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6);
    if (fclose(f) != 0) ann_die(prog, "cannot write the result JSON");
    free(lat);
    free(best);
    free(ids);
}

#endif
