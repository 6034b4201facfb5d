"""annrun.py — what the Python peers of the ANN benchmark (faiss_ann.py, hnswlib_py.py)
share: annrun.h's command line, memory probe and JSON, in Python, so that they measure as
the native drivers do (see annrun.h for the method).

One difference, forced by Python: a query issued alone pays the interpreter's and the
binding's per-call cost (a few microseconds: argument conversion, result arrays), which
the native drivers do not. So each peer reports two figures per ef:
  qps          all queries in ONE call of the library's batch search with ONE thread
               (faiss.omp_set_num_threads(1); hnswlib set_num_threads(1)): the library
               answers them one after another in C++, with no Python between them. This
               is the library's single-thread throughput, its strongest one-thread figure.
  lat_*_us     each query alone in a Python loop, timed with perf_counter: the latency
               an application calling from Python sees (includes the per-call cost);
               over the first VS_ANN_LAT_N queries (default 1000; all of them if fewer),
               which is plenty for a mean and a p99 and halves the peers' sweep time.
  qps_loop     queries / wall time of that loop.
The ids written are the batch call's (the loop returns the same ones).
"""
import json
import os
import resource
import sys
import time

import numpy as np

import annio

DEFAULT_EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]


def parse(prog, argv):
    o = {"m": 16, "efc": 200, "threads": 2, "k": 10, "reps": 1, "warmup": 200,
         "efs": list(DEFAULT_EFS), "build_only": False, "tag": None}
    pos = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--build-only":
            o["build_only"] = True
        elif a == "--efs":
            o["efs"] = [int(x) for x in argv[i + 1].split(",")]
            i += 1
        elif a == "--tag":
            o["tag"] = argv[i + 1]
            i += 1
        elif a.startswith("--") and a[2:] in o:
            o[a[2:]] = int(argv[i + 1])
            i += 1
        elif a.startswith("--"):
            sys.exit(f"{prog}: unknown option {a}")
        else:
            pos.append(a)
        i += 1
    if len(pos) != 3:
        sys.exit(f"usage: {prog} BASE QUERY OUTDIR [--m M] [--efc EFC] [--threads T] [--k K] "
                 "[--efs E1,E2,...] [--reps R] [--warmup W] [--build-only] [--tag NAME]")
    o["base"], o["query"], o["outdir"] = pos
    return o


def status_bytes(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def now():
    return time.perf_counter()


def write_json(o, system, version, xb, xq, build, search, notes=""):
    n, d = xb.shape
    nq = xq.shape[0]
    r = {"system": system, "tag": o["tag"], "version": version, "base": o["base"],
         "query": o["query"], "n": n, "dim": d, "nq": nq, "k": o["k"], "m": o["m"],
         "ef_construction": o["efc"], "build_threads": o["threads"],
         "cpus_allowed": len(os.sched_getaffinity(0)),
         "build_s": round(build["build_s"], 4), "import_s": -1.0,
         "raw_data_bytes": (n + nq) * d * 4,
         "rss_before_build_bytes": build["rss_before"],
         "hwm_after_build_bytes": build["hwm_after"], "hwm_reset": build["hwm_reset"],
         "build_mem_bytes": build["hwm_after"] - build["rss_before"],
         "index_bytes": build["index_bytes"], "index_how": build["index_how"],
         "notes": notes, "search": search}
    ru = resource.getrusage(resource.RUSAGE_SELF)
    r["cpu_s"] = round(ru.ru_utime + ru.ru_stime, 3)  # for the runner's interference check
    path = os.path.join(o["outdir"], f"{o['tag']}.t{o['threads']}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(r, f, indent=2)
    os.replace(path + ".tmp", path)


def sweep(o, xq, set_ef, batch, one):
    """set_ef(ef); batch(xq, k) -> ids (nq x k); one(q (1 x d), k) -> ids (1 x k)."""
    out = []
    k, nq = o["k"], xq.shape[0]
    lat_n = min(nq, int(os.environ.get("VS_ANN_LAT_N") or 1000))
    rows = [xq[i:i + 1] for i in range(lat_n)]
    for ef in ([] if o["build_only"] else o["efs"]):
        set_ef(ef)
        for q in rows[:o["warmup"]]:
            one(q, k)
        best_b, ids = 1e300, None
        for _ in range(o["reps"]):
            t0 = now()
            got = batch(xq, k)
            t = now() - t0
            if t < best_b:
                best_b, ids = t, got
        best_l, lat_best = 1e300, None
        lat = np.empty(lat_n)
        for _ in range(o["reps"]):
            t0 = now()
            for i, q in enumerate(rows):
                a = now()
                one(q, k)
                lat[i] = now() - a
            t = now() - t0
            if t < best_l:
                best_l, lat_best = t, lat.copy()
        ids = np.asarray(ids, dtype=np.int64)
        ids = np.where(ids < 0, -1, ids).astype(np.int32)
        name = f"{o['tag']}.ef{ef}.ivecs"
        annio.write_ivecs(os.path.join(o["outdir"], name), ids)
        e = {"ef": ef, "qps": round(nq / best_b, 2),
             "lat_mean_us": round(float(lat_best.mean()) * 1e6, 3),
             "lat_p50_us": round(float(np.percentile(lat_best, 50)) * 1e6, 3),
             "lat_p99_us": round(float(np.percentile(lat_best, 99)) * 1e6, 3),
             "qps_loop": round(lat_n / best_l, 2), "lat_queries": lat_n, "ids": name}
        print(f"{o['tag']}: ef {ef:4d}  {e['qps']:9.1f} QPS (batch, 1 thread)  "
              f"loop {e['qps_loop']:9.1f} QPS  mean {e['lat_mean_us']:8.1f} us  "
              f"p99 {e['lat_p99_us']:8.1f} us", file=sys.stderr, flush=True)
        out.append(e)
    return out
