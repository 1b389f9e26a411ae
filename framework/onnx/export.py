"""``fw.onnx.export``: a traced program written as an ONNX model (opset 17).

The module's forward is traced like ``fw.jit.save`` does (inference, no gradients); every
node of the graph is mapped to ONNX nodes by :data:`_MAPPERS`, keyed by primitive name.
Convolutions traced as ``im2col`` + ``matmul`` become one ``Conv``; the rest map one to one
or to a short sequence. A primitive without a mapping raises :class:`OnnxExportError`
naming it and the layer it came from.
"""

from __future__ import annotations

import math
import os
import tempfile
from typing import Any

import numpy as np

OPSET = 17


class OnnxExportError(ValueError):
    """The program uses something that has no ONNX equivalent here."""


def _onnx():
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:  # pragma: no cover - the onnx extra
        raise ImportError("fw.onnx.export needs the onnx extra: pip install 'skiff[onnx]'") \
            from None
    return onnx, TensorProto, helper, numpy_helper


class _Builder:
    def __init__(self, graph: Any) -> None:
        self.onnx, self.TP, self.helper, self.nph = _onnx()
        self.graph = graph
        self.nodes: list = []
        self.inits: list = []
        self.names: dict[int, str] = {}
        self.counter = 0
        self.node_index = 0
        self.scope: str | None = None
        self.dynamic: list[tuple[str, int]] = []  # (input name, axis) of each dynamic size
        self._sizes: dict[int, str] = {}

    def fresh(self, hint: str = "t") -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def name(self, vid: int) -> str:
        if vid not in self.names:
            self.names[vid] = f"v{vid}"
        return self.names[vid]

    def const(self, value: Any, dtype: Any) -> str:
        arr = np.asarray(value, dtype=dtype)
        n = self.fresh("c")
        self.inits.append(self.nph.from_array(arr, n))
        return n

    def ints(self, values: Any) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64), np.int64)

    def add(self, op: str, inputs: list, outputs: list | None = None, **attrs: Any) -> str:
        outputs = outputs or [self.fresh(op.lower())]
        name = f"{self.scope or 'graph'}/{op}_{self.counter}"
        self.counter += 1
        self.nodes.append(self.helper.make_node(op, inputs, outputs, name=name, **attrs))
        return outputs[0]

    def dtype_of(self, vid: int) -> np.dtype:
        return np.dtype(self.graph.values[vid].dtype)

    def shape_of(self, vid: int) -> tuple:
        return self.graph.values[vid].shape

    def size(self, k: int) -> str:
        """A 1-element int64 tensor: the ``k``-th dynamic size, read from its input's shape."""
        if k not in self._sizes:
            name, axis = self.dynamic[k]
            self._sizes[k] = self.add("Shape", [name], start=axis, end=axis + 1)
        return self._sizes[k]

    def formula(self, sym: Any) -> str:
        """A 1-element int64 tensor with the value of a size formula at run time."""
        terms = [(c, (k,)) for k, c in enumerate(sym.coeffs) if c] + list(sym.products)
        acc = None
        for c, ks in terms:
            t = self.size(ks[0])
            for k in ks[1:]:
                t = self.add("Mul", [t, self.size(k)])
            if c != 1:
                t = self.add("Mul", [t, self.ints([c])])
            acc = t if acc is None else self.add("Add", [acc, t])
        if acc is None:
            return self.ints([sym.const])
        return self.add("Add", [acc, self.ints([sym.const])]) if sym.const else acc

    def fail(self, op: str, why: str = "") -> None:
        where = f" (in layer {self.scope!r})" if self.scope else ""
        raise OnnxExportError(f"primitive {op!r}{where} has no ONNX mapping"
                              + (f": {why}" if why else ""))


def _is_sym(x: Any) -> bool:
    from ..jit.ir import Sym

    return isinstance(x, Sym)


