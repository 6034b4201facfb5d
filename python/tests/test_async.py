"""asyncio: the same API awaited; the loop stays responsive during a long call; a
cancelled call leaves the store consistent."""
import asyncio
import time

import numpy as np
import pytest

import vecstore


@pytest.mark.asyncio
async def test_async_api(tmp_path, rng):
    db = await vecstore.open_async(str(tmp_path / "a"), fsync="off")
    async with db:
        c = await db.create_collection("c", dim=4, metric="l2", index="flat")
        X = rng.standard_normal((100, 4)).astype(np.float32)
        assert await c.upsert(list(range(100)), X, [{"i": i} for i in range(100)]) == 100
        r = await c.query(X[3], k=2)
        assert r.ids[0, 0] == 3
        assert await c.count("i < 10") == 10
        assert (await c.get([5])).payloads == [{"i": 5}]
        assert await c.delete([1, 2]) == 2
        page = await c.scroll(limit=10)
        assert len(page) == 10
        await c.set_payload([5], {"z": 1})
        assert (await c.get([5])).payloads[0]["z"] == 1
        df = await c.to_pandas(with_vector=False)
        assert len(df) == 98
        assert await db.list_collections() == ["c"]
        assert (await c.info())["points"] == 98
        with pytest.raises(vecstore.DimensionError):
            await c.query(np.zeros(3, np.float32))


@pytest.mark.asyncio
async def test_loop_stays_responsive_during_a_long_query(tmp_path, rng):
    db = await vecstore.open_async(str(tmp_path / "r"), fsync="off")
    async with db:
        c = await db.create_collection("c", dim=64, metric="l2", index="flat")
        await c.upsert(np.arange(20_000), rng.standard_normal((20_000, 64)).astype(np.float32))
        Q = rng.standard_normal((3000, 64)).astype(np.float32)
        gaps = []

        async def ticker(stop):
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        stop = asyncio.Event()
        t = asyncio.create_task(ticker(stop))
        t0 = time.perf_counter()
        await c.query(Q, k=10, exact=True, with_payload=False)
        took = time.perf_counter() - t0
        stop.set()
        await t
        assert took > 0.02, "the query should be long enough to matter"
        assert len(gaps) >= 5 and max(gaps) < max(0.05, took / 3), (took, max(gaps), len(gaps))


@pytest.mark.asyncio
async def test_cancellation_leaves_the_store_consistent(tmp_path, rng):
    db = await vecstore.open_async(str(tmp_path / "x"), fsync="off")
    async with db:
        c = await db.create_collection("c", dim=32, metric="l2", index="flat")
        X = rng.standard_normal((200_000, 32)).astype(np.float32)
        # One batch: all or nothing.
        task = asyncio.create_task(c.upsert(np.arange(200_000), X))
        await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The call goes on in its thread; at every instant it is all or nothing.
        for _ in range(50):
            assert await c.count() in (0, 200_000)
            await asyncio.sleep(0.002)
        # Several batches: stops before its next batch; every batch written is whole.
        c2 = await db.create_collection("c2", dim=32, metric="l2", index="flat")
        task = asyncio.create_task(c2.upsert(np.arange(200_000), X, batch_size=1000))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        counts = [await c2.count()]
        while True:  # wait for the batch in flight to land
            await asyncio.sleep(0.1)
            counts.append(await c2.count())
            if counts[-1] == counts[-2]:
                break
        added = counts[-1]
        assert added % 1000 == 0 and 0 < added < 200_000, counts
        got = await c2.get(list(range(added + 1000)))
        assert list(got.ids) == list(range(added))  # exactly the first batches
