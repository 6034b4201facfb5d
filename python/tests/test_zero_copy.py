"""NumPy zero-copy: C-contiguous float32 input is read in place; other input is converted
exactly once; result ids/scores are views of the C result's memory."""
import gc

import numpy as np
import pytest

from vecstore import _vecstore


@pytest.fixture
def coll(store, rng):
    c = store.create_collection("z", dim=8, metric="l2", index="flat")
    c.upsert(np.arange(100), rng.standard_normal((100, 8)).astype(np.float32))
    return c


def test_float32_input_is_not_copied(coll, rng):
    q = rng.standard_normal((5, 8)).astype(np.float32)
    before = _vecstore.conversion_copies()
    coll.query(q, k=3)
    assert _vecstore.conversion_copies() == before
    assert _vecstore.last_input_address() == q.ctypes.data  # the library read q's own memory
    X = rng.standard_normal((10, 8)).astype(np.float32)
    coll.upsert(np.arange(200, 210), X)
    assert _vecstore.conversion_copies() == before
    assert _vecstore.last_input_address() == X.ctypes.data
    # A C-contiguous slice of rows is still read in place.
    coll.query(q[1:3], k=3)
    assert _vecstore.last_input_address() == q[1:3].ctypes.data
    assert _vecstore.conversion_copies() == before
    # So is any buffer of float32 (memoryview, array.array('f')).
    import array
    a = array.array("f", q[0].tolist())
    coll.query(a, k=3)
    assert _vecstore.conversion_copies() == before


@pytest.mark.parametrize("make", [
    lambda q: q.astype(np.float64),                 # another dtype
    lambda q: np.asfortranarray(q),                 # another layout
    lambda q: q[:, ::2].repeat(2, axis=1),          # a copy that is contiguous: no conversion
    lambda q: np.repeat(q, 2, axis=1)[:, ::2],      # a strided view
    lambda q: q.tolist(),                           # a list
])
def test_other_input_is_converted_once(coll, rng, make):
    q = rng.standard_normal((4, 8)).astype(np.float32)
    x = make(q)
    contiguous_f32 = isinstance(x, np.ndarray) and x.dtype == np.float32 and x.flags.c_contiguous
    before = _vecstore.conversion_copies()
    r = coll.query(x, k=3)
    assert _vecstore.conversion_copies() == before + (0 if contiguous_f32 else 1)
    np.testing.assert_array_equal(r.ids, coll.query(np.ascontiguousarray(x, dtype=np.float32), k=3).ids)


def test_result_arrays_are_views_of_the_c_result(coll, rng):
    q = rng.standard_normal((3, 8)).astype(np.float32)
    r = coll.query(q, k=5)
    ids_addr, sc_addr = r._src.matrix_address(5)
    assert r.ids.ctypes.data == ids_addr and r.scores.ctypes.data == sc_addr
    assert not r.ids.flags.owndata and not r.scores.flags.owndata
    assert r.ids.base is r._src and r.scores.base is r._src
    # The arrays keep the C result alive after the QueryResult is gone.
    ids, scores = r.ids, r.scores
    expect = ids.copy()
    del r
    gc.collect()
    junk = [np.ones(1000) for _ in range(100)]  # reuse freed memory if it had been freed
    assert (ids == expect).all() and np.isfinite(scores).all()
    del junk
    # Batched upserts slice the caller's array instead of copying it.
    X = rng.standard_normal((30, 8)).astype(np.float32)
    before = _vecstore.conversion_copies()
    coll.upsert(np.arange(500, 530), X, batch_size=10)
    assert _vecstore.conversion_copies() == before
    assert _vecstore.last_input_address() == X[20:].ctypes.data


def test_integer_id_arrays_are_read_directly(coll, rng):
    ids = np.array([900, 901, 902], dtype=np.uint64)
    coll.upsert(ids, rng.standard_normal((3, 8)).astype(np.float32))
    assert list(coll.get(ids.astype(np.int32)).ids) == [900, 901, 902]
