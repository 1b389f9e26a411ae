"""Higher-level derivatives of whole functions: vjp, jvp, jacobian, hessian, hvp, vhp.

The signatures are PyTorch's (``torch.autograd.functional``): ``func`` takes tensors and
returns a tensor or a tuple of tensors; ``inputs`` is a tensor or a tuple of tensors; with
``create_graph=True`` the results are differentiable (for losses that contain derivatives,
e.g. physics-informed networks), otherwise they are detached. An output that does not depend
on an input gives zeros, or an error with ``strict=True``.

>>> import framework as fw
>>> from framework.autograd.functional import hessian
>>> hessian(lambda x: (x ** 3).sum(), fw.tensor([1.0, 2.0]))
tensor([[ 6.,  0.],
        [ 0., 12.]])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import grad as _grad
from .graph import grad_mode

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _tensor_cls():
    from ..tensor import Tensor

    return Tensor


def _as_tuple(x: Any, what: str, fn: str) -> tuple[bool, tuple]:
    tensor = _tensor_cls()
    if isinstance(x, tensor):
        return False, (x,)
    if isinstance(x, (tuple, list)) and all(isinstance(t, tensor) for t in x):
        return True, tuple(x)
    raise TypeError(f"{fn}: {what} must be a tensor or a tuple of tensors, got {type(x).__name__}")


def _prepare_inputs(inputs: tuple, create_graph: bool) -> tuple:
    """Inputs that require grad: the caller's graph is kept only with ``create_graph``."""
    out = []
    for i, t in enumerate(inputs):
        if t.dtype.kind != "f":
            raise TypeError(f"input {i} has dtype {t.dtype}; derivatives need floating inputs")
        if create_graph and t.requires_grad:
            out.append(t.view_as(t))  # a new node on the caller's graph
        else:
            out.append(t.detach().requires_grad_(True))
    return tuple(out)


def _check_v(v: Any, like: tuple, what: str, fn: str) -> tuple:
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(
                f"{fn}: v can be omitted only when the {what} is a single tensor with one "
                "element; pass v with the shape of the " + what
            )
        t = like[0]
        return (_tensor_cls()._wrap(t._bk.ones(t.shape, t.dtype), t._bk),)
    _, vs = _as_tuple(v, "v", fn)
    if len(vs) != len(like):
        raise RuntimeError(f"{fn}: v has {len(vs)} tensors but the {what} has {len(like)}")
    for i, (a, b) in enumerate(zip(vs, like, strict=True)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(
                f"{fn}: v[{i}] has shape {tuple(a.shape)} but the {what} [{i}] has shape "
                f"{tuple(b.shape)}"
            )
    return vs


def _zeros_like(t: Any) -> Any:
    return _tensor_cls()._wrap(t._bk.zeros(t.shape, t.dtype), t._bk)


def _grads(outputs: tuple, inputs: tuple, grad_outputs: tuple, create_graph: bool,
           strict: bool, fn: str, what: str = "input") -> tuple:
    """``fw.grad`` that tolerates outputs without a graph and fills unused inputs with zeros."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs, strict=True) if o.requires_grad]
    if pairs:
        with _enabled(True):
            res = _grad([p[0] for p in pairs], list(inputs), [p[1] for p in pairs],
                        retain_graph=True, create_graph=create_graph, allow_unused=True)
    else:
        res = (None,) * len(inputs)
    out = []
    for i, (g, t) in enumerate(zip(res, inputs, strict=True)):
        if g is None:
            if strict:
                raise RuntimeError(
                    f"{fn}: the output of the function is independent of {what} {i}; this "
                    "is not allowed in strict mode"
                )
            g = _zeros_like(t)
        out.append(g)
    return tuple(out)


class _enabled:  # noqa: N801 - a small context manager
    def __init__(self, mode: bool) -> None:
        self.mode = mode

    def __enter__(self) -> None:
        self.prev = grad_mode.enabled
        grad_mode.enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        grad_mode.enabled = self.prev


def _call(func: Callable, inputs: tuple, fn: str) -> tuple[bool, tuple]:
    with _enabled(True):
        out = func(*inputs)
    return _as_tuple(out, "the function's output", fn)


def _finish(ts: tuple, is_tuple: bool, create_graph: bool) -> Any:
    ts = tuple(t if create_graph else t.detach() for t in ts)
    return ts if is_tuple else ts[0]


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), v^T J)``: the vector-Jacobian product of ``func`` at ``inputs``."""
    in_tuple, xs = _as_tuple(inputs, "inputs", "vjp")
    xs = _prepare_inputs(xs, create_graph)
    out_tuple, outs = _call(func, xs, "vjp")
    vs = _check_v(v, outs, "output", "vjp")
    res = _grads(outs, xs, vs, create_graph, strict, "vjp")
    return _finish(outs, out_tuple, create_graph), _finish(res, in_tuple, create_graph)


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), J v)``: the Jacobian-vector product, by the double-vjp trick.

    ``u -> u^T J`` is linear in ``u``; differentiating it with respect to ``u`` in the
    direction ``v`` gives ``J v`` using reverse mode only.
    """
    in_tuple, xs = _as_tuple(inputs, "inputs", "jvp")
    xs = _prepare_inputs(xs, create_graph)
    vs = _check_v(v, xs, "input", "jvp")
    out_tuple, outs = _call(func, xs, "jvp")
    us = tuple(_zeros_like(o).requires_grad_(True) for o in outs)
    gx = _grads(outs, xs, us, True, strict, "jvp")
    used = [(g, w) for g, w in zip(gx, vs, strict=True) if g.requires_grad]
    if used:
        with _enabled(True):
            res = _grad([p[0] for p in used], list(us), [p[1] for p in used],
                        retain_graph=True, create_graph=create_graph, allow_unused=True)
    else:
        res = (None,) * len(us)
    if strict and any(r is None for r in res):
        raise RuntimeError("jvp: an output of the function is independent of the inputs; "
                           "this is not allowed in strict mode")
    res = tuple(_zeros_like(o) if r is None else r for r, o in zip(res, outs, strict=True))
    return _finish(outs, out_tuple, create_graph), _finish(res, out_tuple, create_graph)


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs``, one reverse pass per output element.

    For one input and one output it is a tensor of shape ``output.shape + input.shape``;
    for tuples it is a tuple (over outputs) of tuples (over inputs), as in PyTorch.
    ``vectorize`` is accepted for compatibility; the rows are always computed one by one.
    """
    from ..ops import reshape, stack

    if strategy != "reverse-mode":
        raise ValueError(f"jacobian: only strategy='reverse-mode' is supported, got {strategy!r}")
    in_tuple, xs = _as_tuple(inputs, "inputs", "jacobian")
    xs = _prepare_inputs(xs, create_graph)
    out_tuple, outs = _call(func, xs, "jacobian")
    tensor = _tensor_cls()
    result = []
    for i, o in enumerate(outs):
        rows: list[list] = [[] for _ in xs]
        n = o.numel()
        for k in range(n):
            onehot = o._bk.zeros(n, o.dtype)
            o._bk.setitem(onehot, k, 1)
            g_out = tensor._wrap(o._bk.reshape(onehot, o.shape), o._bk)
            gs = _grads((o,), xs, (g_out,), create_graph, strict, "jacobian",
                        what=f"input (for output {i}) ")
            for j, g in enumerate(gs):
                rows[j].append(reshape(g, (-1,)))
        per_input = []
        for j, x in enumerate(xs):
            if rows[j]:
                with _enabled(create_graph):
                    jac = reshape(stack(rows[j]), tuple(o.shape) + tuple(x.shape))
            else:
                jac = tensor._wrap(x._bk.zeros(tuple(o.shape) + tuple(x.shape), x.dtype), x._bk)
            per_input.append(jac if create_graph else jac.detach())
        result.append(tuple(per_input) if in_tuple else per_input[0])
    return tuple(result) if out_tuple else result[0]


