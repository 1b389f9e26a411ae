"""Batch folding: a stack of products with one shared matrix becomes a single 2-D product.

``x @ W.T`` with ``x`` of shape ``(B, T, K)`` (every linear layer of a sequence model, and
its input gradient ``g @ W``) makes NumPy run ``B`` separate ``(T, K) @ (K, N)`` products,
re-reading ``W`` (and, when it is a transposed view, re-packing it) for each. The same
numbers come out of one ``(B*T, K) @ (K, N)`` product on ``x`` reshaped — a view when ``x`` is
contiguous, which every array the program makes is — with the result reshaped back (a view).
Only products of a floating ``N-d @ 2-d`` pair with concrete shapes are rewritten.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node, Ref

MIN_ROWS = 2  # a single (T, K) slab gains nothing


def run(graph: Graph) -> dict:
    nodes = []
    folded = 0
    for n in graph.nodes:
        if not _foldable(graph, n):
            nodes.append(n)
            continue
        a, b = n.args
        av, out = graph.values[a.id], graph.values[n.outputs[0]]
        rows = int(np.prod(av.shape[:-1]))
        k = av.shape[-1]
        flat = graph.new_value((rows, k), av.dtype)
        prod = graph.new_value((rows, out.shape[-1]), out.dtype)
        nodes.append(Node("reshape", (a, (rows, k)), {}, [flat], [], n.scope))
        nodes.append(Node("matmul", (Ref(flat), b), {}, [prod], [], n.scope))
        nodes.append(Node("reshape", (Ref(prod), tuple(out.shape)), {}, [n.outputs[0]], [],
                          n.scope))
        folded += 1
    graph.nodes = nodes
    return {"folded": folded}


def _foldable(graph: Graph, n: Node) -> bool:
    if (n.op != "matmul" or n.kwargs or n.mutates or len(n.outputs) != 1 or len(n.args) != 2
            or not all(type(a) is Ref for a in n.args)):
        return False
    av, bv = graph.values[n.args[0].id], graph.values[n.args[1].id]
    out = graph.values[n.outputs[0]]
    shapes = (av.shape, bv.shape, out.shape)
    if not all(isinstance(d, int) for s in shapes for d in s):
        return False
    if len(av.shape) < 3 or len(bv.shape) != 2 or av.shape[-1] != bv.shape[0]:
        return False
    if np.dtype(av.dtype).kind != "f" or av.dtype != bv.dtype or out.dtype != av.dtype:
        return False
    return int(np.prod(av.shape[:-2])) >= MIN_ROWS and out.shape == av.shape[:-1] + (
        bv.shape[1],)
