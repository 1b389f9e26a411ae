"""``nn.functional``: the layers as functions, activations and losses (PyTorch's names and
arguments).

>>> import framework as fw
>>> import framework.nn.functional as F
>>> F.relu(fw.tensor([-1.0, 2.0]))
tensor([0., 2.])
>>> F.cross_entropy(fw.tensor([[2.0, 0.0]]), fw.tensor([0])).item() < 0.13
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import creation as _creation
from .. import dtypes as _dt
from ..autograd import no_grad
from ..ops import (
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    pad,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    take_along_dim,
    tanh,
    where,
)
from ..ops._util import wrap
from ..tensor import Tensor
from ._ops import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    batch_norm_train,
    bilinear,
    conv1d,
    conv2d,
    conv_transpose1d,
    conv_transpose2d,
    cross_entropy_indices,
    embedding,
    fold,
    interpolate,
    layer_norm,
    linear,
    max_pool2d,
    unfold,
)
from .attention import scaled_dot_product_attention

__all__ = [
    "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "bilinear", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "celu", "conv1d", "conv2d", "conv_transpose2d",
    "cosine_similarity", "cross_entropy", "dropout", "dropout1d", "dropout2d", "elu",
    "embedding", "fold", "gelu", "glu", "group_norm", "hardsigmoid", "hardswish", "hardtanh",
    "huber_loss", "kl_div", "l1_loss", "layer_norm", "leaky_relu", "linear", "log_softmax",
    "logsigmoid", "max_pool1d", "max_pool2d", "avg_pool1d", "mish", "mse_loss", "nll_loss",
    "normalize", "one_hot", "pad", "relu", "relu6", "rms_norm", "selu", "sigmoid", "silu",
    "smooth_l1_loss", "softmax", "softmin", "softplus", "softsign", "tanh", "unfold",
]

_REDUCTIONS = ("none", "mean", "sum")


# ----- activations ---------------------------------------------------------------------------


def relu6(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """``min(max(x, 0), 6)``."""
    return hardtanh(input, 0.0, 6.0)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,  # noqa: A002
             inplace: bool = False) -> Tensor:
    """``x`` clamped to ``[min_val, max_val]``."""
    return input.clamp(min_val, max_val)


def selu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """``scale * elu(x, alpha)`` with the self-normalizing constants."""
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return scale * elu(input, alpha)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return elu(input / alpha, 1.0) * alpha if alpha != 1.0 else elu(input)


def prelu(input: Tensor, weight: Tensor) -> Tensor:  # noqa: A002
    """``x`` where ``x >= 0``, else ``weight * x``; a ``weight`` with one entry per channel
    applies along dimension 1."""
    w = weight
    if w.numel() > 1:
        if input.ndim < 2 or input.shape[1] != w.numel():
            raise RuntimeError(f"prelu: weight with {w.numel()} entries does not match the "
                               f"channels of an input of shape {tuple(input.shape)}")
        w = w.reshape((input.shape[1],) + (1,) * (input.ndim - 2))
    return where(input >= 0, input, input * w)


def threshold(input: Tensor, threshold: float, value: float,  # noqa: A002
              inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``."""
    return where(input > threshold, input, value)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:  # noqa: A002
    """``x`` where ``|x| > lambd``, else 0."""
    return where(input.abs() > lambd, input, 0.0)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:  # noqa: A002
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))


def tanhshrink(input: Tensor) -> Tensor:  # noqa: A002
    """``x - tanh(x)``."""
    return input - tanh(input)


def softsign(input: Tensor) -> Tensor:  # noqa: A002
    """``x / (1 + |x|)``."""
    return input / (input.abs() + 1.0)


def logsigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``."""
    return -softplus(-input)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """``relu6(x + 3) / 6``; flat (zero gradient) from ``|x| >= 3`` on, as in PyTorch."""
    inside = (input > -3.0) & (input < 3.0)
    return where(inside, input / 6.0 + 0.5, (input >= 3.0).astype(input.dtype))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """``x * relu6(x + 3) / 6``."""
    return input * hardsigmoid(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """``x * tanh(softplus(x))``."""
    return input * tanh(softplus(input))


def glu(input: Tensor, dim: int = -1) -> Tensor:  # noqa: A002
    """Split ``dim`` in halves ``a, b`` and return ``a * sigmoid(b)``."""
    n = input.shape[dim]
    if n % 2:
        raise RuntimeError(f"glu: dimension {dim} of size {n} must be even")
    a, b = input.split(n // 2, dim)
    return a * sigmoid(b)


def softmin(input: Tensor, dim: int, dtype: Any = None) -> Tensor:  # noqa: A002
    """``softmax(-x)`` along ``dim``."""
    return softmax(-input, dim, dtype)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:  # noqa: A002
    """``x / max(‖x‖_p, eps)`` along ``dim``."""
    norm = input.abs().pow(p).sum(dim, keepdim=True).pow(1.0 / p) if p != 2 else \
        (input * input).sum(dim, keepdim=True).sqrt()
    return input / norm.clamp(min=eps)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:  # noqa: A002
    """``interpolate(mode="nearest")`` under its older name."""
    return interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:  # noqa: A002
    """``interpolate(mode="bilinear", align_corners=True)`` under its older name."""
    return interpolate(input, size, scale_factor, "bilinear", True)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:  # noqa: A002
    """(…, C·r², H, W) → (…, C, H·r, W·r): channels become sub-pixel positions."""
    r = int(upscale_factor)
    x = input
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle: the channel dimension of shape {tuple(x.shape)} "
                           f"must be divisible by upscale_factor²={r * r}")
    lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
    k = len(lead)
    y = x.reshape(lead + (c // (r * r), r, r, h, w))
    y = y.permute(tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2))
    return y.reshape(lead + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:  # noqa: A002
    """(…, C, H·r, W·r) → (…, C·r², H, W), the inverse of ``pixel_shuffle``."""
    r = int(downscale_factor)
    x = input
    if x.ndim < 3 or x.shape[-2] % r or x.shape[-1] % r:
        raise RuntimeError(f"pixel_unshuffle: height and width of shape {tuple(x.shape)} must "
                           f"be divisible by downscale_factor={r}")
    lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
    k = len(lead)
    y = x.reshape(lead + (c, h // r, r, w // r, r))
    y = y.permute(tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3))
    return y.reshape(lead + (c * r * r, h // r, w // r))


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None,  # noqa: A002
             mode: str = "nearest", align_corners: bool | None = None) -> Tensor:
    """``interpolate`` under its older name."""
    return interpolate(input, size, scale_factor, mode, align_corners)


# ----- pooling in 1-D ------------------------------------------------------------------------


def max_pool1d(input: Tensor, kernel_size: int, stride: Any = None, padding: int = 0,  # noqa: A002
               dilation: int = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Maximum over sliding windows of an NCL (or CL) input."""
    one = lambda v: v[0] if isinstance(v, (tuple, list)) else v  # noqa: E731
    x = input.unsqueeze(-2)
    res = max_pool2d(x, (1, one(kernel_size)), (1, one(stride if stride is not None else
                                                          kernel_size)),
                     (0, one(padding)), (1, one(dilation)), ceil_mode, return_indices)
    if return_indices:
        return res[0].squeeze(-2), res[1].squeeze(-2)
    return res.squeeze(-2)


def avg_pool1d(input: Tensor, kernel_size: int, stride: Any = None, padding: int = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """Mean over sliding windows of an NCL (or CL) input."""
    one = lambda v: v[0] if isinstance(v, (tuple, list)) else v  # noqa: E731
    out = avg_pool2d(input.unsqueeze(-2), (1, one(kernel_size)),
                     (1, one(stride if stride is not None else kernel_size)),
                     (0, one(padding)), ceil_mode, count_include_pad)
    return out.squeeze(-2)


def adaptive_max_pool1d(input: Tensor, output_size: int,  # noqa: A002
                        return_indices: bool = False) -> Any:
    """Maximum over bins that split the last dimension into ``output_size`` cells."""
    one = output_size[0] if isinstance(output_size, (tuple, list)) else output_size
    res = adaptive_max_pool2d(input.unsqueeze(-2), (1, one), return_indices)
    if return_indices:
        return res[0].squeeze(-2), res[1].squeeze(-2)
    return res.squeeze(-2)


def adaptive_avg_pool1d(input: Tensor, output_size: int) -> Tensor:  # noqa: A002
    """Average over bins that split the last dimension into ``output_size`` cells."""
    one = output_size[0] if isinstance(output_size, (tuple, list)) else output_size
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, one)).squeeze(-2)


