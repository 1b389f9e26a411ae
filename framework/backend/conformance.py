"""Conformance suite: does a backend compute what the reference NumPy backend computes?

``python -m framework.backend.conformance NAME [--json FILE] [--quick]`` checks every
documented primitive of backend ``NAME`` against the reference over dtypes, broadcasting
shapes, empty and 0-d arrays, NaN/inf and large magnitudes, with the tolerances documented in
:mod:`framework.backend.primitives`; then it trains a small MLP and a small CNN for a fixed
number of seeded steps on both backends and compares the loss curves. It prints a table
(primitive, status, cases, max error) and exits with status 1 on any failure.

>>> from framework.backend.conformance import run_conformance
>>> report = run_conformance("numpy", quick=True, training=False)
>>> report.ok
True
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import base as _base
from .numpy_backend import NumpyBackend
from .primitives import PRIMITIVES, TOLERANCES, tolerance

__all__ = ["Case", "ConformanceReport", "PrimitiveResult", "main", "run_conformance"]

# Loss curves on the backend under test must stay within this relative distance of the
# reference's at every step (float32 training: rounding differences grow slowly over steps).
TRAINING_RTOL = 1e-3
TRAINING_STEPS = 20
TRAINING_STEPS_QUICK = 5


@dataclass
class Case:
    """One call of a primitive: NumPy arrays in ``args``/``kwargs`` (also inside lists and
    tuples) are converted to the backend's native arrays before the call."""

    label: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    values: bool = True  # False: only shape and dtype matter (``empty``)


@dataclass
class PrimitiveResult:
    primitive: str
    status: str  # "pass", "fail", or "untested" (no cases for a newly documented primitive)
    cases: int
    max_abs_error: float
    max_rel_error: float
    implemented: bool
    message: str = ""


@dataclass
class TrainingResult:
    model: str
    status: str
    steps: int
    reference_losses: list[float]
    backend_losses: list[float]
    max_rel_error: float
    message: str = ""


@dataclass
class ConformanceReport:
    backend: str
    version: str
    primitives: list[PrimitiveResult]
    training: list[TrainingResult]
    fallbacks: dict[str, int]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(r.status != "fail" for r in self.primitives) and all(
            t.status == "pass" for t in self.training)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ok"] = self.ok
        d["tolerances"] = {k: {dt: list(v) for dt, v in t.items()}
                           for k, t in TOLERANCES.items()}
        d["training_rtol"] = TRAINING_RTOL
        return _finite(d)

    def table(self) -> str:
        rows = [("primitive", "status", "cases", "max abs err", "max rel err", "note")]
        for r in self.primitives:
            note = r.message if r.status != "pass" else (
                "" if r.implemented else "reference fallback")
            rows.append((r.primitive, r.status.upper() if r.status != "pass" else "pass",
                         str(r.cases), f"{r.max_abs_error:.3g}", f"{r.max_rel_error:.3g}",
                         note[:90]))
        for t in self.training:
            rows.append((f"train:{t.model}", t.status.upper() if t.status != "pass" else "pass",
                         str(t.steps), "", f"{t.max_rel_error:.3g}", t.message[:90]))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        out = []
        for i, r in enumerate(rows):
            out.append("  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=True))
                       + "  " + r[5])
            if i == 0:
                out.append("  ".join("-" * w for w in widths) + "  ----")
        failed = sum(r.status != "pass" for r in self.primitives) + sum(
            t.status != "pass" for t in self.training)
        out.append("")
        out.append(f"backend {self.backend} {self.version}: "
                   f"{len(self.primitives)} primitives, {len(self.training)} training checks, "
                   f"{failed} failed, {self.seconds:.1f} s -> {'PASS' if self.ok else 'FAIL'}")
        return "\n".join(out)


# ----- test data ------------------------------------------------------------------------------

FLOATS = (np.float32, np.float64)
FLOATS_ALL = (np.float16, np.float32, np.float64)
INTS = (np.int32, np.int64)
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30, 1e-30, 1.0, -1.0, 3.5,
                    -2.5, 0.5, 7.0, -7.25, 100.0])
SHAPES = [(), (0,), (7,), (3, 4, 5)]
BROADCAST = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (5,)),
             ((0, 3), (1, 3)), ((), ()), ((4, 1), (1, 0))]
# Large enough that accelerated backends take their fast paths (threads, blocking).
BIG = (512, 640)


class _Data:
    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def normal(self, shape, dtype, scale=1.0):
        a = self.rng.standard_normal(shape) * scale
        if np.dtype(dtype).kind in "iu":
            a = np.round(a * 4)
        if np.dtype(dtype).kind == "b":
            a = a > 0
        return np.asarray(a).astype(dtype)

    def positive(self, shape, dtype):
        return (self.rng.random(shape) * 4 + 0.1).astype(dtype)

    def special(self, dtype, n=16):
        with np.errstate(over="ignore"):
            return np.resize(SPECIAL, n).astype(dtype)

    def ints(self, shape, lo, hi, dtype=np.int64):
        return self.rng.integers(lo, hi, size=shape).astype(dtype)


