"""Reference implementations of the optional fused kernels (NumPy).

A backend may replace any of these with a faster kernel; the conformance suite compares
against these. Semantics are stated in :mod:`framework.backend.primitives`.
"""

from __future__ import annotations

import numpy as np


def softmax(x, axis=-1):
    """exp(x - max) / sum(exp(x - max)) along ``axis``."""
    if x.dtype.kind != "f" or not x.size:
        m = np.max(x, axis=axis, keepdims=True) if x.size else x
        with np.errstate(invalid="ignore"):
            e = np.exp(x - m)
            return e / np.sum(e, axis=axis, keepdims=True)
    # the ufunc reductions called directly and the temporaries reused in place: the same
    # values, with less overhead on the small rows of a loss or an attention map
    with np.errstate(invalid="ignore"):
        e = np.subtract(x, np.maximum.reduce(x, axis=axis, keepdims=True))
        e = np.exp(e, out=e)
        return np.divide(e, np.add.reduce(e, axis=axis, keepdims=True), out=e)


def log_softmax(x, axis=-1):
    """x - max - log(sum(exp(x - max))) along ``axis``."""
    if x.dtype.kind != "f" or not x.size:
        m = np.max(x, axis=axis, keepdims=True) if x.size else x
        with np.errstate(invalid="ignore", divide="ignore"):
            s = x - m
            return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.subtract(x, np.maximum.reduce(x, axis=axis, keepdims=True))
        return np.subtract(s, np.log(np.add.reduce(np.exp(s), axis=axis, keepdims=True)),
                           out=s)


def gelu(x):
    """Exact GELU: x * (1 + erf(x / sqrt(2))) / 2, in x's dtype."""
    from .numpy_backend import erf

    half = np.asarray(0.5, x.dtype)
    # the same arithmetic as x * half * (1 + erf(x / sqrt(2))), reusing erf's fresh result
    cdf = erf(x * np.asarray(0.7071067811865476, x.dtype))
    cdf += 1
    out = x * half
    out *= cdf
    return out


def layer_norm(x, weight=None, bias=None, eps=1e-5):
    """Normalize over the last axis (biased variance), then scale and shift."""
    mean = np.mean(x, axis=-1, keepdims=True)
    d = x - mean
    var = np.mean(d * d, axis=-1, keepdims=True)
    out = d / np.sqrt(var + np.asarray(eps, x.dtype))
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _pair(v):
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)


def im2col(x, kh, kw, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """Patches of NCHW ``x`` as (N, C*kh*kw, OH*OW), zero-padded."""
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    n, c, h, w = x.shape
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ekh, ekw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    oh = (h + 2 * ph - ekh) // sh + 1
    ow = (w + 2 * pw - ekw) // sw + 1
    if oh <= 0 or ow <= 0:
        raise ValueError(
            f"im2col: kernel {kh}x{kw} (dilation {dh}x{dw}) does not fit the padded input "
            f"{h + 2 * ph}x{w + 2 * pw}"
        )
    win = np.lib.stride_tricks.sliding_window_view(x, (ekh, ekw), axis=(2, 3))
    win = win[:, :, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw, ::dh, ::dw]
    # (N, C, OH, OW, kh, kw) -> (N, C, kh, kw, OH, OW)
    return np.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3)).reshape(n, c * kh * kw,
                                                                         oh * ow)


def col2im(cols, shape, kh, kw, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """The adjoint of :func:`im2col`: sum patches ``(N, C*kh*kw, OH*OW)`` back into an NCHW
    array of ``shape`` (overlapping entries add; padding is cropped)."""
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    n, c, h, w = shape
    oh = (h + 2 * ph - (kh - 1) * dh - 1) // sh + 1
    ow = (w + 2 * pw - (kw - 1) * dw - 1) // sw + 1
    cols = cols.reshape(n, c, kh, kw, oh, ow)
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), cols.dtype)
    if (sh, sw) == (kh, kw) and (dh, dw) == (1, 1):
        # windows tile the image without overlap: one transposed copy
        out[:, :, : oh * kh, : ow * kw] = cols.transpose(0, 1, 4, 2, 5, 3).reshape(
            n, c, oh * kh, ow * kw)
    else:
        for i in range(kh):
            for j in range(kw):
                out[:, :, i * dh: i * dh + (oh - 1) * sh + 1: sh,
                    j * dw: j * dw + (ow - 1) * sw + 1: sw] += cols[:, :, i, j]
    if ph or pw:
        out = out[:, :, ph: ph + h, pw: pw + w]
    return out


def conv2d(x, w, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """Cross-correlation of NCHW ``x`` with OIHW ``w`` (+ ``bias``), NCHW output."""
    o, c, kh, kw = w.shape
    if x.shape[1] != c:
        raise ValueError(f"conv2d: input has {x.shape[1]} channels, weight expects {c}")
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    cols = im2col(x, kh, kw, stride, padding, dilation)
    oh = (x.shape[2] + 2 * ph - (kh - 1) * dh - 1) // sh + 1
    ow = (x.shape[3] + 2 * pw - (kw - 1) * dw - 1) // sw + 1
    out = np.matmul(w.reshape(o, c * kh * kw), cols).reshape(x.shape[0], o, oh, ow)
    if bias is not None:
        out += bias.reshape(1, o, 1, 1)
    return out


def attention(q, k, v, mask=None, scale=None):
    """softmax(q @ k^T * scale + mask) @ v over the last two axes."""
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[-1])
    s = np.matmul(q, np.swapaxes(k, -1, -2)) * np.asarray(scale, q.dtype)
    if mask is not None:
        if mask.dtype == np.bool_:
            s = np.where(mask, s, np.asarray(-np.inf, s.dtype))
        else:
            s = s + mask
    return np.matmul(softmax(s, axis=-1), v)
