"""Gradient clipping and flattening parameters to one vector (PyTorch's ``nn.utils``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..autograd import no_grad
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]


def _as_list(parameters: Any) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: Any = None) -> Tensor:
    """Scale the gradients in place so that their joint norm is at most ``max_norm``.

    The norm is taken over all gradients together, as if concatenated into one vector
    (``norm_type=float('inf')`` for the max norm). Returns the total norm before clipping
    (a 0-d tensor).
    """
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    from ..creation import tensor

    if not grads:
        return tensor(0.0)
    bk = grads[0]._bk
    norm_type = float(norm_type)
    with no_grad():
        if math.isinf(norm_type):
            per = [float(bk.max(bk.abs(g.data))) if g.numel() else 0.0 for g in grads]
            total = max(per) if norm_type > 0 else min(per)
        else:
            acc = 0.0
            for g in grads:
                d = g.data
                if norm_type == 2.0:
                    acc += float(bk.sum(bk.multiply(d, d), dtype="float64"))
                else:
                    acc += float(bk.sum(bk.power(bk.abs(d).astype("float64"), norm_type)))
            total = acc ** (1.0 / norm_type)
        if error_if_nonfinite and not math.isfinite(total):
            raise RuntimeError(
                f"the total norm of order {norm_type} for gradients is non-finite, so it "
                "cannot be clipped; pass error_if_nonfinite=False to clip anyway"
            )
        coef = float(max_norm) / (total + 1e-6)
        if coef < 1.0:
            for g in grads:
                g.data = bk.multiply(g.data, bk.asarray(coef, dtype=g.dtype))
                g._bump_version()
    return tensor(total, dtype=grads[0].dtype)


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float,
                     foreach: Any = None) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        g = p.grad
        if g is not None:
            g.data = g._bk.clip(g.data, -clip_value, clip_value).astype(g.dtype, copy=False)
            g._bump_version()


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (a copy)."""
    params = _as_list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: no parameters given")
    bk = params[0]._bk
    dt = params[0].dtype
    for p in params:
        if p._bk is not bk:
            raise RuntimeError("parameters_to_vector: parameters live on different backends")
    data = bk.concatenate([bk.reshape(p.data, (-1,)).astype(dt, copy=False) for p in params])
    return Tensor._wrap(data, bk)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters (the inverse of
    ``parameters_to_vector``)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected a Tensor, got {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters: expected a 1-D tensor, got shape "
                         f"{tuple(vec.shape)}")
    params = _as_list(parameters)
    total = sum(p.numel() for p in params)
    if vec.numel() != total:
        raise ValueError(
            f"vector_to_parameters: the vector has {vec.numel()} elements but the parameters "
            f"have {total}"
        )
    pos = 0
    for p in params:
        n = p.numel()
        chunk = vec.data[pos:pos + n].reshape(p.shape)
        p._bk.setitem(p.data, Ellipsis, p._bk.astype(chunk, p.dtype))
        p._bump_version()
        pos += n
