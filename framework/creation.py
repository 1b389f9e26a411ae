"""Making tensors: from data, filled, ranges, and random (``fw.manual_seed`` makes it
reproducible)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend as _backend
from . import dtypes as _dt
from .tensor import Tensor, _to_array

wrap = Tensor._wrap


def _size(size: tuple) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(int(s) for s in size)


def _finish(arr: np.ndarray, requires_grad: bool) -> Tensor:
    bk = _backend.active
    t = wrap(bk.from_numpy(arr), bk)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, scalars, arrays, tensors)."""
    arr = np.array(_to_array(data, dtype), copy=True)
    return _finish(arr, requires_grad)


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    if isinstance(data, Tensor) and (dtype is None or data.dtype == _dt.as_dtype(dtype)):
        return data
    return _finish(_to_array(data, dtype), False)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (on the NumPy backend)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    if array.dtype == object:
        raise TypeError("from_numpy: object arrays are not supported")
    return _finish(array, False)


def _float_dtype(dtype: Any) -> np.dtype:
    return _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.zeros(_size(size), _float_dtype(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.ones(_size(size), _float_dtype(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.empty(_size(size), _float_dtype(dtype)), requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        if isinstance(fill_value, bool):
            dtype = _dt.bool_
        elif isinstance(fill_value, int):
            dtype = _dt.int64
    size = (size,) if isinstance(size, int) else tuple(size)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _finish(np.full(size, fill_value, _float_dtype(dtype)), requires_grad)


def zeros_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def ones_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def empty_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return empty(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def full_like(x: Tensor, fill_value: Any, dtype: Any = None,
              requires_grad: bool = False) -> Tensor:
    return full(x.shape, fill_value, dtype=dtype or x.dtype, requires_grad=requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, int) for v in (start, end, step))
        dtype = _dt.int64 if is_int else _dt.get_default_dtype()
    return _finish(np.arange(start, end, step).astype(_dt.as_dtype(dtype)), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    return _finish(np.linspace(start, end, steps).astype(_float_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


# ----- random ------------------------------------------------------------------------------

_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the global generator used by ``fw.rand``/``randn``/initializers/dropout."""
    global _rng
    _rng = np.random.default_rng(int(seed))
    return _rng


def default_generator() -> np.random.Generator:
    return _rng


class Generator:
    """A seeded random source for ``DataLoader(shuffle=True, generator=...)`` and friends."""

    def __init__(self) -> None:
        self._rng = np.random.default_rng()

    def manual_seed(self, seed: int) -> Generator:
        self._rng = np.random.default_rng(int(seed))
        return self

    @property
    def rng(self) -> np.random.Generator:
        return self._rng


def _gen(generator: Generator | None) -> np.random.Generator:
    return generator.rng if generator is not None else _rng


def _drawn(draw: Any, requires_grad: bool) -> Tensor:
    # Random draws go through backend primitives (the generator is an argument) so that a
    # program traced by framework.jit draws fresh values on every run.
    bk = _backend.active
    t = wrap(draw(bk), bk)
    if requires_grad:
        t.requires_grad_(True)
    return t


def rand(*size: Any, dtype: Any = None, generator: Generator | None = None,
         requires_grad: bool = False) -> Tensor:
    dt = _float_dtype(dtype)
    return _drawn(lambda bk: bk.random_uniform(_gen(generator), _size(size), 0.0, 1.0, dt),
                  requires_grad)


def randn(*size: Any, dtype: Any = None, generator: Generator | None = None,
          requires_grad: bool = False) -> Tensor:
    dt = _float_dtype(dtype)
    return _drawn(lambda bk: bk.random_normal(_gen(generator), _size(size), 0.0, 1.0, dt),
                  requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), dtype: Any = None,
            generator: Generator | None = None) -> Tensor:
    if high is None:
        low, high = 0, low
    dt = _dt.as_dtype(dtype) if dtype is not None else _dt.int64
    return _drawn(lambda bk: bk.random_integers(_gen(generator), low, high, _size((size,)), dt),
                  False)


def randperm(n: int, dtype: Any = None, generator: Generator | None = None) -> Tensor:
    dt = _dt.as_dtype(dtype) if dtype is not None else _dt.int64
    return _drawn(lambda bk: bk.random_permutation(_gen(generator), n, dt), False)


def normal(mean: float = 0.0, std: float = 1.0, size: Any = (), dtype: Any = None,
           generator: Generator | None = None, requires_grad: bool = False) -> Tensor:
    dt = _float_dtype(dtype)
    return _drawn(lambda bk: bk.random_normal(_gen(generator), _size((size,)), mean, std, dt),
                  requires_grad)


def uniform(low: float = 0.0, high: float = 1.0, size: Any = (), dtype: Any = None,
            generator: Generator | None = None, requires_grad: bool = False) -> Tensor:
    dt = _float_dtype(dtype)
    return _drawn(lambda bk: bk.random_uniform(_gen(generator), _size((size,)), low, high, dt),
                  requires_grad)
