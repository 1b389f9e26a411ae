"""``fw.jit.to_static``: trace once, optimize, replay — with guards and an eager fallback."""

from __future__ import annotations

import contextlib
import copy
import functools
import itertools
import os
import random
import sys
import sysconfig
import types
import warnings
import weakref
from typing import Any

import numpy as np

from .. import backend as _backend
from .. import creation as _creation
from .. import dtypes as _dt
from ..autograd.graph import Node, grad_mode
from ..tensor import Tensor
from . import sizes as _sizes
from . import tracer as _tracer
from .executor import Executable
from .ir import Graph, Sym, holds
from .passes import optimize
from .symbolic import dynamic_dims
from .tracer import OutTensor, Trace, _template, installed, rebuild

_wrap = Tensor._wrap

MAX_TRACES = 8  # per static function; more means the guards change on nearly every call


class JitWarning(UserWarning):
    """A static function falls back to eager or re-traces too often."""


class InputSpec:
    """The shape and dtype of one tensor argument; ``None`` in ``shape`` is a dynamic size.

    >>> import framework as fw
    >>> spec = fw.jit.InputSpec([None, 784], "float32")
    """

    def __init__(self, shape: Any, dtype: Any = "float32", name: str | None = None) -> None:
        self.shape = tuple(None if s is None or s == -1 else int(s) for s in shape)
        self.dtype = _dt.as_dtype(dtype)
        self.name = name

    def matches(self, t: Tensor) -> bool:
        if t.ndim != len(self.shape) or t.dtype != self.dtype:
            return False
        return all(s is None or s == n for s, n in zip(self.shape, t.shape, strict=True))

    def example(self, size: int = 2) -> Tensor:
        """A zero tensor of this spec, with ``size`` for every dynamic dimension."""
        shape = tuple(size if s is None else s for s in self.shape)
        return _wrap(_backend.active.zeros(shape, self.dtype), _backend.active)

    def __repr__(self) -> str:
        return f"InputSpec(shape={list(self.shape)}, dtype={self.dtype.name})"


def ignore(fn: Any) -> Any:
    """Keep ``fn`` eager inside static functions: each replay calls it (a host call).

    Use it for side effects that must happen on every call (logging, counters, Python-side
    state). Its tensor arguments arrive as tensors; the tensors it returns flow back into
    the program; a Python value it returns ends tracing for that signature (eager fallback).
    """

    @functools.wraps(fn)
    def eager_helper(*args: Any, **kwargs: Any) -> Any:
        tr = _tracer.active()
        if tr is None:
            return fn(*args, **kwargs)
        return tr.host_call(fn, getattr(fn, "__name__", "function"), args, kwargs)

    eager_helper._skiff_ignored = True
    return eager_helper


not_to_static = ignore


# ----- finding what a function touches ---------------------------------------------------------

