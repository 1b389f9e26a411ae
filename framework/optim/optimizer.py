"""The optimizer base class: parameter groups, per-parameter state, and state dicts.

Updates run under ``fw.no_grad()`` on the parameters' backend arrays, in place (the
arithmetic primitives' ``out=``), so a step costs a handful of backend calls per parameter
and records nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from ..autograd import enable_grad
from ..tensor import Tensor

_wrap = Tensor._wrap


class _Required:
    """Marks a hyper-parameter that has no default (``lr`` of SGD in old PyTorch)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class of all optimizers.

    ``params`` is an iterable of tensors, or of dicts (parameter groups) each holding
    ``"params"`` and any options that override ``defaults`` for that group::

        opt = fw.optim.SGD([
            {"params": model.body.parameters()},
            {"params": model.head.parameters(), "lr": 1e-3},
        ], lr=1e-2, momentum=0.9)

    Subclasses implement :meth:`step`; per-parameter state lives in ``self.state[param]``.
    """

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of tensors or "
                f"dicts, but got {type(params).__name__}"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (with its own options) to optimize from now on."""
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (one computed from others)")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization "
                    f"parameter {name}"
                )
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter group lists the same parameter twice")
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: to ``None`` (default, frees memory) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g._node is not None:
                        g = p.grad = g.detach()
                    g._bk.setitem(g.data, Ellipsis, 0)
                    g._bump_version()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update the parameters once from their ``.grad``; returns ``closure()``'s loss."""
        raise NotImplementedError

    def _closure_loss(self, closure: Callable[[], Any] | None) -> Any:
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _state_tensor(self, p: Tensor, fill: float = 0.0) -> Tensor:
        """A new state buffer shaped like ``p`` (same dtype and backend), filled with ``fill``."""
        return _wrap(p._bk.full(p.shape, fill, p.dtype), p._bk)

    # ----- state dicts --------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data that ``fw.save`` can store.

        ``{"state": {index: {name: tensor or number}}, "param_groups": [{options...,
        "params": [indices]}]}``: parameters are named by their position across groups, as
        in PyTorch, so the dict can be loaded into a new optimizer over the same model.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                ids.append(index.setdefault(id(p), len(index)))
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = dict(self.state[p])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state saved by :meth:`state_dict` (tensors are copied and cast
        to each parameter's dtype)."""
        try:
            saved_groups = state_dict["param_groups"]
            saved_state = state_dict["state"]
        except (KeyError, TypeError):
            raise ValueError(
                "not an optimizer state dict: expected the keys 'state' and 'param_groups'"
            ) from None
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups but the optimizer "
                f"has {len(self.param_groups)}"
            )
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    f"loaded parameter group {i} has {len(s['params'])} parameters but the "
                    f"optimizer's group has {len(g['params'])}"
                )
        id_map = {}
        for g, s in zip(self.param_groups, saved_groups, strict=True):
            for p, key in zip(g["params"], s["params"], strict=True):
                id_map[int(key)] = p
        state: dict[Tensor, dict[str, Any]] = {}
        for key, values in saved_state.items():
            p = id_map.get(int(key))
            if p is None:
                continue
            state[p] = {name: _cast_state(p, name, v) for name, v in values.items()}
        new_groups = []
        for g, s in zip(self.param_groups, saved_groups, strict=True):
            options = {k: copy.deepcopy(v) for k, v in s.items() if k != "params"}
            if isinstance(g.get("betas"), tuple) and isinstance(options.get("betas"), list):
                options["betas"] = tuple(options["betas"])
            options["params"] = g["params"]
            new_groups.append(options)
        self.state = state
        self.param_groups = new_groups


def _cast_state(p: Tensor, name: str, value: Any) -> Any:
    if isinstance(value, Tensor):
        arr = value._bk.to_numpy(value.data)
        if arr.dtype.kind == "f" and name != "step":
            arr = arr.astype(p.dtype)
        return _wrap(p._bk.from_numpy(arr.copy()), p._bk)
    return copy.deepcopy(value)


def _params_with_grad(group: dict[str, Any]) -> Iterable[Tensor]:
    for p in group["params"]:
        if p.grad is not None:
            yield p


def _check_range(name: str, value: float, low: float = 0.0, high: float | None = None) -> None:
    if isinstance(value, _Required):
        return
    if not (value >= low) or (high is not None and not (value < high)):
        bound = f"in [{low}, {high})" if high is not None else f">= {low}"
        raise ValueError(f"invalid {name}: {value} (must be {bound})")
