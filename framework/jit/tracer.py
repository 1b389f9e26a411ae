"""Tracing: run the eager function once and record every backend primitive it calls.

Every eager op, the autograd engine's gradient rules and in-place updates reach the arrays
through ``tensor._bk.<primitive>(...)``. While tracing, the backend object gets recording
wrappers as *instance* attributes (shadowing the class's primitives; removed afterwards), so
the ordinary eager run of the user's function leaves behind a :class:`~framework.jit.ir.Graph`.
The traced call is a real eager call: its results are returned to the user as they are.

What the recording does with arrays it has not seen before:

- arrays of the function's tensor arguments are ``input`` values;
- arrays of known parameters, buffers and gradients (of the modules and optimizers the
  function can reach) are ``state`` values, read afresh from their tensors on every run;
- arrays handed to ``from_numpy``/``asarray`` are literals, snapshotted as constants;
- any other array is captured by reference (a constant that may change between runs).

Python that reads tensor values (``.item()``, ``bool(t)``, ``.tolist()``, ``.numpy()``) makes
the trace unusable: it is a *graph break*, recorded with the user's file and line (the rest
of the call simply continues eagerly). One read is let through: an ``.item()`` in the static
function's own ``return`` statement (``return loss.item()``), which the bytecode check
:func:`_straight_to_return` and the number it gives (a :class:`ReadValue`) show to be only
returned, becomes a program output, read afresh on every replay. Optimizer
steps and ``fw.jit.ignore`` functions are recorded as ``host_call`` nodes that run eagerly on
every replay.
"""

from __future__ import annotations

import dis
import functools
import importlib
import os
import sys
import types
from typing import Any

import numpy as np

from .. import creation as _creation
from ..backend.primitives import PRIMITIVES
from ..tensor import Tensor
from . import sizes as _sizes
from .ir import Graph, Node, Ref, RngArg, TensorArg, map_leaves

_SIZES = frozenset({_sizes.SizeInt, _sizes.SizeFloat})

# the module, not fw.tensor (the function that shadows it as an attribute of the package)
_tensor_mod = importlib.import_module("framework.tensor")
_wrap = Tensor._wrap

_FRAMEWORK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

# primitives that only answer questions about shapes/memory: they run untraced
_UNTRACED = frozenset({"may_share_memory", "broadcast_shapes"})
# primitives whose result shape depends on the values: a static graph cannot hold them
_DATA_DEPENDENT = frozenset({"nonzero", "unique"})

_active: Trace | None = None


class GraphBreakError(RuntimeError):
    """``full_graph=True`` and the function does something a static graph cannot hold."""


_READ_REASON = "Python reads a tensor's value ({what}), so the code that follows may depend on it"
# .item() numbers: only those read in the return statement and returned as they are, after
# the last tensor op, can be captured
_USED = "Python uses a tensor's value (item()), so the code that follows may depend on it"
_OPS_AFTER = ("Python reads a tensor's value (item()) before the function's last tensor op, so "
              "the ops that follow may depend on it")
_NOT_RETURNED = ("Python reads a tensor's value (item()) and does not return it as it is, so "
                 "the code that follows may depend on it")
_NOT_IN_RETURN = ("Python reads a tensor's value (item()) outside the static function's "
                  "return statement, so the code that follows may depend on it")
_MORE_FOLLOWS = ("Python reads a tensor's value (item()) and calls, assignments or branches "
                 "follow before the return, so they may depend on it (only .item() calls "
                 "after the last tensor op, returned as they are, can be captured)")

_CALLS = frozenset({"CALL", "CALL_FUNCTION", "CALL_METHOD", "CALL_FUNCTION_KW", "CALL_KW",
                    "CALL_FUNCTION_EX"})
_NOT_STRAIGHT = ("STORE_", "DELETE_", "COPY", "DUP_", "SWAP", "ROT_", "YIELD", "SEND", "RAISE",
                 "RERAISE", "SETUP_", "BEFORE_", "PUSH_EXC", "POP_EXCEPT", "WITH_", "IMPORT_")
_JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)


@functools.lru_cache(maxsize=256)
def _instructions(code: Any) -> tuple:
    return tuple(dis.get_instructions(code))