# ----- case generators per primitive --------------------------------------------------------

def _unary_cases(d: _Data, name: str, quick: bool) -> Iterator[Case]:
    dtypes = FLOATS if quick else FLOATS_ALL
    domain_positive = name in ("log", "sqrt", "log1p")
    for dt in dtypes:
        for shape in SHAPES:
            x = d.positive(shape, dt) if domain_positive else d.normal(shape, dt)
            yield Case(f"{np.dtype(dt).name}{shape}", (x,))
        yield Case(f"{np.dtype(dt).name} nan/inf/-0", (d.special(dt),))
        yield Case(f"{np.dtype(dt).name} large", (d.normal((9,), dt, 1e4),))
        if not quick or dt == np.float32:
            yield Case(f"{np.dtype(dt).name} big{BIG}",
                       (d.positive(BIG, dt) if domain_positive else d.normal(BIG, dt),))
    if name in ("negative", "abs", "sign", "logical_not", "invert"):
        for dt in INTS:
            yield Case(f"{np.dtype(dt).name}", (d.normal((3, 4), dt),))
    if name in ("logical_not", "invert"):
        yield Case("bool", (d.normal((5,), bool),))
    if name == "round":
        yield Case("decimals=2", (d.normal((6,), np.float64) * 100, 2))
    if name == "erf":
        yield Case("int64 -> float32", (d.normal((5,), np.int64),))


_ARITH = ("add", "subtract", "multiply", "divide", "power", "maximum", "minimum")


def _binary_cases(d: _Data, name: str, quick: bool) -> Iterator[Case]:
    logical = name.startswith("logical_")
    dtypes = (bool,) if logical else (FLOATS + INTS if quick else FLOATS_ALL + INTS)
    for dt in dtypes:
        for sa, sb in BROADCAST[:4] if quick else BROADCAST:
            if name == "power" and np.dtype(dt).kind == "i":
                x, y = d.ints(sa, -3, 4, dt), d.ints(sb, 0, 4, dt)
            elif name == "power":
                x, y = d.positive(sa, dt), d.normal(sb, dt)
            else:
                x, y = d.normal(sa, dt), d.normal(sb, dt)
            yield Case(f"{np.dtype(dt).name}{sa}x{sb}", (x, y))
    if logical:
        return
    for dt in FLOATS:
        x = d.special(dt)
        yield Case(f"{np.dtype(dt).name} nan/inf", (x, np.roll(x, 3)))
        yield Case(f"{np.dtype(dt).name} large", (d.normal((8,), dt, 1e20),
                                                  d.normal((8,), dt, 1e20)))
        big = d.positive(BIG, dt) if name == "power" else d.normal(BIG, dt)
        if not quick or dt == np.float32:
            yield Case(f"{np.dtype(dt).name} big", (big, d.normal(BIG, dt)))
            yield Case(f"{np.dtype(dt).name} big x row", (big, d.normal(BIG[-1:], dt)))
            yield Case(f"{np.dtype(dt).name} scalar 2.5", (big, 2.5))
        yield Case(f"{np.dtype(dt).name} scalar int 0", (d.normal((7,), dt), 0))
        yield Case(f"{np.dtype(dt).name} scalar left", (3.0, d.positive((7,), dt)))
    if name in ("add", "subtract", "multiply", "divide"):
        for dt in FLOATS:
            for shape in ((5,), BIG) if not quick or dt == np.float32 else ((5,),):
                out = np.zeros(shape, dt)
                yield Case(f"{np.dtype(dt).name} out= {shape}",
                           (d.normal(shape, dt), d.normal(shape, dt)), {"out": out})
        out = np.zeros((4,), np.float32)
        yield Case("out= float32 from float64, casting=unsafe",
                   (np.zeros((4,), np.float32), d.normal((4,), np.float64)),
                   {"out": out, "casting": "unsafe"})
    if name in ("equal", "not_equal") or name.startswith("bitwise_"):
        yield Case("bool", (d.normal((5,), bool), d.normal((5,), bool)))


def _where_cases(d: _Data, quick: bool) -> Iterator[Case]:
    for dt in FLOATS + INTS:
        yield Case(np.dtype(dt).name, (d.normal((3, 4), bool), d.normal((3, 4), dt),
                                       d.normal((4,), dt)))
    yield Case("broadcast 0-d", (d.normal((2, 1, 3), bool), d.normal((), np.float32),
                                 d.normal((4, 1), np.float32)))
    yield Case("empty", (np.zeros((0, 2), bool), np.zeros((0, 2)), np.ones((0, 2))))
    yield Case("big", (d.normal(BIG, bool), d.normal(BIG, np.float32), 0.0))


