"""The static program's IR: values and nodes of backend primitives, printable and JSON-able.

A :class:`Graph` is a straight-line list of :class:`Node` s. Each node calls one backend
primitive (``add``, ``matmul``, ``conv2d`` ...) or one of the jit's own kernels
(``fused_elementwise``, ``host_call``) on :class:`Value` s. A value is an array with a known
shape and dtype; its ``kind`` says where it comes from:

``input``  a tensor argument of the traced function (position in ``graph.inputs``),
``state``  a parameter, buffer or gradient read afresh from its tensor on every run,
``const``  a constant array stored in the graph (literals, folded constants, captured arrays),
``op``     the result of a node.

Arguments of a node are Python values in which arrays are replaced by :class:`Ref` s, so the
same structure serves the executor, the passes and the JSON form. Nodes that write into an
array in place (``out=`` or a mutating primitive) list it in ``mutates``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SCHEMA = "skiff.jit.graph"
SCHEMA_VERSION = 1
# version 2: a saved program with dynamic sizes whose Python code branched on them carries
# ``size_checks`` (see framework.jit.serialize), which a version-1 reader would ignore
READ_VERSIONS = (1, 2)


class Ref:
    """A reference to a value inside a node's arguments."""

    __slots__ = ("id",)

    def __init__(self, vid: int) -> None:
        self.id = vid

    def __repr__(self) -> str:
        return f"%{self.id}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ref) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("ref", self.id))

    def with_id(self, vid: int) -> Ref:
        return Ref(vid)


class TensorArg(Ref):
    """A tensor argument of a host call: rebuilt around the value's array at run time."""

    __slots__ = ("requires_grad",)

    def __init__(self, vid: int, requires_grad: bool = False) -> None:
        super().__init__(vid)
        self.requires_grad = requires_grad

    def __repr__(self) -> str:
        return f"tensor(%{self.id})"

    def with_id(self, vid: int) -> Ref:
        return TensorArg(vid, self.requires_grad)


class Sym:
    """A size formula over the dynamic sizes ``S_k``: ``const + sum(coeffs[k] * S_k)`` plus
    ``products``, terms ``(c, (j, k))`` worth ``c * S_j * S_k`` (a ``(B, S, D)`` input
    folded to ``(B*S, D)``, a mean over ``B*S`` elements).

    ``mode`` "int" gives that integer, "float" the same as a float (``x / float(batch)``),
    "inv" its reciprocal ``1.0 / (...)`` (``x * (1.0 / batch)``).
    """

    __slots__ = ("const", "coeffs", "mode", "products")

    def __init__(self, const: int, coeffs: tuple, mode: str = "int",
                 products: tuple = ()) -> None:
        self.const = int(const)
        self.coeffs = tuple(int(c) for c in coeffs)
        if mode not in ("int", "float", "inv"):
            raise ValueError(f"unknown size formula mode {mode!r}")
        self.mode = mode
        terms = []
        for c, idx in products:
            idx = tuple(int(i) for i in idx)
            if len(idx) != 2 or any(not 0 <= i < len(self.coeffs) for i in idx):
                raise ValueError(f"size formula term {idx!r} does not name two of the "
                                 f"{len(self.coeffs)} dynamic sizes")
            if int(c):
                terms.append((int(c), idx))
        self.products = tuple(terms)

    def value(self, sizes: tuple) -> Any:
        n = self.const + sum(c * s for c, s in zip(self.coeffs, sizes, strict=True))
        for c, (j, k) in self.products:
            n += c * sizes[j] * sizes[k]
        if self.mode == "float":
            return float(n)
        if self.mode == "inv":
            return 1.0 / n if n else float("inf")
        return n

    def __repr__(self) -> str:
        terms = [f"{c}*S{k}" if c != 1 else f"S{k}" for k, c in enumerate(self.coeffs) if c]
        terms += [f"{c}*S{j}*S{k}" if c != 1 else f"S{j}*S{k}" for c, (j, k) in self.products]
        if self.const or not terms:
            terms.append(str(self.const))
        body = "(" + " + ".join(terms) + ")"
        return {"int": body, "float": f"float{body}", "inv": f"1/{body}"}[self.mode]

    def _key(self) -> tuple:
        return (self.const, self.coeffs, self.mode, self.products)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sym) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


