#!/bin/sh
# Builds VecStore three times (release, ASan+UBSan, TSan) and runs every test suite in the
# first two and the multi-threaded tests in the third; the release build also runs the
# end-to-end test with the Qdrant JS client (scripts/test-e2e.sh) and the Python
# package's pytest suite (scripts/test-python.sh).
# With VS_FUZZ_SECONDS=N it also builds the libFuzzer targets with clang and fuzzes each
# for N seconds. Output: each suite's lines, then one closing line "N passed, N failed" summed over all
# runs. Exit status is non-zero if anything failed. VS_TEST_LONG=1 runs the long soak,
# crash and fuzz variants.
set -u
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
status=0

run_suites() { # $1 = build dir, $2 = label
  # Every suite the test binary registers, in registration order (a list kept here
  # once missed new suites).
  for s in $("$1/vstest" --list | sed 's/\..*//' | awk '!seen[$0]++'); do
    echo "== $2: $s"
    "$1/vstest" --suite "$s" 2>&1 | tee -a "$LOG" | grep -v '^ok ' || true
    tail -1 "$LOG" | grep -q ' 0 failed$' || status=1
  done
  # Fuzz targets replay their corpora (seeds and every saved crash input).
  for f in "$1"/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f" | sed 's/^fuzz_//')
    echo "== $2: fuzz corpus $name"
    "$f" "tests/fuzz/corpus/$name" 2>&1 | tee -a "$LOG" | tail -1
    tail -1 "$LOG" | grep -q ' 0 failed$' || status=1
  done
}

echo "== build (release)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build -j "$JOBS" >/dev/null || { echo "build failed"; cmake --build build 2>&1 | tail -30; echo "0 passed, 1 failed"; exit 1; }
run_suites build release

# The official Qdrant JavaScript client against a real `vecstore serve` (installs the
# client from npm on first use; fails, never skips, without node/npm/registry).
echo "== release: e2e (Qdrant JS client)"
sh scripts/test-e2e.sh build 2>&1 | tee -a "$LOG" | grep -v '^ok ' || true
tail -1 "$LOG" | grep -q ' 0 failed$' || status=1

# The Python package, built and installed for /usr/bin/python3, under pytest (embedded,
# remote against a real `vecstore serve`, asyncio, Pandas, zero-copy and leak checks).
echo "== release: python (pytest)"
sh scripts/test-python.sh build 2>&1 | tee -a "$LOG" | grep -v '^ok ' || true
tail -1 "$LOG" | grep -q ' 0 failed$' || status=1

echo "== build (asan+ubsan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVS_SANITIZE=ON >/dev/null && cmake --build build-asan -j "$JOBS" >/dev/null || { echo "asan build failed"; echo "0 passed, 1 failed"; exit 1; }
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suites build-asan asan

# The Python suite again, with the extension built with ASan+UBSan over build-asan's library.
echo "== asan: python (pytest)"
sh scripts/test-python.sh build-asan --asan 2>&1 | tee -a "$LOG" | grep -v '^ok ' || true
tail -1 "$LOG" | grep -q ' 0 failed$' || status=1

# ThreadSanitizer: the tests whose threads share a collection or a graph (readers during writes,
# flushes, compactions and background index builds; WAL group commit). setarch -R: the
# TSan runtime of GCC 12 cannot map its shadow memory under the kernel's full ASLR.
echo "== build (tsan)"
if cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DVS_TSAN=ON >/dev/null && cmake --build build-tsan -j "$JOBS" --target vstest >/dev/null; then
  for t in queries_run group_commit growing_graph grows_in_the_background concurrent_clients; do
    echo "== tsan: $t"
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 setarch "$(uname -m)" -R \
      build-tsan/vstest "$t" 2>&1 | tee -a "$LOG" | grep -v '^ok ' || true
    tail -1 "$LOG" | grep -q ' 0 failed$' || status=1
  done
else
  echo "tsan build failed"; echo "0 passed, 1 failed" | tee -a "$LOG"; status=1
fi

if [ -n "${VS_FUZZ_SECONDS:-}" ]; then
  echo "== build (libFuzzer)"
  CC=clang cmake -S . -B build-fuzz -DVS_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null && cmake --build build-fuzz -j "$JOBS" >/dev/null
  for f in build-fuzz/fuzz_*; do
    name=$(basename "$f" | sed 's/^fuzz_//')
    work=$(mktemp -d)
    cp tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null || true
    echo "== fuzz $name for ${VS_FUZZ_SECONDS}s"
    if (cd "$work" && "$OLDPWD/$f" -max_total_time="$VS_FUZZ_SECONDS" "$work" >"$work.log" 2>&1); then
      echo "1 passed, 0 failed" | tee -a "$LOG"
    else
      tail -30 "$work.log"; echo "0 passed, 1 failed" | tee -a "$LOG"; status=1
    fi
    rm -rf "$work" "$work.log"
  done
fi

passed=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$LOG" | awk '{p+=$1} END {print p+0}')
failed=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$LOG" | awk '{f+=$3} END {print f+0}')
# A suite that crashed prints no summary line: count it as a failure.
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
