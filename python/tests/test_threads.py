"""The GIL is released inside every call: threads run queries and writes in parallel,
and concurrent writers leave an exact final state."""
import threading
import time

import numpy as np

from vecstore import _vecstore


def test_threads_query_in_parallel(store, rng):
    """While one thread is inside a long exact query, another thread's Python code keeps
    running: ticks land in the middle of the query's span, which cannot happen if the
    query held the GIL."""
    c = store.create_collection("t", dim=64, metric="l2", index="flat")
    c.upsert(np.arange(20_000), rng.standard_normal((20_000, 64)).astype(np.float32))
    Q = rng.standard_normal((2000, 64)).astype(np.float32)
    span = {}
    done = threading.Event()

    def long_query():
        span["t0"] = time.perf_counter()
        c.query(Q, k=10, exact=True, with_payload=False)
        span["t1"] = time.perf_counter()
        done.set()

    ticks = []
    th = threading.Thread(target=long_query)
    th.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.0005)
    th.join()
    t0, t1 = span["t0"], span["t1"]
    lo, hi = t0 + 0.2 * (t1 - t0), t1 - 0.2 * (t1 - t0)
    inside = sum(lo < t < hi for t in ticks)
    assert inside >= 5, f"{inside} ticks in the middle of a {(t1 - t0) * 1000:.0f} ms query"


def test_concurrent_writers_and_readers(store, rng):
    c = store.create_collection("w", dim=8, metric="l2", index="flat")
    n_threads, per = 4, 500
    errors = []

    def writer(t):
        try:
            for i in range(0, per, 50):
                ids = np.arange(t * per + i, t * per + i + 50)
                c.upsert(ids, rng.standard_normal((50, 8)).astype(np.float32), [{"t": t}] * 50)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    def reader():
        try:
            for _ in range(50):
                r = c.query(np.zeros(8, np.float32), k=5)
                assert r.ids.shape == (1, 5)
                c.count({"must": [{"key": "t", "match": {"value": 1}}]})
        except Exception as e:  # pragma: no cover
            errors.append(e)

    ths = [threading.Thread(target=writer, args=(t,)) for t in range(n_threads)] + \
          [threading.Thread(target=reader) for _ in range(2)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    assert not errors, errors
    assert c.count() == n_threads * per
    for t in range(n_threads):
        assert c.count({"must": [{"key": "t", "match": {"value": t}}]}) == per


def test_each_thread_gets_its_own_error_message(store):
    """Handles come from a pool per call, so a failing call's message is its own."""
    c = store.create_collection("m", dim=4, metric="l2")
    msgs = {}

    def bad(dim):
        for _ in range(200):
            try:
                c.upsert([1], np.zeros((1, dim), np.float32))
            except Exception as e:
                msgs.setdefault(dim, set()).add(str(e))

    ths = [threading.Thread(target=bad, args=(d,)) for d in (2, 3, 5, 6)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    for d, m in msgs.items():
        assert m == {f"field '': expected 4 dimensions, got {d}"}, (d, m)


def test_close_while_a_call_is_running(store, rng):
    c = store.create_collection("cl", dim=64, metric="l2", index="flat")
    c.upsert(np.arange(20_000), rng.standard_normal((20_000, 64)).astype(np.float32))
    Q = rng.standard_normal((300, 64)).astype(np.float32)
    out = {}

    def run():
        out["r"] = c.query(Q, k=3, exact=True, with_payload=False)

    th = threading.Thread(target=run)
    th.start()
    time.sleep(0.01)
    c.close()  # the running call keeps its handle until it returns
    th.join()
    assert out["r"].ids.shape == (300, 3)
    assert _vecstore.live_allocations() > 0
