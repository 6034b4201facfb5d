"""Every method of the embedded Store and Collection, checked against answers computed
here (exact search by NumPy brute force)."""
import json
import os

import numpy as np
import pytest

import vecstore


def brute(X, q, k, metric="l2"):
    if metric == "l2":
        d = np.linalg.norm(X - q, axis=1)
        return np.argsort(d, kind="stable")[:k], np.sort(d)[:k]
    if metric == "cosine":
        Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
        s = Xn @ (q / np.linalg.norm(q))
    else:
        s = X @ q
    order = np.argsort(-s, kind="stable")[:k]
    return order, s[order]


@pytest.mark.parametrize("metric", ["l2", "cosine", "dot"])
def test_query_matches_brute_force(store, rng, metric):
    X = rng.standard_normal((500, 16)).astype(np.float32)
    c = store.create_collection("c", dim=16, metric=metric, index="flat")
    assert c.upsert(np.arange(500), X) == 500
    Q = rng.standard_normal((7, 16)).astype(np.float32)
    r = c.query(Q, k=10, with_payload=False)
    assert r.ids.shape == (7, 10) and r.scores.shape == (7, 10)
    assert r.ids.dtype == np.int64 and r.scores.dtype == np.float32
    for i in range(7):
        ids, sc = brute(X, Q[i], 10, metric)
        assert list(r.ids[i]) == list(ids)
        np.testing.assert_allclose(r.scores[i], sc, rtol=1e-4, atol=1e-4)
    one = c.query(Q[0], k=3)
    assert one.ids.shape == (1, 3) and one.nq == 1


def test_hnsw_recall(store, rng):
    X = rng.standard_normal((3000, 32)).astype(np.float32)
    c = store.create_collection("h", dim=32, metric="l2", index="hnsw", index_threshold=1000, m=16)
    c.upsert(np.arange(3000), X)
    c.flush()
    assert c.wait_indexed(timeout=60)
    assert c.info()["indexed_segments"] >= 1
    Q = rng.standard_normal((50, 32)).astype(np.float32)
    r = c.query(Q, k=10, ef=128, with_payload=False)
    hit = sum(len(set(r.ids[i]) & set(brute(X, Q[i], 10)[0])) for i in range(50))
    assert hit / 500 >= 0.9
    ex = c.query(Q, k=10, exact=True, with_payload=False)
    assert all(list(ex.ids[i]) == list(brute(X, Q[i], 10)[0]) for i in range(50))


def test_padding_when_fewer_than_k(store):
    c = store.create_collection("p", dim=2, metric="l2")
    c.upsert([1, 2, 3], np.eye(3, 2, dtype=np.float32))
    r = c.query(np.zeros((2, 2), np.float32), k=5)
    assert list(r.ids[0, 3:]) == [-1, -1] and np.isnan(r.scores[0, 3:]).all()
    assert r.rows(0) == 3 and len(r) == 6 and len(r.hits(1)) == 3
    r = c.query(np.zeros(2, np.float32), k=5, filter={"must": [{"has_id": [2]}]})
    assert list(r.ids[0]) == [2, -1, -1, -1, -1]


def test_string_ids_come_back_as_object_array(store):
    c = store.create_collection("s", dim=2, metric="l2")
    c.upsert(["a", "b", 7], np.array([[0, 0], [1, 0], [2, 0]], np.float32))
    r = c.query(np.zeros(2, np.float32), k=4)
    assert r.ids.dtype == object
    assert list(r.ids[0]) == ["a", "b", 7, -1]
    assert [h.id for h in r] == ["a", "b", 7]
    p = c.get(["b", 7])
    assert p.ids.dtype == object and list(p.ids) == ["b", 7]
    big = 2**64 - 1
    c.upsert([big], np.array([[0, 0.5]], np.float32))
    assert c.query(np.zeros(2, np.float32), k=1).ids[0, 0] == "a"
    assert c.get([big]).ids[0] == big


