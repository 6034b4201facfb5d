#!/bin/sh
# ANN benchmark: VecStore's HNSW, native hnswlib and faiss on the same data, in one run,
# with the same parameters and thread counts.        (what `make bench-ann` runs)
#   scripts/bench-ann.sh [BUILD_DIR]       BUILD_DIR: a CMake build of VecStore (default build)
#
# 1. Data (bench/ann/datasets.py, cached in VS_BENCH_DIR, default ~/.cache/vecstore-bench):
#    fashion-mnist (Debian's dataset-fashion-mnist: 60k x 784 base, 10k queries) and
#    clustered (bench/gen_data.py's mixture, VS_ANN_N x 128, VS_ANN_NQ queries), L2, each
#    with its exact top-100 computed once (faiss IndexFlatL2, checked against numpy).
# 2. Drivers, each system in its own process, one after the other (never two at once):
#      hnswlib     bench/ann/hnswlib_driver.cpp, compiled here with g++ -O3 -march=native
#                  from Debian's libhnswlib-dev headers: the reference for the targets
#      vecstore    bench/ann/vecstore_ann.c through the public API, linked here against
#                  BUILD_DIR's libvecstore.a (marked pending when the library has no HNSW)
#      vecstore-int8, vecstore-pq[M]  the same with int8 / PQ codes (M sub-quantizers,
#                  default dim/4) and rescoring: the quantization targets
#      faiss       bench/ann/faiss_ann.py, IndexHNSWFlat (Debian python3-faiss)
#      hnswlib-py  bench/ann/hnswlib_py.py, Debian python3-hnswlib (information only)
#    Every system: M = VS_ANN_M (16), efConstruction = VS_ANN_EFC (200), k = 10.
#    Build on VS_ANN_THREADS (2) threads, then the ef sweep (VS_ANN_EFS) one query at a
#    time on ONE thread. The systems in VS_ANN_BUILD1 (default "hnswlib vecstore") are
#    also built in a second process pinned to one CPU (taskset -c 0) with 1 thread, for
#    the scaling figure. faiss: OMP_NUM_THREADS = build threads, then
#    omp_set_num_threads(1) for the search; hnswlib: set_num_threads(1) for the search.
# 3. bench/ann/evaluate.py: recall@10 against the ground truth, CSV + JSON + PNG plot per
#    data set, and the targets table (summary.md / summary.json), printed at the end.
# Results: bench/results/ann/<data set>/ (git-ignored; VS_ANN_RESULTS moves them); the log:
# bench/results/ann/run.log.
#
# Knobs: VS_ANN_DATASETS ("fashion-mnist clustered"), VS_ANN_SYSTEMS ("hnswlib vecstore
# vecstore-int8 vecstore-pq faiss hnswlib-py"), VS_ANN_N (clustered rows; 250000 here, so that a full run takes
# about 20 minutes on 2 cores: Debian's generic faiss needs 4-8 minutes to build 500k;
# datasets.py alone defaults to 1000000), VS_ANN_NQ (clustered
# queries, 1000), VS_ANN_SEED, VS_ANN_EFS ("10,16,24,32,48,64,96,128,192,256,384,512"),
# VS_ANN_REPS (sweep passes, fastest kept: 1 for 10k queries, 3 for fewer), VS_ANN_LAT_N
# (Python peers' latency sample, 1000), VS_BENCH_DIR, VS_ANN_KEEP (1: keep the other
# systems' results of the last run in each data set's directory and re-measure only
# VS_ANN_SYSTEMS, e.g. one that other processes disturbed; the data must be the same).
set -eu
BUILD=${1:-build}
cd "$(dirname "$0")/.."
PY=/usr/bin/python3 # Debian's python: numpy, faiss, hnswlib, matplotlib
RESULTS=${VS_ANN_RESULTS:-bench/results/ann}
BIN=$RESULTS/bin
M=${VS_ANN_M:-16}
EFC=${VS_ANN_EFC:-200}
THREADS=${VS_ANN_THREADS:-2}
EFS=${VS_ANN_EFS:-10,16,24,32,48,64,96,128,192,256,384,512}
DATASETS=${VS_ANN_DATASETS:-fashion-mnist clustered}
SYSTEMS=${VS_ANN_SYSTEMS:-hnswlib vecstore vecstore-int8 vecstore-pq faiss hnswlib-py}
BUILD1=${VS_ANN_BUILD1:-hnswlib vecstore}
export VS_ANN_N="${VS_ANN_N:-250000}" VS_ANN_NQ="${VS_ANN_NQ:-1000}"

missing=""
"$PY" -c 'import numpy, faiss, hnswlib, matplotlib' 2>/dev/null || missing="python3 modules"
[ -f /usr/include/hnswlib/hnswalg.h ] || missing="$missing libhnswlib-dev"
command -v g++ >/dev/null || missing="$missing g++"
if [ -n "$missing" ]; then
  echo "bench-ann: missing $missing; run: sh scripts/install-deps.sh ann" >&2
  exit 1
