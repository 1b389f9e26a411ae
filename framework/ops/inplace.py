"""In-place ops, ``clone`` and ``__setitem__``, guarded by the version counter.

An in-place op bumps the tensor's version (views and ``detach()``-ed aliases share the
counter); a gradient rule that saved the tensor checks the version before it runs and
raises a clear error instead of computing a wrong gradient. In-place ops are not recorded:
on a tensor that requires grad they are allowed only under ``fw.no_grad()`` (what
optimizers and initializers do).

>>> import framework as fw
>>> w = fw.ones(2, requires_grad=True)
>>> with fw.no_grad():
...     _ = w.sub_(0.5)
>>> w
tensor([0.5000, 0.5000], requires_grad=True)
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..autograd.graph import grad_mode
from ..tensor import Tensor
from ._util import record, recording, wrap


def _check_inplace(x: Tensor, op: str) -> None:
    if grad_mode.enabled and x.requires_grad:
        what = "a leaf tensor that requires grad" if x._node is None else \
            "a tensor that is part of a graph"
        raise RuntimeError(
            f"{op}: in-place operation on {what}; use the out-of-place op, or wrap it in "
            "`with fw.no_grad():` if this is a parameter update"
        )
    if not x.data.flags.writeable:
        raise RuntimeError(
            f"{op}: this tensor is a read-only (broadcast or expanded) view; .clone() it first"
        )


def _operand(x: Tensor, other: Any, op: str, check_dtype: bool = True) -> Any:
    """``other`` as a backend array that can be combined into ``x`` in place."""
    bk = x._bk
    if isinstance(other, Tensor):
        if grad_mode.enabled and other.requires_grad:
            raise RuntimeError(
                f"{op}: the operand requires grad, but in-place ops are not recorded and its "
                "gradient would be lost; use the out-of-place op (x = x + y) or pass "
                "y.detach()"
            )
        if other._bk is not bk:
            raise RuntimeError(
                f"{op}: tensors are on different backends ({x._bk.name} and {other._bk.name})"
            )
        odt = other.dtype
        data = other.data
    elif isinstance(other, (bool, int, float)):
        odt = _dt.scalar_dtype(other, x.dtype)
        data = other
    else:
        t = Tensor(other)
        odt, data = t.dtype, t.data
    if check_dtype:
        res = _dt.promote(x.dtype, odt) if isinstance(other, Tensor) or not isinstance(
            other, (bool, int, float)) else odt
        if _dt._RANK[res.kind] > _dt._RANK[x.dtype.kind]:
            raise RuntimeError(
                f"{op}: result type {res} can't be cast to the desired output type {x.dtype} "
                "of the tensor modified in place"
            )
    shape = getattr(data, "shape", ())
    if shape != x.shape:
        try:
            ok = bk.broadcast_shapes(x.shape, shape) == tuple(x.shape)
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(
                f"{op}: a value of shape {tuple(shape)} doesn't broadcast to the shape "
                f"{tuple(x.shape)} of the tensor modified in place"
            )
    return data


def add_(x: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """``x += alpha * other`` in place."""
    od = _operand(x, other, "add_")
    _check_inplace(x, "add_")
    if alpha != 1:
        od = x._bk.multiply(od, alpha)
    x._bk.add(x.data, od, out=x.data, casting="unsafe")
    x._bump_version()
    return x


def sub_(x: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """``x -= alpha * other`` in place."""
    od = _operand(x, other, "sub_")
    _check_inplace(x, "sub_")
    if alpha != 1:
        od = x._bk.multiply(od, alpha)
    x._bk.subtract(x.data, od, out=x.data, casting="unsafe")
    x._bump_version()
    return x


def mul_(x: Tensor, other: Any) -> Tensor:
    """``x *= other`` in place."""
    od = _operand(x, other, "mul_")
    _check_inplace(x, "mul_")
    x._bk.multiply(x.data, od, out=x.data, casting="unsafe")
    x._bump_version()
    return x


def div_(x: Tensor, other: Any) -> Tensor:
    """``x /= other`` in place (``x`` must be floating: true division)."""
    if x.dtype.kind != "f":
        raise RuntimeError(
            f"div_: result type float can't be cast to the desired output type {x.dtype}; "
            "use x = x / y or a floating tensor"
        )
    od = _operand(x, other, "div_")
    _check_inplace(x, "div_")
    x._bk.divide(x.data, od, out=x.data, casting="unsafe")
    x._bump_version()
    return x


def _assign(x: Tensor, value: Any, op: str) -> Tensor:
    _check_inplace(x, op)
    x._bk.setitem(x.data, Ellipsis, value)
    x._bump_version()
    return x


def zero_(x: Tensor) -> Tensor:
    """Fill ``x`` with zeros in place."""
    return _assign(x, 0, "zero_")


def fill_(x: Tensor, value: Any) -> Tensor:
    """Fill ``x`` with ``value`` (a number or a 0-d tensor) in place."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                "fill_ only supports a 0-dimensional value tensor, but got one of shape "
                f"{tuple(value.shape)}"
            )
        value = _operand(x, value, "fill_", check_dtype=False)
    return _assign(x, value, "fill_")