class RngArg:
    """A random generator argument: ``None`` means the global one (``fw.manual_seed``)."""

    __slots__ = ("generator",)

    def __init__(self, generator: Any = None) -> None:
        self.generator = generator

    def resolve(self) -> np.random.Generator:
        if self.generator is not None:
            return self.generator
        from ..creation import default_generator

        return default_generator()

    def __repr__(self) -> str:
        return "<global rng>" if self.generator is None else "<private rng>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RngArg) and other.generator is self.generator

    def __hash__(self) -> int:
        return hash(("rng", id(self.generator)))


@dataclass
class Value:
    """One array of the program."""

    id: int
    shape: tuple
    dtype: str
    kind: str = "op"
    name: str | None = None

    def describe(self) -> str:
        dims = "x".join(str(d) for d in self.shape) if self.shape else "scalar"
        return f"{self.dtype}[{dims}]"


@dataclass
class Node:
    """One primitive call: ``outputs = op(*args, **kwargs)``, writing ``mutates`` in place."""

    op: str
    args: tuple
    kwargs: dict
    outputs: list[int]
    mutates: list[int] = field(default_factory=list)
    scope: str | None = None
    extra: dict = field(default_factory=dict)

    def refs(self) -> list[int]:
        """Ids of the values this node reads (including the targets it writes into)."""
        found: list[int] = []
        _collect(self.args, found)
        _collect(self.kwargs, found)
        for m in self.mutates:
            if m not in found:
                found.append(m)
        return found

    def replace_refs(self, mapping: dict[int, int]) -> None:
        self.args = _remap(self.args, mapping)
        self.kwargs = _remap(self.kwargs, mapping)
        self.mutates = [mapping.get(m, m) for m in self.mutates]


def holds(obj: Any, kinds: type | tuple) -> bool:
    """Whether ``obj`` or anything in its tuples, lists and dict values is one of ``kinds``
    (an argument holding a value, a size formula, ...)."""
    if isinstance(obj, kinds):
        return True
    if isinstance(obj, (tuple, list)):
        return any(holds(o, kinds) for o in obj)
    if isinstance(obj, dict):
        return any(holds(o, kinds) for o in obj.values())
    return False


def map_leaves(obj: Any, leaf: Any) -> Any:
    """``obj`` with ``leaf`` applied to everything in its tuples, lists and dict values;
    a container in which no leaf changed is returned as it is (the same object)."""
    if isinstance(obj, (tuple, list)):
        items = [map_leaves(o, leaf) for o in obj]
        if all(a is b for a, b in zip(items, obj, strict=True)):
            return obj
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):
            return type(obj)(*items)
        return type(obj)(items)
    if isinstance(obj, dict):
        items = {k: map_leaves(v, leaf) for k, v in obj.items()}
        if all(items[k] is v for k, v in obj.items()):
            return obj
        return items
    return leaf(obj)


def _collect(obj: Any, found: list[int]) -> None:
    if isinstance(obj, Ref):
        found.append(obj.id)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _collect(o, found)
    elif isinstance(obj, dict):
        for o in obj.values():
            _collect(o, found)


def _remap(obj: Any, mapping: dict[int, int]) -> Any:
    if isinstance(obj, Ref):
        return obj.with_id(mapping[obj.id]) if obj.id in mapping else obj
    if isinstance(obj, tuple):
        return tuple(_remap(o, mapping) for o in obj)
    if isinstance(obj, list):
        return [_remap(o, mapping) for o in obj]
    if isinstance(obj, dict):
        return {k: _remap(v, mapping) for k, v in obj.items()}
    return obj


