"""``DataLoader``: batches of samples from a dataset, shuffled with a seeded generator."""

from __future__ import annotations

import collections.abc
import numbers
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import backend as _backend
from ..creation import Generator
from ..tensor import Tensor
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler


def default_collate(batch: list[Any]) -> Any:
    """Merge a list of samples into a batch, as PyTorch does: tensors and NumPy arrays are
    stacked into one tensor, Python numbers become a tensor (floats float64, ints int64),
    strings stay a list, and dicts, named tuples, tuples and lists are collated field by
    field (tuples and lists give lists).

    >>> import framework as fw
    >>> xb, yb = fw.data.default_collate([(fw.ones(2), 0), (fw.zeros(2), 1)])
    >>> xb.shape, yb.tolist()
    ((2, 2), [0, 1])
    """
    if not batch:
        raise ValueError("default_collate: got an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        bk = elem._bk
        shapes = {tuple(t.shape) for t in batch}
        if len(shapes) > 1:
            raise RuntimeError(
                f"default_collate: tensors in a batch must have equal shapes, got "
                f"{sorted(shapes)}; pass a collate_fn that pads them"
            )
        return Tensor._wrap(bk.stack([t.data for t in batch]), bk)
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_,
                                                                           np.bytes_)):
        if elem.dtype == object or elem.dtype.kind in "USO":
            raise TypeError(f"default_collate: can't batch NumPy arrays of dtype {elem.dtype}")
        shapes = {np.shape(a) for a in batch}
        if len(shapes) > 1:
            raise RuntimeError(
                f"default_collate: arrays in a batch must have equal shapes, got "
                f"{sorted(shapes)}"
            )
        bk = _backend.active
        return Tensor._wrap(bk.from_numpy(np.stack(batch)), bk)
    if isinstance(elem, bool):
        return Tensor(np.array(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return Tensor(np.array(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return Tensor(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch, strict=True)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(s) != size for s in batch):
            raise RuntimeError("default_collate: each sample in a batch must have equal size")
        return [default_collate(list(s)) for s in zip(*batch, strict=True)]
    raise TypeError(
        f"default_collate: samples must hold tensors, NumPy arrays, numbers, strings, dicts "
        f"or sequences; got {type(elem).__name__}"
    )


class DataLoader:
    """Iterate over ``dataset`` in batches.

    ``shuffle=True`` draws a new order each epoch from ``generator`` (a seeded
    ``fw.Generator`` makes it reproducible) or from the global generator. ``sampler`` sets
    the order of indices, ``batch_sampler`` the batches themselves; ``collate_fn`` merges a
    list of samples into a batch (:func:`default_collate` by default).
    ``batch_size=None`` yields samples one at a time, without collating.

    >>> import framework as fw
    >>> ds = fw.data.TensorDataset(fw.arange(10).float(), fw.arange(10))
    >>> [yb.tolist() for _, yb in fw.data.DataLoader(ds, batch_size=4)]
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Any = None, batch_sampler: Any = None,
                 num_workers: int = 0, collate_fn: Callable[[list], Any] | None = None,
                 pin_memory: bool = False, drop_last: bool = False,
                 generator: Generator | None = None) -> None:
        if num_workers != 0:
            raise ValueError(
                "DataLoader loads in the calling process: num_workers must be 0 (batches of "
                "in-memory datasets are gathered with one indexing call each)"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.generator = generator
        self.num_workers = 0
        self.pin_memory = pin_memory
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle:
                raise ValueError("DataLoader with an IterableDataset: shuffle must be False")
            if sampler is not None or batch_sampler is not None:
                raise ValueError(
                    "DataLoader with an IterableDataset: sampler and batch_sampler are not "
                    "allowed (the dataset sets its own order)"
                )
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler is mutually exclusive with batch_size, shuffle, sampler "
                    "and drop_last"
                )
            self.batch_size = None
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None (no batching) is mutually exclusive with drop_last")
        if sampler is not None and shuffle:
            raise ValueError("sampler is mutually exclusive with shuffle")
        if isinstance(batch_size, bool) or (batch_size is not None and (
                not isinstance(batch_size, int) or batch_size <= 0)):
            raise ValueError(f"batch_size should be a positive integer, got {batch_size!r}")
        if not self._iterable:
            if sampler is None:
                sampler = RandomSampler(dataset, generator=generator) if shuffle \
                    else SequentialSampler(dataset)
            if batch_sampler is None and batch_size is not None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self._default_collate = collate_fn is None
        self.collate_fn = collate_fn if collate_fn is not None else default_collate

    def __iter__(self) -> Iterator[Any]:
        if self._iterable:
            yield from self._iter_stream()
            return
        if self.batch_sampler is None:
            for idx in self.sampler:
                sample = self.dataset[idx]
                yield sample if self._default_collate else self.collate_fn(sample)
            return
        fast = getattr(self.dataset, "_batch", None) if self._default_collate else None
        for indices in self.batch_sampler:
            if fast is not None:
                yield fast(np.asarray(indices, dtype=np.int64))
            else:
                yield self.collate_fn([self.dataset[i] for i in indices])

    def _iter_stream(self) -> Iterator[Any]:
        if self.batch_size is None:
            for sample in self.dataset:
                yield sample if self._default_collate else self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # TypeError when the stream has no length, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

