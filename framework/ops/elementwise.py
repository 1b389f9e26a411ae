"""Elementwise ops: arithmetic, math functions, activations, comparisons.

Each op computes its forward with one backend primitive and records a gradient rule
written in framework ops (so the rule is itself differentiable).
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd.graph import grad_mode
from ..tensor import Tensor
from ._util import (
    as_tensor,
    binary_operands,
    record,
    recording,
    saved_output,
    sum_to,
    wrap,
)

# ----- arithmetic ------------------------------------------------------------------------


def add(a: Any, b: Any, alpha: Any = 1) -> Tensor:
    if alpha != 1:
        b = mul(b, alpha)
    a, b = binary_operands(a, b, "add")
    out = wrap(a._bk.add(a.data, b.data), a._bk)
    if recording(a, b):
        sa, sb, ra, rb = a.shape, b.shape, a.requires_grad, b.requires_grad
        record(out, "Add", (a, b),
               lambda g: (sum_to(g, sa) if ra else None, sum_to(g, sb) if rb else None))
    return out


def sub(a: Any, b: Any, alpha: Any = 1) -> Tensor:
    if alpha != 1:
        b = mul(b, alpha)
    a, b = binary_operands(a, b, "sub")
    out = wrap(a._bk.subtract(a.data, b.data), a._bk)
    if recording(a, b):
        sa, sb, ra, rb = a.shape, b.shape, a.requires_grad, b.requires_grad
        record(out, "Sub", (a, b),
               lambda g: (sum_to(g, sa) if ra else None, sum_to(-g, sb) if rb else None))
    return out


subtract = sub


def mul(a: Any, b: Any) -> Tensor:
    a, b = binary_operands(a, b, "mul")
    out = wrap(a._bk.multiply(a.data, b.data), a._bk)
    if recording(a, b):
        ra, rb = a.requires_grad, b.requires_grad
        record(out, "Mul", (a, b),
               lambda g: (sum_to(g * b, a.shape) if ra else None,
                          sum_to(g * a, b.shape) if rb else None),
               (a, b))
    return out


multiply = mul


def div(a: Any, b: Any, rounding_mode: str | None = None) -> Tensor:
    a, b = binary_operands(a, b, "div")
    if rounding_mode is not None:
        from .elementwise import floor, trunc

        q = div(a, b)
        q = floor(q) if rounding_mode == "floor" else trunc(q)
        return q.detach()
    if a.dtype.kind != "f":
        from .. import dtypes as _dt

        a = a.astype(_dt.get_default_dtype())
        b = b.astype(_dt.get_default_dtype())
    out = wrap(a._bk.divide(a.data, b.data), a._bk)
    if recording(a, b):
        ra, rb = a.requires_grad, b.requires_grad
        record(out, "Div", (a, b),
               lambda g: (sum_to(g / b, a.shape) if ra else None,
                          sum_to(-g * a / (b * b), b.shape) if rb else None),
               (a, b))
    return out


divide = true_divide = div


def neg(a: Tensor) -> Tensor:
    out = wrap(a._bk.negative(a.data), a._bk)
    if recording(a):
        record(out, "Neg", (a,), lambda g: -g)
    return out


negative = neg


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - PyTorch's name
    if isinstance(a, Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return _pow_scalar(a, b)
    a, b = binary_operands(a, b, "pow")
    out = wrap(a._bk.power(a.data, b.data), a._bk)
    if recording(a, b):
        ra, rb = a.requires_grad, b.requires_grad
        yd = out.data

        def grad(g: Tensor) -> tuple:
            ga = sum_to(g * b * pow(a, b - 1), a.shape) if ra else None
            gb = None
            if rb:
                from .. import ops

                safe_log = ops.where(a > 0, ops.log(ops.where(a > 0, a, 1.0)), 0.0)
                y = pow(a, b) if grad_mode.enabled else wrap(yd, a._bk)
                gb = sum_to(g * y * safe_log, b.shape)
            return ga, gb

        record(out, "Pow", (a, b), grad, (a, b))
    return out


def _pow_scalar(a: Tensor, p: float) -> Tensor:
    if p == 2:
        out = wrap(a._bk.multiply(a.data, a.data), a._bk)
    else:
        if a.dtype.kind != "f" and (p < 0 or not float(p).is_integer()):
            from .. import dtypes as _dt

            a = a.astype(_dt.get_default_dtype())
        exp_ = a._bk.asarray(p, dtype=a.dtype) if a.dtype.kind == "f" else p
        out = wrap(a._bk.power(a.data, exp_), a._bk)
    if recording(a):
        if p == 2:
            record(out, "Pow", (a,), lambda g: g * (2.0 * a), (a,))
        elif p == 1:
            record(out, "Pow", (a,), lambda g: g)
        else:
            record(out, "Pow", (a,), lambda g: g * (p * _pow_scalar(a, p - 1)), (a,))
    return out


def rsub(a: Any, b: Any) -> Tensor:
    return sub(b, a)


def reciprocal(a: Tensor) -> Tensor:
    return div(1.0, a)


def square(a: Tensor) -> Tensor:
    return _pow_scalar(a, 2)


# ----- unary math --------------------------------------------------------------------------


def _float_input(a: Any) -> Tensor:
    a = as_tensor(a)
    if a.dtype.kind != "f":
        from .. import dtypes as _dt

        a = a.astype(_dt.get_default_dtype())
    return a


def exp(a: Tensor) -> Tensor:
    a = _float_input(a)
    out = wrap(a._bk.exp(a.data), a._bk)
    if recording(a):
        y = out.data
        bk = a._bk
        record(out, "Exp", (a,), lambda g: g * (exp(a) if grad_mode.enabled else wrap(y, bk)),
               (a, saved_output(out)))
    return out


def log(a: Tensor) -> Tensor:
    a = _float_input(a)
    out = wrap(a._bk.log(a.data), a._bk)
    if recording(a):
        record(out, "Log", (a,), lambda g: g / a, (a,))
    return out


def log1p(a: Tensor) -> Tensor:
    a = _float_input(a)
    out = wrap(a._bk.log1p(a.data), a._bk)
    if recording(a):
        record(out, "Log1p", (a,), lambda g: g / (a + 1.0), (a,))
    return out


def expm1(a: Tensor) -> Tensor:
    a = _float_input(a)
    out = wrap(a._bk.expm1(a.data), a._bk)
    if recording(a):
        record(out, "Expm1", (a,), lambda g: g * exp(a), (a,))
    return out


def sqrt(a: Tensor) -> Tensor:
    a = _float_input(a)
    out = wrap(a._bk.sqrt(a.data), a._bk)
    if recording(a):
        record(out, "Sqrt", (a,), lambda g: g / (2.0 * sqrt(a)), (a,))
    return out


def rsqrt(a: Tensor) -> Tensor:
    return reciprocal(sqrt(a))


def sin(a: Tensor) -> Tensor:
    a = _float_input(a)
    out = wrap(a._bk.sin(a.data), a._bk)
    if recording(a):
        record(out, "Sin", (a,), lambda g: g * cos(a), (a,))
    return out


def cos(a: Tensor) -> Tensor:
    a = _float_input(a)
    out = wrap(a._bk.cos(a.data), a._bk)
    if recording(a):
        record(out, "Cos", (a,), lambda g: -g * sin(a), (a,))
    return out


def tan(a: Tensor) -> Tensor:
    a = _float_input(a)
    out = wrap(a._bk.tan(a.data), a._bk)
    if recording(a):
        record(out, "Tan", (a,), lambda g: g * (1.0 + tan(a) ** 2), (a,))
    return out


def tanh(a: Tensor) -> Tensor:
    a = _float_input(a)
    out = wrap(a._bk.tanh(a.data), a._bk)
    if recording(a):
        yd = out.data

        def grad(g: Tensor) -> Tensor:
            y = tanh(a) if grad_mode.enabled else wrap(yd, a._bk)
            return g * (1.0 - y * y)

        record(out, "Tanh", (a,), grad, (a,))
    return out


def sigmoid(a: Tensor) -> Tensor:
    a = _float_input(a)
    bk = a._bk
    # exp of -|x| never overflows: sigmoid(x) = where(x >= 0, 1/(1+e), e/(1+e)), e = exp(-|x|)
    e = bk.exp(bk.negative(bk.abs(a.data)))
    out = wrap(bk.where(a.data >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(a.dtype, copy=False),
               bk)
    if recording(a):
        yd = out.data

        def grad(g: Tensor) -> Tensor:
            y = sigmoid(a) if grad_mode.enabled else wrap(yd, bk)
            return g * y * (1.0 - y)

        record(out, "Sigmoid", (a,), grad, (a,))
    return out


def abs(a: Tensor) -> Tensor:  # noqa: A001
    out = wrap(a._bk.abs(a.data), a._bk)
    if recording(a):
        record(out, "Abs", (a,), lambda g: g * sign(a).detach(), (a,))
    return out


absolute = abs


def sign(a: Tensor) -> Tensor:
    return wrap(a._bk.sign(a.data), a._bk)


def relu(a: Tensor) -> Tensor:
    bk = a._bk
    out = wrap(bk.maximum(a.data, 0), bk) if a.dtype.kind == "f" else wrap(
        bk.maximum(a.data, 0), bk)
    if recording(a):
        def grad(g: Tensor) -> Tensor:
            mask = wrap(a.data > 0, bk)
            return g * mask.astype(g.dtype)

        record(out, "Relu", (a,), grad, (a,))
    return out


def erf(a: Tensor) -> Tensor:
    a = _float_input(a)
    out = wrap(a._bk.erf(a.data), a._bk)
    if recording(a):
        c = 2.0 / math.sqrt(math.pi)
        record(out, "Erf", (a,), lambda g: g * (c * exp(-(a * a))), (a,))
    return out


# ----- comparisons (not differentiable, bool results) ------------------------------------


def _compare(prim: str, name: str):
    def op(a: Any, b: Any) -> Tensor:
        a, b = binary_operands(a, b, name)
        return wrap(getattr(a._bk, prim)(a.data, b.data), a._bk)

    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}`` comparison; a bool tensor, not differentiable."
    return op


eq = _compare("equal", "eq")
ne = _compare("not_equal", "ne")
lt = _compare("less", "lt")
le = _compare("less_equal", "le")
gt = _compare("greater", "gt")
ge = _compare("greater_equal", "ge")
less, less_equal, greater, greater_equal, not_equal = lt, le, gt, ge, ne


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (broadcast); differentiable in a and b."""
    cond = as_tensor(condition)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(a)
    a, b = binary_operands(a, b, "where")
    bk = a._bk
    out = wrap(bk.where(cond.data, a.data, b.data), bk)
    if recording(a, b):
        ra, rb = a.requires_grad, b.requires_grad
        zero = wrap(bk.zeros((), a.dtype), bk)

        def grad(g: Tensor) -> tuple:
            return (sum_to(where(cond, g, zero), a.shape) if ra else None,
                    sum_to(where(cond, zero, g), b.shape) if rb else None)

        record(out, "Where", (a, b), grad)
    return out


