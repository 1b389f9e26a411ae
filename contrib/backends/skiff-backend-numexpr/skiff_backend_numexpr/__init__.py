"""A Skiff CPU backend: load-aware multithreading, threaded elementwise kernels and
numexpr-fused normalizations.

NumPy runs every elementwise ufunc on one core, and its BLAS always starts as many threads as
there are cores, even when other processes already keep them busy (then the BLAS threads wait
for one another and a matrix product can take several times longer than on one thread). This
plug-in keeps NumPy arrays as its native arrays (the chip is the host CPU) and changes three
things, all driven by :func:`threads`, the number of cores this process can use *right now*
(the usable cores minus other runnable work, from the 1-minute load average, re-read at most
once a second; ``SKIFF_NUMEXPR_THREADS`` fixes it):

- **matmul** runs BLAS with that many threads (through threadpoolctl), so a busy machine is not
  oversubscribed;
- **elementwise primitives** (``exp``, ``tanh``, ``log``, ``add``, ``multiply``, ``divide``,
  ``maximum``, ...) on float arrays of at least :data:`MIN_PARALLEL_ELEMENTS` elements are
  split into one contiguous chunk per available core, each computed by NumPy's own SIMD loop
  in a worker thread (NumPy releases the GIL), so results are bit-identical to the reference;
- **fused kernels through numexpr**: ``softmax`` and ``layer_norm`` evaluate their elementwise
  parts as single numexpr expressions (one pass over memory, no full-size temporaries).

Every other primitive is the reference's own NumPy function, bound explicitly at the end of
this module: nothing falls back, nothing is copied. Small arrays, other dtypes and
non-contiguous operands go straight to NumPy, whose one call is cheaper there.

>>> import framework as fw
>>> x = fw.ones(3).to("numexpr")
>>> x.device
'numexpr'
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

import numexpr as ne
import numpy as np

from framework.backend import Backend
from framework.backend.numpy_backend import NumpyBackend

__all__ = ["CORES", "MIN_FUSED_ELEMENTS", "MIN_PARALLEL_ELEMENTS", "MIN_THREADED_FLOPS",
           "NumexprBackend", "threads"]

# Below these sizes one NumPy call beats splitting the work (thread hand-off costs about
# 20 µs); measured with `python -m framework.bench.backends`.
MIN_PARALLEL_ELEMENTS = 1 << 18
MIN_FUSED_ELEMENTS = 1 << 15
# Below this many multiply-adds a matmul keeps BLAS's own threading (limiting costs ~10 µs).
MIN_THREADED_FLOPS = 1 << 21

try:
    CORES = len(os.sched_getaffinity(0))
except AttributeError:  # not Linux
    CORES = os.cpu_count() or 1

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class _Threads:
    """How many cores this process can use now; re-read at most once a second."""

    def __init__(self) -> None:
        fixed = os.environ.get("SKIFF_NUMEXPR_THREADS", "")
        self.fixed = max(1, int(fixed)) if fixed.strip().isdigit() else None
        self.n = self.fixed or CORES
        self.checked = 0.0

    def __call__(self) -> int:
        if self.fixed is not None:
            return self.fixed
        now = time.monotonic()
        if now - self.checked > 1.0:
            self.checked = now
            try:
                load = os.getloadavg()[0]
            except OSError:  # not available on this platform
                load = 0.0
            # This process counts in the load for about one core while it computes.
            self.n = max(1, min(CORES, int(CORES + 1.5 - load)))
        return self.n


threads = _Threads()
"""``threads()``: the number of worker threads the kernels use at this moment."""

_pool: ThreadPoolExecutor | None = None
_blas = None
_blas_lock = threading.Lock()


def _workers() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=CORES, thread_name_prefix="skiff-numexpr")
    return _pool


def _blas_controller():
    global _blas
    if _blas is None:
        with _blas_lock:
            if _blas is None:
                from threadpoolctl import ThreadpoolController

                _blas = ThreadpoolController()
    return _blas


def _version() -> str:
    try:
        own = metadata.version("skiff-backend-numexpr")
    except metadata.PackageNotFoundError:  # running from a source tree
        own = "0.1.0"
    return f"{own}+numexpr{ne.__version__}"


def _chunks(n: int, parts: int) -> list[slice]:
    step = -(-n // parts)
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def _parallel(fn, count: int) -> None:
    """Run ``fn(i)`` for i in range(count) on the worker threads; exceptions propagate."""
    for f in [_workers().submit(fn, i) for i in range(count)]:
        f.result()


def _unary(ufunc):
    def primitive(x, *args, **kwargs):
        if (not args and not kwargs and type(x) is np.ndarray and x.dtype in _FLOATS
                and x.size >= MIN_PARALLEL_ELEMENTS and x.flags.c_contiguous):
            n = threads()
            if n > 1:
                flat = x.reshape(-1)
                out = np.empty_like(flat)
                parts = _chunks(flat.size, n)
                _parallel(lambda i: ufunc(flat[parts[i]], out=out[parts[i]]), len(parts))
                return out.reshape(x.shape)
        return ufunc(x, *args, **kwargs)

    primitive.__name__ = ufunc.__name__
    primitive.__doc__ = f"{ufunc.__name__}, split over the available cores for large arrays."
    return primitive


def _rows(v, shape):
    """How to cut operand ``v`` along the result's first axis: 'full' (it spans it), 'whole'
    (it broadcasts along it) or None (not splittable)."""
    if not isinstance(v, np.ndarray):
        return "whole" if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    if v.ndim < len(shape) or v.shape[0] == 1:
        return "whole"
    return "full" if v.shape[0] == shape[0] else None


def _binary(ufunc):
    def primitive(x, y, out=None, **kwargs):
        tx, ty = type(x) is np.ndarray, type(y) is np.ndarray
        dt = x.dtype if tx else (y.dtype if ty else None)
        if dt in _FLOATS and (tx or ty) and set(kwargs) <= {"casting"}:
            shape = np.broadcast_shapes(np.shape(x), np.shape(y))
            size = 1
            for s in shape:
                size *= s
            n = threads() if size >= MIN_PARALLEL_ELEMENTS else 1
            rx = _rows(x, shape) if n > 1 and shape[0] >= n else None
            ry = _rows(y, shape) if rx else None
            if rx and ry and (out is None or (type(out) is np.ndarray and out.shape == shape)):
                if out is None:
                    out = np.empty(shape, np.result_type(x, y))
                parts = _chunks(shape[0], n)

                def work(i, s=parts):
                    a = x[s[i]] if rx == "full" else x
                    b = y[s[i]] if ry == "full" else y
                    ufunc(a, b, out=out[s[i]], **kwargs)

                _parallel(work, len(parts))
                return out
        if out is not None:
            return ufunc(x, y, out=out, **kwargs)
        return ufunc(x, y, **kwargs)

    primitive.__name__ = ufunc.__name__
    primitive.__doc__ = f"{ufunc.__name__}, split over the available cores for large arrays."
    return primitive


def _matmul(x, y):
    """np.matmul with BLAS limited to the cores available now (no oversubscription)."""
    n = threads()
    if n < CORES and type(x) is np.ndarray and type(y) is np.ndarray and x.ndim and y.ndim:
        flops = x.size * (y.shape[-1] if y.ndim > 1 else 1)
        if flops >= MIN_THREADED_FLOPS:
            with _blas_controller().limit(limits=n, user_api="blas"):
                return np.matmul(x, y)
    return np.matmul(x, y)


def _big_float(x) -> bool:
    # numexpr's own loops are slower than NumPy's SIMD ones on a single core: fuse only when
    # several cores can share the pass
    return (type(x) is np.ndarray and x.dtype in _FLOATS and x.size >= MIN_FUSED_ELEMENTS
            and threads() > 1)


def _numexpr(expr: str, env: dict, out=None):
    n = threads()
    if ne.get_num_threads() != n:
        ne.set_num_threads(n)
    return ne.evaluate(expr, local_dict=env, out=out)


def _softmax(x, axis=-1):
    if not _big_float(x):
        return NumpyBackend.softmax(x, axis)
    m = np.max(x, axis=axis, keepdims=True)
    e = _numexpr("exp(x - m)", {"x": x, "m": m})
    s = np.sum(e, axis=axis, keepdims=True)
    return _numexpr("e / s", {"e": e, "s": s}, out=e)


def _layer_norm(x, weight=None, bias=None, eps=1e-5):
    if not _big_float(x) or any(
        v is not None and (type(v) is not np.ndarray or v.dtype != x.dtype)
        for v in (weight, bias)
    ):
        return NumpyBackend.layer_norm(x, weight, bias, eps)
    n = x.shape[-1]
    mean = np.sum(x, axis=-1, keepdims=True) / np.asarray(n, x.dtype)
    d = _numexpr("x - mean", {"x": x, "mean": mean})
    var = np.sum(_numexpr("d * d", {"d": d}), axis=-1, keepdims=True)
    var /= np.asarray(n, x.dtype)
    r = 1 / np.sqrt(var + np.asarray(eps, x.dtype))
    env = {"d": d, "r": r, "w": weight if weight is not None else np.ones((), x.dtype),
           "b": bias if bias is not None else np.zeros((), x.dtype)}
    return _numexpr("d * r * w + b", env, out=d)


class NumexprBackend(Backend):
    """CPU backend: NumPy arrays, load-aware threads, numexpr-fused normalizations."""

    name = "numexpr"
    version = _version()
    ndarray = np.ndarray
    device = f"CPU, up to {CORES} threads (numexpr {ne.__version__})"

    exp = staticmethod(_unary(np.exp))
    log = staticmethod(_unary(np.log))
    log1p = staticmethod(_unary(np.log1p))
    expm1 = staticmethod(_unary(np.expm1))
    sqrt = staticmethod(_unary(np.sqrt))
    sin = staticmethod(_unary(np.sin))
    cos = staticmethod(_unary(np.cos))
    tan = staticmethod(_unary(np.tan))
    tanh = staticmethod(_unary(np.tanh))
    abs = staticmethod(_unary(np.abs))
    negative = staticmethod(_unary(np.negative))
    reciprocal = staticmethod(_unary(np.reciprocal))

    add = staticmethod(_binary(np.add))
    subtract = staticmethod(_binary(np.subtract))
    multiply = staticmethod(_binary(np.multiply))
    divide = staticmethod(_binary(np.true_divide))
    power = staticmethod(_binary(np.power))
    maximum = staticmethod(_binary(np.maximum))
    minimum = staticmethod(_binary(np.minimum))

    matmul = staticmethod(_matmul)

    softmax = staticmethod(_softmax)
    layer_norm = staticmethod(_layer_norm)


# Everything else: the reference's NumPy function itself (host memory, nothing to convert).
for _name, _attr in vars(NumpyBackend).items():
    if not _name.startswith("_") and _name not in vars(NumexprBackend) and _name not in (
            "name", "version", "ndarray"):
        setattr(NumexprBackend, _name, _attr)
del _name, _attr
