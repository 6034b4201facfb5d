"""Builds the Python package `vecstore` (python/vecstore + the C extension python/ext).

The extension links libvecstore statically (its objects are position-independent), so
the installed package needs no LD_LIBRARY_PATH. Where that library comes from:
  VS_LIB_DIR=<dir with libvecstore.a>   an existing CMake build (scripts/test.sh passes
                                        build/), else
  build/py-lib                          configured and built here with CMake (Release).
Everything is offline: pip runs with --no-build-isolation --no-index against Debian's
setuptools, numpy and wheel (scripts/install-python.sh).
"""
import os
import shlex
import subprocess

import numpy
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def pkg_libs():
    """The libraries libvecstore itself links (pkg-config names as in CMakeLists.txt)."""
    out = subprocess.run(["pkg-config", "--libs", "libcjson", "libpcre2-8", "libxxhash", "openblas", "proj"],
                         check=True, capture_output=True, text=True).stdout
    return shlex.split(out) + ["-lpthread", "-lm"]


class BuildExt(build_ext):
    def run(self):
        lib_dir = os.environ.get("VS_LIB_DIR")
        if lib_dir:
            lib_dir = os.path.abspath(lib_dir)
        else:
            lib_dir = os.path.join(ROOT, "build", "py-lib")
            subprocess.run(["cmake", "-S", ROOT, "-B", lib_dir, "-DCMAKE_BUILD_TYPE=Release"],
                           check=True, stdout=subprocess.DEVNULL)
            subprocess.run(["cmake", "--build", lib_dir, "--target", "vecstore_static", "-j",
                            str(os.cpu_count() or 2)], check=True)
        lib = os.path.join(lib_dir, "libvecstore.a")
        if not os.path.exists(lib):
            raise SystemExit(f"libvecstore.a not found in {lib_dir} (build it: make build)")
        for ext in self.extensions:
            ext.extra_objects = [lib]
            ext.extra_link_args = pkg_libs() + ext.extra_link_args
        super().run()


ext = Extension(
    "vecstore._vecstore",
    sources=[f"python/ext/{f}" for f in ("module.c", "store.c", "coll.c", "result.c")],
    depends=["python/ext/vsext.h", "include/vecstore.h"],
    include_dirs=[os.path.join(ROOT, "include"), os.path.join(ROOT, "src"), numpy.get_include()],
    extra_compile_args=["-std=c11", "-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers",
                        "-Wno-cast-function-type"] + shlex.split(os.environ.get("VS_PY_CFLAGS", "")),
    extra_link_args=shlex.split(os.environ.get("VS_PY_LDFLAGS", "")),
)

setup(ext_modules=[ext], cmdclass={"build_ext": BuildExt})
