"""Constant folding: run, once at compile time, the pure nodes whose inputs are constants.

Only literal constants qualify (arrays written in the code, scalars turned into arrays):
arrays captured by reference may change between runs. A result that is later written in
place is not folded (each run must start from a fresh array), nor one larger than
:data:`MAX_ELEMENTS` (it would bloat saved programs).
"""

from __future__ import annotations

import numpy as np

from ...backend import get as _get_backend
from ..analysis import EFFECT_OPS, alias_groups, mutable_roots
from ..executor import _step, kernel
from ..ir import Graph, Sym, holds

MAX_ELEMENTS = 1 << 20


def run(graph: Graph) -> dict:
    groups = alias_groups(graph)
    mutable = mutable_roots(graph, groups)
    bk = _get_backend("numpy")
    folded: dict[str, int] = {}
    keep = []
    for n in graph.nodes:
        refs = n.refs()
        ok = (n.op not in EFFECT_OPS and n.op != "fused_elementwise" and not n.mutates
              and len(n.outputs) == 1
              and all(r in graph.consts and r not in graph.volatile
                      and groups.find(r) not in mutable for r in refs)
              and groups.find(n.outputs[0]) not in mutable)
        if ok:
            v = graph.values[n.outputs[0]]
            ok = not holds(n.args, Sym) and not holds(n.kwargs, Sym) and not any(
                isinstance(d, Sym) for d in v.shape)
            ok = ok and int(np.prod(v.shape, dtype=np.int64)) <= MAX_ELEMENTS
        if not ok:
            keep.append(n)
            continue
        vals: list = [None] * graph._next
        for r in refs:
            vals[r] = graph.consts[r]
        _step(n, kernel(n.op, bk, n))(vals)
        out = n.outputs[0]
        arr = np.asarray(vals[out])
        if arr.base is not None or arr.flags.writeable:
            arr = arr.copy()
        arr.flags.writeable = False
        graph.consts[out] = arr
        graph.values[out].kind = "const"
        graph.values[out].name = graph.values[out].name or "folded"
        folded[n.op] = folded.get(n.op, 0) + 1
    graph.nodes = keep
    return {"folded": sum(folded.values()), "folded_ops": folded}