class Graph:
    """A traced program: values, nodes in execution order, inputs, outputs and constants.

    ``str(graph)`` is a readable listing; :meth:`to_json` gives the versioned JSON form the
    hub draws model graphs from.
    """

    def __init__(self) -> None:
        self.values: dict[int, Value] = {}
        self.nodes: list[Node] = []
        self.inputs: list[int] = []
        self.outputs: list[int] = []
        self.consts: dict[int, np.ndarray] = {}
        self.state: list[int] = []
        # constants captured by reference (they may change between runs: never folded)
        self.volatile: set[int] = set()
        self._next = 0

    def new_value(self, shape: tuple, dtype: Any, kind: str = "op",
                  name: str | None = None) -> int:
        vid = self._next
        self._next += 1
        self.values[vid] = Value(vid, tuple(s if isinstance(s, Sym) else int(s) for s in shape),
                                 str(np.dtype(dtype)), kind, name)
        return vid

    def add_const(self, array: np.ndarray, name: str | None = None) -> int:
        vid = self.new_value(np.shape(array), np.asarray(array).dtype, "const", name)
        self.consts[vid] = array
        return vid

    def copy(self) -> Graph:
        """A structural copy (nodes and values copied, constant arrays shared)."""
        g = Graph()
        g.values = {k: Value(v.id, v.shape, v.dtype, v.kind, v.name)
                    for k, v in self.values.items()}
        g.nodes = [Node(n.op, n.args, dict(n.kwargs), list(n.outputs), list(n.mutates),
                        n.scope, dict(n.extra)) for n in self.nodes]
        g.inputs = list(self.inputs)
        g.outputs = list(self.outputs)
        g.consts = dict(self.consts)
        g.state = list(self.state)
        g.volatile = set(self.volatile)
        g._next = self._next
        return g

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n.op] = counts.get(n.op, 0) + 1
        return counts

    # ----- text ------------------------------------------------------------------------------
    def __str__(self) -> str:
        lines = []

        def label(vid: int) -> str:
            v = self.values[vid]
            return f"%{vid}" + (f"({v.name})" if v.name else "")

        head = ", ".join(f"{label(i)}: {self.values[i].describe()}" for i in self.inputs)
        lines.append(f"graph({head}) {{")
        for vid in self.state:
            lines.append(f"  state {label(vid)}: {self.values[vid].describe()}")
        for vid in sorted(self.consts):
            if vid in self.values:
                v = self.values[vid]
                lines.append(f"  const {label(vid)}: {v.describe()}")
        for n in self.nodes:
            outs = ", ".join(f"%{o}: {self.values[o].describe()}" for o in n.outputs)
            args = ", ".join([_fmt(a) for a in n.args] +
                             [f"{k}={_fmt(v)}" for k, v in n.kwargs.items()])
            if n.mutates:
                args += "  # writes " + ", ".join(f"%{m}" for m in n.mutates)
            scope = f"  [{n.scope}]" if n.scope else ""
            lhs = f"{outs} = " if outs else ""
            lines.append(f"  {lhs}{n.op}({args}){scope}")
        lines.append("  return " + ", ".join(f"%{o}" for o in self.outputs))
        lines.append("}")
        return "\n".join(lines)

    __repr__ = __str__

    # ----- JSON ------------------------------------------------------------------------------
    def to_json(self) -> dict:
        """The graph as JSON-compatible data (schema ``skiff.jit.graph``, version 1).

        Constants are referenced by name (``const:<id>``), not embedded: :func:`framework.jit.save`
        stores them in a safetensors file next to the JSON.
        """
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "values": [
                {"id": v.id, "shape": [encode(d) for d in v.shape], "dtype": v.dtype,
                 "kind": v.kind,
                 **({"name": v.name} if v.name else {})}
                for v in sorted(self.values.values(), key=lambda v: v.id)
            ],
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "state": list(self.state),
            "nodes": [
                {"op": n.op, "args": [encode(a) for a in n.args],
                 "kwargs": {k: encode(v) for k, v in n.kwargs.items()},
                 "outputs": list(n.outputs),
                 **({"mutates": list(n.mutates)} if n.mutates else {}),
                 **({"scope": n.scope} if n.scope else {}),
                 **({"extra": {k: encode(v) for k, v in n.extra.items()}}
                    if n.extra else {})}
                for n in self.nodes
            ],
        }


def _fmt(a: Any) -> str:
    if isinstance(a, Ref):
        return repr(a)
    if isinstance(a, np.dtype):
        return str(a)
    if isinstance(a, slice):
        return f"{'' if a.start is None else a.start}:{'' if a.stop is None else a.stop}" + (
            f":{a.step}" if a.step is not None else "")
    if a is Ellipsis:
        return "..."
    if isinstance(a, tuple):
        return "(" + ", ".join(_fmt(x) for x in a) + ("," if len(a) == 1 else "") + ")"
    if isinstance(a, list):
        return "[" + ", ".join(_fmt(x) for x in a) + "]"
    if isinstance(a, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in a.items()) + "}"
    return repr(a)