def _straight_to_return(frame: Any) -> bool:
    """Whether ``frame``, from its current instruction on, runs straight into ``return``:
    no jump, no store, no copy of a stack value and no call but ``.item()`` calls. Then the
    number being read can only end up in the returned value or be consumed by one
    expression (and so not be returned as it is)."""
    calls = items = 0
    for ins in _instructions(frame.f_code):
        if ins.offset <= frame.f_lasti:
            continue
        name = ins.opname
        if name in ("RETURN_VALUE", "RETURN_CONST"):
            return calls == items
        if ins.opcode in _JUMPS or name.startswith(_NOT_STRAIGHT):
            return False
        if name in _CALLS:
            calls += 1
        elif name in ("LOAD_METHOD", "LOAD_ATTR") and ins.argval == "item":
            items += 1
    return False


class _Read:
    """One ``.item()`` number handed out while tracing (see :class:`ReadValue`)."""

    __slots__ = ("trace", "vid", "where", "live")

    def __init__(self, trace: Trace, vid: int, where: str) -> None:
        self.trace = trace
        self.vid = vid
        self.where = where
        self.live = True


class ReadValue(float):
    """The float ``Tensor.item()`` returns while tracing: an ordinary float, except that using
    it while the trace runs (comparing, arithmetic, ``bool``/``int``/``round``, formatting or
    printing, hashing) is a graph break at that line, because what Python does next may
    depend on the value. Read in the static function's ``return`` statement and returned as
    it is, after the function's last tensor op, it becomes a program output (``return
    loss.item()``); the caller gets a plain float."""

    __slots__ = ("read",)


class ReadInt(int):
    """:class:`ReadValue` for the int ``.item()`` of an integer tensor gives (a count of
    correct predictions); an ``int`` subclass, so never one of Python's shared small ints."""


READS = (ReadValue, ReadInt)
# methods that only copy or describe the object (copy.copy, sys.getsizeof) are not a use
_NOT_A_USE = frozenset({"__new__", "__init__", "__getattribute__", "__setattr__",
                        "__delattr__", "__init_subclass__", "__subclasshook__", "__reduce__",
                        "__reduce_ex__", "__getnewargs__", "__getstate__", "__sizeof__",
                        "__dir__"})


def _used(base: Any) -> Any:
    def method(self: Any, *args: Any) -> Any:
        read = getattr(self, "read", None)
        if read is not None and read.live:
            read.trace.graph_break(_USED)
        return base(self, *args)

    method.__name__ = base.__name__
    return method


for _cls, _base in ((ReadValue, float), (ReadInt, int)):
    for _name, _attr in vars(_base).items():
        # every method of the number (not its class methods, like int.from_bytes)
        if _name not in _NOT_A_USE and isinstance(_attr, (types.WrapperDescriptorType,
                                                          types.MethodDescriptorType)):
            setattr(_cls, _name, _used(_attr))
del _cls, _base, _name, _attr


