"""Running a graph: each node becomes one small closure over a flat list of arrays.

No code is generated and nothing is looked up by name at run time: the kernel of every node
is resolved once, when the program is built, from the backend's documented primitives (or
the jit's own kernels). A graph that names anything else is refused (see :data:`KNOWN_OPS`).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ..backend import numpy_backend as _numpy_backend
from ..backend.primitives import PRIMITIVES
from ..tensor import Tensor
from .codegen import Writer, _dynamic
from .ir import Graph, Node, Ref, TensorArg
from .kernels import PLANNED_ALLOCATIONS, into
from .tracer import HostValue, RngArg

_wrap = Tensor._wrap

RANDOM_OPS = frozenset({"random_uniform", "random_normal", "random_integers",
                        "random_permutation"})
JIT_OPS = frozenset({"fused_elementwise", "sum_blas", "softmax_xent", "pool_hits",
                     "matmul_add", "host_call"})
KNOWN_OPS = frozenset(PRIMITIVES) | RANDOM_OPS | JIT_OPS


def _transpose(x: Any, axes: Any = None) -> Any:
    return x.transpose(axes)


def _reshape(x: Any, shape: Any) -> Any:
    return x.reshape(shape)


def _sum(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Any:
    return _add_reduce(x, axis=axis, dtype=dtype, keepdims=keepdims)


_add_reduce = np.add.reduce

# NumPy's np.transpose/np.reshape/np.sum are Python wrappers around the array methods and
# ufunc reductions; a replayed program calls those directly (same results, less overhead).
_NUMPY_FAST = {"transpose": (np.transpose, _transpose), "reshape": (np.reshape, _reshape),
               "sum": (_numpy_backend._sum, _sum)}


class UnknownOpError(ValueError):
    """A graph names an op that is neither a backend primitive nor a jit kernel."""


def _resolver(obj: Any, bk: Any = None) -> Any:
    """``None`` if ``obj`` holds no references, else a function ``vals -> resolved obj``."""
    if isinstance(obj, TensorArg):
        i = obj.id
        return lambda v: _wrap(v[i], bk)
    if isinstance(obj, Ref):
        i = obj.id
        return lambda v: v[i]
    if isinstance(obj, RngArg):
        return lambda v: obj.resolve()
    if isinstance(obj, HostValue):
        return lambda v: obj.obj
    if isinstance(obj, (tuple, list)):
        subs = [_resolver(o, bk) for o in obj]
        if all(s is None for s in subs):
            return None
        consts = list(obj)
        kind = type(obj)

        def seq(v: list) -> Any:
            return kind([s(v) if s is not None else c for s, c in zip(subs, consts,
                                                                     strict=True)])
        return seq
    if isinstance(obj, dict):
        subs = {k: _resolver(o, bk) for k, o in obj.items()}
        if all(s is None for s in subs.values()):
            return None

        def mapping(v: list) -> dict:
            return {k: (subs[k](v) if subs[k] is not None else obj[k]) for k in obj}
        return mapping
    return None


def kernel(op: str, bk: Any, node: Node | None = None) -> Any:
    """The callable that runs ``op`` on backend ``bk``."""
    if op not in KNOWN_OPS:
        raise UnknownOpError(f"op {op!r} is not a backend primitive or a jit kernel")
    if op == "fused_elementwise":
        from .passes.fusion import build_kernel

        return build_kernel(node, bk)
    if op == "sum_blas":
        from .passes.reduce_blas import build_kernel as build_sum

        return build_sum(node, bk)
    if op == "softmax_xent":
        from .passes.xent import build_kernel as build_xent

        return build_xent(node, bk)
    if op == "pool_hits":
        from .passes.pool import build_kernel as build_pool

        return build_pool(node, bk)
    if op == "matmul_add":
        from .passes.update_fold import build_kernel as build_update

        return build_update(node, bk)
    if op in RANDOM_OPS or op in PRIMITIVES:
        fn = getattr(bk, op, None)
        if fn is None:
            raise UnknownOpError(f"backend {bk.name!r} has no primitive {op!r}")
        fast = _NUMPY_FAST.get(op)
        if fast is not None and fn is fast[0]:
            return fast[1]  # the same NumPy function without its Python-level dispatch
        return fn
    raise UnknownOpError(f"op {op!r} has no kernel")


def _step(node: Node, fn: Any, out_buffer: Any = None) -> Any:
    """One closure ``step(vals)`` that runs ``node``."""
    args, kwargs = node.args, dict(node.kwargs)
    if out_buffer is not None:
        kwargs["out"] = out_buffer
    outs = node.outputs
    o = outs[0] if len(outs) == 1 else None
    arg_res = [_resolver(a) for a in args]
    kw_res = {k: _resolver(v) for k, v in kwargs.items()}
    simple = all(isinstance(a, Ref) for a in args) and not kwargs
    if o is not None and not kwargs and len(args) == 2 and arg_res[1] is None \
            and isinstance(args[0], Ref) and not isinstance(args[0], TensorArg):
        a, c = args[0].id, args[1]

        def step_rc(v: list) -> None:
            v[o] = fn(v[a], c)
        return step_rc
    if not outs and len(args) == 2 and all(type(x) is Ref for x in args) \
            and set(kwargs) <= {"out", "casting"} and type(kwargs.get("out")) is Ref:
        a, b, t = args[0].id, args[1].id, kwargs["out"].id
        extra = {k: v for k, v in kwargs.items() if k != "out"}

        def step_out(v: list) -> None:
            fn(v[a], v[b], out=v[t], **extra)
        return step_out
    simple = simple and all(type(a) is Ref for a in args)
    if o is not None and kwargs and all(type(a) is Ref for a in args) \
            and all(r is None for r in kw_res.values()):
        ids = [a.id for a in args]
        kw_const = dict(kwargs)
        if len(ids) == 2:
            a, b = ids

            def step2kw(v: list) -> None:
                v[o] = fn(v[a], v[b], **kw_const)
            return step2kw
        if len(ids) == 1:
            a = ids[0]

            def step1kw(v: list) -> None:
                v[o] = fn(v[a], **kw_const)
            return step1kw
    if simple and o is not None:
        ids = [a.id for a in args]
        if len(ids) == 1:
            a = ids[0]

            def step1(v: list) -> None:
                v[o] = fn(v[a])
            return step1
        if len(ids) == 2:
            a, b = ids

            def step2(v: list) -> None:
                v[o] = fn(v[a], v[b])
            return step2
    plain_kw = {k: v for k, v in kwargs.items() if kw_res[k] is None}
    ref_kw = [(k, r) for k, r in kw_res.items() if r is not None]
    base = list(args)
    ref_pos = [(i, r) for i, r in enumerate(arg_res) if r is not None]

    def step(v: list) -> None:
        a = base[:]
        for i, r in ref_pos:
            a[i] = r(v)
        if ref_kw:
            kw = dict(plain_kw)
            for k, r in ref_kw:
                kw[k] = r(v)
        else:
            kw = plain_kw
        res = fn(*a, **kw)
        if o is not None:
            v[o] = res
        elif outs:
            for vid, r in zip(outs, res, strict=True):
                v[vid] = r
    return step


def _flatten_tensors(obj: Any, out: list) -> None:
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _flatten_tensors(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _flatten_tensors(o, out)


_VIEW_OF_STATE = frozenset({"transpose", "reshape"})
_SCALAR_OPS = frozenset({"add", "subtract", "multiply", "divide", "maximum", "minimum"})


def _typed_scalars(node: Node, values: dict) -> Node:
    """Python-number operands become NumPy scalars of the array operand's dtype (what NumPy
    would convert them to on every call; same result dtype and values)."""
    refs = [a for a in node.args if type(a) is Ref]
    if len(refs) != 1:
        return node
    dt = np.dtype(values[refs[0].id].dtype)
    if dt.kind != "f" or np.dtype(values[node.outputs[0]].dtype) != dt:
        return node
    args = tuple(dt.type(a) if isinstance(a, (int, float)) and not isinstance(a, bool) else a
                 for a in node.args)
    return Node(node.op, args, node.kwargs, node.outputs, node.mutates, node.scope, node.extra)


class Executable:
    """A graph compiled for one backend: ``run(inputs, state) -> outputs`` (arrays)."""

    def __init__(self, graph: Graph, bk: Any) -> None:
        self.graph = graph
        self.bk = bk
        n = graph._next
        self.template: list = [None] * n
        self.fresh_consts: list[tuple[int, np.ndarray]] = []
        mutated = mutated_groups(graph)
        for vid, arr in graph.consts.items():
            # literals written in place start from their snapshot on every run; arrays
            # captured by reference (optimizer state, buffers) are the live arrays themselves
            if vid in mutated and vid not in graph.volatile:
                self.fresh_consts.append((vid, arr))
            else:
                self.template[vid] = arr
        self.inputs = list(graph.inputs)
        self.state = list(graph.state)
        self.outputs = list(graph.outputs)
        self.const_outputs = {o for o in self.outputs if o in graph.consts}
        self._planned: list | None = None
        self._plain: list | None = None
        self.scratch: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def _releases(self) -> list[tuple]:
        """Per node, the values read for the last time there: dropped right after, so that
        memory is freed as eagerly as eager mode frees it."""
        keep = set(self.outputs) | set(self.inputs) | set(self.state) | set(self.graph.consts)
        last: dict[int, int] = {}
        for i, node in enumerate(self.graph.nodes):
            refs = node.refs() + list(node.outputs)
            if node.op == "host_call":
                refs += [vid for _, vid in node.extra.get("binds", ()) if vid is not None]
            for r in refs:
                last[r] = i
        rel: list[list] = [[] for _ in self.graph.nodes]
        for vid, i in last.items():
            if vid not in keep:
                rel[i].append(vid)
        return [tuple(r) for r in rel]

    def _build(self, planned: bool) -> Any:
        """One generated function for the whole program (see :mod:`framework.jit.codegen`)."""
        w = Writer(self.bk)
        releases = self._releases()
        for node, rel in zip(self.graph.nodes, releases, strict=True):
            self._emit(w, node, planned)
            if rel:
                w.emit("del " + ", ".join(f"v{r}" for r in rel))
        consts = {vid: arr for vid, arr in enumerate(self.template) if arr is not None}
        return w.build(self.inputs, self.state, consts, self.fresh_consts, self.outputs,
                       self.const_outputs)

    def _emit(self, w: Writer, node: Node, planned: bool) -> None:
        if node.op == "host_call":
            w.host_call(node)
            return
        values = self.graph.values
        if node.op == "fused_elementwise":
            from .passes.fusion import plan_kernel

            steps = plan_kernel(node, self.bk)
            buf = self._buffer(node) if planned else None
            o = f"v{node.outputs[0]}"
            for i, (fn, plan) in enumerate(steps):
                ops = [f"v{node.args[val].id}" if kind == "in" else o if kind == "acc"
                       else w.const(val) for kind, val in plan]
                if i == 0:
                    out = f", out={w.const(buf, 'b')}" if buf is not None else ""
                    w.emit(f"{o} = {w.const(fn, 'k')}({', '.join(ops)}{out})")
                else:
                    w.emit(f"{w.const(fn, 'k')}({', '.join(ops)}, out={o})")
            return
        fn = kernel(node.op, self.bk, node)
        if node.extra.get("tile"):
            from .passes.tiling import wrap

            fn = wrap(fn, node, self.graph, self.bk)
        if (node.op in _VIEW_OF_STATE and node.args and type(node.args[0]) is Ref
                and values[node.args[0].id].kind == "state" and len(node.outputs) == 1
                and not node.kwargs and not _dynamic(node.args[1:])):
            # a view of a parameter (weight.T) is made once per parameter array: the view
            # sees in-place updates, and a new array (p.data = ...) makes a new view
            memo = w.const([None, None], "m")
            a, o = node.args[0].id, node.outputs[0]
            call = w.call(fn, node.args, {})
            w.emit(f"if v{a} is not {memo}[0]:")
            w.emit(f"    {memo}[1] = {call}")
            w.emit(f"    {memo}[0] = v{a}")
            w.emit(f"v{o} = {memo}[1]")
            return
        if (node.op in _SCALAR_OPS and len(node.args) == 2 and not node.kwargs
                and len(node.outputs) == 1):
            node = _typed_scalars(node, values)
        buf = None
        if planned and isinstance(fn, np.ufunc):
            buf = self._buffer(node)
        elif planned and node.op in PLANNED_ALLOCATIONS and node.extra.get("buffer") is not None:
            filled = into(node.op, self.bk, self._buffer(node))
            if filled is not None:
                fn = filled
        call = w.call(fn, node.args, node.kwargs,
                      w.const(buf, "b") if buf is not None else None)
        outs = node.outputs
        if len(outs) == 1:
            w.emit(f"v{outs[0]} = {call}")
        elif outs:
            w.emit("".join(f"v{o}, " for o in outs) + f"= {call}")
        else:
            w.emit(call)

    def _buffer(self, node: Node) -> Any:
        """The preallocated ``out=`` array of the memory planner's slot, if it has one."""
        slot = node.extra.get("buffer")
        if slot is None:
            return None
        v = self.graph.values[node.outputs[0]]
        buf = self.scratch.get(slot)
        if buf is None or buf.shape != v.shape or buf.dtype != np.dtype(v.dtype):
            buf = self.scratch[slot] = np.empty(v.shape, v.dtype)
        return buf

    def run(self, inputs: list, state: list) -> list:
        # the planned buffers serve one run at a time: a run that finds them in use (a host
        # call running this program again, or another thread) runs the unplanned version
        if not self._lock.acquire(blocking=False):
            plain = self._plain
            if plain is None:
                plain = self._plain = self._build(False)
            return plain(inputs, state)
        try:
            if self._planned is None:
                self._planned = self._build(True)
            return self._planned(inputs, state)
        finally:
            self._lock.release()


def mutated_groups(graph: Graph) -> set[int]:
    """Ids of every value that may share memory with a value some node writes into."""
    from .analysis import alias_groups

    groups = alias_groups(graph)
    written = {groups.find(m) for n in graph.nodes for m in n.mutates}
    for n in graph.nodes:
        if n.op == "host_call":
            for r in n.refs():
                written.add(groups.find(r))
            for _, vid in n.extra.get("binds", ()):
                if vid is not None:
                    written.add(groups.find(vid))
    return {vid for vid in graph.values if groups.find(vid) in written}
