"""Attention: ``scaled_dot_product_attention`` and ``MultiheadAttention`` (PyTorch's
arguments, mask conventions and parameter names).

Mask conventions, as in PyTorch:

- ``scaled_dot_product_attention``: a bool ``attn_mask`` is True where attention is
  ALLOWED; a float mask is added to the scores.
- ``MultiheadAttention``: a bool ``attn_mask`` or ``key_padding_mask`` is True where
  attention is NOT allowed (padding); a float mask is added to the scores.

>>> import framework as fw
>>> mha = fw.nn.MultiheadAttention(embed_dim=8, num_heads=2, batch_first=True)
>>> x = fw.randn(3, 5, 8)
>>> out, weights = mha(x, x, x)
>>> out.shape, weights.shape
((3, 5, 8), (3, 5, 5))
"""

from __future__ import annotations

import math
from typing import Any

from .. import creation as _creation
from .. import ops
from ..tensor import Tensor
from . import _ops, init
from .linear import Linear
from .module import Module
from .parameter import Parameter


def _causal_allowed(L: int, S: int) -> Tensor:
    """Bool (L, S): True on and below the diagonal."""
    return ops.tril(_creation.ones(L, S, dtype="bool"))


def _dropout(x: Tensor, p: float, training: bool) -> Tensor:
    from . import functional as F

    return F.dropout(x, p, training)


def _fusable(q: Tensor, k: Tensor, v: Tensor) -> bool:
    """Whether ``_ops.attention`` can take these operands (one float dtype, the same
    leading axes; anything else goes through the composed ops, which broadcast)."""
    return (q.dtype.kind == "f" and q.dtype == k.dtype == v.dtype and q.ndim >= 2
            and q.ndim == k.ndim == v.ndim and q.shape[:-2] == k.shape[:-2] == v.shape[:-2])


def _mask_step(kind: str, mask: Tensor, scores_shape: tuple, dtype: Any) -> tuple | None:
    """A mask as an ``_ops.attention`` step, or None when only the composed ops can apply
    it (a differentiable or other-dtype float mask, or one that does not broadcast: the
    composed ops then raise their error)."""
    if mask.requires_grad or (kind == "add" and mask.dtype != dtype):
        return None
    try:
        shape = mask._bk.broadcast_shapes(scores_shape, tuple(mask.shape))
    except ValueError:
        return None
    return (kind, mask.data) if shape == scores_shape else None


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None) -> Tensor:
    """``softmax(q kᵀ · scale + mask) v`` over the last two dimensions.

    ``is_causal=True`` lets position i attend to positions <= i only. Dropout on the
    attention weights is applied whenever ``dropout_p > 0`` (pass 0.0 in evaluation).
    """
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query has {query.shape[-1]} "
                           f"features but key has {key.shape[-1]}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: key has {key.shape[-2]} positions "
                           f"but value has {value.shape[-2]}")
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention: pass either attn_mask or "
                           "is_causal=True, not both")
    if dropout_p == 0.0 and _fusable(query, key, value):
        # one op with an array-level backward (the composition below gives the same values)
        sshape = tuple(query.shape[:-1]) + (S,)
        steps: list = []
        if is_causal:
            steps.append(_mask_step("fill", ops.logical_not(_causal_allowed(L, S)), sshape,
                                    query.dtype))
        elif attn_mask is not None:
            steps.append(_mask_step("fill", ops.logical_not(attn_mask), sshape, query.dtype)
                         if attn_mask.dtype.kind == "b"
                         else _mask_step("add", attn_mask, sshape, query.dtype))
        if None not in steps:
            return _ops.attention(query, key, value, scale, tuple(steps))
    scores = ops.matmul(query, key.transpose(-2, -1)) * scale
    if is_causal:
        scores = ops.masked_fill(scores, ops.logical_not(_causal_allowed(L, S)), float("-inf"))
    elif attn_mask is not None:
        if attn_mask.dtype.kind == "b":
            scores = ops.masked_fill(scores, ops.logical_not(attn_mask), float("-inf"))
        else:
            scores = scores + attn_mask
    weights = ops.softmax(scores, -1)
    if dropout_p > 0.0:
        weights = _dropout(weights, dropout_p, True)
    return ops.matmul(weights, value)