def _operand(b: _Builder, a: Any, dtype: Any) -> str:
    from ..jit.ir import Ref

    if isinstance(a, Ref):
        return b.name(a.id)
    if _is_sym(a):  # a size-dependent scalar (a mean's divisor): computed from the shapes
        value = b.add("Cast", [b.formula(a)], to=b.helper.np_dtype_to_tensor_dtype(
            np.dtype(dtype)))
        if a.mode == "inv":
            value = b.add("Reciprocal", [value])
        return b.add("Reshape", [value, b.const(np.zeros(0, np.int64), np.int64)])
    return b.const(a, dtype)


_UNARY = {"negative": "Neg", "abs": "Abs", "exp": "Exp", "log": "Log", "sqrt": "Sqrt",
          "sin": "Sin", "cos": "Cos", "tan": "Tan", "tanh": "Tanh", "erf": "Erf",
          "sign": "Sign", "floor": "Floor", "ceil": "Ceil", "reciprocal": "Reciprocal",
          "logical_not": "Not", "isnan": "IsNaN", "isinf": "IsInf", "copy": "Identity",
          "to_numpy": "Identity", "from_numpy": "Identity"}
_BINARY = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div",
           "power": "Pow", "maximum": "Max", "minimum": "Min", "equal": "Equal",
           "less": "Less", "less_equal": "LessOrEqual", "greater": "Greater",
           "greater_equal": "GreaterOrEqual", "logical_and": "And", "logical_or": "Or",
           "logical_xor": "Xor", "fmod": "Mod"}


