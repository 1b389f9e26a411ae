"""Decompose a fused kernel when its inner value is computed anyway: share, don't redo.

Exact GELU's forward is one fused kernel, ``x * 0.5 * (1 + erf(x / sqrt(2)))``, and its
gradient computes ``erf(x * (1/sqrt(2)))`` again from the same ``x``. In a traced training
step both are in one graph, so the forward is rewritten to use the gradient's ``erf``:
``erf`` (and the scaling feeding it) move up to the forward, and GELU becomes
``x * ((erf + 1) * 0.5)`` — the same bits (scaling by 0.5 is exact), one ``erf`` instead of
two. CSE and fusion then tidy up the rest.

Likewise GELU's gradient needs ``cdf = erf * 0.5 + 0.5`` while its forward computed
``erf + 1``: ``(erf + 1) * 0.5`` is the same number (halving is exact, and rounding commutes
with it), so the gradient reuses the forward's sum — one pass over the activation instead
of two.
"""

from __future__ import annotations

import numpy as np

from ..analysis import alias_groups
from ..ir import Graph, Node, Ref

_SQRT_HALF = 0.7071067811865476


def _is_sqrt_half(graph: Graph, a: object, dtype: np.dtype) -> bool:
    if isinstance(a, Ref):
        arr = graph.consts.get(a.id)
        if arr is None or a.id in graph.volatile or np.size(arr) != 1:
            return False
        return np.asarray(arr, dtype).reshape(()) == dtype.type(_SQRT_HALF)
    return isinstance(a, float) and dtype.type(a) == dtype.type(_SQRT_HALF)


def run(graph: Graph) -> dict:
    groups = alias_groups(graph)
    producer = {o: (i, n) for i, n in enumerate(graph.nodes) for o in n.outputs}
    gelus = {}
    for i, n in enumerate(graph.nodes):
        if n.op == "gelu" and len(n.args) == 1 and not n.kwargs and isinstance(n.args[0], Ref) \
                and len(n.outputs) == 1:
            gelus.setdefault(n.args[0].id, (i, n))
    shared = 0
    moves: dict[int, list[Node]] = {}
    removed: set[int] = set()
    for ei, n in enumerate(graph.nodes):
        if n.op != "erf" or len(n.args) != 1 or not isinstance(n.args[0], Ref) or n.kwargs:
            continue
        pm = producer.get(n.args[0].id)
        if pm is None or pm[1].op != "multiply" or pm[1].kwargs or len(pm[1].args) != 2:
            continue
        mul = pm[1]
        x = next((a for a in mul.args if isinstance(a, Ref) and a.id in gelus), None)
        if x is None:
            continue
        c = mul.args[1] if mul.args[0] is x else mul.args[0]
        gi, gnode = gelus[x.id]
        dtype = np.dtype(graph.values[x.id].dtype)
        if (dtype.kind != "f" or not _is_sqrt_half(graph, c, dtype) or pm[0] < gi
                or _written_between(graph, groups, x.id, gi, ei) or id(gnode) in removed
                or graph.values[n.outputs[0]].shape != graph.values[x.id].shape):
            continue
        out = gnode.outputs[0]
        shape, dt = graph.values[out].shape, graph.values[out].dtype
        t1 = graph.new_value(shape, dt)
        t2 = graph.new_value(shape, dt)
        moves[id(gnode)] = [
            mul, n,
            Node("add", (Ref(n.outputs[0]), 1.0), {}, [t1], [], gnode.scope),
            Node("multiply", (Ref(t1), 0.5), {}, [t2], [], gnode.scope),
            Node("multiply", (x, Ref(t2)), {}, [out], [], gnode.scope),
        ]
        removed.update({id(gnode), id(mul), id(n)})
        del gelus[x.id]
        shared += 1
    if shared:
        nodes = []
        for n in graph.nodes:
            if id(n) in moves:
                nodes.extend(moves[id(n)])
            elif id(n) not in removed:
                nodes.append(n)
        graph.nodes = nodes
    cdf = _share_cdf(graph)
    return {"shared": shared, **({"cdf_shared": cdf} if cdf else {})}


def _share_cdf(graph: Graph) -> int:
    """``b = erf * 0.5; b += 0.5`` after ``a = erf + 1.0`` becomes ``b = a * 0.5``."""
    groups = alias_groups(graph)
    written = {groups.find(m) for n in graph.nodes for m in n.mutates}
    producer = {o: (i, n) for i, n in enumerate(graph.nodes) for o in n.outputs}
    plus_one: dict[int, int] = {}  # erf value -> its "+ 1.0" value
    shared = 0
    drop: set[int] = set()
    for i, n in enumerate(graph.nodes):
        if _is_op(n, "add") and type(n.args[0]) is Ref and n.args[1] == 1.0 \
                and type(n.args[1]) is float:
            p = producer.get(n.args[0].id)
            if p is not None and p[1].op == "erf" and groups.find(n.outputs[0]) not in written \
                    and groups.find(n.args[0].id) not in written:
                plus_one.setdefault(n.args[0].id, n.outputs[0])
            continue
        if not (_is_op(n, "multiply") and type(n.args[0]) is Ref and n.args[1] == 0.5
                and type(n.args[1]) is float and n.args[0].id in plus_one):
            continue
        b = n.outputs[0]
        nxt = next(((j, m) for j, m in enumerate(graph.nodes[i + 1:], i + 1)
                    if b in m.refs()), None)
        if nxt is None:
            continue
        j, m = nxt
        if not (m.op == "add" and m.mutates == [b] and len(m.args) == 2
                and type(m.args[0]) is Ref and m.args[0].id == b and m.args[1] == 0.5
                and type(m.args[1]) is float and set(m.kwargs) == {"out"}
                and type(m.kwargs["out"]) is Ref and m.kwargs["out"].id == b):
            continue
        dtype = graph.values[b].dtype
        if graph.values[plus_one[n.args[0].id]].dtype != dtype:
            continue
        n.args = (Ref(plus_one[n.args[0].id]), 0.5)
        drop.add(id(m))
        shared += 1
    if drop:
        graph.nodes = [n for n in graph.nodes if id(n) not in drop]
    return shared


def _is_op(n: Node, op: str) -> bool:
    return (n.op == op and len(n.args) == 2 and not n.kwargs and not n.mutates
            and len(n.outputs) == 1)


def _written_between(graph: Graph, groups: object, vid: int, start: int, stop: int) -> bool:
    """Whether a node in ``start..stop`` may write into ``vid``'s memory (or hands it to a
    host call, which might)."""
    root = groups.find(vid)
    for n in graph.nodes[start:stop + 1]:
        if any(groups.find(m) == root for m in n.mutates):
            return True
        if n.op == "host_call" and any(groups.find(r) == root for r in n.refs()):
            return True
    return False
