"""Shape and movement ops: reshape, permute, broadcast, join/split, flip/roll, pad, tril/triu.

Every op here moves or copies values without computing on them, so each gradient rule is
the inverse movement written in framework ops (reshape back, permute back, slice out,
sum over repeats), which keeps second derivatives working.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..tensor import Tensor
from ._util import cast, normalize_dim, record, recording, sum_to, wrap


def _shape_arg(shape: tuple) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _view_of(out: Tensor, x: Tensor) -> Tensor:
    """Views share the version counter with their base (in-place on one bumps both).

    ``data.base`` alone is not enough: NumPy also sets it on copies made through a
    temporary (a reshape of a transposed array), so the memory bounds decide.
    """
    base = out.data.base
    if base is not None and (base is x.data or base is x.data.base
                             or x._bk.may_share_memory(out.data, x.data)):
        out._vc = x._share_vc()
    return out


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """``x`` with a new shape of the same number of elements; one size may be -1."""
    shape = _shape_arg(shape)
    try:
        data = x._bk.reshape(x.data, shape)
    except (ValueError, TypeError):
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


def movedim(x: Tensor, source: Any, destination: Any) -> Tensor:
    """Move dimension(s) ``source`` to position(s) ``destination``; the rest keep their order."""
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: source ({len(src)} dims) and destination ({len(dst)} dims) must have "
            "the same number of dimensions"
        )
    if x.ndim == 0:
        for d in src + dst:
            normalize_dim(d, 0, "movedim")
        return x
    src = [normalize_dim(d, x.ndim, "movedim") for d in src]
    dst = [normalize_dim(d, x.ndim, "movedim") for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError("movedim: repeated dimension in source or destination")
    order = [d for d in range(x.ndim) if d not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return permute(x, tuple(order))


moveaxis = movedim


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
    """Broadcast ``x`` to ``sizes`` without copying; -1 keeps a dimension's size."""
    sizes = _shape_arg(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise RuntimeError(
            f"expand: the number of sizes ({len(sizes)}) must be at least the number of "
            f"dimensions of the tensor ({x.ndim})"
        )
    shape = []
    for i, s in enumerate(sizes):
        if s == -1:
            if i < lead:
                raise RuntimeError("expand: -1 is not allowed for a new leading dimension")
            s = x.shape[i - lead]
        shape.append(int(s))
    return broadcast_to(x, tuple(shape))


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
    if s > e:
        raise RuntimeError("flatten: start_dim cannot come after end_dim")
    n = 1
    for k in x.shape[s:e + 1]:
        n *= k
    return reshape(x, x.shape[:s] + (n,) + x.shape[e + 1:])


def unflatten(x: Tensor, dim: int, sizes: Any) -> Tensor:
    """Split dimension ``dim`` into ``sizes`` (one of them may be -1)."""
    d = normalize_dim(dim, x.ndim, "unflatten")
    sizes = tuple(int(s) for s in sizes)
    known = 1
    for s in sizes:
        if s != -1:
            known *= s
    if sizes.count(-1) > 1 or (sizes.count(-1) == 0 and known != x.shape[d]) or (
            sizes.count(-1) == 1 and (known == 0 or x.shape[d] % known)):
        raise RuntimeError(
            f"unflatten: sizes {list(sizes)} don't multiply up to the size of dimension "
            f"{dim} ({x.shape[d]}) of a tensor of shape {tuple(x.shape)}"
        )
    return reshape(x, x.shape[:d] + sizes + x.shape[d + 1:])


# ----- repeating ----------------------------------------------------------------------------


def repeat(x: Tensor, *sizes: Any) -> Tensor:
    """Tile ``x`` ``sizes[i]`` times along each dimension (PyTorch's ``Tensor.repeat``).

    ``sizes`` may be longer than ``x.ndim``: ``x`` is treated as having leading size-1
    dimensions. (For NumPy-style element repetition see ``repeat_interleave``.)
    """
    sizes = tuple(int(s) for s in _shape_arg(sizes))
    if len(sizes) < x.ndim:
        raise RuntimeError(
            f"repeat: the number of repeats ({len(sizes)}) can not be smaller than the number "
            f"of dimensions of the tensor ({x.ndim})"
        )
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"repeat: repeats must be non-negative, got {list(sizes)}")
    src = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    out = wrap(x._bk.tile(x._bk.reshape(x.data, src), sizes), x._bk)
    if recording(x):
        shape = x.shape

        def grad(g: Tensor) -> Tensor:
            from .reduction import sum as _sum

            # (r0*s0, r1*s1, ...) -> (r0, s0, r1, s1, ...), then sum over the r axes
            split = tuple(v for r, s in zip(sizes, src, strict=True) for v in (r, s))
            gs = _sum(reshape(g, split), dim=tuple(range(0, 2 * len(src), 2)))
            return reshape(gs, shape)

        record(out, "Repeat", (x,), grad)
    return out