class HostValue:
    """A Python object passed to a host call (kept by reference, never serialized)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __repr__(self) -> str:
        return f"<{type(self.obj).__name__}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HostValue) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)


class _Unsupported(Exception):
    pass


def user_location() -> str:
    """``file:line`` of the innermost frame outside the framework package (the user's code)."""
    f = sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(_FRAMEWORK_DIR):
        f = f.f_back
    if f is None:
        return "<unknown>"
    return f"{f.f_code.co_filename}:{f.f_lineno}"


class Candidate:
    """A tensor whose ``.data``/``.grad`` the program reads or rebinds (parameters mostly)."""

    __slots__ = ("tensor", "name", "grad_at_start", "data_at_start", "requires_grad_at_start")

    def __init__(self, tensor: Tensor, name: str) -> None:
        self.tensor = tensor
        self.name = name
        self.grad_at_start = tensor.grad is not None
        self.data_at_start = tensor.data
        self.requires_grad_at_start = tensor.requires_grad


class Trace:
    """The result of tracing one call (see :func:`trace`)."""

    def __init__(self) -> None:
        self.graph = Graph()
        self.ids: dict[int, int] = {}
        self.keep: list[Any] = []
        self.slots: dict[int, tuple[Tensor, str, str]] = {}
        self.bindings: list[tuple[int, Tensor, str]] = []  # state value <- tensor.data/.grad
        self.candidates: dict[int, Candidate] = {}
        self.modules: list[Any] = []
        self.module_names: dict[int, str] = {}
        self.end_bindings: list[tuple[Tensor, str, int | None]] = []
        self.volatile: set[int] = set()
        self.out_template: Any = None
        self.broken: tuple[str, str] | None = None
        self.full_graph = False
        self.paused = 0
        self.backward_ran = False
        self.scope: list[str] = []
        self.outputs_need_grad = False
        self.host_only: set[int] = set()
        self.internal_backward = False  # the jit's own fw.grad (a static forward's backward)
        self.called_modules: dict[int, Any] = {}
        self.optimizer_guards: list[tuple[Any, tuple]] = []
        self.reads: list[_Read] = []  # .item() numbers handed out (see ReadValue)
        self.fn_code: Any = None  # the static function's code: where .item() may be returned
        self.size_checks: list = []  # Python conditions on dynamic sizes (jit.sizes)

    # ----- registration ----------------------------------------------------------------------
    def add_candidate(self, t: Tensor, name: str) -> None:
        if id(t) in self.candidates:
            return
        self.candidates[id(t)] = Candidate(t, name)
        if id(t.data) not in self.slots:
            self.slots[id(t.data)] = (t, "data", name)
        g = t.grad
        if g is not None and id(g.data) not in self.slots and id(g.data) not in self.ids:
            self.slots[id(g.data)] = (t, "grad", name + ".grad")

    def add_input(self, arr: Any, name: str) -> int:
        vid = self.ids.get(id(arr))
        if vid is not None:
            return vid
        vid = self.graph.new_value(arr.shape, arr.dtype, "input", name)
        self.graph.inputs.append(vid)
        self.ids[id(arr)] = vid
        self.keep.append(arr)
        return vid

    def ref_of(self, arr: Any, literal: bool = False) -> int:
        vid = self.ids.get(id(arr))
        if vid is not None:
            return vid
        g = self.graph
        slot = self.slots.get(id(arr))
        if slot is not None:
            t, attr, name = slot
            vid = g.new_value(arr.shape, arr.dtype, "state", name)
            g.state.append(vid)
            self.bindings.append((vid, t, attr))
        elif literal or isinstance(arr, np.generic):
            vid = g.add_const(np.array(arr, copy=True), "literal")
        else:
            vid = g.add_const(arr, "captured")
            self.volatile.add(vid)
        self.ids[id(arr)] = vid
        self.keep.append(arr)
        return vid

    def encode(self, obj: Any, literal: bool = False) -> Any:
        if isinstance(obj, (np.ndarray, np.generic)):
            return Ref(self.ref_of(obj, literal))
        if type(obj) in _SIZES:  # a size tracked while tracing (framework.jit.sizes)
            return _sizes.plain(obj)
        if type(obj) is slice:
            return slice(_sizes.plain(obj.start), _sizes.plain(obj.stop),
                         _sizes.plain(obj.step))
        if obj is None or isinstance(obj, (bool, int, float, str, np.dtype)) \
                or obj is Ellipsis:
            return obj
        if isinstance(obj, tuple):
            return tuple(self.encode(o, literal) for o in obj)
        if isinstance(obj, list):
            return [self.encode(o, literal) for o in obj]
        if isinstance(obj, dict):
            return {k: self.encode(v, literal) for k, v in obj.items()}
        if isinstance(obj, np.random.Generator):
            return RngArg(None if obj is _creation.default_generator() else obj)
        if isinstance(obj, type) and issubclass(obj, np.generic):
            return np.dtype(obj)
        if isinstance(obj, Tensor):
            raise _Unsupported("a Tensor was passed to a backend primitive")
        raise _Unsupported(f"a backend primitive got an argument of type {type(obj).__name__}")

    def register_outputs(self, result: Any) -> list[int]:
        if isinstance(result, (np.ndarray, np.generic)):
            vid = self.graph.new_value(np.shape(result), result.dtype, "op")
            self.ids[id(result)] = vid
            self.keep.append(result)
            return [vid]
        if isinstance(result, (tuple, list)) and all(
                isinstance(r, (np.ndarray, np.generic)) for r in result):
            out = []
            for r in result:
                out.extend(self.register_outputs(r))
            return out
        raise _Unsupported(f"a backend primitive returned a {type(result).__name__}")

    # ----- events ----------------------------------------------------------------------------
    def graph_break(self, reason: str, where: str | None = None) -> None:
        if self.broken is not None:
            return
        where = where or user_location()
        if self.full_graph:
            raise GraphBreakError(f"{where}: {reason}; this cannot be part of a static graph "
                                  "(full_graph=True)")
        self.broken = (reason, where)

    def record(self, name: str, orig: Any, args: tuple, kwargs: dict) -> Any:
        if self.paused or self.broken is not None or name in _UNTRACED:
            return orig(*args, **kwargs)
        if self.reads:
            self._after_read()
            return orig(*args, **kwargs)
        if name in _DATA_DEPENDENT or (name == "getitem" and _bool_index(args[1])):
            self.graph_break(f"the shape of {name}'s result depends on tensor values "
                             "(boolean masks, nonzero, unique)")
            return orig(*args, **kwargs)
        literal = name in ("from_numpy", "asarray")
        try:
            eargs = self.encode(args, literal)
            ekw = self.encode(kwargs, literal)
        except _Unsupported as err:
            self.graph_break(str(err))
            return orig(*args, **kwargs)
        mutates: list[int] = []
        out = kwargs.get("out")
        if out is not None:
            if isinstance(out, tuple):
                out = out[0]
                ekw["out"] = ekw["out"][0]
            mutates.append(ekw["out"].id)
        elif name in PRIMITIVES and PRIMITIVES[name].mutates:
            if isinstance(eargs[0], Ref):
                mutates.append(eargs[0].id)
        result = orig(*args, **kwargs)
        outputs: list[int] = []
        if not mutates:
            try:
                outputs = self.register_outputs(result)
            except _Unsupported as err:
                self.graph_break(str(err))
                return result
        self.graph.nodes.append(Node(name, eargs, ekw, outputs, mutates,
                                     self.scope[-1] if self.scope else None))
        return result

    def capture_optimizer(self, opt: Any) -> bool:
        """Whether ``opt.step()`` can be recorded into the program instead of being a host
        call: plain SGD whose Python-side state does not change from step to step (no
        momentum, or momentum buffers that already exist and are updated in place). Its
        options are guarded; an optimizer whose options change (a schedule) becomes a host
        call on the next trace."""
        from ..optim import SGD

        if type(opt) is not SGD or id(opt) in self.host_only or self.paused \
                or self.broken is not None:
            return False
        for group in opt.param_groups:
            if group["momentum"] != 0 and any(
                    p.grad is not None and "momentum_buffer" not in opt.state.get(p, {})
                    for p in group["params"]):
                return False
        for name, p in _optimizer_params(opt):
            self.add_candidate(p, name)
        self.optimizer_guards.append((opt, sgd_fingerprint(opt)))
        return True

    def on_value_read(self, t: Tensor, what: str) -> Any:
        """Python reads ``t``'s values. For ``item()`` returns the value (unrecorded): a
        :class:`ReadValue` (or :class:`ReadInt`) for a number that may yet become an
        output."""
        value = None
        if what == "item()":
            self.paused += 1
            try:
                value = _item(t._bk, t.data)
            finally:
                self.paused -= 1
        if self.paused:
            return value
        if (what == "item()" and type(value) in (float, int) and self.broken is None
                and (id(t.data) in self.ids or id(t.data) in self.slots)):
            caller = sys._getframe(2)  # the code that called Tensor.item
            if caller.f_code is not self.fn_code:
                self.graph_break(_NOT_IN_RETURN)
                return value
            if not _straight_to_return(caller):
                self.graph_break(_MORE_FOLLOWS)
                return value
            read = _Read(self, self.ref_of(t.data), user_location())
            self.reads.append(read)
            out = (ReadValue if type(value) is float else ReadInt)(value)
            out.read = read
            return out
        self.graph_break(_READ_REASON.format(what=what))
        return value

    def _after_read(self) -> None:
        """A tensor op (or host call) runs after an ``.item()``: the read was not the end."""
        self.graph_break(_OPS_AFTER, self.reads[0].where)

    def settle_reads(self, result: Any) -> Any:
        """After the call: every ``.item()`` number must be in ``result`` as it is (else a
        graph break at its line). Returns ``result`` with plain numbers for the caller."""
        if not self.reads:
            return result
        for read in self.reads:
            read.live = False
        returned: set[int] = set()
        plain = _plain_reads(result, returned)
        for read in self.reads:
            if id(read) not in returned:
                self.graph_break(_NOT_RETURNED, read.where)
        return plain

    def host_call(self, fn: Any, label: str, args: tuple, kwargs: dict) -> Any:
        """Run ``fn`` eagerly now and record a ``host_call`` node that runs it on every replay."""
        if self.broken is not None or self.paused:
            return fn(*args, **kwargs)
        if self.reads:
            self._after_read()
            return fn(*args, **kwargs)
        opt_params = _optimizer_params(args[0]) if label == "optimizer" and args else []
        for p_name, p in opt_params:
            self.add_candidate(p, p_name)
        binds = []
        for c in self.candidates.values():
            g = c.tensor.grad
            binds.append((c.tensor, None if g is None else self.ref_of(g.data)))
        try:
            eargs = self._encode_host(args)
            ekw = self._encode_host(kwargs)
        except _Unsupported as err:
            self.graph_break(str(err))
            return fn(*args, **kwargs)
        datas = [(c, c.tensor.data) for c in self.candidates.values()]
        self.paused += 1
        try:
            result = fn(*args, **kwargs)
        finally:
            self.paused -= 1
        for c, d in datas:
            if c.tensor.data is not d:
                self.graph_break(f"{label} replaced the array of {c.name} instead of updating "
                                 "it in place")
                return result
        outputs: list[int] = []
        template = _template(result, lambda t: outputs.append(
            self.register_outputs(t.data)[0]) or outputs[-1])
        if template is _NOT_STATIC:
            self.graph_break(f"{label} returned a Python value that a replay cannot reproduce")
            return result
        self.graph.nodes.append(Node(
            "host_call", eargs, ekw, outputs, [],
            self.scope[-1] if self.scope else None,
            {"fn": fn, "label": label, "binds": binds, "result": template}))
        return result

    def _encode_host(self, obj: Any) -> Any:
        if isinstance(obj, Tensor):
            return TensorArg(self.ref_of(obj.data), obj.requires_grad)
        if isinstance(obj, tuple):
            return tuple(self._encode_host(o) for o in obj)
        if isinstance(obj, list):
            return [self._encode_host(o) for o in obj]
        if isinstance(obj, dict):
            return {k: self._encode_host(v) for k, v in obj.items()}
        if isinstance(obj, (np.ndarray, np.generic)):
            return Ref(self.ref_of(obj))
        return HostValue(obj)


class OutTensor:
    """Placeholder for a tensor in a result structure."""

    __slots__ = ("id",)

    def __init__(self, vid: int) -> None:
        self.id = vid

    def __repr__(self) -> str:
        return f"tensor(%{self.id})"


class OutItem:
    """Placeholder for a returned ``.item()`` number: output ``id`` as a Python number."""

    __slots__ = ("id",)

    def __init__(self, vid: int) -> None:
        self.id = vid

    def __repr__(self) -> str:
        return f"item(%{self.id})"


_NOT_STATIC = object()


def _template(obj: Any, on_tensor: Any, on_read: Any = None) -> Any:
    """``obj`` with tensors replaced by :class:`OutTensor` and, given ``on_read``, the
    :class:`ReadValue`/:class:`ReadInt` numbers by :class:`OutItem` (``_NOT_STATIC`` if
    impossible)."""
    if isinstance(obj, Tensor):
        return OutTensor(on_tensor(obj))
    if on_read is not None and type(obj) in READS and getattr(obj, "read", None):
        return OutItem(on_read(obj))
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return _sizes.plain(obj)  # a size returned while tracing: a plain number
    if isinstance(obj, (tuple, list)):
        items = [_template(o, on_tensor, on_read) for o in obj]
        if any(i is _NOT_STATIC for i in items):
            return _NOT_STATIC
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):
            return type(obj)(*items)
        return type(obj)(items)
    if isinstance(obj, dict):
        items = {k: _template(v, on_tensor, on_read) for k, v in obj.items()}
        if any(v is _NOT_STATIC for v in items.values()):
            return _NOT_STATIC
        return items
    return _NOT_STATIC


