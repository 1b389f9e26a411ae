"""Reductions over dimensions: sum, mean, var/std, prod, max/min, norms, scans, softmax.

``dim`` is an int, a tuple of ints or ``None`` (all dimensions) where PyTorch accepts that;
``keepdim=True`` keeps reduced dimensions with size 1. Every gradient rule is written in
framework ops, so all of them can be differentiated again.
"""

from __future__ import annotations

import math
import warnings
from collections import namedtuple
from typing import Any

from .. import dtypes as _dt
from ..autograd.graph import grad_mode
from ..tensor import Tensor
from ._util import normalize_dim, normalize_dims, record, recording, saved_output, wrap

# max(x, dim) and min(x, dim) return these, like PyTorch's torch.return_types
max_result = namedtuple("max", ["values", "indices"])
min_result = namedtuple("min", ["values", "indices"])


def _expand_back(g: Tensor, shape: tuple, axes: tuple | None, keepdim: bool) -> Tensor:
    """Broadcast a reduced gradient back to the input's ``shape``."""
    from .shape import broadcast_to, reshape

    if not keepdim and axes is not None:
        kept = list(shape)
        for ax in axes:
            kept[ax] = 1
        g = reshape(g, tuple(kept))
    elif not keepdim:
        g = reshape(g, (1,) * len(shape))
    return broadcast_to(g, shape)


def _axes(dim: Any, x: Tensor, op: str) -> tuple | None:
    """``dim`` as sorted non-negative axes; ``()``/``[]`` mean all dimensions (as in
    PyTorch), and so does dim 0 (or -1) of a 0-d tensor."""
    axes = normalize_dims(dim, x.ndim, op)
    return None if not axes or x.ndim == 0 else axes


def _count(shape: tuple, axes: tuple | None) -> int:
    n = 1
    for ax in range(len(shape)) if axes is None else axes:
        n *= shape[ax]
    return n


def _kept_shape(shape: tuple, axes: tuple | None) -> tuple:
    return tuple(1 if axes is None or i in axes else n for i, n in enumerate(shape))


def _float_only(x: Tensor, op: str) -> None:
    if x.dtype.kind != "f":
        raise RuntimeError(f"{op}(): expected a floating tensor, got {x.dtype}; convert with "
                           ".float() or .double()")


def _nonempty(x: Tensor, axes: tuple | None, op: str) -> None:
    for ax in range(x.ndim) if axes is None else axes:
        if x.shape[ax] == 0:
            raise IndexError(f"{op}(): cannot reduce over dimension {ax} of size 0 "
                             f"(input shape {tuple(x.shape)}); the result would be undefined")
    if axes is None and x.numel() == 0:
        raise IndexError(f"{op}(): cannot reduce an empty tensor of shape {tuple(x.shape)}")


def _on_0d(fn: Any, x: Tensor, *args: Any, **kwargs: Any) -> Any:
    """Run a single-``dim`` op on a 0-d tensor as on its 1-element view (as PyTorch allows)."""
    from .shape import reshape

    res = fn(reshape(x, (1,)), 0, *args, **kwargs)
    if isinstance(res, tuple):
        return type(res)(*(reshape(r, ()) for r in res))
    return reshape(res, ())


