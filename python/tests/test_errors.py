"""Errors: the class for every C code, and every bad input refused with its class and
the library's message, with nothing written."""
import os
import subprocess
import sys

import numpy as np
import pytest

import vecstore
from vecstore import _errors, _vecstore


def test_every_code_has_its_class():
    codes = range(-1, -23, -1)
    for code in codes:
        cls = _errors.BY_CODE[code]
        assert issubclass(cls, vecstore.Error)
        assert _vecstore.errname(code) == _errors._NAME_BY_CODE[code]
        e = cls("m", code)
        assert e.code == code and e.name == _vecstore.errname(code) and str(e) == "m"
    assert len(set(_errors.BY_CODE.values())) == len(list(codes))
    assert issubclass(vecstore.DimensionError, ValueError)
    assert issubclass(vecstore.NotFoundError, LookupError)
    assert issubclass(vecstore.NoSpaceError, OSError)


@pytest.fixture
def coll(store):
    c = store.create_collection("e", dim=4, metric="l2", index="flat")
    c.upsert([1, 2], np.ones((2, 4), np.float32), [{"a": 1}, {"a": 2}])
    return c


def check(exc_cls, fn, match=None):
    with pytest.raises(exc_cls, match=match) as ei:
        fn()
    e = ei.value
    assert isinstance(e, vecstore.Error) and e.code == exc_cls.code and e.message
    return e


@pytest.mark.filterwarnings("ignore:overflow encountered in cast")
def test_bad_input_is_refused_with_its_class(coll, store, tmp_path):
    v4 = np.zeros((1, 4), np.float32)
    check(vecstore.DimensionError, lambda: coll.upsert([3], np.zeros((1, 3), np.float32)), "expected 4")
    check(vecstore.DimensionError, lambda: coll.query(np.zeros(5, np.float32)))
    check(vecstore.DimensionError, lambda: coll.query(np.zeros((1, 1, 4), np.float32)))
    nan = v4.copy()
    nan[0, 2] = np.nan
    check(vecstore.NonFiniteError, lambda: coll.upsert([3], nan), "NaN")
    check(vecstore.NonFiniteError, lambda: coll.upsert([3], np.full((1, 4), np.inf, np.float32)))
    check(vecstore.NonFiniteError, lambda: coll.query(nan[0]))
    check(vecstore.NonFiniteError, lambda: coll.upsert([3], np.full((1, 4), 1e300)))  # float64 overflow
    check(vecstore.IdError, lambda: coll.upsert([-1], v4))
    check(vecstore.IdError, lambda: coll.upsert([2**64], v4))
    check(vecstore.IdError, lambda: coll.upsert([""], v4))
    check(vecstore.IdError, lambda: coll.upsert(["x" * 257], v4))
    check(vecstore.IdError, lambda: coll.upsert([1.5], v4))
    check(vecstore.IdError, lambda: coll.upsert([True], v4))
    check(vecstore.IdError, lambda: coll.upsert(np.array([-3]), v4))
    check(vecstore.IdError, lambda: coll.get([None]))
    check(vecstore.JSONError, lambda: coll.upsert([3], v4, ['{"a":']), "not valid JSON")
    check(vecstore.JSONError, lambda: coll.upsert([3], v4, ["[1]"]), "object")
    check(vecstore.JSONError, lambda: coll.upsert([3], v4, [{"x": float("nan")}]))
    check(vecstore.JSONError, lambda: coll.upsert([3], v4, [{"x": object()}]))
    check(vecstore.JSONError, lambda: coll.upsert([3], v4, [5]))
    check(vecstore.FilterError, lambda: coll.count({"must": [{"key": "a", "match": {}}]}))
    check(vecstore.FilterError, lambda: coll.count("a <"))
    check(vecstore.FilterError, lambda: coll.query(v4[0], filter={"must": "x"}))
    check(vecstore.FilterError, lambda: coll.count(42))
    check(vecstore.FilterError, lambda: coll.delete(filter="((("))
    check(vecstore.InvalidArgumentError, lambda: coll.upsert([3, 4], v4), "2 ids but 1")
    check(vecstore.InvalidArgumentError, lambda: coll.upsert([3], v4, [{}, {}]))
    check(vecstore.InvalidArgumentError, lambda: coll.upsert(3, v4))
    check(vecstore.InvalidArgumentError, lambda: coll.upsert([3], [["a", "b", "c", "d"]]), "float32")
    check(vecstore.InvalidArgumentError, lambda: coll.upsert([3], [[1, 2], [3]]))
    check(vecstore.InvalidArgumentError, lambda: coll.query(v4[0], k=0))
    check(vecstore.InvalidArgumentError, lambda: coll.query(np.zeros((0, 4), np.float32)))
    check(vecstore.InvalidArgumentError, lambda: coll.scroll(limit=0))
    check(vecstore.InvalidArgumentError, lambda: store.create_collection("x", dim=0))
    check(vecstore.InvalidArgumentError, lambda: store.create_collection("x", dim=4, metric="hamming"))
    check(vecstore.InvalidArgumentError, lambda: store.create_collection("x", dim=4, index="ivf"))
    check(vecstore.InvalidArgumentError, lambda: store.create_collection("x"))
    check(vecstore.InvalidArgumentError, lambda: store.create_collection("x", dim=6, index="flat",
                                                                           quantization="int8"))
    check(vecstore.RangeError, lambda: coll.query(v4[0], k=_vecstore.K_MAX + 1))
    check(vecstore.RangeError, lambda: coll.query(v4[0], k=2**32 + 3))  # never wraps to 3
    check(vecstore.RangeError, lambda: coll.scroll(limit=2**32 + 1))
    check(vecstore.InvalidArgumentError, lambda: coll.query(v4[0], ef=-1))
    check(vecstore.InvalidArgumentError, lambda: coll.query(v4[0], offset=-2))
    check(vecstore.InvalidNameError, lambda: store.create_collection("bad/name", dim=4))
    check(vecstore.InvalidNameError, lambda: store.create_collection(".hidden", dim=4))
    check(vecstore.NotFoundError, lambda: store["missing"])
    check(vecstore.NotFoundError, lambda: store.drop_collection("missing"))
    check(vecstore.NotFoundError, lambda: coll.query(v4[0], using="nope"))
    check(vecstore.AlreadyExistsError, lambda: store.create_collection("e", dim=4))
    bad = tmp_path / "bad.snapshot"
    bad.write_bytes(b"not a snapshot at all" * 10)
    check(vecstore.FormatError, lambda: store.restore_snapshot(str(bad), "r"), "not a vecstore archive")
    check(vecstore.NotFoundError, lambda: store.restore_snapshot(str(tmp_path / "nope.snapshot"), "r"))
    # Nothing of the refused calls was written.
    assert coll.count() == 2 and store.list_collections() == ["e"]
    assert coll.get([1, 2]).payloads == [{"a": 1}, {"a": 2}]


