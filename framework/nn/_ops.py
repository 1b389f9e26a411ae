"""Fused neural-network ops: each is one op with its forward on backend primitives and a
gradient rule written in framework ops (so double-backward works).

Fusing matters here because these ops dominate training time: ``linear`` is one matmul
plus a bias add, ``conv2d`` is one im2col plus one matrix product.
"""

from __future__ import annotations

import math
from typing import Any

from .. import dtypes as _dt
from ..autograd.graph import grad_mode
from ..ops import matmul
from ..ops._util import binary_operands, cast, record, recording, wrap
from ..tensor import Tensor

# ----- linear --------------------------------------------------------------------------------


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    """``input @ weight.T + bias`` as one op (``weight`` is ``(out_features, in_features)``)."""
    x, w = binary_operands(input, weight, "linear")
    xd, wd = x.data, w.data  # shapes read from the arrays: a layer call is on the hot path
    wshape = wd.shape
    if len(wshape) != 2:
        raise RuntimeError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                           f"{tuple(w.shape)}")
    if xd.ndim == 0 or xd.shape[-1] != wshape[1]:
        raise RuntimeError(
            f"linear: input of shape {tuple(x.shape)} does not match weight of shape "
            f"{tuple(w.shape)} (the last input dimension must be in_features={w.shape[1]})"
        )
    bk = x._bk
    lead = xd.shape[:-1]
    if len(lead) > 1:
        # (..., in) as one (rows, in) matrix: one large product instead of a batch of small
        # ones (about a quarter faster for a sequence model's layers, the same sums)
        y = bk.matmul(bk.reshape(xd, (math.prod(lead), wshape[1])), bk.transpose(wd, (1, 0)))
    else:
        y = bk.matmul(xd, bk.transpose(wd, (1, 0)))
    b = None
    if bias is not None:
        b = bias if bias.data.dtype == y.dtype else cast(bias, y.dtype)
        bd = b.data
        if bd.shape not in ((wshape[0],), (1,), ()):
            raise RuntimeError(f"linear: bias of shape {tuple(b.shape)} does not match "
                               f"out_features={w.shape[0]}")
        y = bk.add(y, bd, out=y) if y.ndim else bk.add(y, bd)
    if len(lead) > 1:
        y = bk.reshape(y, lead + (wshape[0],))
    out = wrap(y, bk)
    if grad_mode.enabled and (x.requires_grad or w.requires_grad
                              or (b is not None and b.requires_grad)):
        rx, rw = x.requires_grad, w.requires_grad
        rb = b is not None and b.requires_grad
        in_f, out_f = w.shape[1], w.shape[0]
        bshape = b.shape if b is not None else None

        def grad(g: Tensor) -> tuple:
            if not grad_mode.enabled and g.dtype == w.dtype and g.dtype in _FAST_FLOATS:
                # plain backward: the products straight on the arrays (no op bookkeeping)
                return _linear_grad_arrays(g.data, x.data, w.data, rx, rw, rb, bshape, bk,
                                           x._node is None)
            gx = matmul(g, w) if rx else None
            gw = gb = None
            if rw or rb:
                g2 = g if g.ndim == 2 else g.reshape(-1, out_f)
                if rw:
                    gw = matmul(g2.mT, x if x.ndim == 2 else x.reshape(-1, in_f))
                if rb:
                    gb = g2.sum(0)
                    if gb.shape != bshape:
                        gb = gb.reshape(bshape)
            return gx, gw, gb

        record(out, "Linear", (x, w, b), grad, (x, w))
    return out


_FAST_FLOATS = (_dt.float32, _dt.float64)


def _linear_grad_arrays(g: Any, x: Any, w: Any, rx: bool, rw: bool, rb: bool,
                        bshape: Any, bk: Any, x_is_leaf: bool = False) -> tuple:
    """Linear's gradients computed on arrays, for a backward that records nothing."""
    wrap_ = wrap
    gx = None
    if rx:
        if g.ndim > 2 and not x_is_leaf:
            # one (rows, out) @ (out, in) product, as in the forward (a leaf's .grad gets the
            # batched product: a reshaped result would be copied there)
            rows = math.prod(g.shape[:-1])
            gx = bk.reshape(bk.matmul(bk.reshape(g, (rows, w.shape[0])), w), x.shape)
        else:
            gx = bk.matmul(g, w)
        gx = wrap_(gx, bk)
    gw = gb = None
    if rw or rb:
        out_f = w.shape[0]
        g2 = g if g.ndim == 2 else bk.reshape(g, (-1, out_f))
        if rw:
            x2 = x if x.ndim == 2 else bk.reshape(x, (-1, w.shape[1]))
            gw = wrap_(bk.matmul(bk.transpose(g2, (1, 0)), x2), bk)
        if rb:
            s = bk.sum(g2, axis=0)
            gb = wrap_(s if s.shape == tuple(bshape) else bk.reshape(s, tuple(bshape)), bk)
    return gx, gw, gb


def _layer_norm_grad_arrays(g: Any, xhat: Any, rstd: Any, weight: Tensor | None, rx: bool,
                            rw: bool, rb: bool, m: int, shape: tuple, nshape: tuple,
                            bk: Any) -> tuple:
    """Layer norm's gradients on arrays, for a backward that records nothing: the same
    arithmetic as the recorded rule, with its temporaries reused."""
    g2 = bk.reshape(g, (-1, m))
    gx = gw = gb = None
    if rw:
        gw = wrap(bk.reshape(bk.sum(bk.multiply(g2, xhat), axis=0), nshape), bk)
    if rb:
        gb = wrap(bk.reshape(bk.sum(g2, axis=0), nshape), bk)
    if rx:
        gxh = bk.multiply(g2, bk.reshape(weight.data, (1, m))) if weight is not None else g2
        inv_m = 1.0 / m
        mean_g = bk.multiply(bk.sum(gxh, axis=1, keepdims=True), inv_m)
        t = bk.multiply(gxh, xhat)
        mean_gx = bk.multiply(bk.sum(t, axis=1, keepdims=True), inv_m)
        inner = bk.subtract(gxh, mean_g)
        inner = bk.subtract(inner, bk.multiply(xhat, mean_gx, out=t), out=inner)
        gx = wrap(bk.reshape(bk.multiply(rstd, inner, out=inner), shape), bk)
    return gx, gw, gb


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



# ----- convolution ---------------------------------------------------------------------------
#
# A convolution y = conv(x, w) is bilinear, and its two partial adjoints are ops of the same
# family, so three ops close under differentiation (double-backward needs nothing more):
#   conv2d(x, w)                   -> y    grads: conv2d_input(g, w),  conv2d_weight(x, g)
#   conv2d_input(g, w)  (= conv^T) -> dx   grads: conv2d(h, w),        conv2d_weight(h, g)
#   conv2d_weight(x, g)            -> dw   grads: conv2d_input(g, k),  conv2d(x, k)
# ``geo`` = (stride, padding (top, bottom, left, right), dilation, groups) is shared by all.


def _pads(bk: Any, x: Any, pad: tuple, value: float = 0.0) -> tuple[Any, tuple]:
    """Asymmetric padding done here; symmetric padding is left to im2col."""
    pt, pb, pl, pr = pad
    if pt == pb and pl == pr:
        return x, (pt, pl)
    x = bk.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=value)
    return x, (0, 0)


def _out_size(size: int, lo: int, hi: int, k: int, s: int, d: int) -> int:
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


