"""Sums over a block of axes become matrix-vector products (``sum_blas`` kernels).

Bias gradients (a sum over the batch and sequence axes), layer norm's row sums and the
softmax gradient's row sums are reductions of a contiguous array over its leading or its
trailing axes. Viewed as a 2-D ``(rows, cols)`` array, such a sum is ``ones @ x`` or
``x @ ones``: a BLAS matrix-vector product, several times faster than NumPy's reduction
loop over short rows or down long columns. The kernel checks at run time that its input is a
contiguous NumPy array (so the 2-D view is free) and otherwise runs the plain ``sum``.

The sums are the same up to float rounding order (BLAS accumulates in another order than
NumPy's pairwise sum), as with any BLAS product.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...backend import numpy_backend as _numpy_backend
from ..ir import Graph, Node, Ref

MIN_REDUCED = 32  # shorter sums gain nothing
OP = "sum_blas"


def run(graph: Graph) -> dict:
    rewritten = 0
    for i, n in enumerate(graph.nodes):
        spec = _spec(graph, n)
        if spec is None:
            continue
        lead, rows, cols, axis, keepdims = spec
        out = graph.values[n.outputs[0]]
        graph.nodes[i] = Node(OP, (n.args[0],), {}, list(n.outputs), [], n.scope,
                              {"lead": lead, "rows": rows, "cols": cols,
                               "shape": list(out.shape), "axis": list(axis),
                               "keepdims": keepdims})
        rewritten += 1
    return {"rewritten": rewritten}


def _spec(graph: Graph, n: Node) -> tuple | None:
    if (n.op != "sum" or n.mutates or len(n.outputs) != 1 or len(n.args) != 1
            or type(n.args[0]) is not Ref or set(n.kwargs) - {"axis", "keepdims", "dtype"}
            or n.kwargs.get("dtype") is not None):
        return None
    x = graph.values[n.args[0].id]
    out = graph.values[n.outputs[0]]
    if not all(isinstance(d, int) for d in x.shape + out.shape):
        return None
    if np.dtype(x.dtype) not in (np.float32, np.float64) or out.dtype != x.dtype:
        return None
    nd = len(x.shape)
    axis = n.kwargs.get("axis")
    if axis is None or nd < 2:
        return None
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if not axes or not all(isinstance(a, int) for a in axes):
        return None
    axes = tuple(sorted(a % nd for a in axes))
    if len(set(axes)) != len(axes) or len(axes) == nd:
        return None
    if axes == tuple(range(len(axes))):
        lead = True
    elif axes == tuple(range(nd - len(axes), nd)):
        lead = False
    else:
        return None
    rows = int(np.prod([x.shape[a] for a in axes]))
    cols = int(np.prod(x.shape)) // rows if rows else 0
    if rows < MIN_REDUCED or cols < 1:
        return None
    return lead, rows, cols, axes, bool(n.kwargs.get("keepdims", False))


def build_kernel(node: Node, bk: Any) -> Any:
    """The callable of a ``sum_blas`` node: ``fn(x)``."""
    e = node.extra
    try:
        lead, rows, cols = bool(e["lead"]), int(e["rows"]), int(e["cols"])
        shape = tuple(int(d) for d in e["shape"])
        axis = tuple(int(a) for a in e["axis"])
        keepdims = bool(e["keepdims"])
        scale = e.get("scale")
        scale = None if scale is None else float(scale)
    except (KeyError, TypeError, ValueError):
        raise ValueError("sum_blas: malformed node attributes") from None
    if rows < 1 or cols < 1 or any(d < 0 for d in shape) or (
            scale is not None and not np.isfinite(scale)):
        raise ValueError("sum_blas: malformed node attributes")
    plain_sum = bk.sum
    if scale is not None:
        # a sum scaled by update folding (framework.jit.passes.update_fold): the factor
        # rides in the vector of ones; the plain path scales the sum
        unscaled, multiply = plain_sum, bk.multiply

        def plain_sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
            return multiply(unscaled(x, axis=axis, keepdims=keepdims), scale)
    if type(bk) is not _numpy_backend.NumpyBackend:
        def sum_reference(x: Any) -> Any:
            return plain_sum(x, axis=axis, keepdims=keepdims)
        return sum_reference
    ones: dict = {}
    matmul = np.matmul
    fill = 1.0 if scale is None else scale

    def sum_blas(x: Any) -> Any:
        if not (x.flags.c_contiguous and x.size == rows * cols and x.dtype.kind == "f"):
            return plain_sum(x, axis=axis, keepdims=keepdims)
        v = ones.get(x.dtype)
        if v is None:
            v = ones[x.dtype] = np.full(rows, fill, x.dtype)
        if lead:
            return matmul(v, x.reshape(rows, cols)).reshape(shape)
        return matmul(x.reshape(cols, rows), v).reshape(shape)

    return sum_blas
