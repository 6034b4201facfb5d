#!/bin/sh
# The Python package's tests (pytest, python/tests) against the package as installed
# for /usr/bin/python3 by scripts/install-python.sh, with the CLI of BUILD serving the
# remote tests. Ends with "N passed, N failed" (errors and skips count as failed: a
# test that did not run did not pass).
#   scripts/test-python.sh [BUILD]            the installed package
#   scripts/test-python.sh BUILD --asan       an ASan+UBSan build of the extension over
#                                             BUILD/libvecstore.a (a sanitizer build), not
#                                             installed: run from build/python-asan with the
#                                             sanitizer runtimes preloaded into python
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROOT=$PWD
CLI=$ROOT/$BUILD/vecstore
if [ "${2:-}" = "--asan" ]; then
  CLI=$ROOT/build/vecstore # the release server (its own tests ran under ASan already)
  PYDIR=$ROOT/build/python-asan
  rm -rf "$PYDIR"
  mkdir -p "$PYDIR"
  if ! VS_LIB_DIR="$BUILD" VS_PY_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1" \
       VS_PY_LDFLAGS="-fsanitize=address,undefined" /usr/bin/python3 setup.py -q build_ext -b "$PYDIR" -t "$PYDIR/tmp" >/dev/null 2>&1; then
    echo "asan build of the extension failed"; echo "0 passed, 1 failed"; exit 1
  fi
  cp python/vecstore/*.py python/vecstore/py.typed "$PYDIR/vecstore/"
  # CPython's own allocations at exit are not freed, so LeakSanitizer stays off; the suite's
  # fixture checks libvecstore's live allocations around every test instead.
  export PYTHONPATH="$PYDIR" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=0 \
         UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
elif ! sh scripts/install-python.sh "$BUILD"; then
  echo "0 passed, 1 failed"
  exit 1
fi
out=$(mktemp)
# From python/tests, so that `import vecstore` finds the installed package, not python/.
(cd python/tests && VS_CLI="$CLI" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
   -o asyncio_mode=strict . 2>&1) | tee "$out" | grep -vE '^\.+ *(\[ *[0-9]+%\])?$'
last=$(grep -E '(passed|failed|error)' "$out" | tail -1)
rm -f "$out"
p=$(echo "$last" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
f=$(echo "$last" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)
e=$(echo "$last" | grep -oE '[0-9]+ errors?' | grep -oE '[0-9]+' || echo 0)
s=$(echo "$last" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+' || echo 0)
echo "${p:-0} passed, $(( ${f:-0} + ${e:-0} + ${s:-0} )) failed"
[ "$(( ${f:-0} + ${e:-0} + ${s:-0} ))" -eq 0 ] && [ "${p:-0}" -gt 0 ]
