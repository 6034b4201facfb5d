"""Type stubs of vecstore._vecstore, the C half of the package (python/ext/*.c).

Low level: the public API is vecstore.open / vecstore.Store / vecstore.Collection, which
call this. Argument orders and types follow the PyArg_ParseTuple formats of the C; every
library call releases the GIL. Errors are raised as the vecstore.Error subclass of the
library's code (vecstore._errors.BY_CODE), unless noted otherwise.
"""
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union, final

import numpy as np
import numpy.typing as npt

_Id = Union[int, str]
_Ids = Union[Sequence[_Id], npt.NDArray[np.integer[Any]]]
_Path = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
_Buffer = Any  # anything with the buffer protocol, or what numpy.ascontiguousarray reads

# ---------------------------------------------------------------- constants --

#: The library's version (vs_version()), e.g. "0.1.0"; also vecstore.__version__.
VERSION: str
#: The largest k (limit) of one query (VS_K_MAX, 100000).
K_MAX: int
#: The most points in one upsert/delete/get batch (VS_BATCH_MAX, 1000000).
BATCH_MAX: int
#: The largest vector dimension (VS_DIM_MAX, 65536).
DIM_MAX: int

# ---------------------------------------------------------------- functions --

def conversion_copies() -> int:
    """How many inputs so far had to be converted to C-contiguous float32 (one copy each);
    a debug counter for the zero-copy tests."""

def last_input_address() -> int:
    """Address of the float32 data the last call handed to the library (0 before any);
    equal to ``arr.ctypes.data`` when ``arr`` was read in place."""

def live_allocations() -> int:
    """Allocations of libvecstore not yet freed (the leak check of the tests)."""

def errname(code: int) -> str:
    """The symbolic name of a VecStore error code (``-3`` -> ``"VS_EDIM"``)."""

def errstr(code: int) -> str:
    """The default text of a VecStore error code."""

def simd() -> str:
    """The distance kernel in use: ``"scalar"``, ``"avx2"`` or ``"avx512"``."""

def geo_distance(lat1: float, lon1: float, lat2: float, lon2: float, /) -> float:
    """The geodesic distance in metres between two points on the WGS84 ellipsoid
    (vs_geo_distance; degrees). InvalidArgumentError when a coordinate is not finite or
    out of range (lat -90..90, lon -180..180)."""

def check(path: _Path) -> Tuple[int, List[Tuple[str, str, str]]]:
    """Verifies every checksum of the store at ``path`` (offline, read-only). Returns
    ``(rc, [(level, file, message), ...])`` with level ``"ok"``, ``"note"`` or
    ``"error"``; rc is 0 or a negative error code (not raised)."""

def as_f32(obj: _Buffer) -> npt.NDArray[np.float32]:
    """``obj`` as a C-contiguous float32 array of 1 or 2 dimensions: an array over obj's
    own memory when it already is one (no copy), else one converted copy (counted by
    :func:`conversion_copies`). Raises InvalidArgumentError if it cannot be read as
    float32, DimensionError for other than 1 or 2 dimensions or more than DIM_MAX
    columns."""

# -------------------------------------------------------------------- Store --

@final  # not subclassable (no Py_TPFLAGS_BASETYPE)
class Store:
    """An open store directory (a pool of vs_store handles). Low level: use vecstore.open."""

    def __init__(
        self,
        path: _Path,
        read_only: bool = ...,  # False
        create: bool = ...,  # True: create the store if missing or empty
        fsync: Optional[str] = ...,  # None (library default "always"), "always", "batch", "off"
        fsync_interval_ms: int = ...,  # 0 = library default (50); unsigned 32-bit
        flush_bytes: int = ...,  # 0 = library default (64 MiB); unsigned 64-bit
        background: bool = ...,  # True: background flush/compaction/indexing thread
        compact_min_segments: int = ...,  # 0 = library default (8); unsigned 32-bit
    ) -> None:
        """Opens (or creates) the store (vs_store_open). Arguments may be given by
        keyword; a second __init__ on the same object raises InvalidArgumentError."""

    @property
    def path(self) -> str:
        """The store directory as given (the C getter returns None only on an object
        whose __init__ never succeeded)."""
    @property
    def read_only(self) -> bool:
        """Opened read-only."""
    @property
    def closed(self) -> bool:
        """close() was called (or __init__ did not succeed)."""

    def close(self) -> None:
        """Closes this object's handles; the store closes (WAL synced) with its last
        handle in the process. Idempotent."""

    def list(self) -> List[str]:
        """The collection names (unsorted; vecstore.Store.list_collections sorts them)."""

    def drop(self, name: str, /) -> None:
        """Deletes a collection and its files."""

    def create(
        self,
        name: str,
        fields: Sequence[Tuple[str, int, str, str, int, int, int, str, int]],
        /,
    ) -> None:
        """Creates a collection. ``fields``: one tuple per vector field, ``(name, dim,
        metric, index, m, ef_construction, index_threshold, quantization, pq_m)`` with
        name ``""`` for the unnamed field, metric ``"cosine"|"l2"|"dot"``, index
        ``"flat"|"hnsw"``, quantization ``"none"|"int8"|"pq"|"binary"``; 0 = default
        for the unsigned ints (m, ef_construction, index_threshold only apply to hnsw)."""

    def collection(self, name: str, /) -> "Collection":
        """Opens an existing collection (NotFoundError if there is none)."""

    def restore(self, archive_path: _Path, name: Optional[str] = None, /) -> None:
        """Restores a collection from a snapshot archive, under ``name`` (None: the name
        it was saved as); returns nothing (list() shows the new name)."""

