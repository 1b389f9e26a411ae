"""Optimizers and learning-rate schedules, with PyTorch's names, options and update rules.

>>> import framework as fw
>>> w = fw.tensor([3.0], requires_grad=True)
>>> opt = fw.optim.Adam([w], lr=0.1)
>>> for _ in range(3):
...     opt.zero_grad()
...     (w * w).sum().backward()
...     _ = opt.step()
>>> round(w.item(), 4)
2.7004
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lamb import Lamb
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Lamb", "lr_scheduler"]
