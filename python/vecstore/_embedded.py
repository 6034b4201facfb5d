"""The embedded store: the library runs in this process (the C extension)."""
from __future__ import annotations

import os
import weakref
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from . import _errors, _vecstore
from ._base import (Q_EXACT, Q_EXPLAIN, Q_IGNORE_QUANT, Q_NO_RESCORE, Q_PROFILE, CollectionBase, Filter,
                    Vectors, check_k, check_u32, field_specs, filter_text, id_list, payload_text, with_bits)
from ._geo import Decay, number
from ._results import Id, Points, QueryResult

_PAYLOAD_SET, _PAYLOAD_OVERWRITE, _PAYLOAD_DELETE, _PAYLOAD_CLEAR = 0, 1, 2, 3


def check_decay(decay: Optional[Decay]) -> Any:
    """The extension's form of a decay argument (None stays None)."""
    if decay is None:
        return None
    if not isinstance(decay, Decay):
        raise _errors.InvalidArgumentError(f"decay must be a vecstore.Decay, got {type(decay).__name__}", -1)
    return decay._c_args()


class Collection(CollectionBase):
    """A collection of an embedded store. Thread-safe: any number of threads may call it
    at once (the GIL is released inside every call). Get one from
    :meth:`Store.create_collection`, :meth:`Store.get_collection` or ``store[name]``."""

    def __init__(self, store: "Store", c: Any):
        self._store = store
        self._c = c
        self.name: str = c.name
        self._fields = [f["name"] for f in c.info()["fields"]]

    # ---------------------------------------------------------------- writes --

    def _upsert_batch(self, ids: Any, columns: List[Tuple[Optional[str], Any]],
                      payloads: Optional[List[Any]]) -> None:
        texts = None if payloads is None else [payload_text(p, i) for i, p in enumerate(payloads)]
        self._c.upsert(ids, columns, texts)

    def _as_matrix(self, v: Any) -> Any:
        return _vecstore.as_f32(v)

    def delete(self, ids: Optional[Sequence[Id]] = None, *, filter: Filter = None) -> int:
        """Deletes points by id, or every point matching ``filter``; returns how many
        existed. Deleting by filter goes page by page: points written meanwhile that
        match may survive it."""
        if (ids is None) == (filter is None):
            raise _errors.InvalidArgumentError("give ids or filter (one of them)", -1)
        if ids is not None:
            return self._c.delete(id_list(ids))
        return self._c.delete_where(filter_text(filter))

    def set_payload(self, ids: Sequence[Id], payload: Mapping[str, Any], *, overwrite: bool = False) -> int:
        """Merges ``payload``'s keys into the points' payloads (``overwrite=True``:
        replaces them); missing ids are skipped. Returns how many points were found."""
        return self._c.set_payload(id_list(ids), _PAYLOAD_OVERWRITE if overwrite else _PAYLOAD_SET,
                                   payload_text(payload, 0) or "{}")

    def delete_payload(self, ids: Sequence[Id], keys: Sequence[str]) -> int:
        """Removes top-level keys from the points' payloads."""
        import json
        return self._c.set_payload(id_list(ids), _PAYLOAD_DELETE, json.dumps(list(keys)))

    def clear_payload(self, ids: Sequence[Id]) -> int:
        """Makes the points' payloads empty."""
        return self._c.set_payload(id_list(ids), _PAYLOAD_CLEAR, "{}")

    def flush(self) -> None:
        """Seals the mutable segment and checkpoints the WAL."""
        self._c.flush()

    def compact(self) -> None:
        """Merges segments and purges deleted points (readers are not blocked)."""
        self._c.compact()

    def wait_indexed(self, timeout: Optional[float] = None) -> bool:
        """Waits until every index the background indexer owes is built; False if
        ``timeout`` seconds passed first."""
        if timeout is None:
            return self._c.wait_indexed(-1)
        return self._c.wait_indexed(int(min(max(timeout, 0), 2_000_000) * 1000))

    def snapshot(self, path: str) -> str:
        """Writes a consistent snapshot archive of the collection to ``path`` (writes may
        go on meanwhile); restore it with :meth:`Store.restore_snapshot`."""
        self._c.snapshot(os.fspath(path))
        return os.fspath(path)

    def create_payload_index(self, path: str, type: str) -> None:
        """Indexes a payload path (``"keyword"``, ``"integer"``, ``"float"``, ``"bool"``,
        ``"datetime"``, ``"text"``, ``"geo"``) so filters on it are fast (``"geo"``: the
        geo conditions and :meth:`nearest`); built before returning."""
        self._c.create_index(path, type)

    def drop_payload_index(self, path: str, type: Optional[str] = None) -> None:
        """Drops the index of that type on path (every index on path without a type)."""
        self._c.drop_index(path, type)

    def payload_indexes(self) -> List[Dict[str, Any]]:
        """The payload indexes: ``[{path, type, entries, memory_bytes}]``."""
        return self._c.indexes()

    # ----------------------------------------------------------------- reads --

    def info(self) -> Dict[str, Any]:
        """Counts, sizes and the schema (``fields``) of the collection."""
        return self._c.info()

    def count(self, filter: Filter = None) -> int:
        """The number of points (matching ``filter``)."""
        return self._c.count(filter_text(filter))

    def get(self, ids: Sequence[Id], *, with_payload: bool = True, with_vector: bool = False) -> Points:
        """The points with these ids, in the order asked; missing ids are skipped."""
        r = self._c.get(id_list(ids), with_bits(with_payload, with_vector))
        return Points(r, r.id_array(0), self._fields)

    def scroll(self, *, filter: Filter = None, limit: int = 100, offset: Optional[Id] = None,
               with_payload: bool = True, with_vector: bool = False) -> Points:
        """One page of points in id order (numeric ids ascending, then string ids),
        starting at ``offset``; pass ``page.next_offset`` for the next page (None: done)."""
        limit = check_u32("limit", limit, 1)
        r = self._c.scroll(offset, limit, filter_text(filter), with_bits(with_payload, with_vector))
        return Points(r, r.id_array(0), self._fields, r.next())

    def query(self, vectors: Vectors, k: int = 10, *, filter: Filter = None, ef: Optional[int] = None,
              with_payload: bool = True, with_vector: bool = False, profile: bool = False,
              using: Optional[str] = None, exact: bool = False, score_threshold: Optional[float] = None,
              offset: int = 0, oversampling: Optional[float] = None, rescore: bool = True,
              ignore_quantization: bool = False, decay: Optional[Decay] = None) -> QueryResult:
        """The k nearest points to each query vector.

        Args:
            vectors: one ``(dim,)`` vector or an ``(nq, dim)`` batch (C-contiguous float32
                is read in place).
            k: hits per query (1..100000).
            filter: Qdrant's JSON filter as a dict, or the text syntax
                (``"price < 10 AND tags ANY IN ('a')"``); see docs/filters.md.
            ef: HNSW beam width (default 64; at least k is used).
            with_payload, with_vector: what the hits carry.
            profile: record the query's stage profile (``result.profile``).
            using: the vector field, for collections with several.
            exact: exact search even where an index exists.
            score_threshold: drop hits worse than this.
            offset: skip the first ``offset`` hits (pagination).
            oversampling, rescore, ignore_quantization: for quantized fields.
            decay: a :class:`vecstore.Decay`: rescore the nearest vectors with a decay of
                their geodesic distance from an origin (hybrid geo + vector ranking); the
                scores are then the combined ones.

        Returns:
            a :class:`QueryResult` with ``(nq, k)`` ``ids`` and ``scores`` arrays.
        """
        k = check_k(k)
        ef = check_u32("ef", ef or 0)
        offset = check_u32("offset", offset)
        flags = ((Q_EXACT if exact else 0) | (Q_PROFILE if profile else 0) |
                 (0 if rescore else Q_NO_RESCORE) | (Q_IGNORE_QUANT if ignore_quantization else 0))
        res, ids, sc = self._c.query(vectors, k, using, filter_text(filter), with_bits(with_payload, with_vector),
                                     flags, ef or 0, score_threshold, offset, oversampling or 0.0,
                                     check_decay(decay))
        return QueryResult(res, ids, sc, k, self._fields, profile)

    def nearest(self, key: str, lat: float, lon: float, k: int = 10, *, max_distance: Optional[float] = None,
                filter: Filter = None, with_payload: bool = True, with_vector: bool = False) -> QueryResult:
        """The k points whose location at payload path ``key`` is nearest (``lat``,
        ``lon``), nearest first, by geodesic distance on the WGS84 ellipsoid.

        Args:
            key: payload path of the locations (``{"lat": …, "lon": …}`` objects, or
                arrays of them: a point is as far as its nearest location). Points without
                a valid location are left out.
            lat, lon: the origin in degrees.
            k: points to return (1..100000).
            max_distance: only points within this many metres.
            filter: as in :meth:`query` (geo conditions included).

        Returns:
            a :class:`QueryResult` with one row: ``ids`` and ``scores`` (distances in
            metres, ascending) of shape ``(1, k)``, padded with -1 / NaN.
        """
        k = check_k(k)
        md = -1.0 if max_distance is None else number("max_distance", max_distance)
        if max_distance is not None and not md >= 0:
            raise _errors.InvalidArgumentError(f"max_distance must be a number of metres >= 0, got {max_distance!r}",
                                               -1)
        if not isinstance(key, str):
            raise _errors.InvalidArgumentError(f"key must be a str, got {type(key).__name__}", -1)
        res, ids, sc = self._c.nearest(key, number("lat", lat), number("lon", lon), k, md, filter_text(filter),
                                       with_bits(with_payload, with_vector))
        return QueryResult(res, ids, sc, k, self._fields)

    def explain(self, vectors: Vectors, k: int = 10, *, filter: Filter = None, using: Optional[str] = None,
                exact: bool = False, format: str = "text") -> str:
        """The plan the query would run (per segment, with the planner's estimates),
        without running it."""
        res, _, _ = self._c.query(vectors, check_k(k), using, filter_text(filter), 0,
                                  Q_EXPLAIN | (Q_EXACT if exact else 0), 0, None, 0, 0.0)
        return res.profile(format)

    def close(self) -> None:
        """Releases the collection's handles (calls in flight finish first)."""
        self._c.close()

    @property
    def closed(self) -> bool:
        return self._c.closed


