"""Data loading against PyTorch 2.13: split sizes, collation results, batch counts."""

from collections import namedtuple

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the peers extra (torch==2.13.0) is not installed")

import framework as fw  # noqa: E402
from framework import data  # noqa: E402

pytestmark = pytest.mark.peers


@pytest.mark.parametrize("n,lengths", [
    (10, [0.8, 0.2]), (11, [0.5, 0.3, 0.2]), (7, [0.25, 0.25, 0.25, 0.25]), (3, [0.1, 0.9]),
    (10, [3, 7]), (5, [0, 5]), (1, [1.0]),
])
def test_random_split_sizes_match_torch(n, lengths):
    ours = [len(s) for s in data.random_split(range(n), lengths,
                                              generator=fw.Generator().manual_seed(0))]
    theirs = [len(s) for s in torch.utils.data.random_split(
        range(n), lengths, generator=torch.Generator().manual_seed(0))]
    assert ours == theirs


Pair = namedtuple("Pair", "a b")


def _samples(lib):
    t = lib.tensor
    return [
        {"x": t([[1.0, 2.0]]) * i, "n": i, "f": 0.5 * i, "b": bool(i % 2), "s": f"id{i}",
         "arr": np.full((2,), i, dtype=np.int32), "tup": (t([i]), i), "lst": [i, 2.0 * i],
         "nt": Pair(i, 1.5)}
        for i in range(3)
    ]


def _describe(obj):
    if isinstance(obj, (fw.Tensor, torch.Tensor)):
        arr = obj.numpy()
        return ("tensor", str(arr.dtype), arr.shape, arr.tolist())
    if isinstance(obj, dict):
        return {k: _describe(v) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return ("namedtuple", [_describe(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [_describe(v) for v in obj])
    return obj


def test_default_collate_matches_torch():
    ours = data.default_collate(_samples(fw))
    theirs = torch.utils.data.default_collate(_samples(torch))
    assert _describe(ours) == _describe(theirs)


@pytest.mark.parametrize("n,bs,drop", [(10, 3, False), (10, 3, True), (9, 3, True),
                                       (2, 5, False), (2, 5, True)])
def test_batch_counts_and_sizes_match_torch(n, bs, drop):
    ours = data.DataLoader(data.TensorDataset(fw.arange(n)), batch_size=bs, drop_last=drop)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(n)),
                                         batch_size=bs, drop_last=drop)
    assert len(ours) == len(theirs)
    assert [b[0].tolist() for b in ours] == [b[0].tolist() for b in theirs]