def _map_node(b: _Builder, n: Any) -> None:
    from ..jit.ir import Ref

    op = n.op
    out = b.name(n.outputs[0]) if n.outputs else None
    args, kw = n.args, n.kwargs
    if n.mutates:
        # x += y written into a fresh result (Linear's bias add): a plain op on the value
        if op in _BINARY and "out" in kw and isinstance(kw["out"], Ref):
            target = kw["out"].id
            dt = b.dtype_of(target)
            new = b.add(_BINARY[op], [_operand(b, args[0], dt), _operand(b, args[1], dt)])
            b.names[target] = new
            return
        b.fail(op, "in-place writes cannot be exported")
    if op in _UNARY:
        b.add(_UNARY[op], [b.name(args[0].id)], [out])
    elif op == "log1p":
        one = b.const(1, b.dtype_of(args[0].id))
        b.add("Log", [b.add("Add", [b.name(args[0].id), one])], [out])
    elif op == "expm1":
        one = b.const(1, b.dtype_of(args[0].id))
        b.add("Sub", [b.add("Exp", [b.name(args[0].id)]), one], [out])
    elif op in _BINARY:
        dt = next((b.dtype_of(a.id) for a in args if isinstance(a, Ref)),
                  b.dtype_of(n.outputs[0]))
        o = _BINARY[op]
        attrs = {"fmod": 1} if op == "fmod" else {}
        b.add(o, [_operand(b, args[0], dt), _operand(b, args[1], dt)], [out], **attrs)
    elif op == "not_equal":
        dt = next(b.dtype_of(a.id) for a in args if isinstance(a, Ref))
        e = b.add("Equal", [_operand(b, args[0], dt), _operand(b, args[1], dt)])
        b.add("Not", [e], [out])
    elif op == "where":
        dt = b.dtype_of(n.outputs[0])
        b.add("Where", [_operand(b, args[0], np.bool_), _operand(b, args[1], dt),
                        _operand(b, args[2], dt)], [out])
    elif op == "clip":
        dt = b.dtype_of(n.outputs[0])
        lo = "" if args[1] is None else _operand(b, args[1], dt)
        hi = "" if len(args) < 3 or args[2] is None else _operand(b, args[2], dt)
        b.add("Clip", [b.name(args[0].id), lo, hi], [out])
    elif op in ("astype", "asarray"):
        dt = args[1] if len(args) > 1 else kw.get("dtype")
        if not isinstance(args[0], Ref):
            if not _is_sym(args[0]) and not isinstance(args[0], (int, float, bool)):
                b.fail(op, "a non-numeric constant")
            value = _operand(b, args[0], dt if dt is not None else b.dtype_of(n.outputs[0]))
            b.add("Identity", [value], [out])
            return
        src = b.name(args[0].id)
        if dt is None or np.dtype(dt) == b.dtype_of(args[0].id):
            b.add("Identity", [src], [out])
        else:
            b.add("Cast", [src], [out], to=b.helper.np_dtype_to_tensor_dtype(np.dtype(dt)))
    elif op in ("sum", "max", "min", "prod", "all", "any"):
        _reduce(b, n, out)
    elif op in ("argmax", "argmin"):
        axis = args[1] if len(args) > 1 else kw.get("axis")
        keep = kw.get("keepdims", False)
        if axis is None:
            b.fail(op, "over all elements")
        b.add("ArgMax" if op == "argmax" else "ArgMin", [b.name(args[0].id)], [out],
              axis=int(axis), keepdims=int(bool(keep)))
    elif op == "cumsum":
        axis = args[1] if len(args) > 1 else kw.get("axis")
        b.add("CumSum", [b.name(args[0].id), b.const(int(axis), np.int64)], [out])
    elif op == "matmul":
        b.add("MatMul", [b.name(args[0].id), b.name(args[1].id)], [out])
    elif op == "einsum":
        b.add("Einsum", [b.name(a.id) for a in args[1:]], [out], equation=args[0])
    elif op == "reshape":
        b.add("Reshape", [b.name(args[0].id), _reshape_target(b, n)], [out])
    elif op == "transpose":
        perm = args[1] if len(args) > 1 else kw.get("axes")
        if perm is None:
            perm = tuple(range(len(b.shape_of(args[0].id))))[::-1]
        b.add("Transpose", [b.name(args[0].id)], [out], perm=[int(p) for p in perm])
    elif op == "broadcast_to":
        src, tgt = b.shape_of(args[0].id), tuple(args[1])
        lead = len(tgt) - len(src)
        shape = []
        for i, d in enumerate(tgt):
            s = src[i - lead] if i >= lead else 1
            if _is_sym(d):
                if s != d:
                    b.fail(op, "broadcasting to a dynamic size")
                shape.append(1)
            else:
                shape.append(int(d))
        b.add("Expand", [b.name(args[0].id), b.ints(shape)], [out])
    elif op == "expand_dims":
        axis = args[1]
        axes = [axis] if isinstance(axis, int) else list(axis)
        b.add("Unsqueeze", [b.name(args[0].id), b.ints(axes)], [out])
    elif op == "squeeze":
        axis = args[1] if len(args) > 1 else kw.get("axis")
        ins = [b.name(args[0].id)]
        if axis is not None:
            ins.append(b.ints([axis] if isinstance(axis, int) else list(axis)))
        b.add("Squeeze", ins, [out])
    elif op in ("concatenate", "stack"):
        parts = [b.name(a.id) for a in args[0]]
        axis = args[1] if len(args) > 1 else kw.get("axis", 0)
        if op == "stack":
            parts = [b.add("Unsqueeze", [p, b.ints([axis])]) for p in parts]
        b.add("Concat", parts, [out], axis=int(axis))
    elif op == "getitem":
        _getitem(b, n, out)
    elif op == "take":
        axis = args[2] if len(args) > 2 else kw.get("axis")
        if axis is None:
            b.fail(op, "over the flattened array")
        b.add("Gather", [b.name(args[0].id), b.name(args[1].id)], [out], axis=int(axis))
    elif op == "take_along_axis":
        axis = args[2] if len(args) > 2 else kw.get("axis")
        b.add("GatherElements", [b.name(args[0].id), b.name(args[1].id)], [out],
              axis=int(axis))
    elif op in ("tril", "triu"):
        k = args[1] if len(args) > 1 else kw.get("k", 0)
        b.add("Trilu", [b.name(args[0].id), b.const(int(k), np.int64)], [out],
              upper=int(op == "triu"))
    elif op == "pad":
        _pad(b, n, out)
    elif op in ("softmax", "log_softmax"):
        axis = args[1] if len(args) > 1 else kw.get("axis", -1)
        b.add("Softmax" if op == "softmax" else "LogSoftmax", [b.name(args[0].id)], [out],
              axis=int(axis))
    elif op == "gelu":
        x = b.name(args[0].id)
        dt = b.dtype_of(args[0].id)
        e = b.add("Erf", [b.add("Mul", [x, b.const(1 / math.sqrt(2), dt)])])
        h = b.add("Mul", [b.add("Add", [e, b.const(1, dt)]), b.const(0.5, dt)])
        b.add("Mul", [x, h], [out])
    elif op == "layer_norm":
        _layer_norm(b, n, out)
    elif op == "conv2d":
        _conv(b, n, out, args[0], args[1], args[2] if len(args) > 2 else kw.get("bias"),
              *(list(args[3:6]) + [None] * 3)[:3], kw)
    elif op == "attention":
        _attention(b, n, out)
    else:
        b.fail(op)


