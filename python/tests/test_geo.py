"""Geo: geo_distance, Collection.nearest, geo filter conditions and Decay (hybrid geo +
vector ranking), embedded and against a real `vecstore serve`, which must answer alike."""
import math

import numpy as np
import pytest

import vecstore

BERLIN = (52.52, 13.405)
PARIS = (48.8566, 2.3522)


def haversine(lat1, lon1, lat2, lon2, r=6371008.8):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def places(rng, n=200):
    """n points scattered within about 1.5 degrees of Berlin; every 10th has no location,
    every 25th two (one far away, in Paris). Coordinates have 6 decimals (GPS precision;
    the server re-prints payload numbers with 15 significant digits)."""
    lat = np.round(BERLIN[0] + rng.uniform(-1.5, 1.5, n), 6)
    lon = np.round(BERLIN[1] + rng.uniform(-1.5, 1.5, n), 6)
    payloads = []
    for i in range(n):
        p = {"i": i, "open": i % 3 == 0}
        if i % 10 != 7:
            loc = {"lat": float(lat[i]), "lon": float(lon[i])}
            p["location"] = [loc, {"lat": PARIS[0], "lon": PARIS[1]}] if i % 25 == 0 else loc
        payloads.append(p)
    return payloads


def expected_nearest(payloads, origin, ids=None):
    """(id, metres) of every point with a location, nearest first (ties by id)."""
    out = []
    for p in payloads:
        loc = p.get("location")
        if loc is None or (ids is not None and p["i"] not in ids):
            continue
        locs = loc if isinstance(loc, list) else [loc]
        out.append((min(vecstore.geo_distance(origin[0], origin[1], l["lat"], l["lon"]) for l in locs), p["i"]))
    out.sort()
    return [(i, d) for d, i in out]


def fill(coll, rng, n=200, dim=4):
    X = rng.standard_normal((n, dim)).astype(np.float32)
    pl = places(rng, n)
    coll.upsert(np.arange(n), X, pl)
    return X, pl


def test_geo_distance():
    d = vecstore.geo_distance(*BERLIN, *PARIS)
    assert d == pytest.approx(haversine(*BERLIN, *PARIS), rel=5e-3)  # the ellipsoid vs a sphere
    assert 870_000 < d < 890_000
    assert vecstore.geo_distance(*PARIS, *BERLIN) == pytest.approx(d, rel=1e-12)
    assert vecstore.geo_distance(10, 20, 10, 20) == 0.0
    assert vecstore.geo_distance(0, 0, 0, 180) == pytest.approx(20_003_931, rel=1e-4)  # half the equator... nearly
    assert vecstore.geo_distance(np.float32(1), np.int64(2), 3, 4) > 0
    for bad in [(91, 0, 0, 0), (0, 181, 0, 0), (0, 0, -90.5, 0), (math.nan, 0, 0, 0), (0, 0, 0, math.inf)]:
        with pytest.raises(vecstore.InvalidArgumentError, match="out of range"):
            vecstore.geo_distance(*bad)
    with pytest.raises(vecstore.InvalidArgumentError, match="lat1 must be a number"):
        vecstore.geo_distance("52", 0, 0, 0)
    with pytest.raises(vecstore.InvalidArgumentError):
        vecstore.geo_distance(True, 0, 0, 0)


def check_nearest(res, want, k):
    n = min(k, len(want))
    assert res.ids.shape == (1, k) and res.scores.shape == (1, k) and res.rows() == n
    assert [int(i) for i in res.ids[0, :n]] == [i for i, _ in want[:n]]
    np.testing.assert_allclose(res.scores[0, :n], [d for _, d in want[:n]], rtol=1e-6)
    assert (res.ids[0, n:] == -1).all() and np.isnan(res.scores[0, n:]).all()


