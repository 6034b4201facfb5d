#!/usr/bin/python3
"""faiss_ann.py — faiss IndexHNSWFlat, a peer of the ANN benchmark (scripts/bench-ann.sh).

BUILD   faiss.IndexHNSWFlat(d, M) (L2; 2·M links on layer 0 like hnswlib),
        hnsw.efConstruction = --efc, index.add(base) with faiss.omp_set_num_threads(
        --threads): build_s. Debian's python3-faiss 1.7.3 (built with its own SIMD
        dispatch; faiss's HNSW distance code is its fvec_L2sqr).
INDEX   index_bytes = size of faiss.write_index()'s file (vectors + links + levels).
SEARCH  faiss.omp_set_num_threads(1), hnsw.efSearch = ef; batch and per-query figures as
        annrun.py explains. Memory and JSON as annrun.h / annrun.py.
usage: faiss_ann.py BASE QUERY OUTDIR [annrun options]   (run with /usr/bin/python3)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import faiss  # noqa: E402

import annio  # noqa: E402
import annrun  # noqa: E402


def main():
    o = annrun.parse("faiss_ann.py", sys.argv[1:])
    o["tag"] = o["tag"] or "faiss"
    xb, xq = annio.read_f32(o["base"]), annio.read_f32(o["query"])
    d = xb.shape[1]
    b = {"hwm_reset": annrun.reset_hwm(), "rss_before": annrun.status_bytes("VmRSS")}
    faiss.omp_set_num_threads(o["threads"])
    index = faiss.IndexHNSWFlat(d, o["m"])
    index.hnsw.efConstruction = o["efc"]
    t0 = annrun.now()
    index.add(xb)
    b["build_s"] = annrun.now() - t0
    b["hwm_after"] = annrun.status_bytes("VmHWM")
    print(f"faiss: built {xb.shape[0]} x {d} in {b['build_s']:.2f} s on {o['threads']} "
          "threads", file=sys.stderr, flush=True)
    tmp = os.path.join(o["outdir"], "faiss.index.tmp")
    faiss.write_index(index, tmp)
    b["index_bytes"] = os.path.getsize(tmp)
    os.unlink(tmp)
    b["index_how"] = "size of faiss.write_index() file (vectors + links + levels)"

    faiss.omp_set_num_threads(1)

    def set_ef(ef):
        index.hnsw.efSearch = ef

    search = annrun.sweep(o, xq, set_ef, lambda q, k: index.search(q, k)[1],
                          lambda q, k: index.search(q, k)[1])
    simd = faiss.get_compile_options() if hasattr(faiss, "get_compile_options") else ""
    annrun.write_json(o, "faiss", f"faiss {faiss.__version__} (Debian python3-faiss)", xb,
                      xq, b, search, notes=f"IndexHNSWFlat; compile options: {simd}; "
                      "qps = one batch call on 1 thread, latencies = per-query Python calls")


if __name__ == "__main__":
    main()
