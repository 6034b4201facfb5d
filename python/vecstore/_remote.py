"""The remote client: the same Store/Collection API over VecStore's HTTP API (the
Qdrant-compatible REST API of ``vecstore serve``), with the standard library's
``http.client`` and one keep-alive connection per thread."""
from __future__ import annotations

import http.client
import json
import math
import os
import threading
import time
import urllib.parse
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from . import _errors
from ._base import (CollectionBase, Filter, Vectors, check_k, check_u32, field_specs, id_list, points_from)
from ._geo import Decay, number
from ._results import Id, Points, QueryResult

_METRIC_TO_QDRANT = {"cosine": "Cosine", "l2": "Euclid", "dot": "Dot"}
_METRIC_FROM_QDRANT = {"Cosine": "cosine", "Euclid": "l2", "Dot": "dot"}
_STATUS_CLASS = {400: _errors.InvalidArgumentError, 401: _errors.AuthError, 403: _errors.AuthError,
                 404: _errors.NotFoundError, 409: _errors.AlreadyExistsError, 413: _errors.LimitError,
                 503: _errors.BusyError, 507: _errors.NoSpaceError}
#: Points per upsert request (bodies stay well under the server's default 32 MiB limit).
REMOTE_BATCH = 1000


def _raise_for(status: int, body: bytes) -> None:
    msg, code_name = None, None
    try:
        doc = json.loads(body)
        st = doc.get("status") if isinstance(doc, dict) else None
        if isinstance(st, dict):
            msg, code_name = st.get("error"), st.get("code")
    except ValueError:
        pass
    if msg is None:
        msg = body.decode("utf-8", "replace").strip() or http.client.responses.get(status, "error")
    cls = _errors.BY_NAME.get(code_name or "") or _STATUS_CLASS.get(status, _errors.Error)
    if code_name == "VS_EREADONLY" or (status == 403 and "read-only" in msg):
        cls = _errors.ReadOnlyError
    raise cls(msg, getattr(cls, "code", None), status)


