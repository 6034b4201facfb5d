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
   beforehand, so the loop does no slicing), timed with time.perf_counter(). The two are
   run alternately ROUNDS times after a warm-up pass of each; every figure is the median
   over the rounds (this VM is noisy), and the overhead is the median of the per-round
   differences. Each round repeats the Q queries enough times to last about 0.25 s.
   Rows: HNSW (N points), flat (1000 points), and a batch row: coll.query(Q[i:i+100],
   k=10, with_payload=False) per query against the C single-query baseline (the library
   runs a batch as one call, so this can be below zero). A breakdown splits the HNSW
   overhead into the extension call (coll._c.query(...) called directly: argument parsing,
   buffer, handle pool, Result object, the two NumPy arrays) and the Python wrapper
   (Collection.query: check_k, flags, filter_text, with_bits, QueryResult).

2. TWO THREADS VS ONE (goal >= 1.7x)
   T threads (T = 1, 2) each loop over single-vector coll.query(q, k=10,
   with_payload=False) for SECONDS, starting together (a barrier); QPS = all queries /
   the wall time until the last thread stopped. 1 and 2 threads are run alternately
   ROUNDS times and the medians are reported. Rows: the HNSW collection at the default
   ef, and exact=True (brute force over N points: long queries, where the GIL should
   matter least). Reference row: the C loop (bench_queries) in 1 and 2 threads at once —
   what the machine and library allow without any Python in the loop; the Python ratio
   should be judged against it.

FAIRNESS
  - Both sides search the same collection, graph, ef, k and vectors; neither asks for
    payloads or vectors. The C loop pays no Python at all; the Python loop pays the
    interpreter's loop and call, argument handling, the extension's parsing, and building
    the result objects (which the loop drops at once, as a caller that reads .ids would).
  - The machine has few cores (2 on the dev box); the store's background thread is idle
    once the index is built. Run on an otherwise idle machine (load average printed).
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
ROUND_SECONDS = 0.25  # how long one timed pass of the overhead section should last

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


def py_per_query(coll, rows, reps: int) -> float:
    """Seconds per query of coll.query over the rows, one vector per call."""
    q = coll.query
    t0 = time.perf_counter()
    for _ in range(reps):
        for r in rows:
            q(r, k=K, with_payload=False)
    return (time.perf_counter() - t0) / (len(rows) * reps)


def ext_per_query(coll, rows, reps: int) -> float:
    """Seconds per query of the extension's query method called directly (what
    Collection.query calls, without the Python wrapper around it)."""
    cq = coll._c.query
    t0 = time.perf_counter()
    for _ in range(reps):
        for r in rows:
            cq(r, K, None, None, 0, 0, 0, None, 0, 0.0)
    return (time.perf_counter() - t0) / (len(rows) * reps)


def batch_per_query(coll, batches, reps: int) -> float:
    q = coll.query
    n = sum(len(b) for b in batches)
    t0 = time.perf_counter()
    for _ in range(reps):
        for b in batches:
            q(b, k=K, with_payload=False)
    return (time.perf_counter() - t0) / (n * reps)


def reps_for(seconds_per_pass: float) -> int:
    return max(1, int(round(ROUND_SECONDS / max(seconds_per_pass, 1e-9))))


def overhead_row(name, coll, queries, rounds, extra_breakdown=False):
    """Alternating C / Python passes; medians over the rounds. Returns a dict (us)."""
    rows = list(queries)  # 1-D views, C-contiguous float32: read in place
    batches = [queries[i:i + BATCH] for i in range(0, len(queries), BATCH)]
    # warm-up, and the number of repetitions that makes a pass last ~ROUND_SECONDS
    c0 = c_per_query(coll, queries, 1)
    p0 = py_per_query(coll, rows, 1)
    reps = reps_for(max(c0, p0) * len(queries))
    cs, ps, ds, es, bs, others = [], [], [], [], [], []
    for _ in range(rounds):
        m = CpuMeter()
        c = c_per_query(coll, queries, reps)
        p = py_per_query(coll, rows, reps)
        cs.append(c)
        ps.append(p)
        ds.append(p - c)
        if extra_breakdown:
            es.append(ext_per_query(coll, rows, reps))
            bs.append(batch_per_query(coll, batches, reps))
        others.append(m.stop()["other_cpus"])
    us = 1e6
    r = {"collection": name, "queries": len(queries), "reps_per_round": reps, "rounds": rounds,
         "c_us": median(cs) * us, "python_us": median(ps) * us, "overhead_us": median(ds) * us,
         "overhead_us_min": min(ds) * us, "overhead_us_max": max(ds) * us,
         "c_us_rounds": [x * us for x in cs], "python_us_rounds": [x * us for x in ps],
         "other_cpus_rounds": others}
    if extra_breakdown:
        r["ext_call_us"] = median(es) * us
        r["ext_overhead_us"] = median([e - c for e, c in zip(es, cs)]) * us
        r["wrapper_us"] = median([p - e for p, e in zip(ps, es)]) * us
        r["batch100_us"] = median(bs) * us
        r["batch100_overhead_us"] = median([b - c for b, c in zip(bs, cs)]) * us
    return r


def threaded_qps(fn, nthreads: int, seconds: float) -> float:
    """nthreads threads each call fn(i) with i = 0, 1, ... until the deadline; QPS."""
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
    return sum(counts) / (max(ends) - start[0])


def c_threaded_qps(coll, queries, nthreads: int, reps: int) -> float:
    """The C loop in nthreads threads at once (the GIL is released for the whole loop)."""
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
    return nthreads * len(queries) * reps / (time.perf_counter() - t0)


