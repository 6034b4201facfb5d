#!/usr/bin/python3
"""faiss_exact.py — the faiss side of the exact-search benchmark (bench/bench_exact.c).

Same data (the .fvecs written by bench/gen_data.py), same questions, same rules:
  single  faiss.IndexFlatL2, faiss.omp_set_num_threads(1), the first VS_BENCH_SINGLE
          (default 200) queries searched one at a time (index.search on a 1 x 128
          array, k = 10). faiss 1.7 answers fewer than 20 queries without BLAS, with its
          fvec_L2sqr row loop (exhaustive_L2sqr_seq), so this is its row-kernel path,
          as ours is. QPS is 1 / median latency, as in bench_exact.
  batch   all 1000 queries in one index.search, VS_BENCH_REPS (default 5) times,
          best run (interference on a shared VM only slows runs down); threads: faiss.omp_set_num_threads(VS_BENCH_THREADS, default the
          number of CPUs), and OpenBLAS (which faiss calls for sgemm when nq >= 20)
          uses OPENBLAS_NUM_THREADS like our process. faiss then does its distance
          fix-up and heap updates in OpenMP loops over the queries.
Debian's python3-faiss links the system libopenblas.so.0, the same library as
VecStore, so OPENBLAS_CORETYPE picks the same sgemm kernel for both; the core OpenBLAS
reports in this process is written to the JSON so the runner can check it.

Writes OUTDIR/faiss_exact.json and OUTDIR/faiss_exact.{single,batch}_ids.bin (int64
little-endian, 10 ids per query, nearest first), the layout bench_exact writes.
Run with /usr/bin/python3 (Debian's numpy and faiss).
usage: faiss_exact.py BASE.fvecs QUERY.fvecs [OUTDIR]
"""
import ctypes
import json
import os
import sys
import time

import numpy as np
import faiss

K = 10


def read_fvecs(path):
    a = np.fromfile(path, dtype=np.int32)
    d = int(a[0])
    a = a.reshape(-1, d + 1)
    if not (a[:, 0] == d).all():
        sys.exit(f"faiss_exact: {path}: rows of different dimensions")
    return np.ascontiguousarray(a[:, 1:].view(np.float32))


def env_int(name, default):
    v = os.environ.get(name)
    return int(v) if v else default


def openblas():
    """(core name, threads) of the libopenblas this process loaded (via faiss)."""
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode(), int(lib.openblas_get_num_threads())
    except OSError:
        return "unknown", 0


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: faiss_exact.py BASE.fvecs QUERY.fvecs [OUTDIR]")
    outdir = sys.argv[3] if len(sys.argv) == 4 else "bench/results"
    xb, xq = read_fvecs(sys.argv[1]), read_fvecs(sys.argv[2])
    n, d = xb.shape
    nq = xq.shape[0]
    ns = min(env_int("VS_BENCH_SINGLE", 200), nq)
    reps = env_int("VS_BENCH_REPS", 5)
    threads = env_int("VS_BENCH_THREADS", os.cpu_count() or 1)
    core, blas_threads = openblas()
    print(f"faiss {faiss.__version__}; OpenBLAS core {core}, {blas_threads} threads "
          f"(OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}); "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")

    index = faiss.IndexFlatL2(d)
    t0 = time.perf_counter()
    index.add(xb)
    t_add = time.perf_counter() - t0

    # ---- single queries, one thread
    faiss.omp_set_num_threads(1)
    index.search(xq[:1], K)  # warm
    lat = np.empty(ns)
    single_ids = np.empty((ns, K), dtype=np.int64)
    for i in range(ns):
        t0 = time.perf_counter()
        _, ids = index.search(xq[i:i + 1], K)
        lat[i] = time.perf_counter() - t0
        single_ids[i] = ids[0]
    p50 = float(np.median(lat))
    nbytes = n * d * 4

    # ---- batch
    faiss.omp_set_num_threads(threads)
    times = []
    batch_ids = None
    for _ in range(reps):
        t0 = time.perf_counter()
        _, ids = index.search(xq, K)
        times.append(time.perf_counter() - t0)
        if batch_ids is None:
            batch_ids = ids.astype(np.int64)
    best, med = min(times), float(np.median(times))

    res = {
        "engine": "faiss", "version": faiss.__version__, "index": "IndexFlatL2",
        "openblas_core": core, "openblas_threads": blas_threads,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
        "n": n, "dim": d, "nq": nq, "k": K, "add_seconds": t_add,
        "single": {"queries": ns, "threads": 1, "qps": 1.0 / p50, "lat_p50_ms": p50 * 1e3,
                   "lat_mean_ms": float(lat.mean()) * 1e3, "lat_min_ms": float(lat.min()) * 1e3,
                   "lat_p99_ms": float(np.quantile(lat, 0.99)) * 1e3,
                   "gbs": nbytes / p50 / 1e9},
        "batch": {"nq": nq, "reps": reps, "threads": threads, "qps": nq / best,
                  "seconds_median": med, "seconds_best": best,
                  "gflops": 2.0 * nq * n * d / best / 1e9},
    }
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "faiss_exact.json"), "w") as f:
        json.dump(res, f, indent=2)
    single_ids.astype("<i8").tofile(os.path.join(outdir, "faiss_exact.single_ids.bin"))
    batch_ids.astype("<i8").tofile(os.path.join(outdir, "faiss_exact.batch_ids.bin"))

    print(f"single query, 1 thread    {1.0 / p50:10.1f} QPS  {p50 * 1e3:8.2f} ms  "
          f"{nbytes / p50 / 1e9:6.2f} GB/s  ({ns} queries)")
    print(f"batch of {nq}, {threads} threads {nq / best:10.1f} QPS  {best:8.2f} s   "
          f"{2.0 * nq * n * d / best / 1e9:6.1f} GFLOP/s (best of {reps}; median {med:.2f} s)")


if __name__ == "__main__":
    main()
