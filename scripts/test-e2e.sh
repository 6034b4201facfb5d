#!/bin/sh
# End-to-end test of `vecstore serve` with the official Qdrant JavaScript client.
#
# Usage: scripts/test-e2e.sh [BUILD_DIR]      (default: build; needs BUILD_DIR/vecstore)
#
# Installs @qdrant/js-client-rest 1.18.0 once into ${VS_NPM_CACHE:-$HOME/.cache/vecstore-e2e}
# (needs node >= 18 and npm; the registry only on the first run), starts the server on a
# free port over a fresh temporary store with a full and a read-only API key, runs
# tests/e2e/qdrant_js_test.mjs against it, stops the server with SIGTERM and checks it
# exits 0. Output: one line per check, then one closing line "N passed, M failed" (the
# test's checks plus this script's). Exit status is non-zero if anything failed; nothing
# is ever skipped silently (no node, no npm, no network: a failure).
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${1:-build}
BIN=$BUILD/vecstore
NPM_DIR=${VS_NPM_CACHE:-$HOME/.cache/vecstore-e2e}
CLIENT_VERSION=1.18.0

passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
# Gives up: the reason, then the closing line.
die() { fail "$1"; echo "$passed passed, $failed failed"; exit 1; }

TMP=
PID=
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null; fi
  [ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

[ -x "$BIN" ] || die "setup: $BIN not found (build first, or pass the build directory)"
command -v node >/dev/null 2>&1 || die "setup: node is not installed (node >= 18 is needed)"

installed_version() {
  node -e 'try { console.log(require(process.argv[1]).version) } catch (e) { }' \
    "$NPM_DIR/node_modules/@qdrant/js-client-rest/package.json" 2>/dev/null
}

if [ "$(installed_version)" != "$CLIENT_VERSION" ]; then
  command -v npm >/dev/null 2>&1 || die "setup: npm is not installed (needed once, to install @qdrant/js-client-rest)"
  mkdir -p "$NPM_DIR" || die "setup: cannot create $NPM_DIR"
  echo "# installing @qdrant/js-client-rest@$CLIENT_VERSION into $NPM_DIR"
  if ! npm install --prefix "$NPM_DIR" "@qdrant/js-client-rest@$CLIENT_VERSION" --no-audit --no-fund \
    >"$NPM_DIR/npm-install.log" 2>&1; then
    grep '^npm error' "$NPM_DIR/npm-install.log" | grep -v '^npm error  *at ' | head -6 | sed 's/^/# /'
    die "setup: npm install @qdrant/js-client-rest@$CLIENT_VERSION failed (no network?); log: $NPM_DIR/npm-install.log"
  fi
  [ "$(installed_version)" = "$CLIENT_VERSION" ] ||
    die "setup: npm install did not leave @qdrant/js-client-rest $CLIENT_VERSION in $NPM_DIR"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vecstore-e2e.XXXXXX") || die "setup: mktemp failed"
: >"$TMP/server.out"
randkey() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
KEY=$(randkey)
RO_KEY=$(randkey)
if [ ${#KEY} -ne 32 ] || [ ${#RO_KEY} -ne 32 ]; then die "setup: cannot read /dev/urandom"; fi

"$BIN" serve "$TMP/store" --port 0 --api-key "$KEY" --read-only-key "$RO_KEY" \
  >"$TMP/server.out" 2>"$TMP/server.err" &
PID=$!

# Ready once it prints "listening PORT" (up to 10 s).
PORT=
i=0
while [ $i -lt 100 ]; do
  PORT=$(sed -n 's/^listening \([0-9][0-9]*\)$/\1/p' "$TMP/server.out" | head -1)
  [ -n "$PORT" ] && break
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
  i=$((i + 1))
done
if [ -z "$PORT" ]; then
  sed 's/^/# server: /' "$TMP/server.err" | tail -20
  die "server start: no 'listening PORT' line within 10 s"
fi
ok "server started (port $PORT)"

# The test's own lines are shown as they come, except its closing line, which is
# folded into this script's.
SUMMARY_RE='^[0-9][0-9]* passed, [0-9][0-9]* failed$'
{
  VS_URL="http://127.0.0.1:$PORT" VS_API_KEY="$KEY" VS_RO_KEY="$RO_KEY" VS_NPM_DIR="$NPM_DIR" \
    node tests/e2e/qdrant_js_test.mjs 2>&1
  echo $? >"$TMP/node.rc"
} | tee "$TMP/node.log" | grep -v "$SUMMARY_RE"
node_rc=$(cat "$TMP/node.rc" 2>/dev/null || echo 1)
summary=$(grep "$SUMMARY_RE" "$TMP/node.log" | tail -1)
if [ -n "$summary" ]; then
  np=$(echo "$summary" | awk '{print $1}')
  nf=$(echo "$summary" | awk '{print $3}')
  passed=$((passed + np))
  failed=$((failed + nf))
  # A non-zero exit with no failed check (a crash after the summary) is a failure too.
  [ "$node_rc" -ne 0 ] && [ "$nf" -eq 0 ] && fail "node exited with status $node_rc"
else
  fail "the node test printed no summary (exit status $node_rc)"
fi

# Graceful stop: SIGTERM, exit 0 within 10 s.
kill -TERM "$PID" 2>/dev/null
i=0
while kill -0 "$PID" 2>/dev/null && [ $i -lt 100 ]; do
  sleep 0.1
  i=$((i + 1))
done
if kill -0 "$PID" 2>/dev/null; then
  kill -KILL "$PID" 2>/dev/null
  wait "$PID" 2>/dev/null
  PID=
  fail "server stopped cleanly: still running 10 s after SIGTERM (killed)"
else
  wait "$PID"
  st=$?
  PID=
  if [ "$st" -eq 0 ]; then
    ok "server stopped cleanly"
  else
    sed 's/^/# server: /' "$TMP/server.err" | tail -20
    fail "server stopped cleanly: exit status $st after SIGTERM"
  fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
