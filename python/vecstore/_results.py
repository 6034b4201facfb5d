"""Result types: :class:`QueryResult` (nearest neighbours), :class:`Points` (get/scroll),
and the per-row :class:`Hit` and :class:`Point`.

Results keep what the engine returned and decode lazily: ids and scores are NumPy arrays
from the start (for embedded stores, views of the C result's own memory, not copies);
payloads are JSON texts turned into dicts only when read; vectors are materialised when
asked for.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np

Id = Union[int, str]
Payload = Dict[str, Any]

_PROFILE_FORMATS = ("json", "text", "folded", "svg")


def pyid(v: Any) -> Id:
    """An id from an ids array as a Python int/str (NumPy scalars unwrapped)."""
    return v.item() if isinstance(v, np.generic) else v


def _decode(p: Any) -> Optional[Payload]:
    if p is None or isinstance(p, dict):
        return p
    return json.loads(p)


class Point:
    """One stored point: ``id``, ``payload`` (dict, decoded on first access) and ``vector``
    (a float32 array, or a dict of them for collections with several vector fields)."""

    __slots__ = ("_res", "_g", "_i", "id", "_payload", "_decoded")

    def __init__(self, res: "_RowsBase", g: int, i: int, id: Id):
        self._res = res
        self._g = g
        self._i = i
        self.id = id
        self._decoded = False
        self._payload: Optional[Payload] = None

    @property
    def payload(self) -> Optional[Payload]:
        if not self._decoded:
            self._payload = _decode(self._res._src.payload(self._g, self._i))
            self._decoded = True
        return self._payload

    @property
    def vector(self) -> Union[None, np.ndarray, Dict[str, np.ndarray]]:
        return self._res._vector_row(self._g, self._i)

    def _fields(self) -> str:
        return f"id={self.id!r}"

    def __repr__(self) -> str:
        p = self.payload
        return f"{type(self).__name__}({self._fields()}{'' if p is None else f', payload={p!r}'})"


class Hit(Point):
    """One nearest neighbour: a :class:`Point` with its ``score``, the ``query`` it answers
    and its ``rank`` (0 = best)."""

    __slots__ = ("score", "query", "rank")

    def __init__(self, res: "_RowsBase", g: int, i: int, id: Id, score: float):
        super().__init__(res, g, i, id)
        self.score = score
        self.query = g
        self.rank = i

    def _fields(self) -> str:
        return f"id={self.id!r}, score={self.score:.6g}"


class _RowsBase:
    """What QueryResult and Points share: the source rows and vectors."""

    _src: Any
    _fields_: Sequence[str]

    def _vector_row(self, g: int, i: int) -> Union[None, np.ndarray, Dict[str, np.ndarray]]:
        mats = self._vector_mats(g)
        if mats is None:
            return None
        if len(self._fields_) == 1 and self._fields_[0] == "":
            return mats[""][i]
        return {f: m[i] for f, m in mats.items()}

    def _vector_mats(self, g: int) -> Optional[Dict[str, np.ndarray]]:
        cache = self.__dict__.setdefault("_vcache", {})
        if g not in cache:
            mats = {}
            for fi, f in enumerate(self._fields_):
                m = self._src.vectors(g, fi)
                if m is None:
                    cache[g] = None
                    return None
                mats[f] = m
            cache[g] = mats
        return cache[g]

    def _frame(self, ids: Sequence[Any], g_rows: Sequence[tuple], extra: Dict[str, Sequence[Any]],
               with_vector: bool, vector_column: Optional[str]):
        import pandas as pd

        cols: Dict[str, Any] = {}
        cols.update(extra)
        cols["id"] = list(ids)
        if with_vector:
            vecs: Dict[str, List[np.ndarray]] = {}
            for g, i in g_rows:
                row = self._vector_row(g, i)
                if row is None:
                    continue
                if isinstance(row, dict):
                    for f, v in row.items():
                        vecs.setdefault(f, []).append(v)
                else:
                    vecs.setdefault(vector_column or "embedding", []).append(row)
            cols.update(vecs)
        payloads = [_decode(self._src.payload(g, i)) or {} for g, i in g_rows]
        df = pd.DataFrame(cols)
        if payloads and any(payloads):
            pdf = pd.DataFrame.from_records(payloads, index=df.index)
            pdf = pdf[[c for c in pdf.columns if c not in df.columns]]
            df = pd.concat([df, pdf], axis=1)
        return df


class QueryResult(_RowsBase):
    """The answer to :meth:`Collection.query`.

    Attributes:
        ids: ``(nq, k)`` int64 array (object array when string ids occur); where a query
            has fewer than k hits the row is padded with -1, as faiss does.
        scores: ``(nq, k)`` float32 array, padded with NaN. Cosine and dot: similarity,
            higher is better; l2: Euclidean distance, lower is better.
        nq, k: the number of queries and the k asked for.

    Iterating yields every :class:`Hit` in order (all of query 0's, then query 1's...);
    ``hits(i)`` gives one query's hits; ``payloads`` the decoded payloads per query.
    """

    def __init__(self, src: Any, ids: np.ndarray, scores: np.ndarray, k: int,
                 fields: Sequence[str], profiled: bool = False):
        self._src = src
        self.ids = ids
        self.scores = scores
        self.k = k
        self.nq = int(ids.shape[0])
        self._fields_ = fields
        self._profiled = profiled

    def rows(self, query: int = 0) -> int:
        """How many real hits query ``query`` has (<= k)."""
        return int(self._src.rows(query))

    def hits(self, query: int = 0) -> List[Hit]:
        """The hits of one query, best first."""
        if not 0 <= query < self.nq:
            raise IndexError(f"query {query} out of range (nq={self.nq})")
        n = self.rows(query)
        ids, sc = self.ids[query], self.scores[query]
        return [Hit(self, query, i, pyid(ids[i]), float(sc[i]))
                for i in range(n)]

    def __iter__(self) -> Iterator[Hit]:
        for q in range(self.nq):
            yield from self.hits(q)

    def __len__(self) -> int:
        """The number of hits over all queries."""
        return sum(self.rows(q) for q in range(self.nq))

    @property
    def payloads(self) -> List[List[Optional[Payload]]]:
        """Per query, the hits' payloads (dicts; None if not requested)."""
        return [[_decode(self._src.payload(q, i)) for i in range(self.rows(q))] for q in range(self.nq)]

    def vectors(self, query: int = 0) -> Union[None, np.ndarray, Dict[str, np.ndarray]]:
        """The hits' stored vectors for one query: a ``(rows, dim)`` float32 array (a dict
        of them for several vector fields), or None when ``with_vector`` was False."""
        mats = self._vector_mats(query)
        if mats is None:
            return None
        if len(self._fields_) == 1 and self._fields_[0] == "":
            return mats[""]
        return mats

    @property
    def profile(self) -> Optional[Dict[str, Any]]:
        """The query's profile (stage tree, Elasticsearch-shaped) when ``profile=True``."""
        if not self._profiled:
            return None
        p = self._src.profile("json")
        return json.loads(p) if isinstance(p, str) else p

    def profile_as(self, fmt: str = "text") -> Optional[str]:
        """The profile as ``"json"``, ``"text"`` (EXPLAIN ANALYZE-like), ``"folded"``
        (flamegraph.pl / speedscope input) or ``"svg"`` (a flame graph)."""
        if fmt not in _PROFILE_FORMATS:
            raise ValueError(f"profile format must be one of {_PROFILE_FORMATS}")
        if not self._profiled:
            return None
        p = self._src.profile(fmt)
        return p if p is None or isinstance(p, str) else json.dumps(p)  # remote: parsed JSON

    def to_pandas(self, with_vector: bool = True):
        """One row per hit: ``query``, ``rank``, ``id``, ``score``, the vector column(s)
        when they were fetched, then one column per top-level payload key."""
        g_rows = [(q, i) for q in range(self.nq) for i in range(self.rows(q))]
        ids = [pyid(self.ids[q, i]) for q, i in g_rows]
        extra = {"query": [q for q, _ in g_rows], "rank": [i for _, i in g_rows]}
        df = self._frame(ids, g_rows, extra, with_vector, None)
        df.insert(3, "score", [float(self.scores[q, i]) for q, i in g_rows])
        return df

    def __repr__(self) -> str:
        return f"QueryResult(nq={self.nq}, k={self.k}, hits={len(self)})"


