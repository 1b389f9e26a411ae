"""Python conditions on dynamic sizes, recorded while tracing.

A static function with ``None`` dims in its input specs gets one program for every size
(:mod:`framework.jit.symbolic`). Python code that branches on a size (``if x.shape[0] >
10:``, ``min(B, 8)``, ``if x.size(0) == 1:``) runs only while tracing, so the program of
one branch would replay for sizes that take the other. While such a function is traced,
``Tensor.shape`` hands out :class:`SizeInt` numbers (plain ``int`` subclasses): arithmetic
on them gives sizes again (``B // 2``, ``B * 0.5``), and every comparison or truth test the
user's code makes on one is recorded as a :class:`Check` (the operation, both operands'
values and the answer). The traces at different sizes fit each operand as a formula of the
sizes like any other integer of the graph; a later size replays the program only when every
check gives the same answer for it, and is traced on its own otherwise.

Only comparisons made by the user's code are recorded: Skiff's own size logic chooses how to
compute, not what. Sizes that leave this tracking as plain numbers where the user's code can
branch on them (``len(x)``, ``int(n)``, ``float(n)``) are recorded as escapes; when an escape
differs between traces, the sizes cannot be dynamic and each size is traced.
"""

from __future__ import annotations

import math
import operator
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .ir import map_leaves


class Check(NamedTuple):
    """``op(lhs, rhs) == result`` held while tracing (``op`` ``escape``: a size read as a
    plain number, ``lhs`` its value)."""

    op: str
    lhs: Any
    rhs: Any
    result: bool


class Recorder:
    """The checks of one trace."""

    def __init__(self) -> None:
        self.checks: list[Check] = []

    @staticmethod
    def from_user(depth: int) -> bool:
        """Whether the frame ``depth`` levels above the caller is the user's code (not
        Skiff, NumPy or the standard library)."""
        from .static import _user_file

        return _user_file(sys._getframe(depth + 1).f_code.co_filename)


_recorder: Recorder | None = None
_NUMBERS = (int, float, np.integer, np.floating)

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge}


OPS = frozenset(_OPS) | {"bool", "escape"}


def evaluate(op: str, lhs: Any, rhs: Any) -> bool:
    if op == "bool":
        return bool(lhs)
    if op == "escape":
        return True
    return bool(_OPS[op](lhs, rhs))


def plain(v: Any) -> Any:
    """``v`` as a plain ``int``/``float`` when it is a tracked size."""
    t = type(v)
    if t is SizeInt:
        return int.__int__(v)
    if t is SizeFloat:
        return float.__float__(v)
    return v


def plain_tree(obj: Any) -> Any:
    """A function's result with the tracked sizes in it (``return y, x.shape[0]``) made
    plain numbers, through tuples, lists and dicts."""
    return map_leaves(obj, plain)


def _tracked(v: Any) -> Any:
    if type(v) is int:
        return SizeInt(v)
    if type(v) is float:
        return SizeFloat(v)
    return v


def _record(op: str, lhs: Any, rhs: Any, result: bool, depth: int) -> None:
    """Add a check when the frame ``depth`` levels above the caller is the user's code."""
    rec = _recorder
    if rec is not None and rec.from_user(depth + 1):
        rec.checks.append(Check(op, lhs, rhs, result))


def _compare(op: str) -> Callable[[Any, Any], Any]:
    fn = _OPS[op]

    def compare(self: Any, other: Any) -> Any:
        if not isinstance(other, _NUMBERS):
            return NotImplemented
        a, b = plain(self), plain(other)
        result = fn(a, b)
        _record(op, a, b, bool(result), 1)
        return result

    compare.__name__ = f"__{op}__"
    return compare


