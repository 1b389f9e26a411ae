"""``nn.Module``: the base class of every layer and model.

A module owns parameters (learnable tensors), buffers (saved state that is not learned,
such as BatchNorm's running mean) and submodules, all registered by attribute assignment:

>>> import framework as fw
>>> from framework import nn
>>> class TwoLayer(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.hidden = nn.Linear(4, 8)
...         self.out = nn.Linear(8, 2)
...     def forward(self, x):
...         return self.out(fw.relu(self.hidden(x)))
>>> model = TwoLayer()
>>> sorted(model.state_dict())
['hidden.bias', 'hidden.weight', 'out.bias', 'out.weight']
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from .. import dtypes as _dt
from ..autograd import no_grad
from ..tensor import Tensor
from .parameter import Buffer, Parameter


class _IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")


class _Table(OrderedDict):
    """A module's parameters, buffers, submodules or hooks. Every change counts in
    ``Module._generation``, which static functions (``framework.jit.static.PythonState``)
    compare to know when to re-read the modules they guard."""

    def __setitem__(self, key: Any, value: Any) -> None:
        Module._generation += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        Module._generation += 1
        super().__delitem__(key)

    def pop(self, *args: Any) -> Any:
        Module._generation += 1
        return super().pop(*args)

    def popitem(self, last: bool = True) -> Any:
        Module._generation += 1
        return super().popitem(last)

    def clear(self) -> None:
        Module._generation += 1
        super().clear()

    def setdefault(self, key: Any, default: Any = None) -> Any:
        Module._generation += 1
        return super().setdefault(key, default)

    def move_to_end(self, key: Any, last: bool = True) -> None:
        Module._generation += 1
        super().move_to_end(key, last)

    def update(self, *args: Any, **kwargs: Any) -> None:
        Module._generation += 1
        super().update(*args, **kwargs)


class RemovableHandle:
    """Returned by ``register_*_hook``; ``handle.remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict) -> None:
        self.hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