def rebuild(obj: Any, outs: list, bk: Any) -> Any:
    """The inverse of :func:`_template`: a result structure with the program's outputs
    ``outs`` (arrays of backend ``bk``) in place of its placeholders."""
    if isinstance(obj, OutTensor):
        return _wrap(outs[obj.id], bk)
    if isinstance(obj, OutItem):
        return _item(bk, outs[obj.id])
    if isinstance(obj, (list, tuple)):
        items = [rebuild(o, outs, bk) for o in obj]
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):
            return type(obj)(*items)
        return type(obj)(items)
    if isinstance(obj, dict):
        return {k: rebuild(v, outs, bk) for k, v in obj.items()}
    return obj


def _item(bk: Any, arr: Any) -> Any:
    """The Python number of a one-element array, as ``Tensor.item`` gives it."""
    return bk.to_numpy(arr).reshape(()).item()


def _plain_reads(obj: Any, found: set[int]) -> Any:
    """``obj`` with :class:`ReadValue`/:class:`ReadInt` leaves (ids of their reads into
    ``found``) made plain numbers; containers without any are returned as they are."""
    def leaf(v: Any) -> Any:
        if type(v) not in READS:
            return v
        found.add(id(getattr(v, "read", None)))
        return float.__float__(v) if type(v) is ReadValue else int.__int__(v)

    return map_leaves(obj, leaf)


