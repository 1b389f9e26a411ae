"""Helpers every op module uses: operand conversion, recording, gradient reduction."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend as _backend
from .. import dtypes as _dt
from ..autograd.graph import Node, grad_mode
from ..tensor import Tensor

wrap = Tensor._wrap


def record(out: Tensor, name: str, inputs: tuple, backward: Any, saved: tuple = ()) -> Tensor:
    """Attach a graph node to ``out``: ``backward(grad_out)`` returns the inputs' grads."""
    out.requires_grad = True
    out._node = Node(name, inputs, backward, saved)
    return out


def saved_output(out: Tensor) -> Tensor:
    """An alias of ``out`` for a gradient rule's ``saved`` tuple.

    A rule that reuses the forward's output array (exp, tanh, sigmoid, softmax, ...) must
    list this alias in ``saved``: it shares ``out``'s data and version counter, so modifying
    the output in place before backward raises instead of giving a wrong gradient, and it
    does not hold ``out`` itself (no reference cycle through the node).
    """
    alias = wrap(out.data, out._bk)
    alias._vc = out._share_vc()
    return alias


def recording(*tensors: Tensor) -> bool:
    """Whether an op on these tensors must be recorded."""
    if not grad_mode.enabled:
        return False
    for t in tensors:
        if t.requires_grad:
            return True
    return False


def as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    """``x`` as a tensor; Python scalars take their dtype from ``like`` (no widening)."""
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, (int, float, bool)) and not isinstance(x, np.ndarray):
        dt = _dt.scalar_dtype(x, like.dtype)
        return wrap(like._bk.asarray(x, dtype=dt), like._bk)
    return Tensor(x)


def binary_operands(a: Any, b: Any, op: str) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of one promoted dtype on one backend."""
    ta = isinstance(a, Tensor)
    tb = isinstance(b, Tensor)
    if ta and tb:
        if a.dtype is not b.dtype and a.dtype != b.dtype:
            dt = _dt.promote(a.dtype, b.dtype, a.ndim, b.ndim)
            if a.dtype != dt:
                a = cast(a, dt)
            if b.dtype != dt:
                b = cast(b, dt)
        if a._bk is not b._bk:
            raise RuntimeError(
                f"{op}: tensors are on different backends ({a._bk.name} and {b._bk.name}); "
                "move one with .to(name)"
            )
        return a, b
    if ta:
        if isinstance(b, (int, float, bool)):
            dt = _dt.scalar_dtype(b, a.dtype)
            if dt != a.dtype:
                a = cast(a, dt)
            return a, wrap(a._bk.asarray(b, dtype=dt), a._bk)
        return binary_operands(a, Tensor(b), op)
    if tb:
        b2, a2 = binary_operands(b, a, op)
        return a2, b2
    return binary_operands(Tensor(a), b, op)


def cast(x: Tensor, dtype: Any) -> Tensor:
    """``x`` converted to ``dtype``; differentiable between floating dtypes."""
    dt = _dt.as_dtype(dtype)
    if x.dtype == dt:
        return x
    out = wrap(x._bk.astype(x.data, dt), x._bk)
    if dt.kind == "f" and recording(x):
        src = x.dtype
        record(out, "Cast", (x,), lambda g: cast(g, src))
    return out


def sum_to(g: Tensor, shape: tuple) -> Tensor:
    """Sum ``g`` down to ``shape`` (undoes broadcasting); differentiable."""
    if g.shape == shape:
        return g
    from .reduction import sum as _sum
    from .shape import reshape

    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1
    )
    out = _sum(g, dim=axes, keepdim=True) if axes else g
    if lead:
        out = reshape(out, shape)
    return out


def normalize_dim(dim: int, ndim: int, op: str = "") -> int:
    if dim < -max(ndim, 1) or dim >= max(ndim, 1):
        raise IndexError(
            f"{op}: dimension {dim} out of range for a tensor of {ndim} dimensions"
        )
    return dim % ndim if ndim else 0


def normalize_dims(dim: Any, ndim: int, op: str = "") -> tuple[int, ...] | None:
    if dim is None:
        return None
    if isinstance(dim, int):
        return (normalize_dim(dim, ndim, op),)
    return tuple(sorted(normalize_dim(d, ndim, op) for d in dim))


def active_backend() -> Any:
    return _backend.active
