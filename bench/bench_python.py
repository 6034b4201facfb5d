#!/usr/bin/env python3
"""bench_python.py — what the Python layer costs on top of the C API, and whether Python
threads run queries in parallel.

    PYTHONPATH=python python3 bench/bench_python.py [--n 100000] [--dim 128] [--queries 2000]
        [--rounds 5] [--seconds 2] [--metric cosine] [--out bench/results]

It prints figures and asserts nothing (the goals are printed beside them).

DATA
  An embedded store in a temporary directory (fsync "off", one sealed segment), collection
  "bench": N random float32 vectors of DIM (np.random.default_rng(seed).standard_normal),
  METRIC, HNSW at the default settings, flushed and fully indexed (wait_indexed) before
  anything is timed; Q query vectors from the same generator. A second collection "tiny":
  1000 points, flat index, so a query costs a few microseconds and the layer's overhead
  is most of what is measured.

1. PER-QUERY OVERHEAD (goal <= 5 us)
   C baseline: Collection._c.bench_queries(Q, k, ef, reps) — the same single-vector
   queries in a C loop (vs_query_run + vs_result_matrix + vs_result_free, no payload, no
   vector, default ef), timed in C with the GIL released. Python: coll.query(q, k=10,
   with_payload=False) for each row q (the rows are taken from the (Q, dim) array
   beforehand, so the loop does no slicing), timed with time.perf_counter(). After a
   warm-up pass of each, the two are interleaved every CHUNK (200) queries — C on a chunk,
   Python on the same chunk, the order swapping from chunk to chunk so neither always
   finds the other's caches warm — and a round repeats the Q queries until it has lasted
   about a second. Per query: each side's total over the round; every figure printed is
   the median over ROUNDS rounds (this VM is noisy), the overhead the median of the
   per-round differences. Rows: HNSW (N points) and flat (1000 points). Interleaved the
   same way, also: the extension's query method called directly
   (coll._c.query(...): argument parsing, buffer, handle pool, Result object, the two
   NumPy arrays), which splits the overhead into extension and Python wrapper
   (Collection.query: check_k, flags, filter_text, with_bits, QueryResult); and
   coll.query(Q[i:i+100], k=10, with_payload=False) per query against the C single-query
   baseline (the library runs a batch as one call, so this can be below zero).

2. TWO THREADS VS ONE (goal >= 1.7x)
   T threads (T = 1, 2) each loop over single-vector coll.query(q, k=10,
   with_payload=False) for a slice of SECONDS/SLICES, starting together (a barrier).
   A round is SLICES (4) pairs of a 1-thread and a 2-thread slice, the order alternating;
   QPS = the queries / the wall time until the last thread stopped, summed over the
   round's slices; the medians over ROUNDS rounds are reported, and the ratio of the
   medians. Rows: the HNSW collection at the default ef, and exact=True (brute force over
   N points: long queries, where the GIL matters least but memory bandwidth most), and
   the flat 1000-point collection (queries of a few us: the GIL matters most). csw/q:
   the process's voluntary context switches per query at 2 threads (getrusage), which
   is how a GIL convoy shows (each wait for the GIL blocks the thread in the kernel).
   Reference row: the C loop (bench_queries) in 1 and 2 threads at once — what the
   machine and library allow without any Python in the loop; judge the Python ratio
   against it.

FAIRNESS
  - Both sides search the same collection, graph, ef, k and vectors; neither asks for
    payloads or vectors. The C loop pays no Python at all; the Python loop pays the
    interpreter's loop and call, argument handling, the extension's parsing, and building
    and freeing the result objects (which the loop drops at once, as a caller that only
    reads .ids would).
  - The machine has few cores (2 on the dev box); the store's background thread is idle
    once the index is built. Other processes' CPU use during each round is measured
    (/proc/stat busy time minus this process's own) and printed in brackets; a note
    follows when it exceeded 0.2 CPUs. Noise from the hypervisor (neighbours' memory
    traffic, steal) is not visible there: compare the per-round figures in the JSON.
  - Results: stdout, OUT/python.json and a text copy OUT/python.txt.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time

import numpy as np

try:
    import vecstore
except ImportError:  # run from a checkout without PYTHONPATH
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import vecstore

K = 10
BATCH = 100
TINY_N = 1000
ROUND_SECONDS = 1.0  # how long one round of the overhead section should last (all sides)
CHUNK = 200  # queries per interleaving step of the overhead section
SLICES = 4  # a thread-scaling run of SECONDS is this many 1-thread / 2-thread slice pairs

_lines: list = []


def out(s: str = "") -> None:
    print(s, flush=True)
    _lines.append(s)


def median(xs):
    return statistics.median(xs)


class CpuMeter:
    """How much CPU the rest of the machine used meanwhile: busy time from /proc/stat
    minus this process's own (os.times), in CPUs on average over the wall time; and the
    hypervisor's steal. Other people's work on these few cores is what makes the figures
    noisy; rounds with other load > ~0.2 CPUs are suspect."""

    HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self):
        self.t0, self.busy0, self.steal0, self.own0 = self._snap()

    @classmethod
    def _snap(cls):
        busy = steal = 0.0
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
            busy = (v[0] + v[1] + v[2] + v[5] + v[6]) / cls.HZ  # user nice system irq softirq
            steal = (v[7] if len(v) > 7 else 0) / cls.HZ
        except (OSError, ValueError, IndexError):
            pass
        t = os.times()
        return time.perf_counter(), busy, steal, t.user + t.system

    def stop(self):
        t, busy, steal, own = self._snap()
        wall = max(t - self.t0, 1e-9)
        return {"other_cpus": max(0.0, (busy - self.busy0) - (own - self.own0)) / wall,
                "steal_cpus": (steal - self.steal0) / wall, "own_cpus": (own - self.own0) / wall}


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


# --------------------------------------------------------------------- timing --

def c_per_query(coll, queries, reps: int) -> float:
    """Seconds per query of the C loop."""
    return coll._c.bench_queries(queries, K, 0, reps) / (len(queries) * reps)


def t_c(coll, chunk):
    """Seconds for the chunk's queries in the C loop (timed in C)."""
    return coll._c.bench_queries(chunk["m"], K, 0, 1)