def _clip_cases(d: _Data, quick: bool) -> Iterator[Case]:
    for dt in FLOATS + INTS:
        yield Case(np.dtype(dt).name, (d.normal((3, 4), dt), -1, 1))
    yield Case("lo None", (d.normal((5,), np.float64), None, 0.5))
    yield Case("array bounds", (d.normal((3, 4), np.float32), d.normal((4,), np.float32) - 1,
                                d.positive((3, 1), np.float32)))
    yield Case("nan", (d.special(np.float64), -2.0, 2.0))


_RED_AXES = [None, 0, -1, (0, 2)]


def _reduction_cases(d: _Data, name: str, quick: bool) -> Iterator[Case]:
    x64 = d.normal((3, 4, 5), np.float64)
    if name in ("sum", "prod", "max", "min", "all", "any", "argmax", "argmin"):
        for dt in FLOATS + INTS + ((bool,) if name in ("sum", "all", "any") else ()):
            x = d.normal((3, 4, 5), dt)
            for axis in _RED_AXES:
                if name in ("argmax", "argmin") and isinstance(axis, tuple):
                    continue
                yield Case(f"{np.dtype(dt).name} axis={axis}", (x,), {"axis": axis})
            yield Case(f"{np.dtype(dt).name} keepdims", (x,), {"axis": 1, "keepdims": True})
        yield Case("0-d", (d.normal((), np.float32),))
        yield Case("empty axis 0", (np.zeros((0, 3), np.float32),), {"axis": 0})
        yield Case("nan", (d.special(np.float64).reshape(4, 4),), {"axis": 1})
        yield Case("big", (d.normal(BIG, np.float32),), {"axis": -1})
        if name == "sum":
            yield Case("dtype=float64", (d.normal((4, 5), np.float32),), {"dtype": np.float64})
            yield Case("large magnitude", (d.normal((50,), np.float64, 1e30),))
        return
    if name in ("cumsum", "cumprod"):
        for dt in FLOATS + INTS:
            x = d.normal((3, 4), dt)
            yield Case(f"{np.dtype(dt).name} flat", (x,))
            yield Case(f"{np.dtype(dt).name} axis=1", (x,), {"axis": 1})
        yield Case("empty", (np.zeros((0, 3)),), {"axis": 0})
        yield Case("dtype", (d.normal((4,), np.int32),), {"dtype": np.int64})
        return
    if name in ("sort", "argsort"):
        for dt in FLOATS + INTS:
            x = d.normal((4, 6), dt)
            yield Case(f"{np.dtype(dt).name} last axis", (x,))
            yield Case(f"{np.dtype(dt).name} axis 0", (x,), {"axis": 0})
        yield Case("ties stable", (d.ints((20,), 0, 3),), {"stable": True})
        yield Case("nan last", (d.special(np.float64),))
        yield Case("empty", (np.zeros((0,)),))
        return
    if name == "unique":
        x = d.ints((30,), 0, 6)
        yield Case("values", (x,))
        yield Case("inverse and counts", (x,), {"return_inverse": True, "return_counts": True})
        yield Case("float", (x64.ravel(),))
        return
    return  # no cases yet: reported as "untested"


def _allocation_cases(d: _Data, name: str, quick: bool) -> Iterator[Case]:
    dts = FLOATS_ALL + INTS + (bool,)
    if name in ("zeros", "ones", "empty"):
        for dt in dts:
            for shape in ((), (0,), (2, 3)):
                yield Case(f"{np.dtype(dt).name}{shape}", (shape, dt), values=name != "empty")
        return
    if name == "full":
        for dt in FLOATS + INTS:
            yield Case(np.dtype(dt).name, ((2, 3), 7, dt))
        yield Case("inferred float", ((2,), 1.5))
        yield Case("nan", ((3,), np.nan, np.float32))
        return
    if name == "arange":
        yield Case("stop", (5,))
        yield Case("start stop step", (1.0, 2.0, 0.25))
        yield Case("dtype", (0, 10, 3), {"dtype": np.int32})
        yield Case("empty", (3, 3))
        return
    if name == "linspace":
        yield Case("basic", (0.0, 1.0, 5))
        yield Case("no endpoint float32", (0, 2, 4), {"endpoint": False, "dtype": np.float32})
        return
    if name == "eye":
        yield Case("square", (3,))
        yield Case("rect k=1 int", (3, 4, 1), {"dtype": np.int64})
        return
    if name == "asarray":
        yield Case("list", ([[1.0, 2.0], [3.0, 4.0]],))
        yield Case("scalar float32", (2.5,), {"dtype": np.float32})
        yield Case("scalar int", (3,), {"dtype": np.int64})
        for dt in dts:
            yield Case(np.dtype(dt).name, (d.normal((2, 3), dt),))
        return
    if name == "astype":
        pairs = [(np.float32, np.float64), (np.float64, np.float32), (np.float32, np.float16),
                 (np.int64, np.float32), (np.float32, np.int64), (np.int32, np.int64),
                 (np.float32, bool), (bool, np.float32), (np.float32, np.float32)]
        for a, b in pairs:
            yield Case(f"{np.dtype(a).name}->{np.dtype(b).name}", (d.normal((3, 4), a), b))
        yield Case("0-d", (d.normal((), np.float64), np.float32))
        yield Case("inf to float16", (np.array([1e10, -1e10, np.inf]), np.float16))
        return
    if name == "copy":
        for dt in dts:
            for shape in SHAPES:
                yield Case(f"{np.dtype(dt).name}{shape}", (d.normal(shape, dt),))
        return
    return  # no cases yet: reported as "untested"


