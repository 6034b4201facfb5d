#!/bin/sh
# The main job: create a store, import the bundled sample, run a few queries, print the
# results, then serve the store over HTTP (Qdrant-compatible REST, docs/http-api.md) until
# Ctrl-C / SIGTERM. Usage: scripts/quickstart.sh [BUILD_DIR]. The store goes to
# $VS_QUICKSTART_STORE (default /tmp/vecstore-quickstart) and is recreated each run; the
# server listens on 127.0.0.1:$VS_QUICKSTART_PORT (default 6333; 0 = any free port).
# VS_QUICKSTART_SERVE=0 stops after the CLI part; VS_QUICKSTART_SERVE=demo serves just
# long enough for the two example requests.
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
VS="$BUILD/vecstore"
DB=${VS_QUICKSTART_STORE:-/tmp/vecstore-quickstart}
centre() { /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(open("examples/centres.json"))[sys.argv[1]]))' "$1"; }
step() { printf '\n\033[1m$ %s\033[0m\n' "$*" >&2; "$@"; }

rm -rf "$DB"
step "$VS" create "$DB" products --dim 16 --metric cosine
step "$VS" import "$DB" products examples/sample.jsonl
step "$VS" info "$DB" products
step "$VS" query "$DB" products --vector "$(centre books)" -k 3
step "$VS" query "$DB" products --vector "$(centre toys)" -k 3 \
    --filter '{"must":[{"key":"price","range":{"lt":30}}],"must_not":[{"key":"tags","match":{"value":"sale"}}]}'
step "$VS" count "$DB" products --filter '{"must":[{"key":"category","match":{"any":["books","music"]}}]}'
step "$VS" get "$DB" products 7 42
step "$VS" delete "$DB" products 7
step "$VS" snapshot "$DB" products "$DB.vsnap"
step "$VS" restore "$DB" "$DB.vsnap" --name products_copy
step "$VS" list "$DB"
step "$VS" check "$DB"
echo >&2
echo "quickstart: store at $DB" >&2
SERVE=${VS_QUICKSTART_SERVE:-1}
[ "$SERVE" = 0 ] && exit 0

# The same store over HTTP: start the server, ask it two things a Qdrant client would,
# then keep serving in the foreground.
PORT=${VS_QUICKSTART_PORT:-6333}
OUT=$(mktemp)
printf '\n\033[1m$ %s\033[0m\n' "$VS serve $DB --port $PORT" >&2
"$VS" serve "$DB" --port "$PORT" >"$OUT" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID; rm -f "$OUT"; exit 0' INT TERM
i=0
while ! grep -q '^listening ' "$OUT" && kill -0 $PID 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(sed -n 's/^listening //p' "$OUT")
rm -f "$OUT"
[ -n "$PORT" ] || { echo "quickstart: the server did not start" >&2; exit 1; }
/usr/bin/python3 - "$PORT" "$(centre books)" <<'PY'
import json, sys, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    print(f"\n\033[1m$ curl -X {method} {base}{path}" + (f" -d '{json.dumps(body)}'" if body else "") + "\033[0m",
          file=sys.stderr)
    with urllib.request.urlopen(req) as r:
        print(r.read().decode())
call("GET", "/collections/products")
call("POST", "/collections/products/points/search",
     {"vector": json.loads(sys.argv[2]), "limit": 3, "with_payload": True,
      "filter": {"must": [{"key": "price", "range": {"lt": 30}}]}})
PY
if [ "$SERVE" = demo ]; then
  kill -TERM $PID
  wait $PID
  exit $?
fi
echo >&2
echo "serving $DB on http://127.0.0.1:$PORT (Qdrant-compatible REST; docs/http-api.md) - Ctrl-C stops" >&2
wait $PID
