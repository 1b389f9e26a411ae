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
    (a 0-d tensor). The norm and the scale stay backend arrays (no Python number is read),
    so a step traced by ``framework.jit`` clips every batch by its own norm.
    """
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        from ..creation import tensor

        return tensor(0.0)
    bk = grads[0]._bk
    dt = grads[0].dtype
    norm_type = float(norm_type)
    with no_grad():
        if math.isinf(norm_type):
            reduce = bk.maximum if norm_type > 0 else bk.minimum
            total = None
            for g in grads:
                if not g.numel():
                    continue
                m = bk.max(bk.abs(g.data)) if norm_type > 0 else bk.min(bk.abs(g.data))
                m = bk.astype(bk.asarray(m), dt)
                total = m if total is None else reduce(total, m)
            if total is None:
                total = bk.zeros((), dt)
        else:
            acc = bk.zeros((), "float64")
            for g in grads:
                d = bk.astype(g.data, "float64")
                if norm_type == 2.0:
                    part = bk.sum(bk.multiply(d, d))
                elif norm_type == 1.0:
                    part = bk.sum(bk.abs(d))
                else:
                    part = bk.sum(bk.power(bk.abs(d), norm_type))
                acc = bk.add(acc, part)
            total = bk.astype(bk.asarray(bk.power(acc, 1.0 / norm_type)), dt)
        total_t = Tensor._wrap(total, bk)
        if error_if_nonfinite and not math.isfinite(total_t.item()):
            raise RuntimeError(
                f"the total norm of order {norm_type} for gradients is non-finite, so it "
                "cannot be clipped; pass error_if_nonfinite=False to clip anyway"
            )
        # coef = min(max_norm / (total + 1e-6), 1), as in PyTorch
        coef = bk.minimum(bk.divide(bk.asarray(float(max_norm), dtype="float64"),
                                    bk.add(bk.astype(total, "float64"), 1e-6)), 1.0)
        for g in grads:
            g.data = bk.multiply(g.data, bk.astype(coef, g.dtype))
            g._bump_version()
    return total_t


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