# ----- JSON encoding of argument values ---------------------------------------------------------

class GraphFormatError(ValueError):
    """A saved graph is malformed, tampered with, or uses something Skiff does not run."""


def encode(a: Any) -> Any:
    """An argument as JSON data (arrays must already be :class:`Ref` s)."""
    if isinstance(a, Ref):
        if isinstance(a, TensorArg):
            raise TypeError("host calls (Python functions run on every call) cannot be saved")
        return {"$ref": a.id}
    if isinstance(a, Sym):
        if a.products:
            return {"$sym": [a.const, list(a.coeffs), a.mode,
                             [[c, list(idx)] for c, idx in a.products]]}
        return {"$sym": [a.const, list(a.coeffs), a.mode]}
    if isinstance(a, RngArg):
        if a.generator is not None:
            raise TypeError("a program drawing from a private fw.Generator cannot be saved; "
                            "use the global generator (fw.manual_seed)")
        return {"$rng": "global"}
    if a is None or isinstance(a, (bool, str)):
        return a
    if isinstance(a, (int, np.integer)) and not isinstance(a, bool):
        return int(a)
    if isinstance(a, (float, np.floating)):
        f = float(a)
        if math.isfinite(f):
            return f
        return {"$float": repr(f)}
    if isinstance(a, np.bool_):
        return bool(a)
    if isinstance(a, np.dtype):
        return {"$dtype": str(a)}
    if isinstance(a, type) and issubclass(a, np.generic):
        return {"$dtype": str(np.dtype(a))}
    if isinstance(a, slice):
        return {"$slice": [encode(a.start), encode(a.stop), encode(a.step)]}
    if a is Ellipsis:
        return {"$ellipsis": True}
    if isinstance(a, tuple):
        return {"$tuple": [encode(x) for x in a]}
    if isinstance(a, list):
        return [encode(x) for x in a]
    if isinstance(a, dict):
        if not all(isinstance(k, str) for k in a):
            raise TypeError("only dicts with string keys can be stored in a graph")
        return {"$dict": {k: encode(v) for k, v in a.items()}}
    raise TypeError(f"a value of type {type(a).__name__} cannot be stored in a saved graph")


_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32",
           "float64"}


def decode(a: Any, where: str) -> Any:
    """The inverse of :func:`encode`; anything unexpected raises :class:`GraphFormatError`."""
    if a is None or isinstance(a, (bool, int, float, str)):
        return a
    if isinstance(a, list):
        return [decode(x, where) for x in a]
    if isinstance(a, dict) and len(a) == 1:
        (key, val), = a.items()
        if key == "$ref" and isinstance(val, int) and not isinstance(val, bool):
            return Ref(val)
        if key == "$float" and val in ("inf", "-inf", "nan"):
            return float(val)
        if key == "$dtype" and val in _DTYPES:
            return np.dtype(val)
        if key == "$slice" and isinstance(val, list) and len(val) == 3:
            parts = [decode(x, where) for x in val]
            if all(p is None or isinstance(p, int) for p in parts):
                return slice(*parts)
        if key == "$sym" and isinstance(val, list) and len(val) in (3, 4) \
                and _ints([val[0]]) and isinstance(val[1], list) and _ints(val[1]) \
                and val[2] in ("int", "float", "inv"):
            terms = val[3] if len(val) == 4 else []
            if isinstance(terms, list) and all(
                    isinstance(t, list) and len(t) == 2 and _ints([t[0]])
                    and isinstance(t[1], list) and _ints(t[1]) for t in terms):
                try:  # Sym checks that each term names two of the dynamic sizes
                    return Sym(val[0], tuple(val[1]), val[2],
                               tuple((t[0], tuple(t[1])) for t in terms))
                except ValueError:
                    pass
        if key == "$rng" and val == "global":
            return RngArg(None)
        if key == "$ellipsis" and val is True:
            return Ellipsis
        if key == "$tuple" and isinstance(val, list):
            return tuple(decode(x, where) for x in val)
        if key == "$dict" and isinstance(val, dict):
            return {str(k): decode(v, where) for k, v in val.items()}
    raise GraphFormatError(f"{where}: unrecognized argument encoding {str(a)[:80]!r}")


