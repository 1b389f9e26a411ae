"""Elementwise ops: arithmetic, math functions, activations, comparisons.

Each op computes its forward with one backend primitive and records a gradient rule
written in framework ops (so the rule is itself differentiable).
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd.graph import Node, grad_mode
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


def shape_error(op: str, err: Exception, *tensors: Tensor) -> RuntimeError:
    """The error for operands whose shapes do not broadcast: the op, the shapes and where."""
    shapes = [tuple(t.shape) for t in tensors]
    nd = max(len(sh) for sh in shapes)
    padded = [(1,) * (nd - len(sh)) + sh for sh in shapes]
    listed = " and ".join(str(sh) for sh in shapes)
    for d in range(nd):
        sizes = sorted({p[d] for p in padded} - {1})
        if len(sizes) > 1:
            return RuntimeError(
                f"{op}: shapes {listed} do not broadcast: sizes "
                f"{' and '.join(map(str, sizes))} at dimension {d - nd} (sizes must match or "
                "be 1)"
            )
    return RuntimeError(f"{op}: shapes {listed}: {err}")


# ----- arithmetic ------------------------------------------------------------------------


def _same_kind(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are tensors of one dtype on one backend: the fast path of the
    arithmetic ops (no promotion or conversion needed)."""
    try:
        return a.data.dtype is b.data.dtype and a._bk is b._bk
    except AttributeError:
        return False


def add(a: Any, b: Any, alpha: Any = 1) -> Tensor:
    if alpha != 1:
        b = mul(b, alpha)
    if not _same_kind(a, b):
        a, b = binary_operands(a, b, "add")
    bk, ad, bd = a._bk, a.data, b.data
    try:
        out = wrap(bk.add(ad, bd), bk)
    except ValueError as err:
        raise shape_error("add", err, a, b) from None
    if grad_mode.enabled and (a.requires_grad or b.requires_grad):
        sa, sb, ra, rb = ad.shape, bd.shape, a.requires_grad, b.requires_grad
        out.requires_grad = True
        out._node = Node("Add", (a, b), lambda g: (sum_to(g, sa) if ra else None,
                                                   sum_to(g, sb) if rb else None))
    return out


def sub(a: Any, b: Any, alpha: Any = 1) -> Tensor:
    if alpha != 1:
        b = mul(b, alpha)
    if not _same_kind(a, b):
        a, b = binary_operands(a, b, "sub")
    bk, ad, bd = a._bk, a.data, b.data
    try:
        out = wrap(bk.subtract(ad, bd), bk)
    except ValueError as err:
        raise shape_error("sub", err, a, b) from None
    if grad_mode.enabled and (a.requires_grad or b.requires_grad):
        sa, sb, ra, rb = ad.shape, bd.shape, a.requires_grad, b.requires_grad
        out.requires_grad = True
        out._node = Node("Sub", (a, b), lambda g: (sum_to(g, sa) if ra else None,
                                                   sum_to(-g, sb) if rb else None))
    return out


subtract = sub


def mul(a: Any, b: Any) -> Tensor:
    if not _same_kind(a, b):
        a, b = binary_operands(a, b, "mul")
    bk = a._bk
    try:
        out = wrap(bk.multiply(a.data, b.data), bk)
    except ValueError as err:
        raise shape_error("mul", err, a, b) from None
    if grad_mode.enabled and (a.requires_grad or b.requires_grad):
        ra, rb = a.requires_grad, b.requires_grad
        out.requires_grad = True
        out._node = Node("Mul", (a, b),
                         lambda g: (sum_to(g * b, a.data.shape) if ra else None,
                                    sum_to(g * a, b.data.shape) if rb else None),
                         (a, b))
    return out


multiply = mul


def div(a: Any, b: Any, rounding_mode: str | None = None) -> Tensor:
    a, b = binary_operands(a, b, "div")
    if rounding_mode is not None:
        return _rounded_div(a, b, rounding_mode)
    if a.dtype.kind != "f":
        from .. import dtypes as _dt

        a = a.astype(_dt.get_default_dtype())
        b = b.astype(_dt.get_default_dtype())
    try:
        out = wrap(a._bk.divide(a.data, b.data), a._bk)
    except ValueError as err:
        raise shape_error("div", err, a, b) from None
    if recording(a, b):
        ra, rb = a.requires_grad, b.requires_grad
        record(out, "Div", (a, b),
               lambda g: (sum_to(g / b, a.shape) if ra else None,
                          sum_to(-g * a / (b * b), b.shape) if rb else None),
               (a, b))
    return out


