"""Matrix products: matmul (batched, broadcast), bmm, mm, mv, dot, outer, einsum."""

from __future__ import annotations

import string
from typing import Any

from ..tensor import Tensor
from ._util import binary_operands, record, recording, sum_to, wrap


def matmul(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Matrix product with NumPy's rules: batch dimensions broadcast; a 1-D first operand is
    a row vector and a 1-D second operand a column vector (that dimension is dropped)."""
    a, b = binary_operands(input, other, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"matmul: both arguments need at least 1 dimension, got shapes {tuple(a.shape)} "
            f"and {tuple(b.shape)}"
        )
    try:
        data = a._bk.matmul(a.data, b.data)
    except ValueError:
        inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
        why = (f"{a.shape[-1]} != {inner_b}" if a.shape[-1] != inner_b
               else "batch dimensions do not broadcast")
        raise RuntimeError(
            f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied ({why})"
        ) from None
    out = wrap(data, a._bk)
    if recording(a, b):
        ra, rb = a.requires_grad, b.requires_grad

        def grad(g: Tensor) -> tuple:
            from .shape import reshape, unsqueeze

            # work with 1-D operands as matrices: a (k,) is (1, k), b (k,) is (k, 1)
            a2 = unsqueeze(a, 0) if a.ndim == 1 else a
            b2 = unsqueeze(b, 1) if b.ndim == 1 else b
            g2 = unsqueeze(g, -1) if b.ndim == 1 else g
            g2 = unsqueeze(g2, -2) if a.ndim == 1 else g2
            ga = gb = None
            if ra:
                ga = sum_to(matmul(g2, b2.mT), a2.shape)
                ga = reshape(ga, a.shape) if a.ndim == 1 else ga
            if rb:
                gb = sum_to(matmul(a2.mT, g2), b2.shape)
                gb = reshape(gb, b.shape) if b.ndim == 1 else gb
            return ga, gb

        record(out, "Matmul", (a, b), grad, (a, b))
    return out


def _need(x: Tensor, ndim: int, op: str, what: str) -> None:
    if x.ndim != ndim:
        raise RuntimeError(f"{op}: {what} must be a {ndim}-D tensor, got shape {tuple(x.shape)}")


def bmm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002
    """Batched matrix product of (b, n, m) and (b, m, p) tensors (no broadcasting)."""
    _need(input, 3, "bmm", "input")
    _need(mat2, 3, "bmm", "mat2")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"bmm: shapes {tuple(input.shape)} and {tuple(mat2.shape)} do not "
                           "match: expected (b, n, m) and (b, m, p)")
    return matmul(input, mat2)


def mm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002
    """Product of an (n, m) and an (m, p) matrix."""
    _need(input, 2, "mm", "input")
    _need(mat2, 2, "mm", "mat2")
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mm: shapes {tuple(input.shape)} and {tuple(mat2.shape)} cannot "
                           f"be multiplied ({input.shape[1]} != {mat2.shape[0]})")
    return matmul(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:  # noqa: A002
    """Product of an (n, m) matrix and an (m,) vector."""
    _need(input, 2, "mv", "input")
    _need(vec, 1, "mv", "vec")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"mv: shapes {tuple(input.shape)} and {tuple(vec.shape)} cannot "
                           f"be multiplied ({input.shape[1]} != {vec.shape[0]})")
    return matmul(input, vec)


def dot(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Inner product of two 1-D tensors of the same length and dtype."""
    _need(input, 1, "dot", "input")
    _need(other, 1, "dot", "other")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"dot: the vectors have different lengths ({input.shape[0]} and "
                           f"{other.shape[0]})")
    if input.dtype != other.dtype:
        raise RuntimeError(f"dot: expected both vectors to have the same dtype, got "
                           f"{input.dtype} and {other.dtype}")
    return matmul(input, other)


inner = dot


def outer(input: Tensor, vec2: Tensor) -> Tensor:  # noqa: A002
    """Outer product of two 1-D tensors: ``out[i, j] = input[i] * vec2[j]``."""
    from .shape import reshape

    _need(input, 1, "outer", "input")
    _need(vec2, 1, "outer", "vec2")
    return reshape(input, (-1, 1)) * reshape(vec2, (1, -1))


ger = outer