# ----- sums and means --------------------------------------------------------------------


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:  # noqa: A001,A002
    """Sum over ``dim`` (all by default). Bool and integer tensors sum to int64; float16
    accumulates in float32, as in PyTorch."""
    x = input
    axes = _axes(dim, x, "sum")
    bk = x._bk
    if dtype is not None:
        want = _dt.as_dtype(dtype)
        data = bk.sum(x.data, axis=axes, keepdims=keepdim, dtype=want)
    elif x.dtype.kind in "biu":
        data = bk.sum(x.data, axis=axes, keepdims=keepdim, dtype=_dt.int64)
    elif x.dtype == _dt.float16:
        data = bk.astype(bk.sum(x.data, axis=axes, keepdims=keepdim, dtype=_dt.float32),
                         _dt.float16)
    else:
        data = bk.sum(x.data, axis=axes, keepdims=keepdim)
    out = wrap(data, bk)
    if recording(x) and out.dtype.kind == "f":
        shape, src = x.shape, x.dtype

        def grad(g: Tensor) -> Tensor:
            ge = _expand_back(g, shape, axes, keepdim)
            return ge if ge.dtype == src else ge.astype(src)

        record(out, "Sum", (x,), grad)
    return out


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:  # noqa: A002
    """Mean over ``dim`` (all by default); NaN over zero elements, as in PyTorch."""
    x = input
    if x.dtype.kind != "f" and dtype is None:
        raise RuntimeError(
            f"mean(): could not infer output dtype; input dtype {x.dtype} is not floating. "
            "Pass dtype= or convert with .float()"
        )
    if dtype is not None:
        x = x.astype(dtype)
    axes = _axes(dim, x, "mean")
    count = _count(x.shape, axes)
    s = sum(x, dim=dim, keepdim=keepdim)
    return s * (1.0 / count) if count else s * math.nan


def _correction(correction: Any, unbiased: Any) -> float:
    if correction is not None and unbiased is not None:
        raise TypeError("var/std: give correction= or the legacy unbiased=, not both")
    if correction is not None:
        return correction
    if unbiased is not None:
        return 1 if unbiased else 0
    return 1


def _moments(x: Tensor, dim: Any, unbiased: Any, keepdim: bool, correction: Any, op: str):
    if isinstance(dim, bool):  # var(x, False): the legacy positional unbiased
        dim, unbiased = None, dim
    _float_only(x, op)
    corr = _correction(correction, unbiased)
    axes = _axes(dim, x, op)
    n = _count(x.shape, axes)
    bk = x._bk
    d = x.data
    mu = bk.multiply(bk.sum(d, axis=axes, keepdims=True), 1.0 / n if n else math.nan)
    dev = bk.subtract(d, mu)
    ss = bk.sum(bk.multiply(dev, dev), axis=axes, keepdims=keepdim)
    dof = n - corr
    if dof > 0:
        var_data = bk.multiply(ss, 1.0 / dof)
    else:
        # no degrees of freedom left: inf, or NaN for 0/0, with a warning, like PyTorch
        warnings.warn(f"{op}(): degrees of freedom is <= 0 (correction {corr} for {n} "
                      "elements per slice)", RuntimeWarning, stacklevel=3)
        var_data = bk.astype(bk.where(bk.equal(ss, 0), math.nan, math.inf), x.dtype)
    return axes, corr, dof, dev, var_data


def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,  # noqa: A002
        correction: Any = None) -> Tensor:
    """Variance over ``dim`` with ``correction`` (1: Bessel's, the default; 0: population).

    The legacy ``unbiased=True/False`` means ``correction=1/0``.
    """
    x = input
    axes, _, dof, dev, var_data = _moments(x, dim, unbiased, keepdim, correction, "var")
    out = wrap(var_data, x._bk)
    if recording(x):
        shape, bk = x.shape, x._bk
        scale = 2.0 / dof if dof > 0 else math.inf

        def grad(g: Tensor) -> Tensor:
            centered = x - mean(x, dim=axes, keepdim=True) if grad_mode.enabled else \
                wrap(dev, bk)
            return _expand_back(g, shape, axes, keepdim) * centered * scale

        record(out, "Var", (x,), grad, (x,))
    return out


