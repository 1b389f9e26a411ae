"""Copy elimination: concatenating reshaped views concatenates the views themselves.

Attention's backward joins the query, key and value gradients: each is a transposed view
``(B, T, H, D)`` reshaped to ``(B, T, H*D)`` — a copy, because the view is not contiguous —
and the three copies are then concatenated (a second copy). Joining the ``(B, T, H, D)``
views along ``H`` gives the same elements in the same order, so the program writes each view
straight into its slice of one contiguous ``(B, T, 3H, D)`` array (``empty`` + ``setitem``;
``concatenate`` would lay its result out like its transposed inputs) and reshapes that array
(a free view): one copy instead of two.

The rewrite applies when every operand is a reshape read by nothing else, merging the
operand's axes from the concatenation axis on into that last axis, with the same trailing
axes for all operands.
"""

from __future__ import annotations

import numpy as np

from ..analysis import use_counts
from ..ir import Graph, Node, Ref


def run(graph: Graph) -> dict:
    producer = {o: n for n in graph.nodes for o in n.outputs if not n.mutates}
    uses = use_counts(graph)
    out: list[list[Node]] = []
    dropped: set[int] = set()
    merged = 0
    for n in graph.nodes:
        new = _rewrite(graph, n, producer, uses)
        if new is None:
            out.append([n])
            continue
        for a in n.args[0]:  # the reshapes (read only here) are no longer needed
            dropped.add(id(producer[a.id]))
            graph.values.pop(a.id, None)
        out.append(new)
        merged += 1
    graph.nodes = [n for group in out for n in group if id(n) not in dropped]
    return {"merged": merged}


def _rewrite(graph: Graph, n: Node, producer: dict, uses: dict) -> list[Node] | None:
    if (n.op != "concatenate" or n.mutates or len(n.outputs) != 1 or len(n.args) != 1
            or set(n.kwargs) != {"axis"} or not isinstance(n.args[0], (list, tuple))
            or len(n.args[0]) < 2):
        return None
    out = graph.values[n.outputs[0]]
    k = n.kwargs["axis"]
    if not isinstance(k, int) or not out.shape or k % len(out.shape) != len(out.shape) - 1:
        return None
    k = len(out.shape) - 1
    sources = []
    trailing = None
    for a in n.args[0]:
        if type(a) is not Ref or uses.get(a.id, 0) != 1:
            return None
        p = producer.get(a.id)
        if p is None or p.op != "reshape" or p.kwargs or len(p.args) != 2 \
                or type(p.args[0]) is not Ref:
            return None
        src, res = graph.values[p.args[0].id], graph.values[a.id]
        shapes = (src.shape, res.shape)
        if not all(isinstance(d, int) for s in shapes for d in s) or src.dtype != res.dtype:
            return None
        if len(res.shape) != k + 1 or len(src.shape) <= k + 1 \
                or src.shape[:k] != res.shape[:k] \
                or int(np.prod(src.shape[k:])) != res.shape[k]:
            return None
        if trailing is None:
            trailing = src.shape[k + 1:]
        elif src.shape[k + 1:] != trailing:
            return None
        sources.append(p.args[0])
    first = graph.values[sources[0].id]
    joined_shape = first.shape[:k] + (sum(graph.values[s.id].shape[k] for s in sources),) \
        + trailing
    if int(np.prod(joined_shape)) != int(np.prod(out.shape)):
        return None
    joined = graph.new_value(joined_shape, out.dtype)
    new = [Node("empty", (joined_shape, np.dtype(out.dtype)), {}, [joined], [], n.scope)]
    start = 0
    for src in sources:
        width = graph.values[src.id].shape[k]
        index = (slice(None),) * k + (slice(start, start + width),)
        new.append(Node("setitem", (Ref(joined), index, src), {}, [], [joined], n.scope))
        start += width
    new.append(Node("reshape", (Ref(joined), tuple(out.shape)), {}, [n.outputs[0]], [],
                    n.scope))
    return new
