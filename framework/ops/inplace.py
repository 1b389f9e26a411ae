"""In-place ops, ``clone`` and ``__setitem__``, guarded by the version counter.

An in-place op bumps the tensor's version; a gradient rule that saved the tensor checks
the version before it runs and raises a clear error instead of computing a wrong gradient.
In-place ops are not recorded: on a tensor that requires grad they are allowed only under
``fw.no_grad()`` (what optimizers and initializers do).
"""

from __future__ import annotations

from typing import Any

from ..autograd.graph import grad_mode
from ..tensor import Tensor
from ._util import as_tensor, binary_operands, record, recording, wrap


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
            f"{op}: this tensor is a read-only (broadcast) view; .clone() it first"
        )


def _apply(x: Tensor, value: Any, op: str) -> Tensor:
    _check_inplace(x, op)
    if isinstance(value, Tensor):
        value = value.data
    x._bk.setitem(x.data, Ellipsis, value)
    x._bump_version()
    return x


def add_(x: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    _, o = binary_operands(x, other, "add_")
    od = o.data if alpha == 1 else x._bk.multiply(o.data, alpha)
    _check_inplace(x, "add_")
    x._bk.add(x.data, od, out=x.data, casting="unsafe")
    x._bump_version()
    return x


def sub_(x: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    return add_(x, other, -alpha)


def mul_(x: Tensor, other: Any) -> Tensor:
    _, o = binary_operands(x, other, "mul_")
    _check_inplace(x, "mul_")
    x._bk.multiply(x.data, o.data, out=x.data, casting="unsafe")
    x._bump_version()
    return x


def div_(x: Tensor, other: Any) -> Tensor:
    _, o = binary_operands(x, other, "div_")
    _check_inplace(x, "div_")
    x._bk.divide(x.data, o.data, out=x.data, casting="unsafe")
    x._bump_version()
    return x


def zero_(x: Tensor) -> Tensor:
    return _apply(x, 0, "zero_")


def fill_(x: Tensor, value: Any) -> Tensor:
    return _apply(x, value, "fill_")


def copy_(x: Tensor, src: Any) -> Tensor:
    src = as_tensor(src)
    if src._bk is not x._bk:
        src = src.to(x._bk.name)
    return _apply(x, src, "copy_")


def clamp_(x: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    from .elementwise import clamp

    return _apply(x, clamp(x.detach(), min, max), "clamp_")


def setitem(x: Tensor, index: Any, value: Any) -> None:
    from .shape import _index_data

    if x.requires_grad:
        raise RuntimeError(
            "tensor[...] = value on a tensor that requires grad is not supported; build the "
            "result out of place (fw.where, fw.cat, masked_fill) or assign under fw.no_grad() "
            "to a tensor that is not part of a graph"
        )
    if isinstance(value, Tensor):
        value = value.data
    x._bk.setitem(x.data, _index_data(index), value)
    x._bump_version()


def clone(x: Tensor) -> Tensor:
    out = wrap(x._bk.copy(x.data), x._bk)
    if recording(x):
        record(out, "Clone", (x,), lambda g: g)
    return out


def detach(x: Tensor) -> Tensor:
    return x.detach()
