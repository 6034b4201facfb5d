"""The remote client against a real `vecstore serve`: the same API and answers as the
embedded store, the same exception classes, keep-alive, threads and asyncio."""
import threading

import numpy as np
import pytest

import vecstore
from conftest import Server


def test_remote_matches_embedded(remote, store, rng):
    X = rng.standard_normal((300, 8)).astype(np.float32)
    pl = [{"i": i, "odd": i % 2 == 1, "tags": ["x"] if i % 3 == 0 else []} for i in range(300)]
    rc = remote.create_collection("docs", dim=8, metric="cosine", index="flat")
    ec = store.create_collection("docs", dim=8, metric="cosine", index="flat")
    for c in (rc, ec):
        assert c.upsert(np.arange(300), X, pl, batch_size=128) == 300
    assert remote.list_collections() == ["docs"] and "docs" in remote and "nope" not in remote
    Q = rng.standard_normal((5, 8)).astype(np.float32)
    flt = {"must": [{"key": "odd", "match": {"value": False}}]}
    r1, r2 = rc.query(Q, k=7, filter=flt, with_vector=True), ec.query(Q, k=7, filter=flt, with_vector=True)
    np.testing.assert_array_equal(r1.ids, r2.ids)
    np.testing.assert_allclose(r1.scores, r2.scores, rtol=1e-5)
    assert r1.payloads == r2.payloads
    np.testing.assert_allclose(r1.vectors(2), r2.vectors(2), rtol=1e-6)
    one = rc.query(Q[0], k=3, filter="i < 50 AND odd = true")
    assert one.ids.shape == (1, 3) and all(h.payload["i"] < 50 for h in one)
    assert rc.count() == ec.count() == 300 and rc.count("odd = true") == 150
    assert rc.get([4, 2]).payloads == ec.get([4, 2]).payloads
    np.testing.assert_array_equal(rc.get([4], with_vector=True).vectors, ec.get([4], with_vector=True).vectors)
    page = rc.scroll(limit=100, filter=flt)
    assert list(page.ids) == list(range(0, 200, 2)) and page.next_offset == 200
    assert [p.id for p in rc.iter_points(page_size=64)] == list(range(300))
    rc.set_payload([1], {"new": True})
    assert rc.get([1]).payloads[0]["new"] is True
    rc.set_payload([1], {"only": 1}, overwrite=True)
    rc.delete_payload([2], ["tags"])
    rc.clear_payload([3])
    assert [p for p in rc.get([1, 2, 3]).payloads] == [{"only": 1}, {"i": 2, "odd": False}, {}]
    rc.delete([0, 1])
    rc.delete(filter={"must": [{"key": "i", "range": {"gte": 290}}]})
    assert rc.count() == 288
    rc.create_payload_index("i", "integer")
    assert [(i["path"], i["type"]) for i in rc.payload_indexes()] == [("i", "integer")]
    rc.drop_payload_index("i")
    assert rc.payload_indexes() == []
    prof = rc.query(Q[0], k=3, profile=True)
    assert prof.profile["type"] == "query"
    assert rc.wait_indexed(timeout=10)
    assert rc.info()["points"] == 288 and rc.info()["fields"][0]["dim"] == 8


def test_remote_errors_have_the_embedded_classes(remote, tmp_path):
    c = remote.create_collection("e", dim=4, metric="l2")
    c.upsert([1], np.ones((1, 4), np.float32))
    with pytest.raises(vecstore.DimensionError, match="expected 4"):
        c.upsert([2], np.ones((1, 3), np.float32))
    with pytest.raises(vecstore.DimensionError):
        c.query(np.ones(5, np.float32))
    with pytest.raises(vecstore.NonFiniteError):
        c.upsert([2], np.full((1, 4), np.nan, np.float32))
    with pytest.raises(vecstore.IdError):
        c.upsert([-5], np.ones((1, 4), np.float32))
    with pytest.raises(vecstore.FilterError):
        c.count("a <")
    with pytest.raises(vecstore.FilterError):
        c.count({"must": [{"key": "a", "match": {}}]})
    with pytest.raises(vecstore.NotFoundError):
        remote["missing"]
    with pytest.raises(vecstore.AlreadyExistsError):
        remote.create_collection("e", dim=4)
    assert remote.create_collection("e", dim=4, exist_ok=True).count() == 1
    with pytest.raises(vecstore.UnsupportedError):
        c.flush()
    with pytest.raises(vecstore.JSONError):
        c.upsert([3], np.ones((1, 4), np.float32), [{"x": float("inf")}])
    e = pytest.raises(vecstore.DimensionError, c.upsert, [2], np.ones((1, 3), np.float32)).value
    assert e.status == 400 and e.code == -3 and e.name == "VS_EDIM"
    assert c.count() == 1  # nothing refused was written
    with pytest.raises(vecstore.ConnectionFailedError):
        vecstore.connect("http://127.0.0.1:1").list_collections()
    with pytest.raises(vecstore.InvalidArgumentError):
        vecstore.connect("ftp://x")