def _bool_index(index: Any) -> bool:
    if isinstance(index, np.ndarray):
        return index.dtype == np.bool_
    if isinstance(index, (tuple, list)):
        return any(isinstance(i, np.ndarray) and i.dtype == np.bool_ for i in index)
    return False


def sgd_fingerprint(opt: Any) -> tuple:
    """SGD's options and momentum-buffer arrays: a recorded step is valid while they hold."""
    groups = tuple(
        (g["lr"], g["momentum"], g["dampening"], g["weight_decay"], g["nesterov"],
         g["maximize"], tuple(id(p) for p in g["params"]))
        for g in opt.param_groups)
    buffers = tuple(id(st["momentum_buffer"].data) for st in opt.state.values()
                    if st.get("momentum_buffer") is not None)
    return groups + (buffers,)


def _optimizer_params(opt: Any) -> list[tuple[str, Tensor]]:
    out = []
    for gi, group in enumerate(getattr(opt, "param_groups", [])):
        for pi, p in enumerate(group.get("params", [])):
            if isinstance(p, Tensor):
                out.append((f"optimizer.group{gi}.param{pi}", p))
    return out


# ----- installing and removing the recording hooks ---------------------------------------------

def _primitive_names(bk: Any) -> list[str]:
    names = []
    for name in PRIMITIVES:
        if name in _UNTRACED:
            continue
        try:
            getattr(bk, name)
        except AttributeError:
            continue
        names.append(name)
    for name in ("random_uniform", "random_normal", "random_integers", "random_permutation"):
        if name not in names and hasattr(bk, name):
            names.append(name)
    return names


