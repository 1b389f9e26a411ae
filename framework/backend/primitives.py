"""The primitive set: what a backend supplies, stated once.

Every array operation of the framework reaches a chip through one of the primitives listed
here. A backend is an object whose attributes are these primitives; each takes and returns
the backend's *native arrays*. A native array must expose ``.shape`` (tuple of ints),
``.ndim`` and ``.dtype`` (a NumPy dtype), because tensors read them without a backend call;
and ``.base`` (``None`` unless the array is a view of another) and ``.flags.writeable``, which
the framework reads to track views and read-only arrays. 0-d native arrays convert with
``int()``, ``float()``, ``bool()`` and ``operator.index()`` (data-dependent checks use them).

Common rules (they hold for every primitive unless its entry says otherwise):

- **Semantics are NumPy's** for the function of the same name (NumPy 2 rules, including
  value-based-free type promotion for Python scalars, NEP 50). The reference backend
  :class:`~framework.backend.numpy_backend.NumpyBackend` *is* NumPy, so "same result as the
  reference" is the conformance criterion.
- **Broadcasting**: binary and ternary elementwise primitives broadcast their array operands
  with NumPy's rule (align trailing dimensions; a dimension of 1 stretches). Python scalars are
  accepted wherever an array is and never widen the array's dtype.
- **Dtypes**: the framework uses ``float16``, ``float32``, ``float64``, ``int32``, ``int64``
  and ``bool`` (plus ``int8``, ``int16``, ``uint8`` for data). A result's dtype must equal
  the reference's exactly.
- **Empty and 0-d arrays** are valid inputs everywhere; IEEE special values (NaN, ±inf, -0.0)
  propagate as in NumPy.
- **``out=`` and ``casting=``**: binary arithmetic primitives accept NumPy's ``out=`` keyword
  (write into an existing native array, used by in-place ops and gradient accumulation) and
  ``casting="unsafe"``.

``required`` primitives are the interface; ``optional`` ones are fused kernels a backend may
provide for speed. A backend built on :class:`framework.backend.Backend` that lacks any of
them keeps working: the call falls back to the reference (see ``docs/backends.md``).

Tolerances (used by ``python -m framework.backend.conformance``) are per primitive class and
dtype: ``exact`` results must be bit-identical (NaN equal to NaN), the others are compared
with ``|got - want| <= atol + rtol * |want|``; see :data:`TOLERANCES`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GROUPS", "PRIMITIVES", "TOLERANCES", "Primitive", "markdown_table", "tolerance"]


@dataclass(frozen=True)
class Primitive:
    """One backend primitive: its call signature, meaning, dtypes and tolerance class."""

    name: str
    group: str
    signature: str
    semantics: str
    dtypes: str
    required: bool = True
    tolerance: str = "exact"
    mutates: bool = False


GROUPS = {
    "allocation": "Allocation and transfer",
    "unary": "Elementwise unary",
    "binary": "Elementwise binary and ternary (broadcasting)",
    "reduction": "Reductions, scans and sorting",
    "movement": "Movement and indexing",
    "linalg": "Linear algebra",
    "random": "Random numbers",
    "fused": "Optional fused kernels",
}

# rtol, atol per tolerance class and dtype kind/size ("f2", "f4", "f8"); integer and bool
# results are always compared exactly.
TOLERANCES: dict[str, dict[str, tuple[float, float]]] = {
    "exact": {"f2": (0.0, 0.0), "f4": (0.0, 0.0), "f8": (0.0, 0.0)},
    # correctly rounded arithmetic: a different association or FMA may change the last bit
    "arith": {"f2": (1e-3, 1e-5), "f4": (1e-6, 1e-30), "f8": (1e-15, 1e-300)},
    # transcendental functions: a few ulp of the result
    "transcendental": {"f2": (2e-3, 1e-4), "f4": (1e-5, 1e-6), "f8": (1e-13, 1e-15)},
    # sums and products in another order (blocked, tree or multithreaded)
    "accumulate": {"f2": (1e-2, 1e-2), "f4": (1e-4, 1e-5), "f8": (1e-11, 1e-12)},
    # matrix products (BLAS blocking) and fused kernels built from them
    "matmul": {"f2": (1e-2, 1e-2), "f4": (1e-4, 1e-4), "f8": (1e-11, 1e-11)},
}


def tolerance(primitive: str, dtype) -> tuple[float, float]:
    """(rtol, atol) for comparing ``primitive``'s results of ``dtype`` with the reference."""
    import numpy as np

    dt = np.dtype(dtype)
    if dt.kind != "f":
        return (0.0, 0.0)
    cls = PRIMITIVES[primitive].tolerance if primitive in PRIMITIVES else "arith"
    return TOLERANCES[cls][f"f{dt.itemsize}"]


