"""``nn.functional``: the layers as functions, activations and losses (PyTorch's names and
arguments).

>>> import framework as fw
>>> import framework.nn.functional as F
>>> F.relu(fw.tensor([-1.0, 2.0]))
tensor([0., 2.])
"""

from __future__ import annotations

from ..ops import relu
from ._ops import bilinear, linear

__all__ = ["bilinear", "linear", "relu"]
