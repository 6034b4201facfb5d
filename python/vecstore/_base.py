"""What the embedded and the remote collection share: argument handling, batching with a
progress bar, Pandas import/export, and the store-level collection options."""
from __future__ import annotations

import datetime as _dt
import json
import math
import threading
from typing import (Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union)

import numpy as np

from . import _errors
from ._results import Id, Payload, Points, QueryResult, pyid

Filter = Union[None, str, Mapping[str, Any]]
Vectors = Union[np.ndarray, Sequence[Sequence[float]], Mapping[str, Any]]

#: Batch size of upserts that show a progress bar (and of remote upserts).
PROGRESS_BATCH = 10_000

WITH_PAYLOAD = 1
WITH_VECTOR = 2
Q_EXACT, Q_NO_RESCORE, Q_IGNORE_QUANT, Q_PROFILE, Q_EXPLAIN = 1, 2, 4, 8, 16


def filter_text(f: Filter) -> Optional[str]:
    """A filter as the engine takes it: JSON text for a dict (Qdrant's filter structure),
    a str as it is (the text syntax, or JSON text), None for no filter."""
    if f is None:
        return None
    if isinstance(f, str):
        return f
    if isinstance(f, Mapping):
        try:
            return json.dumps(f, allow_nan=False, separators=(",", ":"), default=_json_default)
        except (TypeError, ValueError) as e:
            raise _errors.FilterError(f"filter is not JSON-serialisable: {e}", -7) from None
    raise _errors.FilterError(f"a filter must be a dict, a str or None, not {type(f).__name__}", -7)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, _dt.datetime):
        if o.tzinfo is None:
            o = o.replace(tzinfo=_dt.timezone.utc)
        return o.isoformat()
    if isinstance(o, _dt.date):
        return o.isoformat()
    if hasattr(o, "isoformat"):  # pandas.Timestamp
        return _json_default(o.to_pydatetime())
    raise TypeError(f"{type(o).__name__} is not JSON-serialisable")


def payload_text(p: Any, i: int) -> Optional[str]:
    """One payload as JSON text (dict → JSON; str passed as JSON text; None → {})."""
    if p is None or isinstance(p, (str, bytes)):
        return p
    if not isinstance(p, Mapping):
        raise _errors.JSONError(f"payload {i}: must be a dict, got {type(p).__name__}", -6)
    try:
        return json.dumps(p, allow_nan=False, separators=(",", ":"), default=_json_default)
    except (TypeError, ValueError) as e:
        raise _errors.JSONError(f"payload {i}: {e}", -6) from None


def with_bits(with_payload: bool, with_vector: bool) -> int:
    return (WITH_PAYLOAD if with_payload else 0) | (WITH_VECTOR if with_vector else 0)


K_MAX = 100_000


def check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise _errors.InvalidArgumentError(f"k must be a positive int, got {k!r}", -1)
    if k > K_MAX:
        raise _errors.RangeError(f"k = {k} exceeds the limit of {K_MAX}", -19)
    return int(k)


