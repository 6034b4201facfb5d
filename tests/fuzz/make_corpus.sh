#!/bin/sh
# Regenerates the binary seeds of the fuzz corpora (WAL files, commands, archives) from
# a small store made with the CLI. Text seeds (filters, JSON) are written by hand.
# Usage: tests/fuzz/make_corpus.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/../.."
VS=${1:-build}/vecstore
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
printf '{"id":1,"vector":[1,2,3],"payload":{"a":1}}\n{"id":"x","vector":[0,1,0],"payload":{"t":["p","q"]}}\n' > "$T/p.jsonl"
"$VS" create "$T/db" c --dim 3 --metric l2 >/dev/null
"$VS" import "$T/db" c "$T/p.jsonl" >/dev/null 2>&1
"$VS" set-payload "$T/db" c 1 --json '{"b":true}' >/dev/null
"$VS" delete "$T/db" c x >/dev/null
cp "$T"/db/collections/c/wal/*.wal tests/fuzz/corpus/wal/seed-wal
"$VS" snapshot "$T/db" c tests/fuzz/corpus/archive/seed-snapshot >/dev/null 2>&1
# Split the WAL into its command payloads (record header: u32 len, u32 0, u64 lsn, u64 sum).
/usr/bin/python3 - tests/fuzz/corpus/wal/seed-wal tests/fuzz/corpus/command <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()[64:]
i = n = 0
while i + 24 <= len(data):
    ln = struct.unpack_from("<I", data, i)[0]
    open(f"{sys.argv[2]}/seed-{n}", "wb").write(data[i + 24:i + 24 + ln])
    i += 24 + ln
    n += 1
PY
echo "corpus regenerated" >&2
