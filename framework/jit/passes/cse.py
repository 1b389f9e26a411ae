"""Common-subexpression elimination: compute each identical pure node once.

Two nodes are the same when they call the same primitive with the same arguments (values by
id, constants by type and exact repr, so ``0.0`` and ``-0.0`` or ``1`` and ``1.0`` differ).
Nodes with effects, and nodes that read or produce memory written in place, are left alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis import EFFECT_OPS, alias_groups, mutable_roots, replace_value
from ..ir import Graph, Ref


def _key(obj: Any) -> Any:
    if isinstance(obj, Ref):
        return ("ref", obj.id)
    if isinstance(obj, (tuple, list)):
        return (type(obj).__name__, tuple(_key(o) for o in obj))
    if isinstance(obj, dict):
        return ("dict", tuple(sorted((k, _key(v)) for k, v in obj.items())))
    if isinstance(obj, np.dtype):
        return ("dtype", str(obj))
    if obj is None or isinstance(obj, (bool, int, float, str, slice)) or obj is Ellipsis:
        return (type(obj).__name__, repr(obj))
    return ("object", id(obj))


def run(graph: Graph) -> dict:
    groups = alias_groups(graph)
    mutable = mutable_roots(graph, groups)
    table: dict[Any, int] = {}
    merged: dict[str, int] = {}
    keep = []
    for i, n in enumerate(graph.nodes):
        if (n.op in EFFECT_OPS or n.mutates or len(n.outputs) != 1
                or groups.find(n.outputs[0]) in mutable
                or any(groups.find(r) in mutable for r in n.refs())):
            keep.append(n)
            continue
        key = (n.op, _key(n.args), _key(n.kwargs))
        prev = table.get(key)
        if prev is None:
            table[key] = n.outputs[0]
            keep.append(n)
            continue
        replace_value(graph, n.outputs[0], prev, i + 1)
        graph.values.pop(n.outputs[0], None)
        merged[n.op] = merged.get(n.op, 0) + 1
    graph.nodes = keep
    return {"merged": sum(merged.values()), "merged_ops": merged}