def _movement_cases(d: _Data, name: str, quick: bool) -> Iterator[Case]:
    x = d.normal((2, 3, 4), np.float32)
    xi = d.normal((2, 3, 4), np.int64)
    e = np.zeros((0, 3), np.float64)
    z = d.normal((), np.float64)
    table: dict[str, list[Case]] = {
        "reshape": [Case("3d->2d", (x, (6, 4))), Case("-1", (xi, (-1,))),
                    Case("empty", (e, (3, 0))), Case("0-d", (z, (1, 1))),
                    Case("transposed input", (x.transpose(2, 0, 1), (4, 6))),
                    Case("impossible shape", (x, (5, 5)))],
        "transpose": [Case("axes", (x, (2, 0, 1))), Case("reverse", (xi,)),
                      Case("empty", (e, (1, 0))), Case("0-d", (z,))],
        "broadcast_to": [Case("row", (d.normal((4,), np.float32), (3, 4))),
                         Case("0-d", (z, (2, 2))), Case("to empty", (x[:1, :1, :1], (0, 1)))],
        "expand_dims": [Case("axis 0", (x, 0)), Case("tuple", (xi, (1, -1))),
                        Case("0-d", (z, 0))],
        "squeeze": [Case("all", (d.normal((1, 3, 1), np.float64),)),
                    Case("axis", (d.normal((1, 3, 1), np.int32), 2))],
        "concatenate": [Case("axis 0", ([x, x],)), Case("axis -1", ([x, x[..., :2]], -1)),
                        Case("with empty", ([e, np.ones((2, 3))],))],
        "stack": [Case("axis 0", ([x, x],)), Case("axis -1", ([xi, xi, xi], -1)),
                  Case("0-d", ([z, z],))],
        "pad": [Case("constant", (x, ((0, 0), (1, 2), (3, 0)))),
                Case("value", (xi, ((1, 1), (0, 0), (0, 1))), {"constant_values": 7}),
                Case("edge", (x, ((0, 0), (1, 1), (2, 2))), {"mode": "edge"}),
                Case("reflect", (x, ((0, 0), (1, 1), (2, 2))), {"mode": "reflect"})],
        "flip": [Case("all", (x,)), Case("axis", (xi, 1)), Case("tuple", (x, (0, 2)))],
        "roll": [Case("flat", (x, 5)), Case("axis", (xi, -1, 2))],
        "tile": [Case("reps", (x, (2, 1, 1))), Case("int", (d.normal((3,), np.int32), 3))],
        "repeat": [Case("flat", (x, 2)), Case("axis", (xi, 3, 1)),
                   Case("per element", (d.normal((3,), np.float64), [1, 0, 2]))],
        "tril": [Case("k=0", (d.normal((4, 5), np.float32),)),
                 Case("batched k=-1", (x, -1))],
        "triu": [Case("k=0", (d.normal((4, 5), np.float32),)),
                 Case("batched k=1", (xi, 1))],
        "take": [Case("flat", (x, np.array([0, 5, 23]))),
                 Case("axis", (xi, np.array([[2, 0], [1, 1]]), 1)),
                 Case("empty indices", (x, np.zeros((0,), np.int64), 0))],
        "take_along_axis": [Case("argsort", (x, np.argsort(x, axis=-1), -1)),
                            Case("axis 0", (xi, d.ints((1, 3, 4), 0, 2), 0))],
        "put_along_axis": [Case("last", (x.copy(), d.ints((2, 3, 1), 0, 4), 9.0, -1)),
                           Case("arrays", (xi.copy(), d.ints((2, 1, 4), 0, 3),
                                           d.normal((2, 1, 4), np.int64), 1))],
        "add_at": [Case("repeated ints", (np.zeros(5), np.array([0, 1, 1, 4, 4, 4]),
                                          d.normal((6,), np.float64))),
                   Case("slice", (np.zeros((3, 4), np.float32), (slice(None), slice(1, 3)),
                                  d.normal((3, 2), np.float32))),
                   Case("tuple of arrays", (np.zeros((3, 4)),
                                            (np.array([0, 2, 0]), np.array([1, 1, 1])), 1.5)),
                   Case("big", (np.zeros(BIG, np.float32), (slice(None),),
                                d.normal(BIG, np.float32)))],
        "getitem": [Case("int", (x, 1)), Case("slices", (x, (slice(None), slice(0, 3, 2)))),
                    Case("negative step", (x, (Ellipsis, slice(None, None, -1)))),
                    Case("None", (xi, (None, 0))),
                    Case("int array", (x, np.array([1, 0, 1]))),
                    Case("mixed arrays", (x, (np.array([0, 1]), slice(None), np.array([3, 2])))),
                    Case("bool mask", (x, x > 0)),
                    Case("0-d", (z, ())), Case("empty", (e, slice(0, 0))),
                    Case("out of range", (x, 5))],
        "setitem": [Case("slice", (x.copy(), (0, slice(1, 3)), 5.0)),
                    Case("broadcast array", (xi.copy(), Ellipsis, d.normal((4,), np.int64))),
                    Case("mask", (x.copy(), x > 0, 0.0)),
                    Case("int array", (x.copy(), np.array([1, 0]), d.normal((3, 4), np.float32))),
                    Case("0-d", (np.zeros(()), (), 2.0))],
        "may_share_memory": [Case("distinct", (x, x.copy()))],
        "nonzero": [Case("2d", (d.normal((3, 4), np.int64),)),
                    Case("bool", (d.normal((5,), bool),)), Case("empty", (e,))],
        "broadcast_shapes": [Case("three", ((2, 1, 4), (3, 1), ())),
                             Case("mismatch", ((2, 3), (4,)))],
    }
    yield from table.get(name, ())


