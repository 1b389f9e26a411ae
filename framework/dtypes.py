"""Data types and the type-promotion rule.

Skiff has ``float16``, ``float32`` (the default), ``float64``, ``int32``, ``int64`` and
``bool``; each is the matching NumPy dtype (``fw.float32 is np.dtype('float32')``).

Promotion follows PyTorch, not NumPy: categories are ordered bool < integer < floating;
a result takes the highest category of its tensor operands and, within it, the widest
dtype; a Python scalar never widens a tensor (``float32_tensor * 2.5`` stays float32, an
integer tensor times a Python float becomes the default float dtype, float32).

Two tensors (``a + b``, ``fw.maximum(a, b)``, ``fw.where(c, a, b)``, ...):

==================  ==========================================================
operand dtypes      result
==================  ==========================================================
the same            that dtype
bool, intN          intN
bool, floatN        floatN
intN, intM          the wider (int32 + int64 -> int64; uint8 + int8 -> int16)
intN, floatM        floatM, whatever N (int64 + float16 -> float16)
floatN, floatM      the wider (float16 + float32 -> float32)
==================  ==========================================================

A tensor and a Python scalar:

==============  ===========  ==========  ==================================
tensor dtype    bool scalar  int scalar  float scalar
==============  ===========  ==========  ==================================
bool            bool         int64       the default float dtype (float32)
intN            intN         intN        the default float dtype (float32)
floatN          floatN       floatN      floatN
==============  ===========  ==========  ==================================

Ops defined only on floats (``/``, ``exp``, ``sqrt``, ``sigmoid``, ``softmax``, ...) turn
integer and bool inputs into the default float dtype; ``sum``, ``prod`` and ``cumsum`` of
bool and integer tensors give int64; comparisons and logical ops give bool.

A 0-d tensor beside a tensor with dimensions acts like a Python scalar of its dtype: it
decides the category when its category is higher (``int32 tensor + float64 0-d`` is
float64) but never widens within the category (``float16 tensor + float64 0-d`` is
float16; ``int32 tensor + int64 0-d`` is int32). Two 0-d tensors promote by the table.

``float16`` is stored as NumPy's float16 and computed where NumPy computes it:
elementwise ops run in float16; ``sum`` and ``mean`` accumulate in float32 and round back,
as PyTorch does; ``erf`` (and exact ``gelu``) evaluate in float64 and round; matmul uses
NumPy's float16 matmul, which is correct but much slower than float32 (no BLAS kernel).
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


def promote(a: np.dtype, b: np.dtype, a_ndim: int = 1, b_ndim: int = 1) -> np.dtype:
    """Result dtype of a binary op between two tensors of dtypes ``a`` and ``b``.

    With the tensors' ``ndim``: a 0-d tensor beside a dimensioned one does not widen it
    within its category (``float16 tensor + float64 0-d tensor`` is float16), as in PyTorch.
    """
    if a is b or a == b:
        return a
    ra, rb = _RANK[a.kind], _RANK[b.kind]
    if ra != rb:
        return a if ra > rb else b
    if (a_ndim == 0) != (b_ndim == 0):
        return b if a_ndim == 0 else a
    # within a category NumPy's rule is PyTorch's (uint8 + int8 -> int16)
    return np.promote_types(a, b)


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
