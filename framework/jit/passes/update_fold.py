"""Update folding: a plain SGD step on a gradient the program owns takes one pass per weight.

A traced ``opt.step()`` of plain SGD updates each parameter as ``p += g * (-lr)``: one pass
over the gradient to scale it, one to add it (and, for a weight, a pass writing the product
``g`` before). When ``g`` is the result of a matrix product (a weight's gradient,
``dY.T @ X``) or of a block sum (a bias's gradient, a ``sum_blas`` node) and nothing but
that update reads it — the step frees the gradients, so ``p.grad`` is never seen — the
update folds into the product or sum:

* ``p += matmul(A, B) * s`` becomes one ``matmul_add(p, A, B)`` node: on the NumPy backend
  a single BLAS ``gemm`` with ``alpha = s`` and ``beta = 1`` (:mod:`framework.jit.blas`),
  which adds the scaled product straight into ``p`` — no product array, no scaling pass,
  no second pass over the weight. Where no such BLAS is bound, for arrays it does not
  take, and for small weights (under :data:`GEMM_MIN` elements, where the call's overhead
  outweighs the passes saved) the kernel scales the smallest of ``A``, ``B`` and the
  product, multiplies and adds in place. The node sits where the product was when nothing
  in between touches ``p``, otherwise where the update was;
* ``p += sum_blas(x) * s`` scales the sum's vector of ones instead (free).

Rounding: ``s * (A @ B)`` accumulated by ``gemm`` into ``p`` and ``p + (A @ B) * s`` round
differently, so the updated parameters may differ from eager's in the last bits (about one
unit in the last place of the update) — the same kind of difference as BLAS blocking or
:mod:`framework.jit.passes.batch_fold` make. The gradient values themselves are never
changed where they are observable: a gradient bound to ``p.grad`` (no ``zero_grad``, or
``zero_grad(set_to_none=False)``) escapes the program or is read by more than the update,
and its update is left as traced. Momentum, weight decay and the other optimizers trace
other updates, which this pass does not match.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...backend import numpy_backend as _numpy_backend
from .. import blas as _blas
from ..analysis import alias_groups, escaping, use_counts
from ..ir import Graph, Node, Ref

OP = "matmul_add"
# below this many weight elements the passes gemm saves cost less than its call (ctypes
# argument conversion, layout and overlap checks: a few microseconds)
GEMM_MIN = 1 << 14


def run(graph: Graph) -> dict:
    groups = alias_groups(graph)
    esc = escaping(graph, groups)
    uses = use_counts(graph)
    producer: dict[int, int] = {}
    for i, n in enumerate(graph.nodes):
        if not n.mutates:
            for o in n.outputs:
                producer[o] = i
    owned = _owned(graph, groups, esc, uses)
    before: dict[int, list[Node]] = {}  # node index -> nodes placed before it
    drop: set[int] = set()
    products = sums = 0
    for i, n in enumerate(graph.nodes):
        m = _update(graph, n, owned, producer)
        if m is None:
            continue
        mi, scale, g = m
        gi = producer[g]
        src = graph.nodes[gi]
        if src.op == "matmul":
            # one node at the product (or, where the parameter is read in between, at the
            # update) adds the scaled product into the parameter
            fused = _matmul_add(graph, n, src, scale)
            at = gi if _untouched(graph, groups, n.args[0].id, gi, i) else i
            before.setdefault(at, []).append(fused)
            drop.update((gi, i))
            graph.values.pop(g, None)
            products += 1
        else:
            src.extra["scale"] = float(scale)
            sums += 1
            n.args = (n.args[0], Ref(g))  # the add reads the scaled sum
        drop.add(mi)
        graph.values.pop(graph.nodes[mi].outputs[0], None)
    if products or sums:
        nodes = []
        for i, n in enumerate(graph.nodes):
            nodes.extend(before.get(i, ()))
            if i not in drop:
                nodes.append(n)
        graph.nodes = nodes
    return {"products": products, "sums": sums}


def _owned(graph: Graph, groups, esc: set[int], uses: dict) -> set[int]:
    """Values read exactly once whose memory nobody outside one run of the program sees."""
    size: dict[int, int] = {}
    for vid in graph.values:
        r = groups.find(vid)
        size[r] = size.get(r, 0) + 1
    return {vid for vid in graph.values
            if uses.get(vid, 0) == 1 and groups.find(vid) not in esc
            and size[groups.find(vid)] == 1}


def _scalar(x: object) -> bool:
    return (isinstance(x, (int, float, np.floating)) and not isinstance(x, (bool, np.bool_))
            and np.isfinite(x))


def _update(graph: Graph, n: Node, owned: set[int], producer: dict) -> tuple | None:
    """``(index of the scaling node, scale, gradient)`` if ``n`` is ``add(p, g * s, out=p)``
    with ``g`` a matrix product or block sum read only by the scaling."""
    if (n.op != "add" or len(n.args) != 2 or set(n.kwargs) != {"out"}
            or not all(type(a) is Ref for a in n.args) or type(n.kwargs["out"]) is not Ref):
        return None
    p, u = n.args[0].id, n.args[1].id
    if n.kwargs["out"].id != p or n.mutates != [p] or u not in owned or u not in producer:
        return None
    mi = producer[u]
    m = graph.nodes[mi]
    if m.op != "multiply" or m.kwargs or len(m.args) != 2 or len(m.outputs) != 1:
        return None
    a, s = m.args
    if type(a) is not Ref or not _scalar(s):
        a, s = s, a
        if type(a) is not Ref or not _scalar(s):
            return None
    g = a.id
    if g not in owned or g not in producer:
        return None
    src = graph.nodes[producer[g]]
    vals = graph.values
    dt = np.dtype(vals[p].dtype)
    if (dt.kind != "f" or np.dtype(vals[g].dtype) != dt or np.dtype(vals[u].dtype) != dt
            or vals[g].shape != vals[u].shape or vals[u].shape != vals[p].shape):
        return None
    if src.op == "matmul":
        if src.kwargs or len(src.args) != 2 or not all(type(x) is Ref for x in src.args):
            return None
    elif src.op == "sum_blas":
        if "scale" in src.extra:
            return None
    else:
        return None
    return mi, s, g


def _untouched(graph: Graph, groups, p: int, start: int, end: int) -> bool:
    """Whether no node strictly between ``start`` and ``end`` reads or writes ``p``'s memory
    (so the update may move up to the product)."""
    root = groups.find(p)
    for n in graph.nodes[start + 1:end]:
        if n.op == "host_call":
            return False
        if any(groups.find(r) == root for r in n.refs() + list(n.outputs)):
            return False
    return True


def _matmul_add(graph: Graph, add: Node, mm: Node, scale: float) -> Node:
    """``matmul_add(p, A, B)``: ``p += scale * (A @ B)``; ``extra["fallback"]`` names what a
    backend without an accumulating product scales (the smallest of ``A``, ``B`` and the
    product, by the graph's shapes)."""
    vals = graph.values
    sizes = [_size(vals[a.id].shape) for a in mm.args] + [_size(vals[mm.outputs[0]].shape)]
    which = min(range(3), key=lambda k: (sizes[k] is None, sizes[k] or 0, k))
    p = add.args[0]
    return Node(OP, (p, mm.args[0], mm.args[1]), {}, [], [p.id], mm.scope,
                {"scale": float(scale), "fallback": ("left", "right", "product")[which]})


def _size(shape: tuple) -> int | None:
    return int(np.prod(shape)) if all(isinstance(d, int) for d in shape) else None


def build_kernel(node: Node, bk: Any) -> Any:
    """The callable of a ``matmul_add`` node: ``fn(p, a, b)`` adds ``scale * (a @ b)`` into
    ``p`` (one BLAS ``gemm`` on the NumPy backend where :mod:`framework.jit.blas` binds one;
    otherwise ``matmul``, ``multiply`` and ``add`` with the scale on the smallest array)."""
    e = node.extra
    try:
        scale = float(e["scale"])
        which = str(e["fallback"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("matmul_add: malformed node attributes") from None
    if not np.isfinite(scale) or which not in ("left", "right", "product"):
        raise ValueError("matmul_add: malformed node attributes")
    matmul, multiply, add = bk.matmul, bk.multiply, bk.add

    def matmul_add_reference(p: Any, a: Any, b: Any) -> None:
        if which == "left":
            prod = matmul(multiply(a, scale), b)
        elif which == "right":
            prod = matmul(a, multiply(b, scale))
        else:
            prod = multiply(matmul(a, b), scale)
        add(p, prod, out=p)

    gemm = _blas.gemm_update() if type(bk) is _numpy_backend.NumpyBackend else None
    if gemm is None:
        return matmul_add_reference

    def matmul_add(p: Any, a: Any, b: Any) -> None:
        if not (p.size >= GEMM_MIN and gemm(p, a, b, scale)):
            matmul_add_reference(p, a, b)

    return matmul_add
