"""Shape and movement ops: reshape, permute, broadcast, indexing."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from ._util import normalize_dim, record, recording, sum_to, wrap


def _shape_arg(shape: tuple) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _view_of(out: Tensor, x: Tensor) -> Tensor:
    """Views share the version counter with their base (in-place on one bumps both)."""
    if out.data.base is not None:
        out._vc = x._share_vc()
    return out


def reshape(x: Tensor, *shape: Any) -> Tensor:
    shape = _shape_arg(shape)
    try:
        data = x._bk.reshape(x.data, shape)
    except ValueError:
        raise RuntimeError(
            f"reshape: shape {list(shape)} is invalid for input of shape {tuple(x.shape)} "
            f"({x.numel()} elements)"
        ) from None
    out = _view_of(wrap(data, x._bk), x)
    if recording(x):
        src = x.shape
        record(out, "Reshape", (x,), lambda g: reshape(g, src))
    return out


view = reshape


def permute(x: Tensor, *dims: Any) -> Tensor:
    dims = tuple(normalize_dim(d, x.ndim, "permute") for d in _shape_arg(dims))
    if sorted(dims) != list(range(x.ndim)):
        raise RuntimeError(f"permute: {dims} is not a permutation of {x.ndim} dimensions")
    out = _view_of(wrap(x._bk.transpose(x.data, dims), x._bk), x)
    if recording(x):
        inv = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        record(out, "Permute", (x,), lambda g: permute(g, inv))
    return out


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    d0, d1 = normalize_dim(dim0, x.ndim, "transpose"), normalize_dim(dim1, x.ndim, "transpose")
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(x, tuple(dims))


swapaxes = swapdims = transpose


def t(x: Tensor) -> Tensor:
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, got {x.ndim}")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def broadcast_to(x: Tensor, shape: Any) -> Tensor:
    shape = tuple(shape)
    if x.shape == shape:
        return x
    try:
        data = x._bk.broadcast_to(x.data, shape)
    except ValueError:
        raise RuntimeError(
            f"broadcast_to: shape {tuple(x.shape)} cannot be broadcast to {shape}"
        ) from None
    out = _view_of(wrap(data, x._bk), x)
    if recording(x):
        src = x.shape
        record(out, "BroadcastTo", (x,), lambda g: sum_to(g, src))
    return out


def expand(x: Tensor, *sizes: Any) -> Tensor:
    sizes = _shape_arg(sizes)
    lead = len(sizes) - x.ndim
    shape = tuple(
        (x.shape[i - lead] if s == -1 else s) for i, s in enumerate(sizes)
    )
    return broadcast_to(x, shape)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    d = normalize_dim(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = {normalize_dim(d, x.ndim, "squeeze") for d in dims}
        shape = tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1))
    return reshape(x, shape)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x.ndim == 0:
        return reshape(x, (1,))
    s = normalize_dim(start_dim, x.ndim, "flatten")
    e = normalize_dim(end_dim, x.ndim, "flatten")
    n = 1
    for k in x.shape[s:e + 1]:
        n *= k
    return reshape(x, x.shape[:s] + (n,) + x.shape[e + 1:])


def _index_data(index: Any) -> Any:
    """Tensors inside an index become backend arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list) and any(isinstance(i, Tensor) for i in index):
        return [i.data if isinstance(i, Tensor) else i for i in index]
    return index


def getitem(x: Tensor, index: Any) -> Tensor:
    idx = _index_data(index)
    try:
        data = x._bk.getitem(x.data, idx)
    except IndexError as err:
        raise IndexError(f"index {index!r} is invalid for a tensor of shape "
                         f"{tuple(x.shape)}: {err}") from None
    out = _view_of(wrap(data, x._bk), x)
    if recording(x):
        shape, dtype, bk = x.shape, x.dtype, x._bk

        def grad(g: Tensor) -> Tensor:
            return index_put_grad(g, idx, shape, dtype, bk)

        record(out, "Index", (x,), grad)
    return out


def index_put_grad(g: Tensor, idx: Any, shape: tuple, dtype: Any, bk: Any) -> Tensor:
    """Scatter-add ``g`` into zeros of ``shape`` at ``idx``: the gradient of indexing.

    Differentiable in ``g`` (its gradient is indexing again), so double-backward works.
    """
    acc = bk.zeros(shape, dtype)
    bk.add_at(acc, idx, g.data)
    out = wrap(acc, bk)
    if recording(g):
        record(out, "IndexBackward", (g,), lambda gg: getitem(gg, idx))
    return out
