#!/usr/bin/python3
"""hnswlib_py.py — hnswlib through Debian's python3-hnswlib: for information only (the
reference is the native build, hnswlib_driver.cpp, compiled for this machine; the Debian
binding is compiled for a generic x86-64 and shows what a Python user gets).

BUILD   hnswlib.Index('l2', d).init_index(n, ef_construction=--efc, M=--m,
        random_seed=100); set_num_threads(--threads); add_items(base, 0..n-1): build_s.
INDEX   index_bytes = size of save_index()'s file.
SEARCH  set_num_threads(1), set_ef(ef); batch and per-query figures as annrun.py says.
usage: hnswlib_py.py BASE QUERY OUTDIR [annrun options]   (run with /usr/bin/python3)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hnswlib  # noqa: E402
import numpy as np  # noqa: E402

import annio  # noqa: E402
import annrun  # noqa: E402


def main():
    o = annrun.parse("hnswlib_py.py", sys.argv[1:])
    o["tag"] = o["tag"] or "hnswlib-py"
    xb, xq = annio.read_f32(o["base"]), annio.read_f32(o["query"])
    n, d = xb.shape
    labels = np.arange(n)
    b = {"hwm_reset": annrun.reset_hwm(), "rss_before": annrun.status_bytes("VmRSS")}
    index = hnswlib.Index(space="l2", dim=d)
    index.init_index(max_elements=n, ef_construction=o["efc"], M=o["m"], random_seed=100)
    index.set_num_threads(o["threads"])
    t0 = annrun.now()
    index.add_items(xb, labels)
    b["build_s"] = annrun.now() - t0
    b["hwm_after"] = annrun.status_bytes("VmHWM")
    print(f"hnswlib-py: built {n} x {d} in {b['build_s']:.2f} s on {o['threads']} threads",
          file=sys.stderr, flush=True)
    tmp = os.path.join(o["outdir"], "hnswlib-py.index.tmp")
    index.save_index(tmp)
    b["index_bytes"] = os.path.getsize(tmp)
    os.unlink(tmp)
    b["index_how"] = "size of save_index() file (vectors + links + labels)"

    index.set_num_threads(1)
    search = annrun.sweep(o, xq, index.set_ef, lambda q, k: index.knn_query(q, k)[0],
                          lambda q, k: index.knn_query(q, k)[0])
    try:
        from importlib.metadata import version
        ver = version("hnswlib")
    except Exception:  # noqa: BLE001 - the version is for the record only
        ver = "unknown"
    annrun.write_json(o, "hnswlib-py", f"hnswlib {ver} (Debian python3-hnswlib)", xb, xq, b,
                      search, notes="information only; qps = one batch call on 1 thread, "
                      "latencies = per-query Python calls")


if __name__ == "__main__":
    main()