class _Http:
    """Requests over one keep-alive connection per thread."""

    def __init__(self, url: str, api_key: Optional[str], timeout: float):
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise _errors.InvalidArgumentError(f"url must be http://host:port or https://..., got {url!r}", -1)
        self.url = url
        self._https = u.scheme == "https"
        self._host = u.hostname
        self._port = u.port or (443 if self._https else 80)
        self._prefix = u.path.rstrip("/")
        self._headers = {"api-key": api_key} if api_key else {}
        self._timeout = timeout
        self._local = threading.local()
        self._all: List[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _conn(self) -> Tuple[http.client.HTTPConnection, bool]:
        c = getattr(self._local, "conn", None)
        if c is not None:
            return c, True
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        c = cls(self._host, self._port, timeout=self._timeout)
        self._local.conn = c
        with self._lock:
            self._all.append(c)
        return c, False

    def _drop(self) -> None:
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
            self._local.conn = None

    def request(self, method: str, path: str, body: Any = None, *, raw: Optional[bytes] = None,
                content_type: str = "application/json", want_bytes: bool = False) -> Any:
        data = raw if raw is not None else (None if body is None else json.dumps(
            body, separators=(",", ":"), allow_nan=False).encode())
        headers = dict(self._headers)
        if data is not None:
            headers["Content-Type"] = content_type
        target = self._prefix + path
        for attempt in (0, 1):
            conn, reused = self._conn()
            try:
                conn.request(method, target, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                self._drop()
                # A kept-alive connection the server closed meanwhile: once more on a new one.
                if reused and attempt == 0:
                    continue
                raise _errors.ConnectionFailedError(f"{method} {self.url}{path}: {e}") from None
            except (OSError, http.client.HTTPException) as e:
                self._drop()
                raise _errors.ConnectionFailedError(f"{method} {self.url}{path}: {e}") from None
            if resp.getheader("Connection", "").lower() == "close":
                self._drop()
            if resp.status >= 400:
                _raise_for(resp.status, payload)
            if want_bytes:
                return payload
            doc = json.loads(payload) if payload else None
            return doc.get("result") if isinstance(doc, dict) and "result" in doc else doc
        raise AssertionError("unreachable")

    def request_profile(self, path: str, body: Any) -> Tuple[Any, Any]:
        """A request whose envelope also carries "profile"."""
        raw = self.request("POST", path, body, want_bytes=True)
        doc = json.loads(raw)
        return doc.get("result"), doc.get("profile")

    def close(self) -> None:
        with self._lock:
            for c in self._all:
                c.close()
            self._all.clear()
        self._local = threading.local()


def _q(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _ids_json(ids: Any) -> List[Any]:
    ids = id_list(ids)
    out = ids.tolist() if isinstance(ids, np.ndarray) else list(ids)
    for i, v in enumerate(out):
        if isinstance(v, np.integer):
            out[i] = int(v)
        elif isinstance(v, bool) or not isinstance(v, (int, str)):
            raise _errors.IdError(f"id {i}: an id must be a non-negative int or a str, got {type(v).__name__}", -5)
        elif isinstance(v, int) and v < 0:
            raise _errors.IdError(f"id {i}: a numeric id must be an integer from 0 to 2**64-1", -5)
    return out


def _filter_json(f: Filter) -> Any:
    if f is None or isinstance(f, Mapping):
        return f
    if isinstance(f, str):
        s = f.lstrip()
        if s.startswith("{"):
            try:
                return json.loads(s)
            except ValueError as e:
                raise _errors.FilterError(f"filter is not valid JSON: {e}", -7) from None
        return f  # the text syntax, which the server reads from a JSON string
    raise _errors.FilterError(f"a filter must be a dict, a str or None, not {type(f).__name__}", -7)


def _rows(m: np.ndarray, what: str) -> List[List[float]]:
    if not np.all(np.isfinite(m)):
        raise _errors.NonFiniteError(f"{what} hold NaN or infinity", -4)
    return m.tolist()


class _JsonRows:
    """The source rows of a result that came as JSON (the interface of the C Result)."""

    def __init__(self, groups: List[List[Dict[str, Any]]], fields: Sequence[str], profiles: Any = None):
        self._g = groups
        self._fields = list(fields)
        self._profiles = profiles

    def rows(self, g: int) -> int:
        return len(self._g[g]) if 0 <= g < len(self._g) else 0

    def payload(self, g: int, i: int) -> Optional[Dict[str, Any]]:
        return self._g[g][i].get("payload")

    def vectors(self, g: int, fi: int) -> Optional[np.ndarray]:
        rows = self._g[g]
        f = self._fields[fi]
        out = []
        for p in rows:
            v = p.get("vector")
            if v is None:
                return None
            if isinstance(v, dict):
                v = v.get(f)
                if v is None:
                    return None
            out.append(v)
        return np.asarray(out, dtype=np.float32).reshape(len(rows), -1)

    def profile(self, fmt: str) -> Any:
        if fmt != "json":
            raise _errors.UnsupportedError("over HTTP the profile comes as JSON only (format='json')", -18)
        return self._profiles


class RemoteCollection(CollectionBase):
    """A collection of a remote store (:func:`vecstore.connect`): the methods of
    :class:`vecstore.Collection`, over HTTP. Thread-safe (one connection per thread)."""

    def __init__(self, store: "RemoteStore", name: str, info: Dict[str, Any]):
        self._store = store
        self._http = store._http
        self.name = name
        self._path = f"/collections/{_q(name)}"
        vecs = info.get("config", {}).get("params", {}).get("vectors", {})
        self._fields = [""] if "size" in vecs else list(vecs)
        self._closed = False

    def _upsert_batch(self, ids: Any, columns: List[Tuple[Optional[str], Any]],
                      payloads: Optional[List[Any]]) -> None:
        idl = _ids_json(ids)
        n = len(idl)
        mats = []
        for f, v in columns:
            m = np.asarray(v, dtype=np.float32)
            if m.ndim == 1:
                m = m.reshape(1, -1)
            if m.ndim != 2:
                raise _errors.DimensionError("vectors must be one vector (1-D) or a matrix (2-D)", -3)
            if m.shape[0] != n:
                raise _errors.InvalidArgumentError(f"{n} ids but {m.shape[0]} vector rows", -1)
            mats.append((f, _rows(m, "vectors")))
        for start in range(0, max(n, 1), REMOTE_BATCH):
            pts = []
            for i in range(start, min(start + REMOTE_BATCH, n)):
                if len(mats) == 1 and not mats[0][0]:
                    vec: Any = mats[0][1][i]
                else:
                    vec = {f or "": m[i] for f, m in mats}
                p: Dict[str, Any] = {"id": idl[i], "vector": vec}
                if payloads is not None and payloads[i] is not None:
                    pl = payloads[i]
                    if isinstance(pl, (str, bytes)):
                        try:
                            pl = json.loads(pl)
                        except ValueError as e:
                            raise _errors.JSONError(f"payload {i}: {e}", -6) from None
                    if not isinstance(pl, Mapping):
                        raise _errors.JSONError(f"payload {i}: must be a JSON object", -6)
                    p["payload"] = pl
                pts.append(p)
            if pts:
                self._write("PUT", "/points?wait=true", {"points": pts})

    def _write(self, method: str, sub: str, body: Any) -> Any:
        try:
            return self._http.request(method, self._path + sub, body)
        except _errors.Error:
            raise
        except (TypeError, ValueError) as e:  # json.dumps: NaN, or something not JSON
            raise _errors.JSONError(f"payload is not JSON: {e}", -6) from None

    # ---------------------------------------------------------------- writes --

    def delete(self, ids: Optional[Sequence[Id]] = None, *, filter: Filter = None) -> Optional[int]:
        """Deletes points by id or by filter. Over HTTP the number deleted is not known:
        returns None."""
        if (ids is None) == (filter is None):
            raise _errors.InvalidArgumentError("give ids or filter (one of them)", -1)
        body = {"points": _ids_json(ids)} if ids is not None else {"filter": _filter_json(filter)}
        self._write("POST", "/points/delete?wait=true", body)
        return None

    def set_payload(self, ids: Sequence[Id], payload: Mapping[str, Any], *, overwrite: bool = False) -> None:
        self._write("PUT" if overwrite else "POST", "/points/payload?wait=true",
                    {"payload": dict(payload), "points": _ids_json(ids)})

    def delete_payload(self, ids: Sequence[Id], keys: Sequence[str]) -> None:
        self._write("POST", "/points/payload/delete?wait=true", {"keys": list(keys), "points": _ids_json(ids)})

    def clear_payload(self, ids: Sequence[Id]) -> None:
        self._write("POST", "/points/payload/clear?wait=true", {"points": _ids_json(ids)})

    def flush(self) -> None:
        raise _errors.UnsupportedError("flush is not part of the HTTP API (the server flushes by itself)", -18)

    def compact(self) -> None:
        raise _errors.UnsupportedError("compact is not part of the HTTP API (the server compacts by itself)", -18)

    def wait_indexed(self, timeout: Optional[float] = None) -> bool:
        """Polls the collection until its status is green (every index built)."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._http.request("GET", self._path).get("status") == "green":
                return True
            if end is not None and time.monotonic() >= end:
                return False
            time.sleep(0.05)

    def snapshot(self, path: str) -> str:
        """Has the server write a snapshot, downloads it to ``path`` and returns ``path``."""
        snap = self._http.request("POST", self._path + "/snapshots?wait=true", {})
        data = self._http.request("GET", f"{self._path}/snapshots/{_q(snap['name'])}", want_bytes=True)
        tmp = os.fspath(path) + ".part"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return os.fspath(path)

    def create_payload_index(self, path: str, type: str) -> None:
        self._write("PUT", "/index?wait=true", {"field_name": path, "field_schema": type})

    def drop_payload_index(self, path: str, type: Optional[str] = None) -> None:
        if type is not None:
            raise _errors.UnsupportedError("over HTTP an index is dropped by path (every type on it)", -18)
        self._http.request("DELETE", f"{self._path}/index/{_q(path)}?wait=true")

    def payload_indexes(self) -> List[Dict[str, Any]]:
        sch = self._http.request("GET", self._path).get("payload_schema", {})
        out = []
        for key, v in sch.items():
            path = key.rsplit(":", 1)[0] if key.endswith(":" + v.get("data_type", "")) else key
            out.append({"path": path, "type": v.get("data_type"), "entries": v.get("points"), "memory_bytes": None})
        return out

    # ----------------------------------------------------------------- reads --

    def info(self) -> Dict[str, Any]:
        """The collection as the server describes it (Qdrant's collection info, plus
        ``points``, ``fields`` and the ``vecstore`` section)."""
        r = self._http.request("GET", self._path)
        vecs = r.get("config", {}).get("params", {}).get("vectors", {})
        specs = {"": vecs} if "size" in vecs else vecs
        r["points"] = r.get("points_count")
        r["fields"] = [{"name": n, "dim": s.get("size"), "metric": _METRIC_FROM_QDRANT.get(s.get("distance"))}
                       for n, s in specs.items()]
        return r

    def count(self, filter: Filter = None) -> int:
        return int(self._http.request("POST", self._path + "/points/count",
                                      {"filter": _filter_json(filter), "exact": True})["count"])

    def get(self, ids: Sequence[Id], *, with_payload: bool = True, with_vector: bool = False) -> Points:
        pts = self._http.request("POST", self._path + "/points", {"ids": _ids_json(ids), "with_payload": with_payload,
                                                                   "with_vector": with_vector})
        return Points(_JsonRows([pts], self._fields), points_from(p["id"] for p in pts), self._fields)

    def scroll(self, *, filter: Filter = None, limit: int = 100, offset: Optional[Id] = None,
               with_payload: bool = True, with_vector: bool = False) -> Points:
        limit = check_u32("limit", limit, 1)
        body: Dict[str, Any] = {"limit": limit, "with_payload": with_payload, "with_vector": with_vector}
        if filter is not None:
            body["filter"] = _filter_json(filter)
        if offset is not None:
            body["offset"] = _ids_json([offset])[0]
        r = self._http.request("POST", self._path + "/points/scroll", body)
        pts = r["points"]
        return Points(_JsonRows([pts], self._fields), points_from(p["id"] for p in pts), self._fields,
                      r.get("next_page_offset"))

    def query(self, vectors: Vectors, k: int = 10, *, filter: Filter = None, ef: Optional[int] = None,
              with_payload: bool = True, with_vector: bool = False, profile: bool = False,
              using: Optional[str] = None, exact: bool = False, score_threshold: Optional[float] = None,
              offset: int = 0, oversampling: Optional[float] = None, rescore: bool = True,
              ignore_quantization: bool = False, decay: Optional[Decay] = None) -> QueryResult:
        """As :meth:`vecstore.Collection.query`; one request per call (a batch is one
        ``/points/search/batch``). With ``decay`` the request is Qdrant's Query API
        formula (``/points/query``, a batch ``/points/query/batch``): a prefetch holding
        the vector query, rescored by ``{"sum" | "mult": ["$score", DECAY]}``."""
        k = check_k(k)
        ef = check_u32("ef", ef or 0)
        offset = check_u32("offset", offset)
        q = np.asarray(vectors, dtype=np.float32)
        if q.ndim == 1:
            q = q.reshape(1, -1)
        if q.ndim != 2:
            raise _errors.DimensionError("query vectors must be one vector (1-D) or a matrix (2-D)", -3)
        if q.shape[0] == 0:
            raise _errors.InvalidArgumentError("no query vectors (0 rows)", -1)
        params: Dict[str, Any] = {"exact": bool(exact)}
        if ef:
            params["hnsw_ef"] = int(ef)
        if oversampling or not rescore or ignore_quantization:
            params["quantization"] = {"ignore": bool(ignore_quantization), "rescore": bool(rescore),
                                      **({"oversampling": float(oversampling)} if oversampling else {})}
        flt = _filter_json(filter)
        if decay is not None and not isinstance(decay, Decay):
            raise _errors.InvalidArgumentError(f"decay must be a vecstore.Decay, got {type(decay).__name__}", -1)
        formula = decay._formula() if decay is not None else None
        searches = []
        for row in _rows(q, "query vectors"):
            s: Dict[str, Any] = {"limit": k, "with_payload": with_payload, "with_vector": with_vector,
                                 "params": params}
            if formula is None:
                s["vector"] = {"name": using, "vector": row} if using else row
            else:
                pf: Dict[str, Any] = {"query": row}
                if using:
                    pf["using"] = using
                if decay.candidates:  # type: ignore[union-attr]
                    pf["limit"] = decay.candidates  # type: ignore[union-attr]
                s["prefetch"] = pf
                s["query"] = {"formula": formula}
            if flt is not None:
                s["filter"] = flt
            if score_threshold is not None:
                s["score_threshold"] = float(score_threshold)
            if offset:
                s["offset"] = int(offset)
            searches.append(s)
        route = "/points/search" if formula is None else "/points/query"
        prof = None
        if len(searches) == 1:
            body = dict(searches[0], **({"profile": True} if profile else {}))
            if profile:
                res, prof = self._http.request_profile(self._path + route, body)
            else:
                res = self._http.request("POST", self._path + route, body)
            groups = [res]
        else:
            body = {"searches": searches, **({"profile": True} if profile else {})}
            if profile:
                groups, prof = self._http.request_profile(self._path + route + "/batch", body)
            else:
                groups = self._http.request("POST", self._path + route + "/batch", body)
        if formula is not None:  # /points/query answers {"points": [...]} per query
            groups = [g["points"] for g in groups]
        return self._scored(groups, k, prof, profile, len(searches) == 1)

    def nearest(self, key: str, lat: float, lon: float, k: int = 10, *, max_distance: Optional[float] = None,
                filter: Filter = None, with_payload: bool = True, with_vector: bool = False) -> QueryResult:
        """As :meth:`vecstore.Collection.nearest`: Qdrant's formula ``{"neg":
        {"geo_distance": …}}`` on ``/points/query`` (whose scores, −metres, are turned
        back into distances)."""
        k = check_k(k)
        if not isinstance(key, str):
            raise _errors.InvalidArgumentError(f"key must be a str, got {type(key).__name__}", -1)
        lat, lon = number("lat", lat), number("lon", lon)
        if not (math.isfinite(lat) and math.isfinite(lon)):  # JSON has no NaN/inf
            raise _errors.InvalidArgumentError(f"origin ({lat}, {lon}): a coordinate is not finite", -1)
        body: Dict[str, Any] = {
            "query": {"formula": {"neg": {"geo_distance": {"origin": {"lat": lat, "lon": lon}, "to": key}}}},
            "limit": k, "with_payload": with_payload, "with_vector": with_vector}
        if max_distance is not None:
            md = number("max_distance", max_distance)
            if not md >= 0:
                raise _errors.InvalidArgumentError(
                    f"max_distance must be a number of metres >= 0, got {max_distance!r}", -1)
            if math.isfinite(md):
                body["score_threshold"] = -md
        flt = _filter_json(filter)
        if flt is not None:
            body["filter"] = flt
        pts = self._http.request("POST", self._path + "/points/query", body)["points"]
        for p in pts:
            p["score"] = -p["score"] if p["score"] else 0.0
        return self._scored([pts], k, None, False, True)

    def _scored(self, groups: List[List[Dict[str, Any]]], k: int, prof: Any, profile: bool,
                single: bool) -> QueryResult:
        """A QueryResult from groups of scored points (JSON), padded to k as the C one is."""
        nq = len(groups)
        flat = [p["id"] for g in groups for p in g]
        numeric = all(isinstance(i, int) and 0 <= i < 2**63 for i in flat)
        ids = np.full((nq, k), -1, dtype=np.int64 if numeric else object)
        scores = np.full((nq, k), np.nan, dtype=np.float32)
        for gi, g in enumerate(groups):
            for i, p in enumerate(g[:k]):
                ids[gi, i] = p["id"]
                scores[gi, i] = p["score"]
        if prof is not None and single and isinstance(prof, list):
            prof = prof[0]
        return QueryResult(_JsonRows(groups, self._fields, prof), ids, scores, k, self._fields, profile)

    def close(self) -> None:
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed


class RemoteStore:
    """A store served by ``vecstore serve`` (or anything speaking its HTTP API), with the
    methods of :class:`vecstore.Store`. Thread-safe."""

    def __init__(self, url: str = "http://127.0.0.1:6333", api_key: Optional[str] = None, timeout: float = 60.0):
        self._http = _Http(url, api_key, timeout)
        self.url = url

    def create_collection(self, name: str, dim: Optional[int] = None, metric: str = "cosine",
                          index: str = "hnsw", *, vectors: Optional[Mapping[str, Any]] = None,
                          m: Optional[int] = None, ef_construction: Optional[int] = None,
                          index_threshold: Optional[int] = None, quantization: Optional[str] = None,
                          pq_m: Optional[int] = None, exist_ok: bool = False) -> RemoteCollection:
        """As :meth:`vecstore.Store.create_collection`, as a Qdrant collection config."""
        specs = field_specs(dim, metric, index, vectors, m, ef_construction, index_threshold, quantization, pq_m)
        cfgs = {}
        for s in specs:
            if s["metric"] not in _METRIC_TO_QDRANT:
                raise _errors.InvalidArgumentError(f"unknown metric {s['metric']!r} (cosine, l2, dot)", -1)
            c: Dict[str, Any] = {"size": int(s["dim"]), "distance": _METRIC_TO_QDRANT[s["metric"]]}
            h: Dict[str, Any] = {}
            if s["index"] == "flat":
                h["m"] = 0
            elif s["m"]:
                h["m"] = int(s["m"])
            if s["ef_construction"]:
                h["ef_construct"] = int(s["ef_construction"])
            if s["index_threshold"]:
                h["full_scan_threshold"] = max(1, math.ceil(int(s["index_threshold"]) * int(s["dim"]) * 4 / 1024))
            if h:
                c["hnsw_config"] = h
            qt = s["quantization"]
            if qt == "int8":
                c["quantization_config"] = {"scalar": {"type": "int8"}}
            elif qt == "binary":
                c["quantization_config"] = {"binary": {}}
            elif qt == "pq":
                x = int(s["dim"]) * 4 // max(int(s["pq_m"]), 1) if s["pq_m"] else 16
                if x not in (4, 8, 16, 32, 64):
                    raise _errors.UnsupportedError("over HTTP, pq_m must make dim*4/pq_m one of 4, 8, 16, 32, 64", -18)
                c["quantization_config"] = {"product": {"compression": f"x{x}"}}
            cfgs[s["name"]] = c
        body = {"vectors": cfgs[""] if list(cfgs) == [""] else cfgs}
        try:
            self._http.request("PUT", f"/collections/{_q(name)}", body)
        except _errors.AlreadyExistsError:
            if not exist_ok:
                raise
        return self.get_collection(name)

    def get_or_create_collection(self, name: str, dim: Optional[int] = None, **kw: Any) -> RemoteCollection:
        return self.create_collection(name, dim, exist_ok=True, **kw)

    def get_collection(self, name: str) -> RemoteCollection:
        return RemoteCollection(self, name, self._http.request("GET", f"/collections/{_q(name)}"))

    def __getitem__(self, name: str) -> RemoteCollection:
        return self.get_collection(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(
            self._http.request("GET", f"/collections/{_q(name)}/exists").get("exists"))

    def list_collections(self) -> List[str]:
        return sorted(c["name"] for c in self._http.request("GET", "/collections")["collections"])

    def drop_collection(self, name: str) -> None:
        self._http.request("DELETE", f"/collections/{_q(name)}")

    def restore_snapshot(self, path: str, name: Optional[str] = None) -> RemoteCollection:
        """Uploads a snapshot archive and restores it as collection ``name`` (required
        over HTTP: the upload route is per collection)."""
        if not name:
            raise _errors.InvalidArgumentError("restore_snapshot over HTTP needs the collection name", -1)
        with open(path, "rb") as f:
            data = f.read()
        self._http.request("POST", f"/collections/{_q(name)}/snapshots/upload?wait=true", raw=data,
                           content_type="application/octet-stream")
        return self.get_collection(name)

    def close(self) -> None:
        """Closes this client's connections."""
        self._http.close()

    def __enter__(self) -> "RemoteStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"vecstore.RemoteStore({self.url!r})"


def connect(url: str = "http://127.0.0.1:6333", api_key: Optional[str] = None, timeout: float = 60.0) -> RemoteStore:
    """A client for the store served at ``url`` (``vecstore serve``): the same API as an
    embedded store. ``api_key`` is sent as the ``api-key`` header."""
    return RemoteStore(url, api_key, timeout)