def test_payloads_hits_and_iteration(store):
    c = store.create_collection("d", dim=3, metric="cosine")
    c.upsert([10, 11], np.array([[1, 0, 0], [0, 1, 0]], np.float32),
             [{"t": "x", "n": 1.5, "tags": ["a", "b"]}, None])
    r = c.query(np.array([1, 0.1, 0], np.float32), k=2)
    h0, h1 = list(r)
    assert (h0.id, h0.rank, h0.query) == (10, 0, 0) and h0.score > h1.score
    assert h0.payload == {"t": "x", "n": 1.5, "tags": ["a", "b"]} and h1.payload == {}
    assert r.payloads == [[{"t": "x", "n": 1.5, "tags": ["a", "b"]}, {}]]
    assert c.query(np.ones(3, np.float32), k=2, with_payload=False).payloads == [[None, None]]
    rv = c.query(np.ones(3, np.float32), k=2, with_vector=True)
    v = rv.vectors(0)
    assert v.shape == (2, 3) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert rv.hits()[0].vector.shape == (3,)
    assert c.query(np.ones(3, np.float32), k=2).vectors(0) is None


def test_get_scroll_count_delete(store, rng):
    c = store.create_collection("g", dim=4, metric="l2")
    X = rng.standard_normal((250, 4)).astype(np.float32)
    c.upsert(list(range(250)), X, [{"i": i, "odd": i % 2 == 1} for i in range(250)])
    assert c.count() == 250 == len(c)
    assert c.count({"must": [{"key": "odd", "match": {"value": True}}]}) == 125
    assert c.count("i < 10") == 10
    p = c.get([5, 3, 999], with_vector=True)
    assert list(p.ids) == [5, 3] and p.payloads == [{"i": 5, "odd": True}, {"i": 3, "odd": True}]
    np.testing.assert_array_equal(p.vectors, X[[5, 3]])
    assert c.get(5).payloads == [{"i": 5, "odd": True}]
    seen, off = [], None
    while True:
        page = c.scroll(limit=100, offset=off, filter="odd = false")
        seen += list(page.ids)
        off = page.next_offset
        if off is None:
            break
    assert seen == list(range(0, 250, 2))
    assert [pt.id for pt in c.iter_points(page_size=7)] == list(range(250))
    assert c.delete([1, 2, 10_000]) == 2
    assert c.delete(filter={"must": [{"key": "i", "range": {"gte": 200}}]}) == 50
    assert c.count() == 198
    with pytest.raises(vecstore.InvalidArgumentError):
        c.delete()
    with pytest.raises(vecstore.InvalidArgumentError):
        c.delete([1], filter="i < 3")


def test_payload_updates_and_indexes(store):
    c = store.create_collection("u", dim=2, metric="l2")
    c.upsert([1, 2], np.ones((2, 2), np.float32), [{"a": 1, "b": 2}, {"a": 3}])
    assert c.set_payload([1, 5], {"c": "x"}) == 1
    assert c.get([1]).payloads[0] == {"a": 1, "b": 2, "c": "x"}
    c.set_payload([1], {"z": 0}, overwrite=True)
    assert c.get([1]).payloads[0] == {"z": 0}
    c.delete_payload([2], ["a"])
    assert c.get([2]).payloads[0] == {}
    c.set_payload([2], {"k": "v"})
    c.clear_payload([2])
    assert c.get([2]).payloads[0] == {}
    c.create_payload_index("z", "integer")
    c.create_payload_index("k", "keyword")
    idx = {(i["path"], i["type"]) for i in c.payload_indexes()}
    assert idx == {("z", "integer"), ("k", "keyword")}
    assert c.count("z = 0") == 1
    c.drop_payload_index("k")
    assert [i["path"] for i in c.payload_indexes()] == ["z"]
    with pytest.raises(vecstore.NotFoundError):
        c.drop_payload_index("k")
    with pytest.raises(vecstore.InvalidArgumentError):
        c.create_payload_index("z", "nope")


def test_named_vector_fields(store, rng):
    c = store.create_collection("mv", vectors={"text": 4, "image": {"dim": 3, "metric": "l2", "index": "flat"}})
    assert c.fields == ["text", "image"]
    T = rng.standard_normal((20, 4)).astype(np.float32)
    I = rng.standard_normal((20, 3)).astype(np.float32)
    c.upsert(list(range(20)), {"text": T, "image": I})
    r = c.query(I[4], k=1, using="image", with_vector=True)
    assert r.ids[0, 0] == 4
    v = r.vectors(0)
    assert set(v) == {"text", "image"} and np.allclose(v["image"][0], I[4])
    with pytest.raises(vecstore.NotFoundError):
        c.query(I[4], k=1, using="audio")
    with pytest.raises(vecstore.InvalidArgumentError):
        c.upsert([1], {"text": T[:1]})  # a field missing