# --------------------------------------------------------------- Collection --

@final  # not subclassable (no Py_TPFLAGS_BASETYPE)
class Collection:
    """An open collection (a pool of vs_coll handles). Made only by Store.collection
    (the type cannot be instantiated from Python). Low level: use vecstore.Collection."""

    @property
    def name(self) -> str:
        """The collection's name."""
    @property
    def closed(self) -> bool:
        """close() was called."""

    def close(self) -> None:
        """Closes the idle handles and this object's store handle (so closing the Store
        closes the store while this object lives on); calls in flight close their
        handle when they end; later calls raise InvalidArgumentError. Idempotent."""

    # writes
    def upsert(
        self,
        ids: _Ids,
        columns: Sequence[Tuple[Optional[str], _Buffer]],
        payloads: Optional[Sequence[Union[str, bytes, None]]],
        /,
    ) -> int:
        """Inserts or replaces points (one all-or-nothing batch); returns the number of
        ids. ``columns``: ``[(field or None, (n, dim) matrix or (dim,) vector)]``, each
        with one row per id; ``payloads``: None or one JSON text (str/bytes; None = {})
        per id."""

    def delete(self, ids: _Ids, /) -> int:
        """Deletes points by id; returns how many existed."""

    def delete_where(self, filter: str, /) -> int:
        """Deletes every point matching the filter (JSON or text syntax), page by page
        (not atomic); returns how many were deleted."""

    def set_payload(self, ids: _Ids, op: int, json: str, /) -> int:
        """Payload operation ``op``: 0 merge the object ``json``, 1 overwrite with it,
        2 delete the keys of the JSON array ``json``, 3 clear (``json`` ignored).
        Returns how many of the points were found."""

    def flush(self) -> None:
        """Seals the mutable segment and checkpoints the WAL."""

    def compact(self) -> None:
        """Merges segments and purges deleted points."""

    def wait_indexed(self, timeout_ms: int = -1, /) -> bool:
        """Waits until every owed index is built: True, or False when ``timeout_ms``
        (a C int; -1 = forever) passed first."""

    def snapshot(self, path: _Path, /) -> None:
        """Writes a consistent snapshot archive of the collection to ``path``."""

    def create_index(self, path: str, type: str, /) -> None:
        """Builds a payload index on ``path``; type ``"keyword"``, ``"integer"``,
        ``"float"``, ``"bool"``, ``"datetime"``, ``"text"`` or ``"geo"``."""

    def drop_index(self, path: str, type: Optional[str] = None, /) -> None:
        """Drops the index of ``type`` on ``path`` (every index on it when None)."""

    def indexes(self) -> List[Dict[str, Any]]:
        """The payload indexes: ``[{"path": str, "type": str, "entries": int,
        "memory_bytes": int}]``."""

    # reads
    def info(self) -> Dict[str, Any]:
        """``{points, deleted, segments, mutable_points, last_lsn, checkpoint_lsn,
        wal_bytes, disk_bytes, memory_bytes, indexed_segments, pending_segments,
        index_bytes, mutable_indexed, fields}`` (ints), ``fields`` a list of ``{name,
        dim, metric, index, m, ef_construction, index_threshold, quantization, pq_m}``."""

    def count(self, filter: Optional[str] = None, /) -> int:
        """The number of live points (matching the filter)."""

    def get(self, ids: _Ids, with_: int = 1, /) -> "Result":
        """The points with these ids, in the order asked, missing ids skipped (one
        group). ``with_``: bits 1 payload, 2 vectors (positional only)."""

    def scroll(self, offset: Optional[_Id], limit: int, filter: Optional[str], with_: int, /) -> "Result":
        """One page of at most ``limit`` points in id order from ``offset`` (None: the
        start); Result.next() gives the next page's offset."""

    def query(
        self,
        vectors: _Buffer,
        k: int,
        field: Optional[str],
        filter: Optional[str],
        with_: int,
        flags: int,
        ef: int,
        threshold: Optional[float],
        offset: int,
        oversampling: float,
        decay: Optional[Tuple[int, str, float, float, float, float, float, int, float, int]] = None,
        /,
    ) -> Tuple["Result", Optional[npt.NDArray[Any]], Optional[npt.NDArray[np.float32]]]:
        """The k nearest points to each query vector: ``(Result, ids, scores)``, both
        ``(nq, k)``, padded with -1 / NaN; ids int64 and scores float32 over the
        Result's memory (their .base), or an object array of ids and a copy of the
        scores when a string id (or one above 2**63-1) occurs. ``flags``: 1 exact,
        2 no rescore, 4 ignore quantization, 8 profile, 16 explain (then ids and scores
        are None and Result.profile() holds the plan). ``ef``, ``oversampling``: 0 =
        default; ``threshold`` None = none; k, ef, offset are unsigned 32-bit.
        ``decay``: None, or a vs_decay as ``(func, key, lat, lon, scale, offset, decay,
        combine, weight, candidates)`` with func 1 linear, 2 exp, 3 gauss, combine
        0 multiply, 1 sum, candidates 0 = default (vecstore.Decay builds it); its values
        are checked by the library (InvalidArgumentError, RangeError)."""

    def nearest(
        self,
        key: str,
        lat: float,
        lon: float,
        k: int,
        max_distance: float,
        filter: Optional[str],
        with_: int,
        /,
    ) -> Tuple["Result", npt.NDArray[Any], npt.NDArray[np.float32]]:
        """The k points nearest (lat, lon) by geodesic distance of their location at
        payload path ``key`` (vs_geo_nearest): ``(Result, ids, scores)`` of shape
        ``(1, k)`` as query() returns them, scores in metres ascending. ``max_distance``
        < 0 is no limit; k is unsigned 32-bit."""

    def bench_queries(self, vectors: _Buffer, k: int, ef: int, reps: int = 1, /) -> float:
        """Seconds for ``reps`` passes of one query per row of ``vectors``, looped and
        timed in C (the baseline of bench/bench_python.py; not API)."""