divide = true_divide = div


def _rounded_div(a: Tensor, b: Tensor, rounding_mode: str) -> Tensor:
    """``a / b`` rounded toward -inf ("floor") or 0 ("trunc") in the operands' dtype
    (integers stay integers); the gradient is zero."""
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got "
                         f"{rounding_mode!r}")
    bk = a._bk
    if a.dtype.kind in "biu":
        if bk.any(bk.equal(b.data, 0)):
            raise ZeroDivisionError("div: integer division by zero")
        q = getattr(bk, rounding_mode)(bk.divide(a.data, b.data))
        return wrap(bk.astype(q, a.dtype if a.dtype.kind != "b" else q.dtype), bk)
    out = wrap(getattr(bk, rounding_mode)(bk.divide(a.data, b.data)), bk)
    if recording(a, b):
        ra, rb = a.requires_grad, b.requires_grad
        record(out, "DivRounded", (a, b),
               lambda g: (_zeros_like(a) if ra else None, _zeros_like(b) if rb else None))
    return out


def floor_divide(input: Any, other: Any) -> Tensor:  # noqa: A002
    """``input // other``: division rounded toward -inf (integers stay integers)."""
    return div(input, other, rounding_mode="floor")


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
    try:
        out = wrap(a._bk.power(a.data, b.data), a._bk)
    except ValueError as err:
        raise shape_error("pow", err, a, b) from None
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

        record(out, "Pow", (a, b), grad, (a, b, saved_output(out)))
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



def reciprocal(a: Any) -> Tensor:
    """``1 / a`` elementwise (integer inputs become the default float dtype)."""
    a = _float_input(a)
    out = wrap(a._bk.reciprocal(a.data), a._bk)
    if recording(a):
        yd, bk = out.data, a._bk

        def grad(g: Tensor) -> Tensor:
            y = reciprocal(a) if grad_mode.enabled else wrap(yd, bk)
            return -g * (y * y)

        record(out, "Reciprocal", (a,), grad, (a, saved_output(out)))
    return out


def square(a: Tensor) -> Tensor:
    return _pow_scalar(a, 2)


# ----- unary math --------------------------------------------------------------------------


def _float_input(a: Any) -> Tensor:
    a = as_tensor(a)
    if a.dtype.kind != "f":
        from .. import dtypes as _dt

        a = a.astype(_dt.get_default_dtype())
    return a


def _zeros_like(g: Tensor) -> Tensor:
    return wrap(g._bk.zeros(g.shape, g.dtype), g._bk)


def _const(data: Any, bk: Any) -> Tensor:
    """A backend array as a tensor outside the graph (masks and weights in gradient rules)."""
    return wrap(data, bk)


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
    """``1 / sqrt(a)`` elementwise."""
    a = _float_input(a)
    bk = a._bk
    out = wrap(bk.reciprocal(bk.sqrt(a.data)), bk)
    if recording(a):
        yd = out.data

        def grad(g: Tensor) -> Tensor:
            y = rsqrt(a) if grad_mode.enabled else wrap(yd, bk)
            return g * (y * y * y) * -0.5

        record(out, "Rsqrt", (a,), grad, (a, saved_output(out)))
    return out


_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def log2(a: Tensor) -> Tensor:
    """Base-2 logarithm, ``log(a) / log(2)``."""
    return log(a) * (1.0 / _LN2)


def log10(a: Tensor) -> Tensor:
    """Base-10 logarithm, ``log(a) / log(10)``."""
    return log(a) * (1.0 / _LN10)


def exp2(a: Tensor) -> Tensor:
    """``2 ** a``, as ``exp(a * log(2))``."""
    return exp(_float_input(a) * _LN2)