def _wrapper(tr: Trace, name: str, orig: Any) -> Any:
    def recorded(*args: Any, **kwargs: Any) -> Any:
        return tr.record(name, orig, args, kwargs)

    recorded.__name__ = name
    return recorded


class _Installed:
    """Context manager: recording wrappers on the backend, hooks on Tensor/Module/Optimizer."""

    def __init__(self, tr: Trace, bk: Any) -> None:
        self.tr = tr
        self.bk = bk
        self.saved: dict[str, Any] = {}
        self.patched: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> Trace:
        global _active
        if _active is not None:
            raise RuntimeError("a trace is already running")
        tr, bk = self.tr, self.bk
        inst = bk.__dict__
        for name in _primitive_names(bk):
            if name in inst:
                self.saved[name] = inst[name]
            orig = getattr(bk, name)
            object.__setattr__(bk, name, _wrapper(tr, name, orig))
        _tensor_mod._value_hook = tr.on_value_read
        self._patch_backward()
        self._patch_optimizers()
        self._patch_modules()
        _active = tr
        return tr

    def __exit__(self, *exc: Any) -> None:
        global _active
        _active = None
        _tensor_mod._value_hook = None
        inst = self.bk.__dict__
        for name in _primitive_names(self.bk):
            inst.pop(name, None)
        inst.update(self.saved)
        for owner, attr, orig in reversed(self.patched):
            if orig is _MISSING:
                delattr(owner, attr)
            else:
                setattr(owner, attr, orig)

    def _patch(self, owner: Any, attr: str, new: Any) -> None:
        self.patched.append((owner, attr, owner.__dict__.get(attr, _MISSING)))
        setattr(owner, attr, new)

    def _patch_backward(self) -> None:
        tr = self.tr
        orig = _tensor_mod.run_backward

        def run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=None,
                         allow_unused=False):
            if not tr.paused and tr.broken is None and not tr.internal_backward:
                tr.backward_ran = True
                for i, leaf in enumerate(_leaves(outputs)):
                    tr.add_candidate(leaf, f"leaf{i}")
            return orig(outputs, grad_outputs, retain_graph, create_graph, inputs,
                        allow_unused)

        self.patched.append((_tensor_mod, "run_backward", orig))
        _tensor_mod.run_backward = run_backward
        import framework.autograd as _ag

        self.patched.append((_ag, "run_backward", _ag.run_backward))
        _ag.run_backward = run_backward

    def _patch_optimizers(self) -> None:
        try:
            from ..optim import Optimizer
        except ImportError:  # pragma: no cover - optim is part of the package
            return
        tr = self.tr
        seen = set()
        todo = [Optimizer]
        while todo:
            cls = todo.pop()
            if cls in seen:
                continue
            seen.add(cls)
            todo.extend(cls.__subclasses__())
            step = cls.__dict__.get("step")
            if step is None or getattr(step, "_skiff_host", False):
                continue

            def make(step: Any) -> Any:
                def host_step(self: Any, *args: Any, **kwargs: Any) -> Any:
                    if not args and not kwargs and tr.capture_optimizer(self):
                        return step(self)  # recorded like any other ops
                    return tr.host_call(_BoundStep(step, self), "optimizer", (self, *args),
                                        kwargs)

                host_step._skiff_host = True
                return host_step

            self._patch(cls, "step", make(step))

    def _patch_modules(self) -> None:
        try:
            from ..nn.module import Module
        except ImportError:  # pragma: no cover
            return
        tr = self.tr
        orig = Module.__call__

        def call(module: Any, *args: Any, **kwargs: Any) -> Any:
            name = tr.module_names.get(id(module))
            if name is None and not tr.paused:
                # a module the function reaches only indirectly: guard its mode too
                tr.called_modules.setdefault(id(module), module)
            if name is None or tr.paused:
                return orig(module, *args, **kwargs)
            tr.scope.append(name or type(module).__name__)
            try:
                return orig(module, *args, **kwargs)
            finally:
                tr.scope.pop()

        self._patch(Module, "__call__", call)


