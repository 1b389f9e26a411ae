"""Neural-network building blocks: ``Module``, layers, losses, ``functional``, ``init``.

>>> import framework as fw
>>> from framework import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> model(fw.randn(3, 4)).shape
(3, 2)
"""

from . import functional, init, utils
from .activation import ReLU
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .flatten import Flatten, Unflatten
from .linear import Bilinear, Identity, Linear
from .module import Module, RemovableHandle
from .parameter import Buffer, Parameter
from .attention import MultiheadAttention
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell

__all__ = [
    "MultiheadAttention",
    "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell",
    "Bilinear", "Buffer", "Flatten", "Identity", "Linear", "Module", "ModuleDict",
    "ModuleList", "ParameterDict", "ParameterList", "ReLU", "RemovableHandle",
    "Sequential", "Unflatten", "functional", "init", "utils",
]
