"""Datasets that work offline: the bundled UCI digits and Shakespeare text, and a reader
for MNIST / Fashion-MNIST IDX files in a local directory."""

from __future__ import annotations

import gzip
import io
import math
import os
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

import numpy as np

from .. import backend as _backend
from ..tensor import Tensor
from .dataset import Dataset


def _from_numpy(arr: np.ndarray) -> Tensor:
    bk = _backend.active
    return Tensor._wrap(bk.from_numpy(arr), bk)


def _bundled(name: str) -> bytes:
    return (resources.files("framework.data") / "files" / name).read_bytes()


# ----- UCI handwritten digits ---------------------------------------------------------------

_DIGITS_CACHE: dict[str, np.ndarray] = {}


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    if not _DIGITS_CACHE:
        raw = np.loadtxt(io.BytesIO(gzip.decompress(_bundled("uci-digits.csv.gz"))),
                         delimiter=",", dtype=np.int64)
        if raw.shape != (1797, 65):
            raise RuntimeError(f"the bundled digits file is damaged (shape {raw.shape})")
        _DIGITS_CACHE["images"] = raw[:, :64].reshape(-1, 8, 8)
        _DIGITS_CACHE["labels"] = raw[:, 64]
    return _DIGITS_CACHE["images"], _DIGITS_CACHE["labels"]


def load_digits(scale: bool = True) -> tuple[Tensor, Tensor]:
    """All 1,797 bundled UCI handwritten digits: ``(images, labels)``.

    ``images`` is ``(1797, 8, 8)``, float32 in [0, 1] (the 0–16 pixel values divided by 16;
    ``scale=False`` keeps them as int64 0–16); ``labels`` is int64 0–9. Data: E. Alpaydin,
    C. Kaynak (1998), UCI ML Repository, CC BY 4.0 (see ``framework/data/files/README.md``).
    """
    images, labels = _digits_arrays()
    x = (images.astype(np.float32) / np.float32(16)) if scale else images.copy()
    return _from_numpy(x), _from_numpy(labels.copy())


def _digits_test_mask(labels: np.ndarray) -> np.ndarray:
    rank = np.empty(len(labels), dtype=np.int64)
    for c in range(10):
        where = labels == c
        rank[where] = np.arange(int(where.sum()))
    return rank % 5 == 4


class Digits(Dataset):
    """The bundled UCI digits as a dataset of ``(image, label)``: image float32
    ``(1, 8, 8)`` in [0, 1] (``flatten=True`` gives ``(64,)``), label an int64 scalar.

    The split is fixed, documented and stratified: the ``k``-th image of each digit class
    (counting from 0 in file order) is a test image when ``k % 5 == 4`` — 1,442 training
    and 355 test images, each class split about 4:1.

    >>> import framework as fw
    >>> train, test = fw.data.Digits(train=True), fw.data.Digits(train=False)
    >>> len(train), len(test), tuple(train[0][0].shape)
    (1442, 355, (1, 8, 8))
    """

    def __init__(self, train: bool = True, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None,
                 flatten: bool = False) -> None:
        images, labels = _digits_arrays()
        test = _digits_test_mask(labels)
        keep = ~test if train else test
        x = images[keep].astype(np.float32) / np.float32(16)
        x = x.reshape(-1, 64) if flatten else x.reshape(-1, 1, 8, 8)
        self.train = train
        self.data = _from_numpy(np.ascontiguousarray(x))
        self.targets = _from_numpy(labels[keep].copy())
        self.transform = transform
        self.target_transform = target_transform
        self.classes = [str(d) for d in range(10)]

    def __len__(self) -> int:
        return self.targets.shape[0]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        x, y = self.data[index], self.targets[index]
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    def __getattr__(self, name: str) -> Any:
        # DataLoader's one-call batch gathering, when no per-sample transform is set
        if name == "_batch" and self.__dict__.get("transform") is None and \
                self.__dict__.get("target_transform") is None:
            return self._gather
        raise AttributeError(name)

    def _gather(self, indices: np.ndarray) -> list[Tensor]:
        out = []
        for t in (self.data, self.targets):
            bk = t._bk
            out.append(Tensor._wrap(bk.take(t.data, bk.asarray(indices), axis=0), bk))
        return out


