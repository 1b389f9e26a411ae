"""Skiff's deep-learning framework on NumPy.

Users write ``import framework as fw``; the API follows PyTorch's names and arguments.

>>> import framework as fw
>>> x = fw.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = (x @ x).sum()
>>> y.backward()
>>> x.grad.shape
(2, 2)
"""

__version__ = "0.1.0"

from . import backend, dtypes  # noqa: E402
from .autograd import (  # noqa: E402
    enable_grad,
    grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .backend import get_backend, set_backend  # noqa: E402
from .creation import (  # noqa: E402
    Generator,
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    normal,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    tensor,
    uniform,
    zeros,
    zeros_like,
)
from .dtypes import (  # noqa: E402
    bool_,
    double,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int32,
    int64,
    long,
    set_default_dtype,
)
from .ops import *  # noqa: E402,F403
from .tensor import Tensor  # noqa: E402

bool = bool_  # noqa: A001 - fw.bool, as in PyTorch
float = float32  # noqa: A001
int = int32  # noqa: A001

from . import autograd, data, hub, jit, nn, onnx, optim  # noqa: E402,F401
from .io import SkiffLoadError, load, save  # noqa: E402,F401
