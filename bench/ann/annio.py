"""annio.py — readers and writers for the ANN benchmark's files, in Python (numpy).

The same formats as bench/ann/annio.h (the C side), so that every driver, the data
preparation and the evaluation read one set of files:
  .fvecs  per vector: int32 d, then d float32            (TEXMEX / ann-benchmarks)
  .ivecs  per vector: int32 d, then d int32              (ground truth, result ids)
  .bvecs  per vector: int32 d, then d uint8              (read as float32)
  .npy    numpy's own format (np.load; C order, 1-d or 2-d)
  IDX     the MNIST / Fashion-MNIST format (gzip'd or not): magic 0x0000TTNN with type
          TT (0x08 = uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E
          float64) and NN dimensions, NN big-endian uint32 sizes, then the data big-endian.
Writers go to a temporary name and rename, so a killed run leaves no half file.
"""
import gzip
import os

import numpy as np


def _read_vecs(path, dtype, esz):
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size < 4:
        raise ValueError(f"{path}: empty")
    d = int(raw[:4].view("<i4")[0])
    row = 4 + d * esz
    if d <= 0 or raw.size % row:
        raise ValueError(f"{path}: {raw.size} bytes is not a whole number of {d}-d rows")
    rows = raw.reshape(-1, row)
    if not (rows[:, :4].copy().view("<i4")[:, 0] == d).all():
        raise ValueError(f"{path}: rows of different dimensions")
    return np.ascontiguousarray(rows[:, 4:]).view(dtype).reshape(-1, d)


def read_fvecs(path):
    return _read_vecs(path, "<f4", 4)


def read_ivecs(path):
    return _read_vecs(path, "<i4", 4)


def read_bvecs(path):
    return _read_vecs(path, np.uint8, 1).astype(np.float32)


def read_npy(path):
    return np.load(path, allow_pickle=False)


def read_f32(path):
    """float32 matrix from .fvecs, .bvecs or .npy, chosen by the extension."""
    ext = os.path.splitext(path)[1]
    if ext == ".fvecs":
        return read_fvecs(path)
    if ext == ".bvecs":
        return read_bvecs(path)
    if ext == ".npy":
        return np.ascontiguousarray(read_npy(path), dtype=np.float32)
    raise ValueError(f"{path}: unknown extension (want .fvecs, .bvecs or .npy)")


def _write_vecs(path, x, dtype):
    x = np.ascontiguousarray(x, dtype=dtype)
    if x.ndim != 2:
        raise ValueError("need a 2-d array")
    n, d = x.shape
    rows = np.empty((n, d + 1), dtype=dtype)
    rows[:, 0] = np.array([d], dtype="<i4").view(dtype)[0]
    rows[:, 1:] = x
    tmp = path + ".tmp"
    rows.tofile(tmp)
    os.replace(tmp, path)


def write_fvecs(path, x):
    _write_vecs(path, x, "<f4")


def write_ivecs(path, x):
    _write_vecs(path, x, "<i4")


def write_npy(path, x):
    tmp = path + ".tmp.npy"
    np.save(tmp, x, allow_pickle=False)
    os.replace(tmp, path)


_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """An IDX file (MNIST format), gzip'd if its name ends in .gz, as a numpy array in
    native byte order with the file's shape (images: n x rows x cols)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        buf = f.read()
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0 or buf[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file")
    dt = np.dtype(_IDX_TYPES[buf[2]])
    nd = buf[3]
    shape = tuple(int(s) for s in np.frombuffer(buf, ">u4", count=nd, offset=4))
    off = 4 + 4 * nd
    count = int(np.prod(shape))
    if len(buf) != off + count * dt.itemsize:
        raise ValueError(f"{path}: {len(buf)} bytes, header says {shape} of {dt}")
    return np.frombuffer(buf, dt, count=count, offset=off).reshape(shape).astype(dt.newbyteorder("="))