def maximum(a: Any, b: Any) -> Tensor:
    a, b = binary_operands(a, b, "maximum")
    out = wrap(a._bk.maximum(a.data, b.data), a._bk)
    if recording(a, b):
        ra, rb = a.requires_grad, b.requires_grad

        def grad(g: Tensor) -> tuple:
            # ties split the gradient evenly, as PyTorch does
            gt_ = (a > b).astype(g.dtype)
            eq_ = (a == b).astype(g.dtype) * 0.5
            return (sum_to(g * (gt_ + eq_), a.shape) if ra else None,
                    sum_to(g * (1.0 - gt_ - eq_), b.shape) if rb else None)

        record(out, "Maximum", (a, b), grad, (a, b))
    return out


def minimum(a: Any, b: Any) -> Tensor:
    return neg(maximum(neg(as_tensor(a)), neg(as_tensor(b))))


# ----- rounding and clamping -------------------------------------------------------------


def _rounding(prim: str, name: str):
    def op(a: Tensor) -> Tensor:
        out = wrap(getattr(a._bk, prim)(a.data), a._bk)
        if recording(a):
            # piecewise constant: the gradient is zero almost everywhere
            record(out, name.capitalize(), (a,), lambda g: g * 0.0)
        return out

    op.__name__ = name
    return op


floor = _rounding("floor", "floor")
ceil = _rounding("ceil", "ceil")
trunc = _rounding("trunc", "trunc")


def round(a: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001
    out = wrap(a._bk.round(a.data, decimals), a._bk)
    if recording(a):
        record(out, "Round", (a,), lambda g: g * 0.0)
    return out


def clamp(a: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Limit values to ``[min, max]``; the gradient passes where the value was inside."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of min and max must be given")
    out = a
    if min is not None:
        out = where(out < min, as_tensor(min, out) if not isinstance(min, Tensor) else min, out)
    if max is not None:
        out = where(out > max, as_tensor(max, out) if not isinstance(max, Tensor) else max, out)
    return out


clip = clamp
