"""Max-pool masks: which element of each window gets the gradient, as one ``pool_hits`` kernel.

``max_pool2d`` over tiling windows takes the maximum of the ``K = kh*kw`` window-offset
views and, for its gradient, marks in each window the first element equal to the maximum —
or, in a window holding NaN, its last NaN (as PyTorch picks them). Traced, that is a scan of
about ``6K`` boolean primitives (``equal``, ``greater``, ``logical_or`` and a reverse
``isnan`` scan). The kernel computes the same masks with ``3K - 2`` array operations, and
skips the NaN scan when the maxima hold no NaN (a window with a NaN has a NaN maximum,
since ``maximum`` propagates it): the same masks, bit for bit.

The pass finds the scan by recomputing, from the views and the maximum, the exact nodes
eager mode records (every link is checked); the intermediate masks it no longer needs are
left to dead-code elimination.

When the pooled input is a ReLU's output, ReLU's gradient mask ``pre > 0`` (a full-size
comparison and product) is applied to the pooled gradient instead: the element a window's
gradient goes to holds that window's maximum, so its mask is ``maximum > 0`` — a quarter of
the work for 2x2 windows, and the same numbers (signed zeros and NaN included: elsewhere
the gradient is a zero of the pooled gradient's sign either way).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...backend import numpy_backend as _numpy_backend
from ..analysis import alias_groups
from ..ir import Graph, Node, Ref
from . import dce

OP = "pool_hits"


class _NoMatch(Exception):
    pass


def run(graph: Graph) -> dict:
    index: dict[tuple, tuple[int, int]] = {}  # (op, argument ids) -> (node index, output)
    for i, n in enumerate(graph.nodes):
        if (len(n.outputs) == 1 and not n.mutates and not n.kwargs and n.args
                and all(type(a) is Ref for a in n.args)):
            index.setdefault((n.op, tuple(a.id for a in n.args)), (i, n.outputs[0]))
    groups = alias_groups(graph)
    place: dict[int, Node] = {}
    drop: set[int] = set()
    for i, n in enumerate(graph.nodes):
        views = _maximum_chain(graph, i, n)
        if views is None:
            continue
        try:
            found = _scan(graph, index, n.outputs[0], views)
        except _NoMatch:
            continue
        at, last, finals = found
        vals = n.outputs[0]
        reads = {groups.find(v) for v in [vals] + views}
        if any(groups.find(w) in reads for m in graph.nodes[at:last + 1] for w in m.mutates):
            continue
        if at in place:
            continue
        place[at] = Node(OP, tuple(Ref(v) for v in [vals] + views), {},
                         [out for _, out in finals], [], graph.nodes[at].scope,
                         {"nan_scan": np.dtype(graph.values[vals].dtype).kind == "f"})
        drop |= {k for k, _ in finals}
    if not place:
        return {"fused": 0}
    nodes = []
    for i, n in enumerate(graph.nodes):
        if i in place:
            nodes.append(place[i])
        if i not in drop:
            nodes.append(n)
    graph.nodes = nodes
    dce.run(graph)  # the scan's intermediate masks: readers the ReLU folding must not see
    relu = sum(_fold_relu(graph, k) for k in list(place.values()))
    return {"fused": len(place), **({"relu_folded": relu} if relu else {})}


def _fold_relu(graph: Graph, hits: Node) -> int:
    """Apply ReLU's gradient mask to the pooled gradient (see the module docstring)."""
    vals, views = hits.args[0].id, [a.id for a in hits.args[1:]]
    producer = {o: n for n in graph.nodes for o in n.outputs if not n.mutates}
    # the views are getitem(x, index) of one x = maximum(pre, 0)
    view_nodes = [producer.get(v) for v in views]
    if any(v is None or v.op != "getitem" or len(v.args) != 2 or type(v.args[0]) is not Ref
           for v in view_nodes):
        return 0
    x = view_nodes[0].args[0].id
    if any(v.args[0].id != x for v in view_nodes):
        return 0
    relu = producer.get(x)
    if (relu is None or relu.op != "maximum" or len(relu.args) != 2 or relu.kwargs
            or type(relu.args[0]) is not Ref or relu.args[1] != 0):
        return 0
    pre = relu.args[0].id
    masks = {h: v.args[1] for h, v in zip(hits.outputs, view_nodes, strict=True)}
    # the gradient: gx = empty/zeros; multiply(g, hit_k, out=getitem(gx, index_k)) for each k
    writes = []
    gx = g = None
    for i, n in enumerate(graph.nodes):
        if (n.op == "multiply" and len(n.args) == 2 and type(n.args[1]) is Ref
                and n.args[1].id in masks and set(n.kwargs) == {"out"} and not n.outputs):
            target = producer.get(n.kwargs["out"].id)
            if target is None or target.op != "getitem" or len(target.args) != 2 \
                    or type(target.args[0]) is not Ref or target.args[1] != masks[n.args[1].id]:
                return 0
            if gx is None:
                gx, g = target.args[0].id, n.args[0]
            if target.args[0].id != gx or n.args[0] != g or type(g) is not Ref:
                return 0
            writes.append(i)
    if len(writes) != len(views) or gx is None:
        return 0
    base = producer.get(gx)
    if base is None or base.op not in ("empty", "zeros") or \
            graph.values[gx].shape != graph.values[x].shape:
        return 0
    # ... then relu's gradient: multiply(gx, greater(pre, 0))
    last = max(writes)
    found = None
    for i, n in enumerate(graph.nodes[last + 1:], last + 1):
        if gx in n.refs() and not (n.op == "getitem" and n.args[0] == Ref(gx)):
            found = (i, n)
            break
    if found is None:
        return 0
    ri, rmul = found
    if (rmul.op != "multiply" or len(rmul.args) != 2 or rmul.kwargs or rmul.mutates
            or len(rmul.outputs) != 1 or rmul.args[0] != Ref(gx) or type(rmul.args[1]) is not Ref):
        return 0
    mask = producer.get(rmul.args[1].id)
    if (mask is None or mask.op != "greater" or len(mask.args) != 2 or mask.kwargs
            or mask.args[0] != Ref(pre) or mask.args[1] != 0):
        return 0
    out = rmul.outputs[0]
    if graph.values[out].dtype != graph.values[gx].dtype or any(
            gx in n.refs() for n in graph.nodes[ri + 1:]) or gx in graph.outputs:
        return 0
    # gx is read nowhere after the product, so the product's readers may read gx instead
    vshape = graph.values[vals].shape
    positive = graph.new_value(vshape, "bool")
    scaled = graph.new_value(vshape, graph.values[g.id].dtype)
    first = min(writes)
    scope = graph.nodes[first].scope
    for i in writes:
        n = graph.nodes[i]
        n.args = (Ref(scaled), n.args[1])
    from ..analysis import replace_value

    replace_value(graph, out, gx, ri + 1)
    graph.values.pop(out, None)
    del graph.nodes[ri]
    graph.nodes[first:first] = [Node("greater", (Ref(vals), 0), {}, [positive], [], scope),
                                Node("multiply", (g, Ref(positive)), {}, [scaled], [], scope)]
    _pool_before_relu(graph, hits, x, pre, view_nodes)
    return 1


