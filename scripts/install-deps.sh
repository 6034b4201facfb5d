#!/bin/sh
# Installs the Debian packages VecStore needs (apt-get only), if any are missing.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh bench    also the peers the benchmarks compare against
#   scripts/install-deps.sh ann      also the ANN benchmark's peers and data (hnswlib
#                                    headers + Python binding, faiss, Fashion-MNIST, g++)
# Safe to run repeatedly: apt-get runs only when something is missing.
set -e
PKGS="build-essential cmake pkg-config libcjson-dev libpcre2-dev libxxhash-dev libopenblas-dev libmicrohttpd-dev libssl-dev libproj-dev python3"
# Geo tests' oracles: Google's S2 library and GeographicLib (C++; the library does not link them).
PKGS="$PKGS g++ libs2-dev libgeographiclib-dev"
# The Python package (built offline with Debian's tools; tested with pytest).
PKGS="$PKGS python3-dev python3-numpy python3-pandas python3-tqdm python3-setuptools python3-wheel python3-pip python3-pytest python3-pytest-asyncio"
[ "${1:-}" = "bench" ] && PKGS="$PKGS python3-faiss python3-matplotlib"
[ "${1:-}" = "ann" ] && PKGS="$PKGS libhnswlib-dev python3-hnswlib python3-faiss python3-matplotlib dataset-fashion-mnist g++"
[ -n "${VS_FUZZ_SECONDS:-}" ] && PKGS="$PKGS clang libclang-rt-14-dev"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# The end-to-end test drives the server with the Qdrant JS client: node and npm, from
# Debian only when none is on PATH (a newer npm installed by other means is kept).
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2 || true
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