@functools.cache
def _library_dirs() -> tuple[str, ...]:
    """Where library code lives (the standard library, installed packages, Skiff itself):
    helper functions from there are not followed for the globals they read."""
    paths = sysconfig.get_paths()
    dirs = {paths["stdlib"], paths["purelib"], paths["platlib"],
            os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    return tuple(os.path.join(os.path.abspath(d), "") for d in dirs)


@functools.lru_cache(maxsize=1024)
def _user_file(path: str) -> bool:
    """Whether a source file is the user's code: not under the standard library, the
    installed packages or Skiff (see :func:`_library_dirs`)."""
    return not os.path.abspath(path).startswith(_library_dirs())


def _user_function(value: Any) -> bool:
    """A Python function of the user's code (not the standard library, an installed package
    or Skiff), whose globals a static function calling it reads too."""
    if type(value) is not types.FunctionType:
        return False
    return _user_file(value.__code__.co_filename)


def _user_class(cls: type) -> bool:
    """A class of the user's code (a script, a notebook, a project module): not a builtin,
    the standard library, an installed package or Skiff. Its class attributes are state of
    the static functions that reach its instances."""
    mod = sys.modules.get(cls.__module__)
    path = getattr(mod, "__file__", None)
    if path is None:  # classes typed into a notebook or an interactive session
        return cls.__module__ == "__main__"
    return _user_file(path)


def _class_slots(objects: list) -> list[tuple[Any, str, type]]:
    """(class ``__dict__``, name, class) for the class attributes of the user classes of
    ``objects`` and their bases (dunder names aside): ``Net.scale = 3.0`` or a method
    replaced on the class changes what an instance computes."""
    slots: dict[tuple[type, str], tuple[Any, str, type]] = {}
    for cls in dict.fromkeys(type(obj) for obj in objects):
        for d, n, k in _class_chain_slots(cls):
            slots.setdefault((k, n), (d, n, k))
    return list(slots.values())


def _class_chain_slots(cls: type) -> list[tuple[Any, str, type]]:
    """:func:`_class_slots` for one class: every class attribute name of its user classes,
    in every class of the chain (a name later set on a subclass shadows the base's value)."""
    mro = [k for k in cls.__mro__ if k is not object and _user_class(k)]
    names = dict.fromkeys(n for k in mro for n in list(k.__dict__)
                          if not (n.startswith("__") and n.endswith("__")))
    return [(k.__dict__, n, k) for k in mro for n in names]


@functools.lru_cache(maxsize=256)
def _argument_class_slots(cls: type) -> tuple:
    """The class-attribute slots of an argument object's class, found once per class."""
    return tuple((d, n) for d, n, _ in _class_chain_slots(cls))


def _class_value(v: Any) -> Any:
    """A class attribute in a cache key: functions and descriptors by identity, lists and
    dicts too (at class level they are mostly registries and caches that other code fills),
    numbers and strings by value."""
    return v if type(v) in _BY_IDENTITY else _contents(v, 2)


_BY_IDENTITY = frozenset({types.FunctionType, property, staticmethod, classmethod})
_CALLABLES = frozenset({types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                        functools.partial})


def _global_reads(glb: dict, names: list) -> list[tuple[dict, str]]:
    """(globals dict, name) for each global the function reads, and for each global read by
    the user helper functions it names (followed through the helpers they name, up to 32
    functions): ``helper(x)`` reading a module-level ``SCALE`` is state of the caller."""
    pairs: dict[tuple[int, str], tuple[dict, str]] = {}
    todo, seen = [(glb, names)], set()
    while todo:
        d, ns = todo.pop()
        for n in ns:
            pairs.setdefault((id(d), n), (d, n))
            v = d.get(n)
            if _user_function(v) and id(v) not in seen and len(seen) < 32 \
                    and not getattr(v, "_skiff_ignored", False):
                seen.add(id(v))
                todo.append((v.__globals__, _code_names(v.__code__)))
    return list(pairs.values())


def _unwrap(fn: Any) -> tuple[Any, Any, list]:
    """(the plain function behind ``fn``, the object it is bound to or ``None``, the values
    ``functools.partial`` layers fix): a bound method gives its function and ``self``; a
    callable object (not a function) its class's ``__call__`` and itself."""
    owner, fixed = None, []
    for _ in range(8):
        if isinstance(fn, functools.partial):
            fixed += list(fn.args) + list(fn.keywords.values())
            fn = fn.func
        elif isinstance(fn, types.MethodType):
            owner = fn.__self__ if owner is None else owner
            fn = fn.__func__
        else:
            break
    if owner is None and not isinstance(fn, (types.FunctionType, type)) and callable(fn):
        call = _function_of(type(fn), "__call__")
        if call is not None:
            owner, fn = fn, call
    return fn, owner, fixed


def _discover(fn: Any, args: tuple, kwargs: dict) -> tuple[list, list]:
    """(modules with names, optimizers) reachable from the function and its arguments."""
    from ..nn.module import Module
    from ..optim import Optimizer

    modules: list[tuple[str, Any]] = []
    optimizers: list[Any] = []
    seen: set[int] = set()

    def visit(obj: Any, name: str, depth: int) -> None:
        if id(obj) in seen or depth > 3:
            return
        if isinstance(obj, Module):
            seen.add(id(obj))
            modules.append((name, obj))
        elif isinstance(obj, Optimizer):
            seen.add(id(obj))
            optimizers.append(obj)
        elif isinstance(obj, (list, tuple)):
            seen.add(id(obj))
            for i, o in enumerate(obj[:64]):
                visit(o, f"{name}.{i}", depth + 1)
        elif isinstance(obj, dict):
            seen.add(id(obj))
            for k, o in list(obj.items())[:64]:
                visit(o, f"{name}.{k}", depth + 1)

    target, self_obj, fixed = _unwrap(fn)
    if self_obj is not None:
        visit(self_obj, "", 0)
    for i, a in enumerate(fixed):
        visit(a, f"fixed{i}", 0)
    for i, a in enumerate(args):
        visit(a, f"arg{i}", 0)
    for k, a in kwargs.items():
        visit(a, k, 0)
    for cell, name in zip(getattr(target, "__closure__", None) or (),
                          getattr(getattr(target, "__code__", None), "co_freevars", ()),
                          strict=False):
        try:
            visit(cell.cell_contents, name, 0)
        except ValueError:
            pass
    code = getattr(target, "__code__", None)
    glb = getattr(target, "__globals__", {})
    if code is not None:
        for name in code.co_names:
            if name in glb:
                visit(glb[name], name, 0)
    return modules, optimizers


_BY_VALUE = (bool, int, float, complex, str, bytes, type(None))
_MISSING = object()
_MAX_READINGS = 64  # distinct module readings numbered per static function
_unique = itertools.count(1)


@functools.cache
def _watched_kinds() -> tuple:
    from ..nn.module import Module
    from ..optim import Optimizer

    return (np.generic, Tensor, Module, Optimizer)


def _watched(value: Any) -> bool:
    """Whether a Python binding is part of a static function's cache key: numbers, strings,
    ``None`` and tuples of them by value; tensors, modules and optimizers by identity."""
    if type(value) in _BY_VALUE or isinstance(value, _watched_kinds()):
        return True
    if isinstance(value, tuple):
        try:
            hash(value)
        except TypeError:
            return False
        return True
    return False


def _code_names(code: Any) -> list[str]:
    """Global names read by a code object and the code objects nested in it (lambdas,
    comprehensions, inner functions)."""
    names = list(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names.extend(_code_names(const))
    return list(dict.fromkeys(names))


_SMALL = 64  # lists and dicts with more items are watched by identity only
_SCALARS = frozenset(_BY_VALUE)
_NOT_STATE = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
              types.MethodType, functools.partial)


class _Same:
    """An object inside a snapshot, equal only to itself (a tensor's ``==`` is elementwise,
    and identity is what a replay depends on)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return type(other) is _Same and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)


def _contents(value: Any, depth: int = 0) -> Any:
    """A hashable snapshot of a value a static function may read: numbers, strings, ``None``
    and NumPy scalars by value; lists, tuples and dicts of up to ``_SMALL`` items by their
    contents (two levels deep); anything else (tensors, modules, functions) by identity."""
    t = type(value)
    if t in _BY_VALUE:
        return value
    if (t is list or t is tuple or t is dict) and depth < 2 and len(value) <= _SMALL:
        if t is dict:
            keys, items = list(value), list(value.values())
            if _SCALARS.issuperset(map(type, items)) and _SCALARS.issuperset(map(type, keys)):
                return (t, tuple(keys), tuple(items))  # the common case without calls
            return (t, tuple([_contents(k, 2) for k in keys]),
                    tuple([_contents(v, depth + 1) for v in items]))
        items = list(value)
        if _SCALARS.issuperset(map(type, items)):
            return (t, tuple(items))
        return (t, tuple([_contents(v, depth + 1) for v in items]))
    if isinstance(value, np.generic):
        return value
    return _Same(value)


def _plain_object(value: Any) -> bool:
    """An instance of an ordinary class (a trainer, a config namespace, a dataclass): the
    attributes a static function reads from it are part of its state."""
    if isinstance(value, _NOT_STATE) or isinstance(value, _watched_kinds()) \
            or isinstance(value, StaticFunction):
        return False
    try:
        return type(vars(value)) is dict
    except TypeError:  # no __dict__ (builtins, __slots__ classes)
        return False


def _deep(value: Any) -> bool:
    """Whether a binding is watched by its contents (lists, dicts, tuples holding them) or
    by the attributes read from it (ordinary objects), not by :func:`_watched`'s rules."""
    t = type(value)
    if t is list or t is dict:
        return True
    if t is tuple:
        return not _watched(value)
    return _plain_object(value)


class _AnyName(frozenset):
    """Every attribute name: code that calls ``getattr``/``vars`` or reads ``__dict__`` may
    read any attribute."""

    def __contains__(self, name: object) -> bool:
        return True


_DYNAMIC_READS = frozenset({"getattr", "vars", "__dict__", "attrgetter"})


@functools.lru_cache(maxsize=256)
def _attr_names(cls: type, names: tuple) -> frozenset:
    """The names a function whose code reads ``names`` may read as attributes of a ``cls``
    instance: its own names plus those of the methods and properties of ``cls`` it names
    (followed through the methods they name, a few levels); every name when any of that code
    reads attributes by a computed name (``getattr(self, name)``)."""
    found = set(names)
    todo, seen = list(names), 0
    while todo and seen < 32:
        attr = _function_of(cls, todo.pop())
        if attr is None:
            continue
        seen += 1
        for n in _code_names(attr.__code__):
            if n not in found:
                found.add(n)
                todo.append(n)
    if not _DYNAMIC_READS.isdisjoint(found):
        return _AnyName(found)
    return frozenset(found)


def _function_of(cls: type, name: str) -> Any:
    """The plain function behind ``cls.name`` (a method, static/class method or property
    getter), or ``None``."""
    for klass in cls.__mro__:
        attr = klass.__dict__.get(name)
        if attr is None:
            continue
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        elif isinstance(attr, property):
            attr = attr.fget
        return attr if isinstance(attr, types.FunctionType) else None
    return None


def _object_key(obj: Any, specs: list, pos: list, names: tuple) -> tuple:
    """An argument that is an ordinary object: its class, its tensors (program inputs, as
    :func:`_flatten` finds them: shape, dtype, ``requires_grad``) and the other attributes
    the function may read (numbers and strings by value, anything else by identity)."""
    read = _attr_names(type(obj), names)
    return ("object", type(obj), tuple([
        (n, _arg_key(v, specs, pos)) if isinstance(v, Tensor) else (n, _contents(v, 2))
        for n, v in list(vars(obj).items()) if n in read or isinstance(v, Tensor)]),
        tuple([_class_value(d.get(n, _MISSING)) for d, n in _argument_class_slots(type(obj))]))


class PythonState:
    """The Python state a static function reads besides its arguments, read on every call
    into the cache key, so that a program never replays with stale Python values.

    Watched: the globals its code names and its closure cells, when they hold numbers,
    strings, ``None``, tuples of them (by value) or tensors, modules, optimizers (by
    identity); for every module it reaches, its plain attributes of those kinds, its
    parameters, buffers and submodules (by identity) and its forward hooks. The modules are
    re-read only when ``Module._generation`` says some module changed.

    Read on every call by their contents (:func:`_contents`): globals, closure cells and
    module attributes holding lists or dicts (a config dict changed in place); and for
    ordinary objects (the ``self`` of a static method of a plain class, an object in a global
    or closure cell, one level of objects held by them) the attributes the function's code,
    or the code of the methods it names, may read. A list or dict that a traced call itself
    changes in place (a log the function appends to) is a side effect, not state: from then
    on it is watched by identity only (``sinks``). The class attributes of the user classes
    of those modules and objects (:func:`_class_slots`) are read on every call too.

    A tensor whose array the program captured by reference is also checked for a new array
    (``t.data = ...``) by the program's guard (:attr:`Program.captured_guard`).
    :meth:`bindings` names the tensors these places hold, for the check that a traced call
    rebinds none of them.
    """

    def __init__(self, fn: Any, modules: list, readings: dict,
                 sinks: set | None = None) -> None:
        from ..nn.module import Module

        target, owner, _ = _unwrap(fn)
        code = getattr(target, "__code__", None)
        self._glb = getattr(target, "__globals__", None) or {}
        self._names = _code_names(code) if code is not None else []
        # (globals dict, name) pairs: the function's own and those of the user helper
        # functions it names (followed a few levels; not library code)
        self._globals = _global_reads(self._glb, self._names)
        self.attr_names = tuple(dict.fromkeys(n for _, n in self._globals))
        self._cells = list(zip(code.co_freevars, getattr(target, "__closure__", None) or (),
                               strict=False)) if code is not None else []
        self.slots = [(d, n) for d, n in self._globals
                      if n in d and (_watched(d[n]) or _user_function(d[n]))]
        watched = [(n, cell) for n, cell in self._cells if _watched(_cell_value(cell, _MISSING))]
        self.cells = [cell for _, cell in watched]
        self._cell_names = [n for n, _ in watched]
        # (name, module) of every module reached: ``modules`` holds (name, root) pairs
        self.named = [(mname or type(m).__name__, m) for name, root in modules
                      for mname, m in root.named_modules(prefix=name)]
        self.modules = [m for _, m in self.named]
        self._module_cls = Module
        self._generation = -1
        # each distinct reading of the modules gets a number, the same for the static
        # function's whole life (``readings`` is its table); the key holds that number, so a
        # call does not hash the whole reading, and the readings stay referenced in the
        # table, so the identities in them stay unique
        self._readings = readings
        self._reading = 0
        # bindings read by their contents: [point id, dict or None (a cell), name or cell,
        # whether it is a sink]
        self._sinks = sinks if sinks is not None else set()
        self.points: list[list] = []
        for d, n in self._globals:
            if n in d and _deep(d[n]):
                self._point(("global", n, _Same(d)), d, n)
        for n, cell in self._cells:
            if _deep(_cell_value(cell, _MISSING)):
                self._point(("cell", n), None, cell)
        if _plain_object(owner):
            self._attributes(owner, 0)
        for m in self.modules:
            for k, v in list(vars(m).items()):
                if not k.startswith("_") and _deep(v):
                    self._point(("attr", _Same(m), k), m.__dict__, k)
        # class attributes of the user classes of the modules and of the ordinary objects
        # read above, read on every call (a class has no generation counter)
        self._objects = [v for v in map(self._value, self.points) if _plain_object(v)]
        self._objects += [owner] if _plain_object(owner) else []
        self.class_slots = _class_slots(list(self.modules) + self._objects)

    def _point(self, pid: tuple, d: dict | None, name: Any, depth: int = 0) -> None:
        point = [pid, d, name, pid in self._sinks]
        self.points.append(point)
        value = self._value(point)
        if depth < 2 and _plain_object(value):
            self._attributes(value, depth + 1)

    def _attributes(self, obj: Any, depth: int) -> None:
        d = vars(obj)
        read = _attr_names(type(obj), self.attr_names)
        for n in list(d):
            if n in read:
                self._point(("attr", _Same(obj), n), d, n, depth)

    @staticmethod
    def _value(point: list) -> Any:
        d, name = point[1], point[2]
        return d.get(name, _MISSING) if d is not None else _cell_value(name, _MISSING)

    def snapshots(self) -> list[tuple]:
        """(value, snapshot) of every point, to find the sinks a traced call fills."""
        return [(v, _contents(v)) for v in map(self._value, self.points)]

    def new_sinks(self, before: list[tuple]) -> list[int]:
        """Indexes of the points holding the same list or dict as ``before`` with other
        contents: the traced call changed them in place. They become sinks."""
        found = []
        for i, (point, (v0, snap)) in enumerate(zip(self.points, before, strict=True)):
            v = self._value(point)
            if not point[3] and v is v0 and type(v) in (list, dict) and _contents(v) != snap:
                point[3] = True
                self._sinks.add(point[0])
                found.append(i)
        return found

    @staticmethod
    def _point_name(pid: tuple) -> str:
        if pid[0] == "attr":
            return f"attribute {pid[2]!r} of a {type(pid[1].obj).__name__}"
        return f"{'global' if pid[0] == 'global' else 'closure variable'} {pid[1]!r}"

    def describe(self, i: int) -> str:
        """The binding at index ``i`` of :meth:`key`, in words."""
        names = [f"global {k!r}" for _, k in self.slots]
        names += [f"closure variable {n!r}" for n in self._cell_names]
        names += [self._point_name(point[0]) for point in self.points]
        names += [f"class attribute {cls.__name__}.{n}" for _, n, cls in self.class_slots]
        return names[i] if i < len(names) else \
            "a module's attributes, parameters, buffers, submodules or hooks"

    def rekey(self, state: tuple, sinks: list[int], before: list[tuple]) -> tuple:
        """``state`` (a :meth:`key` taken before a traced call) as it reads now that the
        points ``sinks`` are sinks."""
        state = list(state)
        first = len(self.slots) + len(self.cells)
        for i in sinks:
            state[first + i] = ("sink", _Same(before[i][0]))
        return tuple(state)

    def _read_modules(self) -> tuple:
        # functions a module holds (``self.act = fw.relu``) by identity, like submodules
        return tuple((tuple([(k, v) for k, v in m.__dict__.items()
                             if k != "training" and (_watched(v) or type(v) in _CALLABLES)]),
                      tuple(m._parameters.items()), tuple(m._buffers.items()),
                      tuple(m._modules.items()), tuple(m._forward_pre_hooks),
                      tuple(m._forward_hooks))
                     for m in self.modules)

    def key(self) -> tuple:
        values = [d.get(k, _MISSING) for d, k in self.slots]
        values += [_cell_value(cell, _MISSING) for cell in self.cells]
        for _, d, name, sink in self.points:  # _value, inlined: this runs on every call
            v = d.get(name, _MISSING) if d is not None else _cell_value(name, _MISSING)
            values.append(("sink", _Same(v)) if sink else _contents(v))
        for d, name, _ in self.class_slots:  # _class_value, inlined
            v = d.get(name, _MISSING)
            values.append(v if type(v) in _BY_IDENTITY else _contents(v, 2))
        generation = self._module_cls._generation
        if generation != self._generation:
            reading = self._read_modules()
            token = self._readings.get(reading)
            if token is None:
                if len(self._readings) < _MAX_READINGS:
                    token = self._readings[reading] = len(self._readings)
                else:  # modules that change on every call: a number no key holds yet
                    token = -next(_unique)
            self._reading = token
            self._generation = generation
        values.append(self._reading)
        return tuple(values)

    def random_sources(self, args: tuple, kwargs: dict) -> list[tuple[str, Any]]:
        """(name, source) for every random-number source a call could draw from besides the
        backend's random primitives: Python's ``random`` module, NumPy's global random state,
        and the ``random.Random``/NumPy generators held by the function's globals, closure
        variables, modules, the objects it reads and its arguments (and their attributes)."""
        found: list[tuple[str, Any]] = [("Python's random module", random.getstate),
                                        ("NumPy's global random state (np.random.*)",
                                         _numpy_global_state)]
        seen = {id(_creation.default_generator())}

        def add(name: str, v: Any) -> None:
            if isinstance(v, _RANDOM_SOURCES) and id(v) not in seen:
                seen.add(id(v))
                found.append((name, v))

        def attrs(obj: Any, what: str) -> None:
            if _plain_object(obj) and not isinstance(obj, _creation.Generator):
                for k, v in list(vars(obj).items()):
                    add(f"attribute {k!r} of {what}", v)

        for d, n in self._globals:
            add(f"global {n!r}", d.get(n))
        for n, cell in self._cells:
            add(f"closure variable {n!r}", _cell_value(cell, None))
        for mname, m in self.named:
            for k, v in list(vars(m).items()):
                add(f"attribute {mname}.{k}", v)
        for obj in self._objects:
            attrs(obj, f"a {type(obj).__name__}")
        for i, a in enumerate(list(args) + list(kwargs.values())):
            add(f"argument {i}", a)
            attrs(a, f"argument {i}")
        return found

    def bindings(self) -> dict[str, Tensor]:
        """The tensors the function's globals and closure cells and its modules' attributes
        and buffers hold now, by name."""
        found: dict[str, Tensor] = {}
        for d, n in self._globals:
            if isinstance(d.get(n), Tensor):
                found[f"global {n!r}"] = d[n]
        for n, cell in self._cells:
            val = _cell_value(cell, None)
            if isinstance(val, Tensor):
                found[f"closure variable {n!r}"] = val
        for point in self.points:
            v = self._value(point)
            if isinstance(v, Tensor):
                found[self._point_name(point[0])] = v
        for mname, m in self.named:
            for k, v in list(vars(m).items()):
                if isinstance(v, Tensor):
                    found[f"attribute {mname}.{k}"] = v
            for k, v in m._buffers.items():
                if v is not None:
                    found[f"buffer {mname}.{k}"] = v
        return found


_RANDOM_SOURCES = (random.Random, np.random.Generator, np.random.RandomState,
                   np.random.BitGenerator)


def _numpy_global_state() -> Any:
    return np.random.get_state(legacy=False)


def _random_state(source: Any) -> Any:
    """A comparable snapshot of what a random source will draw next."""
    if callable(source) and not isinstance(source, _RANDOM_SOURCES):
        state = source()
    elif isinstance(source, random.Random):
        state = source.getstate()
    elif isinstance(source, np.random.Generator):
        state = source.bit_generator.state
    elif isinstance(source, np.random.RandomState):
        state = source.get_state(legacy=False)
    else:
        state = source.state
    return _frozen(state)


def _frozen(v: Any) -> Any:
    if isinstance(v, dict):
        return tuple((k, _frozen(x)) for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return tuple(_frozen(x) for x in v)
    if isinstance(v, np.ndarray):
        return (v.dtype.str, v.shape, v.tobytes())
    return v


def _cell_value(cell: Any, default: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # not bound yet
        return default


def _changed_bindings(before: dict, after: dict) -> str:
    changed = [k for k in before.keys() | after.keys() if before.get(k) is not after.get(k)]
    return ", ".join(sorted(changed)[:3])


def _flatten(obj: Any, out: list, objects: bool = False) -> None:
    """The tensors in ``obj`` (nested lists, tuples and dicts) in order; with ``objects``
    (arguments) also the tensors ordinary objects hold as attributes (a ``Batch`` with
    ``x`` and ``y``), which become program inputs like tensors passed directly."""
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _flatten(o, out, objects)
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            _flatten(obj[k], out, objects)
    elif objects and _plain_object(obj):
        out.extend([v for v in list(vars(obj).values()) if isinstance(v, Tensor)])


def _equal(a: Any, b: Any) -> bool:
    """Whether two parts of a cache key are equal, tensors (elementwise ``==``) by identity."""
    if a is b:
        return True
    if type(a) is not type(b) or isinstance(a, (Tensor, np.ndarray)):
        return False
    if type(a) is tuple:
        return len(a) == len(b) and all(_equal(u, v) for u, v in zip(a, b, strict=True))
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - an object whose == is not a truth value
        return False


def _arg_key(obj: Any, specs: list, pos: list, names: tuple = ()) -> Any:
    if isinstance(obj, Tensor):
        i = pos[0]
        pos[0] += 1
        spec = specs[i] if i < len(specs) else None
        shape = tuple(obj.shape)
        if spec is not None and spec.matches(obj):
            shape = spec.shape
        return ("T", shape, obj.dtype.str, obj.requires_grad)
    if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
        return (type(obj).__name__, obj)
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, tuple(_arg_key(o, specs, pos, names) for o in obj))
    if isinstance(obj, dict):
        return ("dict", tuple((str(k), _arg_key(obj[k], specs, pos, names))
                              for k in sorted(obj, key=str)))
    if isinstance(obj, np.dtype):
        return ("dtype", obj.str)
    if _plain_object(obj):
        return _object_key(obj, specs, pos, names)
    return ("object", _Same(obj))  # holding it: a new object never reuses its id


# ----- one compiled program ----------------------------------------------------------------------

class Program:
    """One traced and optimized signature of a static function.

    ``program.graph`` is the optimized :class:`~framework.jit.ir.Graph`; ``raw_graph`` is the
    graph as traced; ``report`` lists what each pass did.
    """

    def __init__(self, tr: Trace, graph: Graph, raw: Graph, report: list, bk: Any,
                 input_pos: list[int], shapes: tuple, end_bind: list, out_template: Any,
                 out_count: int) -> None:
        self.graph = graph
        self.raw_graph = raw
        self.report = report
        self.exe = Executable(graph, bk)
        self.bk = bk
        self.input_pos = input_pos
        self.shapes = shapes
        self.state_bind = [(t, attr) for _vid, t, attr in
                           sorted(tr.bindings, key=lambda b: graph.state.index(b[0])
                                  if b[0] in graph.state else -1)
                           if _vid in graph.state]
        self._data_only = all(attr == "data" for _, attr in self.state_bind)
        self._state_tensors = [t for t, _ in self.state_bind]
        # which gradients exist matters only to programs that touch gradients
        touches_grads = tr.backward_ran or any(n.op == "host_call" for n in graph.nodes) \
            or any(attr == "grad" for _, attr in self.state_bind) or bool(end_bind)
        self.guard = [(c.tensor, c.grad_at_start) for c in tr.candidates.values()] \
            if touches_grads else []
        # gradient hooks of the parameters ran (and were traced) in the traced backward: one
        # registered or removed later must not be skipped by a replay
        self.hook_guard = [(c.tensor, tuple(c.tensor._hooks or ()))
                           for c in tr.candidates.values()] if tr.backward_ran else []
        # with grad mode on, which parameters require gradients decides what the program
        # differentiates and updates (a layer frozen after tracing must stay frozen)
        self.requires_grad_guard = [(c.tensor, c.requires_grad_at_start)
                                    for c in tr.candidates.values()] \
            if grad_mode.enabled else []
        self.end_bind = end_bind
        self.out_template = out_template
        self.out_count = out_count
        self.host_calls = [n.extra.get("label") for n in graph.nodes if n.op == "host_call"]
        self.optimizer_guards = list(tr.optimizer_guards)
        self.size_checks = list(tr.size_checks)  # Python conditions on dynamic sizes
        self.mode_after: list = []  # (module, training) the function leaves (see _trace)
        self.mode_guard = [(m, m.training) for m in tr.called_modules.values()]
        self.runs = 0
        self._shape_list = list(shapes)
        self.check_shapes = True  # the cache key holds exact shapes unless specs have None
        self.captured_guard: list[tuple[Tensor, Any]] = []  # set by StaticFunction._trace
        # (argument position, output index): gradients backward() leaves in arguments
        self.input_grads: list[tuple[int, int]] = []
        self._single = out_template if isinstance(out_template, OutTensor) else None

    def guards_hold(self, flat: list) -> bool:
        if self.check_shapes and [t.shape for t in flat] != self._shape_list:
            return False
        return self.state_guards_hold(flat)

    def state_guards_hold(self, flat: list) -> bool:
        """Every guard but the input shapes (a :class:`PolyProgram` checks those itself):
        captured arrays, which gradients exist, ``requires_grad``, optimizer options,
        module modes."""
        for t, arr in self.captured_guard:
            if t.data is not arr:
                return False
        for t, had in self.guard:
            if (t.grad is not None) != had:
                return False
        for t, hooks in self.hook_guard:
            h = t._hooks
            if (tuple(h) if h else ()) != hooks:
                return False
        for t, rg in self.requires_grad_guard:
            if t.requires_grad != rg:
                return False
        for i, _k in self.input_grads:  # eager would accumulate into an existing gradient
            if flat[i].grad is not None:
                return False
        for opt, fingerprint in self.optimizer_guards:
            if _tracer.sgd_fingerprint(opt) != fingerprint:
                return False
        for m, training in self.mode_guard:
            if m.training != training:
                return False
        return True

    def run(self, flat: list, exe: Executable | None = None, template: Any = None) -> Any:
        inputs = [flat[i].data for i in self.input_pos]
        if self._data_only:
            state = [t.data for t in self._state_tensors]
        else:
            state = [t.data if attr == "data" else t.grad.data for t, attr in self.state_bind]
        outs = (exe or self.exe).run(inputs, state)
        bk = self.bk
        for t, attr, k in self.end_bind or ():
            if attr == "grad":
                if k is None:
                    t.grad = None
                else:
                    g = t.grad
                    if g is None or g.data is not outs[k]:
                        t.grad = _wrap(outs[k], bk)
            else:
                t.data = outs[k]
        for i, k in self.input_grads:
            flat[i].grad = _wrap(outs[k], bk)
        self.runs += 1
        if template is not None:  # a polymorphic program's result at these sizes
            return rebuild(template, outs, bk)
        if self._single is not None:
            return _wrap(outs[self._single.id], bk)
        return rebuild(self.out_template, outs, bk)


class PolyProgram:
    """A program valid for every size of the ``None`` dimensions of the input specs.

    Built from traces at several sizes (:func:`framework.jit.symbolic.merge`); each new size
    instantiates the symbolic graph and optimizes it, without tracing.
    """

    def __init__(self, base: Program, graph: Graph, groups: list,
                 checks: list | None = None, template: Any = None) -> None:
        self.base = base
        self.graph = graph
        self.groups = groups
        self.dims = [g[0] for g in groups]
        # the Python conditions on the sizes that the traces took (framework.jit.sizes),
        # their operands as formulas; per size, whether all of them answer the same
        self.checks = checks or []
        self._answers: dict[tuple, bool] = {}
        # the result structure when it holds Python numbers that move with the sizes
        # (``return loss, x.shape[0]``): made concrete per size
        self.template = template
        self._templates: dict[tuple, Any] = {}
        self.mode_after = base.mode_after
        self.compiled: dict[tuple, Executable] = {}
        self.runs = 0
        self.host_calls = base.host_calls
        self.report = base.report

    def guards_hold(self, flat: list) -> bool:
        dyn = {d for g in self.groups for d in g}
        if len(flat) != len(self.base.shapes):
            return False
        for g in self.groups:
            if len({flat[i].shape[d] if d < flat[i].ndim else -1 for i, d in g}) != 1:
                return False
        for i, (t, shape) in enumerate(zip(flat, self.base.shapes, strict=True)):
            if t.ndim != len(shape) or any(n != m for d, (n, m) in enumerate(
                    zip(t.shape, shape, strict=True)) if (i, d) not in dyn):
                return False
        if self.checks:
            sizes = tuple(flat[i].shape[d] for i, d in self.dims)
            same = self._answers.get(sizes)
            if same is None:
                same = self._answers[sizes] = self._same_answers(sizes)
            if not same:
                return False
        return self.base.state_guards_hold(flat)

    def _same_answers(self, sizes: tuple) -> bool:
        """Whether every recorded condition on the sizes answers at ``sizes`` as it did
        in the traces (else that size takes another branch: it is traced on its own)."""
        from .symbolic import failed_check

        return failed_check(self.checks, sizes) is None

    def run(self, flat: list) -> Any:
        from .symbolic import _concrete, instantiate

        sizes = tuple(flat[i].shape[d] for i, d in self.dims)
        exe = self.compiled.get(sizes)
        if exe is None:
            g = instantiate(self.graph, sizes)
            if self.base.report:
                optimize(g)
            exe = self.compiled[sizes] = Executable(g, self.base.bk)
        self.runs += 1
        template = None
        if self.template is not None:
            template = self._templates.get(sizes)
            if template is None:
                template = self._templates[sizes] = _concrete(self.template, sizes)
        return self.base.run(flat, exe, template)


def _replay(entry: Program | PolyProgram, flat: list) -> Any:
    """Run a cached program, then leave the modules in the modes the traced call left
    them in (``model.eval()`` inside the function)."""
    result = entry.run(flat)
    for m, training in entry.mode_after:
        m.__dict__["training"] = training
    return result


def _answers(p: Program) -> tuple:
    """The Python conditions on sizes a trace met and how they answered: traces with the
    same answers took the same branches."""
    return tuple((c.op, c.result) for c in p.size_checks)


class _Eager:
    """Cache entry: this signature runs eagerly (and why)."""

    def __init__(self, reason: str, where: str) -> None:
        self.reason = reason
        self.where = where


# ----- the static function -----------------------------------------------------------------------

class StaticFunction:
    """A function (or ``forward``) that runs as a traced, optimized program.

    Call it like the original. The first call with a new signature (tensor shapes and dtypes,
    Python scalar arguments, training/eval mode, grad mode, which gradients exist) traces it
    — an ordinary eager call that also records a graph; later calls replay the program.
    """

    def __init__(self, fn: Any, input_spec: Any = None, full_graph: bool = False,
                 passes: bool = True) -> None:
        self.fn = fn
        functools.update_wrapper(self, fn, updated=())
        self.input_spec = list(input_spec) if input_spec is not None else []
        self.full_graph = full_graph
        self.passes = passes
        self.cache: dict[Any, list] = {}
        self.traces = 0
        self.fallbacks: list[tuple[str, str]] = []
        self._modules: list | None = None
        self._all_modules: list = []
        self._state: PythonState | None = None
        self._readings: dict[tuple, int] = {}
        self._sinks: set = set()  # lists and dicts traced calls fill (PythonState)
        self._code = getattr(_unwrap(fn)[0], "__code__", None)  # the function's own code
        self._last_key: tuple | None = None
        self._host_optimizers: set[int] = set()
        self._optimizers: list | None = None
        self._bound: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.last_program: Program | None = None

    def __deepcopy__(self, memo: dict) -> StaticFunction:
        """A copy (``copy.deepcopy`` of a model whose forward is static) that starts with an
        empty cache: the programs hold the original's arrays, modules and generated code."""
        new = StaticFunction(copy.deepcopy(self.fn, memo), copy.deepcopy(self.input_spec, memo),
                             self.full_graph, self.passes)
        if "module" in self.__dict__:
            new.module = copy.deepcopy(self.module, memo)
        return new

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        bound = self._bound.get(obj)
        if bound is None:
            bound = StaticFunction(self.fn.__get__(obj, objtype), self.input_spec,
                                   self.full_graph, self.passes)
            self._bound[obj] = bound
        return bound

    # ----- keys and guards ---------------------------------------------------------------------
    def _key(self, args: tuple, kwargs: dict, flat: list,
             all_tensors: bool | None = None) -> tuple:
        """The cache key of a call; ``all_tensors``: whether every argument is a tensor
        (and no keywords), when the caller already knows."""
        if self._modules is None:
            self._modules, self._optimizers = _discover(self.fn, args, kwargs)
            self._state = PythonState(self.fn, self._modules, self._readings, self._sinks)
            self._all_modules = self._state.modules
        if all_tensors is None:
            all_tensors = not kwargs and all([type(a) is Tensor for a in args])
        if all_tensors and not self.input_spec:
            # the common case, kept cheap: every argument is a tensor (an object holding
            # as many tensors as there are arguments is not)
            akey = tuple([(t.shape, t.dtype, t.requires_grad) for t in flat])
        else:
            akey = _arg_key((args, kwargs), self.input_spec, [0], self._state.attr_names)
        modes = tuple([m.training for m in self._all_modules])
        state = self._state.key()
        # the same array passed twice is one value of the program
        if len(flat) < 2:
            aliasing = ()
        else:
            first: dict[int, int] = {}
            aliasing = tuple([first.setdefault(id(t.data), i) for i, t in enumerate(flat)])
        return (akey, aliasing, grad_mode.enabled, modes, state, _backend.active.name,
                _dt._default_float)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _tracer._active is not None:  # inside another trace: become part of it
            return self.fn(*args, **kwargs)
        all_tensors = not kwargs and all([type(a) is Tensor for a in args])
        if all_tensors:
            flat = list(args)
        else:
            flat = []
            _flatten((args, kwargs), flat, objects=True)
        key = self._key(args, kwargs, flat, all_tensors)
        entries = self.cache.get(key)
        if entries:
            for entry in entries:
                if isinstance(entry, _Eager):
                    return self.fn(*args, **kwargs)
                if entry.guards_hold(flat):
                    return _replay(entry, flat)
        poly = self._polymorphic(entries, flat) if entries else None
        if poly is not None:
            entries.insert(0, poly)
            return _replay(poly, flat)
        limit = self._max_traces()
        if self.traces >= limit:
            if self.traces == limit:
                self.traces += 1
                warnings.warn(
                    f"{self._name()} was traced {limit} times (its guards keep changing: "
                    "shapes, Python arguments or state, modes or gradients; this time "
                    f"{self._change(key)}); further new signatures run eagerly. Use "
                    "fw.jit.InputSpec with None for dynamic sizes.", JitWarning, stacklevel=2)
            return self.fn(*args, **kwargs)
        return self._trace(args, kwargs, flat)

    def _change(self, key: tuple) -> str:
        """What differs between ``key`` and the key of the last trace, in words."""
        last = self._last_key
        if last is None or len(last) != len(key):
            return "a new signature"
        parts = ["the arguments (shapes, dtypes, requires_grad or Python values)",
                 "which arguments are the same tensor", "grad mode",
                 "a module's training/eval mode", None, "the backend", "the default dtype"]
        for i, (a, b) in enumerate(zip(last, key, strict=True)):
            if _equal(a, b):
                continue
            if parts[i] is not None:
                return parts[i]
            changed = [j for j, (u, v) in enumerate(zip(a, b, strict=False))
                       if not _equal(u, v)]
            return self._state.describe(changed[0]) if changed and len(a) == len(b) \
                else "Python state"
        return "which gradients exist, what requires grad or a captured tensor's array"

    def _max_traces(self) -> int:
        """:data:`MAX_TRACES`, or more when the input specs have so many ``None`` dims that
        size formulas with products of two sizes need more traces (one more than their
        unknowns, plus one to spare)."""
        k = sum(1 for s in self.input_spec for n in s.shape if n is None)
        return max(MAX_TRACES, 3 + k + k * (k + 1) // 2)

    def _polymorphic(self, entries: list, flat: list) -> PolyProgram | None:
        """Merge the traces of a signature with dynamic dims into one program, if possible."""
        from .symbolic import (
            NotEnoughTraces,
            NotPolymorphic,
            merge,
            merge_checks,
            merge_results,
        )

        dims = dynamic_dims(self.input_spec[:len(flat)])
        progs = [e for e in entries if isinstance(e, Program)]
        if any(isinstance(p, AutogradProgram) for p in progs):
            return None  # their backward part is traced per size
        if progs:  # the traces whose Python conditions on sizes answered as the latest's did
            answers = _answers(progs[-1])
            progs = [p for p in progs if _answers(p) == answers]
        if not dims or len(progs) < 3 or any(isinstance(e, PolyProgram) for e in entries):
            return None
        # dims that had the same size in every trace (batch of x and of y) share one symbol
        groups: list[list] = []
        for dim in dims:
            col = [p.shapes[dim[0]][dim[1]] for p in progs]
            for grp in groups:
                if [p.shapes[grp[0][0]][grp[0][1]] for p in progs] == col:
                    grp.append(dim)
                    break
            else:
                groups.append([dim])
        if len(progs) < len(groups) + 2:
            return None
        sizes = [tuple(p.shapes[g[0][0]][g[0][1]] for g in groups) for p in progs]
        if len(set(sizes)) < len(sizes):
            return None
        try:
            checks = merge_checks([p.size_checks for p in progs], sizes)
            graph = merge([p.raw_graph for p in progs], sizes)
            template = merge_results([p.out_template for p in progs], sizes)
        except NotEnoughTraces:
            return None  # sizes that are products of dynamic sizes need more traces
        except NotPolymorphic as err:
            if not getattr(self, "_poly_warned", False):
                self._poly_warned = True
                warnings.warn(f"{self._name()}: the None dimensions of input_spec cannot be "
                              f"dynamic ({err}); each size is traced", JitWarning,
                              stacklevel=3)
            return None
        poly = PolyProgram(progs[-1], graph, groups, checks,
                           template if holds(template, Sym) else None)
        return poly if poly.guards_hold(flat) else None

    def _where(self) -> str:
        code = self._code
        return f"{code.co_filename}:{code.co_firstlineno}" if code else "<unknown>"

    def _name(self) -> str:
        return getattr(self.fn, "__qualname__", repr(self.fn))

    # ----- tracing -------------------------------------------------------------------------------
    def _trace(self, args: tuple, kwargs: dict, flat: list) -> Any:
        self.traces += 1
        self._modules, self._optimizers = _discover(self.fn, args, kwargs)
        self._state = PythonState(self.fn, self._modules, self._readings, self._sinks)
        self._all_modules = self._state.modules
        key = self._key(args, kwargs, flat)  # laid out as this new state reads it
        snapshots = self._state.snapshots()
        bk = flat[0]._bk if flat else _backend.active
        tr = Trace()
        tr.full_graph = self.full_graph
        tr.fn_code = self._code
        # an optimizer whose options changed since an earlier trace (a learning-rate
        # schedule) is called as a host call from now on instead of being recorded
        for entry in self.cache.get(key, ()):
            for opt, fingerprint in getattr(entry, "optimizer_guards", ()):
                if _tracer.sgd_fingerprint(opt) != fingerprint:
                    self._host_optimizers.add(id(opt))
        tr.host_only = self._host_optimizers
        for i, t in enumerate(flat):
            tr.add_input(t.data, f"input{i}")
        for name, root in self._modules:
            for mname, m in root.named_modules(prefix=name):
                tr.module_names.setdefault(id(m), mname or type(m).__name__)
            for pname, p in root.named_parameters(prefix=name):
                tr.add_candidate(p, pname)
            for bname, b in root.named_buffers(prefix=name):
                tr.add_candidate(b, bname)
        for opt in self._optimizers:
            for pname, p in _tracer._optimizer_params(opt):
                tr.add_candidate(p, pname)
        gen = _creation.default_generator()
        rng_state = gen.bit_generator.state
        sources = self._state.random_sources(args, kwargs)
        source_states = [_random_state(src) for _, src in sources]
        grad_before = grad_mode.enabled
        bindings_before = self._state.bindings()
        modes_before = [(m, m.training) for m in self._all_modules]
        aot = None
        recorder = _sizes.Recorder()
        tr.size_checks = recorder.checks
        tracked = _sizes.tracking(recorder) if dynamic_dims(self.input_spec) \
            else contextlib.nullcontext()
        with installed(tr, bk), tracked:
            result = self.fn(*args, **kwargs)
            if (grad_mode.enabled and not tr.backward_ran and tr.broken is None
                    and _needs_grad(result)):
                if tr.reads:  # its backward would come after the read
                    tr.graph_break("Python reads a tensor's value (item()) in a function "
                                   "whose results need gradients", tr.reads[0].where)
                else:
                    aot = _trace_backward(tr, result, flat, bk)
        traced_result, result = result, _sizes.plain_tree(tr.settle_reads(result))
        sinks = self._state.new_sinks(snapshots)
        if sinks:  # lists/dicts it filled: stored under the key later calls will compute
            key = key[:4] + (self._state.rekey(key[4], sinks, snapshots),) + key[5:]
        if grad_mode.enabled != grad_before:
            tr.graph_break("grad mode changed inside the function and was not restored")
        if tr.broken is None:
            changed = _changed_bindings(bindings_before, self._state.bindings())
            if changed:
                tr.broken = (f"it rebinds {changed} to a new tensor, which a replay would not "
                             "repeat; update it in place (e.g. t.copy_(...)) or register it "
                             "as a module buffer", self._where())
        if tr.broken is None:
            self._check_rng(tr, gen, rng_state)
        if tr.broken is None:
            for (name, src), state in zip(sources, source_states, strict=True):
                if _random_state(src) != state:
                    tr.graph_break(
                        f"it draws random numbers from {name}, which a program would replay "
                        "as the same numbers on every call; draw them with fw.rand/fw.randn/"
                        "fw.randint (fresh on every replay) or pass them in as arguments",
                        self._where())
                    break
        program = None
        if tr.broken is None:
            program = self._finish(tr, traced_result, flat, bk, aot)
        if program is None:
            reason, where = tr.broken
            self.fallbacks.append((reason, where))
            self.cache.setdefault(key, []).append(_Eager(reason, where))
            self._last_key = key
            warnings.warn(f"{where}: {self._name()} runs eagerly: {reason}", JitWarning,
                          stacklevel=3)
            return result
        program.check_shapes = bool(self.input_spec) or bool(kwargs) or len(flat) != len(args)
        # model.eval()/.train() inside the function: a replay sets the modes it left
        program.mode_after = [(m, m.training) for m, was in modes_before if m.training != was]
        # arrays of watched tensors the program holds by reference: a new array in the same
        # tensor (t.data = ...) must not replay the old one
        captured = {id(tr.graph.consts[vid]) for vid in tr.volatile if vid in tr.graph.consts}
        program.captured_guard = [(t, t.data) for t in self._state.bindings().values()
                                  if id(t.data) in captured]
        self.cache.setdefault(key, []).append(program)
        self._last_key = key
        self.last_program = program
        return result

    def _check_rng(self, tr: Trace, gen: Any, before: dict) -> None:
        if _creation.default_generator() is not gen:
            tr.graph_break("the function reseeds the global generator (fw.manual_seed)")
            return
        after = gen.bit_generator.state
        if after == before:
            return
        # replaying the recorded draws must account for every draw made during the call
        from .executor import kernel

        probe = np.random.Generator(type(gen.bit_generator)())
        probe.bit_generator.state = before
        ref = _backend.get("numpy")
        for n in tr.graph.nodes:
            if n.op.startswith("random_") and getattr(n.args[0], "generator", 1) is None:
                _replay_draw(n, probe, kernel(n.op, ref, n))
        if probe.bit_generator.state != after:
            tr.graph_break("random numbers were drawn outside the backend's random primitives "
                           "(they would be frozen into the program)")

    def _finish(self, tr: Trace, result: Any, flat: list, bk: Any,
                aot: dict | None = None) -> Program | None:
        g = tr.graph
        g.volatile = set(tr.volatile)
        if aot is None and grad_mode.enabled and not tr.backward_ran and _needs_grad(result):
            tr.broken = ("its results require gradients, but static programs do not record "
                         "autograd graphs: trace the whole training step (forward, backward, "
                         "optimizer step) instead", _tracer.user_location())
            return None
        out_ids: list[int] = []

        def on_tensor(t: Tensor) -> int:
            out_ids.append(tr.ref_of(t.data))
            return len(out_ids) - 1

        def on_read(v: Any) -> int:
            out_ids.append(v.read.vid)
            return len(out_ids) - 1

        template = _template(result, on_tensor, on_read)
        if template is _tracer._NOT_STATIC:
            tr.broken = ("it returns Python objects other than tensors, numbers, strings and "
                         "containers of them", _tracer.user_location())
            return None
        # gradients that backward() leaves in tensor arguments (a gradient penalty, a
        # physics-informed loss): program outputs, bound to each call's own arguments
        first_pos: dict[int, int] = {}
        for i, t in enumerate(flat):
            first_pos.setdefault(id(t), i)
        input_grads: list[tuple[int, int]] = []
        for key, c in list(tr.candidates.items()):
            if id(c.tensor) not in first_pos:
                continue
            t = c.tensor
            if c.grad_at_start or t.data is not c.data_at_start:
                tr.broken = ("it accumulates into gradients its tensor arguments already have "
                             "(x.grad), or gives them new arrays, and those belong to a "
                             "different tensor on every call", self._where())
                return None
            if t.grad is not None:
                vid = tr.ids.get(id(t.grad.data))
                if vid is None:
                    tr.broken = (f"the gradient of {c.name} was made outside the traced ops",
                                 _tracer.user_location())
                    return None
                out_ids.append(vid)
                input_grads.append((first_pos[id(t)], len(out_ids) - 1))
            del tr.candidates[key]  # not state: the arguments change from call to call
        end_bind: list = []
        host_bound = {id(t) for n in g.nodes if n.op == "host_call"
                      for t, vid in n.extra["binds"] if vid is not None}
        for c in tr.candidates.values():
            t = c.tensor
            gt = t.grad
            if gt is None:
                if c.grad_at_start or id(t) in host_bound:
                    end_bind.append((t, "grad", None))
            else:
                vid = tr.ids.get(id(gt.data))
                if vid is None:
                    if not c.grad_at_start:
                        tr.broken = (f"the gradient of {c.name} was made outside the traced "
                                     "ops", _tracer.user_location())
                        return None
                else:
                    bound = [b for b in tr.bindings if b[0] == vid and b[1] is t
                             and b[2] == "grad"]
                    if not bound:
                        out_ids.append(vid)
                        end_bind.append((t, "grad", len(out_ids) - 1))
            if t.data is not c.data_at_start:
                vid = tr.ids.get(id(t.data))
                if vid is None:
                    tr.broken = (f"{c.name} got a new array made outside the traced ops",
                                 _tracer.user_location())
                    return None
                out_ids.append(vid)
                end_bind.append((t, "data", len(out_ids) - 1))
        g.outputs = out_ids
        input_pos = []
        first_seen: dict[int, int] = {}
        for i, t in enumerate(flat):
            first_seen.setdefault(id(t.data), i)
        by_vid = {tr.ids[id(t.data)]: first_seen[id(t.data)] for t in flat}
        input_pos = [by_vid[vid] for vid in g.inputs if vid in by_vid]
        shapes = tuple(t.shape for t in flat)
        if aot is not None:
            return _autograd_program(self, tr, g, aot, bk, input_pos, shapes, template,
                                     out_ids, flat)
        raw = g.copy()
        opt = g.copy()
        report = optimize(opt) if self.passes else []
        program = Program(tr, opt, raw, report, bk, input_pos, shapes, end_bind, template,
                          len(out_ids))
        program.input_grads = input_grads
        return program

    # ----- introspection -------------------------------------------------------------------------
    @property
    def graph(self) -> Graph:
        """The optimized graph of the most recently traced signature."""
        if self.last_program is None:
            raise RuntimeError(f"{self._name()} has not been traced yet: call it once first")
        return self.last_program.graph

    @property
    def programs(self) -> list[Program]:
        return [e for entries in self.cache.values() for e in entries if isinstance(e, Program)]

    def reset(self) -> None:
        """Forget every traced program (the next call traces again)."""
        self.cache.clear()
        self.traces = 0
        self.fallbacks.clear()
        self.last_program = None
        self._modules = None
        self._all_modules = []


def _replay_draw(node: Any, rng: Any, fn: Any) -> None:
    args = list(node.args)
    args[0] = rng
    fn(*args, **node.kwargs)


def _needs_grad(obj: Any) -> bool:
    flat: list = []
    _flatten(obj, flat)
    return any(t.requires_grad for t in flat)


def to_static(fn: Any = None, input_spec: Any = None, full_graph: bool = False,
              passes: bool = True) -> Any:
    """Trace ``fn`` (a function, a ``forward`` method or a module) into an optimized program.

    Works as ``@fw.jit.to_static``, ``@fw.jit.to_static(input_spec=[...])`` on functions and
    on ``forward`` methods, or as ``fw.jit.to_static(model)`` (the module's forward becomes
    static; the module is returned). A whole training step — loss, ``backward()``,
    ``optimizer.step()``, ``zero_grad()`` — becomes one program::

        @fw.jit.to_static
        def train_step(x, y):
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

    ``full_graph=True`` raises :class:`GraphBreakError` where the function cannot be traced
    instead of falling back to eager with a warning. ``passes=False`` skips optimization.
    """
    if fn is None:
        return functools.partial(to_static, input_spec=input_spec, full_graph=full_graph,
                                 passes=passes)
    from ..nn.module import Module

    if isinstance(fn, Module):
        static = StaticFunction(fn.forward, input_spec, full_graph, passes)
        static.module = fn
        object.__setattr__(fn, "forward", static)
        return fn
    if isinstance(fn, StaticFunction):
        return fn
    return StaticFunction(fn, input_spec, full_graph, passes)


# ----- static forward programs that take part in autograd -----------------------------------------

def _trace_backward(tr: Trace, result: Any, flat: list, bk: Any) -> dict | None:
    """Record the backward of a forward-only function too (with placeholder output
    gradients), so that its static program can give gradients without eager ops."""
    from ..autograd import grad as _grad

    result_flat: list = []
    _flatten(result, result_flat)
    diff_positions = [i for i, t in enumerate(result_flat) if t.requires_grad]
    outs = [result_flat[i] for i in diff_positions]
    seen: set[int] = set()
    leaves = []
    for t in list(flat) + [c.tensor for c in tr.candidates.values()] + _tracer._leaves(outs):
        if t.requires_grad and t.is_leaf and id(t) not in seen:
            seen.add(id(t))
            leaves.append(t)
    if not outs or not leaves:
        return None
    split = len(tr.graph.nodes)
    n_inputs = len(tr.graph.inputs)
    gouts = []
    for i, o in enumerate(outs):
        arr = np.ones(o.shape, o.dtype)
        tr.add_input(arr, f"grad_output{i}")
        gouts.append(_wrap(arr, bk))
    tr.internal_backward = True
    try:
        grads = _grad(outs, leaves, grad_outputs=gouts, retain_graph=True, allow_unused=True)
    except Exception as err:  # noqa: BLE001 - any failure means: no static backward
        tr.graph_break(f"its backward could not be traced ({err})")
        return None
    finally:
        tr.internal_backward = False
    grad_vids = []
    for g in grads:
        if g is None:
            grad_vids.append(None)
            continue
        vid = tr.ids.get(id(g.data))
        if vid is None:
            tr.graph_break("a gradient was computed outside the traced ops")
            return None
        grad_vids.append(vid)
    flat_ids = {id(t) for t in flat}
    leaf_spec = [("input", next(i for i, f in enumerate(flat) if f is t)) if id(t) in flat_ids
                 else ("tensor", t) for t in leaves]
    return {"split": split, "n_inputs": n_inputs, "grad_vids": grad_vids,
            "leaves": leaf_spec, "diff_positions": diff_positions}


class AutogradProgram(Program):
    """A static forward whose outputs take part in autograd: the recorded backward runs as
    one node of the autograd graph (first-order gradients; ``create_graph=True`` through it
    is refused)."""

    def run(self, flat: list, exe: Executable | None = None) -> Any:
        inputs = [flat[i].data for i in self.input_pos]
        state = [t.data if attr == "data" else t.grad.data for t, attr in self.state_bind]
        res = self.exe.run(inputs, state)
        outs, saved = res[:self.out_count], res[self.out_count:]
        bk = self.bk
        self.runs += 1
        result = rebuild(self.out_template, outs, bk)
        if not grad_mode.enabled:
            return result
        diff: list = []
        _flatten(result, diff)
        diff = [diff[i] for i in self.diff_positions]
        leaves = tuple(flat[ref] if kind == "input" else ref for kind, ref in self.leaf_spec)
        bwd, grad_vids, fwd_inputs = self.bwd_exe, self.bwd_outputs, inputs

        def backward(*gs: Any) -> tuple:
            if grad_mode.enabled:
                raise RuntimeError("higher-order gradients (create_graph=True) through a "
                                   "static program are not supported; call the function "
                                   "eagerly for them")
            arrays = bwd.run(fwd_inputs + saved + [g.data for g in gs], state)
            by_vid = dict(zip(bwd.outputs, arrays, strict=True))
            return tuple(None if v is None else _wrap(by_vid[v], bk) for v in grad_vids)

        node = Node("StaticProgram", leaves, backward)
        node.out_meta = [(t.shape, t.dtype, bk) for t in diff]
        for i, t in enumerate(diff):
            t.requires_grad = True
            t._node = node
            t._idx = i
        return result


def _autograd_program(sf: StaticFunction, tr: Trace, g: Graph, aot: dict, bk: Any,
                      input_pos: list, shapes: tuple, template: Any, out_ids: list,
                      flat: list) -> Program:
    split, n_in = aot["split"], aot["n_inputs"]
    fwd_inputs = g.inputs[:n_in]
    grad_inputs = g.inputs[n_in:]
    fwd_defined = {o for n in g.nodes[:split] for o in n.outputs}
    saved: list[int] = []
    for n in g.nodes[split:]:
        for r in n.refs():
            if r in fwd_defined and r not in saved:
                saved.append(r)
    for v in aot["grad_vids"]:
        if v is not None and v in fwd_defined and v not in saved:
            saved.append(v)
    fwd = g.copy()
    fwd.nodes = fwd.nodes[:split]
    fwd.inputs = list(fwd_inputs)
    fwd.outputs = list(out_ids) + saved
    bwd = g.copy()
    bwd.nodes = bwd.nodes[split:]
    bwd.inputs = list(fwd_inputs) + saved + list(grad_inputs)
    for v in saved:
        bwd.values[v].kind = "input"
    bwd.outputs = [v for v in dict.fromkeys(aot["grad_vids"]) if v is not None]
    raw = fwd.copy()
    report = optimize(fwd) if sf.passes else []
    if sf.passes:
        optimize(bwd)
    prog = AutogradProgram(tr, fwd, raw, report, bk, input_pos, shapes, [], template,
                           len(out_ids))
    prog.bwd_exe = Executable(bwd, bk)
    prog.bwd_outputs = aot["grad_vids"]
    prog.leaf_spec = aot["leaves"]
    prog.guard = []
    prog.diff_positions = aot["diff_positions"]
    return prog