def test_nearest_order_equals_sorted_geo_distance(store, rng):
    c = store.create_collection("g", dim=4, metric="cosine")
    X, pl = fill(c, rng)
    origin = (52.6, 13.2)
    want = expected_nearest(pl, origin)
    assert len(want) == 180
    check_nearest(c.nearest("location", *origin, k=15), want, 15)
    # a geo index, sealed segments: the same answers
    c.create_payload_index("location", "geo")
    assert {"path": "location", "type": "geo"}.items() <= c.payload_indexes()[0].items()
    check_nearest(c.nearest("location", *origin, k=15), want, 15)
    c.flush()
    check_nearest(c.nearest("location", *origin, k=300), want, 300)  # fewer than k: padded
    # max_distance, filters (dict with geo_radius, text with WITHIN), payloads and vectors
    near = [(i, d) for i, d in want if d <= 30_000]
    check_nearest(c.nearest("location", *origin, k=200, max_distance=30_000), near, 200)
    opened = {p["i"] for p in pl if p["open"]}
    r = c.nearest("location", *origin, k=10, filter={"must": [{"key": "open", "match": {"value": True}}]},
                  with_vector=True)
    check_nearest(r, expected_nearest(pl, origin, opened), 10)
    h = r.hits()[0]
    assert h.payload["open"] is True and h.score == pytest.approx(want[[i for i, _ in want].index(h.id)][1])
    np.testing.assert_allclose(h.vector, X[h.id] / np.linalg.norm(X[h.id]), rtol=1e-5)
    r = c.nearest("location", *origin, k=50, filter=f"location WITHIN 20 KM OF ({origin[0]}, {origin[1]})",
                  with_payload=False)
    check_nearest(r, [(i, d) for i, d in want if d <= 20_000], 50)
    assert r.payloads == [[None] * r.rows()]
    # a point is as far as its nearest location: point 0 also lies in Paris
    r = c.nearest("location", *PARIS, k=8)
    assert sorted(int(i) for i in r.ids[0]) == [i for i in range(0, 200, 25)]
    np.testing.assert_allclose(r.scores[0], 0, atol=1e-3)
    assert c.nearest("open", *origin).rows() == 0  # no locations at that key


def test_geo_filter_conditions(store, rng):
    c = store.create_collection("f", dim=4, metric="l2", index="flat")
    X, pl = fill(c, rng)
    box = {"key": "location", "geo_bounding_box": {"top_left": {"lat": 52.8, "lon": 13.0},
                                                   "bottom_right": {"lat": 52.3, "lon": 13.8}}}

    def in_box(p):
        locs = p.get("location")
        locs = locs if isinstance(locs, list) else [locs] if locs else []
        return any(52.3 <= l["lat"] <= 52.8 and 13.0 <= l["lon"] <= 13.8 for l in locs)

    want = sorted(p["i"] for p in pl if in_box(p))
    assert 0 < len(want) < 200
    for indexed in (False, True):
        if indexed:
            c.create_payload_index("location", "geo")
        assert c.count({"must": [box]}) == len(want)
        assert [int(i) for i in c.scroll(filter={"must": [box]}, limit=500).ids] == want
        assert c.count("location WITHIN BOX ((52.8, 13.0), (52.3, 13.8))") == len(want)
        q = c.query(X[want[0]], k=5, filter={"must": [box]})
        assert q.ids[0, 0] == want[0] and set(int(i) for i in q.ids[0] if i >= 0) <= set(want)
        radius = {"must": [{"key": "location", "geo_radius": {"center": {"lat": BERLIN[0], "lon": BERLIN[1]},
                                                              "radius": 25_000}}]}
        assert c.count(radius) == len([1 for i, d in expected_nearest(pl, BERLIN) if d <= 25_000])
        poly = {"must": [{"key": "location", "geo_polygon": {"exterior": {"points": [
            {"lat": 52.0, "lon": 12.5}, {"lat": 52.0, "lon": 14.5}, {"lat": 53.0, "lon": 14.5},
            {"lat": 53.0, "lon": 12.5}, {"lat": 52.0, "lon": 12.5}]}}}]}
        assert c.count(poly) == c.count("location WITHIN POLYGON (((52.0, 12.5), (52.0, 14.5), (53.0, 14.5), "
                                        "(53.0, 12.5), (52.0, 12.5)))")
    with pytest.raises(vecstore.FilterError):
        c.count({"must": [{"key": "location", "geo_radius": {"center": {"lat": 91, "lon": 0}, "radius": 5}}]})
    with pytest.raises(vecstore.FilterError):
        c.count("location WITHIN 5 KM OF (52.5)")