def _scalar_output(func: Callable, fn: str) -> Callable:
    def check(*xs: Any) -> Any:
        out_tuple, outs = _as_tuple(func(*xs), "the function's output", fn)
        if out_tuple or outs[0].numel() != 1:
            raise RuntimeError(
                f"{fn}: the function must return a single tensor with one element, got "
                f"{'a tuple' if out_tuple else 'shape ' + str(tuple(outs[0].shape))}"
            )
        return outs[0]

    return check


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar function: shape ``input.shape + input.shape`` for one input,
    ``H[i][j]`` (a tuple of tuples) for several."""
    scalar = _scalar_output(func, "hessian")
    in_tuple, xs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*ys: Any) -> tuple:
        out = scalar(*ys)
        return _grads((out,), ys, (_ones_like(out),), True, strict, "hessian")

    return jacobian(gradient if in_tuple else (lambda y: gradient(y)[0]), inputs,
                    create_graph=create_graph, strict=strict, vectorize=vectorize,
                    strategy=outer_jacobian_strategy)


def _ones_like(t: Any) -> Any:
    return _tensor_cls()._wrap(t._bk.ones(t.shape, t.dtype), t._bk)


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), v^T H)`` for a scalar function, by differentiating its gradient."""
    scalar = _scalar_output(func, "vhp")
    in_tuple, xs = _as_tuple(inputs, "inputs", "vhp")
    xs = _prepare_inputs(xs, create_graph)
    vs = _check_v(v, xs, "input", "vhp")
    with _enabled(True):
        out = scalar(*xs)
    g = _grads((out,), xs, (_ones_like(out),), True, strict, "vhp")
    res = _grads(g, xs, vs, create_graph, strict, "vhp")
    return _finish((out,), False, create_graph), _finish(res, in_tuple, create_graph)


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), H v)`` for a scalar function (double-backward trick: the gradient's
    vjp with a dummy vector, differentiated again with respect to that vector)."""
    scalar = _scalar_output(func, "hvp")
    in_tuple, xs = _as_tuple(inputs, "inputs", "hvp")
    xs = _prepare_inputs(xs, create_graph)
    vs = _check_v(v, xs, "input", "hvp")
    with _enabled(True):
        out = scalar(*xs)
    g = _grads((out,), xs, (_ones_like(out),), True, strict, "hvp")
    us = tuple(_zeros_like(x).requires_grad_(True) for x in xs)
    ug = _grads(g, xs, us, True, strict, "hvp")  # u^T H, linear in u
    used = [(a, w) for a, w in zip(ug, vs, strict=True) if a.requires_grad]
    if used:
        with _enabled(True):
            res = _grad([p[0] for p in used], list(us), [p[1] for p in used],
                        retain_graph=True, create_graph=create_graph, allow_unused=True)
    else:
        res = (None,) * len(us)
    res = tuple(_zeros_like(x) if r is None else r for r, x in zip(res, xs, strict=True))
    return _finish((out,), False, create_graph), _finish(res, in_tuple, create_graph)
