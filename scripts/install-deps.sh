#!/bin/sh
# Installs the Debian packages VecStore needs to build, test and benchmark (apt-get only).
# Safe to run repeatedly: it only calls apt-get when something is missing.
set -e
PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev libcjson-dev libxxhash-dev \
libopenblas-dev libzstd-dev python3-numpy python3-faiss"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2 || true
  $SUDO apt-get install -y -qq $missing >&2
fi
