#!/bin/sh
# The Python package's tests (pytest, python/tests) against the package as installed
# for /usr/bin/python3 by scripts/install-python.sh, with the CLI of BUILD serving the
# remote tests. Ends with "N passed, N failed" (errors and skips count as failed: a
# test that did not run did not pass).
#   scripts/test-python.sh [BUILD]
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
if ! sh scripts/install-python.sh "$BUILD"; then
  echo "0 passed, 1 failed"
  exit 1
fi
out=$(mktemp)
# From python/tests, so that `import vecstore` finds the installed package, not python/.
(cd python/tests && VS_CLI="$PWD/../../$BUILD/vecstore" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
   -o asyncio_mode=strict . 2>&1) | tee "$out" | grep -vE '^\.+ *(\[ *[0-9]+%\])?$'
last=$(grep -E '(passed|failed|error)' "$out" | tail -1)
rm -f "$out"
p=$(echo "$last" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
f=$(echo "$last" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)
e=$(echo "$last" | grep -oE '[0-9]+ errors?' | grep -oE '[0-9]+' || echo 0)
s=$(echo "$last" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+' || echo 0)
echo "${p:-0} passed, $(( ${f:-0} + ${e:-0} + ${s:-0} )) failed"
[ "$(( ${f:-0} + ${e:-0} + ${s:-0} ))" -eq 0 ] && [ "${p:-0}" -gt 0 ]
