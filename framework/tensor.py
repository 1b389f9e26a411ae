"""The Tensor: an array on a backend, plus the autograd bookkeeping."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend as _backend
from . import dtypes as _dt
from .autograd.graph import Node, run_backward

_new = object.__new__

# Set by framework.jit while it traces: called when Python reads a tensor's values
# (item/tolist/numpy/__array__), because code after that may branch on them.
_value_hook = None


class Tensor:
    """An n-dimensional array that can record the ops applied to it for autograd.

    >>> import framework as fw
    >>> x = fw.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    __slots__ = ("data", "requires_grad", "grad", "_node", "_idx", "_bk", "_vc", "_hooks",
                 "_retain", "__weakref__")
    __array_priority__ = 1000  # numpy_array * tensor -> Tensor.__rmul__

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        bk = _backend.active
        self.data = bk.asarray(_to_array(data, dtype))
        self.requires_grad = False
        self.grad = None
        self._node = None
        self._idx = 0
        self._bk = bk
        self._vc = None
        self._hooks = None
        self._retain = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(data: Any, bk: Any) -> Tensor:
        """A new tensor around a backend array (no copy, no graph)."""
        t = _new(Tensor)
        t.data = data
        t.requires_grad = False
        t.grad = None
        t._node = None
        t._idx = 0
        t._bk = bk
        t._vc = None
        t._hooks = None
        t._retain = False
        return t

    # ----- basic properties -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def device(self) -> str:
        return self._bk.name

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self) -> Node | None:
        return self._node

    @property
    def T(self) -> Tensor:
        from .ops import permute

        return permute(self, tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        from .ops import transpose

        return transpose(self, -2, -1)

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return math.prod(self.data.shape)

    def element_size(self) -> int:
        return self.dtype.itemsize

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    # ----- conversion -------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shares memory on the NumPy backend)."""
        if self.requires_grad:
            raise RuntimeError(
                "can't call numpy() on a tensor that requires grad; use tensor.detach().numpy()"
            )
        if _value_hook is not None:
            _value_hook(self, "numpy()")
        return self._bk.to_numpy(self.data)

    def item(self) -> Any:
        if self.numel() != 1:
            raise ValueError(
                f"only one-element tensors can be converted to Python scalars, got shape "
                f"{tuple(self.shape)}"
            )
        if _value_hook is not None:  # tracing (fw.jit): the tracer reads the value
            return _value_hook(self, "item()")
        return self._bk.to_numpy(self.data).reshape(()).item()

    def tolist(self) -> Any:
        if _value_hook is not None:
            _value_hook(self, "tolist()")
        return self._bk.to_numpy(self.data).tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.numel()} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iub" or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def __array__(self, dtype=None, copy=None):
        if _value_hook is not None:
            _value_hook(self, "numpy.asarray()")
        arr = self._bk.to_numpy(self.data)
        return arr.astype(dtype) if dtype is not None else arr

    def __hash__(self) -> int:
        return id(self)

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a 0-d tensor as its number."""
        if self.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError(
                f"unsupported format string {spec!r} for a tensor of shape {tuple(self.shape)}; "
                "format its elements (x.tolist()) or a 0-d tensor"
            )
        return repr(self)

    def __iter__(self):
        """Iterate over the first dimension (each item a differentiable slice)."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        from .ops import unbind

        return iter(unbind(self, 0))

    def __contains__(self, value: Any) -> bool:
        """``value in x``: whether any element equals ``value``."""
        return bool((self == value).any())

    def __deepcopy__(self, memo: dict) -> Tensor:
        """A copy with its own memory, ``requires_grad`` and a copied ``.grad`` (graph leaves
        only, as in PyTorch); the backend object is shared, not copied."""
        if self._node is not None:
            raise RuntimeError(
                "only tensors created explicitly by the user (graph leaves) support deepcopy; "
                "use .detach().clone() for a tensor computed from others"
            )
        t = _new(type(self))
        memo[id(self)] = t
        t.data = self._bk.copy(self.data)
        t.requires_grad = self.requires_grad
        t.grad = self.grad.__deepcopy__(memo) if self.grad is not None else None
        t._node = None
        t._idx = 0
        t._bk = self._bk
        t._vc = None
        t._hooks = None
        t._retain = False
        return t

    def to(self, target: Any = None, dtype: Any = None, copy: bool = False) -> Tensor:
        """Convert to a dtype (``x.to(fw.float64)``) and/or move to a backend (``x.to("foo")``);
        ``x.to(other)`` takes another tensor's dtype and backend."""
        out = self
        if isinstance(target, Tensor):
            target, dtype = target._bk.name, target.dtype
        if isinstance(target, str) and target in _dt._ALIASES and dtype is None:
            target, dtype = None, target
        elif target is not None and not isinstance(target, str):
            target, dtype = None, target
        if target is not None and target != self._bk.name:
            from .ops import to_backend

            out = to_backend(out, target)
        if dtype is not None:
            out = out.astype(dtype)
        if copy and out is self:
            out = self.clone()
        return out

    def astype(self, dtype: Any) -> Tensor:
        from .ops import cast

        return cast(self, dtype)

    def type(self, dtype: Any = None) -> Any:
        """The dtype's name without an argument, else the tensor converted to ``dtype``."""
        if dtype is None:
            return self.dtype.name
        return self.astype(dtype)

    def cpu(self) -> Tensor:
        """This tensor on the reference NumPy backend (itself when it is already there)."""
        return self.to("numpy")

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
        """Fill with uniform random values in ``[a, b)`` in place (``fw.nn.init.uniform_``)."""
        from .nn import init
        from .ops.inplace import _check_inplace

        _check_inplace(self, "uniform_")
        return init.uniform_(self, a, b, generator=generator)

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
        """Fill with normal random values in place (``fw.nn.init.normal_``)."""
        from .nn import init
        from .ops.inplace import _check_inplace

        _check_inplace(self, "normal_")
        return init.normal_(self, mean, std, generator=generator)

    def nelement(self) -> int:
        return self.numel()

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    def is_contiguous(self) -> bool:
        return bool(self.data.flags.c_contiguous)

    def contiguous(self) -> Tensor:
        """This tensor if its memory is in row-major order, else a row-major copy
        (differentiable)."""
        if self.data.flags.c_contiguous:
            return self
        from .ops import reshape

        # flattening a non-contiguous array copies it in row-major order
        return reshape(reshape(self, (-1,)), self.shape)

    def _new(self, arr: Any, requires_grad: bool) -> Tensor:
        t = Tensor._wrap(self._bk.asarray(arr), self._bk)
        if requires_grad:
            t.requires_grad_(True)
        return t

    def new_tensor(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """A new tensor from ``data`` with this tensor's dtype (unless ``dtype``) and backend."""
        arr = np.array(_to_array(data, dtype or self.dtype), copy=True)
        return self._new(arr, requires_grad)

    def new_zeros(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return self._new(np.zeros(_size_arg(size), dtype or self.dtype), requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return self._new(np.ones(_size_arg(size), dtype or self.dtype), requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return self._new(np.empty(_size_arg(size), dtype or self.dtype), requires_grad)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None,
                 requires_grad: bool = False) -> Tensor:
        return self._new(np.full(_size_arg((size,)), fill_value, dtype or self.dtype),
                         requires_grad)

    def float(self) -> Tensor:
        return self.astype(_dt.float32)

    def double(self) -> Tensor:
        return self.astype(_dt.float64)

    def half(self) -> Tensor:
        return self.astype(_dt.float16)

    def long(self) -> Tensor:
        return self.astype(_dt.int64)

    def int(self) -> Tensor:
        return self.astype(_dt.int32)

    def bool(self) -> Tensor:
        return self.astype(_dt.bool_)

    # ----- autograd ---------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if self._node is not None and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf tensors; use .detach() for "
                "a non-leaf tensor"
            )
        if requires_grad and self.dtype.kind != "f":
            raise RuntimeError(
                f"only tensors of floating dtype can require gradients, got {self.dtype}"
            )
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, cut from the graph."""
        t = Tensor._wrap(self.data, self._bk)
        t._vc = self._share_vc()
        return t

    def detach_(self) -> Tensor:
        self._node = None
        self.requires_grad = False
        return self

    def _share_vc(self) -> list:
        if self._vc is None:
            self._vc = [0]
        return self._vc

    def _bump_version(self) -> None:
        if self._vc is None:
            self._vc = [1]
        else:
            self._vc[0] += 1

    @property
    def _version(self) -> int:
        return self._vc[0] if self._vc else 0

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self._node is None or self._retain:
            return
        self._retain = True

        def keep(g: Tensor) -> None:
            self.grad = g if self.grad is None else self.grad + g

        self.register_hook(keep)

    def register_hook(self, hook: Any) -> Any:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor
        replaces the gradient. Returns a handle with ``.remove()``."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require grad")
        if self._node is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            node = self._node
            if node.hooks is None:
                node.hooks = {}
            hooks = node.hooks.setdefault(self._idx, [])
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def backward(
        self,
        gradient: Tensor | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of the leaves."""
        if gradient is None:
            if self.numel() != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; this tensor has "
                    f"shape {tuple(self.shape)}: pass gradient= (a tensor of that shape)"
                )
            gradient = Tensor._wrap(self._bk.ones(self.shape, self.dtype), self._bk)
        else:
            gradient = _as_grad(gradient, self)
        if retain_graph is None:
            retain_graph = create_graph
        if inputs is not None:
            from .autograd import grad as _grad

            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
            grads = _grad([self], inputs, [gradient], retain_graph=retain_graph,
                          create_graph=create_graph, allow_unused=True)
            for t, g in zip(inputs, grads, strict=True):
                if g is not None:
                    t.grad = g if t.grad is None else t.grad + g
            return
        run_backward([self], [gradient], retain_graph, create_graph)

    # ----- printing ---------------------------------------------------------------------
    def __repr__(self) -> str:
        arr = self._bk.to_numpy(self.data)
        body = np.array2string(arr, separator=", ", precision=4, threshold=200,
                               prefix="tensor(")
        extras = []
        if arr.dtype not in (_dt.get_default_dtype(), _dt.int64, _dt.bool_):
            extras.append(f"dtype={arr.dtype.name}")
        if arr.ndim > 1 and arr.size > 200 or arr.size == 0:
            extras.append(f"shape={tuple(arr.shape)}")
        if self._bk.name != "numpy":
            extras.append(f"device='{self._bk.name}'")
        if self._node is not None:
            extras.append(f"grad_fn={self._node!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    __str__ = __repr__


class _HookHandle:
    __slots__ = ("hooks", "hook")

    def __init__(self, hooks: list, hook: Any) -> None:
        self.hooks = hooks
        self.hook = hook

    def remove(self) -> None:
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


def _size_arg(size: tuple) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(int(n) for n in size[0])
    return tuple(int(n) for n in size)


def _to_array(data: Any, dtype: Any) -> np.ndarray:
    if isinstance(data, Tensor):
        arr = data._bk.to_numpy(data.data)
    else:
        arr = data
    want = _dt.as_dtype(dtype) if dtype is not None else None
    if isinstance(arr, np.generic):  # a NumPy scalar keeps its dtype, like an array
        arr = np.asarray(arr)
    if isinstance(arr, np.ndarray):
        if want is not None:
            return arr.astype(want, copy=False)
        return arr
    try:
        arr = np.asarray(arr)
    except ValueError:
        raise TypeError(
            "could not make a tensor from ragged or non-numeric data; nested lists must be "
            "rectangular and hold numbers"
        ) from None
    if want is not None:
        return arr.astype(want, copy=False)
    if arr.dtype.kind == "f":
        return arr.astype(_dt.get_default_dtype(), copy=False)
    if arr.dtype.kind in "iu":
        return arr.astype(_dt.int64, copy=False)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype == object:
        raise TypeError(
            "could not make a tensor from ragged or non-numeric data; nested lists must be "
            "rectangular and hold numbers"
        )
    raise TypeError(f"can't make a tensor of dtype {arr.dtype}")


def _as_grad(gradient: Any, like: Tensor) -> Tensor:
    if not isinstance(gradient, Tensor):
        gradient = Tensor(gradient, dtype=like.dtype)
    if tuple(gradient.shape) != tuple(like.shape):
        raise RuntimeError(
            f"gradient has shape {tuple(gradient.shape)} but the output has shape "
            f"{tuple(like.shape)}"
        )
    return gradient.clone() if not gradient.requires_grad else gradient