# ------------------------------------------------------------------- Result --

@final  # not subclassable (no Py_TPFLAGS_BASETYPE)
class Result:
    """A query/get/scroll result held by the C library; arrays made over its memory keep
    it alive through their base object. Made only by Collection methods."""

    def groups(self) -> int:
        """The number of groups (query vectors; 1 for get and scroll)."""

    def rows(self, g: int = 0, /) -> int:
        """Rows (hits/points) of group ``g``; 0 for a group out of range."""

    def ids(self, g: int = 0, /) -> List[_Id]:
        """The ids of group ``g`` as int/str ([] for a group out of range)."""

    def id_array(self, g: int = 0, /) -> npt.NDArray[Any]:
        """The ids of a single-group result (get, scroll) as a 1-D array: int64 over the
        result's memory, or an object array when a string id (or one above 2**63-1)
        occurs. ValueError unless the result has one group and ``g`` is 0."""

    def payload(self, g: int, i: int, /) -> Optional[str]:
        """The compact JSON text of row ``i`` of group ``g``'s payload (None if not
        requested); IndexError out of range."""

    def payloads(self, g: int = 0, /) -> List[Optional[str]]:
        """Group ``g``'s payloads as JSON texts (None where not requested)."""

    def vectors(self, g: int, field_index: int, /) -> Optional[npt.NDArray[np.float32]]:
        """A ``(rows, dim)`` float32 copy of group ``g``'s stored vectors of field
        ``field_index`` (schema order; cosine vectors normalised), or None when vectors
        were not requested. IndexError for a field index out of range."""

    def next(self) -> Optional[_Id]:
        """For scroll: the offset of the next page, or None on the last page."""

    def profile(self, format: str = "json", /) -> Optional[str]:
        """The profile (or, for explain, the plan) as ``"json"``, ``"folded"``,
        ``"svg"`` or ``"text"``; None if the query was not profiled. Another format
        raises InvalidArgumentError."""

    def matrix_address(self, k: int, /) -> Union[Tuple[int, int], int]:
        """``(ids address, scores address)`` of the result's dense matrices for ``k``
        (the zero-copy test compares them with the arrays' data pointers), or the int
        0 when they cannot be made (string ids, or another k than the first call's)."""