def _linalg_cases(d: _Data, name: str, quick: bool) -> Iterator[Case]:
    if name == "matmul":
        shapes = [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)),
                  ((4,), (4,)), ((2, 1, 3, 4), (5, 4, 2)), ((0, 4), (4, 3)), ((3, 0), (0, 2)),
                  ((64, 128), (128, 96))]
        for dt in FLOATS + (np.int64,):
            for sa, sb in shapes:
                yield Case(f"{np.dtype(dt).name}{sa}@{sb}", (d.normal(sa, dt), d.normal(sb, dt)))
        yield Case("shape mismatch", (d.normal((3, 4), np.float32), d.normal((5, 2), np.float32)))
        yield Case("nan/inf", (d.special(np.float64).reshape(4, 4),
                               d.normal((4, 4), np.float64)))
        return
    if name == "einsum":
        yield Case("ij,jk->ik", ("ij,jk->ik", d.normal((3, 4), np.float32),
                                 d.normal((4, 2), np.float32)))
        yield Case("batched", ("bij,bkj->bik", d.normal((2, 3, 4), np.float64),
                               d.normal((2, 5, 4), np.float64)))
        yield Case("trace", ("ii->", d.normal((4, 4), np.float64)))
        return
    if name == "outer":
        yield Case("vectors", (d.normal((3,), np.float32), d.normal((4,), np.float32)))
        yield Case("flattens", (d.normal((2, 2), np.int64), d.normal((3,), np.int64)))
        return
    return  # no cases yet: reported as "untested"


