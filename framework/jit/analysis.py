"""Facts about a graph that the passes share: which values may share memory, which escape,
how often each is read.

Aliasing is what makes in-place writes safe or not: a view (``reshape``, ``transpose``,
``getitem`` ...) shares memory with its base, so a write into either changes both. Values
are grouped with a union-find over "may alias" edges; a pass that moves, merges or reuses a
value checks its whole group.
"""

from __future__ import annotations

from .ir import Graph

# ops whose result is always a new array (never a view of an argument)
FRESH_OPS = frozenset({
    "negative", "abs", "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "tanh",
    "erf", "sign", "floor", "ceil", "trunc", "round", "reciprocal", "isnan", "isinf",
    "isfinite", "invert", "logical_not",
    "add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "equal",
    "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
    "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "fmod",
    "remainder", "where", "clip",
    "sum", "prod", "max", "min", "argmax", "argmin", "all", "any", "cumsum", "cumprod",
    "sort", "argsort",
    "concatenate", "stack", "pad", "roll", "tile", "repeat", "tril", "triu", "take",
    "take_along_axis", "copy", "empty", "zeros", "ones", "full", "arange", "linspace", "eye",
    "matmul", "outer",
    "softmax", "log_softmax", "gelu", "layer_norm", "im2col", "conv2d", "attention",
    "random_uniform", "random_normal", "random_integers", "random_permutation",
    "fused_elementwise", "sum_blas", "softmax_xent", "pool_hits",
})

# elementwise ufuncs of the reference backend (candidates for fusion and in-place results)
ELEMENTWISE = frozenset({
    "negative", "abs", "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "tanh",
    "sign", "floor", "ceil", "trunc", "reciprocal",
    "add", "subtract", "multiply", "divide", "power", "maximum", "minimum",
})

# ops with effects beyond their result: never removed, merged or folded
EFFECT_OPS = frozenset({"host_call", "random_uniform", "random_normal", "random_integers",
                        "random_permutation", "empty"})


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        p = self.parent.get(x, x)
        if p == x:
            return x
        root = self.find(p)
        self.parent[x] = root
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb


def alias_groups(graph: Graph) -> UnionFind:
    """Values that may share memory end up in one group."""
    uf = UnionFind()
    for n in graph.nodes:
        if n.op in FRESH_OPS and n.op != "host_call":
            # out= results are their target; the target is an input already
            for m in n.mutates:
                for o in n.outputs:
                    uf.union(o, m)
            continue
        refs = n.refs()
        if n.op == "host_call":
            refs = refs + [vid for _, vid in n.extra.get("binds", ()) if vid is not None]
        for o in n.outputs:
            for r in refs:
                uf.union(o, r)
    return uf


def escaping(graph: Graph, groups: UnionFind | None = None) -> set[int]:
    """Group roots whose memory is visible outside one run of the program."""
    groups = groups or alias_groups(graph)
    roots = set()
    for vid, v in graph.values.items():
        if v.kind != "op":
            roots.add(groups.find(vid))
    for o in graph.outputs:
        roots.add(groups.find(o))
    for n in graph.nodes:
        if n.op == "host_call":
            for r in n.refs() + list(n.outputs):
                roots.add(groups.find(r))
            for _, vid in n.extra.get("binds", ()):
                if vid is not None:
                    roots.add(groups.find(vid))
    return roots


def mutable_roots(graph: Graph, groups: UnionFind | None = None) -> set[int]:
    """Group roots written in place by some node (or exposed to a host call)."""
    groups = groups or alias_groups(graph)
    roots = {groups.find(m) for n in graph.nodes for m in n.mutates}
    for n in graph.nodes:
        if n.op == "host_call":
            for r in n.refs():
                roots.add(groups.find(r))
            for _, vid in n.extra.get("binds", ()):
                if vid is not None:
                    roots.add(groups.find(vid))
    return roots


def use_counts(graph: Graph) -> dict[int, int]:
    counts: dict[int, int] = {}
    for n in graph.nodes:
        for r in n.refs():
            counts[r] = counts.get(r, 0) + 1
        if n.op == "host_call":
            for _, vid in n.extra.get("binds", ()):
                if vid is not None:
                    counts[vid] = counts.get(vid, 0) + 1
    for o in graph.outputs:
        counts[o] = counts.get(o, 0) + 1
    return counts


def replace_value(graph: Graph, old: int, new: int, start: int = 0) -> None:
    """Make every use of ``old`` (from node ``start`` on, and the outputs) read ``new``."""
    mapping = {old: new}
    for n in graph.nodes[start:]:
        n.replace_refs(mapping)
        if n.op == "host_call":
            n.extra["binds"] = [(t, new if vid == old else vid)
                                for t, vid in n.extra.get("binds", ())]
    graph.outputs = [new if o == old else o for o in graph.outputs]
