"""Transforms for image samples: conversion to tensors, normalization, random crops and
flips (data augmentation). Images are tensors shaped ``(..., C, H, W)`` or ``(..., H, W)``.

>>> import framework as fw
>>> from framework.data import transforms as T
>>> aug = T.Compose([T.RandomCrop(8, padding=1), T.RandomHorizontalFlip(),
...                  T.Normalize([0.5], [0.25])])
>>> aug(fw.rand(1, 8, 8)).shape
(1, 8, 8)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import backend as _backend
from ..creation import Generator, default_generator
from ..tensor import Tensor


def _rng(generator: Generator | None) -> Any:
    return generator.rng if generator is not None else default_generator()


def _tensor(x: Any, name: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    raise TypeError(f"{name} expects a tensor image, got {type(x).__name__}; use ToTensor first")


class Compose:
    """Apply transforms one after another."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class ToTensor:
    """A NumPy image (``H x W`` or ``H x W x C``) to a float32 tensor ``C x H x W``;
    uint8 values are scaled from 0..255 to [0, 1], as torchvision does. A tensor passes
    through (uint8 tensors are scaled too)."""

    def __call__(self, pic: Any) -> Tensor:
        if isinstance(pic, Tensor):
            arr = pic._bk.to_numpy(pic.data)
            chw = arr
        else:
            arr = np.asarray(pic)
            if arr.ndim == 2:
                arr = arr[:, :, None]
            if arr.ndim != 3:
                raise ValueError(f"ToTensor expects an H x W or H x W x C image, got shape "
                                 f"{arr.shape}")
            chw = arr.transpose(2, 0, 1)
        out = chw.astype(np.float32)
        if chw.dtype == np.uint8:
            out /= np.float32(255)
        bk = _backend.active
        return Tensor._wrap(bk.from_numpy(np.ascontiguousarray(out)), bk)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """``(x - mean[c]) / std[c]`` for each channel ``c`` of a ``(..., C, H, W)`` tensor."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        self.mean = [float(m) for m in np.atleast_1d(mean)]
        self.std = [float(s) for s in np.atleast_1d(std)]
        if len(self.mean) != len(self.std):
            raise ValueError(f"Normalize: mean has {len(self.mean)} values, std {len(self.std)}")
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std evaluated to zero in {self.std}, leading to "
                             "division by zero")
        self.inplace = inplace

    def __call__(self, x: Any) -> Tensor:
        x = _tensor(x, "Normalize")
        if x.ndim < 3:
            raise ValueError(f"Normalize expects a (..., C, H, W) tensor, got shape "
                             f"{tuple(x.shape)}")
        c = x.shape[-3]
        if len(self.mean) not in (1, c):
            raise ValueError(f"Normalize: {len(self.mean)} means for an image with {c} channels")
        bk = x._bk
        dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
        mean = bk.asarray(np.array(self.mean, dtype=dt).reshape(-1, 1, 1))
        std = bk.asarray(np.array(self.std, dtype=dt).reshape(-1, 1, 1))
        if self.inplace and x.dtype.kind == "f":
            bk.subtract(x.data, mean, out=x.data)
            bk.divide(x.data, std, out=x.data)
            x._bump_version()
            return x
        return Tensor._wrap(bk.divide(bk.subtract(bk.astype(x.data, dt), mean), std), bk)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class RandomCrop:
    """A random ``size`` crop (an int for square crops, or ``(h, w)``), after optional
    ``padding`` of the borders (an int, ``(left/right, top/bottom)`` or
    ``(left, top, right, bottom)``) with ``fill`` (``padding_mode="constant"``) or by
    ``"edge"``/``"reflect"``/``"symmetric"``."""

    _MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect",
              "symmetric": "symmetric"}

    def __init__(self, size: int | Sequence[int], padding: Any = None,
                 pad_if_needed: bool = False, fill: float = 0,
                 padding_mode: str = "constant", generator: Generator | None = None) -> None:
        self.size = (int(size), int(size)) if isinstance(size, int) else tuple(int(s)
                                                                                for s in size)
        if len(self.size) != 2 or min(self.size) <= 0:
            raise ValueError(f"RandomCrop: size must be a positive int or (h, w), got {size}")
        if padding_mode not in self._MODES:
            raise ValueError(f"RandomCrop: padding_mode must be one of {list(self._MODES)}, "
                             f"got {padding_mode!r}")
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode
        self.generator = generator

    def _pad(self, x: Tensor, left: int, top: int, right: int, bottom: int) -> Tensor:
        if not (left or top or right or bottom):
            return x
        widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
        bk = x._bk
        if self.padding_mode == "constant":
            data = bk.pad(x.data, widths, mode="constant", constant_values=self.fill)
        else:
            data = bk.pad(x.data, widths, mode=self._MODES[self.padding_mode])
        return Tensor._wrap(data, bk)

    def __call__(self, x: Any) -> Tensor:
        x = _tensor(x, "RandomCrop")
        if x.ndim < 2:
            raise ValueError(f"RandomCrop expects a (..., H, W) tensor, got shape "
                             f"{tuple(x.shape)}")
        if self.padding is not None:
            p = self.padding
            if isinstance(p, int):
                p = (p, p, p, p)
            elif len(p) == 2:
                p = (p[0], p[1], p[0], p[1])
            x = self._pad(x, *[int(v) for v in p])
        th, tw = self.size
        h, w = x.shape[-2:]
        if self.pad_if_needed and (h < th or w < tw):
            x = self._pad(x, max(tw - w, 0), max(th - h, 0), max(tw - w, 0), max(th - h, 0))
            h, w = x.shape[-2:]
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: crop size {self.size} is larger than the (padded) "
                             f"image {(h, w)}")
        rng = _rng(self.generator)
        i = int(rng.integers(0, h - th + 1))
        j = int(rng.integers(0, w - tw + 1))
        bk = x._bk
        return Tensor._wrap(bk.getitem(x.data, (Ellipsis, slice(i, i + th), slice(j, j + tw))),
                            bk)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5, generator: Generator | None = None) -> None:
        self.p = p
        self.generator = generator

    def __call__(self, x: Any) -> Tensor:
        x = _tensor(x, "RandomHorizontalFlip")
        if _rng(self.generator).random() < self.p:
            bk = x._bk
            return Tensor._wrap(bk.copy(bk.flip(x.data, axis=-1)), bk)
        return x

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror the image top-bottom with probability ``p``."""

    def __call__(self, x: Any) -> Tensor:
        x = _tensor(x, "RandomVerticalFlip")
        if _rng(self.generator).random() < self.p:
            bk = x._bk
            return Tensor._wrap(bk.copy(bk.flip(x.data, axis=-2)), bk)
        return x

    def __repr__(self) -> str:
        return f"RandomVerticalFlip(p={self.p})"


class Lambda:
    """Wrap a function as a transform."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __call__(self, x: Any) -> Any:
        return self.fn(x)