def _fused_cases(d: _Data, name: str, quick: bool) -> Iterator[Case]:
    if name in ("softmax", "log_softmax"):
        for dt in FLOATS:
            yield Case(f"{np.dtype(dt).name} last axis", (d.normal((3, 7), dt, 3),))
            yield Case(f"{np.dtype(dt).name} axis 0", (d.normal((3, 7), dt), 0))
            yield Case(f"{np.dtype(dt).name} big", (d.normal(BIG, dt, 5),))
        yield Case("large logits", (d.normal((4, 5), np.float32, 1e4),))
        yield Case("-inf entries", (np.array([[0.0, -np.inf, 1.0], [-np.inf, 2.0, 2.0]]),))
        yield Case("empty", (np.zeros((0, 4), np.float32),))
        return
    if name == "gelu":
        for dt in FLOATS:
            yield Case(np.dtype(dt).name, (d.normal((5, 6), dt, 3),))
            yield Case(f"{np.dtype(dt).name} big", (d.normal(BIG, dt),))
        yield Case("nan/inf", (d.special(np.float64),))
        return
    if name == "layer_norm":
        for dt in FLOATS:
            w, b = d.normal((16,), dt), d.normal((16,), dt)
            yield Case(f"{np.dtype(dt).name} affine", (d.normal((4, 16), dt, 3) + 5, w, b))
            yield Case(f"{np.dtype(dt).name} plain", (d.normal((2, 3, 16), dt), None, None))
            yield Case(f"{np.dtype(dt).name} big", (d.normal((4096, 16), dt), w, b))
        yield Case("eps", (d.normal((3, 8), np.float64), None, None, 1e-2))
        return
    if name in ("im2col", "conv2d"):
        x = d.normal((2, 3, 9, 8), np.float32)
        w = d.normal((4, 3, 3, 3), np.float32)
        opts = [{}, {"stride": (2, 2)}, {"padding": (1, 2)}, {"dilation": (2, 1)},
                {"stride": (2, 1), "padding": (1, 1), "dilation": (1, 2)}]
        for kw in opts:
            if name == "im2col":
                yield Case(f"3x3 {kw}", (x, 3, 3), dict(kw))
            else:
                yield Case(f"3x3 {kw}", (x, w), dict(kw))
        if name == "conv2d":
            yield Case("bias float64", (x.astype(np.float64), w.astype(np.float64),
                                        d.normal((4,), np.float64)), {"padding": (1, 1)})
            yield Case("1x1", (x, d.normal((5, 3, 1, 1), np.float32)))
            yield Case("channel mismatch", (x, d.normal((4, 2, 3, 3), np.float32)))
        else:
            yield Case("int64 1x2", (d.normal((1, 2, 4, 4), np.int64), 1, 2))
        return
    if name == "col2im":
        for dt in FLOATS:
            for kw in ({}, {"stride": (3, 3)}, {"stride": (2, 1), "padding": (1, 1),
                                                "dilation": (1, 2)}):
                (sh, sw), (ph, pw) = kw.get("stride", (1, 1)), kw.get("padding", (0, 0))
                dh, dw = kw.get("dilation", (1, 1))
                oh = (9 + 2 * ph - 2 * dh - 1) // sh + 1
                ow = (6 + 2 * pw - 2 * dw - 1) // sw + 1
                cols = d.normal((2, 3 * 9, oh * ow), dt)
                yield Case(f"{np.dtype(dt).name} 3x3 {kw}", (cols, (2, 3, 9, 6), 3, 3),
                           dict(kw))
        return
    if name == "attention":
        q, k, v = (d.normal((2, 3, 5, 8), np.float32) for _ in range(3))
        yield Case("plain", (q, k, v))
        yield Case("scale", (q, k, v), {"scale": 0.5})
        causal = np.tril(np.ones((5, 5), bool))
        yield Case("bool causal mask", (q, k, v), {"mask": causal})
        yield Case("additive mask", (q, k, v), {"mask": d.normal((5, 5), np.float32)})
        yield Case("float64 cross", (d.normal((4, 8), np.float64), d.normal((6, 8), np.float64),
                                     d.normal((6, 3), np.float64)))
        return
    return  # no cases yet: reported as "untested"


@dataclass(frozen=True)
class Rng:
    """A random generator argument: every call gets a fresh ``default_rng(seed)``, so the
    backend and the reference draw the same stream."""

    seed: int


def _random_cases(name: str) -> Iterator[Case]:
    if name == "random_uniform":
        yield Case("float32", (Rng(1), (3, 4)))
        yield Case("range float64", (Rng(2), (5,), -2.0, 3.0, np.float64))
        yield Case("0-d", (Rng(3), ()))
    elif name == "random_normal":
        yield Case("float32", (Rng(1), (3, 4)))
        yield Case("mean std float64", (Rng(2), (6,), 1.0, 0.5, np.float64))
        yield Case("empty", (Rng(3), (0, 2)))
    elif name == "random_integers":
        yield Case("int64", (Rng(1), 0, 10, (4, 3)))
        yield Case("int32", (Rng(2), -5, 5, (7,), np.int32))
    elif name == "random_permutation":
        yield Case("int64", (Rng(1), 10))
        yield Case("empty", (Rng(2), 0))


def cases_for(name: str, quick: bool = False, seed: int = 0) -> list[Case]:
    """The conformance cases of primitive ``name`` (deterministic for a seed)."""
    d = _Data(seed + sum(map(ord, name)))
    p = PRIMITIVES[name]
    if name in ("from_numpy", "to_numpy"):
        return [Case(f"roundtrip {np.dtype(dt).name}{s}", (d.normal(s, dt),))
                for dt in FLOATS_ALL + INTS + (bool, np.int8, np.uint8) for s in SHAPES]
    if p.group == "allocation":
        return list(_allocation_cases(d, name, quick))
    if p.group == "unary":
        return list(_unary_cases(d, name, quick))
    if name == "where":
        return list(_where_cases(d, quick))
    if name == "clip":
        return list(_clip_cases(d, quick))
    if p.group == "binary":
        return list(_binary_cases(d, name, quick))
    if p.group == "reduction":
        return list(_reduction_cases(d, name, quick))
    if p.group == "movement":
        return list(_movement_cases(d, name, quick))
    if p.group == "linalg":
        return list(_linalg_cases(d, name, quick))
    if p.group == "random":
        return list(_random_cases(name))
    return list(_fused_cases(d, name, quick))


# ----- running and comparing ----------------------------------------------------------------

def _to_native(v: Any, bk: Any) -> Any:
    if isinstance(v, Rng):
        return np.random.default_rng(v.seed)
    if isinstance(v, np.ndarray):
        return bk.from_numpy(v.copy())
    if isinstance(v, list):
        return [_to_native(a, bk) for a in v]
    if isinstance(v, tuple):
        return tuple(_to_native(a, bk) for a in v)
    return v