def _reduce(b: _Builder, n: Any, out: str) -> None:
    op, args, kw = n.op, n.args, n.kwargs
    axis = args[1] if len(args) > 1 else kw.get("axis")
    keep = int(bool(args[2] if len(args) > 2 else kw.get("keepdims", False)))
    x = b.name(args[0].id)
    rank = len(b.shape_of(args[0].id))
    axes = list(range(rank)) if axis is None else (
        [axis] if isinstance(axis, int) else list(axis))
    dt = kw.get("dtype")
    if dt is not None and np.dtype(dt) != b.dtype_of(args[0].id):
        x = b.add("Cast", [x], to=b.helper.np_dtype_to_tensor_dtype(np.dtype(dt)))
    if op in ("all", "any"):
        x = b.add("Cast", [x], to=b.TP.INT64)
        red = b.add("ReduceMin" if op == "all" else "ReduceMax", [x], axes=axes,
                    keepdims=keep)
        b.add("Cast", [red], [out], to=b.TP.BOOL)
        return
    if op == "sum":
        b.add("ReduceSum", [x, b.ints(axes)], [out], keepdims=keep)
    else:
        onnx_op = {"max": "ReduceMax", "min": "ReduceMin", "prod": "ReduceProd"}[op]
        b.add(onnx_op, [x], [out], axes=axes, keepdims=keep)


def _reshape_target(b: _Builder, n: Any) -> str:
    """The target shape: a constant where at most one size is dynamic (written as -1),
    else computed from the input shapes."""
    target = n.args[1] if len(n.args) > 1 else n.kwargs.get("shape")
    target = [target] if isinstance(target, int) or _is_sym(target) else list(target)
    if 0 in target:
        b.fail("reshape", "reshaping to an empty dimension")
    dynamic = [i for i, d in enumerate(target) if _is_sym(d)]
    if len(dynamic) <= 1 and not (dynamic and -1 in target):
        return b.ints([-1 if _is_sym(d) else int(d) for d in target])
    parts = [b.formula(d) if _is_sym(d) else b.ints([int(d)]) for d in target]
    return b.add("Concat", parts, axis=0)


def _getitem(b: _Builder, n: Any, out: str) -> None:
    from ..jit.ir import Ref

    x, index = n.args[0], n.args[1]
    shape = b.shape_of(x.id)
    if isinstance(index, Ref):
        if b.dtype_of(index.id).kind not in "iu":
            b.fail("getitem", "boolean masks")
        b.add("Gather", [b.name(x.id), b.name(index.id)], [out], axis=0)
        return
    index = index if isinstance(index, tuple) else (index,)
    if any(isinstance(i, (Ref, list)) for i in index):
        b.fail("getitem", "advanced (array) indexing with several arrays")
    n_real = sum(1 for i in index if i is not None and i is not Ellipsis)
    expanded = []
    for i in index:
        if i is Ellipsis:
            expanded.extend([slice(None)] * (len(shape) - n_real))
        else:
            expanded.append(i)
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    dim = 0
    pos = 0
    for i in expanded:
        if i is None:
            unsqueeze.append(pos)
            pos += 1
            continue
        size = shape[dim] if dim < len(shape) else None
        if isinstance(i, int):
            starts.append(i)
            ends.append(i + 1 if i != -1 else np.iinfo(np.int64).max)
            axes.append(dim)
            steps.append(1)
            squeeze.append(dim)
        else:
            start, stop, step = i.start, i.stop, i.step
            step = 1 if step is None else step
            big = np.iinfo(np.int64).max
            if _is_sym(start) or _is_sym(stop):
                if stop == size and (start in (None, 0)):
                    start, stop = 0, big
                else:
                    b.fail("getitem", "slicing at a dynamic position")
            if not (start in (None, 0) and stop in (None, size, big) and step == 1):
                starts.append(0 if start is None else (big if step < 0 else 0)
                              if start is None else start)
                ends.append((big if step > 0 else -big) if stop is None else stop)
                axes.append(dim)
                steps.append(step)
            pos += 1
        dim += 1
    cur = b.name(x.id)
    if axes:
        cur = b.add("Slice", [cur, b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)])
    if squeeze:
        cur = b.add("Squeeze", [cur, b.ints(squeeze)])
    if unsqueeze:
        cur = b.add("Unsqueeze", [cur, b.ints(unsqueeze)])
    b.add("Identity", [cur], [out])