def sinh(a: Tensor) -> Tensor:
    """Hyperbolic sine, ``(expm1(a) - expm1(-a)) / 2`` (accurate near 0)."""
    a = _float_input(a)
    return (expm1(a) - expm1(-a)) * 0.5


def cosh(a: Tensor) -> Tensor:
    """Hyperbolic cosine, ``(exp(a) + exp(-a)) / 2``."""
    a = _float_input(a)
    return (exp(a) + exp(-a)) * 0.5


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


def asin(a: Tensor) -> Tensor:
    """Inverse sine (NaN outside [-1, 1])."""
    a = _float_input(a)
    out = wrap(a._bk.arcsin(a.data), a._bk)
    if recording(a):
        record(out, "Asin", (a,), lambda g: g * rsqrt(1.0 - a * a), (a,))
    return out


def acos(a: Tensor) -> Tensor:
    """Inverse cosine (NaN outside [-1, 1])."""
    a = _float_input(a)
    out = wrap(a._bk.arccos(a.data), a._bk)
    if recording(a):
        record(out, "Acos", (a,), lambda g: -g * rsqrt(1.0 - a * a), (a,))
    return out


def atan(a: Tensor) -> Tensor:
    """Inverse tangent."""
    a = _float_input(a)
    out = wrap(a._bk.arctan(a.data), a._bk)
    if recording(a):
        record(out, "Atan", (a,), lambda g: g / (a * a + 1.0), (a,))
    return out


def atan2(input: Any, other: Any) -> Tensor:  # noqa: A002
    """Angle of the point ``(other, input)`` (x = other, y = input) in radians, quadrant-aware."""
    y, x = binary_operands(input, other, "atan2")
    if y.dtype.kind != "f":
        from .. import dtypes as _dt

        y, x = y.astype(_dt.get_default_dtype()), x.astype(_dt.get_default_dtype())
    bk = y._bk
    try:
        out = wrap(bk.arctan2(y.data, x.data), bk)
    except ValueError as err:
        raise shape_error("atan2", err, y, x) from None
    if recording(y, x):
        ry, rx = y.requires_grad, x.requires_grad

        def grad(g: Tensor) -> tuple:
            r2 = x * x + y * y
            return (sum_to(g * x / r2, y.shape) if ry else None,
                    sum_to(-g * y / r2, x.shape) if rx else None)

        record(out, "Atan2", (y, x), grad, (y, x))
    return out


arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2


def tanh(a: Tensor) -> Tensor:
    a = _float_input(a)
    out = wrap(a._bk.tanh(a.data), a._bk)
    if recording(a):
        yd = out.data

        def grad(g: Tensor) -> Tensor:
            y = tanh(a) if grad_mode.enabled else wrap(yd, a._bk)
            return g * (1.0 - y * y)

        record(out, "Tanh", (a,), grad, (a, saved_output(out)))
    return out


def _sigmoid_data(bk: Any, d: Any) -> Any:
    # exp of -|x| never overflows: sigmoid(x) = where(x >= 0, r, e * r), e = exp(-|x|),
    # r = 1 / (1 + e)
    e = bk.exp(bk.negative(bk.abs(d)))
    r = bk.reciprocal(bk.add(e, 1.0))
    return bk.where(bk.greater_equal(d, 0), r, bk.multiply(e, r))


def sigmoid(a: Tensor) -> Tensor:
    a = _float_input(a)
    bk = a._bk
    out = wrap(_sigmoid_data(bk, a.data), bk)
    if recording(a):
        yd = out.data

        def grad(g: Tensor) -> Tensor:
            y = sigmoid(a) if grad_mode.enabled else wrap(yd, bk)
            return g * y * (1.0 - y)

        record(out, "Sigmoid", (a,), grad, (a, saved_output(out)))
    return out


def abs(a: Tensor) -> Tensor:  # noqa: A001
    out = wrap(a._bk.abs(a.data), a._bk)
    if recording(a):
        record(out, "Abs", (a,), lambda g: g * sign(a).detach(), (a,))
    return out


absolute = abs


