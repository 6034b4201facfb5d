"""Geo: the geodesic distance, and :class:`Decay`, the distance decay a hybrid query
blends into the vector score (``Collection.query(..., decay=Decay(...))``).

The embedded store hands a Decay to the library as a ``vs_decay``; the remote client
writes it as the Qdrant Query API formula the server runs (a prefetch holding the vector
query, then ``{"sum" | "mult": ["$score", DECAY]}``), so both answer the same.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import numpy as np

from . import _errors, _vecstore

_FUNCS = {"linear": 1, "exp": 2, "gauss": 3}
_QDRANT_FUNCS = {"linear": "lin_decay", "exp": "exp_decay", "gauss": "gauss_decay"}
_COMBINES = {"multiply": 0, "sum": 1}


def geo_distance(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The geodesic distance in metres between two points on the WGS84 ellipsoid
    (degrees; lat -90..90, lon -180..180, else :class:`InvalidArgumentError`)."""
    return _vecstore.geo_distance(number("lat1", lat1), number("lon1", lon1), number("lat2", lat2),
                                  number("lon2", lon2))


def number(name: str, v: Any) -> float:
    """A real number argument as a float (bools and non-numbers refused)."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise _errors.InvalidArgumentError(f"{name} must be a number, got {v!r}", -1)
    return float(v)


@dataclass(frozen=True)
class Decay:
    """A distance decay for hybrid geo + vector ranking (``vs_decay``).

    Each point gets a term ``t`` in [0, 1] from its geodesic distance ``d`` to
    (``lat``, ``lon``), with ``d' = max(0, d - offset)``:

    - ``"gauss"``: ``t = decay ** ((d' / scale) ** 2)``
    - ``"exp"``: ``t = decay ** (d' / scale)``
    - ``"linear"``: ``t = max(0, 1 - d' * (1 - decay) / scale)``

    so ``t = 1`` within ``offset`` metres and ``t = decay`` at ``offset + scale``. A point
    without a location at ``key`` has ``t = 0``. The term combines with the vector score
    ``s``: ``"multiply"`` gives ``s * t`` for cosine/dot (``s / t`` when ``s < 0``) and
    ``s / t`` for l2; ``"sum"`` gives ``s + weight * t`` (l2: ``s - weight * t``). The hits
    come back best first with the combined score.

    Args:
        key: payload path of the locations (``{"lat": …, "lon": …}`` objects).
        lat, lon: the origin, in degrees.
        scale: metres beyond ``offset`` at which ``t = decay`` (> 0).
        func: ``"gauss"`` (default), ``"exp"`` or ``"linear"``.
        offset: metres within which ``t = 1`` (>= 0).
        decay: ``t`` at ``offset + scale``, strictly between 0 and 1 (Qdrant's midpoint).
        combine: ``"multiply"`` (default) or ``"sum"``.
        weight: the weight of ``t`` with ``"sum"``.
        candidates: the window of vector hits rescored first (default ``max(5 * (k +
            offset), 50)``; Qdrant's prefetch limit); the ranking is exact beyond it
            (docs/geo.md, "Hybrid").
    """

    key: str
    lat: float
    lon: float
    scale: float
    func: str = "gauss"
    offset: float = 0.0
    decay: float = 0.5
    combine: str = "multiply"
    weight: float = 1.0
    candidates: Optional[int] = None

    def __post_init__(self) -> None:
        # Types and names are checked here; the ranges by the library (or the server), so
        # embedded and remote stores refuse the same values with the same messages.
        if not isinstance(self.key, str) or not self.key:
            raise _errors.InvalidArgumentError(f"Decay.key must be a non-empty str, got {self.key!r}", -1)
        if self.func not in _FUNCS:
            raise _errors.InvalidArgumentError(f"Decay.func must be 'gauss', 'exp' or 'linear', got {self.func!r}", -1)
        if self.combine not in _COMBINES:
            raise _errors.InvalidArgumentError(f"Decay.combine must be 'multiply' or 'sum', got {self.combine!r}", -1)
        for f in ("lat", "lon", "scale", "offset", "decay", "weight"):
            object.__setattr__(self, f, number(f"Decay.{f}", getattr(self, f)))
        c = self.candidates
        if c is not None:
            if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 1:
                raise _errors.InvalidArgumentError(f"Decay.candidates must be a positive int or None, got {c!r}", -1)
            if c > _vecstore.K_MAX:
                raise _errors.RangeError(f"Decay.candidates = {c} exceeds {_vecstore.K_MAX}", -19)
            object.__setattr__(self, "candidates", int(c))

    def _c_args(self) -> Tuple[int, str, float, float, float, float, float, int, float, int]:
        """The tuple the extension's query() takes."""
        return (_FUNCS[self.func], self.key, self.lat, self.lon, self.scale, self.offset, self.decay,
                _COMBINES[self.combine], self.weight, self.candidates or 0)

    def _formula(self) -> Dict[str, Any]:
        """Qdrant's formula for this decay (the server maps it back to a vs_decay)."""
        for f in ("lat", "lon", "scale", "offset", "decay", "weight"):
            if not math.isfinite(getattr(self, f)):  # JSON has no NaN/inf: say it as the library would
                raise _errors.InvalidArgumentError(f"decay: {f} must be a finite number", -1)
        dec = {_QDRANT_FUNCS[self.func]: {
            "x": {"geo_distance": {"origin": {"lat": self.lat, "lon": self.lon}, "to": self.key}},
            "scale": self.scale, "midpoint": self.decay, "offset": self.offset}}
        if self.combine == "multiply":
            return {"mult": ["$score", dec]}
        return {"sum": ["$score", dec if self.weight == 1.0 else {"mult": [self.weight, dec]}]}
