"""Elementwise fusion: a chain of elementwise ops becomes one ``fused_elementwise`` kernel.

The kernel computes the first op into a fresh (or planned) buffer and every following op
in place into that same buffer (ufunc ``out=``), so a chain of ``k`` ops allocates one array
instead of ``k``. A link joins the chain when its result has the same shape and dtype as the
chain's, is read by the next op only, and nothing writes into the chain's inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis import ELEMENTWISE, alias_groups, escaping, mutable_roots, use_counts
from ..ir import Graph, Node, Ref


def run(graph: Graph) -> dict:
    groups = alias_groups(graph)
    mutable = mutable_roots(graph, groups)
    esc = escaping(graph, groups)
    uses = use_counts(graph)
    chains: dict[int, list[Node]] = {}  # output value -> chain of nodes ending there
    fusable: dict[int, Node] = {}
    for n in graph.nodes:
        if (n.op in ELEMENTWISE and len(n.outputs) == 1 and not n.mutates and not n.kwargs
                and np.dtype(graph.values[n.outputs[0]].dtype).kind == "f"
                and graph.values[n.outputs[0]].shape != ()  # NumPy gives scalars for 0-d
                and all(groups.find(r) not in mutable for r in n.refs())
                and groups.find(n.outputs[0]) not in mutable):
            fusable[id(n)] = n
    removed: set[int] = set()
    for n in graph.nodes:
        if id(n) not in fusable:
            continue
        out = graph.values[n.outputs[0]]
        for a in n.args:
            if not isinstance(a, Ref) or a.id not in chains:
                continue
            prev = chains[a.id]
            pv = graph.values[a.id]
            if (uses.get(a.id, 0) == 1 and groups.find(a.id) not in esc
                    and pv.shape == out.shape and pv.dtype == out.dtype):
                chains[n.outputs[0]] = prev + [n]
                del chains[a.id]
                break
        else:
            chains[n.outputs[0]] = [n]
    fused = 0
    lengths = []
    replace: dict[int, Node] = {}
    for out, chain in chains.items():
        if len(chain) < 2:
            continue
        node = _fuse(chain, out)
        replace[id(chain[-1])] = node
        for c in chain[:-1]:
            removed.add(id(c))
            for o in c.outputs:
                graph.values.pop(o, None)
        fused += 1
        lengths.append(len(chain))
    graph.nodes = [replace.get(id(n), n) for n in graph.nodes if id(n) not in removed]
    return {"fused_kernels": fused, "ops_fused": sum(lengths), "chain_lengths": lengths}


def _fuse(chain: list[Node], out: int) -> Node:
    inputs: list[int] = []
    produced = {c.outputs[0] for c in chain}
    steps = []
    for c in chain:
        operands: list[Any] = []
        for a in c.args:
            if isinstance(a, Ref) and a.id in produced:
                operands.append({"acc": True})
            elif isinstance(a, Ref):
                if a.id not in inputs:
                    inputs.append(a.id)
                operands.append({"in": inputs.index(a.id)})
            else:
                operands.append({"const": a})
        steps.append([c.op, operands])
    return Node("fused_elementwise", tuple(Ref(i) for i in inputs), {}, [out], [],
                chain[-1].scope, {"steps": steps, "ops": [c.op for c in chain]})


def plan_kernel(node: Node, bk: Any) -> list[tuple[Any, tuple]]:
    """A ``fused_elementwise`` node's steps, checked: ``[(ufunc, ((kind, value), ...)), ...]``
    where kind is ``in`` (the node's input of that index), ``acc`` (the running result) or
    ``const`` (a number)."""
    compiled = []
    steps = node.extra.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ValueError("fused_elementwise: no steps")
    for step in steps:
        op, operands = step[0], step[1]
        if op not in ELEMENTWISE:
            raise ValueError(f"fused_elementwise: {op!r} is not an elementwise primitive")
        fn = getattr(bk, op)
        plan = []
        for o in operands:
            if not isinstance(o, dict) or len(o) != 1:
                raise ValueError("fused_elementwise: malformed operand")
            (kind, val), = o.items()
            if kind not in ("acc", "in", "const"):
                raise ValueError(f"fused_elementwise: unknown operand kind {kind!r}")
            if kind == "in" and (not isinstance(val, int) or not 0 <= val < len(node.args)):
                raise ValueError("fused_elementwise: operand index out of range")
            if kind == "const" and not isinstance(val, (int, float, bool)):
                raise ValueError("fused_elementwise: constants must be numbers")
            plan.append((kind, val))
        compiled.append((fn, tuple(plan)))
    return compiled


def build_kernel(node: Node, bk: Any) -> Any:
    """The callable for a ``fused_elementwise`` node: ``fused(*inputs, out=None)``."""
    compiled = plan_kernel(node, bk)
    first_fn, first_plan = compiled[0]
    rest = compiled[1:]

    def operand(kind: str, val: Any, inputs: tuple, acc: Any) -> Any:
        if kind == "in":
            return inputs[val]
        if kind == "acc":
            return acc
        return val

    def fused(*inputs: Any, out: Any = None) -> Any:
        a = [operand(k, v, inputs, None) for k, v in first_plan]
        acc = first_fn(*a) if out is None else first_fn(*a, out=out)
        for fn, plan in rest:
            fn(*[operand(k, v, inputs, acc) for k, v in plan], out=acc)
        return acc

    return fused