# ----- normalization -------------------------------------------------------------------------


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,  # noqa: A002
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (dimension 1) by batch statistics when ``training`` (updating
    ``running_mean``/``running_var`` in place with ``momentum``; the running variance is
    unbiased), else by the running statistics."""
    x = input
    if x.ndim < 2:
        raise RuntimeError(f"batch_norm: expected an input with a channel dimension (N, C, "
                           f"...), got shape {tuple(x.shape)}")
    c = x.shape[1]
    bshape = (1, c) + (1,) * (x.ndim - 2)
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise RuntimeError(f"batch_norm: {name} of shape {tuple(t.shape)} does not match "
                               f"the {c} channels of the input of shape {tuple(x.shape)}")
    if training:
        count = x.numel() // c if c else 0
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {tuple(x.shape)}")
        out, mean, var = batch_norm_train(x, weight, bias, eps)
        if running_mean is not None or running_var is not None:
            bk = x._bk
            with no_grad():
                m = momentum
                if running_mean is not None:
                    new = running_mean * (1 - m) + wrap(mean, bk) * m
                    running_mean.copy_(new)
                if running_var is not None:
                    unbiased = wrap(var, bk) * (count / (count - 1))
                    running_var.copy_(running_var * (1 - m) + unbiased * m)
        return out
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var are needed when "
                               "training=False")
        scale = (running_var.detach().reshape(bshape).astype(x.dtype) + eps).rsqrt()
        out = (x - running_mean.detach().reshape(bshape).astype(x.dtype)) * scale
    if weight is not None:
        out = out * weight.reshape(bshape)
    if bias is not None:
        out = out + bias.reshape(bshape)
    return out


def instance_norm(input: Tensor, running_mean: Tensor | None = None,  # noqa: A002
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel of each sample over its spatial dimensions; running
    statistics (if given) are updated with the batch average of the per-sample ones."""
    x = input
    if x.ndim < 3:
        raise RuntimeError(f"instance_norm: expected an input of shape (N, C, ...), got "
                           f"{tuple(x.shape)}")
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    n, c = x.shape[0], x.shape[1]
    out = group_norm(x, c, weight, bias, eps) if n else x
    if running_mean is not None or running_var is not None:
        dims = tuple(range(2, x.ndim))
        count = x.numel() // (n * c) if n and c else 0
        with no_grad():
            mean = x.detach().mean(dims)
            if running_mean is not None:
                running_mean.copy_(running_mean * (1 - momentum) + mean.mean(0) * momentum)
            if running_var is not None and count > 1:
                xc = x.detach() - mean.reshape(mean.shape + (1,) * len(dims))
                var = (xc * xc).sum(dims) / float(count - 1)
                running_var.copy_(running_var * (1 - momentum) + var.mean(0) * momentum)
    return out


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize each group of ``C / num_groups`` channels of each sample."""
    x = input
    if x.ndim < 2:
        raise RuntimeError(f"group_norm: expected an input of shape (N, C, ...), got "
                           f"{tuple(x.shape)}")
    n, c = x.shape[0], x.shape[1]
    if num_groups < 1 or c % num_groups:
        raise RuntimeError(f"group_norm: num_groups={num_groups} must divide the number of "
                           f"channels {c}")
    rest = x.numel() // (n * num_groups) if n else 0
    out = layer_norm(x.reshape(n, num_groups, rest), (rest,), None, None, eps).reshape(x.shape)
    bshape = (1, c) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(bshape)
    if bias is not None:
        out = out + bias.reshape(bshape)
    return out


def rms_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,  # noqa: A002
             eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x²) + eps) * weight`` over the trailing ``normalized_shape`` dims
    (``eps`` defaults to the dtype's machine epsilon, as in PyTorch)."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    x = input
    if x.ndim < k or tuple(x.shape[x.ndim - k:]) != normalized_shape:
        raise RuntimeError(f"rms_norm: normalized_shape {list(normalized_shape)} does not match "
                           f"the trailing dimensions of the input of shape {tuple(x.shape)}")
    if eps is None:
        eps = float(np.finfo(x.dtype).eps)
    dims = tuple(range(x.ndim - k, x.ndim))
    out = x * ((x * x).mean(dims, keepdim=True) + eps).rsqrt()
    if weight is not None:
        out = out * weight
    return out


# ----- dropout -------------------------------------------------------------------------------


def _keep_mask(x: Tensor, p: float, shape: tuple) -> Tensor:
    # drawn through the backend's random primitive, so a jit-traced step draws a fresh mask
    bk = x._bk
    u = bk.random_uniform(_creation.default_generator(), tuple(shape), 0.0, 1.0, x.dtype)
    mask = bk.where(bk.greater_equal(u, bk.asarray(p, dtype=x.dtype)),
                    bk.asarray(1.0 / (1.0 - p), dtype=x.dtype), bk.asarray(0.0, dtype=x.dtype))
    return wrap(mask, bk)


def _check_p(p: float, op: str) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: probability has to be between 0 and 1, but got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)`` (when
    ``training``). The mask comes from the generator ``fw.manual_seed`` seeds."""
    _check_p(p, "dropout")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    return input * _keep_mask(input, p, input.shape)