def scaling_row(name, fn, rounds, seconds):
    q1, q2 = [], []
    fn(0)  # warm
    others = []
    for _ in range(rounds):
        m = CpuMeter()
        q1.append(threaded_qps(fn, 1, seconds))
        q2.append(threaded_qps(fn, 2, seconds))
        others.append(m.stop()["other_cpus"])
    return {"query": name, "qps_1": median(q1), "qps_2": median(q2),
            "ratio": median(q2) / median(q1), "ratio_per_round": [b / a for a, b in zip(q1, q2)],
            "qps_1_rounds": q1, "qps_2_rounds": q2, "seconds_each": seconds, "other_cpus_rounds": others}


# ----------------------------------------------------------------------- main --

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="points in the HNSW collection")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds; medians are reported")
    ap.add_argument("--seconds", type=float, default=2.0, help="duration of each thread-scaling run")
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
        f"rounds={a.rounds} threads-run={a.seconds:g} s seed={a.seed}")
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
                      "queries": a.queries, "rounds": a.rounds, "seconds_per_thread_run": a.seconds,
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
            out(f"== per-query overhead of the Python layer (k={K}, no payload; median of {a.rounds} "
                f"alternating rounds; goal <= 5 us)")
            h = overhead_row(f"hnsw {a.n}", coll, queries, a.rounds, extra_breakdown=True)
            t = overhead_row(f"flat {TINY_N}", tc, queries, a.rounds)
            res["overhead"] = [h, t]
            out(f"  {'collection':<14} {'C loop':>10} {'coll.query':>11} {'overhead':>10}   (min..max over rounds; "
                "other load, CPUs, max)")
            for r in (h, t):
                out(f"  {r['collection']:<14} {r['c_us']:7.2f} us {r['python_us']:8.2f} us {r['overhead_us']:7.2f} us"
                    f"   ({r['overhead_us_min']:.2f}..{r['overhead_us_max']:.2f}; {r['reps_per_round']} x "
                    f"{r['queries']} queries a round; {max(r['other_cpus_rounds']):.2f})")
            out(f"  breakdown ({h['collection']}): extension call coll._c.query {h['ext_call_us']:.2f} us = C "
                f"{h['ext_overhead_us']:+.2f} us; Python wrapper Collection.query {h['wrapper_us']:+.2f} us")
            out(f"  batch: coll.query(Q[i:i+{BATCH}]) {h['batch100_us']:.2f} us per query = C single "
                f"{h['batch100_overhead_us']:+.2f} us")

            # ----------------------------------------------------------- threads --
            out("")
            out(f"== query throughput, 2 threads vs 1 (single-vector coll.query, {a.seconds:g} s per run, "
                f"median of {a.rounds} alternating rounds; goal >= 1.7x)")
            rows = list(queries)
            nq = len(rows)
            cq = coll.query

            def hnsw(i):
                cq(rows[i % nq], k=K, with_payload=False)

            def exact(i):
                cq(rows[i % nq], k=K, with_payload=False, exact=True)

            s_h = scaling_row("hnsw default ef", hnsw, a.rounds, a.seconds)
            s_e = scaling_row("exact=True", exact, a.rounds, a.seconds)
            # the C loop in 1 and 2 threads: the ceiling without Python
            per = c_per_query(coll, queries, 1)
            reps = max(1, int(round(a.seconds / (per * nq))))
            c1, c2, oc = [], [], []
            for _ in range(a.rounds):
                m = CpuMeter()
                c1.append(c_threaded_qps(coll, queries, 1, reps))
                c2.append(c_threaded_qps(coll, queries, 2, reps))
                oc.append(m.stop()["other_cpus"])
            s_c = {"query": "C loop (reference)", "qps_1": median(c1), "qps_2": median(c2),
                   "ratio": median(c2) / median(c1), "ratio_per_round": [b / x for x, b in zip(c1, c2)],
                   "qps_1_rounds": c1, "qps_2_rounds": c2, "reps": reps, "other_cpus_rounds": oc}
            res["threads"] = [s_h, s_e, s_c]
            out(f"  {'query':<22} {'1 thread':>12} {'2 threads':>12} {'ratio':>7}   (ratio per round [other load, CPUs])")
            for s in (s_h, s_e, s_c):
                out(f"  {s['query']:<22} {s['qps_1']:8.0f} QPS {s['qps_2']:8.0f} QPS {s['ratio']:6.2f}x   ("
                    + ", ".join(f"{x:.2f} [{o:.2f}]" for x, o in zip(s["ratio_per_round"], s["other_cpus_rounds"]))
                    + ")")

            out("")
            ok_o = h["overhead_us"] <= 5.0
            ok_t = s_h["ratio"] >= 1.7
            out(f"== summary: overhead {h['overhead_us']:.2f} us per query (goal <= 5: "
                f"{'met' if ok_o else 'NOT met'}); 2 threads {s_h['ratio']:.2f}x of 1 (goal >= 1.7: "
                f"{'met' if ok_t else 'NOT met'}; exact {s_e['ratio']:.2f}x, C-only ceiling {s_c['ratio']:.2f}x)")
            res["summary"] = {"overhead_us": h["overhead_us"], "overhead_goal_met": ok_o,
                              "two_thread_ratio": s_h["ratio"], "two_thread_goal_met": ok_t,
                              "two_thread_ratio_exact": s_e["ratio"], "two_thread_ratio_c": s_c["ratio"]}
            res["machine"]["loadavg_end"] = loadavg()
            busy = [x for r in (h, t, s_h, s_e, s_c) for x in r["other_cpus_rounds"]]
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
