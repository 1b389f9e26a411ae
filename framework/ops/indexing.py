"""Indexing: ``x[...]`` (basic, integer and boolean), gather/scatter and friends.

Reading at indices is differentiable; its gradient is a scatter-add of the output
gradient into zeros (repeated indices add up), and the gradient of that scatter-add is
reading at the same indices again, so second derivatives work. Index tensors themselves
are never differentiable.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..tensor import Tensor
from ._util import normalize_dim, record, recording, wrap
from .shape import _view_of, broadcast_to, reshape

_BASIC = (int, slice, type(None), type(Ellipsis))


def _index_data(index: Any) -> Any:
    """Tensors inside an index become backend arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list) and any(isinstance(i, Tensor) for i in index):
        return [i.data if isinstance(i, Tensor) else i for i in index]
    return index


def _is_basic(idx: Any) -> bool:
    """Whether ``idx`` selects a view (no integer arrays, lists or masks inside)."""
    if isinstance(idx, tuple):
        return all(isinstance(i, _BASIC) and not isinstance(i, bool) for i in idx)
    return isinstance(idx, _BASIC) and not isinstance(idx, bool)


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]`` with NumPy/PyTorch semantics; slices give views."""
    idx = _index_data(index)
    try:
        data = x._bk.getitem(x.data, idx)
    except IndexError as err:
        raise IndexError(f"index {index!r} is invalid for a tensor of shape "
                         f"{tuple(x.shape)}: {err}") from None
    out = _view_of(wrap(data, x._bk), x)
    if recording(x):
        shape, dtype, bk = x.shape, x.dtype, x._bk
        basic = _is_basic(idx)

        def grad(g: Tensor) -> Tensor:
            return index_put_grad(g, idx, shape, dtype, bk, basic)

        record(out, "Index", (x,), grad)
    return out


def index_put_grad(g: Tensor, idx: Any, shape: tuple, dtype: Any, bk: Any,
                   basic: bool = False) -> Tensor:
    """Scatter-add ``g`` into zeros of ``shape`` at ``idx``: the gradient of indexing.

    Differentiable in ``g`` (its gradient is indexing again), so double-backward works.
    A basic index (slices, ints) selects each element at most once, so plain assignment
    does; advanced indices may repeat and need the accumulating ``add_at``.
    """
    acc = bk.zeros(shape, dtype)
    if basic:
        bk.setitem(acc, idx, g.data)
    else:
        bk.add_at(acc, idx, g.data)
    out = wrap(acc, bk)
    if recording(g):
        record(out, "IndexBackward", (g,), lambda gg: getitem(gg, idx))
    return out


# ----- gather / scatter ---------------------------------------------------------------------


def _index_tensor(index: Any, op: str) -> Tensor:
    if not isinstance(index, Tensor):
        index = Tensor(index)
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: index must be an integer tensor, got dtype {index.dtype}")
    return index


def _check_index_shape(op: str, x: Tensor, d: int, index: Tensor, src: Tensor | None) -> None:
    if index.ndim != x.ndim:
        raise RuntimeError(
            f"{op}: index ({tuple(index.shape)}) and input ({tuple(x.shape)}) must have the "
            "same number of dimensions"
        )
    for k, n in enumerate(index.shape):
        if k != d and n > x.shape[k]:
            raise RuntimeError(
                f"{op}: index {tuple(index.shape)} is larger than input {tuple(x.shape)} in "
                f"dimension {k}"
            )
        if src is not None and n > src.shape[k]:
            raise RuntimeError(
                f"{op}: index {tuple(index.shape)} is larger than src {tuple(src.shape)} in "
                f"dimension {k}"
            )
    if index.numel():
        bk = index._bk
        lo = int(bk.min(index.data))
        hi = int(bk.max(index.data))
        n = x.shape[d]
        if lo < -n or hi >= n:
            raise RuntimeError(
                f"{op}: index {hi if hi >= n else lo} is out of bounds for dimension {d} "
                f"with size {n}"
            )


def _scatter_positions(bk: Any, d: int, idx: Any) -> tuple:
    """The advanced index that sends element ``i`` of ``idx`` to ``(.., idx[i], ..)``."""
    nd = idx.ndim
    pos = []
    for k in range(nd):
        if k == d:
            pos.append(idx)
        else:
            shape = [1] * nd
            shape[k] = idx.shape[k]
            pos.append(bk.reshape(bk.arange(idx.shape[k]), shape))
    return tuple(pos)


def _leading(shape: tuple) -> tuple:
    return tuple(slice(0, n) for n in shape)


def _pad_to(g: Tensor, shape: tuple) -> Tensor:
    """Zero-pad ``g`` at the end of each dimension up to ``shape`` (differentiable)."""
    if g.shape == shape:
        return g
    from .shape import pad

    widths = []
    for n, m in zip(reversed(g.shape), reversed(shape), strict=True):
        widths += [0, m - n]
    return pad(g, widths)


def gather(input: Tensor, dim: int, index: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``out[i][j] = input[index[i][j]][j]`` for ``dim=0`` (and likewise for other dims).

    ``index`` has as many dimensions as ``input`` and is no larger in the other dimensions.
    """
    x = input
    index = _index_tensor(index, "gather")
    if x.ndim == 0:
        return reshape(gather(reshape(x, (1,)), 0, reshape(index, (1,))), ())
    d = normalize_dim(dim, x.ndim, "gather")
    _check_index_shape("gather", x, d, index, None)
    bk = x._bk
    lead = list(_leading(index.shape))
    lead[d] = slice(None)
    xs = bk.getitem(x.data, tuple(lead))
    out = wrap(bk.take_along_axis(xs, index.data, d), bk)
    if recording(x):
        shape = x.shape

        def grad(g: Tensor) -> Tensor:
            zeros = wrap(bk.zeros(shape, g.dtype), bk)
            return scatter_add(zeros, d, index, g)

        record(out, "Gather", (x,), grad)
    return out


