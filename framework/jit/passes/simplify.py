"""Algebraic simplification: ``x * 1``, ``x + 0``, ``x - 0``, ``x / 1``, ``x ** 1``, ``-(-x)``,
casts and broadcasts to what ``x`` already is, reshape of reshape, transpose of transpose.

Reshapes of one array share work: a reshape that copies (its source is a transposed view)
is made once, and a later reshape of the same source reshapes that copy instead (a free
view) — so a reshape of a reshape is only collapsed when nothing else reads the inner one.

Replacing a result by ``x`` makes the two share memory, so it happens only when neither is
written in place and the result is not visible outside the program.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis import alias_groups, escaping, mutable_roots, replace_value
from ..ir import Graph, Ref

_IDENTITY = {  # op -> (identity element, operand positions where it may stand)
    "add": (0, (0, 1)),
    "subtract": (0, (1,)),
    "multiply": (1, (0, 1)),
    "divide": (1, (1,)),
    "power": (1, (1,)),
}


def _is_const(graph: Graph, a: Any, value: float) -> bool:
    if isinstance(a, Ref):
        arr = graph.consts.get(a.id)
        if arr is None or a.id in graph.volatile or np.size(arr) > 64:
            return False
        return bool(np.all(np.asarray(arr) == value))
    if isinstance(a, (bool, int, float)) and not isinstance(a, bool):
        return a == value
    return False


def run(graph: Graph) -> dict:
    groups = alias_groups(graph)
    mutable = mutable_roots(graph, groups)
    esc = escaping(graph, groups)
    producer = {o: n for n in graph.nodes for o in n.outputs}
    uses: dict[int, int] = {}
    for n in graph.nodes:
        for r in n.refs():
            uses[r] = uses.get(r, 0) + 1
    for o in graph.outputs:
        uses[o] = uses.get(o, 0) + 1
    first_reshape: dict[int, int] = {}  # source value -> the first reshape of it
    done: dict[str, int] = {}
    keep = []

    def safe(out: int, x: int) -> bool:
        go, gx = groups.find(out), groups.find(x)
        return go not in mutable and gx not in mutable and go not in esc

    def same_meta(out: int, x: int) -> bool:
        a, b = graph.values[out], graph.values[x]
        return a.shape == b.shape and a.dtype == b.dtype

    for i, n in enumerate(graph.nodes):
        target = None
        rule = None
        register = None
        if len(n.outputs) == 1 and not n.mutates and not n.kwargs:
            out = n.outputs[0]
            if n.op in _IDENTITY and len(n.args) == 2:
                ident, positions = _IDENTITY[n.op]
                for pos in positions:
                    other = n.args[1 - pos]
                    if isinstance(other, Ref) and _is_const(graph, n.args[pos], ident) \
                            and same_meta(out, other.id):
                        target, rule = other.id, f"x {n.op} {ident}"
                        break
            elif n.op == "negative" and isinstance(n.args[0], Ref):
                p = producer.get(n.args[0].id)
                if p is not None and p.op == "negative" and not p.kwargs \
                        and isinstance(p.args[0], Ref) and same_meta(out, p.args[0].id):
                    target, rule = p.args[0].id, "-(-x)"
            elif n.op in ("astype", "broadcast_to", "reshape") and isinstance(n.args[0], Ref):
                x = n.args[0].id
                if n.op == "reshape":
                    p = producer.get(x)
                    if p is not None and p.op == "reshape" and isinstance(p.args[0], Ref) \
                            and not p.kwargs and uses.get(x, 0) == 1:
                        n.args = (p.args[0],) + tuple(n.args[1:])
                        x = p.args[0].id
                        done["reshape of reshape"] = done.get("reshape of reshape", 0) + 1
                    earlier = first_reshape.get(x)
                    if earlier is None:
                        if groups.find(x) not in mutable:
                            register = (x, out)
                    elif earlier != out:
                        n.args = (Ref(earlier),) + tuple(n.args[1:])
                        x = earlier
                        done["reshape of an earlier reshape"] = done.get(
                            "reshape of an earlier reshape", 0) + 1
                if same_meta(out, x):
                    target, rule = x, f"{n.op} to the same shape/dtype"
            elif n.op == "transpose" and isinstance(n.args[0], Ref) and len(n.args) == 2:
                perm = n.args[1]
                p = producer.get(n.args[0].id)
                if p is not None and p.op == "transpose" and len(p.args) == 2 \
                        and isinstance(p.args[0], Ref) and not p.kwargs \
                        and isinstance(p.args[1], (tuple, list)) \
                        and isinstance(perm, (tuple, list)):
                    inner = tuple(p.args[1])
                    perm = tuple(inner[j] for j in perm)
                    n.args = (p.args[0], perm)
                    done["transpose of transpose"] = done.get("transpose of transpose", 0) + 1
                if isinstance(perm, (tuple, list)) and tuple(perm) == tuple(range(len(perm))) \
                        and same_meta(out, n.args[0].id):
                    target, rule = n.args[0].id, "identity transpose"
        if target is not None and safe(n.outputs[0], target):
            replace_value(graph, n.outputs[0], target, i + 1)
            graph.values.pop(n.outputs[0], None)
            done[rule] = done.get(rule, 0) + 1
            continue
        if register is not None:  # a kept reshape: later reshapes of its source use it
            first_reshape[register[0]] = register[1]
        keep.append(n)
    graph.nodes = keep
    return {"simplified": sum(done.values()), "rules": done}
