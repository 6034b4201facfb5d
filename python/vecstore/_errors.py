"""Exceptions: one class per VecStore error code, all subclasses of :class:`Error`.

The embedded library raises them from the C codes (``include/vecstore.h``); the remote
client raises the same classes from the ``status.code`` of the server's error answers
(and from the HTTP status where the server found the problem itself), so code written
against one works against the other. Classes that describe bad input are also
:class:`ValueError`, lookups that fail are also :class:`LookupError`.
"""
from __future__ import annotations

from typing import Dict, Optional, Type


class Error(Exception):
    """Base class of every VecStore error.

    Attributes:
        message: the specific message from the library (or server).
        code: the VecStore error code (a negative int, ``VS_E*``), or None when the error
            did not come from the library (e.g. a remote connection failure).
        name: the code's symbolic name (``"VS_EDIM"``), or None.
        status: the HTTP status, for errors from a remote server; else None.
    """

    code: Optional[int] = None

    def __init__(self, message: str, code: Optional[int] = None, status: Optional[int] = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.status = status

    @property
    def name(self) -> Optional[str]:
        return _NAME_BY_CODE.get(self.code) if self.code is not None else None

    def __str__(self) -> str:
        return self.message


class InvalidArgumentError(Error, ValueError):
    """An argument is not valid (VS_EINVAL)."""
    code = -1


class OutOfMemoryError(Error, MemoryError):
    """The library could not allocate memory (VS_ENOMEM)."""
    code = -2


class DimensionError(Error, ValueError):
    """A vector's dimension does not match its field (VS_EDIM)."""
    code = -3


class NonFiniteError(Error, ValueError):
    """A vector holds NaN or infinity (VS_EVALUE)."""
    code = -4


class IdError(Error, ValueError):
    """An id is not a non-negative int below 2**64 or a 1..256-byte string (VS_EID)."""
    code = -5


class JSONError(Error, ValueError):
    """A payload is not valid JSON or not an object (VS_EJSON)."""
    code = -6


class FilterError(Error, ValueError):
    """A filter is not valid; the message says where (VS_EFILTER)."""
    code = -7


class NotFoundError(Error, LookupError):
    """A collection, field, point or index does not exist (VS_ENOTFOUND)."""
    code = -8


class AlreadyExistsError(Error):
    """A collection of that name exists (VS_EEXIST)."""
    code = -9


class CorruptError(Error):
    """Stored data failed its checksum or does not parse (VS_ECORRUPT)."""
    code = -10


class StorageIOError(Error, OSError):
    """An I/O operation failed (VS_EIO)."""
    code = -11


class NoSpaceError(Error, OSError):
    """The disk is full (VS_ENOSPC)."""
    code = -12


class BusyError(Error):
    """Another process holds the store for writing, or a wait timed out (VS_EBUSY)."""
    code = -13


class ReadOnlyError(Error):
    """A write on a store opened read-only (or a read-only API key) (VS_EREADONLY)."""
    code = -14


class VersionError(Error):
    """The files are of a format version this build does not read (VS_EVERSION)."""
    code = -15


class NotAStoreError(Error):
    """The directory is not a VecStore store (VS_ENOTSTORE)."""
    code = -16


class FatalError(Error):
    """The store failed earlier (e.g. a failed fsync) and must be reopened (VS_EFATAL)."""
    code = -17


class UnsupportedError(Error):
    """Not supported by this build or this kind of connection (VS_EUNSUPPORTED)."""
    code = -18


class RangeError(Error, ValueError):
    """A value is outside its allowed range (VS_ERANGE)."""
    code = -19


class InvalidNameError(Error, ValueError):
    """A collection or field name is not valid (VS_ENAME)."""
    code = -20


class FormatError(Error, ValueError):
    """A file (e.g. a snapshot) is not in the expected format (VS_EFORMAT)."""
    code = -21


class LimitError(Error):
    """A resource limit was reached (e.g. a regex's match limit) (VS_ELIMIT)."""
    code = -22


class AuthError(Error, PermissionError):
    """The server refused the API key (HTTP 401/403 without a library code)."""


class ConnectionFailedError(Error, ConnectionError):
    """The server could not be reached or broke the connection."""


BY_CODE: Dict[int, Type[Error]] = {
    cls.code: cls  # type: ignore[misc]
    for cls in (InvalidArgumentError, OutOfMemoryError, DimensionError, NonFiniteError, IdError,
                JSONError, FilterError, NotFoundError, AlreadyExistsError, CorruptError,
                StorageIOError, NoSpaceError, BusyError, ReadOnlyError, VersionError,
                NotAStoreError, FatalError, UnsupportedError, RangeError, InvalidNameError,
                FormatError, LimitError)
}

_NAME_BY_CODE: Dict[int, str] = {
    0: "VS_OK", -1: "VS_EINVAL", -2: "VS_ENOMEM", -3: "VS_EDIM", -4: "VS_EVALUE", -5: "VS_EID",
    -6: "VS_EJSON", -7: "VS_EFILTER", -8: "VS_ENOTFOUND", -9: "VS_EEXIST", -10: "VS_ECORRUPT",
    -11: "VS_EIO", -12: "VS_ENOSPC", -13: "VS_EBUSY", -14: "VS_EREADONLY", -15: "VS_EVERSION",
    -16: "VS_ENOTSTORE", -17: "VS_EFATAL", -18: "VS_EUNSUPPORTED", -19: "VS_ERANGE",
    -20: "VS_ENAME", -21: "VS_EFORMAT", -22: "VS_ELIMIT",
}

BY_NAME: Dict[str, Type[Error]] = {_NAME_BY_CODE[c]: cls for c, cls in BY_CODE.items()}