_F = "float16, float32, float64"
_N = "float16/32/64, int8/16/32/64, uint8"
_ALL = "all (numeric and bool)"


def _p(name, group, signature, semantics, dtypes, required=True, tol="exact", mutates=False):
    return Primitive(name, group, signature, semantics, dtypes, required, tol, mutates)


_LIST = [
    # ----- allocation and transfer ---------------------------------------------------------
    _p("from_numpy", "allocation", "from_numpy(a: numpy.ndarray) -> array",
       "A native array with a's shape, dtype and values. May share memory when the native "
       "array is a NumPy array (the caller passes arrays it no longer mutates).", _ALL),
    _p("to_numpy", "allocation", "to_numpy(x) -> numpy.ndarray",
       "x's values as a NumPy array (shape and dtype kept). May be a view.", _ALL),
    _p("asarray", "allocation", "asarray(obj, dtype=None) -> array",
       "obj (a NumPy array, nested lists or a Python scalar) as a native array, optionally "
       "converted to dtype. Used for scalar operands (0-d arrays).", _ALL),
    _p("astype", "allocation", "astype(x, dtype) -> array",
       "x converted to dtype (C casting rules: float to int truncates toward zero, NaN to int "
       "is unspecified and not tested). Returns x itself when the dtype already matches.",
       _ALL),
    _p("copy", "allocation", "copy(x) -> array", "A new array with x's values.", _ALL),
    _p("empty", "allocation", "empty(shape, dtype=float64) -> array",
       "An uninitialized array (only shape and dtype are checked).", _ALL),
    _p("zeros", "allocation", "zeros(shape, dtype=float64) -> array", "Filled with 0.", _ALL),
    _p("ones", "allocation", "ones(shape, dtype=float64) -> array", "Filled with 1.", _ALL),
    _p("full", "allocation", "full(shape, fill_value, dtype=None) -> array",
       "Filled with fill_value.", _ALL),
    _p("arange", "allocation", "arange(start, stop=None, step=1, dtype=None) -> array",
       "Evenly spaced values in [start, stop).", _N),
    _p("linspace", "allocation", "linspace(start, stop, num=50, endpoint=True, dtype=None)",
       "num evenly spaced values over [start, stop].", _F, tol="arith"),
    _p("eye", "allocation", "eye(n, m=None, k=0, dtype=float64) -> array",
       "Ones on the k-th diagonal, zeros elsewhere.", _ALL),
    # ----- elementwise unary ---------------------------------------------------------------
    _p("negative", "unary", "negative(x) -> array", "-x.", _N),
    _p("abs", "unary", "abs(x) -> array", "|x|.", _N),
    _p("exp", "unary", "exp(x) -> array", "e**x.", _F, tol="transcendental"),
    _p("log", "unary", "log(x) -> array", "Natural logarithm; log(0) = -inf, log(<0) = NaN.",
       _F, tol="transcendental"),
    _p("log1p", "unary", "log1p(x) -> array", "log(1 + x), accurate near 0.", _F,
       tol="transcendental"),
    _p("expm1", "unary", "expm1(x) -> array", "exp(x) - 1, accurate near 0.", _F,
       tol="transcendental"),
    _p("sqrt", "unary", "sqrt(x) -> array", "Square root; sqrt(<0) = NaN.", _F, tol="arith"),
    _p("sin", "unary", "sin(x) -> array", "Sine (radians).", _F, tol="transcendental"),
    _p("cos", "unary", "cos(x) -> array", "Cosine (radians).", _F, tol="transcendental"),
    _p("tan", "unary", "tan(x) -> array", "Tangent (radians).", _F, tol="transcendental"),
    _p("tanh", "unary", "tanh(x) -> array", "Hyperbolic tangent.", _F, tol="transcendental"),
    _p("arcsin", "unary", "arcsin(x) -> array", "Inverse sine; NaN outside [-1, 1].", _F,
       tol="transcendental"),
    _p("arccos", "unary", "arccos(x) -> array", "Inverse cosine; NaN outside [-1, 1].", _F,
       tol="transcendental"),
    _p("arctan", "unary", "arctan(x) -> array", "Inverse tangent.", _F, tol="transcendental"),
    _p("erf", "unary", "erf(x) -> array",
       "Error function in x's floating dtype (integer input gives float32).", _F,
       tol="transcendental"),
    _p("sign", "unary", "sign(x) -> array", "-1, 0 or 1 (NaN stays NaN).", _N),
    _p("floor", "unary", "floor(x) -> array", "Round toward -inf.", _F),
    _p("ceil", "unary", "ceil(x) -> array", "Round toward +inf.", _F),
    _p("trunc", "unary", "trunc(x) -> array", "Round toward 0.", _F),
    _p("round", "unary", "round(x, decimals=0) -> array",
       "Round half to even at the given number of decimals.", _F, tol="arith"),
    _p("reciprocal", "unary", "reciprocal(x) -> array", "1 / x.", _F, tol="arith"),
    _p("isnan", "unary", "isnan(x) -> bool array", "Whether x is NaN.", _F),
    _p("isinf", "unary", "isinf(x) -> bool array", "Whether x is ±inf.", _F),
    _p("isfinite", "unary", "isfinite(x) -> bool array", "Whether x is neither NaN nor ±inf.",
       _F),
    _p("invert", "unary", "invert(x) -> array",
       "Bitwise NOT (logical NOT for bool arrays).", "bool, int8/16/32/64, uint8"),
    _p("logical_not", "unary", "logical_not(x) -> bool array", "not x (nonzero is true).",
       _ALL),
    # ----- elementwise binary / ternary ----------------------------------------------------
    _p("add", "binary", "add(x, y, out=None, casting='same_kind') -> array", "x + y.", _N,
       tol="arith"),
    _p("subtract", "binary", "subtract(x, y, out=None) -> array", "x - y.", _N, tol="arith"),
    _p("multiply", "binary", "multiply(x, y, out=None, casting='same_kind') -> array",
       "x * y.", _N, tol="arith"),
    _p("divide", "binary", "divide(x, y, out=None, casting='same_kind') -> array",
       "True division x / y (integers give float64); x/0 = ±inf or NaN.", _N, tol="arith"),
    _p("power", "binary", "power(x, y) -> array",
       "x ** y (integer to a negative integer power is an error, as in NumPy).", _N,
       tol="transcendental"),
    _p("maximum", "binary", "maximum(x, y) -> array", "Elementwise max; NaN propagates.", _N),
    _p("minimum", "binary", "minimum(x, y) -> array", "Elementwise min; NaN propagates.", _N),
    _p("equal", "binary", "equal(x, y) -> bool array", "x == y.", _ALL),
    _p("not_equal", "binary", "not_equal(x, y) -> bool array", "x != y.", _ALL),
    _p("less", "binary", "less(x, y) -> bool array", "x < y.", _ALL),
    _p("less_equal", "binary", "less_equal(x, y) -> bool array", "x <= y.", _ALL),
    _p("greater", "binary", "greater(x, y) -> bool array", "x > y.", _ALL),
    _p("greater_equal", "binary", "greater_equal(x, y) -> bool array", "x >= y.", _ALL),
    _p("logical_and", "binary", "logical_and(x, y) -> bool array", "x and y.", _ALL),
    _p("logical_or", "binary", "logical_or(x, y) -> bool array", "x or y.", _ALL),
    _p("logical_xor", "binary", "logical_xor(x, y) -> bool array", "x xor y.", _ALL),
    _p("bitwise_and", "binary", "bitwise_and(x, y) -> array", "x & y.",
       "bool, int8/16/32/64, uint8"),
    _p("bitwise_or", "binary", "bitwise_or(x, y) -> array", "x | y.",
       "bool, int8/16/32/64, uint8"),
    _p("bitwise_xor", "binary", "bitwise_xor(x, y) -> array", "x ^ y.",
       "bool, int8/16/32/64, uint8"),
    _p("arctan2", "binary", "arctan2(y, x) -> array",
       "Angle of the point (x, y) in radians, in [-pi, pi], quadrant-aware.", _F,
       tol="transcendental"),
    _p("fmod", "binary", "fmod(x, y) -> array",
       "Remainder of truncated division (sign of x), as C fmod.", _N, tol="arith"),
    _p("remainder", "binary", "remainder(x, y) -> array",
       "Remainder of floor division (sign of y), as Python's %.", _N, tol="arith"),
    _p("where", "binary", "where(cond, x, y) -> array",
       "x where cond is true, else y; all three broadcast.", _ALL),
    _p("clip", "binary", "clip(x, lo, hi) -> array",
       "min(max(x, lo), hi); lo or hi may be None.", _N),
    # ----- reductions, scans, sorting ------------------------------------------------------
    _p("sum", "reduction", "sum(x, axis=None, keepdims=False, dtype=None) -> array",
       "Sum over axis (None: all; a tuple: several). Integer and bool sums accumulate in "
       "int64; dtype= sets the accumulator and result dtype. Empty sum is 0.", _N,
       tol="accumulate"),
    _p("prod", "reduction", "prod(x, axis=None, keepdims=False) -> array",
       "Product over axis; empty product is 1.", _N, tol="accumulate"),
    _p("max", "reduction", "max(x, axis=None, keepdims=False) -> array",
       "Maximum over axis; NaN propagates; empty input is an error.", _N),
    _p("min", "reduction", "min(x, axis=None, keepdims=False) -> array",
       "Minimum over axis; NaN propagates.", _N),
    _p("argmax", "reduction", "argmax(x, axis=None, keepdims=False) -> int64 array",
       "Index of the first maximum (the first NaN if any).", _N),
    _p("argmin", "reduction", "argmin(x, axis=None, keepdims=False) -> int64 array",
       "Index of the first minimum.", _N),
    _p("all", "reduction", "all(x, axis=None, keepdims=False) -> bool array",
       "Whether all elements are nonzero.", _ALL),
    _p("any", "reduction", "any(x, axis=None, keepdims=False) -> bool array",
       "Whether any element is nonzero.", _ALL),
    _p("cumsum", "reduction", "cumsum(x, axis=None, dtype=None) -> array",
       "Running sum along axis (None: flattened).", _N, tol="accumulate"),
    _p("cumprod", "reduction", "cumprod(x, axis=None, dtype=None) -> array",
       "Running product along axis.", _N, tol="accumulate"),
    _p("sort", "reduction", "sort(x, axis=-1, kind=None, stable=None) -> array",
       "Sorted along axis; NaN sorts last.", _N),
    _p("argsort", "reduction", "argsort(x, axis=-1, kind=None, stable=None) -> int64 array",
       "Indices that sort x along axis; with stable=True or kind='stable' ties keep order.",
       _N),
    _p("unique", "reduction",
       "unique(x, return_inverse=False, return_counts=False, axis=None)",
       "Sorted unique values (and NumPy's optional extra outputs, as a tuple).", _N),
    # ----- movement and indexing -----------------------------------------------------------
    _p("reshape", "movement", "reshape(x, shape) -> array",
       "Same elements in C order with a new shape (one -1 allowed). May be a view.", _ALL),
    _p("transpose", "movement", "transpose(x, axes=None) -> array",
       "Permute the axes (None reverses them). May be a view.", _ALL),
    _p("broadcast_to", "movement", "broadcast_to(x, shape) -> array",
       "x stretched to shape by the broadcasting rule (read-only view allowed).", _ALL),
    _p("expand_dims", "movement", "expand_dims(x, axis) -> array", "Insert size-1 axes.",
       _ALL),
    _p("squeeze", "movement", "squeeze(x, axis=None) -> array", "Remove size-1 axes.", _ALL),
    _p("concatenate", "movement", "concatenate(arrays, axis=0) -> array",
       "Join a sequence of arrays along an existing axis.", _ALL),
    _p("stack", "movement", "stack(arrays, axis=0) -> array",
       "Join a sequence of same-shaped arrays along a new axis.", _ALL),
    _p("pad", "movement", "pad(x, pad_width, mode='constant', constant_values=0) -> array",
       "Pad with ((before, after), ...) per axis; modes constant, edge, reflect.", _ALL),
    _p("flip", "movement", "flip(x, axis=None) -> array", "Reverse along axes.", _ALL),
    _p("roll", "movement", "roll(x, shift, axis=None) -> array", "Rotate along axes.", _ALL),
    _p("tile", "movement", "tile(x, reps) -> array", "Repeat the whole array.", _ALL),
    _p("repeat", "movement", "repeat(x, repeats, axis=None) -> array",
       "Repeat each element.", _ALL),
    _p("tril", "movement", "tril(x, k=0) -> array", "Zero above the k-th diagonal.", _ALL),
    _p("triu", "movement", "triu(x, k=0) -> array", "Zero below the k-th diagonal.", _ALL),
    _p("take", "movement", "take(x, indices, axis=None) -> array",
       "Gather by integer indices along axis.", _ALL),
    _p("take_along_axis", "movement", "take_along_axis(x, indices, axis) -> array",
       "Gather with an index array of x's rank.", _ALL),
    _p("put_along_axis", "movement", "put_along_axis(x, indices, values, axis) -> None",
       "Scatter values into x in place (the counterpart of take_along_axis).", _ALL,
       mutates=True),
    _p("add_at", "movement", "add_at(x, index, values) -> None",
       "Unbuffered in-place x[index] += values (repeated indices accumulate); index is "
       "anything getitem accepts.", _N, tol="accumulate", mutates=True),
    _p("may_share_memory", "movement", "may_share_memory(x, y) -> bool",
       "Whether x and y might overlap in memory (a cheap bounds check; True is allowed "
       "when unsure). Decides whether a result is a view that shares its base's version "
       "counter.", _ALL),
    _p("nonzero", "movement", "nonzero(x) -> tuple of int arrays",
       "Indices of the non-zero elements, one array per axis.", _ALL),
    _p("broadcast_shapes", "movement", "broadcast_shapes(*shapes) -> tuple",
       "The broadcast shape of the given shapes; ValueError when they don't broadcast.",
       _ALL),
    _p("getitem", "movement", "getitem(x, index) -> array",
       "x[index] with NumPy indexing: ints, slices (any step), None, Ellipsis, integer and "
       "bool arrays. Basic indexing may return a view.", _ALL),
    _p("setitem", "movement", "setitem(x, index, value) -> None",
       "x[index] = value in place (value broadcasts).", _ALL, mutates=True),
    # ----- linear algebra ------------------------------------------------------------------
    _p("matmul", "linalg", "matmul(x, y) -> array",
       "Matrix product with NumPy's rules: 1-d operands are promoted and the added axis "
       "removed; leading (batch) dimensions broadcast.", _N, tol="matmul"),
    _p("einsum", "linalg", "einsum(subscripts, *operands) -> array",
       "Einstein summation (explicit '->' form).", _N, tol="matmul"),
    _p("outer", "linalg", "outer(x, y) -> array", "Outer product of flattened x and y.", _N,
       tol="arith"),
    # ----- random numbers ---------------------------------------------------------------------
    _p("random_uniform", "random",
       "random_uniform(rng, shape, low=0.0, high=1.0, dtype=float32) -> array",
       "Uniform draws in [low, high) from rng (a numpy.random.Generator), as "
       "rng.uniform(low, high, size=shape), converted to dtype. Random primitives take the "
       "generator as an argument so that a traced program draws fresh values on every run.",
       _F, tol="arith"),
    _p("random_normal", "random",
       "random_normal(rng, shape, mean=0.0, std=1.0, dtype=float32) -> array",
       "Normal draws, as rng.normal(mean, std, size=shape), converted to dtype.", _F,
       tol="arith"),
    _p("random_integers", "random",
       "random_integers(rng, low, high, shape, dtype=int64) -> array",
       "Integers in [low, high), as rng.integers(low, high, size=shape).", "int32, int64"),
    _p("random_permutation", "random", "random_permutation(rng, n, dtype=int64) -> array",
       "A random permutation of range(n), as rng.permutation(n).", "int32, int64"),
    # ----- optional fused kernels ----------------------------------------------------------
    _p("softmax", "fused", "softmax(x, axis=-1) -> array",
       "exp(x - max) / sum(exp(x - max)) along axis, in x's dtype; a row of -inf gives NaN.",
       _F, required=False, tol="transcendental"),
    _p("log_softmax", "fused", "log_softmax(x, axis=-1) -> array",
       "x - max - log(sum(exp(x - max))) along axis.", _F, required=False,
       tol="accumulate"),
    _p("gelu", "fused", "gelu(x) -> array", "x * (1 + erf(x / sqrt(2))) / 2 (exact GELU).",
       _F, required=False, tol="transcendental"),
    _p("layer_norm", "fused", "layer_norm(x, weight, bias, eps=1e-5) -> array",
       "Normalize over the last axis with the biased variance, then * weight + bias "
       "(weight/bias of shape x.shape[-1:] or None).", _F, required=False, tol="accumulate"),
    _p("im2col", "fused", "im2col(x, kh, kw, stride=(1, 1), padding=(0, 0), dilation=(1, 1))",
       "Patches of an NCHW image: shape (N, C*kh*kw, OH*OW), channel-major then kernel row "
       "then kernel column, zero padding.", _ALL, required=False),
    _p("col2im", "fused",
       "col2im(cols, shape, kh, kw, stride=(1, 1), padding=(0, 0), dilation=(1, 1))",
       "The adjoint of im2col: patches (N, C*kh*kw, OH*OW) summed back into an NCHW array "
       "of shape (overlaps add, padding cropped). The gradient of convolution and pooling.",
       _N, required=False, tol="accumulate"),
    _p("conv2d", "fused",
       "conv2d(x, w, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1))",
       "Cross-correlation of NCHW x with OIHW w (+ bias of shape (O,)), output NCHW.", _F,
       required=False, tol="matmul"),
    _p("attention", "fused", "attention(q, k, v, mask=None, scale=None) -> array",
       "softmax(q @ k^T * scale + mask) @ v over the last two axes; scale defaults to "
       "1/sqrt(q.shape[-1]); mask is additive (float) or boolean (True keeps).", _F,
       required=False, tol="matmul"),
]

