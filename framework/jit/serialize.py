"""Deployment: ``fw.jit.save`` writes a static program as a directory, ``fw.jit.load`` runs it.

The directory holds ``graph.json`` (the graph, schema ``skiff.jit.graph`` version 1, plus the
input specs and the result structure; version 2 when it also holds ``size_checks``, the
Python conditions on dynamic sizes that a size must answer as the traced sizes did) and
``weights.safetensors`` (parameters, buffers and constants). Loading needs neither the
model's Python source nor pickle: the graph is checked field by field, only backend
primitives and the jit's own kernels are run (never a name looked up from the file), every
array's shape and dtype is checked against the graph, and sizes are bounded before anything
is allocated.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from typing import Any

import numpy as np

from .. import backend as _backend
from ..autograd import no_grad
from ..tensor import Tensor
from . import sizes as _sizes
from .executor import JIT_OPS, KNOWN_OPS, Executable
from .ir import Graph, GraphFormatError, Sym, decode, encode, from_json, holds
from .passes import optimize
from .symbolic import (
    NotPolymorphic,
    dynamic_dims,
    failed_check,
    instantiate,
    is_symbolic,
    merge,
    merge_checks,
    merge_results,
)
from .tracer import OutItem, OutTensor, rebuild

GRAPH_FILE = "graph.json"
WEIGHTS_FILE = "weights.safetensors"
MAX_GRAPH_BYTES = 64 << 20
MAX_ELEMENTS = 1 << 28  # per array (1 GiB of float32)
_ALLOCATING = frozenset({"empty", "zeros", "ones", "full"})

_wrap = Tensor._wrap


def _specs(input_spec: Any) -> list:
    from .static import InputSpec

    if input_spec is None:
        raise ValueError("fw.jit.save needs input_spec: a list of fw.jit.InputSpec (or example "
                         "tensors), one per tensor argument")
    specs = []
    for s in input_spec:
        if isinstance(s, InputSpec):
            specs.append(s)
        elif isinstance(s, Tensor):
            specs.append(InputSpec(s.shape, s.dtype))
        else:
            raise TypeError(f"input_spec items must be InputSpec or tensors, got "
                            f"{type(s).__name__}")
    return specs


def _trace_at(fn: Any, specs: list, dims: list, sizes: tuple, owners: list) -> Any:
    from .static import StaticFunction

    examples = []
    for i, s in enumerate(specs):
        shape = list(s.shape)
        for (si, d), n in zip(dims, sizes, strict=True):
            if si == i:
                shape[d] = n
        examples.append(_wrap(_backend.active.zeros(tuple(shape), s.dtype), _backend.active))
    saved = [(t, t.data.copy()) for t in owners]
    # with the specs, the trace records the Python conditions on the dynamic sizes
    static = StaticFunction(fn, input_spec=specs if dims else None, passes=False)
    try:
        with no_grad(), np.errstate(all="ignore"):
            static(*examples)
    finally:
        for t, arr in saved:  # tracing must not change the model (BatchNorm statistics)
            t.data[...] = arr
    prog = static.last_program
    if prog is None:
        reason, where = static.fallbacks[-1] if static.fallbacks else ("unknown", "")
        raise ValueError(f"cannot save: the function cannot be traced ({where}: {reason})")
    if prog.host_calls:
        raise ValueError(f"cannot save: the program calls Python on every run "
                         f"({', '.join(map(str, prog.host_calls))}); saved programs hold "
                         "backend ops only")
    return prog


def _more_sizes(size_sets: list[tuple], k: int) -> list[tuple]:
    """Further small sizes, so that sizes which are products of two dynamic sizes
    (``B*S``) can be fitted too: one more than the unknowns of such a formula, with the
    traces telling every unknown apart."""
    from .symbolic import _pairs

    def row(s: tuple) -> list:
        return [1, *s, *(s[i] * s[j] for i, j in _pairs(k))]

    need = 1 + k + len(_pairs(k))
    rng = np.random.default_rng(0)
    sets = list(size_sets)
    more: list[tuple] = []
    while len(sets) < need + 1 or np.linalg.matrix_rank(
            np.array([row(s) for s in sets], dtype=np.float64)) < need:
        cand = tuple(int(n) for n in rng.integers(3, 14, size=k))  # as small as the others
        if cand not in sets:
            sets.append(cand)
            more.append(cand)
    return more


def _trace_for_inference(module: Any, fn: Any, specs: list, dims: list,
                         base: tuple) -> tuple[list, list]:
    """``fn`` traced for inference at ``base`` and, with dynamic dims, at the further sizes
    that determine their formulas (each size moved, all moved, then :func:`_more_sizes`):
    no grad, ``module`` (if any) in evaluation mode — dropout off, batch norm on its running
    statistics — and its modes, parameters and buffers restored afterwards. Returns the
    programs and the sizes they were traced at."""
    size_sets = [base]
    if dims:
        size_sets += [tuple(n + 4 if j == k else n for j, n in enumerate(base))
                      for k in range(len(dims))]
        size_sets.append(tuple(n + 7 + k for k, n in enumerate(base)))
        size_sets += _more_sizes(size_sets, len(dims))
    owners = []
    modes = []
    if module is not None:
        owners = [t for _, t in module.named_parameters()] + [b for _, b in
                                                             module.named_buffers()]
        modes = [(m, m.training) for m in module.modules()]
        module.eval()
    try:
        progs = [_trace_at(fn, specs, dims, sizes, owners) for sizes in size_sets]
    finally:
        for m, training in modes:
            m.__dict__["training"] = training
    return progs, size_sets


def save(module_or_fn: Any, path: str, input_spec: Any) -> str:
    """Trace ``module_or_fn`` for ``input_spec`` and write the program to directory ``path``.

    ``None`` dimensions in the specs stay dynamic: the function is traced at several sizes
    and the sizes it depends on are stored as formulas (see :mod:`framework.jit.symbolic`).

    >>> import framework as fw, tempfile, os
    >>> model = fw.nn.Linear(4, 2)
    >>> d = os.path.join(tempfile.mkdtemp(), "linear")
    >>> _ = fw.jit.save(model, d, [fw.jit.InputSpec([None, 4])])
    >>> fw.jit.load(d)(fw.ones(3, 4)).shape
    (3, 2)
    """
    from safetensors.numpy import save_file

    from ..nn.module import Module
    from .static import StaticFunction

    specs = _specs(input_spec)
    module = module_or_fn if isinstance(module_or_fn, Module) else getattr(
        module_or_fn, "module", None)
    fn = module_or_fn.fn if isinstance(module_or_fn, StaticFunction) else module_or_fn
    if isinstance(fn, Module):
        fn = fn.forward.fn if isinstance(fn.forward, StaticFunction) else fn.forward
    dims = dynamic_dims(specs)
    progs, size_sets = _trace_for_inference(module, fn, specs, dims,
                                            tuple(3 + 2 * k for k in range(len(dims))))
    graphs = [p.raw_graph for p in progs]
    try:
        # the conditions first: branches that differ explain any difference of the graphs
        checks = merge_checks([p.size_checks for p in progs], size_sets) if dims else []
        graph = merge(graphs, size_sets) if dims else graphs[0]
        if dims and holds(merge_results([p.out_template for p in progs], size_sets), Sym):
            raise NotPolymorphic("the function returns a Python number that changes with the "
                                 "size (return it as a tensor)")
    except NotPolymorphic as err:
        raise ValueError(f"cannot save with dynamic dimensions: {err}") from None
    prog = progs[0]
    arrays: dict[str, np.ndarray] = {}
    names: dict[str, str] = {}
    for vid, (t, attr) in zip(graph.state, prog.state_bind, strict=True):
        key = f"state.{graph.values[vid].name or vid}"
        arrays[key] = np.ascontiguousarray(t.data if attr == "data" else t.grad.data)
        names[str(vid)] = key
    for vid, arr in graph.consts.items():
        key = f"const.{vid}"
        arrays[key] = np.ascontiguousarray(arr)
        names[str(vid)] = key
    doc = graph.to_json()
    doc["inputs_spec"] = [{"shape": list(s.shape), "dtype": s.dtype.name} for s in specs]
    doc["dynamic"] = [list(d) for d in dims]
    if checks:  # conditions a size must answer as the traced sizes did (version 2)
        doc["version"] = 2
        doc["size_checks"] = [[c.op, encode(c.lhs), encode(c.rhs), bool(c.result)]
                              for c in checks]
    doc["arrays"] = names
    doc["result"] = _encode_result(prog.out_template)
    parent = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".skiff-save-", dir=parent)
    try:
        wtmp = os.path.join(tmp, WEIGHTS_FILE)
        save_file(arrays, wtmp, metadata={"format": "skiff.jit"})
        doc["weights_sha256"] = _sha256(wtmp)
        with open(os.path.join(tmp, GRAPH_FILE), "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
        if os.path.isdir(path):
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _encode_result(obj: Any) -> Any:
    if isinstance(obj, OutTensor):
        return {"$out": obj.id}
    if isinstance(obj, OutItem):
        return {"$item": obj.id}
    if isinstance(obj, (list, tuple)):
        return {"$seq": [_encode_result(o) for o in obj]}
    if isinstance(obj, dict):
        return {"$map": {str(k): _encode_result(v) for k, v in obj.items()}}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"$py": obj}
    raise TypeError(f"cannot save a result of type {type(obj).__name__}")


def _decode_result(obj: Any, n_out: int) -> Any:
    if isinstance(obj, dict) and len(obj) == 1:
        (k, v), = obj.items()
        if k == "$out" and isinstance(v, int) and 0 <= v < n_out:
            return OutTensor(v)
        if k == "$item" and isinstance(v, int) and 0 <= v < n_out:
            return OutItem(v)
        if k == "$seq" and isinstance(v, list):
            return tuple(_decode_result(o, n_out) for o in v)
        if k == "$map" and isinstance(v, dict):
            return {str(a): _decode_result(b, n_out) for a, b in v.items()}
        if k == "$py" and (v is None or isinstance(v, (bool, int, float, str))):
            return v
    raise GraphFormatError("graph.json: malformed 'result'")


class LoadedProgram:
    """A program loaded by :func:`load`; call it with tensors like the original function."""

    def __init__(self, graph: Graph, weights: dict[int, np.ndarray], specs: list,
                 dynamic: list, result: Any, checks: list | None = None) -> None:
        self.graph = graph
        self.weights = weights
        self.specs = specs
        self.dynamic = dynamic
        self.result = result
        self.checks = checks or []
        self._compiled: dict[tuple, tuple] = {}

    def _program(self, sizes: tuple) -> tuple:
        hit = self._compiled.get(sizes)
        if hit is None:
            failed = failed_check(self.checks, sizes)
            if failed is not None:
                check, cond = failed
                raise ValueError(
                    f"this program was saved from code that branches on its input sizes: at "
                    f"sizes {sizes} the condition {cond} is {not check.result}, at the sizes "
                    f"it was traced at it was {check.result}; save the sizes that take the "
                    "other branch as a program of their own (fixed sizes in input_spec)")
            g = instantiate(self.graph, sizes) if self.dynamic else self.graph.copy()
            _check_sizes(g)
            optimize(g)
            bk = _backend.active
            state = [self.weights[v] for v in g.state]
            for vid in g.consts:
                if vid in self.weights:
                    g.consts[vid] = self.weights[vid]
            exe = Executable(g, bk)
            hit = self._compiled[sizes] = (exe, state, bk)
        return hit

    def __call__(self, *inputs: Any) -> Any:
        if len(inputs) != len(self.specs):
            raise TypeError(f"this program takes {len(self.specs)} tensors, got {len(inputs)}")
        arrays = []
        for i, (t, s) in enumerate(zip(inputs, self.specs, strict=True)):
            if not isinstance(t, Tensor):
                raise TypeError(f"input {i} must be a tensor, got {type(t).__name__}")
            if t.dtype != s.dtype or t.ndim != len(s.shape) or any(
                    n is not None and n != m for n, m in zip(s.shape, t.shape, strict=True)):
                raise ValueError(f"input {i} has shape {tuple(t.shape)} and dtype {t.dtype}; "
                                 f"this program expects {s}")
            arrays.append(t.data)
        sizes = tuple(inputs[i].shape[d] for i, d in self.dynamic)
        if any(n < 1 for n in sizes):
            raise ValueError("dynamic dimensions must be at least 1")
        exe, state, bk = self._program(sizes)
        outs = exe.run(arrays, state)
        return rebuild(self.result, outs, bk)


def _check_sizes(g: Graph) -> None:
    for v in g.values.values():
        if int(np.prod(v.shape, dtype=np.float64)) > MAX_ELEMENTS:
            raise GraphFormatError(f"value %{v.id} would have {v.shape} elements; refusing")
    for n in g.nodes:
        if n.op in _ALLOCATING:
            shape = n.args[0] if n.args else n.kwargs.get("shape")
            shape = (shape,) if isinstance(shape, int) else tuple(shape or ())
            if not n.outputs or shape != tuple(g.values[n.outputs[0]].shape):
                raise GraphFormatError(f"{n.op} allocates {shape}, not its declared result")


def load(path: str) -> LoadedProgram:
    """Load a program written by :func:`save` (no Python source or pickle involved)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    from .static import InputSpec

    gpath = os.path.join(path, GRAPH_FILE)
    wpath = os.path.join(path, WEIGHTS_FILE)
    for p in (gpath, wpath):
        if not os.path.isfile(p):
            raise FileNotFoundError(f"{path} is not a saved Skiff program: {p} is missing")
    if os.path.getsize(gpath) > MAX_GRAPH_BYTES:
        raise GraphFormatError(f"{gpath} is larger than {MAX_GRAPH_BYTES} bytes")
    try:
        with open(gpath, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise GraphFormatError(f"{gpath} is not valid JSON: {err}") from None
    graph = from_json(doc, set(KNOWN_OPS) - {"host_call"} | (JIT_OPS - {"host_call"}))
    try:
        specs = [InputSpec(s["shape"], s["dtype"]) for s in doc["inputs_spec"]]
        dynamic = [(int(i), int(d)) for i, d in doc["dynamic"]]
        names = {int(k): str(v) for k, v in doc["arrays"].items()}
    except (KeyError, TypeError, ValueError) as err:
        raise GraphFormatError(f"{gpath}: malformed input specs or array table ({err})") \
            from None
    if len(specs) != len(graph.inputs):
        raise GraphFormatError(f"{gpath}: {len(specs)} input specs for {len(graph.inputs)} "
                               "inputs")
    for i, d in dynamic:
        if not (0 <= i < len(specs) and 0 <= d < len(specs[i].shape)) \
                or specs[i].shape[d] is not None:
            raise GraphFormatError(f"{gpath}: bad dynamic dimension ({i}, {d})")
    result = _decode_result(doc.get("result"), len(graph.outputs))
    expected = doc.get("weights_sha256")
    if expected is not None:  # programs saved before the checksum existed have none
        if not isinstance(expected, str):
            raise GraphFormatError(f"{gpath}: malformed 'weights_sha256'")
        if _sha256(wpath) != expected:
            raise GraphFormatError(
                f"{wpath} does not match {gpath} (its SHA-256 differs from the one saved "
                "with the graph): the weights were changed or come from another save")
    try:
        stored = load_file(wpath)
    except (SafetensorError, OSError, ValueError) as err:
        raise GraphFormatError(f"{wpath} is not a valid safetensors file: {err}") from None
    weights: dict[int, np.ndarray] = {}
    needed = list(graph.state) + list(graph.consts) + [
        v.id for v in graph.values.values() if v.kind == "const" and v.id not in graph.consts]
    for vid in needed:
        key = names.get(vid)
        if key is None or key not in stored:
            raise GraphFormatError(f"{wpath}: the array for value %{vid} is missing")
        arr = stored[key]
        v = graph.values[vid]
        if tuple(arr.shape) != tuple(v.shape) or str(arr.dtype) != v.dtype:
            raise GraphFormatError(
                f"{wpath}: array {key!r} has shape {tuple(arr.shape)} and dtype {arr.dtype}, "
                f"the graph expects {v.describe()}")
        weights[vid] = arr
        if v.kind == "const":
            graph.consts[vid] = arr
    if is_symbolic(graph) and not dynamic:
        raise GraphFormatError(f"{gpath}: symbolic sizes without dynamic dimensions")
    return LoadedProgram(graph, weights, specs, dynamic, result,
                         _load_checks(doc.get("size_checks", []), len(dynamic), gpath))


def _load_checks(raw: Any, ndims: int, gpath: str) -> list:
    """The ``size_checks`` of a version-2 graph, checked: ``[op, lhs, rhs, result]`` with a
    known comparison, numbers or size formulas over the dynamic dimensions, a bool."""
    where = f"{gpath}: size_checks"
    if not isinstance(raw, list) or len(raw) > 10_000:
        raise GraphFormatError(f"{where} must be a list")
    checks = []
    for item in raw:
        if not (isinstance(item, list) and len(item) == 4 and item[0] in _sizes.OPS
                and isinstance(item[3], bool)):
            raise GraphFormatError(f"{where}: malformed entry {str(item)[:80]!r}")
        operands = [decode(item[1], where), decode(item[2], where)]
        for o in operands:
            if isinstance(o, Sym):
                if len(o.coeffs) != ndims:
                    raise GraphFormatError(f"{where}: a formula over {len(o.coeffs)} sizes, "
                                           f"the program has {ndims}")
            elif isinstance(o, bool) or not isinstance(o, (int, float)):
                raise GraphFormatError(f"{where}: operands must be numbers or formulas")
        checks.append(_sizes.Check(item[0], operands[0], operands[1], item[3]))
    return checks
