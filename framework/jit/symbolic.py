"""Dynamic sizes: one graph for every batch size, found by tracing at several sizes.

A graph traced at one size holds that size in its attributes (``reshape(x, (64, 10))``) and
shapes. Tracing again at other sizes and comparing the graphs node by node shows which
integers move with a dynamic dimension; each is written as ``const + sum(coeff_k * S_k)`` (a
:class:`Sym`) over the dynamic sizes ``S_k``, or, when that does not fit and there are
traces enough, with products ``S_j * S_k`` too (``(B, S, D)`` folded to ``(B*S, D)``). The
fit uses some traces and is checked against another; anything else that differs (an op, a
float, a constant array) means the program is not polymorphic and :func:`merge` says why.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .ir import Graph, Ref, Sym


class NotPolymorphic(ValueError):
    """The traces at different sizes differ by more than their sizes."""


class NotEnoughTraces(NotPolymorphic):
    """The traces so far do not determine the size formulas (more traces may)."""


def _pairs(k: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(k) for j in range(i, k)]


def _fit(values: list, sizes: list[tuple], mode: str = "int", degree: int = 1) -> Sym:
    """Integers ``const, coeffs`` (and, with ``degree`` 2, coefficients of the products
    ``S_j * S_k``) with ``values[i]`` the formula's value at ``sizes[i]`` for every trace
    (least squares, rounded, then checked exactly by the caller: one more trace than
    unknowns makes the check meaningful)."""
    k = len(sizes[0])
    pairs = _pairs(k) if degree >= 2 else []
    a = np.array([(1, *s, *(s[i] * s[j] for i, j in pairs)) for s in sizes],
                 dtype=np.float64)
    b = np.array(values, dtype=np.float64)
    if len(sizes) < a.shape[1] + 1 or np.linalg.matrix_rank(a) < a.shape[1]:
        raise NotEnoughTraces("not enough traces at different sizes to fit the sizes")
    sol = np.rint(np.linalg.lstsq(a, b, rcond=None)[0]).astype(np.int64)
    products = tuple((int(c), ij) for c, ij in zip(sol[1 + k:], pairs, strict=True))
    return Sym(int(sol[0]), tuple(int(c) for c in sol[1:1 + k]), mode, products)


def _fit_exact(items: list, sizes: list[tuple], mode: str) -> Sym:
    """The linear formula if it fits every trace, else one with products of two sizes."""
    ints = items if mode == "int" else (
        [round(v) for v in items] if mode == "float" else
        [round(1.0 / v) if v else 0 for v in items])
    for degree in (1, 2):
        sym = _fit(ints, sizes, mode, degree)
        if all(sym.value(s) == v for v, s in zip(items, sizes, strict=True)):
            return sym
    raise NotPolymorphic(f"a size is not a polynomial of degree 2 in the dynamic dimensions "
                         f"that the traces determine ({items})")


def _merge_leaf(items: list, sizes: list, where: str) -> Any:
    first = items[0]
    if all(type(i) is type(first) for i in items):
        if isinstance(first, Ref):
            if any(i.id != first.id for i in items):
                raise NotPolymorphic(f"{where}: different values")
            return first
        if isinstance(first, (tuple, list)):
            if any(len(i) != len(first) for i in items):
                raise NotPolymorphic(f"{where}: different lengths")
            merged = [_merge_leaf([i[n] for i in items], sizes, where)
                      for n in range(len(first))]
            return type(first)(merged) if isinstance(first, list) else tuple(merged)
        if isinstance(first, dict):
            if any(set(i) != set(first) for i in items):
                raise NotPolymorphic(f"{where}: different keywords")
            return {k: _merge_leaf([i[k] for i in items], sizes, where) for k in first}
        if isinstance(first, (int, np.integer)) and not isinstance(first, (bool, np.bool_)):
            if all(i == first for i in items):
                return first
            return _fit_exact([int(i) for i in items], sizes, "int")
        if isinstance(first, float):
            if all(i == first or (i != i and first != first) for i in items):
                return first
            for mode in ("float", "inv"):
                try:
                    return _fit_exact(items, sizes, mode)
                except (NotPolymorphic, ValueError, OverflowError, ZeroDivisionError):
                    pass
            raise NotPolymorphic(f"{where}: a float attribute changes with the size "
                                 f"({items[0]!r} vs {items[1]!r})")
    try:
        same = all(i == first for i in items)
    except Exception:  # noqa: BLE001 - incomparable objects are different
        same = False
    if not same:
        raise NotPolymorphic(f"{where}: attributes differ ({items[0]!r} vs {items[1]!r})")
    return first


def merge(graphs: list[Graph], sizes: list[tuple]) -> Graph:
    """One symbolic graph from traces of the same program at ``sizes`` (see module docs)."""
    g0 = graphs[0]
    for g in graphs[1:]:
        if len(g.nodes) != len(g0.nodes) or set(g.values) != set(g0.values):
            raise NotPolymorphic("the traces at different sizes have different ops")
        if g.inputs != g0.inputs or g.outputs != g0.outputs or g.state != g0.state:
            raise NotPolymorphic("the traces at different sizes have different signatures")
    out = g0.copy()
    for vid, v in out.values.items():
        shapes = [g.values[vid].shape for g in graphs]
        if any(len(s) != len(v.shape) for s in shapes):
            raise NotPolymorphic(f"value %{vid} changes rank with the size")
        v.shape = tuple(_merge_leaf([s[d] for s in shapes], sizes, f"%{vid}")
                        for d in range(len(v.shape)))
        for g in graphs:
            if g.values[vid].dtype != v.dtype:
                raise NotPolymorphic(f"value %{vid} changes dtype with the size")
    for vid, arr in g0.consts.items():
        for g in graphs[1:]:
            other = g.consts.get(vid)
            if other is None or other.shape != arr.shape or not np.array_equal(other, arr,
                                                                                 equal_nan=True):
                raise NotPolymorphic(f"constant %{vid} depends on the size")
    for i, n in enumerate(out.nodes):
        nodes = [g.nodes[i] for g in graphs]
        where = f"node {i} ({n.op})"
        if any(m.op != n.op or m.outputs != n.outputs or m.mutates != n.mutates
               for m in nodes):
            raise NotPolymorphic(f"{where}: the traces differ")
        if n.op == "host_call":
            for m in nodes[1:]:
                same_binds = [(id(t), v) for t, v in m.extra["binds"]] == [
                    (id(t), v) for t, v in n.extra["binds"]]
                if m.extra["fn"] != n.extra["fn"] or not same_binds:
                    raise NotPolymorphic(f"{where}: the host calls differ")
        n.args = _merge_leaf([m.args for m in nodes], sizes, where)
        n.kwargs = _merge_leaf([m.kwargs for m in nodes], sizes, where)
    return out


def merge_checks(traces: list[list], sizes: list[tuple]) -> list:
    """The Python conditions on sizes recorded by traces at ``sizes``
    (:mod:`framework.jit.sizes`), each operand fitted like a graph integer: the same
    conditions in the same order with the same answers, else the sizes are not dynamic."""
    from .sizes import Check

    first = traces[0]
    if any(len(t) != len(first) for t in traces):
        raise NotPolymorphic("the Python code compares sizes a different number of times "
                             "at different sizes")
    merged = []
    for n, check in enumerate(first):
        column = [t[n] for t in traces]
        if any(c.op != check.op or c.result != check.result for c in column):
            raise NotPolymorphic(f"a Python condition on a size ({describe_check(check)}) "
                                 "answers differently at different sizes")
        lhs = _merge_leaf([c.lhs for c in column], sizes, describe_check(check))
        if check.op == "escape" and isinstance(lhs, Sym):
            raise NotPolymorphic("the Python code reads a dynamic size as a plain number "
                                 "(len(x), int(n) or float(n)); use x.shape[0], whose "
                                 "conditions static programs check")
        rhs = _merge_leaf([c.rhs for c in column], sizes, describe_check(check))
        merged.append(Check(check.op, lhs, rhs, check.result))
    return merged


def failed_check(checks: list, sizes: tuple) -> tuple[Any, str] | None:
    """The first of the merged ``checks`` that answers otherwise at ``sizes`` than in the
    traces, with the condition at those sizes in words; ``None`` when all answer alike."""
    from .sizes import Check, evaluate

    for c in checks:
        lhs, rhs = _concrete(c.lhs, sizes), _concrete(c.rhs, sizes)
        try:
            same = evaluate(c.op, lhs, rhs) == c.result
        except (ArithmeticError, ValueError):
            same = False
        if not same:
            return c, describe_check(Check(c.op, lhs, rhs, c.result))
    return None


def describe_check(check: Any) -> str:
    if check.op == "bool":
        return f"bool({check.lhs})"
    return f"{check.lhs} {check.op} {check.rhs}"


def merge_results(templates: list, sizes: list[tuple]) -> Any:
    """One result structure from the traces' result templates: the same outputs in the same
    places, and each Python number either the same in every trace or a formula of the sizes
    (``return loss, x.shape[0]``)."""
    from .tracer import OutItem, OutTensor

    first = templates[0]
    if isinstance(first, (OutTensor, OutItem)):
        if any(type(t) is not type(first) or t.id != first.id for t in templates):
            raise NotPolymorphic("the traces at different sizes return different results")
        return first
    if isinstance(first, (tuple, list)):
        if any(type(t) is not type(first) or len(t) != len(first) for t in templates):
            raise NotPolymorphic("the traces at different sizes return different results")
        items = [merge_results([t[i] for t in templates], sizes) for i in range(len(first))]
        if isinstance(first, tuple) and hasattr(first, "_fields"):
            return type(first)(*items)
        return type(first)(items)
    if isinstance(first, dict):
        if any(type(t) is not dict or list(t) != list(first) for t in templates):
            raise NotPolymorphic("the traces at different sizes return different results")
        return {k: merge_results([t[k] for t in templates], sizes) for k in first}
    return _merge_leaf(list(templates), sizes, "a returned Python number")


def dynamic_dims(specs: list) -> list[tuple[int, int]]:
    """(input index, dimension) of every ``None`` dim of the input specs ``specs``."""
    return [(i, d) for i, s in enumerate(specs) for d, n in enumerate(s.shape) if n is None]


def _concrete(obj: Any, sizes: tuple) -> Any:
    if isinstance(obj, Sym):
        return obj.value(sizes)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_concrete(o, sizes) for o in obj))
    if isinstance(obj, tuple):
        return tuple(_concrete(o, sizes) for o in obj)
    if isinstance(obj, list):
        return [_concrete(o, sizes) for o in obj]
    if isinstance(obj, dict):
        return {k: _concrete(v, sizes) for k, v in obj.items()}
    return obj


def is_symbolic(graph: Graph) -> bool:
    return any(isinstance(d, Sym) for v in graph.values.values() for d in v.shape)


def instantiate(graph: Graph, sizes: tuple) -> Graph:
    """A concrete copy of a symbolic graph for the dynamic sizes ``sizes``."""
    g = graph.copy()
    for v in g.values.values():
        v.shape = tuple(_concrete(d, sizes) for d in v.shape)
        if any(d < 0 for d in v.shape):
            raise ValueError(f"sizes {sizes} give value %{v.id} a negative dimension")
    for n in g.nodes:
        n.args = _concrete(n.args, sizes)
        n.kwargs = _concrete(n.kwargs, sizes)
    return g


def sizes_of(spec_dims: list[tuple[int, int]], shapes: list[tuple]) -> tuple:
    """The dynamic sizes from input shapes: ``spec_dims`` lists (input index, dimension)."""
    return tuple(shapes[i][d] for i, d in spec_dims)