def tile(x: Tensor, dims: Any) -> Tensor:
    """Repeat ``x`` along each dimension; fewer ``dims`` than dimensions are padded with 1s."""
    dims = tuple(dims) if not isinstance(dims, int) else (dims,)
    if len(dims) < x.ndim:
        dims = (1,) * (x.ndim - len(dims)) + dims
    return repeat(x, dims)


def repeat_interleave(x: Tensor, repeats: int, dim: int | None = None) -> Tensor:
    """Repeat each element ``repeats`` times (NumPy's ``repeat``); ``dim=None`` flattens."""
    if dim is None:
        x, dim = reshape(x, (-1,)), 0
    d = normalize_dim(dim, x.ndim, "repeat_interleave")
    if not isinstance(repeats, int) or repeats < 0:
        raise RuntimeError("repeat_interleave: repeats must be a non-negative int")
    # expand a new axis after d, then merge it: differentiable through broadcast/reshape
    y = unsqueeze(x, d + 1)
    y = broadcast_to(y, x.shape[:d + 1] + (repeats,) + x.shape[d + 1:])
    return reshape(y, x.shape[:d] + (x.shape[d] * repeats,) + x.shape[d + 1:])


# ----- joining and splitting ----------------------------------------------------------------


def _same_kind(tensors: list, op: str) -> list:
    if not tensors:
        raise RuntimeError(f"{op}: expected a non-empty list of tensors")
    ts = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    dt = ts[0].dtype
    for t_ in ts[1:]:
        dt = _dt.promote(dt, t_.dtype)
    bk = ts[0]._bk
    for t_ in ts:
        if t_._bk is not bk:
            raise RuntimeError(
                f"{op}: tensors are on different backends ({bk.name} and {t_._bk.name})"
            )
    return [cast(t_, dt) for t_ in ts]