def scatter_add(input: Tensor, dim: int, index: Any, src: Tensor) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeats add up)."""
    x = input
    index = _index_tensor(index, "scatter_add")
    if not isinstance(src, Tensor):
        src = Tensor(src, dtype=x.dtype)
    if src.dtype != x.dtype:
        raise RuntimeError(
            f"scatter_add: src ({src.dtype}) must have the dtype of input ({x.dtype})"
        )
    if x.ndim == 0:
        one = (1,)
        return reshape(scatter_add(reshape(x, one), 0, reshape(index, one),
                                   reshape(src, one)), ())
    d = normalize_dim(dim, x.ndim, "scatter_add")
    _check_index_shape("scatter_add", x, d, index, src)
    bk = x._bk
    acc = bk.copy(x.data)
    bk.add_at(acc, _scatter_positions(bk, d, index.data),
              bk.getitem(src.data, _leading(index.shape)))
    out = wrap(acc, bk)
    if recording(x, src):
        rx, rs, src_shape = x.requires_grad, src.requires_grad, src.shape

        def grad(g: Tensor) -> tuple:
            return (g if rx else None,
                    _pad_to(gather(g, d, index), src_shape) if rs else None)

        record(out, "ScatterAdd", (x, src), grad)
    return out


def scatter(input: Tensor, dim: int, index: Any, src: Any = None,  # noqa: A002
            value: Any = None, reduce: str | None = None) -> Tensor:
    """A copy of ``input`` with ``src`` (a tensor, or a number ``value``) written at ``index``
    along ``dim``. Where an index repeats, one of the writes wins (as in PyTorch, which
    leaves it unspecified). ``reduce="add"`` accumulates instead (``scatter_add``).
    """
    x = input
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter: pass src (a tensor) or value (a number)")
    if reduce is not None:
        if reduce != "add":
            raise RuntimeError(f"scatter: reduce must be None or 'add', got {reduce!r}")
        if not isinstance(src, Tensor):
            src = broadcast_to(Tensor(src, dtype=x.dtype), tuple(_index_tensor(
                index, "scatter").shape))
        return scatter_add(x, dim, index, src)
    index = _index_tensor(index, "scatter")
    is_tensor = isinstance(src, Tensor)
    if x.ndim == 0:
        one = (1,)
        s = reshape(src, one) if is_tensor else src
        return reshape(scatter(reshape(x, one), 0, reshape(index, one), s), ())
    d = normalize_dim(dim, x.ndim, "scatter")
    _check_index_shape("scatter", x, d, index, src if is_tensor else None)
    bk = x._bk
    pos = _scatter_positions(bk, d, index.data)
    acc = bk.copy(x.data)
    if is_tensor:
        if src.dtype != x.dtype:
            raise RuntimeError(
                f"scatter: src ({src.dtype}) must have the dtype of input ({x.dtype})"
            )
        bk.setitem(acc, pos, bk.getitem(src.data, _leading(index.shape)))
    else:
        bk.setitem(acc, pos, src)
    out = wrap(acc, bk)
    srcs = (src,) if is_tensor else ()
    if recording(x, *srcs):
        rx = x.requires_grad
        rs = is_tensor and src.requires_grad
        src_shape = src.shape if is_tensor else None
        hit = None
        if rx:
            hit = bk.zeros(x.shape, _dt.bool_)
            bk.setitem(hit, pos, True)
            hit = wrap(hit, bk)

        def grad(g: Tensor) -> tuple:
            gx = masked_fill(g, hit, 0.0) if rx else None
            gs = _pad_to(gather(g, d, index), src_shape) if rs else None
            return (gx, gs) if is_tensor else (gx,)

        record(out, "Scatter", (x,) + srcs, grad)
    return out


def index_select(input: Tensor, dim: int, index: Any) -> Tensor:  # noqa: A002
    """The entries of ``input`` at positions ``index`` (1-D) along ``dim``."""
    index = _index_tensor(index, "index_select")
    if index.ndim > 1:
        raise RuntimeError(f"index_select: index must be 1-D, got shape {tuple(index.shape)}")
    if input.ndim == 0:
        return getitem(reshape(input, (1,)), reshape(index, (1,)).data).reshape(())
    d = normalize_dim(dim, input.ndim, "index_select")
    n = input.shape[d]
    if index.numel():
        lo, hi = int(index._bk.min(index.data)), int(index._bk.max(index.data))
        if lo < -n or hi >= n:
            raise IndexError(
                f"index_select: index {hi if hi >= n else lo} is out of range for dimension "
                f"{d} of size {n}"
            )
    return getitem(input, (slice(None),) * d + (reshape(index, (-1,)),))


def take_along_dim(input: Tensor, indices: Any, dim: int | None = None) -> Tensor:  # noqa: A002
    """Values of ``input`` at ``indices`` along ``dim`` (the two broadcast in the other
    dimensions); with ``dim=None`` both are flattened first."""
    indices = _index_tensor(indices, "take_along_dim")
    if dim is None:
        return gather(reshape(input, (-1,)), 0, reshape(indices, (-1,)))
    if indices.ndim != input.ndim:
        raise RuntimeError(
            f"take_along_dim: input ({tuple(input.shape)}) and indices "
            f"({tuple(indices.shape)}) must have the same number of dimensions"
        )
    d = normalize_dim(dim, input.ndim, "take_along_dim")
    shape = []
    for k, (a, b) in enumerate(zip(input.shape, indices.shape, strict=True)):
        if k == d:
            shape.append(None)
        elif a == b or b == 1 or a == 1:
            shape.append(a if b == 1 else b)
        else:
            raise RuntimeError(
                f"take_along_dim: input {tuple(input.shape)} and indices "
                f"{tuple(indices.shape)} cannot be broadcast in dimension {k}"
            )
    xs = broadcast_to(input, tuple(input.shape[d] if s is None else s for s in shape))
    ix = broadcast_to(indices, tuple(indices.shape[d] if s is None else s for s in shape))
    return gather(xs, d, ix)


def masked_fill(input: Tensor, mask: Any, value: Any) -> Tensor:  # noqa: A002
    """``input`` with ``value`` where ``mask`` (bool, broadcast to ``input``) is True.

    ``value`` is a number or a 0-d tensor (then differentiable).
    """
    from .elementwise import where

    x = input
    if not isinstance(mask, Tensor):
        mask = Tensor(mask)
    if mask.dtype.kind != "b":
        raise RuntimeError(f"masked_fill: mask must be a bool tensor, got dtype {mask.dtype}")
    bk = x._bk
    try:
        shape = bk.broadcast_shapes(x.shape, mask.shape)
    except ValueError:
        shape = None
    if shape != tuple(x.shape):
        raise RuntimeError(
            f"masked_fill: mask of shape {tuple(mask.shape)} cannot be broadcast to the input "
            f"of shape {tuple(x.shape)}"
        )
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                "masked_fill only supports a 0-dimensional value tensor, but got one of shape "
                f"{tuple(value.shape)}"
            )
        v = value if value.dtype == x.dtype else value.astype(x.dtype)
    else:
        v = wrap(bk.asarray(value, dtype=x.dtype), bk)
    return where(mask, v, x)


def masked_select(input: Tensor, mask: Any) -> Tensor:  # noqa: A002
    """The elements of ``input`` where ``mask`` is True, as a 1-D tensor."""
    if not isinstance(mask, Tensor):
        mask = Tensor(mask)
    shape = input._bk.broadcast_shapes(input.shape, mask.shape)
    return getitem(broadcast_to(input, shape), broadcast_to(mask, shape).data)


def nonzero(input: Tensor, as_tuple: bool = False) -> Any:  # noqa: A002
    """Indices of the non-zero elements: an ``(n, ndim)`` int64 tensor, or one 1-D tensor
    per dimension with ``as_tuple=True``."""
    bk = input._bk
    if input.ndim == 0:
        input = reshape(input.detach(), (1,))
    parts = bk.nonzero(input.data)
    if as_tuple:
        return tuple(wrap(bk.astype(p, _dt.int64), bk) for p in parts)
    return wrap(bk.astype(bk.stack(parts, axis=1), _dt.int64), bk)


def argwhere(input: Tensor) -> Tensor:  # noqa: A002
    return nonzero(input)


def _dim_index(x: Tensor, dim: int, index: Any, op: str) -> tuple[int, Tensor, tuple]:
    """Normalized ``dim``, the 1-D index tensor and the advanced index selecting along dim."""
    index = _index_tensor(index, op)
    if index.ndim > 1:
        raise RuntimeError(f"{op}: index must be 1-D, got shape {tuple(index.shape)}")
    if x.ndim == 0:
        raise RuntimeError(f"{op}: expected a tensor with at least one dimension")
    d = normalize_dim(dim, x.ndim, op)
    n = x.shape[d]
    index = reshape(index, (-1,))
    if index.numel():
        lo, hi = int(index._bk.min(index.data)), int(index._bk.max(index.data))
        if lo < -n or hi >= n:
            raise IndexError(
                f"{op}: index {hi if hi >= n else lo} is out of range for dimension {d} of "
                f"size {n}"
            )
    return d, index, (slice(None),) * d + (index.data,)


def index_add(input: Tensor, dim: int, index: Any, source: Tensor,  # noqa: A002
              alpha: Any = 1) -> Tensor:
    """A copy of ``input`` with ``alpha * source[i]`` added at position ``index[i]`` along
    ``dim`` (repeated indices add up); differentiable in ``input`` and ``source``."""
    x = input
    d, index, idx = _dim_index(x, dim, index, "index_add")
    if not isinstance(source, Tensor):
        source = Tensor(source, dtype=x.dtype)
    want = x.shape[:d] + (index.shape[0],) + x.shape[d + 1:]
    if tuple(source.shape) != want:
        raise RuntimeError(
            f"index_add: source has shape {tuple(source.shape)} but input {tuple(x.shape)} "
            f"with {index.shape[0]} indices along dimension {d} needs {want}"
        )
    bk = x._bk
    acc = bk.copy(x.data)
    src = source.data if alpha == 1 else bk.multiply(source.data, alpha)
    bk.add_at(acc, idx, bk.astype(src, x.dtype))
    out = wrap(acc, bk)
    if recording(x, source):
        rx, rs = x.requires_grad, source.requires_grad

        def grad(g: Tensor) -> tuple:
            gs = getitem(g, idx) if rs else None
            return (g if rx else None, gs * alpha if gs is not None and alpha != 1 else gs)

        record(out, "IndexAdd", (x, source), grad)
    return out


def index_fill(input: Tensor, dim: int, index: Any, value: Any) -> Tensor:  # noqa: A002
    """A copy of ``input`` with the entries at positions ``index`` along ``dim`` set to
    ``value`` (a number, or a 0-d tensor that is then differentiable)."""
    x = input
    d, index, idx = _dim_index(x, dim, index, "index_fill")
    bk = x._bk
    vt = isinstance(value, Tensor)
    if vt and value.ndim != 0:
        raise RuntimeError(
            f"index_fill: value must be a number or a 0-d tensor, got shape {tuple(value.shape)}"
        )
    acc = bk.copy(x.data)
    bk.setitem(acc, idx, value.data if vt else value)
    out = wrap(acc, bk)
    vals = (value,) if vt else ()
    if recording(x, *vals):
        rx, rv = x.requires_grad, vt and value.requires_grad

        def grad(g: Tensor) -> tuple:
            from .reduction import sum as _sum

            gx = index_fill(g, d, index, 0.0) if rx or rv else None
            # the filled positions' gradient, each position once however often it repeats
            gv = _sum(g - gx).astype(value.dtype) if rv else None
            return (gx if rx else None, gv) if vt else (gx,)

        record(out, "IndexFill", (x,) + vals, grad)
    return out


def take(input: Tensor, index: Any) -> Tensor:  # noqa: A002
    """The elements of ``input`` (read as 1-D) at ``index``; the result has index's shape."""
    index = _index_tensor(index, "take")
    n = input.numel()
    if index.numel():
        lo, hi = int(index._bk.min(index.data)), int(index._bk.max(index.data))
        if lo < -n or hi >= n:
            raise IndexError(f"take: index {hi if hi >= n else lo} is out of range for a "
                             f"tensor of {n} elements")
    return getitem(reshape(input, (-1,)), index.data)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:  # noqa: A002
    """The diagonal of the planes ``(dim1, dim2)``, as a last dimension (``offset`` > 0
    above the main diagonal)."""
    from .shape import movedim

    x = input
    if x.ndim < 2:
        raise RuntimeError(f"diagonal: expected at least 2 dimensions, got {x.ndim}")
    d1, d2 = normalize_dim(dim1, x.ndim, "diagonal"), normalize_dim(dim2, x.ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 cannot be equal, got {dim1} and {dim2}")
    y = movedim(x, (d1, d2), (-2, -1))
    rows, cols = y.shape[-2], y.shape[-1]
    r0, c0 = max(-offset, 0), max(offset, 0)
    k = max(min(rows - r0, cols - c0), 0)
    bk = x._bk
    ar = bk.arange(k)
    return getitem(y, (Ellipsis, bk.add(ar, r0), bk.add(ar, c0)))


_diagonal = diagonal


def diag(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    """A square matrix with ``input`` (1-D) on its ``diagonal``-th diagonal, or the
    ``diagonal``-th diagonal of a matrix (2-D)."""
    x = input
    if x.ndim == 2:
        return _diagonal(x, diagonal)
    if x.ndim != 1:
        raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got {x.ndim} dimensions")
    n = x.shape[0] + abs(diagonal)
    bk = x._bk
    ar = bk.arange(x.shape[0])
    idx = (bk.add(ar, max(-diagonal, 0)), bk.add(ar, max(diagonal, 0)))
    # placing x into zeros is the gradient of reading the diagonal: reuse it (differentiable)
    return index_put_grad(x, idx, (n, n), x.dtype, bk)


_REDUCTIONS = ("sum", "mean", "amax", "amin")


def scatter_reduce(input: Tensor, dim: int, index: Any, src: Tensor, reduce: str,  # noqa: A002
                   *, include_self: bool = True) -> Tensor:
    """A copy of ``input`` where each position that ``index`` sends elements of ``src`` to
    holds the reduction (``"sum"``, ``"mean"``, ``"amax"``, ``"amin"``) of those elements
    and, with ``include_self``, of the original value. Differentiable in ``input`` and
    ``src``; for amax/amin the gradient is shared evenly among the elements equal to the
    result, as in PyTorch.
    """
    x = input
    if reduce not in _REDUCTIONS:
        raise RuntimeError(
            f"scatter_reduce: reduce must be one of {', '.join(_REDUCTIONS)}, got {reduce!r}"
        )
    index = _index_tensor(index, "scatter_reduce")
    if not isinstance(src, Tensor):
        src = Tensor(src, dtype=x.dtype)
    if src.dtype != x.dtype:
        raise RuntimeError(
            f"scatter_reduce: src ({src.dtype}) must have the dtype of input ({x.dtype})"
        )
    if reduce == "mean" and x.dtype.kind != "f":
        raise RuntimeError(f"scatter_reduce: reduce='mean' needs a floating dtype, got {x.dtype}")
    if x.ndim == 0:
        one = (1,)
        return reshape(scatter_reduce(reshape(x, one), 0, reshape(index, one),
                                      reshape(src, one), reduce, include_self=include_self), ())
    d = normalize_dim(dim, x.ndim, "scatter_reduce")
    _check_index_shape("scatter_reduce", x, d, index, src)
    bk = x._bk
    pos = _scatter_positions(bk, d, index.data)
    s = bk.getitem(src.data, _leading(index.shape))
    hit = bk.zeros(x.shape, _dt.bool_)
    bk.setitem(hit, pos, True)
    zero = bk.zeros((), x.dtype)
    if reduce in ("sum", "mean"):
        acc = bk.copy(x.data) if include_self else bk.where(hit, zero, x.data)
        bk.add_at(acc, pos, s)
        count = None
        if reduce == "mean":
            count = bk.where(hit, bk.ones((), x.dtype) if include_self else zero,
                             bk.ones((), x.dtype))
            count = bk.astype(count, x.dtype)
            bk.add_at(count, pos, bk.ones((), x.dtype))
            acc = bk.divide(acc, count)
    else:
        acc = _scatter_extreme(bk, x, pos, s, reduce == "amax", include_self)
    out = wrap(bk.astype(acc, x.dtype), bk)
    if recording(x, src):
        rx, rs, src_shape = x.requires_grad, src.requires_grad, src.shape
        if reduce == "sum":
            keep = None if include_self else wrap(bk.logical_not(hit), bk)

            def grad(g: Tensor) -> tuple:
                gx = (g if keep is None else g * keep.astype(g.dtype)) if rx else None
                gs = _pad_to(gather(g, d, index), src_shape) if rs else None
                return gx, gs
        else:
            if reduce == "mean":
                share_self = bk.where(hit, bk.divide(1.0 if include_self else 0.0, count), 1.0)
                share_src = bk.divide(bk.ones((), x.dtype), count)
                mask_src = None
            else:
                at = bk.getitem(out.data, pos)
                mask_src = bk.astype(bk.equal(s, at), x.dtype)
                # as PyTorch: an input value equal to the result counts as a tie even
                # with include_self=False (it then gets no gradient itself)
                mask_self = bk.astype(bk.equal(x.data, out.data), x.dtype)
                ties = bk.copy(mask_self)
                bk.add_at(ties, pos, mask_src)
                share_self = bk.divide(mask_self, ties)
                if not include_self:
                    share_self = bk.where(hit, zero, share_self)
                share_src = bk.divide(bk.ones((), x.dtype), ties)
            w_self = wrap(bk.astype(share_self, x.dtype), bk)
            w_src = wrap(bk.astype(share_src, x.dtype), bk)
            m_src = wrap(mask_src, bk) if mask_src is not None else None

            def grad(g: Tensor) -> tuple:
                gx = g * w_self if rx else None
                gs = None
                if rs:
                    gs = gather(g * w_src, d, index)
                    if m_src is not None:
                        gs = gs * m_src
                    gs = _pad_to(gs, src_shape)
                return gx, gs

        record(out, "ScatterReduce", (x, src), grad)
    return out


def _scatter_extreme(bk: Any, x: Tensor, pos: tuple, s: Any, largest: bool,
                     include_self: bool) -> Any:
    """amax/amin of ``s`` per target position (by sorting: group by target, values in
    order, then the last/first of each group), merged with ``x``."""
    shape = tuple(s.shape)
    flat_target = None
    stride = 1
    for k in range(x.ndim - 1, -1, -1):
        term = bk.multiply(bk.broadcast_to(pos[k], shape), stride)
        flat_target = term if flat_target is None else bk.add(flat_target, term)
        stride *= x.shape[k]
    t = bk.reshape(flat_target, (-1,))
    v = bk.reshape(s, (-1,))
    acc = bk.copy(bk.reshape(x.data, (-1,)))
    if t.shape[0]:
        by_value = bk.argsort(v, kind="stable")
        by_target = bk.argsort(bk.getitem(t, by_value), kind="stable")
        order = bk.getitem(by_value, by_target)
        ts, vs = bk.getitem(t, order), bk.getitem(v, order)
        change = bk.not_equal(bk.getitem(ts, slice(1, None)), bk.getitem(ts, slice(None, -1)))
        edge = bk.ones((1,), _dt.bool_)
        ends = bk.concatenate([change, edge] if largest else [edge, change])
        (sel,) = bk.nonzero(ends)
        targets, best = bk.getitem(ts, sel), bk.getitem(vs, sel)
        if include_self:
            old = bk.getitem(acc, targets)
            best = bk.maximum(best, old) if largest else bk.minimum(best, old)
        bk.setitem(acc, targets, best)
    return bk.reshape(acc, x.shape)
