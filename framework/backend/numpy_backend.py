"""The reference backend: NumPy, vectorized.

Primitives are stored as plain attributes (NumPy ufuncs and functions), so calling
``backend.add(x, y)`` costs exactly one NumPy call. The primitive set and its semantics are
listed in :mod:`framework.backend.primitives`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import fused as _fused

# Cephes' rational approximations for erf/erfc (S. L. Moshier, public domain): about 1e-16
# relative error in float64, so gradients of erf/gelu pass float64 finite-difference checks.
_ERF_T = np.array([9.60497373987051638749e0, 9.00260197203842689217e1,
                   2.23200534594684319226e3, 7.00332514112805075473e3,
                   5.55923013010394962768e4])
_ERF_U = np.array([1.0, 3.35617141647503099647e1, 5.21357949780152679795e2,
                   4.59432382970980127987e3, 2.26290000613890934246e4,
                   4.92673942608635921086e4])
_ERFC_P = np.array([2.46196981473530512524e-10, 5.64189564831068821977e-1,
                    7.46321056442269912687e0, 4.86371970985681366614e1,
                    1.96520832956077098242e2, 5.26445194995477358631e2,
                    9.34528527171957607540e2, 1.02755188689515710272e3,
                    5.57535335369399327526e2])
_ERFC_Q = np.array([1.0, 1.32281951154744992508e1, 8.67072140885989742329e1,
                    3.54937778887819891062e2, 9.75708501743205489753e2,
                    1.82390916687909736289e3, 2.24633760818710981792e3,
                    1.65666309194161350182e3, 5.57535340817727675546e2])
_ERFC_R = np.array([5.64189583547755073984e-1, 1.27536670759978104416e0,
                    5.01905042251180477414e0, 6.16021097993053585195e0,
                    7.40974269950448939160e0, 2.97886665372100240670e0])
_ERFC_S = np.array([1.0, 2.26052863220117276590e0, 9.39603524938001434673e0,
                    1.20489539808096656605e1, 1.70814450747565897222e1,
                    9.60896809063285878198e0, 3.36907645100081516050e0])


# Eigen's (and XLA's) float32 erf: a rational function of x on [-4, 4], within a few float32
# ulps of the exact value, in 13 fused vector operations instead of Cephes' branches.
_ERF32_ALPHA = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
                -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
                -1.60960333262415e-02)
_ERF32_BETA = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
               -7.37332916720468e-03, -1.42647390514189e-02)


def _horner(z: np.ndarray, coefficients: Any) -> np.ndarray:
    """``sum(c * z**k)`` with the coefficients highest power first, in place on one buffer."""
    # the first step, c0 * z, into an unfilled buffer (an array even for a 0-d z)
    acc = np.multiply(z, coefficients[0], out=np.empty_like(z))
    acc += coefficients[1]
    for c in coefficients[2:]:
        acc *= z
        acc += c
    return acc


def _erf32(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    # np.clip keeps NaN, and NaN stays NaN through the polynomials: erf(NaN) is NaN
    v = np.clip(x.astype(np.float32, copy=False), -4.0, 4.0)
    z = v * v
    p = _horner(z, _ERF32_ALPHA)
    p *= v
    p /= _horner(z, _ERF32_BETA)
    return p.astype(dtype, copy=False)


def erf(x: np.ndarray) -> np.ndarray:
    """Error function, elementwise, in the input's floating dtype.

    float64 uses Cephes' rational approximations (about 1e-16 relative error, so gradients
    of erf and GELU pass float64 finite-difference checks); float32 and float16 use the
    float32 rational function of Eigen and XLA (a few ulps), several times faster.
    """
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    if dtype != np.float64:
        return _erf32(x, dtype)
    xd = x
    ax = np.abs(xd)
    out = np.empty_like(xd)
    small = ax <= 1.0
    if small.any():
        xs = xd[small]
        z = xs * xs
        out[small] = xs * _horner(z, _ERF_T) / _horner(z, _ERF_U)
    big = ~small
    if big.any():
        a = ax[big]
        mid = a < 8.0
        # beyond 30 exp(-a*a) is 0; capping keeps inf/inf (NaN) out of erf(+-inf)
        tail = np.minimum(a, 30.0)
        near = np.minimum(a, 8.0)
        p = np.where(mid, _horner(near, _ERFC_P), _horner(tail, _ERFC_R))
        q = np.where(mid, _horner(near, _ERFC_Q), _horner(tail, _ERFC_S))
        with np.errstate(under="ignore"):
            erfc = np.exp(-a * a) * p / q
        out[big] = np.copysign(1.0 - erfc, xd[big])
    return out


# Reductions and movement call the ufunc reduction / the array method directly: NumPy's
# np.sum/np.max/np.reshape wrappers cost about a microsecond per call, as much as the work
# on the small arrays of a training step. Same results (np.sum is np.add.reduce).
_ndarray = np.ndarray
_add_reduce = np.add.reduce
_max_reduce = np.maximum.reduce
_min_reduce = np.minimum.reduce


def _sum(x, axis=None, keepdims=False, dtype=None):
    if type(x) is _ndarray:
        return _add_reduce(x, axis=axis, dtype=dtype, keepdims=keepdims)
    return np.sum(x, axis=axis, keepdims=keepdims, dtype=dtype)


def _max(x, axis=None, keepdims=False, **kwargs):
    if type(x) is _ndarray and not kwargs:
        return _max_reduce(x, axis=axis, keepdims=keepdims)
    return np.max(x, axis=axis, keepdims=keepdims, **kwargs)


def _min(x, axis=None, keepdims=False, **kwargs):
    if type(x) is _ndarray and not kwargs:
        return _min_reduce(x, axis=axis, keepdims=keepdims)
    return np.min(x, axis=axis, keepdims=keepdims, **kwargs)


def _reshape(x, shape, *args, **kwargs):
    if type(x) is _ndarray and not args and not kwargs:
        return x.reshape(shape)
    return np.reshape(x, shape, *args, **kwargs)


def _transpose(x, axes=None):
    if type(x) is _ndarray:
        return x.transpose(axes)
    return np.transpose(x, axes)


def random_uniform(rng, shape, low=0.0, high=1.0, dtype=np.float32):
    return rng.uniform(low, high, size=shape).astype(dtype, copy=False)


def random_normal(rng, shape, mean=0.0, std=1.0, dtype=np.float32):
    return rng.normal(mean, std, size=shape).astype(dtype, copy=False)


def random_integers(rng, low, high, shape, dtype=np.int64):
    return rng.integers(low, high, size=shape).astype(dtype, copy=False)


def random_permutation(rng, n, dtype=np.int64):
    return rng.permutation(n).astype(dtype, copy=False)


class NumpyBackend:
    """Reference backend: every primitive is NumPy itself."""

    name = "numpy"
    version = np.__version__
    ndarray = np.ndarray

    # allocation and transfer
    asarray = staticmethod(np.asarray)
    empty = staticmethod(np.empty)
    zeros = staticmethod(np.zeros)
    ones = staticmethod(np.ones)
    full = staticmethod(np.full)
    arange = staticmethod(np.arange)
    linspace = staticmethod(np.linspace)
    eye = staticmethod(np.eye)
    copy = staticmethod(np.copy)

    @staticmethod
    def from_numpy(a: np.ndarray) -> np.ndarray:
        return a

    @staticmethod
    def to_numpy(x: np.ndarray) -> np.ndarray:
        return x

    @staticmethod
    def astype(x: np.ndarray, dtype) -> np.ndarray:
        return x.astype(dtype, copy=False)

    # elementwise unary
    negative = np.negative
    abs = np.abs
    exp = np.exp
    log = np.log
    log1p = np.log1p
    expm1 = np.expm1
    sqrt = np.sqrt
    sin = np.sin
    cos = np.cos
    tan = np.tan
    tanh = np.tanh
    arcsin = np.arcsin
    arccos = np.arccos
    arctan = np.arctan
    sign = np.sign
    floor = np.floor
    ceil = np.ceil
    trunc = np.trunc
    round = staticmethod(np.round)
    reciprocal = np.reciprocal
    erf = staticmethod(erf)
    isnan = np.isnan
    isinf = np.isinf
    isfinite = np.isfinite
    invert = np.invert
    logical_not = np.logical_not

    # elementwise binary (NumPy broadcasting)
    add = np.add
    subtract = np.subtract
    multiply = np.multiply
    divide = np.true_divide
    power = np.power
    maximum = np.maximum
    minimum = np.minimum
    equal = np.equal
    not_equal = np.not_equal
    less = np.less
    less_equal = np.less_equal
    greater = np.greater
    greater_equal = np.greater_equal
    logical_and = np.logical_and
    logical_or = np.logical_or
    logical_xor = np.logical_xor
    bitwise_and = np.bitwise_and
    bitwise_or = np.bitwise_or
    bitwise_xor = np.bitwise_xor
    arctan2 = np.arctan2
    fmod = np.fmod
    remainder = np.remainder
    where = staticmethod(np.where)
    clip = staticmethod(np.clip)

    # reductions
    sum = staticmethod(_sum)
    prod = staticmethod(np.prod)
    max = staticmethod(_max)
    min = staticmethod(_min)
    argmax = staticmethod(np.argmax)
    argmin = staticmethod(np.argmin)
    all = staticmethod(np.all)
    any = staticmethod(np.any)
    cumsum = staticmethod(np.cumsum)
    cumprod = staticmethod(np.cumprod)
    sort = staticmethod(np.sort)
    argsort = staticmethod(np.argsort)
    unique = staticmethod(np.unique)

    # movement
    reshape = staticmethod(_reshape)
    transpose = staticmethod(_transpose)
    broadcast_to = staticmethod(np.broadcast_to)
    expand_dims = staticmethod(np.expand_dims)
    squeeze = staticmethod(np.squeeze)
    concatenate = staticmethod(np.concatenate)
    stack = staticmethod(np.stack)
    pad = staticmethod(np.pad)
    flip = staticmethod(np.flip)
    roll = staticmethod(np.roll)
    tile = staticmethod(np.tile)
    repeat = staticmethod(np.repeat)
    tril = staticmethod(np.tril)
    triu = staticmethod(np.triu)
    take = staticmethod(np.take)
    take_along_axis = staticmethod(np.take_along_axis)
    put_along_axis = staticmethod(np.put_along_axis)
    add_at = staticmethod(np.add.at)
    may_share_memory = staticmethod(np.may_share_memory)
    nonzero = staticmethod(np.nonzero)
    broadcast_shapes = staticmethod(np.broadcast_shapes)

    @staticmethod
    def getitem(x, index):
        return x[index]

    @staticmethod
    def setitem(x, index, value):
        x[index] = value

    # linear algebra
    matmul = np.matmul
    einsum = staticmethod(np.einsum)
    outer = staticmethod(np.outer)

    # random numbers (the generator is an argument, so a traced program draws afresh)
    random_uniform = staticmethod(random_uniform)
    random_normal = staticmethod(random_normal)
    random_integers = staticmethod(random_integers)
    random_permutation = staticmethod(random_permutation)

    # optional fused kernels (reference implementations in framework/backend/fused.py)
    softmax = staticmethod(_fused.softmax)
    log_softmax = staticmethod(_fused.log_softmax)
    gelu = staticmethod(_fused.gelu)
    layer_norm = staticmethod(_fused.layer_norm)
    im2col = staticmethod(_fused.im2col)
    col2im = staticmethod(_fused.col2im)
    conv2d = staticmethod(_fused.conv2d)
    attention = staticmethod(_fused.attention)
