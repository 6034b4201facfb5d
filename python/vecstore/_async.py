"""asyncio: the same API with ``await``, for embedded and remote stores alike.

Every call runs in a thread pool owned by the :class:`AsyncVecStore` (the library
releases the GIL, so the event loop keeps running while a query or a write is under
way). Cancelling an awaiting task does not stop the call already running in its thread —
one library call is all-or-nothing, so the store is never left half-written; an upsert in
several batches (``batch_size``/``progress``) stops before its next batch.
"""
from __future__ import annotations

import asyncio
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Sequence, TypeVar, Union

from ._base import CollectionBase, Filter, Vectors
from ._embedded import Store
from ._remote import RemoteStore
from ._results import Id, Points, QueryResult

T = TypeVar("T")


class AsyncCollection:
    """A collection with coroutine methods (``await coll.query(...)``), named as in
    :class:`vecstore.Collection`."""

    def __init__(self, sync: CollectionBase, owner: "AsyncVecStore"):
        self.sync = sync  #: the synchronous collection underneath
        self._owner = owner
        self.name = sync.name

    async def _run(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        return await self._owner._run(fn, *args, **kw)

    async def upsert(self, ids: Sequence[Id], vectors: Vectors, payloads: Optional[Sequence[Any]] = None, *,
                     progress: bool = False, batch_size: Optional[int] = None) -> int:
        cancel = threading.Event()
        try:
            return await self._run(self.sync.upsert, ids, vectors, payloads, progress=progress,
                                   batch_size=batch_size, _cancel=cancel)
        except asyncio.CancelledError:
            cancel.set()  # a batched upsert stops before its next batch
            raise

    async def upsert_df(self, df: Any, id: str = "id", vector: Any = "embedding",
                        payload: Optional[Sequence[str]] = None, *, progress: bool = False,
                        batch_size: Optional[int] = None) -> int:
        cancel = threading.Event()
        try:
            return await self._run(self.sync.upsert_df, df, id, vector, payload, progress=progress,
                                   batch_size=batch_size, _cancel=cancel)
        except asyncio.CancelledError:
            cancel.set()
            raise

    async def query(self, vectors: Vectors, k: int = 10, **kw: Any) -> QueryResult:
        return await self._run(self.sync.query, vectors, k, **kw)  # type: ignore[attr-defined]

    async def nearest(self, key: str, lat: float, lon: float, k: int = 10, **kw: Any) -> QueryResult:
        return await self._run(self.sync.nearest, key, lat, lon, k, **kw)  # type: ignore[attr-defined]

    async def get(self, ids: Sequence[Id], **kw: Any) -> Points:
        return await self._run(self.sync.get, ids, **kw)  # type: ignore[attr-defined]

    async def delete(self, ids: Optional[Sequence[Id]] = None, *, filter: Filter = None) -> Optional[int]:
        return await self._run(self.sync.delete, ids, filter=filter)  # type: ignore[attr-defined]

    async def count(self, filter: Filter = None) -> int:
        return await self._run(self.sync.count, filter)

    async def scroll(self, **kw: Any) -> Points:
        return await self._run(self.sync.scroll, **kw)

    async def to_pandas(self, filter: Filter = None, **kw: Any) -> Any:
        return await self._run(self.sync.to_pandas, filter, **kw)

    async def set_payload(self, ids: Sequence[Id], payload: Dict[str, Any], *, overwrite: bool = False) -> Any:
        return await self._run(self.sync.set_payload, ids, payload, overwrite=overwrite)  # type: ignore[attr-defined]

    async def delete_payload(self, ids: Sequence[Id], keys: Sequence[str]) -> Any:
        return await self._run(self.sync.delete_payload, ids, keys)  # type: ignore[attr-defined]

    async def clear_payload(self, ids: Sequence[Id]) -> Any:
        return await self._run(self.sync.clear_payload, ids)  # type: ignore[attr-defined]

    async def info(self) -> Dict[str, Any]:
        return await self._run(self.sync.info)  # type: ignore[attr-defined]

    async def flush(self) -> None:
        await self._run(self.sync.flush)  # type: ignore[attr-defined]

    async def compact(self) -> None:
        await self._run(self.sync.compact)  # type: ignore[attr-defined]

    async def wait_indexed(self, timeout: Optional[float] = None) -> bool:
        return await self._run(self.sync.wait_indexed, timeout)  # type: ignore[attr-defined]

    async def snapshot(self, path: Union[str, "os.PathLike[str]"]) -> str:
        return await self._run(self.sync.snapshot, path)  # type: ignore[attr-defined]

    async def create_payload_index(self, path: str, type: str) -> None:
        await self._run(self.sync.create_payload_index, path, type)  # type: ignore[attr-defined]

    async def drop_payload_index(self, path: str, type: Optional[str] = None) -> None:
        await self._run(self.sync.drop_payload_index, path, type)  # type: ignore[attr-defined]

    async def payload_indexes(self) -> List[Dict[str, Any]]:
        return await self._run(self.sync.payload_indexes)  # type: ignore[attr-defined]

    async def close(self) -> None:
        self.sync.close()

    def __repr__(self) -> str:
        return f"AsyncCollection({self.name!r})"


class AsyncVecStore:
    """An embedded or remote store with coroutine methods (:func:`vecstore.open_async`,
    :func:`vecstore.connect_async`, or ``AsyncVecStore(store)`` around an open one)."""

    def __init__(self, store: Union[Store, RemoteStore], max_workers: Optional[int] = None):
        self.sync = store  #: the synchronous store underneath
        self._exec = ThreadPoolExecutor(max_workers=max_workers or max(4, os.cpu_count() or 1),
                                        thread_name_prefix="vecstore")

    async def _run(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._exec, functools.partial(fn, *args, **kw))

    async def create_collection(self, name: str, dim: Optional[int] = None, **kw: Any) -> AsyncCollection:
        return AsyncCollection(await self._run(self.sync.create_collection, name, dim, **kw), self)

    async def get_or_create_collection(self, name: str, dim: Optional[int] = None, **kw: Any) -> AsyncCollection:
        return AsyncCollection(await self._run(self.sync.get_or_create_collection, name, dim, **kw), self)

    async def get_collection(self, name: str) -> AsyncCollection:
        return AsyncCollection(await self._run(self.sync.get_collection, name), self)

    async def list_collections(self) -> List[str]:
        return await self._run(self.sync.list_collections)

    async def drop_collection(self, name: str) -> None:
        await self._run(self.sync.drop_collection, name)

    async def restore_snapshot(self, path: str, name: Optional[str] = None) -> AsyncCollection:
        return AsyncCollection(await self._run(self.sync.restore_snapshot, path, name), self)

    async def close(self) -> None:
        """Waits for the calls under way, then closes the store."""
        await asyncio.get_running_loop().run_in_executor(None, self._shutdown)

    def _shutdown(self) -> None:
        self._exec.shutdown(wait=True)
        self.sync.close()

    async def __aenter__(self) -> "AsyncVecStore":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncVecStore({self.sync!r})"


async def open_async(path: str, **options: Any) -> AsyncVecStore:
    """Opens an embedded store without blocking the event loop (options as
    :func:`vecstore.open`)."""
    loop = asyncio.get_running_loop()
    max_workers = options.pop("max_workers", None)
    store = await loop.run_in_executor(None, functools.partial(Store, path, **options))
    return AsyncVecStore(store, max_workers)


async def connect_async(url: str = "http://127.0.0.1:6333", api_key: Optional[str] = None,
                        timeout: float = 60.0, max_workers: Optional[int] = None) -> AsyncVecStore:
    """A remote store with coroutine methods (see :func:`vecstore.connect`)."""
    return AsyncVecStore(RemoteStore(url, api_key, timeout), max_workers)
