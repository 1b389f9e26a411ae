"""What a model version may hold, checked before anything is stored as a version.

* ``README.md`` — the model card (see :mod:`hub.zoo.card`); required.
* ``*.safetensors`` — weights; the header is parsed and checked against the file's size.
* The architecture, one of: a saved static program (a folder with ``graph.json`` and
  ``weights.safetensors``, as ``fw.jit.save`` writes it), or ``model.py`` at the top level
  defining ``build_model()`` that returns the module whose ``state_dict`` the top-level
  ``.safetensors`` file holds.
* Small text files (``.md``, ``.txt``, ``.json``, ``.yaml``, ``.py``, ``.csv``, …), UTF-8.

Pickle-based formats and unknown binaries are refused with the reason and what to use instead.
"""

from __future__ import annotations

import json
import posixpath
import re
import struct
from typing import BinaryIO

from flask_babel import gettext as _

#: Extensions of pickle-based formats (or formats that may hold pickles).
PICKLE_EXTENSIONS = (".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".joblib", ".bin", ".npy",
                     ".npz", ".h5", ".hdf5", ".keras", ".pb", ".onnx", ".msgpack", ".model")
TEXT_EXTENSIONS = (".md", ".txt", ".json", ".yaml", ".yml", ".py", ".csv", ".toml", ".cfg",
                   ".ini", ".rst")
SAFETENSORS_DTYPES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}
MAX_HEADER_BYTES = 100 * 1024 * 1024
MAX_FILES = 200
_PATH_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,99}$")


class FileRefused(ValueError):
    """A file that cannot be part of a model; the message says why and what to do."""


def normalize_path(path: str) -> str:
    """A safe relative path (``a/b.json``) or :class:`FileRefused`."""
    raw = (path or "").replace("\\", "/").strip()
    norm = posixpath.normpath(raw) if raw else ""
    parts = norm.split("/")
    if (not raw or raw.startswith("/") or norm.startswith("..") or len(norm) > 255
            or len(parts) > 4 or not all(_PATH_PART.match(p) for p in parts)):
        raise FileRefused(_("'%(path)s' is not an allowed file name: use letters, digits, "
                            "'_', '-' and '.', at most 4 folders deep", path=raw[:100]))
    return norm


def _pickle_message(path: str) -> str:
    return _("%(path)s was refused: pickle-based files can run arbitrary code when loaded. "
             "Save the weights as safetensors with fw.save(model.state_dict(), "
             "\"model.safetensors\") (or a whole program with fw.jit.save).", path=path)


def classify(path: str, head: bytes) -> str:
    """The kind of a file from its name and first bytes: ``card``, ``weights``, ``program``,
    ``module`` or ``text``; raises :class:`FileRefused` for anything else."""
    lower = path.lower()
    name = posixpath.basename(lower)
    if lower.endswith(PICKLE_EXTENSIONS) or head[:1] == b"\x80" and head[1:2] in (
            b"\x02", b"\x03", b"\x04", b"\x05"):
        raise FileRefused(_pickle_message(path))
    if head.startswith(b"PK\x03\x04") and not lower.endswith(".safetensors"):
        raise FileRefused(_("%(path)s was refused: archives (such as PyTorch's zip "
                            "checkpoints, which hold pickles) are not accepted. Upload the "
                            "files themselves, with weights as safetensors (fw.save).",
                            path=path))
    if lower.endswith(".safetensors"):
        return "weights"
    if path == "README.md":
        return "card"
    if name == "graph.json":
        return "program"
    if path == "model.py":
        return "module"
    if lower.endswith(TEXT_EXTENSIONS):
        return "text"
    raise FileRefused(_("%(path)s was refused: only safetensors weights, a saved program "
                        "(graph.json), model.py, README.md and small text files are accepted. "
                        "Save weights with fw.save as .safetensors.", path=path))


def check_text(path: str, data: bytes) -> str:
    """The text of a text file, or :class:`FileRefused` if it is binary."""
    if b"\x00" in data:
        raise FileRefused(_("%(path)s was refused: it is a binary file, not text. Save "
                            "weights with fw.save as .safetensors.", path=path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileRefused(_("%(path)s was refused: it is not UTF-8 text.", path=path)) from None


def check_safetensors(path: str, fh: BinaryIO, size: int) -> dict[str, dict]:
    """Check a safetensors file's header against its size; return ``{name: {dtype, shape}}``.

    The header is an 8-byte little-endian length and that many bytes of JSON mapping each
    tensor to its dtype, shape and ``[begin, end)`` offsets into the data that follows; the
    offsets must tile the data exactly, each span must match dtype × shape.
    """
    def bad(reason: str) -> FileRefused:
        return FileRefused(_("%(path)s is not a valid safetensors file: %(reason)s",
                             path=path, reason=reason))

    if size < 8:
        raise bad(_("it is shorter than the 8-byte header length"))
    (length,) = struct.unpack("<Q", fh.read(8))
    if length == 0 or length > MAX_HEADER_BYTES or 8 + length > size:
        raise bad(_("the header length %(n)s does not fit the file of %(size)s bytes",
                    n=length, size=size))
    raw = fh.read(length)
    if len(raw) != length:
        raise bad(_("the file ends inside the header"))
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise bad(_("the header is not JSON")) from None
    if not isinstance(header, dict):
        raise bad(_("the header is not a JSON object"))
    data_size = size - 8 - length
    spans = []
    tensors: dict[str, dict] = {}
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                raise bad(_("__metadata__ must map names to strings"))
            continue
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise bad(_("tensor '%(name)s' needs exactly dtype, shape and data_offsets",
                        name=name[:60]))
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in SAFETENSORS_DTYPES:
            raise bad(_("tensor '%(name)s' has an unknown dtype", name=name[:60]))
        if not isinstance(shape, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise bad(_("tensor '%(name)s' has a bad shape", name=name[:60]))
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(
                isinstance(o, int) and not isinstance(o, bool) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= data_size):
            raise bad(_("tensor '%(name)s' has offsets outside the data", name=name[:60]))
        count = 1
        for d in shape:
            count *= d
        if offsets[1] - offsets[0] != count * SAFETENSORS_DTYPES[dtype]:
            raise bad(_("tensor '%(name)s' has %(n)s bytes, not the %(m)s its dtype and shape "
                        "need", name=name[:60], n=offsets[1] - offsets[0],
                        m=count * SAFETENSORS_DTYPES[dtype]))
        spans.append((offsets[0], offsets[1]))
        tensors[name] = {"dtype": dtype, "shape": shape}
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise bad(_("the tensors' data overlaps or leaves gaps"))
        position = end
    if position != data_size:
        raise bad(_("the data section is %(n)s bytes but the tensors cover %(m)s",
                    n=data_size, m=position))
    return tensors


def check_program(path: str, data: bytes) -> dict:
    """Check that ``graph.json`` is a saved static program (``skiff.jit.graph``)."""
    text = check_text(path, data)
    try:
        graph = json.loads(text)
    except ValueError:
        raise FileRefused(_("%(path)s is not valid JSON", path=path)) from None
    if not isinstance(graph, dict) or graph.get("schema") != "skiff.jit.graph":
        raise FileRefused(_("%(path)s is not a saved static program (fw.jit.save writes "
                            "graph.json with schema skiff.jit.graph)", path=path))
    for key, kind in (("values", list), ("nodes", list), ("inputs", list), ("outputs", list)):
        if not isinstance(graph.get(key), kind):
            raise FileRefused(_("%(path)s lacks the '%(key)s' list of a saved program",
                                path=path, key=key))
    return graph
