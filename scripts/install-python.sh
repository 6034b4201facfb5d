#!/bin/sh
# Builds the Python package `vecstore` (a wheel: python/vecstore + the C extension linked
# with BUILD/libvecstore.a) and installs it for /usr/bin/python3, offline: pip runs with
# --no-build-isolation --no-index against Debian's setuptools/wheel/numpy (PyPI is not
# reachable, and not needed). As root it goes to /usr/local/lib/python3*/dist-packages,
# the place Debian keeps for locally installed packages (pip needs
# --break-system-packages for that under PEP 668; --no-deps means it touches nothing
# but vecstore itself); otherwise to the user's site-packages.
#   scripts/install-python.sh [BUILD]     (default build/)
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PY=/usr/bin/python3
[ -f "$BUILD/libvecstore.a" ] || { echo "install-python: $BUILD/libvecstore.a missing (make build)" >&2; exit 1; }
DIST=build/python/dist
rm -rf "$DIST"
VS_LIB_DIR="$BUILD" $PY -m pip wheel -q --no-build-isolation --no-index --no-deps -w "$DIST" . >&2
WHEEL=$(ls "$DIST"/vecstore-*.whl)
if [ "$(id -u)" -eq 0 ]; then
  $PY -m pip install -q --no-index --no-deps --force-reinstall --break-system-packages \
      --root-user-action=ignore "$WHEEL" >&2
else
  $PY -m pip install -q --user --no-index --no-deps --force-reinstall --break-system-packages "$WHEEL" >&2
fi
# Import it from elsewhere than the source tree, as a user would.
(cd / && $PY -c "import vecstore; print('installed vecstore', vecstore.__version__, 'for', __import__('sys').executable, 'at', vecstore.__path__[0])")
