#!/usr/bin/python3
"""gen_data.py — the data set both sides of the exact-search benchmark read.

VecStore (bench/bench_exact.c) and faiss (bench/peers/faiss_exact.py) must search the
same vectors, so neither generates its own: this script writes them once, as .fvecs
(the TEXMEX format: per vector an int32 dimension, then that many float32), into a
cache directory, and both programs read those files.

THE DATA
  1000 Gaussian clusters in 128 dimensions: centres ~ N(0, 1)^128, points = centre +
  0.5 * N(0, 1)^128, each point's cluster drawn uniformly. Between centres the
  distance is about 16, inside a cluster about 8, so a query's neighbours come from its
  own cluster and a few near ones, as with real embeddings, rather than being spread as
  thinly as in uniform noise (where every point is nearly equidistant and "top-10" is
  mostly rounding). The 1000 queries come from the same mixture, drawn separately.

DETERMINISM
  Every random stream is a numpy Generator (PCG64) seeded by a SeedSequence of
  (SEED, stream, chunk): the centres are stream 0, the base vectors stream 1 in chunks
  of CHUNK rows, the queries stream 2. The output depends only on SEED, N and numpy's
  PCG64/ziggurat (stable since numpy 1.17), never on the machine. Files are written
  under a temporary name and renamed, so a killed run leaves no half file behind.

FILES (in VS_BENCH_DIR, default ~/.cache/vecstore-bench)
  clustered-d128-s<SEED>-n<N>.base.fvecs      N x 128
  clustered-d128-s<SEED>-q1000.query.fvecs    1000 x 128
An existing file of the right size is kept. Prints the two paths, base then query, one
per line. usage: gen_data.py [--print-paths]   (--print-paths: only print them)
"""
import os
import sys

import numpy as np

SEED = 20261123
DIM = 128
CLUSTERS = 1000
SIGMA = 0.5
NQ = 1000
CHUNK = 100_000


def data_dir():
    return os.environ.get("VS_BENCH_DIR") or os.path.expanduser("~/.cache/vecstore-bench")


def bench_n():
    n = int(os.environ.get("VS_BENCH_N", "1000000"))
    if n < 1000 or n > 100_000_000:
        sys.exit(f"gen_data: VS_BENCH_N={n} is out of range 1000..100000000")
    return n


def paths(n):
    d = data_dir()
    stem = f"clustered-d{DIM}-s{SEED}"
    return (os.path.join(d, f"{stem}-n{n}.base.fvecs"),
            os.path.join(d, f"{stem}-q{NQ}.query.fvecs"))


def rng(stream, chunk=0):
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([SEED, stream, chunk])))


def centres():
    return rng(0).standard_normal((CLUSTERS, DIM), dtype=np.float32)


def sample(g, c, m):
    """m points of the mixture with centres c, from generator g."""
    which = g.integers(0, CLUSTERS, size=m)
    x = g.standard_normal((m, DIM), dtype=np.float32)
    x *= np.float32(SIGMA)
    x += c[which]
    return x


def write_fvecs(path, n, chunks):
    """chunks yields float32 arrays of shape (m, DIM) adding up to n rows."""
    want = n * (DIM + 1) * 4
    if os.path.exists(path) and os.path.getsize(path) == want:
        print(f"gen_data: {path} exists", file=sys.stderr)
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    done = 0
    with open(tmp, "wb") as f:
        for x in chunks:
            rows = np.empty((x.shape[0], DIM + 1), dtype=np.float32)
            rows[:, 0] = np.array([DIM], dtype=np.int32).view(np.float32)[0]
            rows[:, 1:] = x
            f.write(rows.tobytes())
            done += x.shape[0]
    assert done == n and os.path.getsize(tmp) == want
    os.replace(tmp, path)
    print(f"gen_data: wrote {path} ({n} x {DIM})", file=sys.stderr)


def main():
    n = bench_n()
    base, query = paths(n)
    if "--print-paths" in sys.argv[1:]:
        print(base, query, sep="\n")
        return
    c = centres()

    def base_chunks():
        for k, r0 in enumerate(range(0, n, CHUNK)):
            yield sample(rng(1, k), c, min(CHUNK, n - r0))

    write_fvecs(base, n, base_chunks())
    write_fvecs(query, NQ, iter([sample(rng(2), c, NQ)]))
    print(base, query, sep="\n")


if __name__ == "__main__":
    main()