def _pool_before_relu(graph: Graph, hits: Node, x: int, pre: int, view_nodes: list) -> None:
    """``maxpool(relu(pre))`` as ``relu(maxpool(pre))``: the ReLU on a quarter of the values.

    Only once the gradient mask is ``maximum > 0`` (above): then the masks of windows whose
    maximum is not positive no longer matter (their gradient is a zero either way), and in
    the others the first maximum of ``pre`` is the first maximum of ``relu(pre)``. The
    maxima are the same numbers (``relu`` never gives ``-0.0``; NaN propagates both ways).
    """
    from ..analysis import use_counts

    uses = use_counts(graph)
    vals = hits.args[0].id
    views = [v.outputs[0] for v in view_nodes]
    if uses.get(x) != len(views) or any(uses.get(h) != 1 for h in hits.outputs) \
            or x in graph.outputs:
        return
    chain = [n for n in graph.nodes if n.op == "maximum"
             and (n.outputs == [vals] or n.mutates == [vals])]
    readers = {id(n) for n in chain} | {id(hits)}
    for v in views:  # each view is read by the maximum chain and the mask kernel only
        if any(id(n) not in readers for n in graph.nodes if v in n.refs()):
            return
    hits_at = next(i for i, n in enumerate(graph.nodes) if n is hits)
    chain_at = [i for i, n in enumerate(graph.nodes) if id(n) in {id(c) for c in chain}]
    if not chain_at or max(chain_at) > hits_at or any(
            vals in n.refs() for n in graph.nodes[max(chain_at) + 1:hits_at]):
        return
    vp = graph.new_value(graph.values[vals].shape, graph.values[vals].dtype)
    for n in chain:
        n.replace_refs({vals: vp})
        n.outputs = [vp if o == vals else o for o in n.outputs]
    hits.args = (Ref(vp),) + tuple(hits.args[1:])
    for v in view_nodes:
        v.args = (Ref(pre), v.args[1])
    graph.nodes.insert(hits_at + 1, Node("maximum", (Ref(vp), 0), {}, [vals], [], hits.scope))


