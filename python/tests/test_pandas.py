"""Pandas: upsert_df / to_pandas round-trip exactly; results export to DataFrames."""
import numpy as np
import pandas as pd
import pytest

import vecstore


def frame(rng, n=300):
    return pd.DataFrame({
        "id": np.arange(n, dtype=np.int64) * 3,
        "embedding": list(rng.standard_normal((n, 6)).astype(np.float32)),
        "title": [f"doc {i}" for i in range(n)],
        "price": rng.random(n) * 100,
        "count": rng.integers(-1000, 1000, n),
        "ok": rng.random(n) < 0.5,
        "tags": [["a", "b"][: i % 3] for i in range(n)],
    })


def test_round_trip_is_exact(store, rng):
    df = frame(rng)
    c = store.create_collection("df", dim=6, metric="l2", index="flat")
    assert c.upsert_df(df, id="id", vector="embedding") == len(df)
    back = c.to_pandas(page_size=128)  # several pages; the vector column is "embedding"
    assert list(back.columns) == list(df.columns)
    pd.testing.assert_frame_equal(back.drop(columns=["embedding"]), df.drop(columns=["embedding"]))
    np.testing.assert_array_equal(np.stack(back["embedding"]), np.stack(df["embedding"]))
    assert back["embedding"][0].dtype == np.float32
    # Filtered export, and without vectors.
    some = c.to_pandas(filter={"must": [{"key": "ok", "match": {"value": True}}]}, with_vector=False)
    assert "embedding" not in some.columns and some["ok"].all() and len(some) == int(df["ok"].sum())


def test_payload_columns_missing_values_and_timestamps(store, rng):
    df = pd.DataFrame({"key": ["a", "b", "c"], "vec": [np.ones(2, np.float32)] * 3,
                       "x": [1.5, np.nan, 2.5], "when": pd.to_datetime(["2024-01-02", None, "2024-03-04T05:06:07"]),
                       "skip": [1, 2, 3]})
    c = store.create_collection("m", dim=2, metric="l2")
    c.upsert_df(df, id="key", vector="vec", payload=["x", "when"])
    p = c.get(["a", "b", "c"]).payloads
    assert p[0] == {"x": 1.5, "when": "2024-01-02T00:00:00+00:00"}
    assert p[1] == {}  # NaN and NaT are left out, not stored as null
    assert c.count("when >= '2024-02-01T00:00:00Z'") == 1  # datetime filters read them
    back = c.to_pandas(with_vector=False)
    assert list(back["id"]) == ["a", "b", "c"] and np.isnan(back["x"][1])
    with pytest.raises(vecstore.InvalidArgumentError, match="no column"):
        c.upsert_df(df, id="nope", vector="vec")
    # What to_pandas gives, upsert_df takes back as it is.
    c2 = store.create_collection("m2", dim=2, metric="l2")
    assert c2.upsert_df(c.to_pandas()) == 3 and c2.get(["a"]).payloads == c.get(["a"]).payloads
    with pytest.raises(vecstore.InvalidArgumentError, match="no column"):
        c.upsert_df(df, id="key", vector="vec", payload=["zz"])


def test_named_vectors_and_result_frames(store, rng):
    c = store.create_collection("n", vectors={"a": {"dim": 3, "metric": "l2"}, "b": {"dim": 2, "metric": "l2"}})
    df = pd.DataFrame({"id": [1, 2], "va": list(rng.standard_normal((2, 3)).astype(np.float32)),
                       "vb": list(rng.standard_normal((2, 2)).astype(np.float32)), "t": ["x", "y"]})
    c.upsert_df(df, vector={"a": "va", "b": "vb"})
    out = c.to_pandas()
    assert list(out.columns) == ["id", "a", "b", "t"]
    np.testing.assert_array_equal(np.stack(out["b"]), np.stack(df["vb"]))
    r = c.query(np.stack(df["va"]), k=2, using="a", with_vector=True)
    rf = r.to_pandas()
    assert list(rf.columns[:4]) == ["query", "rank", "id", "score"]
    assert len(rf) == 4 and list(rf[rf["query"] == 1]["id"])[0] == 2 and set(rf["t"]) == {"x", "y"}
    g = c.get([2]).to_pandas(with_vector=False)
    assert g.to_dict("records") == [{"id": 2, "t": "y"}]