def _pad(b: _Builder, n: Any, out: str) -> None:
    width = n.args[1] if len(n.args) > 1 else n.kwargs.get("pad_width")
    mode = n.args[2] if len(n.args) > 2 else n.kwargs.get("mode", "constant")
    value = n.kwargs.get("constant_values", 0)
    if mode != "constant" or not isinstance(value, (int, float)):
        b.fail("pad", f"mode {mode!r}")
    rank = len(b.shape_of(n.args[0].id))
    width = [tuple(w) for w in width] if not isinstance(width, int) else [(width, width)] * rank
    pads = [int(w[0]) for w in width] + [int(w[1]) for w in width]
    dt = b.dtype_of(n.args[0].id)
    b.add("Pad", [b.name(n.args[0].id), b.ints(pads), b.const(value, dt)], [out],
          mode="constant")


def _layer_norm(b: _Builder, n: Any, out: str) -> None:
    from ..jit.ir import Ref

    x = n.args[0]
    w = n.args[1] if len(n.args) > 1 else n.kwargs.get("weight")
    bias = n.args[2] if len(n.args) > 2 else n.kwargs.get("bias")
    eps = n.args[3] if len(n.args) > 3 else n.kwargs.get("eps", 1e-5)
    dt = b.dtype_of(x.id)
    width = b.shape_of(x.id)[-1]
    ins = [b.name(x.id),
           b.name(w.id) if isinstance(w, Ref) else b.const(np.ones(width), dt),
           b.name(bias.id) if isinstance(bias, Ref) else b.const(np.zeros(width), dt)]
    b.add("LayerNormalization", ins, [out], axis=-1, epsilon=float(eps))


def _conv(b: _Builder, n: Any, out: str, x: Any, w: Any, bias: Any, stride: Any,
          padding: Any, dilation: Any, kw: dict) -> None:
    from ..jit.ir import Ref

    stride = _pair(stride if stride is not None else kw.get("stride", 1))
    padding = _pair(padding if padding is not None else kw.get("padding", 0))
    dilation = _pair(dilation if dilation is not None else kw.get("dilation", 1))
    ins = [b.name(x.id), b.name(w.id)]
    if isinstance(bias, Ref):
        ins.append(b.name(bias.id))
    b.add("Conv", ins, [out], strides=list(stride), dilations=list(dilation),
          pads=[padding[0], padding[1], padding[0], padding[1]],
          group=int(kw.get("groups", 1)))


def _pair(v: Any) -> tuple:
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else tuple(int(i) for i in v)


def _attention(b: _Builder, n: Any, out: str) -> None:
    from ..jit.ir import Ref

    q, k, v = n.args[:3]
    mask = n.args[3] if len(n.args) > 3 else n.kwargs.get("mask")
    scale = n.args[4] if len(n.args) > 4 else n.kwargs.get("scale")
    dt = b.dtype_of(q.id)
    if scale is None:
        scale = 1.0 / math.sqrt(b.shape_of(q.id)[-1])
    rank = len(b.shape_of(k.id))
    perm = list(range(rank - 2)) + [rank - 1, rank - 2]
    kt = b.add("Transpose", [b.name(k.id)], perm=perm)
    s = b.add("Mul", [b.add("MatMul", [b.name(q.id), kt]), b.const(scale, dt)])
    if isinstance(mask, Ref):
        if b.dtype_of(mask.id) == np.bool_:
            s = b.add("Where", [b.name(mask.id), s, b.const(-np.inf, dt)])
        else:
            s = b.add("Add", [s, b.name(mask.id)])
    p = b.add("Softmax", [s], axis=-1)
    b.add("MatMul", [p, b.name(v.id)], [out])