class _BoundStep:
    """``optimizer.step`` as a host function: called with the optimizer as first argument."""

    def __init__(self, step: Any, opt: Any) -> None:
        self.step = step
        self.opt = opt

    def __call__(self, opt: Any, *args: Any, **kwargs: Any) -> Any:
        return self.step(opt, *args, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self.opt).__name__}.step"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _BoundStep) and (other.step, other.opt) == (self.step,
                                                                              self.opt)

    def __hash__(self) -> int:
        return hash((id(self.step), id(self.opt)))


_MISSING = object()


def _leaves(outputs: Any) -> list[Tensor]:
    """Leaf tensors requiring grad that the graph of ``outputs`` reaches."""
    found: dict[int, Tensor] = {}
    seen: set[int] = set()
    stack = [o for o in outputs if isinstance(o, Tensor)]
    nodes = []
    for t in stack:
        if t._node is None:
            if t.requires_grad:
                found[id(t)] = t
        else:
            nodes.append(t._node)
    while nodes:
        node = nodes.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for t in node.inputs:
            if t is None:
                continue
            if t._node is None:
                if t.requires_grad:
                    found[id(t)] = t
            else:
                nodes.append(t._node)
    return list(found.values())


def active() -> Trace | None:
    """The running trace, if any."""
    return _active


def installed(tr: Trace, bk: Any) -> _Installed:
    return _Installed(tr, bk)