class MultiheadAttention(Module):
    """Multi-head attention with ``in_proj_weight`` (3·E, E) and ``out_proj`` like PyTorch.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights)``; weights
    are averaged over heads unless ``average_attn_weights=False``, and None when
    ``need_weights=False``.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = False, dtype: Any = None) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = float(dropout)
        self.batch_first = batch_first
        self.in_proj_weight = Parameter(_creation.empty(3 * embed_dim, embed_dim, dtype=dtype))
        if bias:
            self.in_proj_bias = Parameter(_creation.empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple:
        w, b = self.in_proj_weight, self.in_proj_bias
        if query is key and key is value:
            return ops.chunk(_ops.linear(query, w, b), 3, -1)
        E = self.embed_dim
        ws = ops.chunk(w, 3, 0)
        bs = ops.chunk(b, 3, 0) if b is not None else (None, None, None)
        return tuple(_ops.linear(x, ws[i], bs[i]) for i, x in enumerate((query, key, value))) \
            if E else (query, key, value)

    def _finish(self, out: Tensor, unbatched: bool) -> Tensor:
        """The heads' output (N, L, E) through ``out_proj``, in the caller's layout."""
        out = self.out_proj(out)
        if unbatched:
            return out.squeeze(0)
        return out if self.batch_first else out.transpose(0, 1)

    def _mask_steps(self, q: Tensor, N: int, H: int, L: int, S: int, attn_mask: Any,
                    key_padding_mask: Any, is_causal: bool) -> tuple | None:
        """The masks as ``_ops.attention`` steps, in the order ``forward`` applies them, or
        None when one of them needs the composed ops."""
        shape = (N, H, L, S)
        steps = []
        if is_causal and attn_mask is None:
            steps.append(_mask_step("fill", ops.logical_not(_causal_allowed(L, S)), shape,
                                    q.dtype))
        if attn_mask is not None:
            if attn_mask.ndim == 3:  # (N*H, L, S)
                attn_mask = attn_mask.reshape(N, H, L, S)
            steps.append(_mask_step("fill" if attn_mask.dtype.kind == "b" else "add",
                                    attn_mask, shape, q.dtype))
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (N, S):
                return None  # the composed ops raise the error
            kpm = key_padding_mask.reshape(N, 1, 1, S)
            steps.append(_mask_step("fill" if kpm.dtype.kind == "b" else "add", kpm, shape,
                                    q.dtype))
        return None if None in steps else tuple(steps)

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | None = None, need_weights: bool = True,
                attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple:
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = (t.unsqueeze(0) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:
            same_kv = key is value
            same_qk = query is key
            query = query.transpose(0, 1)
            key = query if same_qk else key.transpose(0, 1)
            value = key if same_kv else value.transpose(0, 1)
        if query.shape[-1] != self.embed_dim:
            raise RuntimeError(f"MultiheadAttention: query has {query.shape[-1]} features, "
                               f"expected embed_dim={self.embed_dim}")
        N, L, E = query.shape
        S = key.shape[1]
        H, D = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value)
        q = q.reshape(N, L, H, D).transpose(1, 2)
        k = k.reshape(N, S, H, D).transpose(1, 2)
        v = v.reshape(N, S, H, D).transpose(1, 2)
        if not need_weights and not (self.dropout > 0.0 and self.training) \
                and _fusable(q, k, v):
            steps = self._mask_steps(q, N, H, L, S, attn_mask, key_padding_mask, is_causal)
            if steps is not None:
                # one op with an array-level backward (the same values as the ops below)
                out = _ops.attention(q, k, v, 1.0 / math.sqrt(D), steps)
                return self._finish(out.transpose(1, 2).reshape(N, L, E), unbatched), None
        scores = ops.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(D))  # (N, H, L, S)
        if is_causal and attn_mask is None:
            scores = ops.masked_fill(scores, ops.logical_not(_causal_allowed(L, S)),
                                     float("-inf"))
        if attn_mask is not None:
            if attn_mask.ndim == 3:  # (N*H, L, S)
                attn_mask = attn_mask.reshape(N, H, L, S)
            if attn_mask.dtype.kind == "b":
                scores = ops.masked_fill(scores, attn_mask, float("-inf"))
            else:
                scores = scores + attn_mask
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (N, S):
                raise RuntimeError(f"MultiheadAttention: key_padding_mask should have shape "
                                   f"{(N, S)}, got {tuple(key_padding_mask.shape)}")
            kpm = key_padding_mask.reshape(N, 1, 1, S)
            if kpm.dtype.kind == "b":
                scores = ops.masked_fill(scores, kpm, float("-inf"))
            else:
                scores = scores + kpm
        weights = ops.softmax(scores, -1)
        if self.dropout > 0.0 and self.training:
            weights = _dropout(weights, self.dropout, True)
        out = self._finish(ops.matmul(weights, v).transpose(1, 2).reshape(N, L, E), unbatched)
        if not need_weights:
            return out, None
        w = weights.mean(dim=1) if average_attn_weights else weights
        return out, (w.squeeze(0) if unbatched else w)