def test_store_level_errors(tmp_path):
    notstore = tmp_path / "ns"
    notstore.mkdir()
    (notstore / "something.txt").write_text("hello")
    check(vecstore.NotAStoreError, lambda: vecstore.open(str(notstore)))
    check(vecstore.NotFoundError, lambda: vecstore.open(str(tmp_path / "none"), create=False))
    check(vecstore.InvalidArgumentError, lambda: vecstore.open(str(tmp_path / "x"), fsync="sometimes"))


def test_busy_when_another_process_writes(tmp_path):
    path = str(tmp_path / "locked")
    vecstore.open(path).close()
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, vecstore; s = vecstore.open(sys.argv[1]); print('ready', flush=True); "
                               "sys.stdin.read()", path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ))
    try:
        assert holder.stdout.readline().strip() == "ready"
        check(vecstore.BusyError, lambda: vecstore.open(path), "locked")
        with vecstore.open(path, read_only=True) as ro:  # readers are welcome
            assert ro.list_collections() == []
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_corrupt_store_is_reported(tmp_path):
    path = tmp_path / "c"
    with vecstore.open(str(path)) as db:
        c = db.create_collection("x", dim=2, metric="l2")
        c.upsert(list(range(10)), np.ones((10, 2), np.float32))
        c.flush()
    vec = next(path.rglob("seg-*/vec-0"))
    data = bytearray(vec.read_bytes())
    data[-40] ^= 0xFF  # inside the vectors (the file's head is padded to a page)
    vec.write_bytes(bytes(data))
    with vecstore.open(str(path), read_only=True) as db:
        with pytest.raises(vecstore.CorruptError, match="checksum mismatch"):
            db.check()