def trace(input: Tensor) -> Tensor:  # noqa: A002
    """Sum of the main diagonal of a 2-D tensor."""
    _need(input, 2, "trace", "input")
    n = min(input.shape)
    square = input if input.shape[0] == input.shape[1] else input[:n, :n]
    return einsum("ii->", square)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Contract the last ``dims`` dimensions of ``a`` with the first ``dims`` of ``b``, or
    the dimensions listed in ``dims = (dims_a, dims_b)``; an einsum underneath."""
    if isinstance(dims, int):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot: dims={dims} is out of range for shapes "
                               f"{tuple(a.shape)} and {tuple(b.shape)}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
        if len(da) != len(db):
            raise RuntimeError(f"tensordot: dims lists differ in length ({da} and {db})")
        da = [d % a.ndim for d in da]
        db = [d % b.ndim for d in db]
    for i, j in zip(da, db, strict=True):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"tensordot: dimension {i} of {tuple(a.shape)} and dimension "
                               f"{j} of {tuple(b.shape)} differ ({a.shape[i]} != "
                               f"{b.shape[j]})")
    letters = iter(string.ascii_letters)
    la = [next(letters) for _ in range(a.ndim)]
    lb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(da, db, strict=True):
        lb[j] = la[i]
    out = [c for k, c in enumerate(la) if k not in da] + \
        [c for k, c in enumerate(lb) if k not in db]
    return einsum("".join(la) + "," + "".join(lb) + "->" + "".join(out), a, b)


# ----- einsum ------------------------------------------------------------------------------


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, as ``torch.einsum``/``numpy.einsum``: ``'ij,jk->ik'``, implicit
    output (``'ij,jk'``), repeated labels (``'ii->i'``, traces) and ``'...'`` broadcasting.

    Operands may be given as arguments or as one list. The gradient of each operand is
    itself an einsum, so einsum is differentiable to any order.

    >>> import framework as fw
    >>> fw.einsum("ij,j->i", fw.ones(2, 3), fw.ones(3))
    tensor([3., 3.])
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError("einsum: the first argument must be the equation string")
    ops = [o if isinstance(o, Tensor) else Tensor(o) for o in operands]
    if ops:
        dt = ops[0].dtype
        for o in ops[1:]:
            if o.dtype != dt:
                _, o2 = binary_operands(ops[0], o, "einsum")
                dt = o2.dtype
        ops = [o if o.dtype == dt else o.astype(dt) for o in ops]
    inputs, output, ops = _parse_einsum(equation.replace(" ", ""), ops)
    return _einsum(inputs, output, ops)


def _parse_einsum(eq: str, ops: list) -> tuple[list[str], str, list]:
    """Explicit labels for every dimension: '...' becomes fresh letters, and broadcast
    (size-1) ellipsis dimensions are squeezed out of the operand that has them."""
    from .shape import reshape

    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ops):
        raise ValueError(f"einsum: the equation {eq!r} names {len(terms)} operands but "
                         f"{len(ops)} were given")
    for term in terms + ([rhs] if arrow else []):
        bad = set(term.replace("...", "")) - set(string.ascii_letters)
        if bad or term.replace("...", "").count(".") or term.count("...") > 1:
            raise ValueError(f"einsum: invalid subscripts {term!r} in {eq!r}: use letters and "
                             "at most one '...'")
    used = set(lhs.replace("...", "").replace(",", ""))
    fresh = [c for c in string.ascii_letters if c not in used]
    ell_rank = 0
    for term, op in zip(terms, ops, strict=True):
        named = len(term.replace("...", ""))
        if "..." in term:
            if op.ndim < named:
                raise ValueError(f"einsum: operand of shape {tuple(op.shape)} has too few "
                                 f"dimensions for {term!r}")
            ell_rank = max(ell_rank, op.ndim - named)
        elif op.ndim != named:
            raise ValueError(f"einsum: subscripts {term!r} name {named} dimensions but the "
                             f"operand has shape {tuple(op.shape)}")
    ell = fresh[:ell_rank]
    ell_size = [1] * ell_rank
    for term, op in zip(terms, ops, strict=True):
        if "..." in term:
            k = op.ndim - len(term.replace("...", ""))
            start = term.index("...")
            for j, n in enumerate(op.shape[start:start + k]):
                pos = ell_rank - k + j
                if n != 1:
                    if ell_size[pos] not in (1, n):
                        raise ValueError(f"einsum: '...' dimensions do not broadcast in {eq!r}")
                    ell_size[pos] = n
    inputs, new_ops = [], []
    for term, op in zip(terms, ops, strict=True):
        if "..." not in term:
            inputs.append(term)
            new_ops.append(op)
            continue
        k = op.ndim - len(term.replace("...", ""))
        start = term.index("...")
        labels = ell[ell_rank - k:]
        keep_shape, keep_labels = [], []
        for j, n in enumerate(op.shape[start:start + k]):
            # a size-1 dimension broadcast against a larger one has no label of its own
            if n == 1 and ell_size[ell_rank - k + j] != 1:
                continue
            keep_labels.append(labels[j])
            keep_shape.append(n)
        head, tail = term[:start], term[start + 3:]
        shape = op.shape[:start] + tuple(keep_shape) + op.shape[start + k:]
        inputs.append(head + "".join(keep_labels) + tail)
        new_ops.append(op if shape == op.shape else reshape(op, shape))
    if arrow:
        if "..." in rhs:
            output = rhs.replace("...", "".join(ell))
        elif ell_rank and any(ell_size[i] != 1 for i in range(ell_rank)):
            raise ValueError(f"einsum: the output of {eq!r} must keep '...'")
        else:
            output = rhs
    else:
        counts: dict[str, int] = {}
        for term in terms:
            for c in term.replace("...", ""):
                counts[c] = counts.get(c, 0) + 1
        output = "".join(ell) + "".join(sorted(c for c, m in counts.items() if m == 1))
    present = set("".join(inputs))
    missing = [c for c in output if c not in present]
    if missing:
        raise ValueError(f"einsum: output subscripts {''.join(missing)!r} of {eq!r} do not "
                         "appear in any operand")
    if len(set(output)) != len(output):
        raise ValueError(f"einsum: output subscripts of {eq!r} repeat a label")
    sizes: dict[str, int] = {}
    for term, op in zip(inputs, new_ops, strict=True):
        for c, n in zip(term, op.shape, strict=True):
            if sizes.setdefault(c, n) != n:
                raise ValueError(f"einsum: label {c!r} has sizes {sizes[c]} and {n} in {eq!r}")
    return inputs, output, new_ops


def _einsum(inputs: list[str], output: str, ops: list) -> Tensor:
    """einsum over explicit labels (no '...'); records a gradient that is an einsum too."""
    bk = ops[0]._bk if ops else None
    if bk is None:
        raise ValueError("einsum: at least one operand is needed")
    out = wrap(_contract(bk, inputs, output, [o.data for o in ops]), bk)
    if recording(*ops):
        needs = [o.requires_grad for o in ops]

        def grad(g: Tensor) -> tuple:
            return tuple(_einsum_grad(g, output, inputs, ops, i) if needs[i] else None
                         for i in range(len(ops)))

        record(out, "Einsum", tuple(ops), grad, tuple(ops))
    return out


def _contract(bk: Any, inputs: list[str], output: str, arrays: list) -> Any:
    """The einsum primitive on at most two operands at a time (left to right), so three or
    more operands cost a chain of pairwise contractions, not one loop over every label."""
    if len(arrays) <= 2:
        return bk.einsum(",".join(inputs) + "->" + output, *arrays)
    labels, acc = inputs[0], arrays[0]
    for k in range(1, len(arrays)):
        if k == len(arrays) - 1:
            keep = output
        else:
            later = set(output).union(*inputs[k + 1:])
            keep = "".join(c for c in dict.fromkeys(labels + inputs[k]) if c in later)
        acc = bk.einsum(f"{labels},{inputs[k]}->{keep}", acc, arrays[k])
        labels = keep
    return acc


def _einsum_grad(g: Tensor, output: str, inputs: list[str], ops: list, i: int) -> Tensor:
    """The gradient for operand ``i``: contract ``g`` with the other operands onto operand
    ``i``'s labels. A repeated label of operand ``i`` (a diagonal) is written through an
    identity matrix; a label summed only within operand ``i`` is broadcast with ones."""
    bk = g._bk
    target = inputs[i]
    sizes = {c: n for term, op in zip(inputs, ops, strict=True)
             for c, n in zip(term, op.shape, strict=True)}
    used = set("".join(inputs)) | set(output)
    spare = iter(c for c in string.ascii_letters if c not in used)
    terms = [output] + [t for j, t in enumerate(inputs) if j != i]
    args = [g] + [o for j, o in enumerate(ops) if j != i]
    seen: set[str] = set()
    out_labels = []
    for c in target:
        if c in seen:
            d = next(spare)
            terms.append(c + d)
            args.append(wrap(bk.eye(sizes[c], dtype=g.dtype), bk))
            out_labels.append(d)
        else:
            seen.add(c)
            out_labels.append(c)
    available = set("".join(terms))
    lonely = "".join(c for c in dict.fromkeys(target) if c not in available)
    if lonely:
        terms.append(lonely)
        args.append(wrap(bk.ones(tuple(sizes[c] for c in lonely), dtype=g.dtype), bk))
    return _einsum(terms, "".join(out_labels), args)