def t_py(coll, chunk):
    """Seconds for the chunk's queries through coll.query, one vector per call."""
    q = coll.query
    rows = chunk["rows"]
    t0 = time.perf_counter()
    for r in rows:
        q(r, k=K, with_payload=False)
    return time.perf_counter() - t0


def t_ext(coll, chunk):
    """The same through the extension's query method called directly (what
    Collection.query calls, without the Python wrapper around it)."""
    cq = coll._c.query
    rows = chunk["rows"]
    t0 = time.perf_counter()
    for r in rows:
        cq(r, K, None, None, 0, 0, 0, None, 0, 0.0)
    return time.perf_counter() - t0


def t_batch(coll, chunk):
    """The chunk's queries as coll.query calls of BATCH vectors each."""
    q = coll.query
    bs = chunk["batches"]
    t0 = time.perf_counter()
    for b in bs:
        q(b, k=K, with_payload=False)
    return time.perf_counter() - t0


def reps_for(seconds_per_pass: float) -> int:
    return max(1, int(round(ROUND_SECONDS / max(seconds_per_pass, 1e-9))))


def overhead_row(name, coll, queries, rounds, extra_breakdown=False):
    """C and Python (and, with extra_breakdown, the bare extension call and batches)
    interleaved chunk by chunk (CHUNK queries), in an order that rotates from chunk to
    chunk so that no side always runs right after the other on the same queries (warm
    caches); per round the totals, per query; medians over the rounds (us)."""
    chunks = []
    for i in range(0, len(queries), CHUNK):
        m = queries[i:i + CHUNK]
        chunks.append({"m": m, "rows": list(m),  # 1-D views, C-contiguous float32: read in place
                       "batches": [m[j:j + BATCH] for j in range(0, len(m), BATCH)]})
    fns = [t_c, t_py] + ([t_ext, t_batch] if extra_breakdown else [])
    # warm-up pass of each, and the number of passes that makes a round last ~ROUND_SECONDS
    warm = [sum(f(coll, ch) for ch in chunks) for f in fns]
    reps = reps_for(sum(warm))
    per = {f: [] for f in fns}
    others = []
    for _ in range(rounds):
        m = CpuMeter()
        tot = {f: 0.0 for f in fns}
        step = 0
        for _ in range(reps):
            for ch in chunks:
                for j in range(len(fns)):
                    f = fns[(step + j) % len(fns)]
                    tot[f] += f(coll, ch)
                step += 1
        for f in fns:
            per[f].append(tot[f] / (len(queries) * reps))
        others.append(m.stop()["other_cpus"])
    us = 1e6
    cs, ps = per[t_c], per[t_py]
    ds = [p - c for p, c in zip(ps, cs)]
    r = {"collection": name, "queries": len(queries), "chunk": CHUNK, "reps_per_round": reps, "rounds": rounds,
         "c_us": median(cs) * us, "python_us": median(ps) * us, "overhead_us": median(ds) * us,
         "overhead_us_min": min(ds) * us, "overhead_us_max": max(ds) * us,
         "c_us_rounds": [x * us for x in cs], "python_us_rounds": [x * us for x in ps],
         "other_cpus_rounds": others}
    if extra_breakdown:
        es, bs = per[t_ext], per[t_batch]
        r["ext_call_us"] = median(es) * us
        r["ext_overhead_us"] = median([e - c for e, c in zip(es, cs)]) * us
        r["wrapper_us"] = median([p - e for p, e in zip(ps, es)]) * us
        r["batch100_us"] = median(bs) * us
        r["batch100_overhead_us"] = median([b - c for b, c in zip(bs, cs)]) * us
        r["ext_us_rounds"] = [x * us for x in es]
        r["batch100_us_rounds"] = [x * us for x in bs]
    return r