# ----- MNIST / Fashion-MNIST IDX files ------------------------------------------------------

#: The largest IDX payload read (1 GiB): a header that claims more is refused before
#: anything is allocated.
MAX_IDX_BYTES = 1 << 30

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed (``.gz``) or raw, checking that
    the header's dimensions match the data before allocating it."""
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES:
                raise ValueError(f"{path} is not an IDX file (bad magic number {head!r})")
            ndim = head[3]
            dims_raw = f.read(4 * ndim)
            if len(dims_raw) != 4 * ndim:
                raise ValueError(f"{path} is truncated inside its header")
            dims = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4"))
            dtype = np.dtype(_IDX_TYPES[head[2]])
            nbytes = math.prod(dims) * dtype.itemsize  # Python ints: no overflow
            if nbytes > MAX_IDX_BYTES:
                raise ValueError(f"{path}: header claims {nbytes} bytes of data, more than the "
                                 f"{MAX_IDX_BYTES}-byte limit")
            if opener is open and nbytes > os.path.getsize(path) - 4 - 4 * ndim:
                raise ValueError(f"{path} is truncated: the header claims {nbytes} bytes of "
                                 "data")
            payload = f.read(nbytes)
            if len(payload) != nbytes:
                raise ValueError(f"{path} is truncated: {len(payload)} of {nbytes} data bytes")
            if f.read(1):
                raise ValueError(f"{path} has data after the {nbytes} bytes its header claims")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path} could not be read as an IDX file: {exc}") from None
    return np.frombuffer(payload, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


class MNIST(Dataset):
    """MNIST from IDX files in a local directory (Skiff never downloads).

    Put ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``
    and ``t10k-labels-idx1-ubyte`` (each optionally ``.gz``) in ``root``, in
    ``root/<ClassName>/raw`` or in ``root/<ClassName>``. Samples are ``(image, label)``:
    image float32 ``(1, 28, 28)`` in [0, 1], label an int64 scalar; ``.data`` keeps the
    uint8 images and ``.targets`` the labels.
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None,
                 download: bool = False) -> None:
        self.root = os.fspath(root)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        prefix = "train" if train else "t10k"
        names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        name = type(self).__name__
        folders = [self.root, os.path.join(self.root, name, "raw"),
                   os.path.join(self.root, name)]
        found = []
        for base in names:
            path = next((os.path.join(d, base + ext) for d in folders for ext in ("", ".gz")
                         if os.path.isfile(os.path.join(d, base + ext))), None)
            found.append(path)
        if None in found:
            missing = [b for b, p in zip(names, found, strict=True) if p is None]
            hint = " (Skiff does not download data sets)" if download else ""
            raise FileNotFoundError(
                f"{name}: missing {' and '.join(missing)} (raw or .gz){hint}. Put the IDX "
                f"files {names[0]}[.gz] and {names[1]}[.gz] in one of: "
                + ", ".join(folders)
            )
        images = read_idx(found[0])
        labels = read_idx(found[1])
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"{name}: images {images.shape} and labels {labels.shape} do not match "
                "(expected N x H x W images and N labels)"
            )
        self.data = _from_numpy(np.ascontiguousarray(images.astype(np.uint8)))
        self.targets = _from_numpy(labels.astype(np.int64))

    def __len__(self) -> int:
        return self.targets.shape[0]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        bk = self.data._bk
        img = bk.to_numpy(self.data.data)[index].astype(np.float32)[None] / np.float32(255)
        x: Any = _from_numpy(img)
        y: Any = self.targets[index]
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    def __getattr__(self, name: str) -> Any:
        if name == "_batch" and self.__dict__.get("transform") is None and \
                self.__dict__.get("target_transform") is None:
            return self._gather
        raise AttributeError(name)

    def _gather(self, indices: np.ndarray) -> list[Tensor]:
        imgs = self.data._bk.to_numpy(self.data.data)[indices]
        x = imgs.astype(np.float32)[:, None] / np.float32(255)
        y = self.targets._bk.to_numpy(self.targets.data)[indices]
        return [_from_numpy(x), _from_numpy(y)]


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando) from local IDX files: the same file names and layout as
    :class:`MNIST`, under ``root`` or ``root/FashionMNIST/raw``."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


# ----- character-level text -----------------------------------------------------------------

def load_shakespeare() -> str:
    """The bundled Shakespeare text (about 250,000 characters, public domain) for
    character-level language models."""
    return _bundled("tinyshakespeare-250k.txt").decode("utf-8")


class CharCorpus(Dataset):
    """A text as a dataset of ``(input, target)`` windows of character ids for next-character
    prediction: ``target`` is ``input`` shifted by one.

    ``text`` defaults to the bundled Shakespeare. The first ``split`` of the text is the
    training part, the rest the validation part (``train=False``); both share the vocabulary
    of the whole text. Windows start every ``stride`` characters (default ``seq_len``).

    >>> import framework as fw
    >>> corpus = fw.data.CharCorpus("hello world", seq_len=4, split=1.0)
    >>> x, y = corpus[0]
    >>> corpus.decode(x), corpus.decode(y)
    ('hell', 'ello')
    """

    def __init__(self, text: str | None = None, seq_len: int = 64, train: bool = True,
                 split: float = 0.9, stride: int | None = None,
                 vocab: Sequence[str] | None = None) -> None:
        if text is None:
            text = load_shakespeare()
        if seq_len <= 0:
            raise ValueError(f"seq_len must be positive, got {seq_len}")
        if not 0 < split <= 1:
            raise ValueError(f"split must be in (0, 1], got {split}")
        self.vocab = list(vocab) if vocab is not None else sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.vocab)}
        ids = self.encode_array(text)
        cut = int(len(ids) * split)
        self.ids = ids[:cut] if train else ids[cut:]
        self.seq_len = seq_len
        self.stride = stride or seq_len
        self.train = train
        if len(self.ids) < seq_len + 1:
            raise ValueError(
                f"CharCorpus: the {'training' if train else 'validation'} text has "
                f"{len(self.ids)} characters, fewer than seq_len + 1 = {seq_len + 1}"
            )

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode_array(self, text: str) -> np.ndarray:
        try:
            return np.fromiter((self.stoi[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as exc:
            raise ValueError(f"character {exc.args[0]!r} is not in the vocabulary") from None

    def encode(self, text: str) -> Tensor:
        """Character ids of ``text`` as an int64 tensor."""
        return _from_numpy(self.encode_array(text))

    def decode(self, ids: Any) -> str:
        """The text for a sequence of ids (a tensor, array or list)."""
        if isinstance(ids, Tensor):
            ids = ids._bk.to_numpy(ids.data)
        return "".join(self.vocab[int(i)] for i in np.asarray(ids).reshape(-1))

    def __len__(self) -> int:
        return (len(self.ids) - self.seq_len - 1) // self.stride + 1

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"window {index} out of range for {n} windows")
        s = index * self.stride
        chunk = self.ids[s:s + self.seq_len + 1]
        return _from_numpy(chunk[:-1].copy()), _from_numpy(chunk[1:].copy())

    def _batch(self, indices: np.ndarray) -> list[Tensor]:
        starts = indices * self.stride
        rows = self.ids[starts[:, None] + np.arange(self.seq_len + 1)]
        return [_from_numpy(np.ascontiguousarray(rows[:, :-1])),
                _from_numpy(np.ascontiguousarray(rows[:, 1:]))]
