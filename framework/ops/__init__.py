"""All tensor ops, as functions (``fw.exp(x)``); ``Tensor`` methods call the same functions."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from ._util import cast, sum_to
from .elementwise import (
    abs,
    absolute,
    acos,
    add,
    arccos,
    arcsin,
    arctan,
    arctan2,
    asin,
    atan,
    atan2,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    ceil,
    clamp,
    clamp_max,
    clamp_min,
    clip,
    cos,
    cosh,
    div,
    divide,
    elu,
    eq,
    erf,
    exp,
    exp2,
    expm1,
    floor,
    floor_divide,
    fmod,
    ge,
    gelu,
    greater,
    greater_equal,
    gt,
    isfinite,
    isinf,
    isnan,
    le,
    leaky_relu,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    mul,
    multiply,
    ne,
    neg,
    negative,
    not_equal,
    pow,
    reciprocal,
    relu,
    remainder,
    round,
    rsqrt,
    rsub,
    sigmoid,
    sign,
    silu,
    sin,
    sinh,
    softplus,
    sqrt,
    square,
    sub,
    subtract,
    tan,
    tanh,
    true_divide,
    trunc,
    where,
)
from .indexing import (
    argwhere,
    diag,
    diagonal,
    gather,
    getitem,
    index_add,
    index_fill,
    index_select,
    masked_fill,
    masked_select,
    nonzero,
    scatter,
    scatter_add,
    scatter_reduce,
    take,
    take_along_dim,
)
from .inplace import (
    add_,
    clamp_,
    clip_,
    clone,
    copy_,
    detach,
    div_,
    fill_,
    inplace_or_new,
    masked_fill_,
    mul_,
    setitem,
    sub_,
    zero_,
)
from .linalg import (
    bmm,
    dot,
    einsum,
    ger,
    inner,
    matmul,
    mm,
    mv,
    outer,
    tensordot,
    trace,
)
from .reduction import (
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    count_nonzero,
    cumprod,
    cumsum,
    log_softmax,
    logsumexp,
    max,
    max_result,
    mean,
    min,
    min_result,
    norm,
    prod,
    softmax,
    std,
    std_mean,
    sum,
    var,
    var_mean,
)
from .shape import (
    broadcast_to,
    cat,
    chunk,
    concat,
    concatenate,
    expand,
    flatten,
    flip,
    fliplr,
    flipud,
    hstack,
    meshgrid,
    moveaxis,
    movedim,
    narrow,
    pad,
    permute,
    repeat,
    repeat_interleave,
    reshape,
    roll,
    select,
    split,
    squeeze,
    stack,
    swapaxes,
    swapdims,
    t,
    tile,
    transpose,
    tril,
    triu,
    unbind,
    unflatten,
    unsqueeze,
    view,
    vstack,
)
from .sorting import SortResult, TopkResult, argsort, kthvalue, msort, sort, topk, unique


def to_backend(x: Tensor, name: str) -> Tensor:
    """Copy ``x`` to backend ``name`` (differentiable: the gradient moves back)."""
    from .. import backend as _backend
    from ._util import record, recording, wrap

    target = _backend.get(name)
    src = x._bk
    out = wrap(target.from_numpy(src.to_numpy(x.data).copy()), target)
    if recording(x):
        record(out, "ToBackend", (x,), lambda g: to_backend(g, src.name))
    return out


# ----- Tensor methods and operators ---------------------------------------------------------

_METHODS = [
    "abs", "add", "ceil", "clamp", "clip", "cos", "div", "divide", "eq", "erf", "exp", "expm1",
    "floor", "ge", "gt", "le", "log", "log1p", "lt", "maximum", "minimum", "mul", "multiply",
    "ne", "neg", "negative", "pow", "reciprocal", "relu", "round", "rsqrt", "sigmoid", "sign",
    "sin", "sqrt", "square", "sub", "subtract", "tan", "tanh", "trunc",
    "add_", "clamp_", "clone", "copy_", "div_", "fill_", "mul_", "sub_", "zero_",
    "matmul", "amax", "amin", "mean", "sum",
    "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "fmod", "isfinite", "isinf",
    "isnan", "logical_and", "logical_not", "logical_or", "logical_xor", "remainder",
    "bmm", "dot", "ger", "inner", "mm", "mv", "outer",
    "all", "any", "argmax", "argmin", "cumsum", "log_softmax", "logsumexp", "max", "min",
    "norm", "prod", "softmax", "std", "var",
    "clamp_max", "clamp_min", "cosh", "count_nonzero", "exp2", "log2", "log10", "sinh",
    "trace", "floor_divide", "acos", "arccos", "arcsin", "arctan", "arctan2", "asin", "atan",
    "atan2", "cumprod",
    "broadcast_to", "expand", "flatten", "permute", "reshape", "squeeze", "swapaxes",
    "swapdims", "t", "transpose", "unsqueeze", "view", "sum_to",
]


# shape, indexing, sorting and in-place methods (PyTorch has each as a Tensor method)
_SHAPE_METHODS = [
    "chunk", "flip", "fliplr", "flipud", "movedim", "moveaxis", "narrow", "repeat",
    "repeat_interleave", "roll", "select", "split", "tile", "tril", "triu", "unbind",
    "unflatten", "gather", "scatter", "scatter_add", "index_select", "masked_fill",
    "masked_select", "nonzero", "argwhere", "take_along_dim", "argsort", "sort", "topk",
    "kthvalue", "msort", "unique", "clip_", "masked_fill_", "diag", "diagonal", "index_add",
    "index_fill", "take", "scatter_reduce",
]


def _bind_methods(names: list[str], namespace: dict[str, Any]) -> None:
    for name in names:
        setattr(Tensor, name, namespace[name])


_bind_methods(_METHODS, globals())
_bind_methods(_SHAPE_METHODS, globals())


def _expand_as(self: Tensor, other: Tensor) -> Tensor:
    return broadcast_to(self, other.shape)


def _view_as(self: Tensor, other: Tensor) -> Tensor:
    return reshape(self, other.shape)


def _type_as(self: Tensor, other: Tensor) -> Tensor:
    return cast(self, other.dtype)


def _flip_method(self: Tensor, *dims: Any) -> Tensor:
    return flip(self, dims[0] if len(dims) == 1 else dims)


def _tile_method(self: Tensor, *dims: Any) -> Tensor:
    return tile(self, dims[0] if len(dims) == 1 and not isinstance(dims[0], int) else dims)


Tensor.flip = _flip_method
Tensor.tile = _tile_method


def _where(self: Tensor, condition: Tensor, other: Any) -> Tensor:
    return where(condition, self, other)


Tensor.where = _where
Tensor.expand_as = _expand_as
Tensor.view_as = _view_as
Tensor.reshape_as = _view_as
Tensor.type_as = _type_as
Tensor.__add__ = add
Tensor.__radd__ = lambda self, other: add(other, self)
Tensor.__sub__ = sub
Tensor.__rsub__ = rsub
Tensor.__mul__ = mul
Tensor.__rmul__ = lambda self, other: mul(other, self)
Tensor.__truediv__ = div
Tensor.__rtruediv__ = lambda self, other: div(other, self)
Tensor.__pow__ = pow
Tensor.__rpow__ = lambda self, other: pow(other, self)
Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
Tensor.__floordiv__ = floor_divide
Tensor.__rfloordiv__ = lambda self, other: floor_divide(other, self)
Tensor.__mod__ = remainder
Tensor.__rmod__ = lambda self, other: remainder(other, self)
Tensor.__and__ = bitwise_and
Tensor.__rand__ = lambda self, other: bitwise_and(other, self)
Tensor.__or__ = bitwise_or
Tensor.__ror__ = lambda self, other: bitwise_or(other, self)
Tensor.__xor__ = bitwise_xor
Tensor.__rxor__ = lambda self, other: bitwise_xor(other, self)
Tensor.__invert__ = bitwise_not
Tensor.__neg__ = neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = abs
Tensor.__eq__ = eq
Tensor.__ne__ = ne
Tensor.__lt__ = lt
Tensor.__le__ = le
Tensor.__gt__ = gt
Tensor.__ge__ = ge
Tensor.__getitem__ = getitem
Tensor.__setitem__ = setitem
Tensor.__iadd__ = inplace_or_new(add_, add)
Tensor.__isub__ = inplace_or_new(sub_, sub)
Tensor.__imul__ = inplace_or_new(mul_, mul)
Tensor.__itruediv__ = inplace_or_new(div_, div)