fi

mkdir -p "$RESULTS" "$BIN"
LOG=$RESULTS/run.log
: >"$LOG"
say() { echo "$*" | tee -a "$LOG"; }
T0=$(date +%s)

say "== machine"
lscpu | sed -n 's/^\(Model name\|CPU(s)\|Thread(s) per core\|L2 cache\|L3 cache\):  */  \1: /p' | tee -a "$LOG"
say "  memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}'); load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
say "  M=$M efConstruction=$EFC k=10 build threads=$THREADS (1-thread builds: $BUILD1) search threads=1"
say "  ef sweep: $EFS"

say "== drivers"
# The peer's strongest build: compiled for this CPU, at run time.
g++ -O3 -march=native -DNDEBUG -std=c++17 -pthread -Wno-format-truncation \
  -o "$BIN/hnswlib_driver" bench/ann/hnswlib_driver.cpp
say "  hnswlib: g++ -O3 -march=native $(dpkg-query -W -f='(libhnswlib-dev ${Version})' libhnswlib-dev 2>/dev/null || true)"
VS_PENDING=""
[ -f "$BUILD/CMakeCache.txt" ] || cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
# shellcheck disable=SC2046 # pkg-config's flags are split on purpose
if ! cmake --build "$BUILD" --target vecstore_static -j "$(nproc)" >"$BIN/vecstore-build.log" 2>&1; then
  VS_PENDING="libvecstore did not build (see $BIN/vecstore-build.log)"
elif ! cc -std=c11 -O2 -Wall -Wno-format-truncation -Iinclude -o "$BIN/vecstore_ann" \
    bench/ann/vecstore_ann.c "$BUILD/libvecstore.a" \
    $(pkg-config --libs libcjson libxxhash openblas) -lpthread -lm >"$BIN/vecstore-link.log" 2>&1; then
  if grep -q 'undefined reference to `vs_' "$BIN/vecstore-link.log"; then
    VS_PENDING="the library lacks $(grep -o 'undefined reference to `vs_[a-z_]*' "$BIN/vecstore-link.log" | sed 's/.*`//' | sort -u | tr '\n' ' ')(HNSW API not implemented yet)"
  else
    VS_PENDING="vecstore_ann did not compile (see $BIN/vecstore-link.log)"
  fi
fi
if [ -n "$VS_PENDING" ]; then say "  vecstore: PENDING: $VS_PENDING"; else say "  vecstore: $BUILD/libvecstore.a"; fi
if git rev-parse --short HEAD >/dev/null 2>&1; then # which VecStore these figures are of
  say "  source: commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src include 2>/dev/null || echo ', with uncommitted changes in src/ or include/')"
fi

# Interference. This is a shared machine: before each run the script waits (up to
# VS_ANN_IDLE_WAIT seconds, default 120, and VS_ANN_IDLE_BUDGET, default 300, over the
# whole run) until other processes use less than VS_ANN_IDLE_MAX (0.25) of a core,
# and it records the machine's busy CPU time during
# each run (/proc/stat) in DIR/TAG.tT.env; evaluate.py subtracts the driver's own CPU
# time (cpu_s in its JSON) and reports what others used ("other_cores") per run.
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
busy_jiffies() { # prints "busy total" jiffies of all CPUs
  awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat
}
# shellcheck disable=SC2046 # two numbers, split on purpose
busy_cores() { # cores busy over the next second, x100
  set -- $(busy_jiffies)
  b0=$1 t0=$2
  sleep 1
  set -- $(busy_jiffies)
  echo $(((($1 - b0) * 100 * NCPU) / ($2 - t0 + 1)))
}
IDLE_BUDGET=${VS_ANN_IDLE_BUDGET:-300}
wait_idle() {
  max=$(awk "BEGIN {print int(${VS_ANN_IDLE_MAX:-0.25} * 100)}")
  limit=${VS_ANN_IDLE_WAIT:-120}
  [ "$limit" -gt "$IDLE_BUDGET" ] && limit=$IDLE_BUDGET
  waited=0
  while :; do
    b=$(busy_cores)
    [ "$b" -le "$max" ] && break
    if [ "$waited" -ge "$limit" ]; then
      say "   machine still busy ($(awk "BEGIN {print $b / 100}") cores used by others) after ${waited} s; going on"
      break
    fi
    [ "$waited" -eq 0 ] && say "   waiting for the machine to go idle ($(awk "BEGIN {print $b / 100}") cores busy)"
    sleep 4
    waited=$((waited + 5))
  done
  IDLE_BUDGET=$((IDLE_BUDGET > waited ? IDLE_BUDGET - waited : 0))
}
now_ns() { date +%s%N; }

failed=0
# logrun CMD...: runs CMD with its output also in the log; returns CMD's exit status
# (a pipeline's status would be tee's).
logrun() {
  { "$@" 2>&1; echo $? >"$BIN/.rc"; } | tee -a "$LOG"
  return "$(cat "$BIN/.rc")"
}

