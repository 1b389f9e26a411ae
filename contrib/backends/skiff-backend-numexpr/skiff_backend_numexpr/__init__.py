"""A Skiff backend whose large elementwise kernels run multithreaded and fused via numexpr.

Native arrays are NumPy arrays (the chip is the host CPU), so every primitive this plug-in does
not accelerate is the reference's own NumPy function, bound explicitly below: nothing falls
back, nothing is copied. What it does accelerate:

- unary math (``exp``, ``log``, ``tanh``, ``sqrt``, ``sin``, ...) and binary arithmetic
  (``add``, ``multiply``, ``divide``, ``power``, ``maximum``, ...) on float32/float64 arrays of
  at least :data:`MIN_ELEMENTS` elements: numexpr splits the work over all cores and streams
  it through cache-sized blocks;
- the fused kernels ``softmax``, ``log_softmax`` and ``layer_norm``: one numexpr pass instead
  of several NumPy passes with full-size temporaries.

Smaller arrays, other dtypes and exotic keyword arguments go straight to NumPy, whose one call
is cheaper than numexpr's dispatch there.

>>> import framework as fw
>>> x = fw.ones(3).to("numexpr")
>>> x.device
'numexpr'
"""

from __future__ import annotations

from importlib import metadata

import numexpr as ne
import numpy as np

from framework.backend import Backend
from framework.backend.numpy_backend import NumpyBackend

__all__ = ["MIN_ELEMENTS", "NumexprBackend"]

# Below this many result elements one NumPy call beats numexpr's parse-and-dispatch overhead
# (about 20 µs); measured with `python -m framework.bench.backends`.
MIN_ELEMENTS = 1 << 15

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _version() -> str:
    try:
        own = metadata.version("skiff-backend-numexpr")
    except metadata.PackageNotFoundError:  # running from a source tree
        own = "0.1.0"
    return f"{own}+numexpr{ne.__version__}"


def _unary(expr: str, reference):
    def primitive(x, *args, **kwargs):
        if (not args and not kwargs and type(x) is np.ndarray and x.dtype in _FLOATS
                and x.size >= MIN_ELEMENTS):
            return ne.evaluate(expr, local_dict={"x": x})
        return reference(x, *args, **kwargs)

    primitive.__name__ = reference.__name__
    primitive.__doc__ = f"{reference.__name__} via numexpr ``{expr}`` on large float arrays."
    return primitive


def _operand(v, dtype):
    """v as an array of ``dtype`` if it can join a numexpr expression without changing the
    result's dtype, else None."""
    if type(v) is np.ndarray:
        return v if v.dtype == dtype else None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return np.asarray(v, dtype)  # a Python scalar never widens (NEP 50)
    return None


def _binary(expr: str, reference):
    def primitive(x, y, out=None, **kwargs):
        if type(x) is np.ndarray:
            dt = x.dtype
        elif type(y) is np.ndarray:
            dt = y.dtype
        else:
            return reference(x, y, out=out, **kwargs)
        if dt in _FLOATS and (not kwargs or kwargs == {"casting": "unsafe"}):
            a, b = _operand(x, dt), _operand(y, dt)
            if a is not None and b is not None:
                shape = np.broadcast_shapes(a.shape, b.shape)
                size = 1
                for n in shape:
                    size *= n
                if size >= MIN_ELEMENTS and (
                    out is None or (type(out) is np.ndarray and out.dtype == dt
                                    and out.shape == shape and out.flags.c_contiguous)
                ):
                    return ne.evaluate(expr, local_dict={"x": a, "y": b}, out=out)
        return reference(x, y, out=out, **kwargs) if out is not None else reference(
            x, y, **kwargs)

    primitive.__name__ = reference.__name__
    primitive.__doc__ = f"{reference.__name__} via numexpr ``{expr}`` on large float arrays."
    return primitive


def _big_float(x) -> bool:
    return type(x) is np.ndarray and x.dtype in _FLOATS and x.size >= MIN_ELEMENTS