def copy_(x: Tensor, src: Any) -> Tensor:
    """Copy ``src`` (broadcast to ``x``'s shape, converted to its dtype) into ``x``."""
    if isinstance(src, Tensor) and src._bk is not x._bk:
        src = src.to(x._bk.name)
    return _assign(x, _operand(x, src, "copy_", check_dtype=False), "copy_")


def clamp_(x: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Limit the values of ``x`` to ``[min, max]`` in place."""
    from .elementwise import clamp

    _check_inplace(x, "clamp_")
    return _assign(x, clamp(x.detach(), min, max).data, "clamp_")


clip_ = clamp_


def masked_fill_(x: Tensor, mask: Any, value: Any) -> Tensor:
    """Write ``value`` where ``mask`` is True, in place."""
    from .indexing import masked_fill

    _check_inplace(x, "masked_fill_")
    if isinstance(value, Tensor):
        _operand(x, value, "masked_fill_", check_dtype=False)
    v = value.detach() if isinstance(value, Tensor) else value
    return _assign(x, masked_fill(x.detach(), mask, v).data, "masked_fill_")


def setitem(x: Tensor, index: Any, value: Any) -> None:
    """``x[index] = value``: ``value`` (a number or tensor) is broadcast to the selection.

    Allowed on tensors that do not require grad, and under ``fw.no_grad()``; it bumps the
    version, so a gradient that needed the old values raises instead of going wrong.
    """
    from .indexing import _index_data

    if grad_mode.enabled and x.requires_grad:
        raise RuntimeError(
            "tensor[...] = value on a tensor that requires grad is not supported; build the "
            "result out of place (fw.where, fw.cat, masked_fill, scatter) or assign under "
            "fw.no_grad() if this is not part of the computation to differentiate"
        )
    _check_inplace(x, "tensor[...] = value")
    if isinstance(value, Tensor):
        if grad_mode.enabled and value.requires_grad:
            raise RuntimeError(
                "tensor[...] = value: the value requires grad, but assignment is not "
                "recorded and its gradient would be lost; build the result out of place "
                "(fw.where, fw.cat, scatter) or assign value.detach()"
            )
        if value._bk is not x._bk:
            value = value.to(x._bk.name)
        value = value.data
    idx = _index_data(index)
    try:
        x._bk.setitem(x.data, idx, value)
    except IndexError as err:
        raise IndexError(
            f"index {index!r} is invalid for a tensor of shape {tuple(x.shape)}: {err}"
        ) from None
    except ValueError as err:
        raise RuntimeError(
            f"tensor[{index!r}] = value: the value of shape "
            f"{tuple(getattr(value, 'shape', ()))} can't be written into that selection of a "
            f"tensor of shape {tuple(x.shape)}: {err}"
        ) from None
    x._bump_version()


def inplace_or_new(op: Any, new: Any) -> Any:
    """``x op= y`` (``+=`` and friends): in place unless that would have to be recorded.

    When the result must be part of a graph (grad mode on, and the tensor is part of a graph
    or the operand requires grad, as in ``total += loss``) it is computed out of place and
    rebinds the name; on a leaf that requires grad it is the same error as ``add_``;
    everywhere else (plain tensors, parameter updates under ``fw.no_grad()``) the tensor is
    modified in place.
    """

    def iop(self: Tensor, other: Any) -> Tensor:
        if grad_mode.enabled:
            if self.requires_grad:
                if self._node is not None:
                    return new(self, other)
            elif isinstance(other, Tensor) and other.requires_grad:
                # e.g. ``total += loss``: the result joins the graph
                return new(self, other)
        return op(self, other)

    return iop


def clone(x: Tensor) -> Tensor:
    """A copy of ``x`` with its own memory; differentiable (the gradient passes through)."""
    out = wrap(x._bk.copy(x.data), x._bk)
    if recording(x):
        record(out, "Clone", (x,), lambda g: g)
    return out


def detach(x: Tensor) -> Tensor:
    return x.detach()
