"""The base class for backend plug-ins, with fallback to the reference for missing primitives.

A chip plug-in subclasses :class:`Backend`, sets ``name``, ``version`` and ``ndarray`` (its
native array type) and defines the primitives it implements, as plain attributes or
``staticmethod``\\ s, exactly as :class:`~framework.backend.numpy_backend.NumpyBackend` does.
Any documented primitive it does not define still works: the call runs on the reference NumPy
backend, with the plug-in's arrays converted through ``to_numpy``/``from_numpy`` both ways.
The first call of each missing primitive warns (:class:`FallbackWarning`) and every call is
counted in :func:`fallback_report`.

>>> import numpy as np
>>> from framework.backend import Backend
>>> class Tiny(Backend):
...     name = "tiny"
...     add = np.add
>>> Tiny().multiply(np.ones(2), np.ones(2))      # falls back to the reference, warns once
array([1., 1.])
"""

from __future__ import annotations

import threading
import warnings
from collections import defaultdict
from typing import Any

import numpy as np

from .numpy_backend import NumpyBackend
from .primitives import PRIMITIVES

__all__ = ["Backend", "FallbackWarning", "fallback_report", "reset_fallback_report"]


class FallbackWarning(RuntimeWarning):
    """A backend lacks a primitive, so the reference NumPy backend ran it instead."""


_counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
_warned: set[tuple[str, str]] = set()
_lock = threading.Lock()
_REFERENCE = NumpyBackend()


def fallback_report() -> dict[str, dict[str, int]]:
    """Calls that fell back to the reference so far: ``{backend: {primitive: calls}}``.

    >>> import framework as fw
    >>> fw.backend.fallback_report()     # nothing has fallen back in a fresh process
    {}
    """
    with _lock:
        return {b: dict(sorted(p.items())) for b, p in sorted(_counts.items()) if p}


def reset_fallback_report() -> None:
    """Forget the counts and warnings (each missing primitive warns again once)."""
    with _lock:
        _counts.clear()
        _warned.clear()


class Backend:
    """Base class for backend plug-ins (see ``docs/vendor-guide.md``).

    Class attributes a plug-in sets:

    - ``name``: the registry name (the entry point's name sets it when left empty),
    - ``version``: the plug-in's version string (recorded in benchmark bundles),
    - ``ndarray``: the native array type (``numpy.ndarray`` when the chip's memory is host
      memory; then a fallback costs no copy at all),
    - ``device``: a human-readable description of the hardware (optional).

    Required: ``from_numpy`` and ``to_numpy`` (unless ``ndarray`` is ``numpy.ndarray``) and,
    for backends whose arrays are not NumPy arrays, ``setitem`` (fallbacks of in-place
    primitives write their result back with it).
    """

    name: str | None = None
    version: str = "0"
    ndarray: type = np.ndarray
    device: str = ""

    def from_numpy(self, a: np.ndarray) -> Any:
        if self.ndarray is np.ndarray:
            return a
        raise NotImplementedError(f"backend {self.name!r} must implement from_numpy")

    def to_numpy(self, x: Any) -> np.ndarray:
        if self.ndarray is np.ndarray:
            return x
        raise NotImplementedError(f"backend {self.name!r} must implement to_numpy")

    def implemented_primitives(self) -> list[str]:
        """Documented primitives this backend defines itself (no fallback)."""
        own = vars(self)
        host = self.ndarray is np.ndarray
        return [
            p for p in PRIMITIVES
            if _defines(type(self), p)
            or (p in own and not isinstance(own[p], _Fallback))
            or (host and p in ("from_numpy", "to_numpy"))
        ]

    def missing_primitives(self) -> list[str]:
        """Documented primitives that run on the reference instead."""
        done = set(self.implemented_primitives())
        return [p for p in PRIMITIVES if p not in done]

    def __getattr__(self, attr: str) -> Any:
        # Only reached when normal lookup fails, so implemented primitives cost nothing.
        if attr in PRIMITIVES and attr not in ("from_numpy", "to_numpy"):
            fb = _Fallback(self, attr)
            # Cache on the instance: later calls skip __getattr__. (The jit installs its own
            # instance attributes temporarily; when it removes them we land here again.)
            object.__setattr__(self, attr, fb)
            return fb
        raise AttributeError(f"{type(self).__name__!r} backend has no attribute {attr!r}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} backend {self.name!r} {self.version}>"


def _defines(cls: type, attr: str) -> bool:
    return any(attr in vars(k) for k in cls.__mro__ if k is not object and k is not Backend)


class _Fallback:
    """Runs one primitive on the reference backend for ``backend`` and counts the call."""

    __slots__ = ("backend", "primitive", "ref", "native", "mutates", "__weakref__")

    def __init__(self, backend: Backend, primitive: str) -> None:
        self.backend = backend
        self.primitive = primitive
        self.ref = getattr(_REFERENCE, primitive)
        self.native = backend.ndarray is not np.ndarray
        self.mutates = PRIMITIVES[primitive].mutates

    def __repr__(self) -> str:
        return f"<fallback of {self.primitive!r} to the NumPy reference>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        bk = self.backend
        key = (bk.name or type(bk).__name__, self.primitive)
        with _lock:
            _counts[key[0]][key[1]] += 1
            first = key not in _warned
            if first:
                _warned.add(key)
        if first:
            warnings.warn(
                f"backend {key[0]!r} has no {self.primitive!r} primitive; running it on the "
                "NumPy reference backend (see fw.backend.fallback_report())",
                FallbackWarning, stacklevel=2,
            )
        if not self.native:
            return self.ref(*args, **kwargs)
        typ = bk.ndarray
        to_np = bk.to_numpy
        nargs = [_convert(a, typ, to_np) for a in args]
        nkw = {k: _convert(v, typ, to_np) for k, v in kwargs.items()}
        result = self.ref(*nargs, **nkw)
        # In-place primitives and out= write into the NumPy copies; copy them back.
        if self.mutates and args and isinstance(args[0], typ):
            bk.setitem(args[0], Ellipsis, bk.from_numpy(np.asarray(nargs[0])))
            return result
        out = kwargs.get("out")
        if out is not None and isinstance(out, typ):
            bk.setitem(out, Ellipsis, bk.from_numpy(np.asarray(nkw["out"])))
            return out
        return _back(result, bk.from_numpy)


def _convert(a: Any, typ: type, to_np: Any) -> Any:
    if isinstance(a, typ):
        return to_np(a)
    if isinstance(a, (list, tuple)):
        return type(a)(_convert(v, typ, to_np) for v in a)
    return a


def _back(r: Any, from_np: Any) -> Any:
    if isinstance(r, np.ndarray):
        return from_np(r)
    if isinstance(r, np.generic):
        return from_np(np.asarray(r))
    if isinstance(r, tuple):
        return tuple(_back(v, from_np) for v in r)
    return r
