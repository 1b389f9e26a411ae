"""Saving and loading tensors and state dicts in the safetensors format. No pickle.

``fw.save(obj, path)`` stores every tensor of ``obj`` (a model's or an optimizer's state
dict, or a dict of several) as a safetensors tensor, and the rest of its structure (nested
dicts, lists, numbers, strings) as JSON in the file's metadata. ``fw.load(path)`` gives the
same structure back, with :class:`~framework.Tensor` values. A flat dict of tensors is stored
under its own keys, so other safetensors readers see ``"fc1.weight"`` etc.; plain safetensors
files from elsewhere load as a flat dict of tensors.

>>> import framework as fw, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
>>> fw.save({"w": fw.ones(2, 3), "epoch": 3}, path)
>>> ckpt = fw.load(path)
>>> ckpt["w"].shape, ckpt["epoch"]
((2, 3), 3)

Loading checks the file before trusting it: a truncated file, a header length beyond the
file or beyond :data:`MAX_HEADER_BYTES`, bad JSON, or tensor offsets outside the data raise
:class:`SkiffLoadError` naming the problem, before anything large is allocated.
"""

from __future__ import annotations

import json
import math
import os
import struct
import tempfile
from typing import Any

import numpy as np
import safetensors.numpy as _st
from safetensors import safe_open

from .tensor import Tensor

__all__ = ["save", "load", "SkiffLoadError", "MAX_HEADER_BYTES"]

#: Largest header accepted (safetensors' own limit is 100 MB as well).
MAX_HEADER_BYTES = 100 * 1024 * 1024

_FORMAT_KEY = "skiff.format"
_STRUCTURE_KEY = "skiff.structure"
_FORMAT = "skiff-state/1"

_DTYPE_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2,
                "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8,
                "F64": 8, "C64": 8}


class SkiffLoadError(ValueError):
    """A file that ``fw.load`` refuses: not a (complete, well-formed) safetensors file, or
    one whose Skiff structure is damaged."""


# ----- save ------------------------------------------------------------------------------------

def save(obj: Any, f: Any) -> None:
    """Write ``obj`` to ``f`` (a path, or a binary file object) in safetensors format.

    ``obj`` may be a tensor, or dicts (string or integer keys), lists and tuples holding
    tensors, NumPy arrays, ints, floats, strings, bools and ``None``. Writing to a path is
    atomic: a failure leaves no partial file behind.
    """
    tensors: dict[str, np.ndarray] = {}
    structure = _encode(obj, "", tensors)
    metadata = {
        _FORMAT_KEY: _FORMAT,
        _STRUCTURE_KEY: json.dumps(structure, allow_nan=False, separators=(",", ":")),
    }
    blob = _st.save(tensors, metadata=metadata)
    if hasattr(f, "write"):
        f.write(blob)
        return
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".skiff-save-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(blob)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _contiguous(arr: np.ndarray) -> np.ndarray:
    # np.ascontiguousarray would turn a 0-d array into a 1-d one
    return arr if arr.flags.c_contiguous else arr.copy(order="C")


def _unique(name: str, tensors: dict) -> str:
    name = name or "tensor"
    if name not in tensors:
        return name
    i = 1
    while f"{name}#{i}" in tensors:
        i += 1
    return f"{name}#{i}"


def _encode(obj: Any, path: str, tensors: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, Tensor):
        key = _unique(path, tensors)
        tensors[key] = _contiguous(obj._bk.to_numpy(obj.data))
        return {"T": "tensor", "k": key}
    if isinstance(obj, np.ndarray):
        if obj.dtype == object or obj.dtype.kind not in "biuf":
            raise TypeError(f"fw.save: can't store the {obj.dtype} array at {path or 'top'}")
        key = _unique(path, tensors)
        tensors[key] = _contiguous(obj)
        return {"T": "ndarray", "k": key}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if isinstance(k, bool) or not isinstance(k, (str, int)):
                raise TypeError(
                    f"fw.save: dict keys must be strings or integers, got {type(k).__name__} "
                    f"at {path or 'top'}"
                )
            items.append([k, _encode(v, f"{path}.{k}" if path else str(k), tensors)])
        return {"T": "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        values = [_encode(v, f"{path}.{i}" if path else str(i), tensors)
                  for i, v in enumerate(obj)]
        return {"T": "list" if isinstance(obj, list) else "tuple", "v": values}
    if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
        obj = obj.item()
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"T": "float", "v": repr(obj)}
    raise TypeError(
        f"fw.save: can't store a {type(obj).__name__} at {path or 'top'}; state dicts may hold "
        "tensors, arrays, numbers, strings, None, and dicts/lists/tuples of those"
    )


# ----- load ------------------------------------------------------------------------------------

