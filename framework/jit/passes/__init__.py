"""Graph passes. Each module has ``run(graph) -> stats`` and changes the graph in place.

:data:`PIPELINE` is the order :func:`framework.jit.to_static` applies them in: folding,
simplification and decomposition first (they expose more duplicates), then CSE and
dead-code elimination, then batch folding and fusion, and memory planning last (it needs
the final nodes).
"""

from __future__ import annotations

from ..ir import Graph
from . import (
    batch_fold,
    constant_folding,
    copies,
    cse,
    dce,
    decompose,
    fusion,
    memory,
    pool,
    reduce_blas,
    simplify,
    tiling,
    update_fold,
    xent,
)

PIPELINE = [
    ("constant_folding", constant_folding.run),
    ("simplify", simplify.run),
    ("decompose", decompose.run),
    ("cse", cse.run),
    ("xent", xent.run),
    ("pool", pool.run),
    ("dce", dce.run),
    ("copies", copies.run),
    ("batch_fold", batch_fold.run),
    ("reduce_blas", reduce_blas.run),
    ("update_fold", update_fold.run),
    ("fusion", fusion.run),
    ("tiling", tiling.run),
    ("memory", memory.run),
]

__all__ = ["PIPELINE", "optimize", "batch_fold", "constant_folding", "copies", "cse", "dce",
           "decompose", "fusion", "memory", "pool", "reduce_blas", "simplify", "tiling",
           "update_fold", "xent"]


def optimize(graph: Graph, skip: tuple[str, ...] = ()) -> list[tuple[str, dict]]:
    """Run every pass of :data:`PIPELINE` (except those named in ``skip``); their reports."""
    report = []
    for name, fn in PIPELINE:
        if name in skip:
            continue
        before = len(graph.nodes)
        stats = fn(graph)
        stats["nodes_before"] = before
        stats["nodes_after"] = len(graph.nodes)
        report.append((name, stats))
    return report