class Points(_RowsBase):
    """Points from :meth:`Collection.get` or one page of :meth:`Collection.scroll`.

    Attributes:
        ids: 1-D array of the ids (int64; object array when string ids occur).
        next_offset: for scroll, the offset of the next page, or None on the last page.

    Iterating yields :class:`Point` objects; ``len()`` is the number of points.
    """

    def __init__(self, src: Any, ids: np.ndarray, fields: Sequence[str], next_offset: Optional[Id] = None):
        self._src = src
        self.ids = ids
        self._fields_ = fields
        self.next_offset = next_offset

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def __iter__(self) -> Iterator[Point]:
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, i: int) -> Point:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("point index out of range")
        return Point(self, 0, i, pyid(self.ids[i]))

    @property
    def payloads(self) -> List[Optional[Payload]]:
        """The points' payloads (dicts; None if not requested)."""
        return [_decode(self._src.payload(0, i)) for i in range(len(self))]

    @property
    def vectors(self) -> Union[None, np.ndarray, Dict[str, np.ndarray]]:
        """``(n, dim)`` float32 array of the stored vectors (a dict for several fields), or
        None when ``with_vector`` was False. Cosine fields store normalised vectors."""
        mats = self._vector_mats(0)
        if mats is None:
            return None
        if len(self._fields_) == 1 and self._fields_[0] == "":
            return mats[""]
        return mats

    def to_pandas(self, with_vector: bool = True, id: str = "id", vector: Optional[str] = None):
        """``id``, the vector column(s) (``embedding`` for a single unnamed field, unless
        ``vector`` names it) and one column per top-level payload key."""
        g_rows = [(0, i) for i in range(len(self))]
        ids = [pyid(v) for v in self.ids]
        df = self._frame(ids, g_rows, {}, with_vector, vector)
        return df.rename(columns={"id": id}) if id != "id" else df

    def __repr__(self) -> str:
        return f"Points(n={len(self)}, next_offset={self.next_offset!r})"