def sign(a: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element (0 for NaN, as in PyTorch); its gradient is
    zero."""
    bk = a._bk
    d = bk.sign(a.data)
    if a.dtype.kind == "f":
        d = bk.where(bk.isnan(d), 0, d)
    out = wrap(d, bk)
    if recording(a):
        record(out, "Sign", (a,), _zeros_like)
    return out


def erf(a: Tensor) -> Tensor:
    a = _float_input(a)
    out = wrap(a._bk.erf(a.data), a._bk)
    if recording(a):
        c = 2.0 / math.sqrt(math.pi)
        record(out, "Erf", (a,), lambda g: g * (c * exp(-(a * a))), (a,))
    return out


# ----- activations -------------------------------------------------------------------------


def relu(a: Tensor) -> Tensor:
    """``max(a, 0)``; the gradient at 0 is 0, as in PyTorch."""
    bk = a._bk
    out = wrap(bk.maximum(a.data, 0), bk)
    if recording(a):
        def grad(g: Tensor) -> Tensor:
            mask = bk.greater(a.data, 0)
            if not grad_mode.enabled:  # plain backward: one multiply by the bool mask
                return wrap(bk.multiply(g.data, mask), bk)
            return g * _const(bk.astype(mask, g.dtype), bk)

        record(out, "Relu", (a,), grad, (a,))
    return out


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:  # noqa: A002
    """``input`` where positive, else ``negative_slope * input``."""
    a = _float_input(input)
    bk = a._bk
    d = a.data
    out = wrap(bk.where(bk.greater(d, 0), d, bk.multiply(d, negative_slope)), bk)
    if recording(a):
        def grad(g: Tensor) -> Tensor:
            w = bk.where(bk.greater(a.data, 0), 1.0, negative_slope)
            return g * _const(bk.astype(w, g.dtype), bk)

        record(out, "LeakyRelu", (a,), grad, (a,))
    return out


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    """``input`` where positive, else ``alpha * (exp(input) - 1)``."""
    a = _float_input(input)
    bk = a._bk
    d = a.data
    pos = bk.greater(d, 0)
    out = wrap(bk.where(pos, d, bk.multiply(bk.expm1(bk.minimum(d, 0)), alpha)), bk)
    if recording(a):
        def grad(g: Tensor) -> Tensor:
            p = _const(bk.greater(a.data, 0), bk)
            # exp only of the non-positive side, so no overflow leaks into double backward
            neg_side = exp(where(p, 0.0, a)) * alpha
            return g * where(p, 1.0, neg_side)

        record(out, "Elu", (a,), grad, (a,))
    return out


_SQRT_HALF = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_SQRT_HALF = 0.7071067811865476  # the fused kernel's constant (1 ulp above _SQRT_HALF)
_TANH_K = math.sqrt(2.0 / math.pi)
_TANH_C = 0.044715


def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    """Gaussian error linear unit: ``x * Phi(x)`` exactly (``approximate='none'``) or with
    the tanh approximation (``approximate='tanh'``)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    a = _float_input(input)
    bk = a._bk
    d = a.data
    erf_d = None
    if approximate == "none":
        if d.ndim and recording(a):
            # x * (1 + erf(x / sqrt(2))) / 2 with the same arithmetic as the fused kernel,
            # keeping erf for the plain backward (which then skips computing it again)
            erf_d = bk.erf(bk.multiply(d, _GELU_SQRT_HALF))
            out = bk.multiply(d, 0.5)
            out = wrap(bk.multiply(out, bk.add(erf_d, 1.0), out=out), bk)
        else:
            out = wrap(bk.gelu(d), bk)  # fused kernel: x * (1 + erf(x / sqrt(2))) / 2
    else:
        half_x = bk.multiply(d, 0.5)
        inner = bk.multiply(bk.add(d, bk.multiply(bk.multiply(bk.multiply(d, d), d), _TANH_C)),
                            _TANH_K)
        out = wrap(bk.add(half_x, bk.multiply(half_x, bk.tanh(inner))), bk)
    if recording(a):
        if approximate == "none":
            def grad(g: Tensor) -> Tensor:
                if not grad_mode.enabled and g.dtype == a.dtype and a.ndim:
                    # plain backward: the same arithmetic on arrays, in place where fresh
                    x = a.data
                    cdf = bk.multiply(erf_d, 0.5)  # the forward's erf (kept intact)
                    cdf = bk.add(cdf, 0.5, out=cdf)
                    pdf = bk.multiply(x, x)
                    pdf = bk.multiply(pdf, -0.5, out=pdf)
                    pdf = bk.exp(pdf, out=pdf)
                    pdf = bk.multiply(pdf, _INV_SQRT_2PI, out=pdf)
                    pdf = bk.multiply(x, pdf, out=pdf)
                    pdf = bk.add(cdf, pdf, out=pdf)
                    return wrap(bk.multiply(g.data, pdf, out=pdf), bk)
                cdf = erf(a * _SQRT_HALF) * 0.5 + 0.5
                pdf = exp(a * a * -0.5) * _INV_SQRT_2PI
                return g * (cdf + a * pdf)
        else:
            def grad(g: Tensor) -> Tensor:
                a2 = a * a
                t = tanh((a + a2 * a * _TANH_C) * _TANH_K)
                dinner = (a2 * (3.0 * _TANH_C) + 1.0) * _TANH_K
                return g * ((t + 1.0) * 0.5 + a * 0.5 * (1.0 - t * t) * dinner)

        record(out, "Gelu", (a,), grad, (a,))
    return out


def silu(input: Tensor) -> Tensor:  # noqa: A002
    """``x * sigmoid(x)`` (also called swish)."""
    a = _float_input(input)
    bk = a._bk
    sd = _sigmoid_data(bk, a.data)
    out = wrap(bk.multiply(a.data, sd), bk)
    if recording(a):
        def grad(g: Tensor) -> Tensor:
            s = sigmoid(a) if grad_mode.enabled else wrap(sd, bk)
            return g * (s * (a * (1.0 - s) + 1.0))

        record(out, "Silu", (a,), grad, (a,))
    return out


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """``log(1 + exp(beta * x)) / beta``; linear (``x``) where ``beta * x > threshold``."""
    a = _float_input(input)
    bk = a._bk
    d = a.data
    z = bk.multiply(d, beta)
    over = bk.greater(z, threshold)
    soft = bk.log1p(bk.exp(bk.minimum(z, threshold)))
    out = wrap(bk.where(over, d, soft if beta == 1 else bk.divide(soft, beta)), bk)
    if recording(a):
        def grad(g: Tensor) -> Tensor:
            lin = _const(bk.greater(bk.multiply(a.data, beta), threshold), bk)
            return g * where(lin, 1.0, sigmoid(a * beta))

        record(out, "Softplus", (a,), grad, (a,))
    return out


# ----- comparisons and logic (not differentiable, bool results) ---------------------------


def _compare(prim: str, name: str):
    def op(a: Any, b: Any) -> Tensor:
        a, b = binary_operands(a, b, name)
        try:
            return wrap(getattr(a._bk, prim)(a.data, b.data), a._bk)
        except ValueError as err:
            raise shape_error(name, err, a, b) from None

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
logical_and = _compare("logical_and", "logical_and")
logical_or = _compare("logical_or", "logical_or")
logical_xor = _compare("logical_xor", "logical_xor")
logical_and.__doc__ = "Elementwise AND of the truth values (nonzero is true); a bool tensor."
logical_or.__doc__ = "Elementwise OR of the truth values (nonzero is true); a bool tensor."
logical_xor.__doc__ = "Elementwise XOR of the truth values (nonzero is true); a bool tensor."


def logical_not(a: Any) -> Tensor:
    """Elementwise NOT of the truth values (nonzero is true); a bool tensor."""
    a = as_tensor(a)
    return wrap(a._bk.logical_not(a.data), a._bk)


def _bitwise(prim: str, name: str):
    def op(a: Any, b: Any) -> Tensor:
        a, b = binary_operands(a, b, name)
        if a.dtype.kind not in "biu":
            raise TypeError(f"{name}: only bool and integer tensors are supported, got "
                            f"{a.dtype}")
        try:
            return wrap(getattr(a._bk, prim)(a.data, b.data), a._bk)
        except ValueError as err:
            raise shape_error(name, err, a, b) from None

    op.__name__ = name
    op.__doc__ = (f"Elementwise ``{name}`` of bool or integer tensors (``&``, ``|``, ``^`` "
                  "on masks); not differentiable.")
    return op


bitwise_and = _bitwise("bitwise_and", "bitwise_and")
bitwise_or = _bitwise("bitwise_or", "bitwise_or")
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor")


def bitwise_not(a: Tensor) -> Tensor:
    """Elementwise NOT of a bool tensor, bitwise NOT of an integer tensor (``~x``)."""
    if a.dtype.kind not in "biu":
        raise TypeError(f"bitwise_not: only bool and integer tensors are supported, got "
                        f"{a.dtype}")
    return wrap(a._bk.invert(a.data), a._bk)


def isnan(a: Tensor) -> Tensor:
    """Where the elements are NaN; a bool tensor."""
    return wrap(a._bk.isnan(a.data), a._bk)


def isinf(a: Tensor) -> Tensor:
    """Where the elements are +inf or -inf; a bool tensor."""
    return wrap(a._bk.isinf(a.data), a._bk)


def isfinite(a: Tensor) -> Tensor:
    """Where the elements are neither NaN nor infinite; a bool tensor."""
    return wrap(a._bk.isfinite(a.data), a._bk)


def where(condition: Any, input: Any = None, other: Any = None) -> Tensor:  # noqa: A002
    """``input`` where ``condition`` holds, else ``other`` (broadcast); differentiable in
    both. ``condition`` must be a bool tensor; either value may be a Python scalar."""
    cond = as_tensor(condition)
    if input is None or other is None:
        raise TypeError("where: give condition, input and other (for the indices where a "
                        "condition holds use fw.nonzero(condition, as_tuple=True))")
    if cond.dtype.kind != "b":
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    a, b = input, other
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(a)
    a, b = binary_operands(a, b, "where")
    bk = a._bk
    try:
        out = wrap(bk.where(cond.data, a.data, b.data), bk)
    except ValueError as err:
        raise shape_error("where", err, cond, a, b) from None
    if recording(a, b):
        ra, rb = a.requires_grad, b.requires_grad
        zero = wrap(bk.zeros((), a.dtype), bk)

        def grad(g: Tensor) -> tuple:
            return (sum_to(where(cond, g, zero), a.shape) if ra else None,
                    sum_to(where(cond, zero, g), b.shape) if rb else None)

        record(out, "Where", (a, b), grad)
    return out


def _extremum(a: Any, b: Any, name: str) -> Tensor:
    a, b = binary_operands(a, b, name)
    bk = a._bk
    take_max = name == "maximum"
    try:
        out = wrap((bk.maximum if take_max else bk.minimum)(a.data, b.data), bk)
    except ValueError as err:
        raise shape_error(name, err, a, b) from None
    if recording(a, b):
        ra, rb = a.requires_grad, b.requires_grad

        def grad(g: Tensor) -> tuple:
            # the winner gets the gradient; ties split it evenly, as PyTorch does
            ad, bd = a.data, b.data
            win = bk.greater(ad, bd) if take_max else bk.less(ad, bd)
            wa = bk.astype(bk.add(win, bk.multiply(bk.equal(ad, bd), 0.5)), g.dtype)
            return (sum_to(g * _const(wa, bk), a.shape) if ra else None,
                    sum_to(g * _const(bk.subtract(1.0, wa), bk), b.shape) if rb else None)

        record(out, name.capitalize(), (a, b), grad, (a, b))
    return out


def maximum(input: Any, other: Any) -> Tensor:  # noqa: A002
    """Elementwise maximum (NaN propagates); ties share the gradient evenly."""
    return _extremum(input, other, "maximum")


def minimum(input: Any, other: Any) -> Tensor:  # noqa: A002
    """Elementwise minimum (NaN propagates); ties share the gradient evenly."""
    return _extremum(input, other, "minimum")


def fmod(input: Any, other: Any) -> Tensor:  # noqa: A002
    """Remainder of truncated division (the sign of ``input``), as C's ``fmod``."""
    a, b = binary_operands(input, other, "fmod")
    return _modulo(a, b, "fmod", "trunc")


def remainder(input: Any, other: Any) -> Tensor:  # noqa: A002
    """Remainder of floor division (the sign of ``other``), as Python's ``%``."""
    a, b = binary_operands(input, other, "remainder")
    return _modulo(a, b, "remainder", "floor")


def _modulo(a: Tensor, b: Tensor, prim: str, rounding: str) -> Tensor:
    bk = a._bk
    try:
        out = wrap(getattr(bk, prim)(a.data, b.data), bk)
    except ValueError as err:
        raise shape_error(prim, err, a, b) from None
    if recording(a, b):
        ra, rb = a.requires_grad, b.requires_grad

        def grad(g: Tensor) -> tuple:
            # a - q * b with q = rounded a / b, piecewise constant
            q = _const(getattr(bk, rounding)(bk.divide(a.data, b.data)), bk)
            return (sum_to(g, a.shape) if ra else None,
                    sum_to(-g * q, b.shape) if rb else None)

        record(out, prim.capitalize(), (a, b), grad, (a, b))
    return out


# ----- rounding and clamping -------------------------------------------------------------


def _rounding(prim: str, name: str):
    def op(a: Tensor) -> Tensor:
        out = wrap(getattr(a._bk, prim)(a.data), a._bk)
        if recording(a):
            # piecewise constant: the gradient is zero almost everywhere
            record(out, name.capitalize(), (a,), _zeros_like)
        return out

    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}``; its gradient is zero."
    return op


