"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose2d``."""

from __future__ import annotations

import math
from typing import Any

from .. import creation as _creation
from ..ops import pad as _pad
from ..tensor import Tensor
from . import _ops, init
from .module import Module
from .parameter import Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(v: Any, n: int) -> tuple:
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"expected an int or a {n}-tuple, got {v!r}")
        return tuple(int(e) for e in v)
    return (int(v),) * n


class _ConvNd(Module):
    """Shared parameters and PyTorch's default initialization for convolutions."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple, stride: tuple,
                 padding: Any, dilation: tuple, transposed: bool, output_padding: tuple,
                 groups: int, bias: bool, padding_mode: str, dtype: Any) -> None:
        super().__init__()
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"in_channels ({in_channels}) and out_channels ({out_channels}) "
                             f"must both be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, got "
                             f"{padding_mode!r}")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"padding must be an int, a tuple, 'same' or 'valid', got "
                                 f"{padding!r}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        if transposed:
            shape = (in_channels, out_channels // groups) + kernel_size
        else:
            shape = (out_channels, in_channels // groups) + kernel_size
        self.weight = Parameter(_creation.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(_creation.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _mode_pad(self, x: Tensor) -> tuple[Tensor, Any]:
        """Non-zero padding modes pad explicitly; the convolution then pads nothing."""
        if self.padding_mode == "zeros" or self.padding == "valid":
            return x, self.padding
        k = len(self.kernel_size)
        if self.padding == "same":
            pads = []
            for d, ks in zip(reversed(self.dilation), reversed(self.kernel_size), strict=True):
                total = d * (ks - 1)
                pads += [total // 2, total - total // 2]
        else:
            pads = []
            for p in reversed(_ntuple(self.padding, k)):
                pads += [p, p]
        return _pad(x, tuple(pads), mode=self.padding_mode), 0

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        k = len(self.kernel_size)
        if self.padding != (0,) * k:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * k:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * k:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over an (N, C, L) input."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, _ntuple(kernel_size, 1),
                         _ntuple(stride, 1),
                         padding if isinstance(padding, str) else _ntuple(padding, 1),
                         _ntuple(dilation, 1), False, (0,), groups, bias, padding_mode, dtype)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        x, padding = self._mode_pad(input)
        return _ops.conv1d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                           self.groups)


class Conv2d(_ConvNd):
    """2-D convolution over an (N, C, H, W) input.

    >>> import framework as fw
    >>> conv = fw.nn.Conv2d(1, 8, 3, padding=1)
    >>> conv(fw.zeros(2, 1, 28, 28)).shape
    (2, 8, 28, 28)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, _ntuple(kernel_size, 2),
                         _ntuple(stride, 2),
                         padding if isinstance(padding, str) else _ntuple(padding, 2),
                         _ntuple(dilation, 2), False, (0, 0), groups, bias, padding_mode,
                         dtype)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        x, padding = self._mode_pad(input)
        return _ops.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                           self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (the gradient of ``Conv2d`` with respect to its input),
    used to upsample. ``weight`` is ``(in, out/groups, kh, kw)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", dtype: Any = None) -> None:
        if padding_mode != "zeros":
            raise ValueError('only "zeros" padding_mode is supported for ConvTranspose2d')
        if isinstance(padding, str):
            raise ValueError("ConvTranspose2d takes an int or a pair as padding")
        super().__init__(in_channels, out_channels, _ntuple(kernel_size, 2),
                         _ntuple(stride, 2), _ntuple(padding, 2), _ntuple(dilation, 2), True,
                         _ntuple(output_padding, 2), groups, bias, padding_mode, dtype)

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:  # noqa: A002
        op = self.output_padding
        if output_size is not None:
            # choose output_padding so that the output has the requested size
            hw = tuple(output_size)[-2:]
            op = []
            for i in range(2):
                base = ((input.shape[-2 + i] - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
                extra = hw[i] - base
                if not 0 <= extra < self.stride[i]:
                    raise ValueError(f"ConvTranspose2d: requested output size {hw} is not "
                                     f"reachable from input of shape {tuple(input.shape)}")
                op.append(extra)
            op = tuple(op)
        return _ops.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                     op, self.groups, self.dilation)


class ConvTranspose1d(_ConvNd):
    """Transposed 1-D convolution over an (N, C, L) input; ``weight`` is
    ``(in, out/groups, k)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", dtype: Any = None) -> None:
        if padding_mode != "zeros":
            raise ValueError('only "zeros" padding_mode is supported for ConvTranspose1d')
        if isinstance(padding, str):
            raise ValueError("ConvTranspose1d takes an int as padding")
        super().__init__(in_channels, out_channels, _ntuple(kernel_size, 1),
                         _ntuple(stride, 1), _ntuple(padding, 1), _ntuple(dilation, 1), True,
                         _ntuple(output_padding, 1), groups, bias, padding_mode, dtype)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return _ops.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                     self.output_padding, self.groups, self.dilation)