def check_u32(name: str, v: Any, lo: int = 0) -> int:
    """A count or size argument: an int from lo to 2**32-1 (checked here, so that it never
    wraps on its way into C)."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise _errors.InvalidArgumentError(f"{name} must be an int >= {lo}, got {v!r}", -1)
    if v > 0xFFFFFFFF:
        raise _errors.RangeError(f"{name} = {v} is out of range", -19)
    return int(v)


def id_list(ids: Any) -> Any:
    """A single id becomes a one-element list; sequences and arrays pass unchanged."""
    if isinstance(ids, (int, str, np.integer)) and not isinstance(ids, bool):
        return [ids]
    return ids


def _row_dict(row: Mapping[str, Any]) -> Dict[str, Any]:
    """A DataFrame row as a payload: missing values (None, NaN, NaT) are left out, so they
    are missing in the payload too, and NumPy/Pandas scalars become JSON values."""
    out = {}
    for k, v in row.items():
        if v is None:
            continue
        if isinstance(v, float) and math.isnan(v):
            continue
        if getattr(v, "__class__", None).__name__ == "NaTType":
            continue
        out[str(k)] = v
    return out


class CollectionBase:
    """The collection API common to embedded and remote collections (see the subclasses
    for the transport)."""

    name: str
    _fields: List[str]

    # Implemented by the subclasses (one batch, no progress bar).
    def _upsert_batch(self, ids: Any, columns: List[Tuple[Optional[str], Any]],
                      payloads: Optional[List[Any]]) -> None:
        raise NotImplementedError

    def _as_matrix(self, v: Any) -> Any:
        return np.ascontiguousarray(v, dtype=np.float32)

    # ---------------------------------------------------------------- writes --

    def upsert(self, ids: Sequence[Id], vectors: Vectors, payloads: Optional[Sequence[Any]] = None,
               *, progress: bool = False, batch_size: Optional[int] = None,
               _cancel: Optional[threading.Event] = None) -> int:
        """Inserts or replaces points; returns how many were written.

        Args:
            ids: a sequence or integer array of ids (non-negative ints < 2**64, or str of
                1..256 bytes). A repeated id: the last one wins.
            vectors: an ``(n, dim)`` array (or one ``(dim,)`` vector for one id) for the
                collection's vector field; for several fields a dict ``{field: array}``.
                C-contiguous float32 arrays are read in place (zero copy); anything else
                is converted once.
            payloads: None, or one dict (or JSON text, or None) per point.
            progress: show a tqdm progress bar (batches of 10,000).
            batch_size: write in batches of this many points. Without it (and without
                progress) the call is one batch: all-or-nothing. With batches, each batch
                is all-or-nothing and a failure leaves the earlier ones written.
        """
        if isinstance(ids, (int, str)):
            raise _errors.InvalidArgumentError("ids must be a sequence of ids (for one point: [id])", -1)
        n = len(ids)
        if payloads is not None:
            if isinstance(payloads, (Mapping, str)):
                raise _errors.InvalidArgumentError("payloads must be a sequence with one entry per point", -1)
            if len(payloads) != n:
                raise _errors.InvalidArgumentError(f"{n} ids but {len(payloads)} payloads", -1)
        cols = list(vectors.items()) if isinstance(vectors, Mapping) else [(None, vectors)]
        if batch_size is None and progress:
            batch_size = PROGRESS_BATCH
        if batch_size is None or n <= batch_size:
            if not progress:
                self._upsert_batch(ids, cols, None if payloads is None else list(payloads))
                return n
            batch_size = max(n, 1)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise _errors.InvalidArgumentError("batch_size must be positive", -1)
        cols = [(f, self._as_matrix(v)) for f, v in cols]
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=n, unit="pts", desc=f"upsert {self.name}")
        try:
            done = 0
            while done < n:
                if _cancel is not None and _cancel.is_set():
                    break
                end = min(done + batch_size, n)
                self._upsert_batch(ids[done:end], [(f, v[done:end]) for f, v in cols],
                                   None if payloads is None else list(payloads[done:end]))
                if bar is not None:
                    bar.update(end - done)
                done = end
            return done
        finally:
            if bar is not None:
                bar.close()

    # ---------------------------------------------------------------- pandas --

    def upsert_df(self, df: Any, id: str = "id", vector: Union[str, Mapping[str, str]] = "embedding",
                  payload: Optional[Sequence[str]] = None, *, progress: bool = False,
                  batch_size: Optional[int] = None, _cancel: Optional[threading.Event] = None) -> int:
        """Upserts the rows of a DataFrame.

        Args:
            df: a ``pandas.DataFrame``.
            id: the column of ids.
            vector: the column holding each row's vector (arrays or lists); for several
                vector fields a dict ``{field: column}``.
            payload: the columns that make up the payload (default: every other column).
                Missing values (None/NaN/NaT) are left out of the payload; timestamps
                become RFC 3339 strings (UTC when naive), which datetime filters read.
        """
        vcols = dict(vector) if isinstance(vector, Mapping) else {"": vector}
        for c in [id, *vcols.values()]:
            if c not in df.columns:
                raise _errors.InvalidArgumentError(f"DataFrame has no column {c!r}", -1)
        if payload is None:
            payload = [c for c in df.columns if c != id and c not in vcols.values()]
        missing = [c for c in payload if c not in df.columns]
        if missing:
            raise _errors.InvalidArgumentError(f"DataFrame has no column(s) {missing}", -1)
        idcol = df[id]
        ids = idcol.to_numpy() if idcol.dtype.kind in "iu" else [
            pyid(v) for v in idcol.tolist()]
        vecs = {}
        for f, c in vcols.items():
            col = df[c].to_numpy()
            vecs[f] = np.stack([np.asarray(v, dtype=np.float32) for v in col]) if len(col) else \
                np.zeros((0, 1), np.float32)
        payloads = None
        if payload:
            recs = df[list(payload)].to_dict("records")
            payloads = [_row_dict(r) for r in recs]
        v: Any = vecs[""] if list(vecs) == [""] else vecs
        return self.upsert(ids, v, payloads, progress=progress, batch_size=batch_size, _cancel=_cancel)

    def to_pandas(self, filter: Filter = None, *, with_vector: bool = True, with_payload: bool = True,
                  id: str = "id", vector: str = "embedding", page_size: int = 10_000):
        """Every point (matching ``filter``) as a DataFrame in id order: the ``id`` column,
        the vector column (``embedding``, as :meth:`upsert_df` reads by default; one
        column per field, named after it, for several fields) and one column per
        top-level payload key. Round-trips :meth:`upsert_df` exactly for a frame in id
        order without missing values or timestamps (cosine fields store normalised
        vectors, so those come back normalised)."""
        import pandas as pd

        frames = []
        offset = None
        while True:
            page = self.scroll(filter=filter, limit=page_size, offset=offset, with_payload=with_payload,
                               with_vector=with_vector)
            frames.append(page.to_pandas(with_vector=with_vector, id=id, vector=vector))
            offset = page.next_offset
            if offset is None:
                break
        if len(frames) == 1:
            return frames[0]
        return pd.concat(frames, ignore_index=True)

    def scroll(self, *, filter: Filter = None, limit: int = 100, offset: Optional[Id] = None,
               with_payload: bool = True, with_vector: bool = False) -> Points:
        raise NotImplementedError

    def count(self, filter: Filter = None) -> int:
        raise NotImplementedError

    def __len__(self) -> int:
        return self.count()

    def iter_points(self, *, filter: Filter = None, with_payload: bool = True, with_vector: bool = False,
                    page_size: int = 1000):
        """Every point (matching filter) in id order, a page at a time."""
        offset = None
        while True:
            page = self.scroll(filter=filter, limit=page_size, offset=offset, with_payload=with_payload,
                               with_vector=with_vector)
            yield from page
            offset = page.next_offset
            if offset is None:
                return

    @property
    def fields(self) -> List[str]:
        """The vector field names in schema order ("" is the single unnamed field)."""
        return list(self._fields)

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def field_specs(dim: Optional[int], metric: str, index: str, vectors: Optional[Mapping[str, Any]],
                m: Optional[int], ef_construction: Optional[int], index_threshold: Optional[int],
                quantization: Optional[str], pq_m: Optional[int]) -> List[Dict[str, Any]]:
    """The vector fields of a new collection, each a dict of its options.

    Either ``dim`` (one unnamed field) or ``vectors={name: dim or {dim, metric, index, m,
    ef_construction, index_threshold, quantization, pq_m}}``; the keyword arguments are
    the defaults of every field."""
    base = {"metric": metric, "index": index, "m": m or 0, "ef_construction": ef_construction or 0,
            "index_threshold": index_threshold or 0, "quantization": quantization or "none",
            "pq_m": pq_m or 0}
    if (dim is None) == (vectors is None):
        raise _errors.InvalidArgumentError("give either dim (one vector field) or vectors={name: ...}", -1)
    specs = []
    if vectors is None:
        specs.append({"name": "", "dim": dim, **base})
    else:
        for name, spec in vectors.items():
            s = dict(base)
            if isinstance(spec, Mapping):
                unknown = set(spec) - set(base) - {"dim"}
                if unknown:
                    raise _errors.InvalidArgumentError(f"vector field {name!r}: unknown option(s) {sorted(unknown)}", -1)
                s.update({k: v for k, v in spec.items() if v is not None})
                s.setdefault("dim", None)
            else:
                s["dim"] = spec
            s["name"] = name
            specs.append(s)
    for s in specs:
        d = s["dim"]
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise _errors.InvalidArgumentError(f"vector field {s['name']!r}: dim must be a positive int, got {d!r}", -1)
        if s["index"] not in ("flat", "hnsw"):
            raise _errors.InvalidArgumentError(f"index must be 'flat' or 'hnsw', got {s['index']!r}", -1)
        if s["quantization"] not in ("none", "int8", "pq", "binary"):
            raise _errors.InvalidArgumentError(
                f"quantization must be None, 'int8', 'pq' or 'binary', got {s['quantization']!r}", -1)
    return specs


def points_from(ids: Iterable[Any]) -> np.ndarray:
    """An id array as results hold them: int64 when every id is an int that fits, else
    an object array."""
    lst = list(ids)
    if all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 2**63 for i in lst):
        return np.array(lst, dtype=np.int64)
    out = np.empty(len(lst), dtype=object)
    out[:] = lst
    return out