def _channel_dropout(input: Tensor, p: float, training: bool, spatial: int, op: str) -> Tensor:
    _check_p(p, op)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    lead = input.ndim - spatial
    shape = tuple(input.shape[:lead]) + (1,) * spatial
    return input * _keep_mask(input, p, shape)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an (N, C, L) input with probability ``p``."""
    return _channel_dropout(input, p, training, 1, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an (N, C, H, W) input with probability ``p``."""
    return _channel_dropout(input, p, training, 2, "dropout2d")


# ----- one-hot -------------------------------------------------------------------------------


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``int64`` one-hot encoding with a new last dimension of ``num_classes`` entries."""
    if not isinstance(tensor, Tensor) or tensor.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensors (integer dtype)")
    bk = tensor._bk
    data = tensor.data
    if data.size and int(bk.min(data)) < 0:
        raise RuntimeError("one_hot: class values must be non-negative")
    if num_classes == -1:
        # the result's shape depends on the values: read through the tensor (a jit graph
        # break), not the raw array
        num_classes = int(tensor.max().item()) + 1 if data.size else 0
    elif data.size and int(bk.max(data)) >= num_classes:
        raise RuntimeError(f"one_hot: class values must be smaller than num_classes="
                           f"{num_classes}")
    classes = bk.arange(num_classes)
    hot = bk.equal(bk.expand_dims(data, -1), classes)
    return wrap(bk.astype(hot, _dt.int64), bk)


# ----- losses --------------------------------------------------------------------------------


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _legacy_reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _same_shape(input: Tensor, target: Tensor, op: str) -> tuple[Tensor, Tensor]:  # noqa: A002
    if not isinstance(target, Tensor):
        target = _creation.as_tensor(target, dtype=input.dtype)
    if tuple(input.shape) != tuple(target.shape):
        try:
            shape = np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise RuntimeError(f"{op}: input of shape {tuple(input.shape)} and target of shape "
                               f"{tuple(target.shape)} cannot be broadcast together") from None
        input, target = input.broadcast_to(shape), target.broadcast_to(shape)
    return input, target


def mse_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,  # noqa: A002
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error ``(input - target)²``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    input, target = _same_shape(input, target, "mse_loss")
    d = input - target
    loss = d * d
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,  # noqa: A002
            reduction: str = "mean") -> Tensor:
    """Mean absolute error ``|input - target|``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    input, target = _same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Any = None,  # noqa: A002
                   reduce: Any = None, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5·d²/beta`` where ``|d| < beta``, else ``|d| - 0.5·beta`` (``d = input - target``)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    input, target = _same_shape(input, target, "smooth_l1_loss")
    d = input - target
    if beta == 0:
        return _reduce(d.abs(), reduction, "smooth_l1_loss")
    ad = d.abs()
    loss = where(ad < beta, d * d * (0.5 / beta), ad - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",  # noqa: A002
               delta: float = 1.0, weight: Tensor | None = None) -> Tensor:
    """``0.5·d²`` where ``|d| < delta``, else ``delta·(|d| - 0.5·delta)``."""
    if delta <= 0:
        raise RuntimeError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _same_shape(input, target, "huber_loss")
    d = input - target
    ad = d.abs()
    loss = where(ad < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "huber_loss")