# run_system TAG DIR BASE QUERY THREADS [--build-only]
run_system() {
  tag=$1 dir=$2 base=$3 query=$4 t=$5
  shift 5
  pin=""
  [ "$t" -eq 1 ] && pin="taskset -c 0"
  set -- "$base" "$query" "$dir" --m "$M" --efc "$EFC" --threads "$t" --k 10 --efs "$EFS" \
    --reps "$REPS" --tag "$tag" "$@"
  wait_idle
  say "-- $tag, build on $t thread(s)${pin:+ (pinned to CPU 0)}"
  j0=$(busy_jiffies | cut -d' ' -f1)
  w0=$(now_ns)
  rc=0
  # $pin is empty or "taskset -c 0": split on purpose.
  # shellcheck disable=SC2086
  case $tag in
    hnswlib) logrun $pin "$BIN/hnswlib_driver" "$@" || rc=$? ;;
    vecstore|vecstore-*)
      if [ -n "$VS_PENDING" ]; then
        echo "$VS_PENDING" >"$dir/$tag.status"
        say "   pending: $VS_PENDING"
        return 0
      fi
      logrun $pin "$BIN/vecstore_ann" "$@" || rc=$?
      if [ "$rc" -eq 3 ]; then
        echo "the library built no HNSW graph (HNSW not implemented yet)" >"$dir/$tag.status"
        say "   pending: no HNSW graph in this build"
        return 0
      fi ;;
    faiss) logrun env OMP_NUM_THREADS="$t" $pin "$PY" bench/ann/faiss_ann.py "$@" || rc=$? ;;
    hnswlib-py) logrun $pin "$PY" bench/ann/hnswlib_py.py "$@" || rc=$? ;;
    *) say "unknown system $tag"; rc=2 ;;
  esac
  j1=$(busy_jiffies | cut -d' ' -f1)
  w1=$(now_ns)
  awk "BEGIN {printf \"busy_s=%.3f\\nwall_s=%.3f\\n\", ($j1 - $j0) / $HZ, ($w1 - $w0) / 1e9}" \
    >"$dir/$tag.t$t.env"
  if [ "$rc" -ne 0 ] || [ ! -f "$dir/$tag.t$t.json" ]; then
    say "   $tag failed (exit $rc)"
    echo "failed (exit $rc); see $LOG" >"$dir/$tag.status"
    failed=1
  fi
}

dirs=""
for ds in $DATASETS; do
  say "== data: $ds"
  info=$("$PY" bench/ann/datasets.py prepare "$ds" 2>>"$LOG")
  name=$(echo "$info" | sed -n 's/^name=//p')
  base=$(echo "$info" | sed -n 's/^base=//p')
  query=$(echo "$info" | sed -n 's/^query=//p')
  gt=$(echo "$info" | sed -n 's/^gt=//p')
  [ -n "$gt" ] || { say "bench-ann: could not prepare $ds"; exit 1; }
  dir=$RESULTS/$ds
  if [ "${VS_ANN_KEEP:-0}" = 1 ] && [ -d "$dir" ]; then
    # Re-measure only $SYSTEMS (e.g. after a disturbed run); the others' results stay.
    for sys in $SYSTEMS; do rm -f "$dir/$sys".*; done
  else
    rm -rf "$dir"
    mkdir -p "$dir"
  fi
  nq=$("$PY" -c "import sys; sys.path.insert(0, 'bench/ann'); import annio; print(annio.read_fvecs('$query').shape[0])")
  REPS=${VS_ANN_REPS:-$([ "$nq" -ge 5000 ] && echo 1 || echo 3)}
  "$PY" - "$dir/dataset.json" "$name" "$base" "$query" "$gt" <<'EOF'
import json, sys
p, name, base, query, gt = sys.argv[1:]
json.dump({"name": name, "base": base, "query": query, "gt": gt,
           "gt_dist": gt[:-len(".ivecs")] + ".dist.fvecs"}, open(p, "w"), indent=2)
EOF
  say "   $name: $base, $nq queries, $REPS pass(es) per ef"
  for sys in $SYSTEMS; do
    case " $BUILD1 " in *" $sys "*) run_system "$sys" "$dir" "$base" "$query" 1 --build-only ;; esac
    run_system "$sys" "$dir" "$base" "$query" "$THREADS"
  done
  dirs="$dirs $dir"
done

say "== results ($(($(date +%s) - T0)) s so far)"
if [ "${VS_ANN_KEEP:-0}" = 1 ]; then # every data set with results, not only this run's
  dirs=$(for f in "$RESULTS"/*/dataset.json; do [ -f "$f" ] && dirname "$f"; done | tr '\n' ' ')
fi
# shellcheck disable=SC2086
"$PY" bench/ann/evaluate.py $dirs | tee -a "$LOG"
say "== done in $(($(date +%s) - T0)) s; results in $RESULTS/"
exit $failed