def _conv_fwd(bk: Any, x: Any, w: Any, geo: tuple) -> tuple[Any, Any]:
    """Forward on arrays: ``(y, cols)``; cols (N, C*kh*kw, OH*OW) is kept for the weight grad."""
    stride, pad, dil, groups = geo
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    xp, sym = _pads(bk, x, pad)
    oh = _out_size(x.shape[2], pad[0], pad[1], kh, stride[0], dil[0])
    ow = _out_size(x.shape[3], pad[2], pad[3], kw, stride[1], dil[1])
    cols = bk.im2col(xp, kh, kw, stride, sym, dil)
    k = cg * kh * kw
    if groups == 1:
        y = bk.matmul(bk.reshape(w, (o, k)), cols)
    else:
        y = bk.matmul(bk.reshape(w, (groups, o // groups, k)),
                      bk.reshape(cols, (n, groups, k, oh * ow)))
    return bk.reshape(y, (n, o, oh, ow)), cols


def _conv_dx(bk: Any, g: Any, w: Any, xshape: tuple, geo: tuple) -> Any:
    """Input gradient on arrays: col2im(wᵀ · g) (a transposed convolution)."""
    stride, pad, dil, groups = geo
    n, o, oh, ow = g.shape
    _, cg, kh, kw = w.shape
    k = cg * kh * kw
    if groups == 1 and stride == (1, 1):
        return _conv_dx_rows(bk, g, w, xshape, pad, dil)
    if groups == 1:
        dcols = bk.matmul(bk.transpose(bk.reshape(w, (o, k)), (1, 0)),
                          bk.reshape(g, (n, o, oh * ow)))
    else:
        wg = bk.transpose(bk.reshape(w, (groups, o // groups, k)), (0, 2, 1))
        dcols = bk.matmul(wg, bk.reshape(g, (n, groups, o // groups, oh * ow)))
    pt, pb, pl, pr = pad
    h, wd = xshape[2], xshape[3]
    hp, wp = h + pt + pb, wd + pl + pr
    # the padded extent the windows actually cover (floor division may leave a margin)
    hfit = (oh - 1) * stride[0] + dil[0] * (kh - 1) + 1
    wfit = (ow - 1) * stride[1] + dil[1] * (kw - 1) + 1
    if (hfit, wfit) == (hp, wp) and pt == pb and pl == pr:
        return bk.col2im(dcols, (n, xshape[1], h, wd), kh, kw, stride, (pt, pl), dil)
    full = bk.col2im(dcols, (n, xshape[1], hfit, wfit), kh, kw, stride, (0, 0), dil)
    if (hfit, wfit) != (hp, wp):
        full = bk.pad(full, ((0, 0), (0, 0), (0, hp - hfit), (0, wp - wfit)))
    return bk.getitem(full, (slice(None), slice(None), slice(pt, pt + h), slice(pl, pl + wd)))


def _conv_dx_rows(bk: Any, g: Any, w: Any, xshape: tuple, pad: tuple, dil: tuple) -> Any:
    """The input gradient of a stride-1 convolution, summed on flat image rows.

    ``g`` is padded to the padded input's width first, so the product wᵀ · g lays each
    kernel offset's patch out at the image's row pitch: its contribution is then one
    contiguous shifted add into the flat image (long inner loops, where col2im adds
    short strided rows). The padding columns are zeros, so the adds that run past a row's
    end add nothing. The same sums in the same order as col2im.
    """
    n, o, oh, ow = g.shape
    _, cg, kh, kw = w.shape
    c = xshape[1]
    pt, pb, pl, pr = pad
    h, wd = xshape[2], xshape[3]
    hp, wp = h + pt + pb, wd + pl + pr
    if wp != ow:
        g = bk.pad(g, ((0, 0), (0, 0), (0, 0), (0, wp - ow)))
    rows = oh * wp
    dcols = bk.matmul(bk.transpose(bk.reshape(w, (o, cg * kh * kw)), (1, 0)),
                      bk.reshape(g, (n, o, rows)))
    dcols = bk.reshape(dcols, (n, c, kh, kw, rows))
    size = hp * wp
    full = bk.zeros((n, c, size), dcols.dtype)
    every = slice(None)
    for i in range(kh):
        for j in range(kw):
            off = i * dil[0] * wp + j * dil[1]
            m = min(rows, size - off)  # what runs past the image is padding (zeros)
            dst = bk.getitem(full, (every, every, slice(off, off + m)))
            bk.add(dst, bk.getitem(dcols, (every, every, i, j, slice(0, m))), out=dst)
    full = bk.reshape(full, (n, c, hp, wp))
    if (hp, wp) == (h, wd):
        return full
    return bk.getitem(full, (every, every, slice(pt, pt + h), slice(pl, pl + wd)))


def _conv_dw(bk: Any, x: Any, g: Any, wshape: tuple, geo: tuple, cols: Any = None) -> Any:
    """Weight gradient on arrays: g · colsᵀ summed over the batch."""
    stride, pad, dil, groups = geo
    n, o, oh, ow = g.shape
    _, cg, kh, kw = wshape
    if cols is None:
        xp, sym = _pads(bk, x, pad)
        cols = bk.im2col(xp, kh, kw, stride, sym, dil)
    k = cg * kh * kw
    if groups == 1:
        dw = bk.matmul(bk.reshape(g, (n, o, oh * ow)), bk.transpose(cols, (0, 2, 1)))
        dw = bk.sum(dw, axis=0)
    else:
        gg = bk.reshape(g, (n, groups, o // groups, oh * ow))
        cc = bk.transpose(bk.reshape(cols, (n, groups, k, oh * ow)), (0, 1, 3, 2))
        dw = bk.sum(bk.matmul(gg, cc), axis=0)
    return bk.reshape(dw, wshape)


def _conv2d(x: Tensor, w: Tensor, geo: tuple, b: Tensor | None = None) -> Tensor:
    bk = x._bk
    y, cols = _conv_fwd(bk, x.data, w.data, geo)
    if b is not None:
        # the bias is added in place into the fresh product: one pass fewer than an add op
        y = bk.add(y, bk.reshape(b.data, (1, -1, 1, 1)), out=y)
    out = wrap(y, bk)
    if recording(x, w) or b is not None and recording(b):
        rx, rw = x.requires_grad, w.requires_grad
        rb = b is not None and b.requires_grad

        def grad(g: Tensor) -> tuple:
            gx = _conv2d_input(g, w, x.shape, geo) if rx else None
            gw = None
            if rw:
                # the forward's patches are reused unless the gradient must be recorded
                gw = _conv2d_weight(x, g, w.shape, geo,
                                    None if grad_mode.enabled else cols)
            gb = g.sum((0, 2, 3)) if rb else None
            return gx, gw, gb

        record(out, "Conv2d", (x, w, b), grad, (x, w))
    return out


def _conv2d_input(g: Tensor, w: Tensor, xshape: tuple, geo: tuple) -> Tensor:
    bk = g._bk
    out = wrap(_conv_dx(bk, g.data, w.data, xshape, geo), bk)
    if recording(g, w):
        rg, rw = g.requires_grad, w.requires_grad

        def grad(h: Tensor) -> tuple:
            return (_conv2d(h, w, geo) if rg else None,
                    _conv2d_weight(h, g, w.shape, geo) if rw else None)

        record(out, "ConvTranspose2d", (g, w), grad, (g, w))
    return out


def _conv2d_weight(x: Tensor, g: Tensor, wshape: tuple, geo: tuple, cols: Any = None) -> Tensor:
    bk = x._bk
    out = wrap(_conv_dw(bk, x.data, g.data, wshape, geo, cols), bk)
    if recording(x, g):
        rx, rg = x.requires_grad, g.requires_grad

        def grad(k: Tensor) -> tuple:
            return (_conv2d_input(g, k, x.shape, geo) if rx else None,
                    _conv2d(x, k, geo) if rg else None)

        record(out, "Conv2dWeight", (x, g), grad, (x, g))
    return out


def _pair(v: Any, name: str) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            return int(v[0]), int(v[0])
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation of NCHW ``input`` with OIHW ``weight`` (one im2col + one matmul).

    ``padding`` is an int, a pair, ``"valid"`` (none) or ``"same"`` (output size = input
    size, stride 1 only; an even kernel pads one more on the bottom/right, as PyTorch does).
    """
    x, w = binary_operands(input, weight, "conv2d")
    if w.ndim != 4:
        raise RuntimeError(f"conv2d: weight must be 4-D (out, in/groups, kh, kw), got shape "
                           f"{tuple(w.shape)}")
    if x.ndim not in (3, 4):
        raise RuntimeError(f"conv2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got "
                           f"shape {tuple(x.shape)}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1,) + x.shape)
    if groups < 1 or x.shape[1] % groups or w.shape[0] % groups:
        raise RuntimeError(
            f"conv2d: groups={groups} must divide both the input channels ({x.shape[1]}) and "
            f"the output channels ({w.shape[0]})"
        )
    if x.shape[1] != w.shape[1] * groups:
        raise RuntimeError(
            f"conv2d: input of shape {tuple(x.shape)} has {x.shape[1]} channels but weight of "
            f"shape {tuple(w.shape)} expects {w.shape[1] * groups} (in/groups={w.shape[1]}, "
            f"groups={groups})"
        )
    stride = _pair(stride, "stride")
    dilation = _pair(dilation, "dilation")
    kh, kw = w.shape[2], w.shape[3]
    if isinstance(padding, str):
        if padding == "valid":
            pad = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise RuntimeError("conv2d: padding='same' is not supported for strided "
                                   "convolutions")
            th, tw = dilation[0] * (kh - 1), dilation[1] * (kw - 1)
            pad = (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        else:
            raise ValueError(f"conv2d: padding must be an int, a pair, 'same' or 'valid', got "
                             f"{padding!r}")
    else:
        ph, pw = _pair(padding, "padding")
        pad = (ph, ph, pw, pw)
    if min(stride) < 1 or min(dilation) < 1 or min(pad) < 0:
        raise RuntimeError(f"conv2d: stride and dilation must be >= 1 and padding >= 0, got "
                           f"stride={stride}, dilation={dilation}, padding={pad}")
    oh = _out_size(x.shape[2], pad[0], pad[1], kh, stride[0], dilation[0])
    ow = _out_size(x.shape[3], pad[2], pad[3], kw, stride[1], dilation[1])
    if oh <= 0 or ow <= 0:
        raise RuntimeError(
            f"conv2d: kernel {kh}x{kw} (dilation {dilation}) is larger than the padded input "
            f"{x.shape[2] + pad[0] + pad[1]}x{x.shape[3] + pad[2] + pad[3]}"
        )
    b = None
    if bias is not None:
        if tuple(bias.shape) != (w.shape[0],):
            raise RuntimeError(f"conv2d: bias of shape {tuple(bias.shape)} does not match the "
                               f"{w.shape[0]} output channels")
        b = bias if bias.dtype == x.dtype else cast(bias, x.dtype)
    out = _conv2d(x, w, (stride, pad, dilation, groups), b)
    return out.reshape(out.shape[1:]) if unbatched else out


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation of NCL ``input`` with OIK ``weight`` (a conv2d of height 1)."""
    if weight.ndim != 3:
        raise RuntimeError(f"conv1d: weight must be 3-D (out, in/groups, k), got shape "
                           f"{tuple(weight.shape)}")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"conv1d: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape "
                           f"{tuple(input.shape)}")
    unbatched = input.ndim == 2
    x = input.reshape((1,) + input.shape) if unbatched else input
    x = x.reshape(x.shape[0], x.shape[1], 1, x.shape[2])
    w = weight.reshape(weight.shape[0], weight.shape[1], 1, weight.shape[2])
    one = lambda v: v[0] if isinstance(v, (tuple, list)) else v  # noqa: E731
    pad = padding if isinstance(padding, str) else (0, one(padding))
    out = conv2d(x, w, bias, (1, one(stride)), pad, (1, one(dilation)), groups)
    out = out.reshape(out.shape[0], out.shape[1], out.shape[3])
    return out.reshape(out.shape[1:]) if unbatched else out


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Tensor:
    """Transposed 2-D convolution (the input gradient of ``conv2d``); ``weight`` is
    ``(in, out/groups, kh, kw)``."""
    x, w = binary_operands(input, weight, "conv_transpose2d")
    if w.ndim != 4:
        raise RuntimeError(f"conv_transpose2d: weight must be 4-D (in, out/groups, kh, kw), "
                           f"got shape {tuple(w.shape)}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1,) + x.shape)
    if x.ndim != 4:
        raise RuntimeError(f"conv_transpose2d: expected a 3-D or 4-D input, got shape "
                           f"{tuple(x.shape)}")
    if x.shape[1] != w.shape[0] or w.shape[0] % groups:
        raise RuntimeError(
            f"conv_transpose2d: input of shape {tuple(x.shape)} has {x.shape[1]} channels but "
            f"weight of shape {tuple(w.shape)} expects {w.shape[0]} (groups={groups})"
        )
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    ph, pw = _pair(padding, "padding")
    oph, opw = _pair(output_padding, "output_padding")
    if not (0 <= oph < stride[0] and 0 <= opw < stride[1]):
        raise RuntimeError(
            f"conv_transpose2d: output_padding {(oph, opw)} must be smaller than the stride "
            f"{stride}"
        )
    kh, kw = w.shape[2], w.shape[3]
    h = (x.shape[2] - 1) * stride[0] - 2 * ph + dilation[0] * (kh - 1) + oph + 1
    wd = (x.shape[3] - 1) * stride[1] - 2 * pw + dilation[1] * (kw - 1) + opw + 1
    if h <= 0 or wd <= 0:
        raise RuntimeError(f"conv_transpose2d: the output size {(h, wd)} is not positive")
    xshape = (x.shape[0], w.shape[1] * groups, h, wd)
    out = _conv2d_input(x, w, xshape, (stride, (ph, ph, pw, pw), dilation, groups))
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out.reshape(out.shape[1:]) if unbatched else out


# ----- sliding windows: unfold / fold and pooling -------------------------------------------
#
# unfold (im2col) and fold (col2im) are adjoint linear ops, each the other's gradient.
# Pooling gradients are written with them, so they are differentiable too.


def _window_geo(x: Tensor, kernel_size: Any, dilation: Any, padding: Any, stride: Any,
                op: str) -> tuple:
    kh, kw = _pair(kernel_size, "kernel_size")
    dil = _pair(dilation, "dilation")
    pad = _pair(padding, "padding")
    st = _pair(stride if stride is not None else (kh, kw), "stride")
    if min(kh, kw, *dil, *st) < 1 or min(pad) < 0:
        raise RuntimeError(f"{op}: kernel_size, stride and dilation must be >= 1 and padding "
                           f">= 0, got kernel_size={(kh, kw)}, stride={st}, padding={pad}, "
                           f"dilation={dil}")
    return kh, kw, st, pad, dil


def _unfold(x: Tensor, kh: int, kw: int, st: tuple, pad: tuple, dil: tuple) -> Tensor:
    bk = x._bk
    out = wrap(bk.im2col(x.data, kh, kw, st, pad, dil), bk)
    if recording(x):
        shape = x.shape
        record(out, "Unfold", (x,), lambda g: _fold(g, shape, kh, kw, st, pad, dil))
    return out


def _fold(cols: Tensor, shape: tuple, kh: int, kw: int, st: tuple, pad: tuple,
          dil: tuple) -> Tensor:
    bk = cols._bk
    out = wrap(bk.col2im(cols.data, shape, kh, kw, st, pad, dil), bk)
    if recording(cols):
        record(out, "Fold", (cols,), lambda g: _unfold(g, kh, kw, st, pad, dil))
    return out


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0,  # noqa: A002
           stride: Any = 1) -> Tensor:
    """Sliding patches of an NCHW batch as ``(N, C*kh*kw, L)`` (im2col)."""
    if input.ndim != 4:
        raise RuntimeError(f"unfold: expected a 4-D (N, C, H, W) input, got shape "
                           f"{tuple(input.shape)}")
    kh, kw, st, pad, dil = _window_geo(input, kernel_size, dilation, padding, stride, "unfold")
    _check_fits(input.shape, kh, kw, st, pad, dil, "unfold")
    return _unfold(input, kh, kw, st, pad, dil)


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1,  # noqa: A002
         padding: Any = 0, stride: Any = 1) -> Tensor:
    """Sum patches ``(N, C*kh*kw, L)`` back into an ``(N, C, *output_size)`` image (col2im)."""
    kh, kw, st, pad, dil = _window_geo(input, kernel_size, dilation, padding, stride, "fold")
    h, w = _pair(output_size, "output_size")
    if input.ndim != 3 or input.shape[1] % (kh * kw):
        raise RuntimeError(f"fold: expected a 3-D input whose dimension 1 is a multiple of "
                           f"kh*kw={kh * kw}, got shape {tuple(input.shape)}")
    oh = _out_size(h, pad[0], pad[0], kh, st[0], dil[0])
    ow = _out_size(w, pad[1], pad[1], kw, st[1], dil[1])
    if oh * ow != input.shape[2]:
        raise RuntimeError(f"fold: output_size {(h, w)} gives {oh}x{ow}={oh * ow} windows but "
                           f"the input has {input.shape[2]}")
    return _fold(input, (input.shape[0], input.shape[1] // (kh * kw), h, w), kh, kw, st, pad,
                 dil)


def _check_fits(shape: tuple, kh: int, kw: int, st: tuple, pad: tuple, dil: tuple,
                op: str) -> tuple[int, int]:
    oh = _out_size(shape[2], pad[0], pad[0], kh, st[0], dil[0])
    ow = _out_size(shape[3], pad[1], pad[1], kw, st[1], dil[1])
    if oh <= 0 or ow <= 0:
        raise RuntimeError(f"{op}: kernel {kh}x{kw} (dilation {dil}) does not fit the padded "
                           f"input {shape[2] + 2 * pad[0]}x{shape[3] + 2 * pad[1]}")
    return oh, ow


def _pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    # as PyTorch: the last window must start inside the input or the left padding
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_setup(x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                ceil_mode: bool, op: str) -> tuple:
    if x.ndim not in (3, 4):
        raise RuntimeError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got "
                           f"shape {tuple(x.shape)}")
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        stride = kernel_size
    kh, kw, st, pad, dil = _window_geo(x, kernel_size, dilation, padding, stride, op)
    if pad[0] > kh // 2 or pad[1] > kw // 2:
        raise RuntimeError(f"{op}: padding {pad} should be at most half of the kernel size "
                           f"{(kh, kw)}")
    h, w = x.shape[-2], x.shape[-1]
    oh = _pool_out(h, kh, st[0], pad[0], dil[0], ceil_mode)
    ow = _pool_out(w, kw, st[1], pad[1], dil[1], ceil_mode)
    if oh <= 0 or ow <= 0:
        raise RuntimeError(f"{op}: kernel {(kh, kw)} does not fit the padded input "
                           f"{(h + 2 * pad[0], w + 2 * pad[1])}")
    # extra bottom/right padding so that exactly oh x ow windows fit (ceil_mode)
    eh = max(0, (oh - 1) * st[0] + dil[0] * (kh - 1) + 1 - (h + 2 * pad[0]))
    ew = max(0, (ow - 1) * st[1] + dil[1] * (kw - 1) + 1 - (w + 2 * pad[1]))
    return kh, kw, st, pad, dil, oh, ow, eh, ew


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               dilation: Any = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """Maximum over sliding windows; ``return_indices=True`` also gives the flat position
    (``h * W + w``) of each maximum, as PyTorch does. The gradient goes to that element."""
    x = input
    unbatched = x.ndim == 3
    kh, kw, st, pad, dil, oh, ow, eh, ew = _pool_setup(
        x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    if unbatched:
        x = x.reshape((1,) + x.shape)
    bk = x._bk
    n, c, h, w = x.shape
    xd = x.data
    if (st == (kh, kw) and pad == (0, 0) and dil == (1, 1) and not (eh or ew)
            and not return_indices and xd.size):
        out = _max_pool_tiles(x, kh, kw, oh, ow)
        return out.reshape(out.shape[1:]) if unbatched else out
    fill = -float("inf") if x.dtype.kind == "f" else bk.min(xd) if xd.size else 0
    if pad != (0, 0) or eh or ew:
        xd = bk.pad(xd, ((0, 0), (0, 0), (pad[0], pad[0] + eh), (pad[1], pad[1] + ew)),
                    constant_values=fill)
    kk = kh * kw
    # scan the kernel offsets over strided views of the input (no window copy): the first
    # maximum wins, as in PyTorch
    vals = idx = None
    is_float = x.dtype.kind == "f"
    for k in range(kk):
        i, j = divmod(k, kw)
        view = bk.getitem(xd, (slice(None), slice(None),
                               slice(i * dil[0], i * dil[0] + (oh - 1) * st[0] + 1, st[0]),
                               slice(j * dil[1], j * dil[1] + (ow - 1) * st[1] + 1, st[1])))
        if vals is None:
            vals = bk.copy(view)
            idx = bk.zeros((n, c, oh, ow), "int64")
            continue
        better = bk.greater(view, vals)
        if is_float:
            better = bk.logical_or(better, bk.isnan(view))  # NaN propagates, as in PyTorch
        vals = bk.where(better, view, vals)
        idx = bk.where(better, k, idx)
    out = wrap(vals, bk)
    if recording(x):
        full = (n, c, h + 2 * pad[0] + eh, w + 2 * pad[1] + ew)
        hit = wrap(bk.equal(bk.reshape(bk.arange(kk), (1, 1, kk, 1)),
                            bk.reshape(idx, (n, c, 1, oh * ow))), bk)

        def grad(g: Tensor) -> Tensor:
            cols = (g.reshape(n, c, 1, oh * ow) * hit.astype(g.dtype)).reshape(n, c * kk,
                                                                               oh * ow)
            gx = _fold(cols, full, kh, kw, st, (0, 0), dil)
            if full[2:] != (h, w):
                gx = gx[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + w]
            return gx

        record(out, "MaxPool2d", (x,), grad)
    if unbatched:
        out = out.reshape(out.shape[1:])
    if not return_indices:
        return out
    # window offset -> input coordinates: h = oh*sh - ph + (k // kw)*dh, likewise w
    off_h = bk.asarray([(k // kw) * dil[0] for k in range(kk)], dtype="int64")
    off_w = bk.asarray([(k % kw) * dil[1] for k in range(kk)], dtype="int64")
    start_h = bk.asarray([[i * st[0] - pad[0]] for i in range(oh)], dtype="int64")
    start_w = bk.asarray([[j * st[1] - pad[1] for j in range(ow)]], dtype="int64")
    idx4 = bk.reshape(idx, (n, c, oh, ow))
    hh = bk.add(start_h, bk.take(off_h, idx4))
    ww = bk.add(start_w, bk.take(off_w, idx4))
    indices = wrap(bk.add(bk.multiply(hh, w), ww), bk)
    if unbatched:
        indices = indices.reshape(indices.shape[1:])
    return out, indices


def _max_pool_tiles(x: Tensor, kh: int, kw: int, oh: int, ow: int) -> Tensor:
    """Max pooling over windows that tile the input (stride = kernel, no padding or
    dilation: the common ``MaxPool2d(k)``), on the kh*kw strided views of the window offsets.

    The same results as the general scan: NaN wins its window, the gradient goes to the
    first maximum of a window, or to its last NaN (as PyTorch picks them).
    """
    bk = x._bk
    n, c = x.shape[0], x.shape[1]
    xd = x.data
    views = [bk.getitem(xd, (slice(None), slice(None), slice(i, oh * kh, kh),
                             slice(j, ow * kw, kw)))
             for i in range(kh) for j in range(kw)]
    if len(views) == 1:
        vals = bk.copy(views[0])
    else:
        vals = bk.maximum(views[0], views[1])  # NaN propagates
        for v in views[2:]:
            bk.maximum(vals, v, out=vals)
    out = wrap(vals, bk)
    if not recording(x):
        return out
    # which element of each window receives the gradient: the first equal to the maximum
    # (a scan that keeps earlier hits), or in a window holding NaN its last NaN
    hits = []
    taken = None
    for v in views:
        eq = bk.equal(v, vals)
        if taken is None:
            hit = taken = eq
        else:
            hit = bk.greater(eq, taken)  # eq and not taken
            taken = bk.logical_or(taken, hit)
        hits.append(hit)
    if x.dtype.kind == "f":
        seen = None
        for k in range(len(views) - 1, -1, -1):
            nan = bk.isnan(views[k])
            if seen is None:
                last, seen = nan, nan
            else:
                last = bk.greater(nan, seen)
                seen = bk.logical_or(seen, last)
            hits[k] = bk.logical_or(hits[k], last)
    shape = x.shape
    cropped = (shape[2], shape[3]) != (oh * kh, ow * kw)

    def grad(g: Tensor) -> Tensor:
        if grad_mode.enabled:
            # recorded (higher-order gradients): spread g with framework ops, as the scan does
            kk = kh * kw
            hit = wrap(bk.concatenate([bk.reshape(hk, (n, c, 1, oh * ow)) for hk in hits],
                                      axis=2), bk)
            cols = (g.reshape(n, c, 1, oh * ow) * hit.astype(g.dtype)).reshape(
                n, c * kk, oh * ow)
            return _fold(cols, shape, kh, kw, (kh, kw), (0, 0), (1, 1))
        gd = g.data
        gx = bk.zeros(shape, gd.dtype) if cropped else bk.empty(shape, gd.dtype)
        for k, hk in enumerate(hits):
            i, j = divmod(k, kw)
            bk.multiply(gd, hk, out=bk.getitem(gx, (slice(None), slice(None),
                                                    slice(i, oh * kh, kh),
                                                    slice(j, ow * kw, kw))))
        return wrap(gx, bk)

    return record(out, "MaxPool2d", (x,), grad)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """Mean over sliding windows (a sum of unfolded patches divided by the window count)."""
    x = input
    unbatched = x.ndim == 3
    kh, kw, st, pad, dil, oh, ow, eh, ew = _pool_setup(
        x, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    if unbatched:
        x = x.reshape((1,) + x.shape)
    x = x if x.dtype.kind == "f" else cast(x, "float32")
    bk = x._bk
    n, c, h, w = x.shape
    kk = kh * kw
    if eh or ew:
        from ..ops import pad as _pad

        x = _pad(x, (0, ew, 0, eh))
    if st == (kh, kw) and pad == (0, 0):
        win = x[:, :, :oh * kh, :ow * kw].reshape(n, c, oh, kh, ow, kw)
        out = win.sum(dim=(3, 5))
    else:
        cols = _unfold(x, kh, kw, st, pad, (1, 1))
        out = cols.reshape(n, c, kk, oh * ow).sum(dim=2).reshape(n, c, oh, ow)
    if divisor_override:
        out = out / float(divisor_override)
    elif (count_include_pad or pad == (0, 0)) and not (eh or ew):
        out = out / float(kk)
    else:
        # count the window cells inside the input (and the padding, with count_include_pad)
        hp, wp = h + 2 * pad[0] + eh, w + 2 * pad[1] + ew
        ones = bk.zeros((1, 1, hp, wp), x.dtype)
        if count_include_pad:
            bk.setitem(ones, (0, 0, slice(0, h + 2 * pad[0]), slice(0, w + 2 * pad[1])), 1)
        else:
            bk.setitem(ones, (0, 0, slice(pad[0], pad[0] + h), slice(pad[1], pad[1] + w)), 1)
        counts = bk.sum(bk.reshape(bk.im2col(ones, kh, kw, st, (0, 0), (1, 1)),
                                   (1, kk, oh * ow)), axis=1)
        out = out / wrap(bk.reshape(counts, (1, 1, oh, ow)), bk)
    return out.reshape(out.shape[1:]) if unbatched else out


def _adaptive_matrix(bk: Any, size: int, out: int, dtype: Any) -> Any:
    """Row i averages input cells floor(i*size/out) .. ceil((i+1)*size/out) - 1."""
    m = bk.zeros((out, size), dtype)
    for i in range(out):
        lo = (i * size) // out
        hi = -(-((i + 1) * size) // out)
        bk.setitem(m, (i, slice(lo, hi)), 1.0 / (hi - lo))
    return m


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """Average over bins that split H and W into ``output_size`` (PyTorch's bin edges)."""
    x = input
    if x.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d: expected a 3-D or 4-D input, got shape "
                           f"{tuple(x.shape)}")
    if isinstance(output_size, (tuple, list)):
        oh, ow = (x.shape[-2] if output_size[0] is None else output_size[0],
                  x.shape[-1] if output_size[1] is None else output_size[1])
    else:
        oh = ow = output_size
    h, w = x.shape[-2], x.shape[-1]
    if oh < 1 or ow < 1:
        raise RuntimeError(f"adaptive_avg_pool2d: output_size must be positive, got "
                           f"{(oh, ow)}")
    if h % oh == 0 and w % ow == 0:
        return avg_pool2d(x, (h // oh, w // ow))
    bk = x._bk
    mh = wrap(_adaptive_matrix(bk, h, oh, x.dtype), bk)
    mw = wrap(_adaptive_matrix(bk, w, ow, x.dtype), bk)
    return matmul(matmul(mh, x), mw.mT)


# ----- normalization -------------------------------------------------------------------------


def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` dimensions (biased variance), then
    scale by ``weight`` and shift by ``bias``; one op."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(int(s) for s in normalized_shape)
    k = len(normalized_shape)
    x = input
    if x.dtype.kind != "f":
        raise RuntimeError(f"layer_norm: expected a floating input, got {x.dtype}")
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k:]) != normalized_shape:
        raise RuntimeError(
            f"layer_norm: normalized_shape {list(normalized_shape)} does not match the trailing "
            f"dimensions of the input of shape {tuple(x.shape)}"
        )
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != normalized_shape:
            raise RuntimeError(f"layer_norm: {name} of shape {tuple(p.shape)} does not match "
                               f"normalized_shape {list(normalized_shape)}")
    if weight is not None and weight.dtype != x.dtype:
        weight = cast(weight, x.dtype)
    if bias is not None and bias.dtype != x.dtype:
        bias = cast(bias, x.dtype)
    bk = x._bk
    m = 1
    for s in normalized_shape:
        m *= s
    shape = x.shape
    x2 = bk.reshape(x.data, (-1, m))
    mu = bk.divide(bk.sum(x2, axis=1, keepdims=True), bk.asarray(max(m, 1), dtype=x.dtype))
    xc = bk.subtract(x2, mu)
    var = bk.divide(bk.sum(bk.multiply(xc, xc), axis=1, keepdims=True),
                    bk.asarray(max(m, 1), dtype=x.dtype))
    rstd = bk.divide(bk.asarray(1, dtype=x.dtype),
                     bk.sqrt(bk.add(var, bk.asarray(eps, dtype=x.dtype))))
    xhat = bk.multiply(xc, rstd)
    y = xhat
    if weight is not None:
        y = bk.multiply(y, bk.reshape(weight.data, (1, m)))
    if bias is not None:
        y = bk.add(y, bk.reshape(bias.data, (1, m)))
    out = wrap(bk.reshape(y, shape), bk)
    rx, rw = x.requires_grad, weight is not None and weight.requires_grad
    rb = bias is not None and bias.requires_grad
    if recording(x) or (rw or rb) and grad_mode.enabled:

        def grad(g: Tensor) -> tuple:
            if not grad_mode.enabled and m and g.dtype == x.dtype and g.dtype in _FAST_FLOATS:
                return _layer_norm_grad_arrays(g.data, xhat, rstd, weight, rx, rw, rb, m,
                                               shape, normalized_shape, bk)
            if grad_mode.enabled:
                # recompute the statistics in framework ops so the gradient is differentiable
                xt = x.reshape(-1, m)
                xct = xt - xt.mean(1, keepdim=True)
                rs = ((xct * xct).mean(1, keepdim=True) + eps).rsqrt()
                xh = xct * rs
            else:
                rs, xh = wrap(rstd, bk), wrap(xhat, bk)
            g2 = g.reshape(-1, m)
            gx = gw = gb = None
            if rw:
                gw = (g2 * xh).sum(0).reshape(normalized_shape)
            if rb:
                gb = g2.sum(0).reshape(normalized_shape)
            if rx:
                gxh = g2 * weight.reshape(1, m) if weight is not None else g2
                gx = rs * (gxh - gxh.mean(1, keepdim=True)
                           - xh * (gxh * xh).mean(1, keepdim=True))
                gx = gx.reshape(shape)
            return gx, gw, gb

        record(out, "LayerNorm", (x, weight, bias), grad, (x,))
    return out


# ----- embedding -----------------------------------------------------------------------------


def _embedding_grad(g: Tensor, idx: Any, num: int, padding_idx: int | None) -> Tensor:
    """Rows of ``g`` summed into a ``(num, dim)`` table at ``idx`` (the padding row stays 0)."""
    bk = g._bk
    d = g.shape[-1]
    acc = bk.zeros((num, d), g.dtype)
    flat = bk.reshape(idx, (-1,))
    bk.add_at(acc, flat, bk.reshape(g.data, (-1, d)))
    if padding_idx is not None:
        bk.setitem(acc, padding_idx, 0)
    out = wrap(acc, bk)
    if recording(g):
        shape = g.shape

        keep = None
        if padding_idx is not None:
            keep = wrap(bk.expand_dims(bk.not_equal(idx, padding_idx), -1), bk)

        def grad(gg: Tensor) -> Tensor:
            rows = _embedding(idx, gg, padding_idx).reshape(shape)
            return rows if keep is None else rows * keep.astype(rows.dtype)

        record(out, "EmbeddingBackward", (g,), grad)
    return out


def _embedding(idx: Any, weight: Tensor, padding_idx: int | None) -> Tensor:
    bk = weight._bk
    out = wrap(bk.take(weight.data, idx, axis=0), bk)
    if recording(weight):
        num = weight.shape[0]

        def grad(g: Tensor) -> Tensor:
            return _embedding_grad(g, idx, num, padding_idx)

        record(out, "Embedding", (weight,), grad)
    return out


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None,  # noqa: A002
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer tensor ``input``; the ``padding_idx`` row
    gets no gradient. With ``max_norm``, picked rows longer than it are rescaled in place."""
    if sparse:
        raise RuntimeError("embedding: sparse gradients are not supported; use sparse=False")
    if scale_grad_by_freq:
        raise RuntimeError("embedding: scale_grad_by_freq is not supported")
    idx = input.data if isinstance(input, Tensor) else weight._bk.asarray(input)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"embedding: indices must be an integer tensor, got {idx.dtype}")
    num = weight.shape[0]
    bk = weight._bk
    if idx.size and (int(bk.max(idx)) >= num or int(bk.min(idx)) < -num):
        raise IndexError(f"embedding: index out of range for a table of {num} rows "
                         f"(got values from {int(bk.min(idx))} to {int(bk.max(idx))})")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for "
                             f"{num} rows")
        padding_idx %= num
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    return _embedding(idx, weight, padding_idx)


def _renorm_rows(weight: Tensor, idx: Any, max_norm: float, norm_type: float) -> None:
    bk = weight._bk
    rows = bk.unique(bk.reshape(idx, (-1,)))
    sel = bk.take(weight.data, rows, axis=0)
    norms = bk.power(bk.sum(bk.power(bk.abs(sel), norm_type), axis=1, keepdims=True),
                     1.0 / norm_type)
    scale = bk.where(bk.greater(norms, max_norm),
                     bk.divide(max_norm, bk.add(norms, 1e-7)), 1.0)
    bk.setitem(weight.data, rows, bk.astype(bk.multiply(sel, scale), weight.dtype))
    weight._bump_version()


# ----- cross entropy with class indices ------------------------------------------------------


def cross_entropy_indices(x: Tensor, target: Any, weight: Tensor | None, ignore_index: int,
                          reduction: str) -> Tensor:
    """Cross entropy of logits ``x`` (M, C) against class indices (M,), as one op.

    The gradient is ``(softmax(x) - onehot(target)) · w[target] / denominator``, written in
    framework ops so it is differentiable again.
    """
    bk = x._bk
    m, c = x.shape
    t = target
    valid = bk.not_equal(t, ignore_index)
    ts = bk.where(valid, t, 0)
    if m and (int(bk.max(ts)) >= c or int(bk.min(ts)) < 0):
        raise IndexError(f"cross_entropy: target values must be in [0, {c}) (or ignore_index="
                         f"{ignore_index}), got values from {int(bk.min(ts))} to "
                         f"{int(bk.max(ts))}")
    lsm = bk.log_softmax(x.data, axis=1)
    rows = bk.arange(m)
    picked = bk.getitem(lsm, (rows, ts))  # one gather (take_along_axis costs more)
    coef = bk.astype(valid, x.dtype)
    if weight is not None:
        coef = bk.multiply(coef, bk.take(bk.astype(weight.data, x.dtype), ts))
    losses = bk.multiply(bk.negative(picked), coef)
    if reduction == "none":
        out = wrap(losses, bk)
    else:
        total = bk.sum(losses)
        if reduction == "mean":
            # 1 / total weight as an array (never a Python number, so a jit-traced step
            # recomputes it for every batch); a mean over no valid targets is NaN, as in
            # PyTorch
            denom = bk.sum(coef)
            empty = bk.equal(denom, 0)
            one = bk.asarray(1.0, dtype=x.dtype)
            inv = bk.where(empty, bk.asarray(float("nan"), dtype=x.dtype),
                           bk.divide(one, bk.where(empty, one, denom)))
            total = bk.multiply(total, inv)
        out = wrap(bk.astype(bk.asarray(total), x.dtype), bk)
    if recording(x):
        scale = bk.multiply(coef, inv) if reduction == "mean" else coef
        scale_t = wrap(bk.reshape(bk.astype(scale, x.dtype), (m, 1)), bk)

        def grad(g: Tensor) -> Tensor:
            if not grad_mode.enabled and g.dtype == x.dtype:
                # plain backward: (softmax - onehot) * scale * g on the arrays; subtracting
                # 1 at the targets of a copy of the softmax gives the bits of sm - onehot
                gd = bk.reshape(g.data, (m, 1)) if reduction == "none" else g.data
                d = bk.exp(lsm)
                bk.setitem(d, (rows, ts), bk.subtract(bk.getitem(d, (rows, ts)), 1.0))
                return wrap(bk.multiply(d, bk.multiply(scale_t.data, gd), out=d), bk)
            from ..ops import softmax

            onehot = wrap(bk.equal(bk.reshape(bk.arange(c), (1, c)), bk.reshape(ts, (m, 1))),
                          bk)
            p = softmax(x, 1) if grad_mode.enabled else wrap(bk.exp(lsm), bk)
            gg = g.reshape(m, 1) if reduction == "none" else g
            return (p - onehot.astype(x.dtype)) * (scale_t * gg)

        record(out, "CrossEntropy", (x,), grad, (x,))
    return out



def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Tensor:
    """Transposed 1-D convolution of an NCL input (a transposed conv2d of height 1)."""
    if weight.ndim != 3:
        raise RuntimeError(f"conv_transpose1d: weight must be 3-D (in, out/groups, k), got "
                           f"shape {tuple(weight.shape)}")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"conv_transpose1d: expected a 2-D (C, L) or 3-D (N, C, L) input, "
                           f"got shape {tuple(input.shape)}")
    one = lambda v: v[0] if isinstance(v, (tuple, list)) else v  # noqa: E731
    unbatched = input.ndim == 2
    x = input.reshape((1,) + input.shape) if unbatched else input
    x = x.reshape(x.shape[0], x.shape[1], 1, x.shape[2])
    w = weight.reshape(weight.shape[0], weight.shape[1], 1, weight.shape[2])
    out = conv_transpose2d(x, w, bias, (1, one(stride)), (0, one(padding)),
                           (0, one(output_padding)), groups, (1, one(dilation)))
    out = out.reshape(out.shape[0], out.shape[1], out.shape[3])
    return out.reshape(out.shape[1:]) if unbatched else out


# ----- resampling ----------------------------------------------------------------------------


def _resample_matrix(bk: Any, size: int, out: int, mode: str, align_corners: bool,
                     scale: float | None, dtype: Any) -> Any:
    """The (out, size) matrix that resamples one axis (PyTorch's source coordinates)."""
    m = bk.zeros((out, size), dtype)
    for i in range(out):
        if mode == "nearest":
            ratio = (1.0 / scale) if scale else size / out
            bk.setitem(m, (i, min(int(i * ratio), size - 1)), 1.0)
            continue
        if align_corners:
            src = i * (size - 1) / (out - 1) if out > 1 else 0.0
        else:
            ratio = (1.0 / scale) if scale else size / out
            src = max((i + 0.5) * ratio - 0.5, 0.0)
        i0 = min(int(src), size - 1)
        i1 = min(i0 + 1, size - 1)
        frac = src - i0
        bk.setitem(m, (i, i0), bk.add(bk.getitem(m, (i, i0)), 1.0 - frac))
        bk.setitem(m, (i, i1), bk.add(bk.getitem(m, (i, i1)), frac))
    return m


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None,  # noqa: A002
                mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False) -> Tensor:
    """Resize the spatial dimensions of an (N, C, L) or (N, C, H, W) input.

    ``mode``: ``"nearest"``, ``"linear"`` (3-D input) or ``"bilinear"`` (4-D input), with
    PyTorch's source coordinates (``align_corners``). Each axis is resampled by a small
    matrix product, so the gradient (and its gradient) come from ``matmul``.
    """
    if antialias:
        raise RuntimeError("interpolate: antialias=True is not supported")
    x = input
    spatial = x.ndim - 2
    if spatial not in (1, 2):
        raise RuntimeError(f"interpolate: expected a 3-D or 4-D input, got shape "
                           f"{tuple(x.shape)}")
    if mode not in ("nearest", "linear", "bilinear"):
        raise RuntimeError(f"interpolate: mode {mode!r} is not supported; use 'nearest', "
                           "'linear' or 'bilinear'")
    if mode == "linear" and spatial != 1 or mode == "bilinear" and spatial != 2:
        raise RuntimeError(f"interpolate: mode {mode!r} needs a "
                           f"{3 if mode == 'linear' else 4}-D input, got shape "
                           f"{tuple(x.shape)}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners only applies to the linear modes")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    in_sizes = x.shape[2:]
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * spatial
        scales: tuple = (None,) * spatial
    else:
        factors = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else \
            (scale_factor,) * spatial
        sizes = tuple(int(n * f) for n, f in zip(in_sizes, factors, strict=True))
        scales = (None,) * spatial if recompute_scale_factor else factors
    if len(sizes) != spatial or min(sizes) < 1:
        raise ValueError(f"interpolate: output size {sizes} does not fit the input of shape "
                         f"{tuple(x.shape)}")
    bk = x._bk
    xf = x if x.dtype.kind == "f" else cast(x, "float32")
    mats = [wrap(_resample_matrix(bk, n, o, mode, bool(align_corners), s, xf.dtype), bk)
            for n, o, s in zip(in_sizes, sizes, scales, strict=True)]
    if spatial == 1:
        return matmul(xf, mats[0].mT)
    return matmul(matmul(mats[0], xf), mats[1].mT)


def adaptive_max_pool2d(input: Tensor, output_size: Any,  # noqa: A002
                        return_indices: bool = False) -> Any:
    """Maximum over bins that split H and W into ``output_size`` (PyTorch's bin edges);
    ``return_indices`` gives each maximum's flat position ``h * W + w``. The values are a
    ``take_along_dim`` of the input, so the gradient (and its gradient) come from it."""
    from ..ops import take_along_dim

    x = input
    if x.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d: expected a 3-D or 4-D input, got shape "
                           f"{tuple(x.shape)}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1,) + x.shape)
    n, c, h, w = x.shape
    if isinstance(output_size, (tuple, list)):
        oh = h if output_size[0] is None else int(output_size[0])
        ow = w if output_size[1] is None else int(output_size[1])
    else:
        oh = ow = int(output_size)
    if oh < 1 or ow < 1 or not h or not w:
        raise RuntimeError(f"adaptive_max_pool2d: output_size {(oh, ow)} does not fit the input "
                           f"of shape {tuple(x.shape)}")
    bk = x._bk
    idx = bk.zeros((n, c, oh, ow), "int64")
    for i in range(oh):
        h0, h1 = (i * h) // oh, -(-((i + 1) * h) // oh)
        for j in range(ow):
            w0, w1 = (j * w) // ow, -(-((j + 1) * w) // ow)
            cell = bk.reshape(bk.getitem(x.data, (slice(None), slice(None), slice(h0, h1),
                                                  slice(w0, w1))), (n, c, -1))
            k = bk.argmax(cell, axis=2)  # NaN counts as the maximum, as in PyTorch
            bw = w1 - w0
            col = bk.remainder(k, bw)
            row = bk.astype(bk.divide(bk.subtract(k, col), bw), "int64")
            flat = bk.add(bk.multiply(bk.add(row, h0), w), bk.add(col, w0))
            bk.setitem(idx, (slice(None), slice(None), i, j), flat)
    indices = wrap(idx, bk)
    out = take_along_dim(x.reshape(n, c, h * w), indices.reshape(n, c, oh * ow), 2)
    out = out.reshape(n, c, oh, ow)
    if unbatched:
        out, indices = out.reshape(out.shape[1:]), indices.reshape(indices.shape[1:])
    return (out, indices) if return_indices else out


def batch_norm_train(x: Tensor, weight: Tensor | None, bias: Tensor | None,
                     eps: float) -> tuple[Tensor, Any, Any]:
    """Batch normalization with the batch's statistics over every dimension but 1, as one op.

    Returns ``(output, mean, biased variance)``; the statistics are backend arrays (for
    the running averages). The gradient rule is the closed form, in framework ops.
    """
    if weight is not None and weight.dtype != x.dtype:
        weight = cast(weight, x.dtype)
    if bias is not None and bias.dtype != x.dtype:
        bias = cast(bias, x.dtype)
    bk = x._bk
    c = x.shape[1]
    dims = (0,) + tuple(range(2, x.ndim))
    bshape = (1, c) + (1,) * (x.ndim - 2)
    count = x.numel() // c
    cnt = bk.asarray(count, dtype=x.dtype)
    mean = bk.divide(bk.sum(x.data, axis=dims, keepdims=True), cnt)
    xc = bk.subtract(x.data, mean)
    var = bk.divide(bk.sum(bk.multiply(xc, xc), axis=dims, keepdims=True), cnt)
    rstd = bk.divide(bk.asarray(1, dtype=x.dtype),
                     bk.sqrt(bk.add(var, bk.asarray(eps, dtype=x.dtype))))
    xhat = bk.multiply(xc, rstd)
    y = xhat
    if weight is not None:
        y = bk.multiply(y, bk.reshape(weight.data, bshape))
    if bias is not None:
        y = bk.add(y, bk.reshape(bias.data, bshape))
    out = wrap(y, bk)
    rx = x.requires_grad
    rw = weight is not None and weight.requires_grad
    rb = bias is not None and bias.requires_grad
    if grad_mode.enabled and (rx or rw or rb):

        def grad(g: Tensor) -> tuple:
            if grad_mode.enabled:
                # recompute the statistics in framework ops so the gradient is differentiable
                xct = x - x.mean(dims, keepdim=True)
                rs = ((xct * xct).mean(dims, keepdim=True) + eps).rsqrt()
                xh = xct * rs
            else:
                rs, xh = wrap(rstd, bk), wrap(xhat, bk)
            gw = (g * xh).sum(dims) if rw else None
            gb = g.sum(dims) if rb else None
            gx = None
            if rx:
                gxh = g * weight.reshape(bshape) if weight is not None else g
                gx = rs * (gxh - gxh.mean(dims, keepdim=True)
                           - xh * (gxh * xh).mean(dims, keepdim=True))
            return gx, gw, gb

        record(out, "BatchNorm", (x, weight, bias), grad, (x,))
    return out, bk.reshape(mean, (c,)), bk.reshape(var, (c,))


# ----- attention -----------------------------------------------------------------------------


def _swap_last(bk: Any, x: Any) -> Any:
    """The last two axes swapped (a view)."""
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return bk.transpose(x, tuple(axes))


def attention(q: Tensor, k: Tensor, v: Tensor, scale: float, masks: tuple = ()) -> Tensor:
    """``softmax(q kᵀ · scale, masked) v`` over the last two axes, as one op.

    ``q`` is ``(..., L, D)``, ``k`` ``(..., S, D)``, ``v`` ``(..., S, Dv)`` with the same
    leading axes. ``masks`` are applied to the scores in order: ``("fill", blocked)`` sets
    the scores where the bool array ``blocked`` is True to -inf, ``("add", bias)`` adds a
    float array of the scores' dtype; both broadcast to the scores and carry no gradient.

    The same values as the composition of matmul, scaling, masked_fill/add, softmax and
    matmul (and the same gradients): a plain backward computes them on arrays, reusing the
    forward's attention weights and its temporaries in place; ``create_graph=True`` records
    the gradient in framework ops, so higher derivatives work.
    """
    bk = q._bk
    s = bk.matmul(q.data, _swap_last(bk, k.data))
    s = bk.multiply(s, scale, out=s)
    for kind, m in masks:
        if kind == "fill":
            s = bk.where(m, bk.asarray(-float("inf"), dtype=s.dtype), s)
        else:
            s = bk.add(s, m)
    p = bk.softmax(s, axis=s.ndim - 1)
    out = wrap(bk.matmul(p, v.data), bk)
    if recording(q, k, v):
        rq, rk, rv = q.requires_grad, k.requires_grad, v.requires_grad
        fills = [m for kind, m in masks if kind == "fill"]

        def grad(g: Tensor) -> tuple:
            if grad_mode.enabled or g.dtype != q.dtype:
                return _attention_grad_ops(g, q, k, v, scale, masks, rq, rk, rv)
            gd = g.data
            gv = wrap(bk.matmul(_swap_last(bk, p), gd), bk) if rv else None
            if not (rq or rk):
                return None, None, gv
            dp = bk.matmul(gd, _swap_last(bk, v.data))
            # softmax's gradient, gy - p * sum(gy), with gy = dp * p
            gy = bk.multiply(dp, p)
            total = bk.sum(gy, axis=gy.ndim - 1, keepdims=True)
            ds = bk.subtract(gy, bk.multiply(p, total, out=dp), out=gy)
            zero = bk.zeros((), ds.dtype)
            for m in reversed(fills):
                ds = bk.where(m, zero, ds)
            ds = bk.multiply(ds, scale, out=ds)
            gq = wrap(bk.matmul(ds, k.data), bk) if rq else None
            gk = wrap(_swap_last(bk, bk.matmul(_swap_last(bk, q.data), ds)), bk) if rk else None
            return gq, gk, gv

        record(out, "Attention", (q, k, v), grad, (q, k, v))
    return out


def _attention_grad_ops(g: Tensor, q: Tensor, k: Tensor, v: Tensor, scale: float,
                        masks: tuple, rq: bool, rk: bool, rv: bool) -> tuple:
    """Attention's gradient in framework ops (recorded when ``create_graph=True``)."""
    from ..ops import masked_fill, softmax
    from ..ops import sum as _sum

    bk = q._bk
    s = matmul(q, k.mT) * scale
    for kind, m in masks:
        s = masked_fill(s, wrap(m, bk), float("-inf")) if kind == "fill" else s + wrap(m, bk)
    p = softmax(s, -1)
    gv = matmul(p.mT, g) if rv else None
    if not (rq or rk):
        return None, None, gv
    gy = matmul(g, v.mT) * p
    ds = gy - p * _sum(gy, -1, keepdim=True)
    for kind, m in reversed(masks):
        if kind == "fill":
            ds = masked_fill(ds, wrap(m, bk), 0.0)
    ds = ds * scale
    return (matmul(ds, k) if rq else None, matmul(q.mT, ds).mT if rk else None, gv)
