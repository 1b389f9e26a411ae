"""Finite-difference checks of gradient rules (public API, as in PyTorch).

Run them in float64: ``gradcheck(fn, (x,))`` compares the analytic Jacobian from backward
with central differences; ``gradgradcheck`` does the same for the gradient itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def _as_tuple(x: Any) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def _differentiable(inputs: Sequence[Any]) -> list[int]:
    from ..tensor import Tensor

    return [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]


def _flat_outputs(fn: Callable, inputs: tuple, total_out: int) -> np.ndarray:
    if not total_out:
        return np.zeros(0)
    return np.concatenate([o.detach().numpy().reshape(-1).astype(np.float64)
                           for o in _as_tuple(fn(*inputs))])


def _numerical_jacobian(fn: Callable, inputs: tuple, idx: list[int], eps: float) -> list:
    outs = [o.detach().numpy().copy() for o in _as_tuple(fn(*inputs))]
    jac = []  # per input: array (n_in, total_out)
    total_out = sum(o.size for o in outs)
    for i in idx:
        x = inputs[i]
        flat = x.data.reshape(-1)
        j = np.zeros((flat.size, total_out))
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + eps
            plus = _flat_outputs(fn, inputs, total_out)
            flat[k] = orig - eps
            minus = _flat_outputs(fn, inputs, total_out)
            flat[k] = orig
            j[k] = (plus - minus) / (2 * eps)
        jac.append(j)
    return jac


def _analytic_jacobian(fn: Callable, inputs: tuple, idx: list[int]) -> list:
    from ..autograd import grad
    from ..tensor import Tensor

    outs = _as_tuple(fn(*inputs))
    total_out = sum(o.numel() for o in outs)
    jac = [np.zeros((inputs[i].numel(), total_out)) for i in idx]
    col = 0
    for o in outs:
        if not (isinstance(o, Tensor) and o.requires_grad):
            col += o.numel()
            continue
        for k in range(o.numel()):
            onehot = np.zeros(o.numel(), dtype=o.dtype)
            onehot[k] = 1
            grads = grad([o], [inputs[i] for i in idx],
                         [Tensor._wrap(onehot.reshape(o.shape), o._bk)],
                         retain_graph=True, allow_unused=True)
            for n, g in enumerate(grads):
                if g is not None:
                    jac[n][:, col] = g.numpy().reshape(-1)
            col += 1
    return jac


def gradcheck(
    func: Callable,
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check ``func``'s gradients against central finite differences.

    ``inputs`` is a tensor or a tuple; those with ``requires_grad`` (float64 recommended)
    are checked. Returns True, or raises ``GradcheckError`` naming the input and the worst
    element (returns False instead with ``raise_exception=False``).
    """
    inputs = _as_tuple(inputs)
    idx = _differentiable(inputs)
    for i in idx:
        if inputs[i].dtype != np.float64:
            import warnings

            warnings.warn(
                f"gradcheck: input {i} is {inputs[i].dtype}, not float64; the check may be "
                "too imprecise to mean anything", stacklevel=2,
            )
    analytic = _analytic_jacobian(func, inputs, idx)
    numeric = _numerical_jacobian(func, inputs, idx, eps)
    for n, (a, b) in enumerate(zip(analytic, numeric, strict=True)):
        if not np.allclose(a, b, atol=atol, rtol=rtol, equal_nan=True):
            err = np.abs(a - b)
            worst = np.unravel_index(np.argmax(err), err.shape)
            msg = (
                f"Jacobian mismatch for input {idx[n]}: at (input element {worst[0]}, output "
                f"element {worst[1]}) analytic {a[worst]:.6g} vs numerical {b[worst]:.6g}"
            )
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(
    func: Callable,
    inputs: Any,
    grad_outputs: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check second derivatives: gradcheck of ``v -> grad(func(inputs), inputs, v)``."""
    from ..autograd import grad
    from ..tensor import Tensor

    inputs = _as_tuple(inputs)
    idx = _differentiable(inputs)
    outs = _as_tuple(func(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = tuple(
            Tensor(rng.standard_normal(o.shape).astype(o.dtype), requires_grad=True)
            for o in outs
        )
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)

    def first_grad(*args: Any) -> tuple:
        xs, vs = args[:n_in], args[n_in:]
        out = _as_tuple(func(*xs))
        pairs = [(o, v) for o, v in zip(out, vs, strict=True) if o.requires_grad]
        gs = grad([p[0] for p in pairs], [xs[i] for i in idx], [p[1] for p in pairs],
                  create_graph=True, allow_unused=True)
        res = tuple(g for g in gs if g is not None)
        if not res:
            raise GradcheckError("gradgradcheck: the first derivative does not depend on the "
                                 "inputs (it is constant); there is nothing to check")
        return res

    return gradcheck(first_grad, inputs + grad_outputs, eps, atol, rtol, raise_exception)


class GradcheckError(RuntimeError):
    """A gradient rule disagrees with finite differences."""
