"""Reductions over dimensions: sum, mean, max/min and friends."""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..tensor import Tensor
from ._util import normalize_dims, record, recording, wrap


def _expand_back(g: Tensor, shape: tuple, axes: tuple | None, keepdim: bool) -> Tensor:
    """Broadcast a reduced gradient back to the input's ``shape``."""
    from .shape import broadcast_to, reshape

    if not keepdim and axes is not None:
        kept = list(shape)
        for ax in axes:
            kept[ax] = 1
        g = reshape(g, tuple(kept))
    elif not keepdim:
        g = reshape(g, (1,) * len(shape))
    return broadcast_to(g, shape)


def sum(x: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:  # noqa: A001
    axes = normalize_dims(dim, x.ndim, "sum")
    want = _dt.as_dtype(dtype) if dtype is not None else (
        _dt.int64 if x.dtype.kind in "biu" else None)
    out = wrap(x._bk.sum(x.data, axis=axes, keepdims=keepdim, dtype=want), x._bk)
    if recording(x):
        shape = x.shape
        record(out, "Sum", (x,), lambda g: _expand_back(g, shape, axes, keepdim))
    return out


def mean(x: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    if x.dtype.kind != "f" and dtype is None:
        raise RuntimeError(
            f"mean(): could not infer output dtype; input dtype {x.dtype} is not floating. "
            "Pass dtype= or convert with .float()"
        )
    axes = normalize_dims(dim, x.ndim, "mean")
    count = x.numel() if axes is None else 1
    if axes is not None:
        for ax in axes:
            count *= x.shape[ax]
    s = sum(x, dim=dim, keepdim=keepdim, dtype=dtype)
    return s / float(count) if count else s / float("nan")


def _extreme(x: Tensor, dim: Any, keepdim: bool, name: str, prim: str) -> Tensor:
    axes = normalize_dims(dim, x.ndim, name)
    if x.numel() == 0:
        raise RuntimeError(f"{name}(): expected a non-empty tensor")
    out = wrap(getattr(x._bk, prim)(x.data, axis=axes, keepdims=keepdim), x._bk)
    if recording(x):
        shape = x.shape
        od = out.data

        def grad(g: Tensor) -> Tensor:
            # the gradient is shared evenly among the elements equal to the extreme
            ext = _expand_back(wrap(od, x._bk), shape, axes, keepdim)
            mask = (x == ext).astype(g.dtype)
            count = sum(mask, dim=axes, keepdim=True) if axes is not None else sum(mask)
            return _expand_back(g, shape, axes, keepdim) * mask / (
                count if axes is not None else count)

        record(out, name.capitalize(), (x,), grad, (x,))
    return out


def amax(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _extreme(x, dim, keepdim, "amax", "max")


def amin(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _extreme(x, dim, keepdim, "amin", "min")