PRIMITIVES: dict[str, Primitive] = {p.name: p for p in _LIST}
REQUIRED = tuple(p.name for p in _LIST if p.required)
OPTIONAL = tuple(p.name for p in _LIST if not p.required)


def markdown_table() -> str:
    """The primitive reference as Markdown (``docs/backends.md`` embeds exactly this)."""
    lines = []
    for group, title in GROUPS.items():
        lines.append(f"### {title}\n")
        lines.append("| primitive | signature | semantics | dtypes | tolerance |")
        lines.append("|---|---|---|---|---|")
        for p in _LIST:
            if p.group != group:
                continue
            sem = p.semantics + (" *Mutates its first argument.*" if p.mutates else "")
            cells = [f"`{p.name}`", f"`{p.signature}`", sem, p.dtypes, p.tolerance]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


DOC_BEGIN = "<!-- primitives:begin (generated by python -m framework.backend --sync-docs) -->"
DOC_END = "<!-- primitives:end -->"


def sync_docs(path: str) -> bool:
    """Rewrite the generated table inside ``path``; returns whether the file changed."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    head, sep, rest = text.partition(DOC_BEGIN)
    if not sep:
        raise ValueError(f"{path} has no {DOC_BEGIN!r} marker")
    _, sep2, tail = rest.partition(DOC_END)
    if not sep2:
        raise ValueError(f"{path} has no {DOC_END!r} marker")
    new = head + DOC_BEGIN + "\n\n" + markdown_table() + "\n" + DOC_END + tail
    if new != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)
        return True
    return False