def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,  # noqa: A002
        correction: Any = None) -> Tensor:
    """Standard deviation over ``dim`` (``sqrt(var)``, same arguments as :func:`var`).

    Where the standard deviation is 0 the gradient is 0, as in PyTorch.
    """
    x = input
    axes, corr, dof, dev, var_data = _moments(x, dim, unbiased, keepdim, correction, "std")
    bk = x._bk
    out = wrap(bk.sqrt(var_data), bk)
    if recording(x):
        shape = x.shape
        scale = 1.0 / dof if dof > 0 else math.inf
        sd = out.data

        def grad(g: Tensor) -> Tensor:
            from .elementwise import where

            if grad_mode.enabled:
                centered = x - mean(x, dim=axes, keepdim=True)
                s = std(x, dim=axes, keepdim=True, correction=corr)
            else:
                centered = wrap(dev, bk)
                s = wrap(bk.reshape(sd, _kept_shape(shape, axes)), bk)
            zero = wrap(bk.equal(s.data, 0), bk)
            return (_expand_back(g, shape, axes, keepdim) * centered
                    * where(zero, 0.0, scale / where(zero, 1.0, s)))

        record(out, "Std", (x,), grad, (x, saved_output(out)))
    return out


def var_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,  # noqa: A002
             correction: Any = None) -> tuple:
    """``(var(input, ...), mean(input, ...))`` with :func:`var`'s arguments."""
    return (var(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim if not isinstance(dim, bool) else None, keepdim))


def std_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,  # noqa: A002
             correction: Any = None) -> tuple:
    """``(std(input, ...), mean(input, ...))`` with :func:`std`'s arguments."""
    return (std(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim if not isinstance(dim, bool) else None, keepdim))


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:  # noqa: A002
    """How many elements (along ``dim``) are nonzero; an int64 tensor."""
    axes = _axes(dim, input, "count_nonzero")
    bk = input._bk
    return wrap(bk.sum(bk.not_equal(input.data, 0), axis=axes, dtype=_dt.int64), bk)


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, dtype: Any = None) -> Tensor:  # noqa: A002
    """Product over ``dim`` (all by default); the gradient is exact when elements are 0."""
    x = input
    if dtype is not None:
        x = x.astype(dtype)
    axes = None if dim is None else _axes(normalize_dim(dim, x.ndim, "prod"), x, "prod")
    bk = x._bk
    d = bk.astype(x.data, _dt.int64) if x.dtype.kind in "biu" else x.data
    out = wrap(bk.prod(d, axis=axes, keepdims=keepdim), bk)
    if recording(x):
        shape = x.shape

        def grad(g: Tensor) -> Tensor:
            ge = _expand_back(g, shape, axes, keepdim)
            # a branch on the values: through the tensor, so fw.jit sees it (graph break)
            if not wrap(bk.any(bk.equal(x.data, 0)), bk).item():
                return ge * _prod_keep(x, axes) / x
            return ge * _product_of_others(x, axes)

        record(out, "Prod", (x,), grad, (x,))
    return out


def _prod_keep(x: Tensor, axes: tuple | None) -> Tensor:
    """``prod`` over ``axes`` keeping the reduced dimensions (recorded)."""
    if axes is None:
        from .shape import reshape

        return reshape(prod(x), (1,) * x.ndim)
    return prod(x, axes[0], keepdim=True)


# beyond this many elements the all-orders-exact product of the others is too large to build
_OTHERS_LIMIT = 1 << 24


def _product_of_others(x: Tensor, axes: tuple | None) -> Tensor:
    """For each element, the product of the other elements of its slice along ``axes``.

    Built as the product of a ``(..., n, n)`` tensor whose diagonal is replaced by 1, so it
    stays exact (to every order of differentiation) when the slice holds zeros. For very large
    slices it uses the zero-count form instead, exact in its first derivative.
    """
    from .elementwise import where
    from .shape import permute, reshape, unsqueeze

    bk = x._bk
    shape = x.shape
    if axes is None:
        flat = reshape(x, (1, x.numel()))
        return reshape(_product_of_others(flat, (1,)), shape)
    ax = axes[0]
    n = shape[ax]
    if x.numel() * n > _OTHERS_LIMIT:
        zero = wrap(bk.equal(x.data, 0), bk)
        zeros_in_slice = bk.sum(zero.data, axis=ax, keepdims=True)
        safe = where(zero, 1.0, x)
        p = prod(safe, ax, keepdim=True)
        none = wrap(bk.equal(zeros_in_slice, 0), bk)
        lone = wrap(bk.logical_and(zero.data, bk.equal(zeros_in_slice, 1)), bk)
        return where(none, p / safe, where(lone, p, 0.0))
    order = [i for i in range(x.ndim) if i != ax] + [ax]
    inverse = sorted(range(x.ndim), key=order.__getitem__)
    xm = permute(x, tuple(order))
    diag = wrap(bk.eye(n, dtype=bool), bk)
    others = prod(where(diag, 1.0, unsqueeze(xm, -2)), -1)
    return permute(others, tuple(inverse))


