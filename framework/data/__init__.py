"""Data loading: datasets, samplers, ``DataLoader``, image transforms, and data sets that
work offline (the UCI digits and a Shakespeare text ship in the package; MNIST and
Fashion-MNIST are read from local IDX files).

>>> import framework as fw
>>> loader = fw.data.DataLoader(fw.data.Digits(train=True), batch_size=64, shuffle=True,
...                             generator=fw.Generator().manual_seed(0))
>>> images, labels = next(iter(loader))
>>> tuple(images.shape), tuple(labels.shape)
((64, 1, 8, 8), (64,))
"""

from . import transforms
from .dataset import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split
from .datasets import (
    MNIST,
    CharCorpus,
    Digits,
    FashionMNIST,
    load_digits,
    load_shakespeare,
    read_idx,
)
from .loader import DataLoader, default_collate
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
)

__all__ = [
    "Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
    "DataLoader", "default_collate", "Sampler", "SequentialSampler", "RandomSampler",
    "SubsetRandomSampler", "BatchSampler", "transforms", "Digits", "load_digits", "MNIST",
    "FashionMNIST", "read_idx", "CharCorpus", "load_shakespeare",
]