def _class_weight(weight: Tensor | None, c: int, x: Tensor, op: str) -> Tensor | None:
    if weight is None:
        return None
    if tuple(weight.shape) != (c,):
        raise RuntimeError(f"{op}: weight of shape {tuple(weight.shape)} must have one entry "
                           f"per class ({c})")
    return weight.astype(x.dtype)


def _classes_last(input: Tensor, target: Any, op: str) -> tuple[Tensor, Any, tuple]:  # noqa: A002
    """(N, C, d1, ...) scores and (N, d1, ...) targets as (M, C) and (M,)."""
    x = input
    if x.ndim == 0:
        raise RuntimeError(f"{op}: input must have a class dimension, got a 0-d tensor")
    if x.ndim == 1:
        x = x.unsqueeze(0)
        target = target.reshape(1) if isinstance(target, Tensor) else target
    batch_shape = (x.shape[0],) + tuple(x.shape[2:])
    t = target if isinstance(target, Tensor) else _creation.as_tensor(target)
    if tuple(t.shape) != batch_shape and not (input.ndim == 1 and t.numel() == 1):
        raise RuntimeError(f"{op}: target of shape {tuple(t.shape)} does not match input of "
                           f"shape {tuple(input.shape)} (expected {batch_shape})")
    c = x.shape[1]
    if x.ndim > 2:
        x = x.movedim(1, -1).reshape(-1, c)
    return x, t.reshape(-1), batch_shape


def _pick(scores: Tensor, t: Tensor, ignore_index: int) -> tuple[Tensor, Tensor, Tensor]:
    """``scores[m, t[m]]`` with ignored targets masked: (picked, valid mask, safe targets)."""
    valid = t != ignore_index
    safe = where(valid, t, 0)
    c = scores.shape[1]
    bk = safe._bk
    # a validity check on the raw array: it changes no value, so jit tracing goes on
    lo, hi = (int(bk.min(safe.data)), int(bk.max(safe.data))) if safe.numel() else (0, 0)
    if hi >= c or lo < 0:
        raise IndexError(f"target values must be in [0, {c}) (or ignore_index={ignore_index}), "
                         f"got values from {lo} to {hi}")
    picked = take_along_dim(scores, safe.unsqueeze(1), 1).squeeze(1)
    return picked, valid, safe


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
             size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices given log-probabilities ``input`` (N, C, ...).

    With ``reduction="mean"`` the sum is divided by the total weight of the non-ignored
    targets, as in PyTorch.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"nll_loss: reduction must be 'none', 'mean' or 'sum', got "
                         f"{reduction!r}")
    x, t, batch_shape = _classes_last(input, target, "nll_loss")
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"nll_loss: expected integer class indices as target, got "
                           f"{t.dtype}")
    w = _class_weight(weight, x.shape[1], x, "nll_loss")
    picked, valid, safe = _pick(x, t, ignore_index)
    coef = valid.astype(x.dtype)
    if w is not None:
        coef = coef * w[safe]
    loss = -picked * coef
    if reduction == "none":
        return loss.reshape(batch_shape if input.ndim > 1 else ())
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / coef.sum()


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
                  size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy between logits ``input`` (N, C, ...) and ``target``: class indices
    (N, ...) or class probabilities (same shape as ``input``).

    >>> import framework as fw
    >>> logits = fw.tensor([[1.0, 2.0, 0.5]])
    >>> round(fw.nn.functional.cross_entropy(logits, fw.tensor([1])).item(), 4)
    0.4644
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be 'none', 'mean' or 'sum', got "
                         f"{reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    if not isinstance(target, Tensor):
        target = _creation.as_tensor(target)
    if input.ndim == 0:
        raise RuntimeError("cross_entropy: input must have a class dimension, got a 0-d tensor")
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    if target.dtype.kind == "f":
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing, c)
    if target.dtype.kind not in "iu":
        raise RuntimeError(f"cross_entropy: target must hold class indices (integers) or "
                           f"class probabilities (floats), got {target.dtype}")
    w = _class_weight(weight, c, input, "cross_entropy")
    if input.ndim == 2 and label_smoothing == 0.0 and (w is None or not w.requires_grad):
        if tuple(target.shape) != (input.shape[0],):
            raise RuntimeError(f"cross_entropy: target of shape {tuple(target.shape)} does not "
                               f"match input of shape {tuple(input.shape)} (expected "
                               f"({input.shape[0]},))")
        return cross_entropy_indices(input, target.data, w, ignore_index, reduction)
    x, t, batch_shape = _classes_last(input, target, "cross_entropy")
    logp = log_softmax(x, 1)
    loss = nll_loss(logp.reshape((x.shape[0], c)), t, w, ignore_index=ignore_index,
                    reduction=reduction)
    if reduction == "none":
        loss = loss.reshape(batch_shape if input.ndim > 1 else ())
    if label_smoothing == 0.0:
        return loss
    valid = (t != ignore_index).astype(x.dtype)
    per_class = logp if w is None else logp * w
    smooth = -per_class.sum(1) * valid
    if reduction == "none":
        smooth = smooth.reshape(batch_shape if input.ndim > 1 else ())
    elif reduction == "sum":
        smooth = smooth.sum()
    else:
        denom = valid.sum() if w is None else (w[where(t != ignore_index, t, 0)] * valid).sum()
        smooth = smooth.sum() / denom
    return loss * (1.0 - label_smoothing) + smooth * (label_smoothing / c)


