"""Fused neural-network ops: each is one op with its forward on backend primitives and a
gradient rule written in framework ops (so double-backward works).

Fusing matters here because these ops dominate training time: ``linear`` is one matmul
plus a bias add, ``conv2d`` is one im2col plus one matrix product.
"""

from __future__ import annotations

from ..ops import matmul
from ..ops._util import binary_operands, cast, record, recording, wrap
from ..tensor import Tensor

# ----- linear --------------------------------------------------------------------------------


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    """``input @ weight.T + bias`` as one op (``weight`` is ``(out_features, in_features)``)."""
    x, w = binary_operands(input, weight, "linear")
    if w.ndim != 2:
        raise RuntimeError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                           f"{tuple(w.shape)}")
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise RuntimeError(
            f"linear: input of shape {tuple(x.shape)} does not match weight of shape "
            f"{tuple(w.shape)} (the last input dimension must be in_features={w.shape[1]})"
        )
    bk = x._bk
    y = bk.matmul(x.data, bk.transpose(w.data, (1, 0)))
    b = None
    if bias is not None:
        b = bias if bias.dtype == y.dtype else cast(bias, y.dtype)
        if tuple(b.shape) not in ((w.shape[0],), (1,), ()):
            raise RuntimeError(f"linear: bias of shape {tuple(b.shape)} does not match "
                               f"out_features={w.shape[0]}")
        y = bk.add(y, b.data, out=y) if y.ndim else bk.add(y, b.data)
    out = wrap(y, bk)
    if recording(x, w) or (b is not None and recording(b)):
        rx, rw = x.requires_grad, w.requires_grad
        rb = b is not None and b.requires_grad
        in_f, out_f = w.shape[1], w.shape[0]
        bshape = b.shape if b is not None else None

        def grad(g: Tensor) -> tuple:
            gx = matmul(g, w) if rx else None
            gw = gb = None
            if rw or rb:
                g2 = g.reshape(-1, out_f)
                if rw:
                    gw = matmul(g2.mT, x.reshape(-1, in_f))
                if rb:
                    gb = g2.sum(0).reshape(bshape)
            return gx, gw, gb

        record(out, "Linear", (x, w, b), grad, (x, w))
    return out


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """``y[..., o] = x1[..., i] · weight[o, i, j] · x2[..., j] + bias[o]``."""
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear: weight must be 3-D (out, in1, in2), got shape "
                           f"{tuple(weight.shape)}")
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(
            f"bilinear: inputs of shapes {tuple(input1.shape)} and {tuple(input2.shape)} do not "
            f"match weight of shape {tuple(weight.shape)}"
        )
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(
            f"bilinear: inputs must agree on batch dimensions, got {tuple(input1.shape)} and "
            f"{tuple(input2.shape)}"
        )
    out_f, in1, in2 = weight.shape
    lead = input1.shape[:-1]
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    # (B, in1) @ (in1, out*in2) -> (B, out, in2), then contract in2 with x2
    t = matmul(x1, weight.permute(1, 0, 2).reshape(in1, out_f * in2)).reshape(-1, out_f, in2)
    y = matmul(t, x2.reshape(-1, in2, 1)).reshape(-1, out_f)
    if bias is not None:
        y = y + bias
    return y.reshape(lead + (out_f,))

