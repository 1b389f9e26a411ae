"""``nn.Parameter``: a tensor that a module registers as one of its learnable weights."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a module's learnable weight; ``requires_grad=True`` by default.

    Assigning a ``Parameter`` to a module attribute registers it, so it shows up in
    ``module.parameters()`` and ``module.state_dict()``. It shares memory with ``data``.

    >>> import framework as fw
    >>> w = fw.nn.Parameter(fw.zeros(2))
    >>> w.requires_grad
    True
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            from ..creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            data = Tensor(data)
        self.data = data.data
        self.requires_grad = False
        self.grad = None
        self._node = None
        self._idx = 0
        self._bk = data._bk
        self._vc = data._share_vc()
        self._hooks = None
        self._retain = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__


class Buffer(Tensor):
    """Marks a tensor assigned to a module attribute as a buffer (saved, not learned).

    ``module.stats = nn.Buffer(fw.zeros(3))`` is the same as
    ``module.register_buffer("stats", fw.zeros(3))``; ``persistent=False`` keeps it out of
    the state dict. The module stores a plain tensor sharing the memory.
    """

    __slots__ = ("persistent",)

    def __init__(self, data: Any, persistent: bool = True) -> None:
        if not isinstance(data, Tensor):
            data = Tensor(data)
        self.data = data.data
        self.requires_grad = False
        self.grad = None
        self._node = None
        self._idx = 0
        self._bk = data._bk
        self._vc = data._share_vc()
        self._hooks = None
        self._retain = False
        self.persistent = persistent
