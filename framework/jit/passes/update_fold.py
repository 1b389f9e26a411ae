"""Update folding: a plain SGD step on a gradient the program owns takes one pass per weight.

A traced ``opt.step()`` of plain SGD updates each parameter as ``p += g * (-lr)``: one pass
over the gradient to scale it, one to add it. When ``g`` is the result of a matrix product
(a weight's gradient, ``dY.T @ X``) or of a block sum (a bias's gradient, a ``sum_blas``
node) and nothing but that update reads it — the step frees or zeroes the gradients, so
``p.grad`` is never seen — the scalar can go in earlier, where it is cheap:

* ``matmul(A, B) * s`` becomes ``matmul(A * s, B)`` (or ``matmul(A, B * s)``), scaling the
  smaller operand (a ``(out, batch)`` activation gradient rather than the ``(out, in)``
  weight-sized product); a transposed operand is scaled before its transpose, so the
  product sees the same memory layout;
* ``sum_blas(x) * s`` becomes one ``sum_blas`` with ``s`` in its vector of ones (free).

The product or sum then goes straight into the in-place add: one pass over each weight
instead of two, and no weight-sized temporary.

Rounding: ``(A * s) @ B`` and ``(A @ B) * s`` round differently (the scaling is done before
the products' accumulation instead of after), so the updated parameters may differ from
eager's in the last bits, about one unit in the last place of the update — the same kind
of difference as BLAS blocking or :mod:`framework.jit.passes.batch_fold` make. The gradient
values themselves are never changed where they are observable: a gradient bound to
``p.grad`` (no ``zero_grad``, or ``zero_grad(set_to_none=False)``) escapes the program or is
read by more than the update, and its update is left as traced.
"""

from __future__ import annotations

import numpy as np

from ..analysis import alias_groups, escaping, use_counts
from ..ir import Graph, Node, Ref


def run(graph: Graph) -> dict:
    groups = alias_groups(graph)
    esc = escaping(graph, groups)
    uses = use_counts(graph)
    producer: dict[int, int] = {}
    for i, n in enumerate(graph.nodes):
        if not n.mutates:
            for o in n.outputs:
                producer[o] = i
    owned = _owned(graph, groups, esc, uses)
    before: dict[int, list[Node]] = {}  # node index -> nodes inserted before it
    drop: set[int] = set()
    products = sums = 0
    for n in graph.nodes:
        m = _update(graph, n, owned, producer)
        if m is None:
            continue
        mi, scale, g = m
        gi = producer[g]
        src = graph.nodes[gi]
        if src.op == "matmul":
            new = _scale_product(graph, src, scale, owned, producer, uses, drop)
            if new is None:
                continue
            before.setdefault(gi, []).extend(new)
            products += 1
        else:
            src.extra["scale"] = float(scale)
            sums += 1
        # the add reads the (now scaled) gradient; the scaling node goes
        n.args = (n.args[0], Ref(g))
        drop.add(mi)
        graph.values.pop(graph.nodes[mi].outputs[0], None)
    if products or sums:
        nodes = []
        for i, n in enumerate(graph.nodes):
            nodes.extend(before.get(i, ()))
            if i not in drop:
                nodes.append(n)
        graph.nodes = nodes
    return {"products": products, "sums": sums}


def _owned(graph: Graph, groups, esc: set[int], uses: dict) -> set[int]:
    """Values read exactly once whose memory nobody outside one run of the program sees."""
    size: dict[int, int] = {}
    for vid in graph.values:
        r = groups.find(vid)
        size[r] = size.get(r, 0) + 1
    return {vid for vid in graph.values
            if uses.get(vid, 0) == 1 and groups.find(vid) not in esc
            and size[groups.find(vid)] == 1}


def _scalar(x: object) -> bool:
    return (isinstance(x, (int, float, np.floating)) and not isinstance(x, (bool, np.bool_))
            and np.isfinite(x))


def _update(graph: Graph, n: Node, owned: set[int], producer: dict) -> tuple | None:
    """``(index of the scaling node, scale, gradient)`` if ``n`` is ``add(p, g * s, out=p)``
    with ``g`` a matrix product or block sum read only by the scaling."""
    if (n.op != "add" or len(n.args) != 2 or set(n.kwargs) != {"out"}
            or not all(type(a) is Ref for a in n.args) or type(n.kwargs["out"]) is not Ref):
        return None
    p, u = n.args[0].id, n.args[1].id
    if n.kwargs["out"].id != p or n.mutates != [p] or u not in owned or u not in producer:
        return None
    mi = producer[u]
    m = graph.nodes[mi]
    if m.op != "multiply" or m.kwargs or len(m.args) != 2 or len(m.outputs) != 1:
        return None
    a, s = m.args
    if type(a) is not Ref or not _scalar(s):
        a, s = s, a
        if type(a) is not Ref or not _scalar(s):
            return None
    g = a.id
    if g not in owned or g not in producer:
        return None
    src = graph.nodes[producer[g]]
    vals = graph.values
    dt = np.dtype(vals[p].dtype)
    if (dt.kind != "f" or np.dtype(vals[g].dtype) != dt or np.dtype(vals[u].dtype) != dt
            or vals[g].shape != vals[u].shape or vals[u].shape != vals[p].shape):
        return None
    if src.op == "matmul":
        if src.kwargs or len(src.args) != 2 or not all(type(x) is Ref for x in src.args):
            return None
    elif src.op == "sum_blas":
        if "scale" in src.extra:
            return None
    else:
        return None
    return mi, s, g


def _scale_product(graph: Graph, mm: Node, scale: float, owned: set[int], producer: dict,
                   uses: dict, drop: set[int]) -> list[Node] | None:
    """Nodes that scale the smaller operand of ``mm`` (rewired to read it), or ``None``."""
    vals = graph.values
    dt = np.dtype(vals[mm.outputs[0]].dtype)
    sizes = []
    for k, a in enumerate(mm.args):
        v = vals[a.id]
        if not all(isinstance(d, int) for d in v.shape) or np.dtype(v.dtype) != dt:
            return None
        sizes.append((int(np.prod(v.shape)), k))
    k = min(sizes)[1]
    x = mm.args[k].id
    new: list[Node] = []
    ti = producer.get(x)
    t = graph.nodes[ti] if ti is not None else None
    if (t is not None and t.op == "transpose" and not t.kwargs and t.args
            and type(t.args[0]) is Ref and not any(isinstance(a, Ref) for a in t.args[1:])
            and np.dtype(vals[t.args[0].id].dtype) == dt):
        # scale the contiguous base, then take the same transposed view of the result
        y = vals[t.args[0].id]
        ys = graph.new_value(tuple(y.shape), y.dtype)
        xs = graph.new_value(tuple(vals[x].shape), vals[x].dtype)
        new.append(Node("multiply", (t.args[0], scale), {}, [ys], [], mm.scope))
        new.append(Node("transpose", (Ref(ys),) + tuple(t.args[1:]), {}, [xs], [], mm.scope))
        if uses.get(x, 0) == 1:
            drop.add(ti)
            vals.pop(x, None)
    else:
        xs = graph.new_value(tuple(vals[x].shape), vals[x].dtype)
        new.append(Node("multiply", (Ref(x), scale), {}, [xs], [], mm.scope))
    args = list(mm.args)
    args[k] = Ref(xs)
    mm.args = tuple(args)
    return new
