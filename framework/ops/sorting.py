"""Sorting and selection: sort, argsort, topk, unique.

Sorted values are differentiable: they are the input read at the sorted positions
(``gather``), so the gradient flows back to where each value came from. Indices, counts
and unique values are not differentiable.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import dtypes as _dt
from ..tensor import Tensor
from ._util import normalize_dim, wrap
from .indexing import gather
from .shape import reshape


class SortResult(NamedTuple):
    """What ``sort`` returns: ``.values`` and ``.indices``."""

    values: Tensor
    indices: Tensor


class TopkResult(NamedTuple):
    """What ``topk`` returns: ``.values`` and ``.indices``."""

    values: Tensor
    indices: Tensor


def _argsort_data(x: Tensor, d: int, descending: bool) -> Any:
    """Stable sort positions along ``d`` (NaN counts as the largest value, as in PyTorch)."""
    bk = x._bk
    if not descending:
        return bk.argsort(x.data, axis=d, kind="stable")
    # descending and stable: sort the reversed array ascending, reverse the result; equal
    # values then keep their original order
    n = x.shape[d]
    rev = bk.argsort(bk.flip(x.data, d), axis=d, kind="stable")
    return bk.flip(bk.subtract(n - 1, rev), d)


def argsort(input: Tensor, dim: int = -1, descending: bool = False,  # noqa: A002
            stable: bool = False) -> Tensor:
    """Positions that sort ``input`` along ``dim`` (always a stable sort here)."""
    if input.ndim == 0:
        return wrap(input._bk.zeros((), _dt.int64), input._bk)
    d = normalize_dim(dim, input.ndim, "argsort")
    bk = input._bk
    return wrap(bk.astype(_argsort_data(input, d, descending), _dt.int64), bk)


def sort(input: Tensor, dim: int = -1, descending: bool = False,  # noqa: A002
         stable: bool = False) -> SortResult:
    """Sorted values along ``dim`` and their original positions, as ``(values, indices)``.

    The sort is stable: equal values keep their order (``stable=True`` is the only mode).

    >>> import framework as fw
    >>> fw.sort(fw.tensor([3.0, 1.0, 2.0]), descending=True).indices
    tensor([0, 2, 1])
    """
    x = input if input.ndim else reshape(input, (1,))
    d = dim if input.ndim else 0
    idx = argsort(x, d, descending)
    values = gather(x, d, idx)
    if input.ndim == 0:
        return SortResult(reshape(values, ()), reshape(idx, ()))
    return SortResult(values, idx)


def msort(input: Tensor) -> Tensor:  # noqa: A002
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True,  # noqa: A002
         sorted: bool = True) -> TopkResult:  # noqa: A002
    """The ``k`` largest (or smallest) values along ``dim`` and their positions.

    >>> import framework as fw
    >>> fw.topk(fw.tensor([1.0, 5.0, 3.0]), 2)
    TopkResult(values=tensor([5., 3.]), indices=tensor([1, 2]))
    """
    x = input if input.ndim else reshape(input, (1,))
    d = normalize_dim(dim, x.ndim, "topk")
    n = x.shape[d]
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {dim} of size {n}")
    bk = x._bk
    order = _argsort_data(x, d, largest)
    sel = (slice(None),) * d + (slice(0, k),)
    idx = wrap(bk.astype(bk.getitem(order, sel), _dt.int64), bk)
    values = gather(x, d, idx)
    if input.ndim == 0:
        return TopkResult(reshape(values, ()), reshape(idx, ()))
    return TopkResult(values, idx)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> SortResult:  # noqa: A002
    """The ``k``-th smallest value (1-based) along ``dim`` and its position."""
    vals, idx = topk(input, k, dim, largest=False)
    if input.ndim == 0:
        return SortResult(vals, idx)
    d = normalize_dim(dim, input.ndim, "kthvalue")
    from .indexing import getitem

    sel = (slice(None),) * d + (slice(k - 1, k),)
    v, i = getitem(vals, sel), getitem(idx, sel)
    if not keepdim and input.ndim:
        from .shape import squeeze

        v, i = squeeze(v, d), squeeze(i, d)
    return SortResult(v, i)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim: int | None = None) -> Any:
    """The distinct values of ``input`` in ascending order (not differentiable).

    With ``return_inverse`` also the position of each input element in the result (shaped
    like the input), with ``return_counts`` how often each value occurs; the result is
    then a tuple, as in PyTorch.
    """
    bk = input._bk
    data = input.data
    if dim is not None:
        d = normalize_dim(dim, input.ndim, "unique")
        vals, inv, counts = bk.unique(data, return_inverse=True, return_counts=True, axis=d)
        inv = bk.reshape(inv, (-1,))
    else:
        vals, inv, counts = bk.unique(data, return_inverse=True, return_counts=True)
        inv = bk.reshape(inv, input.shape)
    out = [wrap(vals, bk)]
    if return_inverse:
        out.append(wrap(bk.astype(inv, _dt.int64), bk))
    if return_counts:
        out.append(wrap(bk.astype(counts, _dt.int64), bk))
    return out[0] if len(out) == 1 else tuple(out)
