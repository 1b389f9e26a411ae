"""Data types and the type-promotion rule.

Skiff has ``float16``, ``float32`` (the default), ``float64``, ``int32``, ``int64`` and
``bool``; each is the matching NumPy dtype (``fw.float32 is np.dtype('float32')``).

Promotion follows PyTorch, not NumPy: categories are ordered bool < integer < floating;
a result takes the highest category of its tensor operands and, within it, the widest
dtype; a Python scalar never widens a tensor (``float32_tensor * 2.5`` stays float32, an
integer tensor times a Python float becomes the default float dtype, float32).
"""

from __future__ import annotations

import numpy as np

_pyfloat = float
_pyint = int

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)  # noqa: A001 - PyTorch's alias
float64 = double = np.dtype(np.float64)
int32 = int = np.dtype(np.int32)  # noqa: A001 - PyTorch's alias
int64 = long = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
int16 = np.dtype(np.int16)

_default_float = float32

_ALIASES = {
    "float16": float16, "half": float16, "float32": float32, "float": float32,
    "float64": float64, "double": float64, "int32": int32, "int": int32,
    "int64": int64, "long": int64, "bool": bool_, "int8": int8, "uint8": uint8,
    "int16": int16,
}

_RANK = {"b": 0, "u": 1, "i": 1, "f": 2}


def get_default_dtype() -> np.dtype:
    return _default_float


def set_default_dtype(dtype) -> None:
    """Set the floating dtype used for Python floats and new float tensors."""
    global _default_float
    dt = as_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"default dtype must be a floating dtype, got {dt}")
    _default_float = dt


def as_dtype(dtype) -> np.dtype:
    """Normalize ``dtype`` (a Skiff/NumPy dtype, a name, or a Python type) to a NumPy dtype."""
    if isinstance(dtype, np.dtype):
        return dtype
    if isinstance(dtype, str):
        try:
            return _ALIASES[dtype]
        except KeyError:
            raise TypeError(f"unknown dtype {dtype!r}; use one of {sorted(_ALIASES)}") from None
    if dtype is bool:
        return bool_
    if dtype is _pyfloat:
        return _default_float
    if dtype is _pyint:
        return int64
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}") from None


def is_floating(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


def promote(a: np.dtype, b: np.dtype) -> np.dtype:
    """Result dtype of a binary op between two tensors of dtypes ``a`` and ``b``."""
    if a is b or a == b:
        return a
    ra, rb = _RANK[a.kind], _RANK[b.kind]
    if ra != rb:
        return a if ra > rb else b
    return a if a.itemsize >= b.itemsize else b


def scalar_dtype(value, tensor_dtype: np.dtype) -> np.dtype:
    """Result dtype of ``tensor op python_scalar``."""
    kind = tensor_dtype.kind
    if isinstance(value, bool):
        return tensor_dtype
    if isinstance(value, _pyint):
        return int64 if kind == "b" else tensor_dtype
    if isinstance(value, _pyfloat):
        return tensor_dtype if kind == "f" else _default_float
    return tensor_dtype