def _maximum_chain(graph: Graph, i: int, n: Node) -> list[int] | None:
    """``vals = maximum(v0, v1)`` followed by ``maximum(vals, vk, out=vals)``: the views."""
    if n.op != "maximum" or len(n.args) != 2 or n.kwargs or n.mutates or len(n.outputs) != 1 \
            or not all(type(a) is Ref for a in n.args):
        return None
    vals = n.outputs[0]
    views = [n.args[0].id, n.args[1].id]
    for m in graph.nodes[i + 1:]:
        if (m.op == "maximum" and m.mutates == [vals] and len(m.args) == 2
                and type(m.args[0]) is Ref and m.args[0].id == vals and type(m.args[1]) is Ref
                and set(m.kwargs) == {"out"} and type(m.kwargs["out"]) is Ref
                and m.kwargs["out"].id == vals):
            views.append(m.args[1].id)
            continue
        if vals in m.refs():
            break
    shapes = {graph.values[v].shape for v in views + [vals]}
    return views if len(shapes) == 1 and len(set(views)) == len(views) else None


def _scan(graph: Graph, index: dict, vals: int, views: list[int]) -> tuple:
    """The recorded mask scan over ``views``: (first node index, last node index,
    [(node index, output) of each final mask]); raises _NoMatch."""
    used: list[int] = []

    def get(op: str, *args: int) -> int:
        hit = index.get((op, args))
        if hit is None:
            raise _NoMatch
        used.append(hit[0])
        return hit[1]

    k_last = len(views) - 1
    taken = get("equal", views[0], vals)
    hits = [taken]
    for k in range(1, len(views)):
        eq = get("equal", views[k], vals)
        hit = get("greater", eq, taken)
        hits.append(hit)
        if k < k_last:
            taken = get("logical_or", taken, hit)
    finals = list(hits)
    if np.dtype(graph.values[vals].dtype).kind == "f":
        seen = last = get("isnan", views[k_last])
        finals[k_last] = get("logical_or", hits[k_last], last)
        for k in range(k_last - 1, -1, -1):
            nan = get("isnan", views[k])
            last = get("greater", nan, seen)
            if k > 0:
                seen = get("logical_or", seen, last)
            finals[k] = get("logical_or", hits[k], last)
    producers = []
    for out in finals:
        idx = next(i for i, n in enumerate(graph.nodes) if n.outputs == [out])
        producers.append((idx, out))
    return min(used), max(used), producers


def build_kernel(node: Node, bk: Any) -> Any:
    """The callable of a ``pool_hits`` node: ``fn(vals, *views) -> masks``."""
    nan_scan = node.extra.get("nan_scan")
    if not isinstance(nan_scan, bool) or len(node.args) < 3 or \
            len(node.outputs) != len(node.args) - 1:
        raise ValueError("pool_hits: malformed node")
    fast = type(bk) is _numpy_backend.NumpyBackend

    def pool_hits(vals: Any, *views: Any) -> list:
        for v in views:
            if tuple(v.shape) != tuple(vals.shape):
                raise ValueError(f"pool_hits: a view of shape {tuple(v.shape)} does not "
                                 f"match the maxima's {tuple(vals.shape)}")
        taken = bk.equal(views[0], vals)
        hits = [taken]
        if len(views) > 1:
            taken = bk.copy(taken)
        for k, v in enumerate(views[1:], 1):
            hit = bk.greater(bk.equal(v, vals), taken)
            hits.append(hit)
            if k < len(views) - 1:
                if fast:
                    np.logical_or(taken, hit, out=taken)
                else:
                    taken = bk.logical_or(taken, hit)
        if nan_scan and bool(bk.any(bk.isnan(vals))):
            k_last = len(views) - 1
            seen = last = bk.isnan(views[k_last])
            hits[k_last] = bk.logical_or(hits[k_last], last)
            for k in range(k_last - 1, -1, -1):
                last = bk.greater(bk.isnan(views[k]), seen)
                seen = bk.logical_or(seen, last)
                hits[k] = bk.logical_or(hits[k], last)
        return hits

    return pool_hits