def _fold_convolutions(graph: Any) -> None:
    """``matmul(reshape(W), im2col(x)) -> reshape`` (how Conv2d traces) becomes ``conv2d``."""
    from ..jit.analysis import use_counts
    from ..jit.ir import Node, Ref

    producer = {o: n for n in graph.nodes for o in n.outputs}
    uses = use_counts(graph)
    replace: dict[int, Node] = {}
    drop: set[int] = set()
    for n in graph.nodes:
        if n.op != "matmul" or len(n.args) != 2 or not all(isinstance(a, Ref) for a in n.args):
            continue
        wmat, cols = (producer.get(a.id) for a in n.args)
        groups, split = 1, None
        if cols is not None and cols.op == "reshape" and isinstance(cols.args[0], Ref) \
                and uses.get(cols.outputs[0]) == 1:
            # a grouped convolution: (g, oc/g, K) @ reshape(im2col(x), (N, g, K, L))
            split, cols = cols, producer.get(cols.args[0].id)
            groups = graph.values[split.outputs[0]].shape[1] \
                if len(graph.values[split.outputs[0]].shape) == 4 else 0
        if cols is None or cols.op != "im2col" or wmat is None or wmat.op != "reshape":
            continue
        w = wmat.args[0]
        if len(graph.values[w.id].shape) != 4 or uses.get(cols.outputs[0]) != 1:
            continue
        if split is not None and (not isinstance(groups, int) or groups < 1 or tuple(
                graph.values[wmat.outputs[0]].shape)[:1] != (groups,)):
            continue
        consumers = [m for m in graph.nodes if n.outputs[0] in m.refs()]
        if len(consumers) != 1 or consumers[0].op != "reshape" or uses.get(n.outputs[0]) != 1:
            continue
        back = consumers[0]
        ca = list(cols.args) + [None] * 6
        conv = Node("conv2d", (cols.args[0], w, None, ca[3] or (1, 1), ca[4] or (0, 0),
                               ca[5] or (1, 1)), {"groups": groups}, list(back.outputs), [],
                    back.scope)
        replace[id(back)] = conv
        drop.update({id(n), id(cols)} | ({id(split)} if split is not None else set()))
    graph.nodes = [replace.get(id(m), m) for m in graph.nodes if id(m) not in drop]