# ----- extremes ----------------------------------------------------------------------------


def _extreme(x: Tensor, dim: Any, keepdim: bool, name: str, prim: str) -> Tensor:
    """amax/amin (and max/min without dim): the gradient is shared evenly among ties."""
    axes = _axes(dim, x, name)
    _nonempty(x, axes, name)
    bk = x._bk
    out = wrap(getattr(bk, prim)(x.data, axis=axes, keepdims=keepdim), bk)
    if recording(x):
        shape = x.shape
        od = out.data

        def grad(g: Tensor) -> Tensor:
            ext = bk.reshape(od, _kept_shape(shape, axes))
            hit = bk.equal(x.data, ext)
            if name in ("max", "min"):  # a NaN result came from the NaNs: they share it
                hit = bk.logical_or(hit, bk.logical_and(bk.isnan(x.data), bk.isnan(ext)))
            weight = bk.divide(hit, bk.sum(hit, axis=axes, keepdims=True))
            return _expand_back(g, shape, axes, keepdim) * wrap(bk.astype(weight, g.dtype), bk)

        record(out, name.capitalize(), (x,), grad, (x, saved_output(out)))
    return out


def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:  # noqa: A002
    """Maximum over ``dim`` (an int, a tuple, or all dims by default); ties share the
    gradient evenly."""
    return _extreme(input, dim if dim != () else None, keepdim, "amax", "max")


def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:  # noqa: A002
    """Minimum over ``dim`` (an int, a tuple, or all dims by default); ties share the
    gradient evenly."""
    return _extreme(input, dim if dim != () else None, keepdim, "amin", "min")


def _extreme_along(x: Tensor, dim: int, keepdim: bool, name: str) -> Any:
    if x.ndim == 0:
        return _on_0d(_extreme_along, x, keepdim, name)
    ax = normalize_dim(dim, x.ndim, name)
    _nonempty(x, (ax,), name)
    bk = x._bk
    idx = (bk.argmax if name == "max" else bk.argmin)(x.data, axis=ax, keepdims=True)
    vals = bk.take_along_axis(x.data, idx, axis=ax)
    if not keepdim:
        vals = bk.squeeze(vals, axis=ax)
        idx = bk.squeeze(idx, axis=ax)
    values = wrap(vals, bk)
    indices = wrap(bk.astype(idx, _dt.int64), bk)
    if recording(x):
        shape = x.shape
        n = shape[ax]

        def grad(g: Tensor) -> Tensor:
            # the whole gradient goes to the element whose index was returned
            pos = bk.reshape(bk.arange(n), tuple(n if i == ax else 1 for i in range(len(shape))))
            keep = indices.data if keepdim else bk.expand_dims(indices.data, ax)
            onehot = wrap(bk.astype(bk.equal(pos, keep), g.dtype), bk)
            return _expand_back(g, shape, (ax,), keepdim) * onehot

        record(values, name.capitalize(), (x,), grad, (x, saved_output(indices)))
    return (max_result if name == "max" else min_result)(values, indices)


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001,A002
    """The largest element; with ``dim``, a named tuple ``(values, indices)`` along it; with a
    tensor as second argument, :func:`maximum`.

    >>> import framework as fw
    >>> fw.tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1).indices
    tensor([1, 0])
    """
    if isinstance(dim, Tensor):
        from .elementwise import maximum

        return maximum(input, dim)
    if dim is None:
        return _extreme(input, None, False, "max", "max")
    return _extreme_along(input, dim, keepdim, "max")


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001,A002
    """The smallest element; with ``dim``, a named tuple ``(values, indices)`` along it; with
    a tensor as second argument, :func:`minimum`."""
    if isinstance(dim, Tensor):
        from .elementwise import minimum

        return minimum(input, dim)
    if dim is None:
        return _extreme(input, None, False, "min", "min")
    return _extreme_along(input, dim, keepdim, "min")