def _cross_entropy_probs(input: Tensor, target: Tensor, weight: Tensor | None,  # noqa: A002
                         reduction: str, label_smoothing: float, c: int) -> Tensor:
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"cross_entropy: probability targets must have the input's shape "
                           f"{tuple(input.shape)}, got {tuple(target.shape)}")
    dim = 1 if input.ndim > 1 else 0
    logp = log_softmax(input, dim)
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / c
    terms = logp * target
    if weight is not None:
        w = _class_weight(weight, c, input, "cross_entropy")
        terms = terms * w.reshape((c,) + (1,) * (input.ndim - 2) if dim else (c,))
    loss = -terms.sum(dim)
    if reduction == "mean":
        n = loss.numel()
        return loss.sum() / float(n) if n else loss.sum() / float("nan")
    return _reduce(loss, reduction, "cross_entropy")


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """``-(t·log(p) + (1-t)·log(1-p))`` for probabilities ``p``; logs are clamped at -100,
    as in PyTorch."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if not isinstance(target, Tensor):
        target = _creation.as_tensor(target, dtype=input.dtype)
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"binary_cross_entropy: target of shape {tuple(target.shape)} must "
                         f"have the input's shape {tuple(input.shape)}")
    bk = input._bk
    if input.numel() and (float(bk.min(input.data)) < 0 or float(bk.max(input.data)) > 1):
        raise RuntimeError("binary_cross_entropy: input values must be probabilities in "
                           "[0, 1]; use binary_cross_entropy_with_logits for raw scores")
    log_p = input.log().clamp(min=-100.0)
    log_q = (1.0 - input).log().clamp(min=-100.0)
    loss = -(target * log_p + (1.0 - target) * log_q)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,  # noqa: A002
                                     weight: Tensor | None = None, size_average: Any = None,
                                     reduce: Any = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross entropy on logits, computed stably:
    ``(1 - t)·x + (1 + (pw - 1)·t)·softplus(-x)``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if not isinstance(target, Tensor):
        target = _creation.as_tensor(target, dtype=input.dtype)
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"binary_cross_entropy_with_logits: target of shape "
                         f"{tuple(target.shape)} must have the input's shape "
                         f"{tuple(input.shape)}")
    sp = softplus(-input)  # log(1 + exp(-x)) = -log(sigmoid(x))
    if pos_weight is not None:
        lw = (pos_weight - 1.0) * target + 1.0
        loss = (1.0 - target) * input + lw * sp
    else:
        loss = (1.0 - target) * input + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def kl_div(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,  # noqa: A002
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence with ``input`` as log-probabilities: ``t·(log t - input)`` pointwise
    (``exp(t)·(t - input)`` with ``log_target=True``). ``reduction="batchmean"`` divides the
    sum by the batch size (the mathematically correct KL)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    input, target = _same_shape(input, target, "kl_div")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        safe = where(target > 0, target, 1.0)
        loss = where(target > 0, target * (safe.log() - input), 0.0 * input)
    if reduction == "batchmean":
        return loss.sum() / float(input.shape[0]) if input.ndim else loss.sum()
    return _reduce(loss, reduction, "kl_div")


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``x1·x2 / max(‖x1‖·‖x2‖, eps)`` along ``dim`` (inputs broadcast)."""
    x1, x2 = _same_shape(x1, x2, "cosine_similarity")
    dot = (x1 * x2).sum(dim)
    n1 = (x1 * x1).sum(dim)
    n2 = (x2 * x2).sum(dim)
    return dot / (n1 * n2).clamp(min=eps * eps).sqrt()


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """``‖x1 - x2 + eps‖_p`` along the last dimension."""
    d = (x1 - x2 + eps).abs()
    if p == 2:
        return (d * d).sum(-1, keepdim=keepdim).sqrt()
    return d.pow(p).sum(-1, keepdim=keepdim).pow(1.0 / p)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: str = "mean") -> Tensor:
    """``max(0, -target·(input1 - input2) + margin)``."""
    return _reduce(relu(-target * (input1 - input2) + margin), reduction,
                   "margin_ranking_loss")