def cat(tensors: Any, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension ``dim`` (their other sizes must match)."""
    ts = _same_kind(list(tensors), "cat")
    ref = ts[0]
    if ref.ndim == 0:
        raise RuntimeError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    d = normalize_dim(dim, ref.ndim, "cat")
    for i, t_ in enumerate(ts):
        if t_.ndim != ref.ndim or any(
                a != b for k, (a, b) in enumerate(zip(t_.shape, ref.shape, strict=True))
                if k != d):
            raise RuntimeError(
                f"cat: sizes of tensors must match except in dimension {dim}; tensor 0 has "
                f"shape {tuple(ref.shape)} but tensor {i} has shape {tuple(t_.shape)}"
            )
    bk = ref._bk
    out = wrap(bk.concatenate([t_.data for t_ in ts], axis=d), bk)
    if recording(*ts):
        bounds = []
        start = 0
        for t_ in ts:
            stop = start + t_.shape[d]
            bounds.append((start, stop, t_.requires_grad))
            start = stop
        lead = (slice(None),) * d

        def grad(g: Tensor) -> tuple:
            from .indexing import getitem

            return tuple(getitem(g, lead + (slice(a, b),)) if r else None
                         for a, b, r in bounds)

        record(out, "Cat", tuple(ts), grad)
    return out


concat = concatenate = cat


def stack(tensors: Any, dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dimension ``dim``."""
    ts = _same_kind(list(tensors), "stack")
    for i, t_ in enumerate(ts):
        if t_.shape != ts[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {tuple(ts[0].shape)} at "
                f"entry 0 and {tuple(t_.shape)} at entry {i}"
            )
    d = normalize_dim(dim, ts[0].ndim + 1, "stack")
    return cat([unsqueeze(t_, d) for t_ in ts], d)


def hstack(tensors: Any) -> Tensor:
    ts = list(tensors)
    return cat(ts, 0 if ts and ts[0].ndim == 1 else 1)


def vstack(tensors: Any) -> Tensor:
    return cat([reshape(t_, (1, -1)) if t_.ndim < 2 else t_ for t_ in tensors], 0)


def split(x: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """Split into pieces of ``split_size`` (the last may be smaller) or of the given sizes."""
    if x.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = normalize_dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0 and not (size == 0 and n == 0):
            raise RuntimeError(f"split: split_size must be positive, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(
                f"split: split sizes {sizes} must be non-negative and sum to {n}, the size of "
                f"dimension {dim} of a tensor of shape {tuple(x.shape)}"
            )
    bk = x._bk
    lead = (slice(None),) * d
    outs = []
    start = 0
    for s in sizes:
        outs.append(_view_of(wrap(bk.getitem(x.data, lead + (slice(start, start + s),)), bk),
                             x))
        start += s
    if recording(x):
        # one op with several outputs: the gradient joins the pieces' gradients with one
        # cat (the engine fills zeros for pieces that got none), instead of scattering each
        # piece into a full-size zero tensor
        from ..autograd.graph import Node

        node = Node("Split", (x,), lambda *grads: cat(grads, d))
        node.out_meta = [(o.shape, o.dtype, bk) for o in outs]
        for i, o in enumerate(outs):
            o.requires_grad = True
            o._node = node
            o._idx = i
    return tuple(outs)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` pieces of equal size (the last smaller; maybe fewer pieces)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be positive, got {chunks}")
    if x.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    n = x.shape[normalize_dim(dim, x.ndim, "chunk")]
    if n == 0:  # PyTorch gives ``chunks`` empty pieces
        return split(x, [0] * chunks, dim)
    return split(x, -(-n // chunks), dim)


def unbind(x: Tensor, dim: int = 0) -> tuple:
    """The slices of ``x`` along ``dim``, with that dimension removed.

    One op with several outputs: its gradient stacks the slices' gradients in one step
    (slicing one by one would scatter each gradient into a full-size zero tensor).
    """
    from ..autograd.graph import Node

    if x.ndim == 0:
        raise IndexError("unbind: a 0-d tensor has no dimension to unbind")
    d = normalize_dim(dim, x.ndim, "unbind")
    bk = x._bk
    lead = (slice(None),) * d
    outs = tuple(_view_of(wrap(bk.getitem(x.data, lead + (i,)), bk), x)
                 for i in range(x.shape[d]))
    if outs and recording(x):
        node = Node("Unbind", (x,), lambda *grads: stack(grads, d))
        node.out_meta = [(o.shape, o.dtype, bk) for o in outs]
        for i, o in enumerate(outs):
            o.requires_grad = True
            o._node = node
            o._idx = i
    return outs


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    from .indexing import getitem

    d = normalize_dim(dim, x.ndim, "narrow")
    start = start + x.shape[d] if start < 0 else start
    if start < 0 or length < 0 or start + length > x.shape[d]:
        raise IndexError(
            f"narrow: start {start} + length {length} exceeds dimension {dim} of size "
            f"{x.shape[d]}"
        )
    return getitem(x, (slice(None),) * d + (slice(start, start + length),))


def select(x: Tensor, dim: int, index: int) -> Tensor:
    from .indexing import getitem

    d = normalize_dim(dim, x.ndim, "select")
    return getitem(x, (slice(None),) * d + (index,))


# ----- reordering ---------------------------------------------------------------------------


def _dims_arg(dims: Any, ndim: int, op: str) -> tuple:
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    out = tuple(normalize_dim(d, ndim, op) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dims {list(dims)} has a repeated dimension")
    return out


def flip(x: Tensor, dims: Any) -> Tensor:
    """Reverse the order of elements along ``dims``."""
    axes = _dims_arg(dims, x.ndim, "flip") if x.ndim else ()
    out = _view_of(wrap(x._bk.flip(x.data, axes), x._bk), x)
    if recording(x):
        record(out, "Flip", (x,), lambda g: flip(g, axes))
    return out


def fliplr(x: Tensor) -> Tensor:
    return flip(x, 1)


def flipud(x: Tensor) -> Tensor:
    return flip(x, 0)


def roll(x: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Shift elements cyclically; with ``dims=None`` the tensor is rolled as if flat."""
    if dims is None:
        if not isinstance(shifts, int):
            if len(shifts) != 1:
                raise RuntimeError("roll: with dims=None, shifts must be a single int")
            shifts = shifts[0]
        return reshape(roll(reshape(x, (-1,)), shifts, 0), x.shape)
    sh = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    axes = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(sh) != len(axes):
        raise RuntimeError(
            f"roll: shifts ({len(sh)}) and dims ({len(axes)}) must have the same length"
        )
    axes = tuple(normalize_dim(d, x.ndim, "roll") for d in axes)
    out = wrap(x._bk.roll(x.data, sh, axes), x._bk)
    if recording(x):
        back = tuple(-s for s in sh)
        record(out, "Roll", (x,), lambda g: roll(g, back, axes))
    return out


# ----- padding ------------------------------------------------------------------------------

_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(x: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last dimensions (``nn.functional.pad``): ``pad`` lists (left, right) pairs,
    last dimension first, so ``(1, 1, 2, 0)`` pads the last dimension by 1 on both sides
    and the one before by 2 at the start.

    ``mode``: ``"constant"`` (fill with ``value``; negative pads crop), ``"reflect"``,
    ``"replicate"`` or ``"circular"``.
    """
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise RuntimeError(
            f"pad: pad {list(pad)} must have an even length of at most 2 * {x.ndim} "
            f"(the number of dimensions of a tensor of shape {tuple(x.shape)})"
        )
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        return _pad_constant(x, widths, 0.0 if value is None else value)
    if mode not in _PAD_MODES:
        raise RuntimeError(
            f"pad: unknown mode {mode!r}; use 'constant', 'reflect', 'replicate' or 'circular'"
        )
    if value not in (None, 0, 0.0):
        raise RuntimeError(f"pad: value= only applies to mode 'constant', not {mode!r}")
    return _pad_by_index(x, widths, mode)


def _pad_constant(x: Tensor, widths: list, value: Any) -> Tensor:
    from .indexing import getitem

    if any(a < 0 or b < 0 for a, b in widths):
        # negative padding removes elements, as in PyTorch
        crop = tuple(slice(max(-a, 0), n - max(-b, 0)) for (a, b), n in zip(
            widths, x.shape, strict=True))
        for (a, b), n in zip(widths, x.shape, strict=True):
            if max(-a, 0) + max(-b, 0) > n:
                raise RuntimeError(
                    f"pad: negative padding {(a, b)} removes more than the {n} elements of a "
                    "dimension"
                )
        x = getitem(x, crop)
        widths = [(max(a, 0), max(b, 0)) for a, b in widths]
    if all(a == 0 and b == 0 for a, b in widths):
        return x
    out = wrap(x._bk.pad(x.data, widths, mode="constant", constant_values=value), x._bk)
    if recording(x):
        inner = tuple(slice(a, a + n) for (a, _), n in zip(widths, x.shape, strict=True))

        def grad(g: Tensor) -> Tensor:
            from .indexing import getitem

            return getitem(g, inner)

        record(out, "Pad", (x,), grad)
    return out


def _pad_by_index(x: Tensor, widths: list, mode: str) -> Tensor:
    """Reflect/replicate/circular padding as a gather of source positions.

    The per-dimension source positions come from padding an index range, so the forward is
    one advanced-indexing read and the gradient is indexing's scatter-add.
    """
    from .indexing import getitem

    bk = x._bk
    index = []
    padded = [k for k, w in enumerate(widths) if w != (0, 0)]
    for k, ((a, b), n) in enumerate(zip(widths, x.shape, strict=True)):
        if k not in padded:
            continue
        if a < 0 or b < 0:
            raise RuntimeError(f"pad: negative padding is only supported in mode 'constant', "
                               f"got {(a, b)}")
        if mode == "reflect" and (a >= n or b >= n):
            raise RuntimeError(
                f"pad: reflect padding {(a, b)} must be smaller than the size {n} of the "
                "dimension it pads"
            )
        if n == 0:
            raise RuntimeError(f"pad: cannot {mode}-pad an empty dimension")
        if mode == "circular" and (a > n or b > n):
            raise RuntimeError(
                f"pad: circular padding {(a, b)} must be at most the size {n} of the dimension"
            )
        src = bk.pad(bk.arange(n), (a, b), mode=_PAD_MODES[mode])
        shape = [1] * len(padded)
        shape[len(index)] = src.shape[0]
        index.append(bk.reshape(src, shape))
    if not index:
        return x
    # advanced indices on non-adjacent dims would move to the front: put padded dims first
    rest = [k for k in range(x.ndim) if k not in padded]
    xp = permute(x, tuple(padded + rest))
    y = getitem(xp, tuple(Tensor._wrap(i, bk) for i in index))
    inv = tuple(sorted(range(x.ndim), key=(padded + rest).__getitem__))
    return permute(y, inv)


# ----- triangles ----------------------------------------------------------------------------


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dimensions (above ``diagonal`` set to 0)."""
    if x.ndim < 2:
        raise RuntimeError(f"tril: input must have at least 2 dimensions, got {x.ndim}")
    out = wrap(x._bk.tril(x.data, diagonal), x._bk)
    if recording(x):
        record(out, "Tril", (x,), lambda g: tril(g, diagonal))
    return out


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dimensions (below ``diagonal`` set to 0)."""
    if x.ndim < 2:
        raise RuntimeError(f"triu: input must have at least 2 dimensions, got {x.ndim}")
    out = wrap(x._bk.triu(x.data, diagonal), x._bk)
    if recording(x):
        record(out, "Triu", (x,), lambda g: triu(g, diagonal))
    return out


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-D tensors: output ``i`` varies along dimension ``i``
    (``indexing="ij"``, the default) or, with ``"xy"``, the first two are swapped
    (Cartesian, as NumPy's default). Differentiable (each grid is a broadcast view)."""
    ts = list(tensors[0]) if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) \
        else list(tensors)
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for i, t_ in enumerate(ts):
        if t_.ndim > 1:
            raise RuntimeError(
                f"meshgrid: expects 0-d or 1-d tensors, tensor {i} has shape {tuple(t_.shape)}"
            )
    ts = [reshape(t_, (-1,)) for t_ in ts]
    pos = list(range(len(ts)))  # the output dimension each input varies along
    if indexing == "xy" and len(ts) >= 2:
        pos[0], pos[1] = 1, 0
    shape = [0] * len(ts)
    for t_, p in zip(ts, pos, strict=True):
        shape[p] = t_.shape[0]
    grids = []
    for t_, p in zip(ts, pos, strict=True):
        view_shape = [1] * len(ts)
        view_shape[p] = t_.shape[0]
        grids.append(broadcast_to(reshape(t_, tuple(view_shape)), tuple(shape)))
    return tuple(grids)
