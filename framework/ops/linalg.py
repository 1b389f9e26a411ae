"""Matrix products."""

from __future__ import annotations

from ..tensor import Tensor
from ._util import binary_operands, record, recording, sum_to, wrap


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with NumPy's rules: batched, broadcast, 1-D operands promoted."""
    a, b = binary_operands(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError("matmul: both arguments need at least 1 dimension")
    try:
        data = a._bk.matmul(a.data, b.data)
    except ValueError:
        raise RuntimeError(
            f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied "
            f"({a.shape[-1]} != {b.shape[-2] if b.ndim > 1 else b.shape[0]})"
        ) from None
    out = wrap(data, a._bk)
    if recording(a, b):
        ra, rb = a.requires_grad, b.requires_grad

        def grad(g: Tensor) -> tuple:
            from .shape import unsqueeze

            a2 = unsqueeze(a, 0) if a.ndim == 1 else a
            b2 = unsqueeze(b, -1) if b.ndim == 1 else b
            g2 = g
            if a.ndim == 1:
                g2 = unsqueeze(g2, -2)
            if b.ndim == 1:
                g2 = unsqueeze(g2, -1)
            ga = gb = None
            if ra:
                ga = sum_to(matmul(g2, b2.mT), a2.shape).reshape(a.shape) if a2.ndim > 2 or \
                    g2.ndim > 2 else matmul(g2, b2.mT).reshape(a.shape)
            if rb:
                gb = sum_to(matmul(a2.mT, g2), b2.shape).reshape(b.shape) if b2.ndim > 2 or \
                    g2.ndim > 2 else matmul(a2.mT, g2).reshape(b.shape)
            return ga, gb

        record(out, "Matmul", (a, b), grad, (a, b))
    return out
