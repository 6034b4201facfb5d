#!/bin/sh
# The main job: create a store, import the bundled sample, run a few queries, print the
# results. Usage: scripts/quickstart.sh [BUILD_DIR]. The store goes to
# $VS_QUICKSTART_STORE (default /tmp/vecstore-quickstart) and is recreated each run.
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
echo "quickstart done: store at $DB" >&2