def _arg_extreme(x: Tensor, dim: Any, keepdim: bool, name: str) -> Tensor:
    bk = x._bk
    prim = bk.argmax if name == "argmax" else bk.argmin
    if dim is None:
        _nonempty(x, None, name)
        idx = prim(bk.reshape(x.data, (-1,)))
        if keepdim:
            idx = bk.reshape(idx, (1,) * x.ndim)
    elif x.ndim == 0:
        normalize_dim(dim, 0, name)
        idx = bk.zeros((), _dt.int64)
    else:
        ax = normalize_dim(dim, x.ndim, name)
        _nonempty(x, (ax,), name)
        idx = prim(x.data, axis=ax, keepdims=keepdim)
    return wrap(bk.astype(bk.asarray(idx), _dt.int64), bk)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """Index of the largest element (of the flattened tensor when ``dim`` is None); the
    first one among ties. Not differentiable."""
    return _arg_extreme(input, dim, keepdim, "argmax")


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """Index of the smallest element (of the flattened tensor when ``dim`` is None); the
    first one among ties. Not differentiable."""
    return _arg_extreme(input, dim, keepdim, "argmin")


# ----- logsumexp and norms -----------------------------------------------------------------


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:  # noqa: A002
    """``log(sum(exp(input), dim))``, computed without overflow; -inf over zero elements."""
    from .elementwise import _float_input, exp

    x = _float_input(input)
    axes = _axes(dim, x, "logsumexp")
    bk = x._bk
    d = x.data
    kept = _kept_shape(x.shape, axes)
    if _count(x.shape, axes) == 0:
        lse = bk.full(kept, -math.inf, dtype=x.dtype)
    else:
        m = bk.max(d, axis=axes, keepdims=True)
        m = bk.where(bk.isfinite(m), m, 0)  # all -inf (or inf) rows: no shift
        s = bk.sum(bk.exp(bk.subtract(d, m)), axis=axes, keepdims=True)
        # all -inf: log(0) = -inf without NumPy's divide-by-zero warning (reduced size only)
        some = bk.greater(s, 0)
        lse = bk.add(bk.where(some, bk.log(bk.where(some, s, 1)), -math.inf), m)
    out = wrap(lse if keepdim else bk.reshape(lse, _reduced_shape(x.shape, axes)), bk)
    if recording(x):
        shape = x.shape

        def grad(g: Tensor) -> Tensor:
            y = logsumexp(x, axes, keepdim=True) if grad_mode.enabled else wrap(lse, bk)
            return _expand_back(g, shape, axes, keepdim) * exp(x - y)

        record(out, "Logsumexp", (x,), grad, (x, saved_output(out)))
    return out