def decay_store(c):
    """Query [1, 0]: point 1 ([1, 0]) is in Paris, 878 km from Berlin; 2 ([0.8, 0.6]) and 3
    ([0, 1]) in Berlin; 4 ([1, 0.1]) has no location."""
    c.upsert([1, 2, 3, 4], np.array([[1, 0], [0.8, 0.6], [0, 1], [1, 0.1]], np.float32),
             [{"loc": {"lat": PARIS[0], "lon": PARIS[1]}}, {"loc": {"lat": BERLIN[0], "lon": BERLIN[1]}},
              {"loc": {"lat": BERLIN[0], "lon": BERLIN[1]}}, {}])


def check_decay(c):
    q = np.array([1, 0], np.float32)
    dp = vecstore.geo_distance(*BERLIN, *PARIS)
    s4 = 1 / math.sqrt(1.01)
    r = c.query(q, k=4)
    assert list(r.ids[0]) == [1, 4, 2, 3]
    tg = 0.5 ** ((dp / 1e6) ** 2)
    cases = [
        (vecstore.Decay("loc", *BERLIN, scale=1e6), [2, 1, 3, 4], [0.8, tg, 0, 0]),
        (vecstore.Decay(key="loc", lat=BERLIN[0], lon=BERLIN[1], scale=5e5, func="exp", offset=1e5, decay=0.2),
         [2, 1], [0.8, 0.2 ** ((dp - 1e5) / 5e5)]),
        (vecstore.Decay("loc", *BERLIN, scale=2e6, func="linear"), [2, 1], [0.8, 1 - dp * 0.5 / 2e6]),
        (vecstore.Decay("loc", *BERLIN, scale=1e6, combine="sum"), [2, 1, 3], [1.8, 1 + tg, 1]),
        (vecstore.Decay("loc", *BERLIN, scale=1e6, combine="sum", weight=0.1), [1, 4], [1 + 0.1 * tg, s4]),
        (vecstore.Decay("loc", *BERLIN, scale=1e6, candidates=2), [2, 1, 3, 4], [0.8, tg, 0, 0]),
    ]
    for d, ids, scores in cases:
        r = c.query(q, k=len(ids), decay=d)
        assert [int(i) for i in r.ids[0]] == ids, d
        np.testing.assert_allclose(r.scores[0], scores, rtol=1e-5, atol=1e-7)
    # with a filter, an offset and a batch of two queries
    d = vecstore.Decay("loc", *BERLIN, scale=1e6)
    r = c.query(np.array([[1, 0], [0, 1]], np.float32), k=2, decay=d, offset=1,
                filter={"must_not": [{"has_id": [4]}]})
    assert [list(map(int, row)) for row in r.ids] == [[1, 3], [2, 1]]
    np.testing.assert_allclose(r.scores, [[tg, 0], [0.6, 0]], rtol=1e-5, atol=1e-7)
    assert r.hits(0)[0].payload == {"loc": {"lat": PARIS[0], "lon": PARIS[1]}}


def test_decay_reorders_embedded(store):
    c = store.create_collection("d", dim=2, metric="cosine")
    decay_store(c)
    check_decay(c)
    c.flush()
    check_decay(c)


