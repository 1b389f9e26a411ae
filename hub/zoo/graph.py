"""A saved static program's graph (``graph.json`` of ``fw.jit.save``) summarized as layers:
for each module scope, in order, the operations it runs, its output shape and its parameter
count; drawn on the model page as a table and a column of boxes (SVG, server-rendered)."""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from functools import lru_cache
from typing import Any


def _dim(d: Any) -> str:
    if isinstance(d, int):
        return str(d)
    return "N"  # a symbolic (dynamic) size such as the batch


def shape_text(shape: Any) -> str:
    if not isinstance(shape, list):
        return "?"
    return "(" + ", ".join(_dim(d) for d in shape) + ")"


def _refs(value: Any, out: list[int]) -> None:
    if isinstance(value, dict):
        if "$ref" in value and isinstance(value["$ref"], int):
            out.append(value["$ref"])
        for v in value.values():
            _refs(v, out)
    elif isinstance(value, list):
        for v in value:
            _refs(v, out)


def summarize(graph: dict[str, Any]) -> dict[str, Any]:
    """``{"layers": [{name, ops, output, params}], "inputs", "outputs", "params",
    "nodes"}`` of a parsed ``graph.json`` (only fields that are there are used)."""
    values = {v.get("id"): v for v in graph.get("values", []) if isinstance(v, dict)}
    layers: OrderedDict[str, dict[str, Any]] = OrderedDict()
    counted: set[int] = set()
    for node in graph.get("nodes", []):
        if not isinstance(node, dict):
            continue
        scope = str(node.get("scope") or "(top)")[:80]
        layer = layers.setdefault(scope, {"name": scope, "ops": Counter(), "output": None,
                                          "params": 0})
        layer["ops"][str(node.get("op", "?"))[:40]] += 1
        refs: list[int] = []
        _refs(node.get("args", []), refs)
        _refs(node.get("kwargs", {}), refs)
        for ref in refs:
            value = values.get(ref)
            if value and value.get("kind") == "state" and ref not in counted:
                counted.add(ref)
                size = 1
                for d in value.get("shape", []):
                    size *= d if isinstance(d, int) else 1
                layer["params"] += size
        outs = node.get("outputs") or node.get("mutates") or []
        if outs and isinstance(outs[-1], int) and outs[-1] in values:
            layer["output"] = shape_text(values[outs[-1]].get("shape"))
    rows = [{"name": layer["name"],
             "ops": ", ".join(f"{op}×{n}" if n > 1 else op for op, n in layer["ops"].items()),
             "output": layer["output"] or "", "params": layer["params"]}
            for layer in layers.values()]
    specs = graph.get("inputs_spec") or []
    inputs = [shape_text(s.get("shape")) for s in specs if isinstance(s, dict)]
    outputs = [shape_text(values.get(i, {}).get("shape")) for i in graph.get("outputs", [])
               if isinstance(i, int)]
    return {"layers": rows[:500], "inputs": inputs, "outputs": outputs,
            "params": sum(r["params"] for r in rows), "nodes": len(graph.get("nodes", []))}


@lru_cache(maxsize=64)
def summary_of_blob(digest: str) -> dict[str, Any] | None:
    """The summary of the stored ``graph.json`` blob ``digest`` (cached by content)."""
    from hub.infra.storage import get_storage

    try:
        graph = json.loads(get_storage().read_bytes(digest))
    except (OSError, ValueError, KeyError):
        return None
    return summarize(graph) if isinstance(graph, dict) else None