class Module:
    """Base class for layers and models: subclass it and define ``forward``.

    Calling the module runs forward pre-hooks, ``forward`` and forward hooks.
    """

    training: bool
    _version = 1
    # counts changes of any module's attributes (other than ``training``), parameters,
    # buffers, submodules and hooks; see _Table
    _generation = 0

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = _Table()
        d["_buffers"] = _Table()
        d["_non_persistent"] = set()
        d["_modules"] = _Table()
        d["_forward_pre_hooks"] = _Table()
        d["_forward_hooks"] = _Table()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses define it and callers use ``module(...)``."""
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(); define forward(self, ...) in the subclass"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        pre = self._forward_pre_hooks
        if pre:
            for hook in list(pre.values()):
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        out = self.forward(*args, **kwargs)
        post = self._forward_hooks
        if post:
            for hook in list(post.values()):
                res = hook(self, args, out)
                if res is not None:
                    out = res
        return out

    # ----- registration ---------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if "_parameters" in d:
            if name in d["_parameters"]:
                return d["_parameters"][name]
            if name in d["_buffers"]:
                return d["_buffers"][name]
            if name in d["_modules"]:
                return d["_modules"][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        Module._generation += 1
        d = self.__dict__
        if "_parameters" not in d:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(
                    f"cannot assign {type(value).__name__} '{name}' before "
                    "Module.__init__() call; call super().__init__() first"
                )
            object.__setattr__(self, name, value)
            return
        params, buffers, modules = d["_parameters"], d["_buffers"], d["_modules"]
        if isinstance(value, Parameter):
            self._forget(name, keep=params)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name, keep=modules)
            modules[name] = value
        elif isinstance(value, Buffer):
            self._forget(name, keep=buffers)
            self.register_buffer(name, value, persistent=value.persistent)
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter '{name}' "
                    "(nn.Parameter or None expected)"
                )
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module '{name}' "
                    "(nn.Module or None expected)"
                )
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign {type(value).__name__} as buffer '{name}' "
                    "(a Tensor or None expected)"
                )
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: dict) -> None:
        d = self.__dict__
        d.pop(name, None)
        for store in (d["_parameters"], d["_buffers"], d["_modules"]):
            if store is not keep:
                store.pop(name, None)
        if keep is not d["_buffers"]:
            d["_non_persistent"].discard(name)

    def __delattr__(self, name: str) -> None:
        Module._generation += 1
        d = self.__dict__
        for store in (d["_parameters"], d["_buffers"], d["_modules"]):
            if name in store:
                del store[name]
                d["_non_persistent"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        extra = list(self._parameters) + list(self._buffers) + list(self._modules)
        return sorted(set(super().__dir__()) | set(extra))

    def _check_name(self, name: Any, kind: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot register a {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{kind} name can't be empty or contain '.', got {name!r}")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or ``None``, a declared-but-absent one such as a missing bias)."""
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign {type(param).__name__} object to parameter '{name}' "
                "(nn.Parameter or None required)"
            )
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer: state saved in ``state_dict`` (unless ``persistent=False``) that is
        not a learnable parameter."""
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign {type(tensor).__name__} object to buffer '{name}' "
                "(a Tensor or None required)"
            )
        if name in self.__dict__ or name in self._parameters or name in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if isinstance(tensor, (Buffer, Parameter)):
            tensor = tensor.detach()
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module (what attribute assignment does)."""
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The submodule at dotted path ``target`` (``""`` is the module itself)."""
        mod = self
        if not target:
            return mod
        for part in target.split("."):
            sub = mod._modules.get(part)
            if sub is None:
                raise AttributeError(f"{type(mod).__name__} has no submodule '{part}'")
            mod = sub
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path ``target`` (e.g. ``"encoder.0.weight"``)."""
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._parameters or mod._parameters[name] is None:
            raise AttributeError(f"{type(mod).__name__} has no parameter '{name}'")
        return mod._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at dotted path ``target`` (e.g. ``"bn.running_mean"``)."""
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._buffers or mod._buffers[name] is None:
            raise AttributeError(f"{type(mod).__name__} has no buffer '{name}'")
        return mod._buffers[name]

    # ----- traversal ------------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """``(dotted name, module)`` for this module and every submodule, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, mod in self._modules.items():
            if mod is None:
                continue
            sub = f"{prefix}.{name}" if prefix else name
            yield from mod.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """This module and every submodule, depth first."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for the direct submodules."""
        seen: set[int] = set()
        for name, mod in self._modules.items():
            if mod is not None and id(mod) not in seen:
                seen.add(id(mod))
                yield name, mod

    def children(self) -> Iterator[Module]:
        """The direct submodules."""
        for _, m in self.named_children():
            yield m

    def _named_members(self, store: str, prefix: str, recurse: bool,
                       remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, t in getattr(mod, store).items():
                if t is None:
                    continue
                if remove_duplicate:
                    if id(t) in seen:
                        continue
                    seen.add(id(t))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs; a parameter shared by two layers appears once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters (of submodules too unless ``recurse=False``), each once; pass them
        to an optimizer."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """``(dotted name, buffer)`` pairs."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """The buffers (running statistics and other saved state that is not learned)."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on this module."""
        for mod in self.children():
            mod.apply(fn)
        fn(self)
        return self

    # ----- modes and gradients --------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout drops, BatchNorm uses batch statistics) recursively."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every parameter; returns the module."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the parameters' ``.grad`` (to ``None`` by default, else to zeros)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad
                if g.requires_grad or g._node is not None:
                    p.grad = g.detach()
                with no_grad():
                    p.grad.zero_()

    # ----- dtype conversion -----------------------------------------------------------------
    def to(self, *args: Any, dtype: Any = None) -> Module:
        """Convert floating parameters and buffers in place: ``model.to(fw.float64)``.

        A backend name moves them to that backend (``model.to("numpy")``).
        """
        target = None
        for a in args:
            if isinstance(a, str) and a not in _dt._ALIASES:
                target = a
            else:
                dtype = a
        dt = _dt.as_dtype(dtype) if dtype is not None else None
        if dt is not None and dt.kind != "f":
            raise TypeError(f"nn.Module.to only accepts floating dtypes, got {dt}")

        def convert(t: Tensor) -> Tensor:
            out = t.detach()
            if target is not None and target != t._bk.name:
                out = out.to(target)
            if dt is not None and t.dtype.kind == "f" and t.dtype != dt:
                out = out.astype(dt)
            return out

        return self._apply_to_tensors(convert)

    def _apply_to_tensors(self, fn: Callable[[Tensor], Tensor]) -> Module:
        for mod in self.modules():
            for p in mod._parameters.values():
                if p is None:
                    continue
                new = fn(p)
                if new.data is not p.data:
                    # keep the Parameter object (optimizers hold it), swap its storage
                    p.data, p._bk = new.data, new._bk
                    p._bump_version()
                    if p.grad is not None:
                        p.grad = fn(p.grad)
            for name, b in list(mod._buffers.items()):
                if b is not None:
                    mod._buffers[name] = fn(b)
        return self

    def float(self) -> Module:
        """Floating parameters and buffers to float32, in place."""
        return self.to(_dt.float32)

    def double(self) -> Module:
        """Floating parameters and buffers to float64, in place."""
        return self.to(_dt.float64)

    def half(self) -> Module:
        """Floating parameters and buffers to float16, in place."""
        return self.to(_dt.float16)

    def type(self, dst_type: Any) -> Module:
        """``to(dst_type)``."""
        return self.to(dst_type)

    # ----- state dict -----------------------------------------------------------------------
    def state_dict(self, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Tensor]:
        """Parameters and persistent buffers by dotted name (tensors share memory).

        Save it with ``fw.save(model.state_dict(), path)`` (safetensors, never pickle).
        """
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, mod in self._modules.items():
            if mod is not None:
                mod.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict: Any, strict: bool = True,
                        assign: bool = False) -> _IncompatibleKeys:
        """Copy values from ``state_dict`` into this module's parameters and buffers.

        With ``strict=True`` (the default) missing or unexpected keys raise a
        ``RuntimeError`` naming them; either way a shape mismatch raises, and nothing is
        changed when an error is raised. Returns ``(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(
                f"expected a mapping for state_dict, got {type(state_dict).__name__}"
            )
        own: dict[str, tuple[Module, str, str]] = {}
        for mod_prefix, mod in self.named_modules(remove_duplicate=False):
            pre = mod_prefix + "." if mod_prefix else ""
            for name, p in mod._parameters.items():
                if p is not None:
                    own.setdefault(pre + name, (mod, name, "param"))
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent:
                    own.setdefault(pre + name, (mod, name, "buffer"))
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        if strict:
            if unexpected:
                errors.append("Unexpected key(s) in state_dict: " +
                              ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.append("Missing key(s) in state_dict: " +
                              ", ".join(f'"{k}"' for k in missing) + ". ")
        staged = []
        for key, (mod, name, kind) in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            cur = mod._parameters[name] if kind == "param" else mod._buffers[name]
            src = value if isinstance(value, Tensor) else Tensor(value, dtype=cur.dtype)
            if tuple(src.shape) != tuple(cur.shape):
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {tuple(src.shape)} "
                    f"from checkpoint, the shape in current model is {tuple(cur.shape)}."
                )
                continue
            staged.append((mod, name, kind, cur, src))
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" +
                "\n\t".join(errors)
            )
        with no_grad():
            for mod, name, kind, cur, src in staged:
                if assign:
                    if kind == "param":
                        mod._parameters[name] = Parameter(src.detach(), cur.requires_grad)
                    else:
                        mod._buffers[name] = src.detach()
                else:
                    src = src.detach()
                    if src._bk is not cur._bk:
                        src = src.to(cur._bk.name)
                    cur._bk.setitem(cur.data, Ellipsis,
                                    cur._bk.astype(src.data, cur.dtype))
                    cur._bump_version()
        return _IncompatibleKeys(missing, unexpected)

    # ----- hooks ----------------------------------------------------------------------------
    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, args)`` runs before forward; a returned value replaces the args."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, args, output)`` runs after forward; a returned value replaces
        the output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ----- printing -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's settings shown inside its ``repr`` (override in layers)."""
        return ""

    def _repr_tree(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, mod in self._modules.items():
            child = mod._repr_tree() if isinstance(mod, Module) else repr(mod)
            lines.append(f"({name}): " + child.replace("\n", "\n  "))
        main = type(self).__name__ + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __repr__(self) -> str:
        """The module tree (as PyTorch prints it), then the parameter count."""
        text = self._repr_tree()
        total = trainable = 0
        for p in self.parameters():
            total += p.numel()
            if p.requires_grad:
                trainable += p.numel()
        if not total:
            return text
        return _with_counts(text, total, trainable)


def _with_counts(text: str, total: int, trainable: int) -> str:
    note = f"{total:,} parameters"
    if trainable != total:
        note += f" ({trainable:,} trainable)"
    return f"{text}  # {note}"