def _reduced_shape(shape: tuple, axes: tuple | None) -> tuple:
    if axes is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False,  # noqa: A002
         dtype: Any = None) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default).

    ``p`` is ``'fro'`` or 2 (Euclidean, the default), 1, ``inf``/``-inf`` (largest/smallest
    magnitude), 0 (count of nonzeros) or any other number. Where the norm is 0 the gradient
    is 0, as in PyTorch.
    """
    from .elementwise import _float_input

    x = _float_input(input)
    if dtype is not None:
        x = x.astype(dtype)
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str) or not isinstance(p, (int, float)):
        raise ValueError(f"norm: unsupported p={p!r}; use 'fro', inf, -inf or a number")
    p = float(p)
    axes = _axes(dim, x, "norm")
    bk = x._bk
    d = x.data
    if p == 2:
        data = bk.sqrt(bk.sum(bk.multiply(d, d), axis=axes, keepdims=keepdim))
    elif p == 1:
        data = bk.sum(bk.abs(d), axis=axes, keepdims=keepdim)
    elif math.isinf(p):
        _nonempty(x, axes, "norm")
        data = (bk.max if p > 0 else bk.min)(bk.abs(d), axis=axes, keepdims=keepdim)
    elif p == 0:
        data = bk.astype(bk.sum(bk.not_equal(d, 0), axis=axes, keepdims=keepdim), x.dtype)
    else:
        data = bk.power(bk.sum(bk.power(bk.abs(d), p), axis=axes, keepdims=keepdim), 1.0 / p)
    out = wrap(data, bk)
    if recording(x) and p != 0:
        shape = x.shape

        def grad(g: Tensor) -> Tensor:
            from .elementwise import abs as abs_
            from .elementwise import sign, where

            ge = _expand_back(g, shape, axes, keepdim)
            if p == 1:
                return ge * sign(x)
            if grad_mode.enabled:
                y = norm(x, p, axes, keepdim=True)
            else:
                y = wrap(bk.reshape(data, _kept_shape(shape, axes)), bk)
            if math.isinf(p):
                hit = bk.equal(bk.abs(x.data), y.data)
                weight = bk.divide(hit, bk.sum(hit, axis=axes, keepdims=True))
                return ge * sign(x) * wrap(bk.astype(weight, g.dtype), bk)
            safe = where(wrap(bk.equal(y.data, 0), bk), 1.0, y)
            if p == 2:
                return ge * x / safe
            return ge * sign(x) * abs_(x) ** (p - 1) / safe ** (p - 1)

        record(out, "Norm", (x,), grad, (x, saved_output(out)))
    return out


# ----- truth reductions ------------------------------------------------------------------


def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001,A002
    """Whether every element (along ``dim``) is nonzero; a bool tensor."""
    axes = _axes(dim, input, "all")
    return wrap(input._bk.all(input.data, axis=axes, keepdims=keepdim), input._bk)


def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001,A002
    """Whether any element (along ``dim``) is nonzero; a bool tensor."""
    axes = _axes(dim, input, "any")
    return wrap(input._bk.any(input.data, axis=axes, keepdims=keepdim), input._bk)


# ----- scans -------------------------------------------------------------------------------


def cumsum(input: Tensor, dim: int, dtype: Any = None) -> Tensor:  # noqa: A002
    """Running sum along ``dim``; bool and integer tensors accumulate in int64."""
    x = input
    if dtype is not None:
        x = x.astype(dtype)
    if x.ndim == 0:
        return _on_0d(cumsum, x)
    ax = normalize_dim(dim, x.ndim, "cumsum")
    bk = x._bk
    want = _dt.int64 if x.dtype.kind in "biu" else None
    out = wrap(bk.cumsum(x.data, axis=ax, dtype=want), bk)
    if recording(x):
        record(out, "Cumsum", (x,), lambda g: _reverse_cumsum(g, ax))
    return out


def cumprod(input: Tensor, dim: int, dtype: Any = None) -> Tensor:  # noqa: A002
    """Running product along ``dim``; bool and integer tensors accumulate in int64.

    The gradient is exact where elements are zero too (through the first zero of each
    slice); second derivatives are exact where the input has no zeros.
    """
    x = input
    if dtype is not None:
        x = x.astype(dtype)
    if x.ndim == 0:
        return _on_0d(cumprod, x)
    ax = normalize_dim(dim, x.ndim, "cumprod")
    bk = x._bk
    want = _dt.int64 if x.dtype.kind in "biu" else None
    out = wrap(bk.cumprod(x.data, axis=ax, dtype=want), bk)
    if recording(x):
        def grad(g: Tensor) -> Tensor:
            from .elementwise import where

            y = cumprod(x, ax)
            zero = bk.equal(x.data, 0)
            # a branch on the values: through the tensor, so fw.jit sees it (graph break)
            if not wrap(bk.any(zero), bk).item():
                return _reverse_cumsum(g * y, ax) / x
            seen = bk.cumsum(zero, axis=ax)
            before = wrap(bk.equal(seen, 0), bk)  # ahead of the slice's first zero
            first = wrap(bk.logical_and(zero, bk.equal(seen, 1)), bk)
            after = wrap(bk.logical_and(bk.greater(seen, 0), bk.logical_not(first.data)), bk)
            # ahead of the first zero: d out_i / d x_k = out_i / x_k
            ahead = _reverse_cumsum(g * y, ax) / where(before, x, 1.0)
            # at the first zero z: (product ahead of z) * sum_{i >= z} g_i prod_{z < j <= i} x_j
            at_zero = cumprod(where(before, x, 1.0), ax) * _reverse_cumsum(
                g * cumprod(where(after, x, 1.0), ax), ax)
            # past the first zero every product still holds that zero
            return where(before, ahead, 0.0) + where(first, at_zero, 0.0)

        record(out, "Cumprod", (x,), grad, (x,))
    return out


def _reverse_cumsum(g: Tensor, ax: int) -> Tensor:
    """Running sum from the end along ``ax``: the gradient of cumsum (and vice versa)."""
    bk = g._bk
    out = wrap(bk.flip(bk.cumsum(bk.flip(g.data, ax), axis=ax), ax), bk)
    if recording(g):
        record(out, "ReverseCumsum", (g,), lambda gg: cumsum(gg, ax))
    return out


# ----- softmax -----------------------------------------------------------------------------


def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:  # noqa: A002
    """``exp(x) / sum(exp(x))`` along ``dim``, computed without overflow.

    >>> import framework as fw
    >>> fw.softmax(fw.tensor([0.0, 0.0]), dim=0)
    tensor([0.5, 0.5])
    """
    from .elementwise import _float_input

    x = _float_input(input) if dtype is None else input.astype(dtype)
    if x.ndim == 0:
        return _on_0d(softmax, x)
    ax = normalize_dim(dim, x.ndim, "softmax")
    bk = x._bk
    # the backend's fused kernel: exp(x - max) / sum, so exp never overflows (a slice
    # holding inf gives NaN, as in PyTorch)
    out = wrap(bk.softmax(x.data, axis=ax), bk)
    if recording(x):
        yd = out.data

        def grad(g: Tensor) -> Tensor:
            y = softmax(x, ax) if grad_mode.enabled else wrap(yd, bk)
            gy = g * y
            return gy - y * sum(gy, ax, keepdim=True)

        record(out, "Softmax", (x,), grad, (x, saved_output(out)))
    return out


def log_softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:  # noqa: A002
    """``x - logsumexp(x)`` along ``dim``, computed without overflow."""
    from .elementwise import _float_input, exp

    x = _float_input(input) if dtype is None else input.astype(dtype)
    if x.ndim == 0:
        return _on_0d(log_softmax, x)
    ax = normalize_dim(dim, x.ndim, "log_softmax")
    bk = x._bk
    out = wrap(bk.log_softmax(x.data, axis=ax), bk)  # fused: x - max - log(sum(exp(x - max)))
    if recording(x):
        yd = out.data

        def grad(g: Tensor) -> Tensor:
            y = log_softmax(x, ax) if grad_mode.enabled else wrap(yd, bk)
            return g - exp(y) * sum(g, ax, keepdim=True)

        record(out, "LogSoftmax", (x,), grad, (x, saved_output(out)))
    return out
