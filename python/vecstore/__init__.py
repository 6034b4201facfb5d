"""VecStore for Python: an embeddable vector database, and a client for ``vecstore serve``.

    import vecstore, numpy as np
    db = vecstore.open("./data")                      # embedded: the store is a directory
    coll = db.create_collection("docs", dim=384, metric="cosine", index="hnsw")
    coll.upsert([1, 2], np.random.rand(2, 384).astype("float32"), [{"lang": "en"}, {"lang": "de"}])
    res = coll.query(np.random.rand(384).astype("float32"), k=10, filter={"must": [
        {"key": "lang", "match": {"value": "en"}}]})
    res.ids, res.scores                               # (nq, k) NumPy arrays

    near = coll.nearest("location", 52.52, 13.405, k=5)   # by geodesic distance (metres)
    res = coll.query(q, decay=vecstore.Decay(key="location", lat=52.52, lon=13.405, scale=5000))

    remote = vecstore.connect("http://127.0.0.1:6333")   # the same API over HTTP
    adb = await vecstore.open_async("./data")             # the same API with await

See docs/python.md for the whole API.
"""
from . import _errors
from ._errors import *  # noqa: F401,F403 - the exception classes are part of the API
from ._errors import Error
from ._vecstore import VERSION as __version__
from ._vecstore import simd as _simd
from ._embedded import Collection, Store, open
from ._remote import RemoteCollection, RemoteStore, connect
from ._async import AsyncCollection, AsyncVecStore, connect_async, open_async
from ._geo import Decay, geo_distance
from ._results import Hit, Point, Points, QueryResult

__all__ = ["open", "connect", "open_async", "connect_async", "Store", "Collection", "RemoteStore",
           "RemoteCollection", "AsyncVecStore", "AsyncCollection", "QueryResult", "Points", "Hit",
           "Point", "Decay", "geo_distance", "simd", "__version__"] + [n for n in dir(_errors) if n.endswith("Error")]


def simd() -> str:
    """The distance kernel the library uses on this CPU: ``"scalar"``, ``"avx2"`` or
    ``"avx512"``."""
    return _simd()