def _ints(items: list) -> bool:
    return all(isinstance(i, int) and not isinstance(i, bool) for i in items)


def from_json(data: Any, allowed_ops: set[str]) -> Graph:
    """Rebuild a graph from :meth:`Graph.to_json` data, checking every field.

    Only ops named in ``allowed_ops`` are accepted; constants are attached by the caller.
    """
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise GraphFormatError(f"not a Skiff graph: the 'schema' field must be {SCHEMA!r}")
    version = data.get("version")
    if version not in READ_VERSIONS or isinstance(version, bool):
        raise GraphFormatError(
            f"unsupported graph schema version {version!r}; this Skiff reads versions "
            f"{', '.join(map(str, READ_VERSIONS))}"
        )
    g = Graph()
    try:
        for i, v in enumerate(data["values"]):
            vid, shape, dtype, kind = v["id"], v["shape"], v["dtype"], v["kind"]
            if not isinstance(vid, int) or vid in g.values:
                raise GraphFormatError(f"values[{i}]: bad or repeated id {vid!r}")
            if not isinstance(shape, list):
                raise GraphFormatError(f"values[{i}]: shape must be a list of sizes")
            shape = [decode(d, f"values[{i}]") for d in shape]
            if not all(isinstance(d, Sym) or (_ints([d]) and d >= 0) for d in shape):
                raise GraphFormatError(f"values[{i}]: shape must be a list of sizes")
            if dtype not in _DTYPES:
                raise GraphFormatError(f"values[{i}]: unsupported dtype {dtype!r}")
            if kind not in ("input", "state", "const", "op"):
                raise GraphFormatError(f"values[{i}]: unknown kind {kind!r}")
            name = v.get("name")
            if name is not None and not isinstance(name, str):
                raise GraphFormatError(f"values[{i}]: name must be a string")
            g.values[vid] = Value(vid, tuple(shape), dtype, kind, name)
            g._next = max(g._next, vid + 1)
        for field_name in ("inputs", "outputs", "state"):
            ids = data[field_name]
            if not isinstance(ids, list) or not all(isinstance(x, int) and x in g.values
                                                   for x in ids):
                raise GraphFormatError(f"'{field_name}' must list known value ids")
            setattr(g, field_name, list(ids))
        defined = {v.id for v in g.values.values() if v.kind != "op"}
        for i, n in enumerate(data["nodes"]):
            where = f"nodes[{i}]"
            op = n["op"]
            if op not in allowed_ops:
                raise GraphFormatError(
                    f"{where}: op {op!r} is not a known primitive; refusing to run this graph"
                )
            args = decode({"$tuple": n["args"]}, where)
            kwargs = n.get("kwargs", {})
            if not isinstance(kwargs, dict):
                raise GraphFormatError(f"{where}: kwargs must be an object")
            kwargs = {str(k): decode(v, where) for k, v in kwargs.items()}
            extra = n.get("extra", {})
            if not isinstance(extra, dict):
                raise GraphFormatError(f"{where}: extra must be an object")
            extra = {str(k): decode(v, where) for k, v in extra.items()}
            outputs = n.get("outputs", [])
            mutates = n.get("mutates", [])
            scope = n.get("scope")
            node = Node(op, args, kwargs, list(outputs), list(mutates),
                        scope if isinstance(scope, str) else None, extra)
            for r in node.refs():
                if r not in defined:
                    raise GraphFormatError(f"{where}: uses value %{r} before it is defined")
            for o in outputs:
                if not isinstance(o, int) or o not in g.values or o in defined:
                    raise GraphFormatError(f"{where}: bad output id {o!r}")
                defined.add(o)
            g.nodes.append(node)
        for o in g.outputs:
            if o not in defined:
                raise GraphFormatError(f"output %{o} is never computed")
    except (KeyError, TypeError) as err:
        raise GraphFormatError(f"malformed graph JSON: {err!r}") from None
    return g
