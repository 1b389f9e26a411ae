"""Dead-code elimination: drop nodes whose results nobody reads.

A node stays when it has an effect (random draws, host calls), when a later node or the
program's outputs read one of its results, or when it writes into memory that is read later
or is visible outside the program (parameters, inputs, outputs and their views).
"""

from __future__ import annotations

from ..analysis import EFFECT_OPS, alias_groups, escaping
from ..ir import Graph


def run(graph: Graph) -> dict:
    groups = alias_groups(graph)
    esc = escaping(graph, groups)
    live: set[int] = set(graph.outputs)
    live_groups: set[int] = {groups.find(o) for o in graph.outputs} | esc
    kept = []
    removed: dict[str, int] = {}
    for n in reversed(graph.nodes):
        needed = (n.op in EFFECT_OPS or any(o in live for o in n.outputs)
                  or any(groups.find(m) in live_groups for m in n.mutates))
        if not needed:
            removed[n.op] = removed.get(n.op, 0) + 1
            continue
        kept.append(n)
        refs = n.refs()
        if n.op == "host_call":
            refs += [vid for _, vid in n.extra.get("binds", ()) if vid is not None]
        for r in refs:
            live.add(r)
            live_groups.add(groups.find(r))
    kept.reverse()
    graph.nodes = kept
    used = set(live) | set(graph.inputs) | set(graph.state) | set(graph.outputs)
    for n in kept:
        used.update(n.outputs)
    for vid in [v for v in graph.consts if v not in used]:
        del graph.consts[vid]
        graph.values.pop(vid, None)
    for vid in [v for v, val in graph.values.items() if val.kind == "op" and v not in used]:
        del graph.values[vid]
    return {"removed": sum(removed.values()), "removed_ops": removed}