def _softmax(x, axis=-1):
    if not _big_float(x):
        return NumpyBackend.softmax(x, axis)
    m = np.max(x, axis=axis, keepdims=True)
    e = ne.evaluate("exp(x - m)", local_dict={"x": x, "m": m})
    s = np.sum(e, axis=axis, keepdims=True)
    return ne.evaluate("e / s", local_dict={"e": e, "s": s}, out=e)


def _log_softmax(x, axis=-1):
    if not _big_float(x):
        return NumpyBackend.log_softmax(x, axis)
    m = np.max(x, axis=axis, keepdims=True)
    s = np.sum(ne.evaluate("exp(x - m)", local_dict={"x": x, "m": m}), axis=axis,
               keepdims=True)
    with np.errstate(divide="ignore"):
        lse = m + np.log(s)
    return ne.evaluate("x - lse", local_dict={"x": x, "lse": lse})


def _layer_norm(x, weight=None, bias=None, eps=1e-5):
    if not _big_float(x) or any(
        v is not None and (type(v) is not np.ndarray or v.dtype != x.dtype)
        for v in (weight, bias)
    ):
        return NumpyBackend.layer_norm(x, weight, bias, eps)
    n = x.shape[-1]
    mean = np.sum(x, axis=-1, keepdims=True) / np.asarray(n, x.dtype)
    d = ne.evaluate("x - mean", local_dict={"x": x, "mean": mean})
    var = np.sum(ne.evaluate("d * d", local_dict={"d": d}), axis=-1, keepdims=True)
    var /= np.asarray(n, x.dtype)
    r = 1 / np.sqrt(var + np.asarray(eps, x.dtype))
    env = {"d": d, "r": r, "w": weight if weight is not None else np.ones((), x.dtype),
           "b": bias if bias is not None else np.zeros((), x.dtype)}
    return ne.evaluate("d * r * w + b", local_dict=env, out=d)


class NumexprBackend(Backend):
    """CPU backend: NumPy arrays, numexpr kernels for large float elementwise work."""

    name = "numexpr"
    version = _version()
    ndarray = np.ndarray
    device = f"CPU, numexpr with {ne.detect_number_of_cores()} threads"

    exp = staticmethod(_unary("exp(x)", np.exp))
    log = staticmethod(_unary("log(x)", np.log))
    log1p = staticmethod(_unary("log1p(x)", np.log1p))
    expm1 = staticmethod(_unary("expm1(x)", np.expm1))
    sqrt = staticmethod(_unary("sqrt(x)", np.sqrt))
    sin = staticmethod(_unary("sin(x)", np.sin))
    cos = staticmethod(_unary("cos(x)", np.cos))
    tan = staticmethod(_unary("tan(x)", np.tan))
    tanh = staticmethod(_unary("tanh(x)", np.tanh))
    abs = staticmethod(_unary("abs(x)", np.abs))
    negative = staticmethod(_unary("-x", np.negative))

    add = staticmethod(_binary("x + y", np.add))
    subtract = staticmethod(_binary("x - y", np.subtract))
    multiply = staticmethod(_binary("x * y", np.multiply))
    divide = staticmethod(_binary("x / y", np.true_divide))
    power = staticmethod(_binary("x ** y", np.power))
    # NumPy's maximum/minimum propagate NaN from either side; so do these expressions.
    maximum = staticmethod(_binary("where((x >= y) | (x != x), x, y)", np.maximum))
    minimum = staticmethod(_binary("where((x <= y) | (x != x), x, y)", np.minimum))

    softmax = staticmethod(_softmax)
    log_softmax = staticmethod(_log_softmax)
    layer_norm = staticmethod(_layer_norm)


# Everything else: the reference's NumPy function itself (host memory, nothing to convert).
for _name, _attr in vars(NumpyBackend).items():
    if not _name.startswith("_") and _name not in vars(NumexprBackend) and _name not in (
            "name", "version", "ndarray"):
        setattr(NumexprBackend, _name, _attr)
del _name, _attr
