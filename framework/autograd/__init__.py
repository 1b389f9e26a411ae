"""Automatic differentiation: grad mode, ``fw.grad``, custom ops (``Function``),
finite-difference checks (``gradcheck``) and ``functional`` (vjp, jvp, jacobian, hessian)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from typing import Any

from .graph import Node, grad_mode, run_backward

__all__ = ["grad", "backward", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "Node"]


def is_grad_enabled() -> bool:
    return grad_mode.enabled


class _GradModeContext(contextlib.ContextDecorator):
    """Sets grad mode inside a ``with`` block or a decorated function (``@fw.no_grad()``
    and ``@fw.no_grad`` both work, as in PyTorch)."""

    mode: bool

    def __new__(cls, orig_func: Any = None):
        if orig_func is None:
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments, got {orig_func!r}")
        return cls()(orig_func)

    def __init__(self, orig_func: Any = None) -> None:
        self._prev: list[bool] = []  # a stack, so one instance can be entered re-entrantly

    def __enter__(self) -> None:
        self._prev.append(grad_mode.enabled)
        grad_mode.enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        grad_mode.enabled = self._prev.pop()

    def __call__(self, fn):  # type: ignore[override]
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        return inner


class no_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Context manager and decorator: ops inside are not recorded."""

    mode = False


class enable_grad(_GradModeContext):  # noqa: N801
    """Context manager and decorator: ops inside are recorded (inside ``no_grad`` too)."""

    mode = True


class inference_mode(_GradModeContext):  # noqa: N801
    """Context manager and decorator for evaluation code: ops inside are not recorded
    (``inference_mode(False)`` leaves grad mode as it is)."""

    def __new__(cls, mode: Any = True):
        if callable(mode) and not isinstance(mode, bool):  # used as a bare decorator
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: Any = True) -> None:
        super().__init__()
        self.enabled = bool(mode)

    def __enter__(self) -> None:
        self._prev.append(grad_mode.enabled)
        if self.enabled:
            grad_mode.enabled = False

    def __call__(self, fn):  # type: ignore[override]
        enabled = self.enabled

        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(enabled):
                return fn(*args, **kwargs)

        return inner


class set_grad_enabled:  # noqa: N801
    """``set_grad_enabled(False)`` as a call, a context manager or a decorator.

    As a plain call it switches grad mode at once (as in PyTorch); as a decorator it
    switches it only while the decorated function runs.
    """

    def __init__(self, mode: bool) -> None:
        self._prev = grad_mode.enabled
        self.mode = bool(mode)
        grad_mode.enabled = self.mode

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        grad_mode.enabled = self._prev

    def __call__(self, fn):
        grad_mode.enabled = self._prev  # decorating must not change the mode now
        mode = self.mode

        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            previous = grad_mode.enabled
            grad_mode.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                grad_mode.enabled = previous

        return inner


@contextlib.contextmanager
def _noop() -> Iterator[None]:
    yield


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, returned (``.grad`` untouched).

    With ``create_graph=True`` the result is itself differentiable:

    >>> import framework as fw
    >>> x = fw.tensor(2.0, requires_grad=True)
    >>> (dy,) = fw.grad(x ** 3, x, create_graph=True)
    >>> (d2y,) = fw.grad(dy, x)
    >>> d2y.item()
    12.0
    """
    from ..tensor import Tensor, _as_grad

    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single_input = isinstance(inputs, Tensor)
    inputs = [inputs] if single_input else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    gouts = []
    for out, g in zip(outputs, grad_outputs, strict=True):
        if g is None:
            if out.numel() != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; an output has "
                    f"shape {tuple(out.shape)}: pass grad_outputs="
                )
            g = Tensor._wrap(out._bk.ones(out.shape, out.dtype), out._bk)
        else:
            g = _as_grad(g, out)
        gouts.append(g)
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outputs, gouts, retain_graph, create_graph, inputs, allow_unused)
    return tuple(result)


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """Accumulate gradients of several ``tensors`` into the leaves' ``.grad`` in one pass
    (``grad_tensors`` as in ``Tensor.backward``; None for one-element tensors)."""
    from ..tensor import Tensor, _as_grad

    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    elif isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors]
    gouts = []
    for t, g in zip(tensors, grad_tensors, strict=True):
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; a tensor has "
                    f"shape {tuple(t.shape)}: pass grad_tensors="
                )
            g = Tensor._wrap(t._bk.ones(t.shape, t.dtype), t._bk)
        else:
            g = _as_grad(g, t)
        gouts.append(g)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        grads = grad(tensors, inputs, gouts, retain_graph=retain_graph,
                     create_graph=create_graph, allow_unused=True)
        for t, g in zip(inputs, grads, strict=True):
            if g is not None:
                t.grad = g if t.grad is None else t.grad + g
        return
    run_backward(tensors, gouts, retain_graph, create_graph)


from .function import Function, FunctionCtx  # noqa: E402
from .gradcheck import gradcheck, gradgradcheck  # noqa: E402

__all__ += ["Function", "FunctionCtx", "gradcheck", "gradgradcheck"]
from . import functional  # noqa: E402

__all__ += ["functional"]
