"""Padding and resampling layers: ``ZeroPad1d/2d``, ``ConstantPad1d/2d``,
``ReflectionPad1d/2d``, ``ReplicationPad1d/2d``, ``Upsample``."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .module import Module


class _PadNd(Module):
    _mode = "constant"
    _sides = 4

    def __init__(self, padding: Any, value: float = 0.0) -> None:
        super().__init__()
        if isinstance(padding, int):
            padding = (padding,) * self._sides
        padding = tuple(int(p) for p in padding)
        if len(padding) != self._sides:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a "
                             f"{self._sides}-tuple, got {padding}")
        self.padding = padding
        self.value = value

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if self._mode == "constant":
            return F.pad(input, self.padding, "constant", self.value)
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPad(_PadNd):
    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPad):
    """Pad the last dimension with ``value``: ``padding`` is (left, right)."""

    _sides = 2


class ConstantPad2d(_ConstantPad):
    """Pad the last two dimensions with ``value``: (left, right, top, bottom)."""


class ZeroPad1d(_PadNd):
    """Pad the last dimension with zeros."""

    _sides = 2

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)


class ZeroPad2d(_PadNd):
    """Pad the last two dimensions with zeros: (left, right, top, bottom)."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)


class ReflectionPad1d(_PadNd):
    """Pad the last dimension by reflecting at the border (the edge is not repeated)."""

    _mode = "reflect"
    _sides = 2


class ReflectionPad2d(_PadNd):
    """Pad the last two dimensions by reflection."""

    _mode = "reflect"


class ReplicationPad1d(_PadNd):
    """Pad the last dimension by repeating the edge value."""

    _mode = "replicate"
    _sides = 2


class ReplicationPad2d(_PadNd):
    """Pad the last two dimensions by repeating the edge values."""

    _mode = "replicate"


class Upsample(Module):
    """Resize by ``size`` or ``scale_factor`` with ``mode`` ``"nearest"``, ``"linear"`` or
    ``"bilinear"`` (see ``nn.functional.interpolate``)."""

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.size = size
        if isinstance(scale_factor, (tuple, list)):
            scale_factor = tuple(float(f) for f in scale_factor)
        elif scale_factor is not None:
            scale_factor = float(scale_factor)
        self.scale_factor = scale_factor
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.interpolate(input, self.size, self.scale_factor, self.mode,
                             self.align_corners, self.recompute_scale_factor)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"