floor = _rounding("floor", "floor")
ceil = _rounding("ceil", "ceil")
trunc = _rounding("trunc", "trunc")


def round(a: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even (to ``decimals`` places); its gradient is zero."""
    out = wrap(a._bk.round(a.data, decimals), a._bk)
    if recording(a):
        record(out, "Round", (a,), _zeros_like)
    return out


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A001,A002
    """Limit values to ``[min, max]`` (scalars or broadcast tensors).

    As in PyTorch: where ``min > max`` the result is ``max``; the gradient reaches ``input``
    where ``min <= input <= max``, ``min`` where it was used and ``max`` likewise.
    """
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of min and max must be given")
    x = input
    lo = hi = None
    if min is not None:
        x, lo = binary_operands(x, min, "clamp")
    if max is not None:
        x, hi = binary_operands(x, max, "clamp")
        if lo is not None and lo.dtype != x.dtype:
            x, lo = binary_operands(x, lo, "clamp")
    bk = x._bk
    d = x.data
    try:
        if lo is not None:
            d = bk.maximum(d, lo.data)
        if hi is not None:
            d = bk.minimum(d, hi.data)
    except ValueError as err:
        raise shape_error("clamp", err, *[t for t in (x, lo, hi) if t is not None]) from None
    out = wrap(d, bk)
    if recording(*[t for t in (x, lo, hi) if t is not None]):
        rx = x.requires_grad
        rl = lo is not None and lo.requires_grad
        rh = hi is not None and hi.requires_grad

        def grad(g: Tensor) -> tuple:
            xd = x.data
            gx = glo = ghi = None
            if rx:
                inside = None
                if lo is not None:
                    inside = bk.greater_equal(xd, lo.data)
                if hi is not None:
                    below = bk.less_equal(xd, hi.data)
                    inside = below if inside is None else bk.logical_and(inside, below)
                gx = sum_to(where(_const(inside, bk), g, 0.0),
                            x.shape)
            if rl:
                used = bk.less(xd, lo.data)
                if hi is not None:
                    used = bk.logical_and(used, bk.less(lo.data, hi.data))
                glo = sum_to(where(_const(used, bk), g, 0.0),
                             lo.shape)
            if rh:
                used = bk.greater(xd, hi.data)
                if lo is not None:
                    used = bk.logical_or(used, bk.less(hi.data, lo.data))
                ghi = sum_to(where(_const(used, bk), g, 0.0),
                             hi.shape)
            return gx, glo, ghi

        inputs = (x, lo, hi)
        record(out, "Clamp", inputs, grad, tuple(t for t in inputs if t is not None))
    return out


clip = clamp


def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A001,A002
    """``clamp(input, min=min)``."""
    return clamp(input, min=min)


def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A001,A002
    """``clamp(input, max=max)``."""
    return clamp(input, max=max)