def threaded_run(fn, nthreads: int, seconds: float):
    """nthreads threads each call fn(i) with i = 0, 1, ... until the deadline, starting
    together; (queries, seconds until the last thread stopped)."""
    counts = [0] * nthreads
    ends = [0.0] * nthreads
    barrier = threading.Barrier(nthreads + 1)
    start = [0.0]

    def work(t):
        barrier.wait()
        deadline = start[0] + seconds
        n = 0
        now = time.perf_counter
        while now() < deadline:
            fn(n)
            n += 1
        counts[t] = n
        ends[t] = now()

    ths = [threading.Thread(target=work, args=(t,)) for t in range(nthreads)]
    for th in ths:
        th.start()
    start[0] = time.perf_counter()
    barrier.wait()
    for th in ths:
        th.join()
    return sum(counts), max(ends) - start[0]


def c_threaded_run(coll, queries, nthreads: int, reps: int):
    """The C loop (reps passes over queries) in nthreads threads at once (the GIL is
    released for the whole loop); (queries, seconds until the last thread finished)."""
    barrier = threading.Barrier(nthreads + 1)

    def work():
        barrier.wait()
        coll._c.bench_queries(queries, K, 0, reps)

    ths = [threading.Thread(target=work) for _ in range(nthreads)]
    for th in ths:
        th.start()
    barrier.wait()
    t0 = time.perf_counter()
    for th in ths:
        th.join()
    return nthreads * len(queries) * reps, time.perf_counter() - t0


def scaling_row(name, run, rounds):
    """run(nthreads) -> (queries, seconds) for one slice. Per round SLICES pairs of
    1-thread and 2-thread slices, the order alternating, summed; medians over rounds."""
    run(1)  # warm-up
    q1, q2, others, csw = [], [], [], []
    for _ in range(rounds):
        m = CpuMeter()
        tot = {1: [0, 0.0], 2: [0, 0.0]}
        sw = 0
        for sl in range(SLICES):
            for nt in ((1, 2) if sl % 2 == 0 else (2, 1)):
                r0 = voluntary_switches()
                n, t = run(nt)
                if nt == 2:
                    sw += voluntary_switches() - r0
                tot[nt][0] += n
                tot[nt][1] += t
        q1.append(tot[1][0] / tot[1][1])
        q2.append(tot[2][0] / tot[2][1])
        csw.append(sw / max(tot[2][0], 1))
        others.append(m.stop()["other_cpus"])
    return {"query": name, "qps_1": median(q1), "qps_2": median(q2),
            "ratio": median(q2) / median(q1), "ratio_per_round": [b / a for a, b in zip(q1, q2)],
            "qps_1_rounds": q1, "qps_2_rounds": q2, "other_cpus_rounds": others,
            "switches_per_query_2": median(csw), "switches_per_query_2_rounds": csw}


def voluntary_switches() -> int:
    """This process's voluntary context switches so far (all threads): a thread that
    blocks waiting for the GIL adds one."""
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw
    except (ImportError, OSError):
        return 0


