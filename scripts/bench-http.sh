#!/bin/sh
# HTTP benchmark: `vecstore serve` under load, beside the same work in-process.
#   scripts/bench-http.sh BUILD_DIR        (what `make bench-http` runs)
#
# Builds the vecstore CLI (the server) and bench_http in BUILD_DIR, then runs
# BUILD_DIR/bench_http BUILD_DIR/vecstore (bench/bench_http.c says it all):
#   - a store of VS_BENCH_HTTP_N (100000) x 128 cosine vectors with an HNSW index (default
#     settings), built once into VS_BENCH_DIR/http-store (default ~/.cache/vecstore-bench)
#     and reused;
#   - in-process baseline: VS_BENCH_HTTP_Q (2000) single-threaded k=10 searches through
#     the C API (p50, p99, mean, QPS), and upserts in batches of 100 and 1 on 1 and 8
#     threads;
#   - the real server (`vecstore serve STORE --port 0 --threads VS_BENCH_HTTP_THREADS`,
#     default 2) driven by bench_http's own client (one thread, epoll, keep-alive, closed
#     loop): search QPS and p50/p99/max latency at 1, 8 and 64 connections, each
#     VS_BENCH_HTTP_SECONDS (15) after VS_BENCH_HTTP_WARMUP (1) s; the ids of the first 50
#     queries compared with the in-process ones; upserts (PUT …/points?wait=true, batches
#     of 100 and 1, 1 and 8 connections, VS_BENCH_HTTP_UPSERT_N = 20000 points each);
#     wrk (if on PATH) at 64 connections as a cross-check of the client;
#   - with VS_BENCH_HTTP_SOAK_SECONDS (e.g. 600): a mixed soak at 8 connections (89 %
#     search, 10 % single-point upserts with ids cycling over [0, VS_BENCH_HTTP_SOAK_IDS =
#     50000), so the data stops growing once the range is full, 1 % scroll) sampling the
#     server's RSS every VS_BENCH_HTTP_SOAK_EVERY (10) s, also net of the soak
#     collection's own memory;
#   - SIGTERM, which must end the server with exit status 0.
# The headline is the HTTP overhead at 1 connection: (HTTP p50 - in-process p50) /
# in-process p50, goal <= 15 %. Results: a table on stdout and bench/results/http.json.
# Exit status 1 if any request failed or the server did not stop cleanly.
#
# FAIRNESS
#   - One machine: the load client (1 thread), wrk and the server (VS_BENCH_HTTP_THREADS
#     request threads plus the store's background thread) share the same cores (2 on
#     the dev box). Every HTTP latency includes the client's own work (formatting is
#     done beforehand; sending, epoll, parsing the answer's framing); bench_http prints
#     the client's and the server's CPU time per request so their shares can be judged.
#     Run it on an otherwise idle machine (load average printed below).
#   - Both sides search the same store, graph and parameters (k 10, default ef, no
#     payload, no vector) with the same floats: the in-process queries are the floats
#     parsed back from the JSON text (%.7g) that is sent to the server.
#   - Upserts: both sides use the same fsync policy (VS_BENCH_HTTP_FSYNC, default always,
#     passed to the server as --fsync) and start from an empty collection each time. The
#     server handles at most VS_BENCH_HTTP_THREADS requests at once, so 8 connections
#     give it at most that many concurrent writers, where the in-process side has 8.
#   - Which server thread serves a connection is libmicrohttpd's choice (each worker of
#     its pool accepts from the shared socket): now and then one worker accepts all of a
#     level's connections and that level runs on one thread (about half the QPS at 8 and
#     64 connections). bench_http prints the cores each server thread used per level
#     ("MHD-worker 0.99" alone = that case); compare runs with the same spread.
#   - wrk repeats one fixed query (its script, bench/http_search.lua, sends one body);
#     bench_http cycles through all Q queries.
#   - The search phases run before any writes, so no background indexing disturbs them.
#
# Smoke run (about a minute): VS_BENCH_HTTP_N=5000 VS_BENCH_HTTP_SECONDS=2
#   VS_BENCH_HTTP_SOAK_SECONDS=20 VS_BENCH_DIR=/tmp/vsbench-smoke scripts/bench-http.sh build
set -eu
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$1
cd "$(dirname "$0")/.."

[ -f "$BUILD/CMakeCache.txt" ] || cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target vecstore_cli bench_http -j "$(nproc)" >/dev/null

echo "== machine"
lscpu | sed -n 's/^\(Model name\|CPU(s)\|Thread(s) per core\|L2 cache\|L3 cache\):  */  \1: /p'
echo "  memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}'); load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
if command -v wrk >/dev/null 2>&1; then
  echo "  wrk: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
else
  echo "  wrk: not installed (the cross-check is skipped; Debian: apt-get install wrk)"
fi
if git rev-parse --short HEAD >/dev/null 2>&1; then # which VecStore these figures are of
  echo "  source: commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src include tools 2>/dev/null || echo ', with uncommitted changes in src/, include/ or tools/')"
fi
exec "$BUILD/bench_http" "$BUILD/vecstore"