def export(module: Any, example_inputs: Any, path: str, dynamic_axes: Any = None,
           input_names: Any = None, output_names: Any = None) -> Any:
    """Write ``module`` (traced on ``example_inputs``) as an ONNX model to ``path``.

    ``dynamic_axes`` maps an input's name (``"input0"``, ... or ``input_names``) or position
    to the axes that may change size, e.g. ``{"input0": [0]}`` for a dynamic batch. Returns
    the ``onnx.ModelProto``.

    >>> import framework as fw, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "linear.onnx")
    >>> _ = fw.onnx.export(fw.nn.Linear(4, 2), (fw.randn(1, 4),), path)
    """
    from ..jit import passes
    from ..jit.ir import Sym
    from ..jit.serialize import _specs, _trace_for_inference
    from ..jit.static import InputSpec, StaticFunction
    from ..jit.symbolic import NotPolymorphic, describe_check, merge, merge_checks
    from ..nn.module import Module
    from ..tensor import Tensor

    onnx, _tp, helper, _nph = _onnx()
    if isinstance(example_inputs, Tensor):
        example_inputs = (example_inputs,)
    examples = list(example_inputs)
    names = list(input_names) if input_names else [f"input{i}" for i in range(len(examples))]
    dyn: dict[int, list] = {}
    for key, axes in (dynamic_axes or {}).items():
        i = names.index(key) if isinstance(key, str) and key in names else key
        if not isinstance(i, int) or not 0 <= i < len(examples):
            raise ValueError(f"dynamic_axes names an unknown input {key!r}")
        dyn[i] = sorted(axes) if not isinstance(axes, dict) else sorted(axes)
    specs = []
    for i, t in enumerate(_specs(examples)):
        shape = [None if d in dyn.get(i, ()) else n for d, n in enumerate(t.shape)]
        specs.append(InputSpec(shape, t.dtype))
    fn = module
    if isinstance(module, Module):
        fn = module.forward.fn if isinstance(module.forward, StaticFunction) else module.forward
    dims = [(i, d) for i, s in enumerate(specs) for d, n in enumerate(s.shape) if n is None]
    progs, size_sets = _trace_for_inference(module if isinstance(module, Module) else None, fn,
                                            specs, dims,
                                            tuple(examples[i].shape[d] for i, d in dims))
    if dims:
        try:
            checks = merge_checks([p.size_checks for p in progs], size_sets)
            graph = merge([p.raw_graph for p in progs], size_sets)
        except NotPolymorphic as err:
            raise OnnxExportError(f"the dynamic axes cannot be exported: {err}") from None
        moving = [c for c in checks if isinstance(c.lhs, Sym) or isinstance(c.rhs, Sym)]
        if moving:  # an exported graph holds the traced branch only
            cond = describe_check(progs[0].size_checks[checks.index(moving[0])])
            raise OnnxExportError(
                f"the dynamic axes cannot be exported: the model's Python code branches on a "
                f"dynamic size (at the example sizes: {cond}), and an ONNX graph holds one "
                "branch; export with that axis fixed")
    else:
        graph = progs[0].raw_graph.copy()
    prog = progs[0]
    for name, fn_pass in passes.PIPELINE:
        if name in ("constant_folding", "simplify", "cse", "dce"):
            fn_pass(graph)
    _fold_convolutions(graph)
    b = _Builder(graph)
    for i, vid in enumerate(graph.inputs):
        b.names[vid] = names[i]
    b.dynamic = [(names[i], d) for i, d in dims]
    for vid, (t, attr) in zip(graph.state, prog.state_bind, strict=True):
        arr = t.data if attr == "data" else t.grad.data
        nm = graph.values[vid].name or f"state{vid}"
        b.names[vid] = nm
        b.inits.append(b.nph.from_array(np.ascontiguousarray(arr), nm))
    for vid, arr in graph.consts.items():
        b.inits.append(b.nph.from_array(np.ascontiguousarray(np.asarray(arr)), b.name(vid)))
    for i, n in enumerate(graph.nodes):
        b.node_index = i
        b.scope = n.scope
        _map_node(b, n)
    outs = list(graph.outputs)
    out_names = list(output_names) if output_names else [f"output{i}" for i in range(len(outs))]

    def vinfo(name: str, vid: int) -> Any:
        v = graph.values[vid]
        shape = [d if isinstance(d, int) else f"dim{k}" for k, d in enumerate(v.shape)]
        return helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(np.dtype(v.dtype)), shape)

    for name, vid in zip(out_names, outs, strict=True):
        b.add("Identity", [b.name(vid)], [name])
    inputs = [vinfo(names[i], vid) for i, vid in enumerate(graph.inputs)]
    for info, spec in zip(inputs, specs, strict=True):
        for d, n in enumerate(spec.shape):
            if n is None:
                info.type.tensor_type.shape.dim[d].dim_param = f"{info.name}_dim{d}"
    g = helper.make_graph(b.nodes, "skiff", inputs,
                          [vinfo(nm, vid) for nm, vid in zip(out_names, outs, strict=True)],
                          b.inits)
    for info in g.output:
        for d in info.type.tensor_type.shape.dim:
            if d.dim_param:
                d.ClearField("dim_param")
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="skiff")
    model.ir_version = 8
    onnx.checker.check_model(model)
    parent = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix=".skiff-onnx-", dir=parent)
    os.close(fd)
    try:
        onnx.save(model, tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return model
