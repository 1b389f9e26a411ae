"""Custom ops from Python: subclass :class:`Function`, write ``forward`` and ``backward``.

>>> import framework as fw
>>> class Cube(fw.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x ** 3
...     @staticmethod
...     def backward(ctx, g):
...         (x,) = ctx.saved_tensors
...         return g * 3 * x ** 2
>>> x = fw.tensor([2.0], requires_grad=True)
>>> Cube.apply(x).sum().backward()
>>> x.grad
tensor([12.])

``backward`` runs with grad mode on when the caller asked for ``create_graph=True``, so a
backward written in framework ops gives second derivatives too.
"""

from __future__ import annotations

from typing import Any

from .graph import Node, grad_mode


class FunctionCtx:
    """What ``forward`` leaves for ``backward``."""

    def __init__(self) -> None:
        self._saved: tuple = ()
        self.needs_input_grad: tuple[bool, ...] = ()
        self._non_differentiable: set[int] = set()
        self.materialize_grads = True

    def save_for_backward(self, *tensors: Any) -> None:
        self._saved = tuple(tensors)

    @property
    def saved_tensors(self) -> tuple:
        node = getattr(self, "_node", None)
        if node is not None:
            if node.backward is None:
                raise RuntimeError(
                    "saved tensors were freed after the first backward; pass retain_graph=True"
                )
            node.check_versions()
        return self._saved

    def mark_non_differentiable(self, *tensors: Any) -> None:
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class Function:
    """Base class of custom autograd ops; call them with ``MyOp.apply(*args)``."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        from ..tensor import Tensor

        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(
            isinstance(a, Tensor) and a.requires_grad for a in args
        )
        prev = grad_mode.enabled
        grad_mode.enabled = False
        try:
            result = cls.forward(ctx, *args, **kwargs)
        finally:
            grad_mode.enabled = prev
        single = not isinstance(result, tuple)
        outputs = (result,) if single else result
        if not (prev and any(ctx.needs_input_grad)):
            return result

        inputs = tuple(a if isinstance(a, Tensor) else None for a in args)
        n_args = len(args)

        def backward(*grads: Any) -> tuple:
            res = cls.backward(ctx, *grads)
            if not isinstance(res, tuple):
                res = (res,)
            if len(res) != n_args:
                raise RuntimeError(
                    f"{cls.__name__}.backward returned {len(res)} gradients but forward took "
                    f"{n_args} inputs (return None for inputs without a gradient)"
                )
            out = []
            for a, g in zip(args, res, strict=True):
                if g is not None and isinstance(a, Tensor) and not isinstance(g, Tensor):
                    g = Tensor(g, dtype=a.dtype)
                out.append(g)
            return tuple(out)

        node = Node(cls.__name__, inputs, backward, ctx._saved)
        ctx._node = node
        wrapped = []
        meta = []
        for i, out in enumerate(outputs):
            if isinstance(out, Tensor):
                if any(out is a for a in args):
                    out = out.detach()  # an input returned as-is gets its own graph entry
                meta.append((out.shape, out.dtype, out._bk))
                if out.dtype.kind == "f" and id(out) not in ctx._non_differentiable:
                    out.requires_grad = True
                    out._node = node
                    out._idx = i
            else:
                meta.append(None)
            wrapped.append(out)
        if len(outputs) > 1:
            node.out_meta = [m if m is not None else ((), None, None) for m in meta]
        return wrapped[0] if single else tuple(wrapped)