def test_store_lifecycle_and_persistence(tmp_path, rng):
    path = str(tmp_path / "p")
    X = rng.standard_normal((50, 5)).astype(np.float32)
    with vecstore.open(path) as db:
        c = db.create_collection("a", dim=5, metric="l2", index="flat")
        c.upsert(list(range(50)), X, [{"i": i} for i in range(50)])
        db.create_collection("b", dim=2)
        assert db.list_collections() == ["a", "b"] and "a" in db and "zz" not in db
        with pytest.raises(vecstore.AlreadyExistsError):
            db.create_collection("a", dim=5)
        assert db.create_collection("a", dim=5, exist_ok=True).count() == 50
        assert db.get_or_create_collection("c", dim=3).count() == 0
        db.drop_collection("c")
        with pytest.raises(vecstore.NotFoundError):
            db["c"]
        snap = c.snapshot(str(tmp_path / "a.snapshot"))
        assert os.path.getsize(snap) > 0
        r2 = db.restore_snapshot(snap, "a2")
        assert r2.count() == 50
        assert db.check() is not None
    assert c.closed
    with pytest.raises(vecstore.Error, match="closed"):
        c.count()
    with vecstore.open(path, read_only=True) as db:
        assert db.read_only and db.path == path
        c = db["a"]
        r = c.query(X[7], k=1)
        assert r.ids[0, 0] == 7 and r.hits()[0].payload == {"i": 7}
        with pytest.raises(vecstore.ReadOnlyError):
            c.upsert([1], X[:1])


def test_flush_compact_info(store, rng):
    c = store.create_collection("f", dim=4, metric="l2", index="flat")
    c.upsert(list(range(100)), rng.standard_normal((100, 4)).astype(np.float32))
    c.flush()
    c.upsert(list(range(100, 150)), rng.standard_normal((50, 4)).astype(np.float32))
    c.flush()
    c.delete(list(range(10)))
    info = c.info()
    assert info["points"] == 140 and info["segments"] == 2 and info["fields"][0]["dim"] == 4
    c.compact()
    info = c.info()
    assert info["points"] == 140 and info["segments"] == 1 and info["deleted"] == 0


def test_profile_and_explain(store, rng):
    c = store.create_collection("pr", dim=8, metric="l2")
    c.upsert(list(range(100)), rng.standard_normal((100, 8)).astype(np.float32), [{"i": i} for i in range(100)])
    q = rng.standard_normal(8).astype(np.float32)
    r = c.query(q, k=5, filter="i < 50", profile=True)
    assert r.profile["type"] == "query" and r.profile["children"]
    assert "segment" in r.profile_as("text") and r.profile_as("svg").startswith("<")
    assert ";" in r.profile_as("folded")
    assert c.query(q, k=5).profile is None
    plan = c.explain(q, k=5, filter="i < 50")
    assert "segment" in plan
    with pytest.raises(ValueError):
        r.profile_as("png")


def test_progress_bar_batches(store, rng, capsys):
    c = store.create_collection("pb", dim=4, metric="l2", index="flat")
    X = rng.standard_normal((25_000, 4)).astype(np.float32)
    assert c.upsert(np.arange(25_000), X, progress=True) == 25_000
    err = capsys.readouterr().err
    assert "25000/25000" in err and "upsert pb" in err
    assert c.count() == 25_000
    assert c.upsert(list(range(5)), X[:5], batch_size=2) == 5


def test_batched_upsert_failure_keeps_earlier_batches(store):
    c = store.create_collection("bf", dim=2, metric="l2", index="flat")
    X = np.ones((10, 2), np.float32)
    X[7, 0] = np.nan
    with pytest.raises(vecstore.NonFiniteError):
        c.upsert(list(range(10)), X, batch_size=5)
    assert c.count() == 5  # the first batch is in, the failing one is not
    with pytest.raises(vecstore.NonFiniteError):
        c.upsert(list(range(100, 110)), X)  # one batch: nothing written
    assert c.count() == 5
