"""Datasets: indexable (``Dataset``) and streamed (``IterableDataset``) sources of samples,
plus ``TensorDataset``, ``Subset``, ``ConcatDataset`` and ``random_split``."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..creation import Generator, default_generator
from ..tensor import Tensor


class Dataset:
    """An indexable collection of samples: implement ``__getitem__`` and ``__len__``.

    >>> import framework as fw
    >>> class Squares(fw.data.Dataset):
    ...     def __len__(self): return 4
    ...     def __getitem__(self, i): return i, i * i
    >>> [y for _, y in Squares()]
    [0, 1, 4, 9]
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]


class IterableDataset(Dataset):
    """A stream of samples: implement ``__iter__`` (for data read sequentially, e.g. a
    generator over a file). ``DataLoader`` batches it in order; it has no sampler."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __getitem__(self, index: int) -> Any:
        raise TypeError("an IterableDataset is read by iterating, not by index")


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first dimension:
    ``TensorDataset(images, labels)[i] == (images[i], labels[i])``.

    ``DataLoader`` gathers a whole batch of rows at once from a ``TensorDataset`` (one
    indexing call per tensor) instead of stacking samples one by one.
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        n = tensors[0].shape[0] if tensors[0].ndim else None
        for i, t in enumerate(tensors):
            if t.ndim == 0 or t.shape[0] != n:
                raise ValueError(
                    "TensorDataset: all tensors must have the same size in their first "
                    f"dimension; tensor 0 has shape {tuple(tensors[0].shape)}, tensor {i} has "
                    f"shape {tuple(t.shape)}"
                )
        self.tensors = tensors

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(_rows(t, index) for t in self.tensors)

    def _batch(self, indices: np.ndarray) -> list[Tensor]:
        """The collated batch for ``indices`` (what default_collate of the samples gives)."""
        return [_rows(t, indices) for t in self.tensors]


def _rows(t: Tensor, index: Any) -> Tensor:
    bk = t._bk
    if isinstance(index, np.ndarray):
        return Tensor._wrap(bk.take(t.data, bk.asarray(index), axis=0), bk)
    return Tensor._wrap(bk.getitem(t.data, index), bk)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)

    def __getattr__(self, name: str) -> Any:
        # Forward the fast batch path of the wrapped dataset, if it has one.
        if name == "_batch" and hasattr(self.dataset, "_batch"):
            base = np.asarray(self.indices, dtype=np.int64)
            return lambda indices: self.dataset._batch(base[indices])
        raise AttributeError(name)


class ConcatDataset(Dataset):
    """Several datasets one after another."""

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support an IterableDataset")
        self.cumulative_sizes = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            if -index > len(self):
                raise IndexError(f"index {index} out of range for a dataset of {len(self)}")
            index += len(self)
        k = bisect.bisect_right(self.cumulative_sizes, index)
        if k >= len(self.datasets):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)}")
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][index - start]


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping subsets of the given lengths, or of
    the given fractions (summing to 1; leftover samples go one each to the first subsets).

    >>> import framework as fw
    >>> train, val = fw.data.random_split(range(10), [0.8, 0.2],
    ...                                   generator=fw.Generator().manual_seed(0))
    >>> len(train), len(val)
    (8, 2)
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        if any(f < 0 or f > 1 for f in lengths):
            raise ValueError(f"random_split: fractions must be in [0, 1], got {lengths}")
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(not float(x).is_integer() or x < 0 for x in lengths):
        raise ValueError(
            f"random_split: lengths must be non-negative integers or fractions summing to 1, "
            f"got {lengths}"
        )
    lengths = [int(x) for x in lengths]
    if sum(lengths) != n:
        raise ValueError(
            f"random_split: the lengths sum to {sum(lengths)} but the dataset has {n} samples"
        )
    rng = generator.rng if generator is not None else default_generator()
    perm = rng.permutation(n).tolist()
    out = []
    offset = 0
    for length in lengths:
        out.append(Subset(dataset, perm[offset:offset + length]))
        offset += length
    return out