def _arith(name: str, reflected: bool = False) -> Callable[[Any, Any], Any]:
    fn = getattr(operator, name)

    def arith(self: Any, other: Any, mod: Any = None) -> Any:
        if not isinstance(other, (int, float)) or mod is not None:
            return getattr(plain(self), f"__{'r' if reflected else ''}{name}__")(
                *((other,) if mod is None else (other, mod)))
        a, b = plain(self), plain(other)
        return _tracked(fn(b, a) if reflected else fn(a, b))

    return arith


def _truth(self: Any) -> bool:
    value = plain(self)
    result = bool(value)
    _record("bool", value, 0, result, 1)
    return result


def escaped(value: Any) -> None:
    """A size read as a plain number by the user's code (``len(x)``, ``int(n)``): called
    by the method or function that the user's code called."""
    _record("escape", plain(value), 0, True, 2)


def _int_escape(self: Any) -> int:
    escaped(self)
    return int.__int__(self) if type(self) is SizeInt else int(float.__float__(self))


def _float_escape(self: Any) -> float:
    escaped(self)
    return float(int.__int__(self)) if type(self) is SizeInt else float.__float__(self)


_NAMES = ("add", "sub", "mul", "floordiv", "truediv", "mod", "pow")


def _methods() -> dict[str, Any]:
    ns: dict[str, Any] = {op_name: _compare(op) for op, op_name in (
        ("==", "__eq__"), ("!=", "__ne__"), ("<", "__lt__"), ("<=", "__le__"),
        (">", "__gt__"), (">=", "__ge__"))}
    for name in _NAMES:
        ns[f"__{name}__"] = _arith(name)
        ns[f"__r{name}__"] = _arith(name, reflected=True)
    ns["__neg__"] = lambda self: _tracked(-plain(self))
    ns["__abs__"] = lambda self: _tracked(abs(plain(self)))
    ns["__bool__"] = _truth
    ns["__int__"] = _int_escape
    ns["__float__"] = _float_escape
    ns["__repr__"] = lambda self: repr(plain(self))
    ns["__floor__"] = lambda self: _tracked(math.floor(plain(self)))
    ns["__ceil__"] = lambda self: _tracked(math.ceil(plain(self)))
    ns["__trunc__"] = lambda self: _tracked(math.trunc(plain(self)))
    ns["__round__"] = lambda self, n=None: _tracked(round(plain(self), n))
    ns["__slots__"] = ()
    return ns


SizeInt = type("SizeInt", (int,), {**_methods(), "__hash__": int.__hash__,
                                    "__index__": lambda self: int.__int__(self),
                                    "__doc__": "A tensor size while tracing (see module)."})
SizeFloat = type("SizeFloat", (float,), {
    **_methods(), "__hash__": float.__hash__,
    "__doc__": "A number computed from tensor sizes while tracing (see module)."})


def shape(t: Any) -> tuple:
    """``Tensor.shape`` while sizes are tracked."""
    return tuple(SizeInt(d) for d in t.data.shape)


def numel(t: Any) -> Any:
    """``Tensor.numel()`` while sizes are tracked: the product of the tracked sizes."""
    return math.prod(shape(t))


def length(t: Any) -> int:
    """``len(tensor)`` while sizes are tracked: an escape."""
    if t.data.ndim == 0:
        raise TypeError("len() of a 0-d tensor")
    n = t.data.shape[0]
    escaped(n)
    return n


class tracking:
    """Context: ``Tensor.shape``, ``numel()`` and ``len()`` hand out tracked sizes into
    ``recorder``."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def __enter__(self) -> Recorder:
        global _recorder
        from ..tensor import Tensor

        self._saved = (_recorder, Tensor.__dict__["shape"], Tensor.__dict__["__len__"],
                       Tensor.__dict__["numel"])
        _recorder = self.recorder
        Tensor.shape = property(shape)
        Tensor.__len__ = length
        Tensor.numel = numel
        return self.recorder

    def __exit__(self, *exc: Any) -> None:
        global _recorder
        from ..tensor import Tensor

        _recorder, Tensor.shape, Tensor.__len__, Tensor.numel = self._saved
