"""The accumulating matrix product ``C += alpha * A @ B`` of the BLAS NumPy already loads.

NumPy's ``matmul`` always writes a fresh product (``out=`` overwrites), so a parameter
update ``p += s * (A @ B)`` costs a pass writing the product and a pass adding it. The BLAS
routine under ``matmul`` (``gemm``) computes ``C = alpha * A @ B + beta * C`` in one go; with
``beta = 1`` it adds the scaled product straight into ``C``. This module finds the ``gemm``
of the OpenBLAS build NumPy's wheels ship (``scipy-openblas``, the one NumPy itself calls,
so thread settings apply to both) and binds it with :mod:`ctypes`.

:func:`gemm_update` returns ``None`` where that library is not found (another BLAS, another
platform layout): callers then use ``matmul`` and ``add``. Each call checks dtypes, shapes,
layouts and overlap before handing pointers to BLAS, and reports ``False`` (nothing done)
for anything it cannot pass safely, so the caller falls back.
"""

from __future__ import annotations

import ctypes
import glob
import os
from functools import lru_cache
from typing import Any

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _library_paths() -> list[str]:
    root = os.path.dirname(np.__file__)
    found: list[str] = []
    for pattern in (os.path.join(root + ".libs", "libscipy_openblas*"),  # Linux, Windows
                    os.path.join(root, ".dylibs", "libscipy_openblas*")):  # macOS
        found.extend(sorted(glob.glob(pattern)))
    return found


@lru_cache(maxsize=1)
def _routines() -> dict | None:
    """``{dtype: (gemm, scalar type)}`` or ``None`` where no known BLAS is found."""
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]["name"]
    except (AttributeError, KeyError, TypeError):
        return None
    if blas != "scipy-openblas":
        return None
    for path in _library_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for suffix, index in (("64_", ctypes.c_int64), ("", ctypes.c_int32)):
            try:
                sgemm = getattr(lib, f"scipy_cblas_sgemm{suffix}")
                dgemm = getattr(lib, f"scipy_cblas_dgemm{suffix}")
            except AttributeError:
                continue
            # the 64-bit-index build names its symbols with "64_"; the 32-bit one without
            if suffix == "" and "openblas64" in os.path.basename(path):
                continue
            out = {}
            for fn, dt, scalar in ((sgemm, np.dtype(np.float32), ctypes.c_float),
                                   (dgemm, np.dtype(np.float64), ctypes.c_double)):
                e = ctypes.c_int
                p = ctypes.c_void_p
                fn.argtypes = [e, e, e, index, index, index, scalar, p, index, p, index,
                               scalar, p, index]
                fn.restype = None
                out[dt] = fn
            return out
    return None


def available() -> bool:
    """Whether the accumulating product runs through BLAS here."""
    return _routines() is not None


def _layout(x: np.ndarray) -> tuple[int, int] | None:
    """``(transpose flag, leading dimension)`` of a 2-D array BLAS can read in place."""
    if x.flags.c_contiguous:
        return _NO_TRANS, max(1, x.shape[1])
    if x.flags.f_contiguous:  # a transposed view of a C-contiguous array
        return _TRANS, max(1, x.shape[0])
    return None


def gemm_update() -> Any:
    """``update(c, a, b, alpha) -> bool``: ``c += alpha * (a @ b)`` in place through BLAS,
    ``True`` when done; ``False`` (``c`` untouched) for arrays it does not take. ``None``
    where no BLAS is bound."""
    routines = _routines()
    if routines is None:
        return None
    ndarray = np.ndarray
    may_share = np.may_share_memory

    def update(c: Any, a: Any, b: Any, alpha: float) -> bool:
        if not (type(c) is ndarray and type(a) is ndarray and type(b) is ndarray):
            return False
        fn = routines.get(c.dtype)
        if (fn is None or a.dtype != c.dtype or b.dtype != c.dtype or c.ndim != 2
                or a.ndim != 2 or b.ndim != 2 or not c.flags.c_contiguous
                or not c.flags.writeable):
            return False
        m, k = a.shape
        n = b.shape[1]
        if b.shape[0] != k or c.shape != (m, n) or not (m and n and k):
            return False
        la, lb = _layout(a), _layout(b)
        if la is None or lb is None or may_share(c, a) or may_share(c, b):
            return False
        fn(_ROW_MAJOR, la[0], lb[0], m, n, k, alpha, a.ctypes.data, la[1], b.ctypes.data,
           lb[1], 1.0, c.ctypes.data, max(1, n))
        return True

    return update
