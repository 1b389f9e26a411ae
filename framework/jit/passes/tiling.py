"""Tiling: large composite kernels run block by block, so their temporaries stay in cache.

Some backend kernels are NumPy code of many passes — the float32 ``erf`` evaluates two
polynomials (a couple of dozen temporaries), ``softmax`` and ``log_softmax`` several. On a
``16x64x512`` activation each temporary is 2 MB: every pass streams through memory, and
every fresh temporary costs the allocator (often page faults). Their results are
elementwise (or per row of the last axis), so the program runs such a node on consecutive
blocks of about :data:`BLOCK` elements, writing each block's result into one output array:
the same numbers, with temporaries that fit in the cache.

Only nodes whose input and output have one concrete shape (and, for the row-wise kernels,
the last axis) and at least two blocks of elements are tiled; at run time a tile kernel
falls back to the plain call for anything but a contiguous NumPy array.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...backend import numpy_backend as _numpy_backend
from ..ir import Graph, Node, Ref

BLOCK = 1 << 16  # elements per block: 256 KB of float32, about an L2 cache
ELEMENTWISE = frozenset({"erf", "gelu"})
ROWWISE = frozenset({"softmax", "log_softmax"})


def run(graph: Graph) -> dict:
    tiled = 0
    for n in graph.nodes:
        n.extra.pop("tile", None)
        if _tileable(graph, n):
            n.extra["tile"] = BLOCK
            tiled += 1
    return {"tiled": tiled}


def _tileable(graph: Graph, n: Node) -> bool:
    if n.op not in ELEMENTWISE | ROWWISE or n.mutates or len(n.outputs) != 1:
        return False
    if len(n.args) != 1 or type(n.args[0]) is not Ref:
        return False
    x, out = graph.values[n.args[0].id], graph.values[n.outputs[0]]
    if x.shape != out.shape or not x.shape or not all(isinstance(d, int) for d in x.shape):
        return False
    if np.dtype(out.dtype).kind != "f" or np.dtype(x.dtype) != np.dtype(out.dtype):
        return False
    if n.op in ELEMENTWISE:
        if n.kwargs:
            return False
    else:
        axis = n.kwargs.get("axis", -1)
        if set(n.kwargs) - {"axis"} or not isinstance(axis, int) or \
                axis % len(x.shape) != len(x.shape) - 1:
            return False
    return int(np.prod(x.shape)) >= 2 * BLOCK


def wrap(fn: Any, node: Node, graph: Graph, bk: Any) -> Any:
    """``fn`` run block by block for a node the pass marked (else ``fn`` itself)."""
    block = node.extra.get("tile")
    if type(bk) is not _numpy_backend.NumpyBackend or not isinstance(block, int) or block < 1:
        return fn
    out_v = graph.values[node.outputs[0]]
    shape, dtype = tuple(out_v.shape), np.dtype(out_v.dtype)
    if not shape or not all(isinstance(d, int) and d > 0 for d in shape):
        return fn
    cols = shape[-1] if node.op in ROWWISE else 1
    rows = int(np.prod(shape)) // cols
    step = max(1, block // cols)
    ndarray = np.ndarray

    rowwise = node.op in ROWWISE

    def tiled(x: Any, **kwargs: Any) -> Any:
        if type(x) is not ndarray or x.shape != shape or x.dtype != dtype \
                or not x.flags.c_contiguous:
            return fn(x, **kwargs)
        out = np.empty(shape, dtype)
        flat_in, flat_out = x.reshape(rows, cols), out.reshape(rows, cols)
        for i in range(0, rows, step):
            # a row-wise kernel works along the last axis, which is the blocks' last axis too
            res = fn(flat_in[i:i + step], axis=-1) if rowwise else fn(flat_in[i:i + step])
            flat_out[i:i + step] = res
        return out

    return tiled