class Store:
    """An embedded store: a directory opened in this process (:func:`vecstore.open`).

    Thread-safe. Use as a context manager or call :meth:`close`; opening the same path
    twice in one process shares one store.
    """

    def __init__(self, path: str, *, read_only: bool = False, create: bool = True, fsync: str = "always",
                 fsync_interval_ms: int = 0, flush_bytes: int = 0, background: bool = True,
                 compact_min_segments: int = 0):
        self._s = _vecstore.Store(os.fspath(path), read_only, create, fsync, fsync_interval_ms, flush_bytes,
                                  background, compact_min_segments)
        self._colls: "weakref.WeakSet[Collection]" = weakref.WeakSet()

    @property
    def path(self) -> str:
        return self._s.path

    @property
    def read_only(self) -> bool:
        return self._s.read_only

    @property
    def closed(self) -> bool:
        return self._s.closed

    def create_collection(self, name: str, dim: Optional[int] = None, metric: str = "cosine",
                          index: str = "hnsw", *, vectors: Optional[Mapping[str, Any]] = None,
                          m: Optional[int] = None, ef_construction: Optional[int] = None,
                          index_threshold: Optional[int] = None, quantization: Optional[str] = None,
                          pq_m: Optional[int] = None, exist_ok: bool = False) -> Collection:
        """Creates a collection and returns it.

        Args:
            dim: the dimension of its one (unnamed) vector field; or ``vectors=
                {name: dim or {dim, metric, index, ...}}`` for named fields.
            metric: ``"cosine"``, ``"l2"`` or ``"dot"``.
            index: ``"hnsw"`` (graph, built in the background once a segment has
                ``index_threshold`` points; smaller ones are searched exactly) or ``"flat"``.
            m, ef_construction: HNSW parameters (defaults 16 and 200).
            quantization: None, ``"int8"``, ``"pq"`` (with ``pq_m``) or ``"binary"``.
            exist_ok: return the existing collection instead of raising
                :class:`AlreadyExistsError` (its schema is not compared).
        """
        specs = field_specs(dim, metric, index, vectors, m, ef_construction, index_threshold, quantization, pq_m)
        fields = [(s["name"], int(s["dim"]), s["metric"], s["index"], int(s["m"]), int(s["ef_construction"]),
                   int(s["index_threshold"]), s["quantization"], int(s["pq_m"])) for s in specs]
        try:
            self._s.create(name, fields)
        except _errors.AlreadyExistsError:
            if not exist_ok:
                raise
        return self.get_collection(name)

    def get_or_create_collection(self, name: str, dim: Optional[int] = None, **kw: Any) -> Collection:
        """:meth:`create_collection` with ``exist_ok=True``."""
        return self.create_collection(name, dim, exist_ok=True, **kw)

    def get_collection(self, name: str) -> Collection:
        """The collection of that name (:class:`NotFoundError` if none)."""
        c = Collection(self, self._s.collection(name))
        self._colls.add(c)
        return c

    def __getitem__(self, name: str) -> Collection:
        return self.get_collection(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.list_collections()

    def list_collections(self) -> List[str]:
        """The collection names, sorted."""
        return sorted(self._s.list())

    def drop_collection(self, name: str) -> None:
        """Deletes a collection and its files (open handles to it then fail with
        :class:`NotFoundError`)."""
        self._s.drop(name)

    def restore_snapshot(self, path: str, name: Optional[str] = None) -> Collection:
        """Restores a collection from a snapshot archive (under ``name``, default the
        name it was saved as); the archive is verified first and the name must be free."""
        before = set(self._s.list())
        self._s.restore(os.fspath(path), name)
        if name is None:
            new = set(self._s.list()) - before
            name = new.pop() if len(new) == 1 else None
        return self.get_collection(name) if name else None  # type: ignore[return-value]

    def check(self) -> List[Tuple[str, str, str]]:
        """Verifies every checksum of the store's files (offline check, read-only);
        returns the ``(level, file, message)`` reports and raises :class:`CorruptError`
        if any is an error."""
        rc, notes = _vecstore.check(self.path)
        if rc:
            errs = [f"{f}: {m}" for lv, f, m in notes if lv == "error"]
            raise _errors.BY_CODE.get(rc, _errors.Error)("; ".join(errs) or _vecstore.errstr(rc), rc)
        return notes

    def close(self) -> None:
        """Closes the store and the collections opened from it (the WAL is synced when the
        last handle of the store in this process closes)."""
        for c in list(self._colls):
            c.close()
        self._s.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"vecstore.Store({self.path!r}{', read_only' if self.read_only else ''})"


def open(path: str, **options: Any) -> Store:  # noqa: A001 - the package's entry point
    """Opens (or creates) the store at ``path``.

    Options: ``read_only`` (no write lock; sees the files as they were when opened),
    ``create`` (default True), ``fsync`` (``"always"``: an acknowledged write is on disk;
    ``"batch"``: synced every ``fsync_interval_ms``; ``"off"``), ``flush_bytes``,
    ``background`` (flush/compaction/indexing thread, default True),
    ``compact_min_segments``.
    """
    return Store(path, **options)
