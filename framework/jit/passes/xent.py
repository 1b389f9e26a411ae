"""Softmax cross-entropy: the loss and its gradient as one ``softmax_xent`` kernel.

``F.cross_entropy(logits, target)`` (class indices, mean over the targets that are not
``ignore_index``) traces as about twenty primitives on small arrays — log-softmax, the
picked log-probabilities, the count of valid targets and its guarded reciprocal, then the
gradient ``softmax - onehot`` (1 subtracted at the targets) scaled per row. In a training
step the graph holds both the loss and that gradient, so the whole subgraph becomes one
kernel that returns both: on the NumPy backend a dozen array calls instead of twenty-odd
primitives (each a Python call with its own checks and temporaries), with the same
operations in the same order, so the same bits. Other backends run the primitives of the
original subgraph. Saved programs never hold the kernel: passes run when a program is built
or loaded.

The pattern is recognised exactly (every link, constant and shape is checked); anything
else — class weights, other reductions, an upstream gradient other than the loss's own —
is left as it is. Intermediate values used elsewhere stay (dead-code elimination removes
the rest).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...backend import numpy_backend as _numpy_backend
from ..analysis import alias_groups
from ..ir import Graph, Node, Ref

OP = "softmax_xent"
MAX_ROWS = 1 << 28  # the largest array a loaded program may hold


class _NoMatch(Exception):
    pass


class _Matcher:
    def __init__(self, graph: Graph) -> None:
        self.g = graph
        self.producer = {o: (i, n) for i, n in enumerate(graph.nodes) for o in n.outputs
                         if not n.mutates}
        self.users: dict[int, list[tuple[int, Node]]] = {}
        for i, n in enumerate(graph.nodes):
            for r in n.refs():
                self.users.setdefault(r, []).append((i, n))

    def node(self, a: Any, op: str, nargs: int | None = None) -> Node:
        if type(a) is not Ref or a.id not in self.producer:
            raise _NoMatch
        n = self.producer[a.id][1]
        if n.op != op or (nargs is not None and len(n.args) != nargs) or len(n.outputs) != 1:
            raise _NoMatch
        return n

    def const(self, a: Any) -> np.ndarray:
        if type(a) is not Ref or a.id not in self.g.consts or a.id in self.g.volatile:
            raise _NoMatch
        return np.asarray(self.g.consts[a.id])

    def user(self, vid: int, op: str, pred: Any = None) -> tuple[int, Node]:
        for i, n in self.users.get(vid, ()):
            if n.op == op and (pred is None or pred(n)):
                return i, n
        raise _NoMatch


def _same(a: Any, vid: int) -> bool:
    return type(a) is Ref and a.id == vid


def _check(ok: bool) -> None:
    if not ok:
        raise _NoMatch


def _is_arange(g: Graph, m: _Matcher, a: Any, rows: int) -> bool:
    """Whether ``a`` is ``0, 1, ..., rows - 1`` (a folded constant or an ``arange`` node)."""
    if type(a) is Ref and a.id in g.consts:
        ar = m.const(a)
        return ar.shape == (rows,) and ar.dtype.kind in "iu" and bool(
            (ar == np.arange(rows)).all())
    n = m.node(a, "arange")
    return n.args in ((rows,), (0, rows)) and not n.kwargs


def _match(g: Graph, m: _Matcher, li: int, lsm: Node) -> dict:
    """The pattern around ``lsm = log_softmax(x, axis=1)``; raises _NoMatch."""
    _check(lsm.kwargs == {"axis": 1} and len(lsm.args) == 1 and type(lsm.args[0]) is Ref)
    x, lv = lsm.args[0].id, lsm.outputs[0]
    xv = g.values[x]
    _check(len(xv.shape) == 2 and all(isinstance(d, int) for d in xv.shape)
           and np.dtype(xv.dtype) in (np.float32, np.float64) and xv.shape[0] > 0)
    rows, classes = xv.shape
    dt = np.dtype(xv.dtype)
    # loss: astype(asarray(multiply(sum(multiply(negative(getitem(L, (arange, ts))), cf)),
    #                               inv)), dt)
    _, pick = m.user(lv, "getitem")
    _check(len(pick.args) == 2 and isinstance(pick.args[1], tuple) and len(pick.args[1]) == 2)
    _check(_is_arange(g, m, pick.args[1][0], rows))
    ts_ref = pick.args[1][1]
    ts = m.node(ts_ref, "where", 3)
    valid = m.node(ts.args[0], "not_equal", 2)
    t = valid.args[0]
    ignore = valid.args[1]
    _check(type(t) is Ref and _same(ts.args[1], t.id) and ts.args[2] == 0
           and type(ts.args[2]) is int and type(ignore) is int)
    tv = g.values[t.id]
    _check(tv.shape == (rows,) and np.dtype(tv.dtype).kind in "iu")
    _, neg = m.user(pick.outputs[0], "negative")
    _, losses = m.user(neg.outputs[0], "multiply")
    _check(len(losses.args) == 2 and _same(losses.args[0], neg.outputs[0]))
    cf = m.node(losses.args[1], "astype", 2)
    _check(_same(cf.args[0], valid.outputs[0]) and np.dtype(cf.args[1]) == dt)
    _, total = m.user(losses.outputs[0], "sum")
    _check(len(total.args) == 1 and total.kwargs in ({}, {"axis": None, "keepdims": False}))
    _, mult = m.user(total.outputs[0], "multiply")
    _check(len(mult.args) == 2 and _same(mult.args[0], total.outputs[0]))
    inv = m.node(mult.args[1], "where", 3)
    empty = m.node(inv.args[0], "equal", 2)
    den = m.node(empty.args[0], "sum", 1)
    _check(_same(den.args[0], cf.outputs[0]) and den.kwargs in ({}, {"axis": None,
                                                                     "keepdims": False})
           and empty.args[1] == 0)
    nan = m.const(inv.args[1])
    _check(nan.shape == () and nan.dtype == dt and bool(np.isnan(nan)))
    recip = m.node(inv.args[2], "divide", 2)
    one = m.const(recip.args[0])
    _check(one.shape == () and one.dtype == dt and float(one) == 1.0)
    guard = m.node(recip.args[1], "where", 3)
    _check(_same(guard.args[0], empty.outputs[0]) and _same(guard.args[1], recip.args[0].id)
           and _same(guard.args[2], den.outputs[0]))
    _, asarr = m.user(mult.outputs[0], "asarray")
    _check(len(asarr.args) == 1 and not asarr.kwargs)
    li_loss, loss = m.user(asarr.outputs[0], "astype")
    _check(len(loss.args) == 2 and np.dtype(loss.args[1]) == dt and not loss.kwargs)
    # gradient: d = exp(L); d[rows, ts] = d[rows, ts] - 1.0 (softmax - onehot);
    # multiply(d, reshape(multiply(cf, inv), (M, 1)), out=d)
    ei, sm = m.user(lv, "exp")
    _check(len(sm.args) == 1 and not sm.kwargs)
    d, start = sm.outputs[0], ei
    _, got = m.user(d, "getitem")
    _check(len(got.args) == 2 and got.args[1] == pick.args[1])
    _, dec = m.user(got.outputs[0], "subtract")
    _check(len(dec.args) == 2 and _same(dec.args[0], got.outputs[0]) and dec.args[1] == 1.0
           and type(dec.args[1]) is float and not dec.kwargs)
    _, put = m.user(dec.outputs[0], "setitem")
    _check(len(put.args) == 3 and _same(put.args[0], d) and put.args[1] == pick.args[1]
           and _same(put.args[2], dec.outputs[0]) and put.mutates == [d])
    drop = {id(loss), id(sm), id(got), id(dec), id(put)}
    inner = {id(got), id(put)}
    mi, scale = m.user(d, "multiply", lambda n: n.mutates == [d] and "out" in n.kwargs)
    _check(len(scale.args) == 2 and _same(scale.args[0], d) and not scale.outputs
           and set(scale.kwargs) == {"out"} and _same(scale.kwargs["out"], d))
    sct = m.node(scale.args[1], "reshape", 2)
    _check(tuple(sct.args[1]) == (rows, 1))
    sc = m.node(sct.args[0], "multiply", 2)
    _check(_same(sc.args[0], cf.outputs[0]) and _same(sc.args[1], inv.outputs[0]))
    drop.add(id(scale))
    # nothing else reads the unfinished gradient, nothing else writes it
    _check(all(i == mi or id(n) in inner for i, n in m.users.get(d, ()) if start < i <= mi))
    _check(all(n is scale or id(n) in inner or d not in n.mutates for n in g.nodes))
    return {"x": x, "t": t.id, "ignore": ignore, "loss": loss.outputs[0], "grad": d,
            "rows": rows, "classes": classes, "drop": drop,
            "at": min(li_loss, mi), "from": li}


def run(graph: Graph) -> dict:
    found = []
    m = _Matcher(graph)
    for i, n in enumerate(graph.nodes):
        if n.op != "log_softmax":
            continue
        try:
            found.append(_match(graph, m, i, n))
        except _NoMatch:
            continue
    if not found:
        return {"fused": 0}
    groups = alias_groups(graph)
    place: dict[int, Node] = {}
    drop: set[int] = set()
    fused = 0
    for f in found:
        # the kernel reads x and t where the loss or the gradient is first needed: neither
        # may be written in between
        roots = {groups.find(f["x"]), groups.find(f["t"])}
        if any(groups.find(w) in roots for n in graph.nodes[f["from"]:f["at"]]
               for w in n.mutates):
            continue
        node = Node(OP, (Ref(f["x"]), Ref(f["t"])), {}, [f["loss"], f["grad"]], [],
                    graph.nodes[f["at"]].scope,
                    {"ignore_index": f["ignore"], "rows": f["rows"],
                     "classes": f["classes"]})
        place[f["at"]] = node
        drop |= f["drop"]
        fused += 1
    nodes = []
    for i, n in enumerate(graph.nodes):
        if i in place:
            nodes.append(place[i])
        if id(n) not in drop:
            nodes.append(n)
    graph.nodes = nodes
    return {"fused": fused}


def build_kernel(node: Node, bk: Any) -> Any:
    """The callable of a ``softmax_xent`` node: ``fn(logits, target) -> (loss, grad)``."""
    e = node.extra
    try:
        ignore, rows, classes = e["ignore_index"], e["rows"], e["classes"]
    except KeyError:
        raise ValueError("softmax_xent: malformed node attributes") from None
    if not all(type(v) is int for v in (ignore, rows, classes)) or not (
            0 < rows <= MAX_ROWS and 0 < classes <= MAX_ROWS):
        raise ValueError("softmax_xent: malformed node attributes")
    arange = bk.arange(rows)
    shape = (rows, classes)
    if type(bk) is _numpy_backend.NumpyBackend:
        return _numpy_kernel(ignore, arange, shape)

    def softmax_xent(x: Any, t: Any) -> tuple:
        # the primitives of the recognised subgraph, in its order
        _check_shapes(x, t, shape)
        dt = x.dtype
        valid = bk.not_equal(t, ignore)
        ts = bk.where(valid, t, 0)
        lsm = bk.log_softmax(x, axis=1)
        cf = bk.astype(valid, dt)
        total = bk.sum(bk.multiply(bk.negative(bk.getitem(lsm, (arange, ts))), cf))
        den = bk.sum(cf)
        empty = bk.equal(den, 0)
        one = bk.asarray(1.0, dtype=dt)
        inv = bk.where(empty, bk.asarray(float("nan"), dtype=dt),
                       bk.divide(one, bk.where(empty, one, den)))
        loss = bk.astype(bk.asarray(bk.multiply(total, inv)), dt)
        d = bk.exp(lsm)
        at = (arange, ts)
        bk.setitem(d, at, bk.subtract(bk.getitem(d, at), 1.0))
        bk.multiply(d, bk.reshape(bk.multiply(cf, inv), (rows, 1)), out=d)
        return loss, d

    return softmax_xent


def _check_shapes(x: Any, t: Any, shape: tuple) -> None:
    if tuple(x.shape) != shape or tuple(t.shape) != shape[:1]:
        raise ValueError(f"softmax_xent: logits {tuple(x.shape)} and targets "
                         f"{tuple(t.shape)} do not match the program's {shape}")


def _numpy_kernel(ignore: int, arange: np.ndarray, shape: tuple) -> Any:
    from ...backend.fused import log_softmax

    exp, multiply, not_equal, add_reduce = np.exp, np.multiply, np.not_equal, np.add.reduce

    def softmax_xent(x: np.ndarray, t: np.ndarray) -> tuple:
        if x.shape != shape or t.shape != shape[:1]:
            _check_shapes(x, t, shape)
        dt = x.dtype
        valid = not_equal(t, ignore)
        ts = np.where(valid, t, 0)
        lsm = log_softmax(x, axis=1)
        cf = valid.astype(dt)
        total = add_reduce(multiply(-lsm[arange, ts], cf), axis=None)
        den = add_reduce(cf, axis=None)
        one = dt.type(1.0)
        inv = dt.type("nan") if den == 0 else one / den
        loss = np.asarray(multiply(total, inv), dtype=dt)
        d = exp(lsm)
        d[arange, ts] -= one
        d *= multiply(cf, inv)[:, None]
        return loss, d

    return softmax_xent