def load(f: Any) -> Any:
    """Read what :func:`save` wrote (or any safetensors file) from a path, a binary file
    object or ``bytes``.

    Raises :class:`SkiffLoadError` for a truncated, oversized or malformed file.
    """
    if isinstance(f, (bytes, bytearray, memoryview)):
        data = bytes(f)
        header, n = _parse_header(data[:8], len(data), lambda size: data[8:8 + size])
    elif hasattr(f, "read"):
        data = f.read()
        header, n = _parse_header(data[:8], len(data), lambda size: data[8:8 + size])
    else:
        path = os.fspath(f)
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as fh:
                header, n = _parse_header(fh.read(8), size, fh.read)
        except FileNotFoundError:
            raise FileNotFoundError(f"fw.load: no such file: {path}") from None
        data = None
    try:
        if data is None:
            # Read tensor by tensor from the file: no second copy of the whole file in memory.
            with safe_open(path, framework="np") as sf:
                arrays = {k: sf.get_tensor(k) for k in sf.keys()}  # noqa: SIM118
        else:
            arrays = _st.load(data)
    except Exception as exc:  # safetensors raises its own error type
        raise SkiffLoadError(f"fw.load: not a valid safetensors file: {exc}") from None
    meta = header.get("__metadata__") or {}
    structure = meta.get(_STRUCTURE_KEY)
    if structure is None:
        return {k: _to_tensor(arrays[k]) for k in header if k != "__metadata__"}
    try:
        return _decode(json.loads(structure), arrays)
    except RecursionError:
        raise SkiffLoadError("fw.load: the file's structure is nested too deeply") from None
    except ValueError as exc:
        if isinstance(exc, SkiffLoadError):
            raise
        raise SkiffLoadError(f"fw.load: the file's structure is not valid JSON: {exc}") from None


def _parse_header(head: bytes, size: int, read: Any) -> tuple[dict, int]:
    """Check the 8-byte header length against the file size, then the header itself, before
    any tensor data is read."""
    if len(head) < 8:
        raise SkiffLoadError(
            f"fw.load: file is truncated: {size} bytes, but a safetensors file starts with an "
            "8-byte header length"
        )
    (n,) = struct.unpack("<Q", head)
    if n > MAX_HEADER_BYTES:
        raise SkiffLoadError(
            f"fw.load: header length {n} bytes is beyond the limit of {MAX_HEADER_BYTES} bytes: "
            "not a safetensors file, or a damaged one"
        )
    if 8 + n > size:
        raise SkiffLoadError(
            f"fw.load: file is truncated: the header claims {n} bytes but only {size - 8} "
            "follow the header length"
        )
    raw = read(n)
    if len(raw) != n:
        raise SkiffLoadError("fw.load: file is truncated inside its header")
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise SkiffLoadError(f"fw.load: the header is not valid JSON: {exc}") from None
    if not isinstance(header, dict):
        raise SkiffLoadError("fw.load: the header is not a JSON object")
    data_len = size - 8 - n
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(
                    isinstance(v, str) for v in info.values()):
                raise SkiffLoadError("fw.load: __metadata__ must map strings to strings")
            continue
        try:
            dtype = info["dtype"]
            shape = info["shape"]
            begin, end = info["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise SkiffLoadError(
                f"fw.load: tensor {name!r} lacks dtype, shape or data_offsets"
            ) from None
        if dtype not in _DTYPE_SIZES:
            raise SkiffLoadError(f"fw.load: tensor {name!r} has an unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise SkiffLoadError(f"fw.load: tensor {name!r} has a bad shape {shape!r}")
        if not all(isinstance(o, int) and not isinstance(o, bool) for o in (begin, end)) \
                or not 0 <= begin <= end <= data_len:
            raise SkiffLoadError(
                f"fw.load: tensor {name!r} has data offsets [{begin}, {end}] outside the "
                f"{data_len} bytes of data (file truncated or damaged)"
            )
        if math.prod(shape) * _DTYPE_SIZES[dtype] != end - begin:
            raise SkiffLoadError(
                f"fw.load: tensor {name!r} of shape {shape} and dtype {dtype} does not match "
                f"its {end - begin} bytes of data"
            )
    return header, n


def _to_tensor(arr: np.ndarray) -> Tensor:
    from .creation import from_numpy

    if not arr.flags.writeable:
        arr = arr.copy()
    return from_numpy(arr)


def _decode(node: Any, arrays: dict[str, np.ndarray]) -> Any:
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if not isinstance(node, dict):
        raise SkiffLoadError(f"fw.load: unexpected {type(node).__name__} in the structure")
    kind = node.get("T")
    if kind in ("tensor", "ndarray"):
        key = node.get("k")
        if key not in arrays:
            raise SkiffLoadError(f"fw.load: the structure names a missing tensor {key!r}")
        arr = arrays[key]
        return _to_tensor(arr) if kind == "tensor" else np.array(arr)
    if kind == "dict":
        items = node.get("items")
        if not isinstance(items, list):
            raise SkiffLoadError("fw.load: a dict in the structure has no items")
        out = {}
        for item in items:
            if not (isinstance(item, list) and len(item) == 2
                    and isinstance(item[0], (str, int)) and not isinstance(item[0], bool)):
                raise SkiffLoadError("fw.load: a dict item in the structure is malformed")
            out[item[0]] = _decode(item[1], arrays)
        return out
    if kind in ("list", "tuple"):
        values = node.get("v")
        if not isinstance(values, list):
            raise SkiffLoadError(f"fw.load: a {kind} in the structure has no values")
        seq = [_decode(v, arrays) for v in values]
        return seq if kind == "list" else tuple(seq)
    if kind == "float":
        value = node.get("v")
        if value not in ("inf", "-inf", "nan"):
            raise SkiffLoadError(f"fw.load: bad float {value!r} in the structure")
        return float(value)
    raise SkiffLoadError(f"fw.load: unknown node kind {kind!r} in the structure")