def _to_host(v: Any, bk: Any) -> Any:
    if isinstance(v, tuple):
        return tuple(_to_host(a, bk) for a in v)
    if isinstance(v, list):
        return [_to_host(a, bk) for a in v]
    if v is None:
        return None
    if isinstance(v, np.ndarray | np.generic) or not hasattr(v, "shape"):
        return np.asarray(v)
    return np.asarray(bk.to_numpy(v))


def _call(bk: Any, name: str, case: Case) -> Any:
    if name == "from_numpy":
        return np.asarray(bk.to_numpy(bk.from_numpy(case.args[0].copy())))
    if name == "to_numpy":
        out = bk.to_numpy(bk.from_numpy(case.args[0].copy()))
        if not isinstance(out, np.ndarray):
            raise TypeError(f"to_numpy returned {type(out).__name__}, not numpy.ndarray")
        return out
    args = _to_native(case.args, bk)
    kwargs = {k: _to_native(v, bk) for k, v in case.kwargs.items()}
    result = getattr(bk, name)(*args, **kwargs)
    if PRIMITIVES[name].mutates:
        result = args[0]
    elif "out" in kwargs:
        if result is not kwargs["out"]:
            # out= must return the array it wrote to, and the values must land there
            raise AssertionError("out= did not return the out array")
        result = kwargs["out"]
    return _to_host(result, bk)


def _compare(name: str, got: Any, want: Any, values: bool) -> tuple[bool, float, float, str]:
    if isinstance(want, tuple):
        if not isinstance(got, tuple) or len(got) != len(want):
            return False, np.inf, np.inf, "result is not a tuple of the same length"
        errs = [_compare(name, g, w, values) for g, w in zip(got, want, strict=True)]
        bad = [e for e in errs if not e[0]]
        return (not bad, max((e[1] for e in errs), default=0.0),
                max((e[2] for e in errs), default=0.0), bad[0][3] if bad else "")
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        return False, np.inf, np.inf, f"shape {got.shape}, reference {want.shape}"
    if got.dtype != want.dtype:
        return False, np.inf, np.inf, f"dtype {got.dtype}, reference {want.dtype}"
    if not values or want.size == 0:
        return True, 0.0, 0.0, ""
    if want.dtype.kind != "f":
        ok = np.array_equal(got, want)
        diff = 0.0 if ok else float(np.max(np.abs(got.astype(np.float64)
                                                 - want.astype(np.float64)), initial=0.0))
        return ok, diff, 0.0 if ok else np.inf, "" if ok else "values differ (exact dtype)"
    g = got.astype(np.float64)
    w = want.astype(np.float64)
    nan_g, nan_w = np.isnan(g), np.isnan(w)
    if not np.array_equal(nan_g, nan_w):
        return False, np.inf, np.inf, "NaN positions differ"
    inf_w = np.isinf(w)
    if not np.array_equal(g[inf_w], w[inf_w]) or np.isinf(g[~inf_w & ~nan_w]).any():
        return False, np.inf, np.inf, "inf positions or signs differ"
    fin = ~(nan_w | inf_w)
    if not fin.any():
        return True, 0.0, 0.0, ""
    gf, wf = g[fin], w[fin]
    rtol, atol = tolerance(name, want.dtype)
    err = np.abs(gf - wf)
    max_abs = float(err.max())
    max_rel = float(np.max(err / np.maximum(np.abs(wf), np.finfo(want.dtype).tiny)))
    cls = PRIMITIVES[name].tolerance if name in PRIMITIVES else "arith"
    if cls in ("accumulate", "matmul"):
        # order-dependent sums: compare against the output's scale, not each element's
        bound = atol + rtol * np.max(np.abs(wf))
    else:
        bound = atol + rtol * np.abs(wf)
    ok = bool(np.all(err <= bound))
    return ok, max_abs, max_rel, "" if ok else (
        f"max abs error {max_abs:.3g} over tolerance rtol={rtol:g} atol={atol:g}")


def check_primitive(bk: Any, ref: Any, name: str, quick: bool = False) -> PrimitiveResult:
    """Run all cases of ``name`` on ``bk`` and the reference and compare them."""
    implemented = not isinstance(bk, _base.Backend) or name in bk.implemented_primitives()
    worst_abs = worst_rel = 0.0
    cases = cases_for(name, quick)
    if not cases:
        return PrimitiveResult(name, "untested", 0, 0.0, 0.0, implemented,
                               "the conformance suite has no cases for this primitive yet")
    for case in cases:
        try:
            want = _call(ref, name, case)
            ref_error = None
        except Exception as err:  # the reference refuses: the backend must refuse too
            want, ref_error = None, err
        try:
            got = _call(bk, name, case)
        except Exception as err:
            if ref_error is not None:
                continue
            return PrimitiveResult(name, "fail", len(cases), np.inf, np.inf, implemented,
                                   f"{case.label}: raised {type(err).__name__}: {err}")
        if ref_error is not None:
            return PrimitiveResult(name, "fail", len(cases), np.inf, np.inf, implemented,
                                   f"{case.label}: the reference raises "
                                   f"{type(ref_error).__name__}, the backend does not")
        ok, a, r, msg = _compare(name, got, want, case.values)
        if not ok:
            return PrimitiveResult(name, "fail", len(cases), a, r, implemented,
                                   f"{case.label}: {msg}")
        worst_abs, worst_rel = max(worst_abs, a), max(worst_rel, r)
    return PrimitiveResult(name, "pass", len(cases), worst_abs, worst_rel, implemented)


