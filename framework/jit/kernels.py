"""Allocating primitives that write into a planned buffer (NumPy backend only).

The memory planner gives slots to results that never leave the program; ufuncs and
``matmul`` write into them with ``out=``. These primitives have no ``out=``, so on the
NumPy reference backend the executor runs them through the versions below, which fill a
given buffer with exactly what the primitive would return: ``zeros``/``empty`` (a refilled
buffer), ``pad`` in constant mode and ``im2col``. A large fresh array per step costs the
allocator, and often page faults, on every run; a slot costs nothing after the first.
Other backends (and a backend whose kernel replaces the reference one) call the primitive.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import fused as _fused
from ..backend import numpy_backend as _numpy_backend


def _zeros_into(out: np.ndarray) -> Any:
    def zeros_into(*args: Any, **kwargs: Any) -> np.ndarray:
        out.fill(0)
        return out
    return zeros_into


def _empty_into(out: np.ndarray) -> Any:
    def empty_into(*args: Any, **kwargs: Any) -> np.ndarray:
        return out
    return empty_into


def _pad_into(out: np.ndarray) -> Any:
    def pad_into(x: np.ndarray, pad_width: Any, **kwargs: Any) -> np.ndarray:
        mode = kwargs.get("mode", "constant")
        value = kwargs.get("constant_values", 0)
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
        if (mode != "constant" or set(kwargs) - {"mode", "constant_values"}
                or np.ndim(value) != 0 or (widths < 0).any() or x.dtype != out.dtype
                or tuple(int(a + b + n) for (a, b), n in zip(widths, x.shape, strict=True))
                != out.shape):
            return np.pad(x, pad_width, **kwargs)
        out.fill(value)
        inner = tuple(slice(int(a), int(a) + n) for (a, _), n in zip(widths, x.shape,
                                                                    strict=True))
        out[inner] = x
        return out
    return pad_into


def _im2col_into(out: np.ndarray) -> Any:
    def im2col_into(x: np.ndarray, kh: int, kw: int, stride: Any = (1, 1),
                    padding: Any = (0, 0), dilation: Any = (1, 1)) -> np.ndarray:
        (sh, sw), (ph, pw), (dh, dw) = (_fused._pair(stride), _fused._pair(padding),
                                        _fused._pair(dilation))
        n, c, h, w = x.shape
        ekh, ekw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
        oh = (h + 2 * ph - ekh) // sh + 1
        ow = (w + 2 * pw - ekw) // sw + 1
        if oh <= 0 or ow <= 0 or out.shape != (n, c * kh * kw, oh * ow) \
                or out.dtype != x.dtype:
            return _fused.im2col(x, kh, kw, stride, padding, dilation)
        if ph or pw:
            x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        win = np.lib.stride_tricks.sliding_window_view(x, (ekh, ekw), axis=(2, 3))
        win = win[:, :, : (oh - 1) * sh + 1: sh, : (ow - 1) * sw + 1: sw, ::dh, ::dw]
        np.copyto(out.reshape(n, c, kh, kw, oh, ow), win.transpose(0, 1, 4, 5, 2, 3))
        return out
    return im2col_into


_INTO = {"zeros": ("zeros", _zeros_into), "empty": ("empty", _empty_into),
         "pad": ("pad", _pad_into), "im2col": ("im2col", _im2col_into)}
_REFERENCE = {"zeros": np.zeros, "empty": np.empty, "pad": np.pad, "im2col": _fused.im2col}

PLANNED_ALLOCATIONS = frozenset(_INTO)


def into(op: str, bk: Any, out: np.ndarray) -> Any:
    """A callable that runs primitive ``op`` writing its result into ``out``, or ``None``
    when ``bk`` is not the NumPy reference (or replaced that primitive)."""
    entry = _INTO.get(op)
    if entry is None or type(bk) is not _numpy_backend.NumpyBackend:
        return None
    if getattr(bk, op) is not _REFERENCE[op]:
        return None
    return entry[1](out)