def test_remote_answers_equal_embedded(remote, store, rng):
    ec = store.create_collection("g", dim=4, metric="cosine", index="flat")
    rc = remote.create_collection("g", dim=4, metric="cosine", index="flat")
    X = rng.standard_normal((200, 4)).astype(np.float32)
    pl = places(rng)
    for c in (ec, rc):
        c.upsert(np.arange(200), X, pl)
    rc.create_payload_index("location", "geo")
    assert [(i["path"], i["type"]) for i in rc.payload_indexes()] == [("location", "geo")]
    origin = (52.4, 13.6)
    for kw in [{}, {"max_distance": 40_000.0}, {"filter": {"must": [{"key": "open", "match": {"value": True}}]}},
               {"filter": "location WITHIN 50 KM OF (52.5, 13.4) AND i < 150", "with_vector": True},
               {"k": 300}]:
        kw = dict(kw)
        k = kw.pop("k", 12)
        a, b = ec.nearest("location", *origin, k=k, **kw), rc.nearest("location", *origin, k=k, **kw)
        np.testing.assert_array_equal(a.ids, b.ids)
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6)
        assert a.payloads == b.payloads
        if kw.get("with_vector"):
            np.testing.assert_allclose(a.vectors(), b.vectors(), rtol=1e-6)
    check_nearest(rc.nearest("location", *origin, k=20), expected_nearest(pl, origin), 20)
    Q = rng.standard_normal((3, 4)).astype(np.float32)
    for d in [vecstore.Decay("location", *origin, scale=20_000),
              vecstore.Decay("location", *origin, scale=50_000, func="exp", offset=5_000, decay=0.3),
              vecstore.Decay("location", *origin, scale=80_000, func="linear", combine="sum", weight=0.5,
                             candidates=150),
              vecstore.Decay("location", *origin, scale=30_000, combine="sum")]:
        for kw in [{}, {"filter": {"must": [{"key": "i", "range": {"lt": 120}}]}, "offset": 2},
                   {"score_threshold": 0.1}]:
            a, b = ec.query(Q, k=6, decay=d, **kw), rc.query(Q, k=6, decay=d, **kw)
            np.testing.assert_array_equal(a.ids, b.ids)
            np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5)
            assert a.payloads == b.payloads
        a, b = ec.query(Q[0], k=4, decay=d), rc.query(Q[0], k=4, decay=d)
        np.testing.assert_array_equal(a.ids, b.ids)
    # the decay changes the order (the origin's neighbours rise)
    plain = ec.query(Q[0], k=6)
    near = ec.query(Q[0], k=6, decay=vecstore.Decay("location", *origin, scale=10_000))
    assert list(plain.ids[0]) != list(near.ids[0])
    rd = remote.get_collection("d") if "d" in remote else remote.create_collection("d", dim=2, metric="cosine")
    decay_store(rd)
    check_decay(rd)


def bad_inputs(c):
    """The same refusals, embedded or remote: (callable, exception class)."""
    q = np.zeros(2, np.float32)
    q[0] = 1
    D = vecstore.Decay
    return [
        (lambda: c.nearest("loc", 91, 0), vecstore.InvalidArgumentError),
        (lambda: c.nearest("loc", 0, -180.5), vecstore.InvalidArgumentError),
        (lambda: c.nearest("loc", "52", 13), vecstore.InvalidArgumentError),
        (lambda: c.nearest("loc", 52, 13, k=0), vecstore.InvalidArgumentError),
        (lambda: c.nearest("loc", 52, 13, k=100_001), vecstore.RangeError),
        (lambda: c.nearest("loc", 52, 13, max_distance=-1), vecstore.InvalidArgumentError),
        (lambda: c.nearest("loc", 52, 13, max_distance=math.nan), vecstore.InvalidArgumentError),
        (lambda: c.nearest(5, 52, 13), vecstore.InvalidArgumentError),
        (lambda: c.nearest("loc", 52, 13, filter={"must": [{"key": "loc", "geo_radius": {}}]}), vecstore.FilterError),
        (lambda: c.nearest("loc", 52, 13, filter="loc WITHIN 5 KM OF"), vecstore.FilterError),
        (lambda: c.query(q, decay=D("loc", 91, 0, scale=1000)), vecstore.InvalidArgumentError),
        (lambda: c.query(q, decay=D("loc", 52, 13, scale=0)), vecstore.InvalidArgumentError),
        (lambda: c.query(q, decay=D("loc", 52, 13, scale=-5)), vecstore.InvalidArgumentError),
        (lambda: c.query(q, decay=D("loc", 52, 13, scale=1000, decay=1.5)), vecstore.InvalidArgumentError),
        (lambda: c.query(q, decay=D("loc", 52, 13, scale=1000, decay=0)), vecstore.InvalidArgumentError),
        (lambda: c.query(q, decay=D("loc", 52, 13, scale=1000, offset=-1)), vecstore.InvalidArgumentError),
        (lambda: c.query(q, decay=D("loc", 52, 13, scale=math.inf)), vecstore.InvalidArgumentError),
        (lambda: c.query(q, decay="gauss"), vecstore.InvalidArgumentError),
        (lambda: c.query(np.zeros(3, np.float32), decay=D("loc", 52, 13, scale=1000)), vecstore.DimensionError),
    ]