# ----- training comparison ------------------------------------------------------------------

def _train_losses(backend_name: str, model: str, steps: int, seed: int) -> list[float]:
    import framework as fw

    from ..bench.models import build_model, training_batch  # the bench suite's own models
    from . import use

    # Everything (parameters, data, optimizer state) is created on the backend under test;
    # the seeded initialization draws the same values on every backend.
    with use(backend_name):
        fw.manual_seed(seed)
        net, loss_fn = build_model(model, small=True)
        x, y = training_batch(model, batch=16, seed=seed, small=True)
        opt = fw.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        losses = []
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
            losses.append(float(loss.item()))
    if any(p.device != backend_name for p in net.parameters()):
        raise RuntimeError("parameters left the backend during training")
    return losses


def check_training(name: str, steps: int, seed: int = 0) -> list[TrainingResult]:
    """Train the small MLP and CNN on the reference and on ``name``; compare loss curves."""
    results = []
    for model in ("mlp", "cnn"):
        try:
            ref = _train_losses("numpy", model, steps, seed)
            got = _train_losses(name, model, steps, seed)
        except Exception as err:
            results.append(TrainingResult(model, "fail", steps, [], [], np.inf,
                                          f"{type(err).__name__}: {err}"))
            continue
        r, g = np.array(ref), np.array(got)
        if not np.all(np.isfinite(g)):
            rel, ok, msg = np.inf, False, "non-finite loss"
        else:
            rel = float(np.max(np.abs(g - r) / np.maximum(np.abs(r), 1e-6)))
            ok = rel <= TRAINING_RTOL
            msg = "" if ok else f"loss curve differs by {rel:.3g} > {TRAINING_RTOL:g}"
        results.append(TrainingResult(model, "pass" if ok else "fail", steps, ref, got, rel,
                                      msg))
    return results


def run_conformance(backend: str, *, quick: bool = False, training: bool = True,
                    primitives: list[str] | None = None) -> ConformanceReport:
    """Check backend ``backend`` (a registered name) against the reference NumPy backend."""
    from . import get

    t0 = time.perf_counter()
    bk = get(backend)
    ref = NumpyBackend()
    before = _base.fallback_report().get(bk.name, {})
    results = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for name in primitives or list(PRIMITIVES):
            results.append(check_primitive(bk, ref, name, quick))
        train = check_training(backend, TRAINING_STEPS_QUICK if quick else TRAINING_STEPS) \
            if training else []
    after = _base.fallback_report().get(bk.name, {})
    fallbacks = {p: n - before.get(p, 0) for p, n in after.items() if n - before.get(p, 0)}
    return ConformanceReport(bk.name, str(getattr(bk, "version", "")), results, train,
                             fallbacks, time.perf_counter() - t0)


def main(argv: list[str] | None = None, out: Callable[[str], Any] = print) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m framework.backend.conformance",
        description="Check a backend against the reference NumPy backend.")
    ap.add_argument("backend", help="registered backend name (e.g. numexpr)")
    ap.add_argument("--json", metavar="FILE", help="write the full report as JSON")
    ap.add_argument("--quick", action="store_true", help="fewer dtypes and training steps")
    ap.add_argument("--no-training", action="store_true", help="skip the loss-curve check")
    ap.add_argument("--primitive", action="append", help="check only these primitives")
    args = ap.parse_args(argv)
    unknown = [p for p in args.primitive or [] if p not in PRIMITIVES]
    if unknown:
        ap.error(f"unknown primitive(s): {', '.join(unknown)}")
    try:
        report = run_conformance(args.backend, quick=args.quick,
                                 training=not args.no_training, primitives=args.primitive)
    except ValueError as err:  # unknown backend
        print(f"error: {err}", file=sys.stderr)
        return 2
    out(report.table())
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report.to_dict(), f, indent=2, default=_json_default, allow_nan=False)
    return 0 if report.ok else 1


def _finite(v: Any) -> Any:
    """JSON has no inf/NaN: an unbounded error is written as null."""
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_finite(x) for x in v]
    if isinstance(v, float | np.floating):
        return float(v) if np.isfinite(v) else None
    return v


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"cannot serialize {type(v).__name__}")


if __name__ == "__main__":
    sys.exit(main())
