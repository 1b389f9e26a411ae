"""The chip boundary: every array operation of the framework goes through a backend.

A backend is an object whose attributes are the primitives listed in
:mod:`framework.backend.primitives` (``add``, ``matmul``, ``sum``, ...), each taking and
returning the backend's native arrays. The NumPy backend is the reference and the default.

Plug-ins subclass :class:`Backend` (a primitive they lack runs on the reference, with a
one-time :class:`FallbackWarning` and a count in :func:`fallback_report`) and register with
:func:`register` or the entry-point group ``framework.backends``. Selection: :func:`set_backend`,
``with use(name):``, or the ``SKIFF_BACKEND`` environment variable; ``tensor.to(name)`` moves
data. ``python -m framework.backend.conformance NAME`` checks a backend against the reference.

>>> import framework as fw
>>> fw.get_backend().name
'numpy'
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from . import primitives
from .base import Backend, FallbackWarning, fallback_report, reset_fallback_report
from .numpy_backend import NumpyBackend

_factories: dict[str, Callable[[], Any]] = {"numpy": NumpyBackend}
_instances: dict[str, Any] = {}


def register(name: str, factory: Callable[[], Any]) -> None:
    """Register a backend factory under ``name`` (a chip plug-in calls this)."""
    if not name or not isinstance(name, str):
        raise ValueError("a backend needs a non-empty string name")
    _factories[name] = factory
    _instances.pop(name, None)


def available() -> list[str]:
    """Names of the registered backends."""
    _load_entry_points()
    return sorted(_factories)


_entry_points_loaded = False


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group="framework.backends"):
        if ep.name not in _factories:
            _factories[ep.name] = _LazyFactory(ep)


class _LazyFactory:
    """Loads an entry point's factory only when the backend is first asked for."""

    def __init__(self, ep: Any) -> None:
        self.ep = ep

    def __call__(self) -> Any:
        return self.ep.load()()


def get(name: str) -> Any:
    """The backend instance registered as ``name``."""
    inst = _instances.get(name)
    if inst is not None:
        return inst
    if name not in _factories:
        _load_entry_points()
    try:
        factory = _factories[name]
    except KeyError:
        raise ValueError(
            f"unknown backend {name!r}; registered backends: {', '.join(available())}"
        ) from None
    inst = factory()
    if not getattr(inst, "name", None):
        inst.name = name
    _instances[name] = inst
    return inst


active: Any = get(os.environ.get("SKIFF_BACKEND", "numpy"))


def get_backend() -> Any:
    """The backend new tensors are created on."""
    return active


def set_backend(name: str) -> Any:
    """Make ``name`` the backend for new tensors; returns it."""
    global active
    active = get(name)
    return active


@contextlib.contextmanager
def use(name: str) -> Iterator[Any]:
    """``with fw.backend.use("foo"):`` creates new tensors on backend ``foo`` inside the block."""
    global active
    previous = active
    active = get(name)
    try:
        yield active
    finally:
        active = previous