# ----------------------------------------------------------------------- main --

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="points in the HNSW collection")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds; medians are reported")
    ap.add_argument("--seconds", type=float, default=2.0, help="seconds per thread count per round of the thread-scaling section")
    ap.add_argument("--metric", default="cosine", choices=["cosine", "l2", "dot"])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"),
                    help="directory for python.json and python.txt")
    a = ap.parse_args()

    ncpu = os.cpu_count() or 0
    try:
        ncpu_avail = len(os.sched_getaffinity(0))
    except AttributeError:
        ncpu_avail = ncpu
    out(f"# bench_python: n={a.n} dim={a.dim} {a.metric} HNSW(default) queries={a.queries} k={K} "
        f"rounds={a.rounds} seconds={a.seconds:g} seed={a.seed}")
    out(f"# machine: {ncpu} CPUs ({ncpu_avail} usable), {cpu_model()}; load average now: {loadavg()}")
    out(f"# vecstore {vecstore.__version__}, kernels {vecstore.simd()}; Python {platform.python_version()} "
        f"({sys.executable}), NumPy {np.__version__}")

    rng = np.random.default_rng(a.seed)
    data = rng.standard_normal((a.n, a.dim), dtype=np.float32)
    queries = rng.standard_normal((a.queries, a.dim), dtype=np.float32)
    tiny = rng.standard_normal((TINY_N, a.dim), dtype=np.float32)

    res = {"machine": {"nproc": ncpu, "usable_cpus": ncpu_avail, "model_name": cpu_model(),
                       "loadavg_start": loadavg()},
           "config": {"n": a.n, "dim": a.dim, "metric": a.metric, "index": "hnsw (default)", "k": K,
                      "queries": a.queries, "rounds": a.rounds, "seconds_per_thread_count": a.seconds, "slices": SLICES, "chunk": CHUNK,
                      "seed": a.seed, "batch": BATCH, "tiny_n": TINY_N, "fsync": "off"},
           "vecstore": vecstore.__version__, "kernels": vecstore.simd(),
           "python": platform.python_version(), "numpy": np.__version__,
           "goals": {"overhead_us_max": 5.0, "two_thread_ratio_min": 1.7}}

    with tempfile.TemporaryDirectory(prefix="vs-bench-python-") as tmp:
        store = vecstore.open(tmp, fsync="off", flush_bytes=4096 << 20)
        try:
            coll = store.create_collection("bench", dim=a.dim, metric=a.metric, index="hnsw")
            t0 = time.perf_counter()
            coll.upsert(np.arange(a.n, dtype=np.int64), data)
            t_load = time.perf_counter() - t0
            t0 = time.perf_counter()
            coll.flush()
            coll.wait_indexed()
            t_index = time.perf_counter() - t0
            info = coll.info()
            out(f"# store: {tmp}: loaded in {t_load:.1f} s, flushed and indexed in {t_index:.1f} s more "
                f"({info['points']} points, {info['segments']} segment(s), {info['indexed_segments']} indexed, "
                f"{info['pending_segments']} pending)")
            res["build"] = {"load_s": t_load, "index_s": t_index, "segments": info["segments"],
                            "indexed_segments": info["indexed_segments"]}
            tc = store.create_collection("tiny", dim=a.dim, metric=a.metric, index="flat")
            tc.upsert(np.arange(TINY_N, dtype=np.int64), tiny)
            tc.flush()
            tc.wait_indexed()
            gc.collect()

            # ---------------------------------------------------------- overhead --
            out("")
            out(f"== per-query overhead of the Python layer (k={K}, no payload; C and Python interleaved "
                f"every {CHUNK} queries; median of {a.rounds} rounds; goal <= 5 us)")
            h = overhead_row(f"hnsw {a.n}", coll, queries, a.rounds, extra_breakdown=True)
            t = overhead_row(f"flat {TINY_N}", tc, queries, a.rounds, extra_breakdown=True)
            res["overhead"] = [h, t]
            out(f"  {'collection':<14} {'C loop':>10} {'coll.query':>11} {'overhead':>10}   (min..max over rounds; "
                "other load, CPUs, max)")
            for r in (h, t):
                out(f"  {r['collection']:<14} {r['c_us']:7.2f} us {r['python_us']:8.2f} us {r['overhead_us']:7.2f} us"
                    f"   ({r['overhead_us_min']:.2f}..{r['overhead_us_max']:.2f}; {r['reps_per_round']} x "
                    f"{r['queries']} queries a round; {max(r['other_cpus_rounds']):.2f})")
            out("  breakdown: the extension's coll._c.query called directly, and batches of "
                f"{BATCH} (coll.query(Q[i:i+{BATCH}]), per query)")
            for r in (h, t):
                out(f"  {r['collection']:<14} ext call {r['ext_call_us']:7.2f} us = C {r['ext_overhead_us']:+.2f} us, "
                    f"then Python wrapper {r['wrapper_us']:+.2f} us; batch {r['batch100_us']:7.2f} us = C single "
                    f"{r['batch100_overhead_us']:+.2f} us")

            # ----------------------------------------------------------- threads --
            out("")
            out(f"== query throughput, 2 threads vs 1 (single-vector coll.query; a round = {SLICES} x "
                f"({a.seconds / SLICES:g} s at 1 thread + {a.seconds / SLICES:g} s at 2), median of {a.rounds} rounds; "
                "goal >= 1.7x)")
            rows = list(queries)
            nq = len(rows)
            cq = coll.query

            def hnsw(i):
                cq(rows[i % nq], k=K, with_payload=False)

            def exact(i):
                cq(rows[i % nq], k=K, with_payload=False, exact=True)

            tq = tc.query

            def short(i):
                tq(rows[i % nq], k=K, with_payload=False)

            sl = a.seconds / SLICES
            s_h = scaling_row("hnsw default ef", lambda nt: threaded_run(hnsw, nt, sl), a.rounds)
            s_e = scaling_row("exact=True", lambda nt: threaded_run(exact, nt, sl), a.rounds)
            s_s = scaling_row(f"flat {TINY_N} (short)", lambda nt: threaded_run(short, nt, sl), a.rounds)
            # the C loop in 1 and 2 threads: the ceiling without Python
            per = c_per_query(coll, queries, 1)
            reps = max(1, int(round(sl / (per * nq))))
            s_c = scaling_row("C loop (reference)", lambda nt: c_threaded_run(coll, queries, nt, reps), a.rounds)
            s_c["reps"] = reps
            res["threads"] = [s_h, s_e, s_s, s_c]
            out(f"  {'query':<22} {'1 thread':>12} {'2 threads':>12} {'ratio':>7} {'csw/q':>6}   (ratio per round "
                "[other load, CPUs])")
            for s in (s_h, s_e, s_s, s_c):
                out(f"  {s['query']:<22} {s['qps_1']:8.0f} QPS {s['qps_2']:8.0f} QPS {s['ratio']:6.2f}x "
                    f"{s['switches_per_query_2']:6.3f}   ("
                    + ", ".join(f"{x:.2f} [{o:.2f}]" for x, o in zip(s["ratio_per_round"], s["other_cpus_rounds"]))
                    + ")")
            out("  csw/q: voluntary context switches per query at 2 threads (a thread blocking on the GIL: "
                "~0.5 means the threads convoy)")

            out("")
            ok_o = h["overhead_us"] <= 5.0
            ok_t = s_h["ratio"] >= 1.7
            out(f"== summary: overhead {h['overhead_us']:.2f} us per query (goal <= 5: "
                f"{'met' if ok_o else 'NOT met'}); 2 threads {s_h['ratio']:.2f}x of 1 (goal >= 1.7: "
                f"{'met' if ok_t else 'NOT met'}; exact {s_e['ratio']:.2f}x, C-only ceiling {s_c['ratio']:.2f}x)")
            res["summary"] = {"overhead_us": h["overhead_us"], "overhead_goal_met": ok_o,
                              "two_thread_ratio": s_h["ratio"], "two_thread_goal_met": ok_t,
                              "two_thread_ratio_exact": s_e["ratio"], "two_thread_ratio_short": s_s["ratio"],
                              "two_thread_ratio_c": s_c["ratio"]}
            res["machine"]["loadavg_end"] = loadavg()
            busy = [x for r in (h, t, s_h, s_e, s_s, s_c) for x in r["other_cpus_rounds"]]
            res["summary"]["other_cpus_max_round"] = max(busy)
            if max(busy) > 0.2:
                out(f"   NOTE: other processes used up to {max(busy):.2f} CPUs during some rounds (the bracketed "
                    "figures); those rounds are unreliable, the medians less so. Rerun on an idle machine.")
        finally:
            store.close()

    os.makedirs(a.out, exist_ok=True)
    jp, tp = os.path.join(a.out, "python.json"), os.path.join(a.out, "python.txt")
    with open(jp, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    out(f"# results: {jp}, {tp}")
    with open(tp, "w") as f:
        f.write("\n".join(_lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