def test_bad_inputs_raise_the_same_classes(remote, store):
    ec = store.create_collection("b", dim=2, metric="cosine")
    rc = remote.create_collection("b", dim=2, metric="cosine")
    for c in (ec, rc):
        decay_store(c)
        for i, (fn, cls) in enumerate(bad_inputs(c)):
            with pytest.raises(cls) as ei:
                fn()
            assert type(ei.value) is cls, (i, c, ei.value)
    # what the key's path syntax refuses: the same class either way
    errs = []
    for c in (ec, rc):
        for fn in (lambda: c.nearest("a[x", 52, 13), lambda: c.query(np.ones(2, np.float32),
                                                                       decay=vecstore.Decay("a[x", 52, 13, scale=1))):
            with pytest.raises(vecstore.Error) as ei:
                fn()
            errs.append(type(ei.value))
    assert errs[0] is errs[2] and errs[1] is errs[3], errs
    # Decay checks its types and names when made
    for kw, msg in [({"func": "cubic"}, "func"), ({"combine": "max"}, "combine"), ({"key": ""}, "key"),
                    ({"lat": "52"}, "lat"), ({"scale": None}, "scale"), ({"candidates": 0}, "candidates"),
                    ({"candidates": 1.5}, "candidates"), ({"weight": True}, "weight")]:
        args = dict(key="loc", lat=52.0, lon=13.0, scale=1000.0)
        args.update(kw)
        with pytest.raises(vecstore.InvalidArgumentError, match=msg):
            vecstore.Decay(**args)
    with pytest.raises(vecstore.RangeError):
        vecstore.Decay("loc", 52, 13, scale=1, candidates=100_001)


@pytest.mark.asyncio
async def test_async_nearest_and_decay(tmp_path, server):
    for db in (await vecstore.open_async(str(tmp_path / "a"), fsync="off"), await vecstore.connect_async(server.url)):
        async with db:
            c = await db.create_collection("d", dim=2, metric="cosine")
            await c.upsert([1, 2, 3, 4], np.array([[1, 0], [0.8, 0.6], [0, 1], [1, 0.1]], np.float32),
                           [{"loc": {"lat": PARIS[0], "lon": PARIS[1]}}, {"loc": {"lat": BERLIN[0], "lon": BERLIN[1]}},
                            {"loc": {"lat": 52.0, "lon": 13.0}}, {}])
            r = await c.nearest("loc", *BERLIN, k=5)
            assert list(r.ids[0]) == [2, 3, 1, -1, -1]
            assert r.scores[0, 0] == 0 and r.scores[0, 2] == pytest.approx(vecstore.geo_distance(*BERLIN, *PARIS),
                                                                           rel=1e-6)
            r = await c.query(np.array([1, 0], np.float32), k=2, decay=vecstore.Decay("loc", *BERLIN, scale=1e6))
            assert list(r.ids[0]) == [2, 1]
            with pytest.raises(vecstore.InvalidArgumentError):
                await c.nearest("loc", 100, 0)