def test_api_key_and_read_only_key(tmp_path):
    srv = Server(str(tmp_path / "k"), "--api-key", "secret", "--read-only-key", "reader")
    try:
        with pytest.raises(vecstore.AuthError) as ei:
            vecstore.connect(srv.url).list_collections()
        assert ei.value.status == 401
        w = vecstore.connect(srv.url, api_key="secret")
        c = w.create_collection("c", dim=2, metric="l2")
        c.upsert([1], np.ones((1, 2), np.float32))
        ro = vecstore.connect(srv.url, api_key="reader")
        assert ro["c"].count() == 1
        with pytest.raises(vecstore.ReadOnlyError) as ei:
            ro["c"].upsert([2], np.ones((1, 2), np.float32))
        assert ei.value.status == 403
        w.close()
        ro.close()
    finally:
        srv.stop()


def test_snapshot_round_trip_and_string_ids(remote, tmp_path, rng):
    c = remote.create_collection("s", dim=3, metric="l2")
    X = rng.standard_normal((20, 3)).astype(np.float32)
    ids = [f"doc-{i}" for i in range(10)] + list(range(10))
    c.upsert(ids, X, [{"n": i} for i in range(20)])
    r = c.query(X[2], k=3)
    assert r.ids.dtype == object and r.ids[0, 0] == "doc-2"
    path = c.snapshot(str(tmp_path / "s.snapshot"))
    r2 = remote.restore_snapshot(path, "s2")
    assert r2.count() == 20 and r2.get(["doc-5"]).payloads == [{"n": 5}]
    remote.drop_collection("s2")
    assert remote.list_collections() == ["s"]


def test_threads_share_a_client(remote, rng):
    c = remote.create_collection("t", dim=4, metric="l2", index="flat")
    errors = []

    def work(t):
        try:
            for i in range(20):
                c.upsert([t * 100 + i], rng.standard_normal((1, 4)).astype(np.float32))
                assert c.query(np.zeros(4, np.float32), k=1).ids.shape == (1, 1)
        except Exception as e:  # pragma: no cover
            errors.append(e)

    ths = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    assert not errors and c.count() == 80


@pytest.mark.asyncio
async def test_remote_async(server, rng):
    db = await vecstore.connect_async(server.url)
    async with db:
        c = await db.create_collection("a", dim=4, metric="l2")
        X = rng.standard_normal((10, 4)).astype(np.float32)
        await c.upsert(list(range(10)), X)
        r = await c.query(X[4], k=1)
        assert r.ids[0, 0] == 4 and await c.count() == 10
        with pytest.raises(vecstore.DimensionError):
            await c.query(np.zeros(2, np.float32))


def test_pandas_round_trip_remote(remote, rng):
    import pandas as pd
    df = pd.DataFrame({"id": np.arange(50), "embedding": list(rng.standard_normal((50, 4)).astype(np.float32)),
                       "name": [f"n{i}" for i in range(50)], "v": rng.random(50)})
    c = remote.create_collection("pd", dim=4, metric="l2")
    c.upsert_df(df)
    back = c.to_pandas(vector="embedding", page_size=20)
    pd.testing.assert_frame_equal(back.drop(columns=["embedding"]), df.drop(columns=["embedding"]))
    np.testing.assert_array_equal(np.stack(back["embedding"]), np.stack(df["embedding"]))
