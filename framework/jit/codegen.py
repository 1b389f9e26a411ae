"""A whole program as one generated Python function: straight-line code over locals.

Interpreting a graph node by node costs a closure call, list reads and list writes per node;
a replay of a CNN training step is a few hundred such steps. Because the static program
knows all of its nodes ahead of time, the executor instead writes one function for it,
once: each value is a local variable (``v12``), each kernel, constant argument and
preallocated ``out=`` buffer is bound once as a closure variable (``k3``, ``c7``, ``b2``),
and every value is dropped (``del``) right after its last read, as the interpreter did.

Safety: the generated source is made only of identifiers this module invents and of fixed
syntax. Nothing from the graph (op names, attribute names, keyword names, numbers, strings)
is ever written into the source text: kernels come from :func:`framework.jit.executor.kernel`
(the whitelist of backend primitives and jit kernels), and every other object is passed in
as a closure variable — keyword-argument names too, except a few common ones (``out``,
``axis``...) that are written from this module's own table when a graph's name equals one.
A tampered saved program can therefore still only run known ops with data arguments.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .ir import Ref, TensorArg, holds
from .tracer import HostValue, RngArg

_wrap = Tensor._wrap
_KEYWORDS = {name: name for name in ("out", "axis", "keepdims", "dtype", "casting")}


def _dynamic(obj: Any) -> bool:
    """Whether ``obj`` holds anything resolved at run time (a value, a generator, an object
    handed to a host call)."""
    return holds(obj, (Ref, RngArg, HostValue))


def _bind_grad(t: Tensor, arr: Any, bk: Any) -> None:
    g = t.grad
    if g is None or g.data is not arr:
        t.grad = _wrap(arr, bk)


def _flat_data(res: Any) -> list:
    from .executor import _flatten_tensors

    flat: list = []
    _flatten_tensors(res, flat)
    return [t.data for t in flat]


class Writer:
    """Collects the lines of the generated function and the objects it closes over."""

    def __init__(self, bk: Any) -> None:
        self.lines: list[str] = []
        self.names: list[str] = []
        self.objects: list[Any] = []
        self._by_id: dict[int, str] = {}
        self.bk = self.const(bk)
        self.wrap = self.const(_wrap)

    def const(self, obj: Any, prefix: str = "c") -> str:
        """A closure variable holding ``obj`` (the same object gets the same name)."""
        key = id(obj)
        name = self._by_id.get(key)
        if name is None:
            name = f"{prefix}{len(self.names)}"
            self.names.append(name)
            self.objects.append(obj)
            self._by_id[key] = name
        return name

    def expr(self, obj: Any) -> str:
        """Source of an expression that evaluates to ``obj`` at run time."""
        if isinstance(obj, TensorArg):
            return f"{self.wrap}(v{obj.id}, {self.bk})"
        if isinstance(obj, Ref):
            return f"v{obj.id}"
        if isinstance(obj, RngArg):
            return f"{self.const(obj)}.resolve()"
        if isinstance(obj, HostValue):
            return self.const(obj.obj)
        if isinstance(obj, (tuple, list)) and _dynamic(obj):
            inner = "".join(self.expr(o) + ", " for o in obj)
            if type(obj) is tuple:
                return f"({inner})"
            if type(obj) is list:
                return f"[{inner}]"
            return f"{self.const(type(obj))}([{inner}])"
        if isinstance(obj, dict) and _dynamic(obj):
            return "{" + "".join(f"{self.const(k)}: {self.expr(v)}, "
                                 for k, v in obj.items()) + "}"
        return self.const(obj)

    def call(self, fn: Any, args: tuple, kwargs: dict, out: str | None = None) -> str:
        """Source of ``fn(*args, **kwargs)`` (plus ``out=`` when given)."""
        parts = [self.expr(a) for a in args]
        # the common keyword names are written from this module's own list (a name from the
        # graph is only compared with it); any other keyword goes in as an object
        rest = {}
        for key, val in kwargs.items():
            name = _KEYWORDS.get(key) if isinstance(key, str) else None
            if name is None:
                rest[key] = val
            else:
                parts.append(f"{name}={self.expr(val)}")
        if rest:
            if _dynamic(rest):
                parts.append("**" + self.expr(rest))
            else:
                parts.append("**" + self.const(rest))
        if out is not None:
            parts.append(f"out={out}")
        return f"{self.const(fn, 'k')}({', '.join(parts)})"

    def emit(self, line: str) -> None:
        self.lines.append("    " + line)

    def host_call(self, node: Any) -> None:
        """A host call: bind the gradients it reads, call it, unpack the tensors it returns."""
        for t, vid in node.extra["binds"]:
            if vid is None:
                self.emit(f"{self.const(t)}.grad = None")
            else:
                self.emit(f"{self.const(_bind_grad, 'k')}({self.const(t)}, v{vid}, {self.bk})")
        args = self.expr(tuple(node.args))
        kwargs = self.expr(dict(node.kwargs))
        line = f"{self.const(node.extra['fn'], 'k')}(*{args}, **{kwargs})"
        if node.outputs:
            targets = "".join(f"v{o}, " for o in node.outputs)
            self.emit(f"{targets}= {self.const(_flat_data, 'k')}({line})")
        else:
            self.emit(line)

    def build(self, inputs: list, state: list, consts: dict, fresh: list, outputs: list,
              const_outputs: set) -> Any:
        """Compile the collected body into ``program(inputs, state) -> outputs``."""
        head = []
        for i, vid in enumerate(inputs):
            head.append(f"    v{vid} = inputs[{i}]")
        for i, vid in enumerate(state):
            head.append(f"    v{vid} = state[{i}]")
        for vid, arr in consts.items():
            head.append(f"    v{vid} = {self.const(arr)}")
        for vid, arr in fresh:
            head.append(f"    v{vid} = {self.const(arr)}.copy()")
        ret = ", ".join(f"v{o}.copy()" if o in const_outputs else f"v{o}" for o in outputs)
        body = head + self.lines + [f"    return [{ret}]"]
        params = ", ".join(self.names)
        src = (f"def make({params}):\n"
               f"  def program(inputs, state):\n"
               + "\n".join("  " + line for line in body) + "\n"
               "  return program\n")
        scope: dict = {}
        exec(compile(src, "<skiff.jit program>", "exec"), {"__builtins__": {}}, scope)  # noqa: S102 - generated source, see module docstring
        program = scope["make"](*self.objects)
        program.source = src
        return program
