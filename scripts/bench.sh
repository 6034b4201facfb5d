#!/bin/sh
# Exact search and ingest, VecStore side by side with faiss, on the same data in one run.
#   scripts/bench.sh BUILD_DIR        (what `make bench` runs, after building BUILD_DIR)
#
# 1. bench/gen_data.py writes the data set once (1M x 128 clustered float32 + 1000
#    queries, .fvecs, deterministic) into VS_BENCH_DIR (default ~/.cache/vecstore-bench).
# 2. Rounds (VS_BENCH_ROUNDS, default 2), alternating the sides so that both see the
#    same phases of this shared machine: BUILD_DIR/bench_exact (VecStore through its
#    public API) then bench/peers/faiss_exact.py (faiss IndexFlatL2), each writing
#    figures and top-10 ids into bench/results/round-N/.
# 3. bench/peers/compare_exact.py checks that both searched alike and returned the same
#    neighbours (recall@10 = 1.0 up to ties), prints the table with ours/faiss ratios,
#    and writes bench/results/summary.json. A disagreement fails the script (exit 1).
#
# FAIRNESS
#   - OpenBLAS: faiss (Debian's python3-faiss) links the same libopenblas.so.0 as we do
#     (printed below from ldd). OpenBLAS 0.3.21 does not know Zen 5 and picks its
#     Haswell kernels; OPENBLAS_CORETYPE=SkylakeX selects the AVX-512 sgemm, about 1.6x
#     faster. Both processes get the same OPENBLAS_CORETYPE (VS_BENCH_CORETYPE, default
#     SkylakeX; it overrides whatever the caller's environment had) and the same
#     OPENBLAS_NUM_THREADS (VS_BENCH_THREADS, default nproc), and the compare step
#     refuses results where the two processes report a different core or thread count.
#   - Threads: single queries on one thread each side; batches on VS_BENCH_THREADS
#     (faiss: omp_set_num_threads, plus OpenBLAS's threads for its sgemm; ours:
#     OpenBLAS's threads).
#   - faiss runs with OMP_WAIT_POLICY=PASSIVE: with its OpenMP threads and OpenBLAS's
#     threads on the same 2 cores, libgomp's default spin-waiting starves OpenBLAS and
#     makes faiss's batch several times slower (docs/benchmarks.md has the figures);
#     PASSIVE is its strongest setting here. Override with VS_BENCH_FAISS_OMP_WAIT.
#
# Other knobs (read by the programs): VS_BENCH_N (rows, default 1000000),
# VS_BENCH_SINGLE (single queries, default 200), VS_BENCH_REPS (batch runs per round,
# default 5), VS_BENCH_INGEST_N / VS_BENCH_INGEST1_N (ingest points, default 100000 / 2000).
set -eu
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$1
cd "$(dirname "$0")/.."
PY=/usr/bin/python3 # Debian's python: numpy and faiss (the python3 on PATH may lack them)
RESULTS=bench/results
ROUNDS=${VS_BENCH_ROUNDS:-2}
THREADS=${VS_BENCH_THREADS:-$(nproc)}
export OPENBLAS_CORETYPE="${VS_BENCH_CORETYPE:-SkylakeX}"
export OPENBLAS_NUM_THREADS="$THREADS" VS_BENCH_THREADS="$THREADS"
FAISS_WAIT=${VS_BENCH_FAISS_OMP_WAIT:-PASSIVE}

[ -f "$BUILD/CMakeCache.txt" ] || cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target bench_exact >/dev/null
"$PY" -c 'import numpy, faiss' 2>/dev/null || {
  echo "bench: $PY cannot import numpy and faiss; run: sh scripts/install-deps.sh bench" >&2
  exit 1
}

echo "== machine"
lscpu | sed -n 's/^\(Model name\|CPU family\|CPU(s)\|Thread(s) per core\|L2 cache\|L3 cache\):  */  \1: /p'
echo "  memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}'); load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
FAISS_SO=$("$PY" -c 'import faiss, os; d = os.path.dirname(faiss.__file__); print(next(os.path.join(d, f) for f in sorted(os.listdir(d)) if f.startswith("_swigfaiss") and f.endswith(".so")))')
echo "  faiss links: $(ldd "$FAISS_SO" | awk '/openblas|libblas|gomp/ {printf "%s ", $1}')"
echo "  both processes: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS; faiss also OMP_WAIT_POLICY=$FAISS_WAIT"
other=$(env | grep '^OPENBLAS_' | grep -v -e '^OPENBLAS_CORETYPE=' -e '^OPENBLAS_NUM_THREADS=' | tr '\n' ' ' || true)
[ -z "$other" ] || echo "  also inherited by both: $other"

echo "== data"
"$PY" bench/gen_data.py >/dev/null
BASE=$("$PY" bench/gen_data.py --print-paths | sed -n 1p)
QUERY=$("$PY" bench/gen_data.py --print-paths | sed -n 2p)

mkdir -p "$RESULTS"
dirs=""
r=1
while [ "$r" -le "$ROUNDS" ]; do
  d="$RESULTS/round-$r"
  rm -rf "$d"
  mkdir -p "$d"
  echo "== round $r/$ROUNDS: VecStore (load average $(cut -d' ' -f1 /proc/loadavg))"
  "$BUILD/bench_exact" "$BASE" "$QUERY" "$d"
  echo "== round $r/$ROUNDS: faiss (load average $(cut -d' ' -f1 /proc/loadavg))"
  OMP_WAIT_POLICY="$FAISS_WAIT" "$PY" bench/peers/faiss_exact.py "$BASE" "$QUERY" "$d"
  dirs="$dirs $d"
  r=$((r + 1))
done

echo "== VecStore vs faiss"
# shellcheck disable=SC2086
"$PY" bench/peers/compare_exact.py "$BASE" "$QUERY" "$RESULTS" $dirs
# The last round's files also at the top level, under the names the programs use.
cp "$RESULTS/round-$ROUNDS"/*.json "$RESULTS/"