def soft_margin_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:  # noqa: A002
    """``log(1 + exp(-target·input))``."""
    return _reduce(softplus(-target * input), reduction, "soft_margin_loss")


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                        swap: bool = False, size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    """``max(d(a, p) - d(a, n) + margin, 0)`` with ``d`` the p-norm distance; ``swap`` uses
    the smaller of ``d(a, n)`` and ``d(p, n)``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce(relu(d_pos - d_neg + margin), reduction, "triplet_margin_loss")


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          size_average: Any = None, reduce: Any = None,
                          reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos - margin)`` where it is -1."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    dim = 1 if input1.ndim == 2 else 0
    eps = 1e-12  # PyTorch's epsilon inside the norms
    prod = (input1 * input2).sum(dim)
    cos = prod / (((input1 * input1).sum(dim) + eps) * ((input2 * input2).sum(dim) + eps)).sqrt()
    loss = where(target == 1, 1.0 - cos, 0.0 * cos) + where(target == -1,
                                                           relu(cos - margin), 0.0 * cos)
    return _reduce(loss, reduction, "cosine_embedding_loss")


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,  # noqa: A002
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """``x`` where ``target == 1``, ``max(0, margin - x)`` where ``target == -1``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    zero = 0.0 * input
    loss = where(target != 1, relu(margin - input), zero) + where(target != -1, input, zero)
    return _reduce(loss, reduction, "hinge_embedding_loss")


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True,  # noqa: A002
                     full: bool = False, size_average: Any = None, eps: float = 1e-8,
                     reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood: ``exp(x) - t·x`` for log-rate input, else
    ``x - t·log(x + eps)``; ``full`` adds Stirling's term where ``t > 1``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        safe = where(target > 1, target, 1.0)
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        loss = loss + where(target > 1, stirling, 0.0)
    return _reduce(loss, reduction, "poisson_nll_loss")


def multilabel_soft_margin_loss(input: Tensor, target: Tensor,  # noqa: A002
                                weight: Tensor | None = None, size_average: Any = None,
                                reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Binary cross entropy of logits per label, averaged over the labels of each sample."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1.0 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(-1) / float(input.shape[-1])
    return _reduce(loss, reduction, "multilabel_soft_margin_loss")


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor, full: bool = False,  # noqa: A002
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """``0.5·(log(max(var, eps)) + (input - target)² / max(var, eps))`` (+ const if full)."""
    v = var.clamp(min=eps)
    d = input - target
    loss = 0.5 * (v.log() + d * d / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


__all__ += ["adaptive_max_pool1d", "adaptive_max_pool2d", "cosine_embedding_loss",
            "hardshrink", "hinge_embedding_loss",
            "multilabel_soft_margin_loss", "pixel_shuffle", "pixel_unshuffle",
            "poisson_nll_loss", "prelu", "scaled_dot_product_attention", "softshrink",
            "tanhshrink", "threshold", "triplet_margin_loss", "upsample_bilinear",
            "upsample_nearest"]
__all__ += ["adaptive_avg_pool1d", "conv_transpose1d", "gaussian_nll_loss", "instance_norm",
            "interpolate", "margin_ranking_loss", "pairwise_distance", "soft_margin_loss",
            "upsample"]
