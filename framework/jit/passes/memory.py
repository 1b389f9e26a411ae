"""Memory planning: intermediate results get buffers that are reused once they are dead.

Each result of an elementwise op, a matrix product, a fused kernel or an allocating
primitive (``zeros``, ``empty``, ``pad``, ``im2col``: see :mod:`framework.jit.kernels`) that
never leaves the program gets a *slot*. Slots are allocated once, on the first run, and
kept: later runs write into them instead of allocating (no allocator or page-fault cost).
A slot returns to the pool after the last read of its value (or of any view of it), and a
later result of the same shape and dtype takes it; an elementwise op may write its result
over an input that dies right there (in place). Values visible outside the program
(outputs, gradients handed to the optimizer, parameters) never get slots.
"""

from __future__ import annotations

from ..analysis import ELEMENTWISE, alias_groups, escaping
from ..ir import Graph
from ..kernels import PLANNED_ALLOCATIONS

PLANNABLE = ELEMENTWISE | {"matmul", "fused_elementwise"} | PLANNED_ALLOCATIONS


def run(graph: Graph) -> dict:
    groups = alias_groups(graph)
    esc = escaping(graph, groups)
    last_use: dict[int, int] = {}
    for i, n in enumerate(graph.nodes):
        refs = n.refs() + list(n.outputs)
        for r in refs:
            last_use[groups.find(r)] = i
    base_of: dict[int, int] = {}  # group root -> planned base value
    for n in graph.nodes:
        if (n.op in PLANNABLE and len(n.outputs) == 1 and not n.mutates
                and graph.values[n.outputs[0]].shape != ()
                and groups.find(n.outputs[0]) not in esc):
            root = groups.find(n.outputs[0])
            base_of.setdefault(root, n.outputs[0])
    pool: dict[tuple, list[int]] = {}
    slot_of: dict[int, int] = {}  # root -> slot
    slot_meta: list[tuple] = []
    releases: dict[int, list[int]] = {}
    for root, i in last_use.items():
        releases.setdefault(i, []).append(root)
    planned = inplace = 0
    for i, n in enumerate(graph.nodes):
        n.extra.pop("buffer", None)
        out = n.outputs[0] if len(n.outputs) == 1 else None
        root = groups.find(out) if out is not None else None
        if out is not None and base_of.get(root) == out:
            v = graph.values[out]
            meta = (v.shape, v.dtype)
            slot = None
            if n.op in ELEMENTWISE:
                # in place: an input that is a planned base dying at this very node
                for r in n.refs():
                    rr = groups.find(r)
                    if (base_of.get(rr) == r and rr in slot_of and last_use.get(rr) == i
                            and slot_meta[slot_of[rr]] == meta):
                        slot = slot_of.pop(rr)
                        inplace += 1
                        break
            if slot is None:
                free = pool.get(meta)
                slot = free.pop() if free else None
            if slot is None:
                slot = len(slot_meta)
                slot_meta.append(meta)
            slot_of[root] = slot
            n.extra["buffer"] = slot
            planned += 1
        for rr in releases.get(i, ()):
            s = slot_of.pop(rr, None)
            if s is not None:
                pool.setdefault(slot_meta[s], []).append(s)
    return {"planned": planned, "buffers": len(slot_meta), "in_place": inplace}
