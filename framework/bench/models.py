"""The benchmark suite's models: an MLP, a CNN and a transformer encoder, all seeded.

They are ordinary ``framework.nn`` modules, so a backend runs them exactly as it runs a
user's model. ``small=True`` gives tiny versions for the conformance suite's loss-curve check.

>>> import framework as fw
>>> from framework.bench.models import build_model, training_batch
>>> net, loss_fn = build_model("mlp", small=True)
>>> x, y = training_batch("mlp", batch=4, seed=0, small=True)
>>> loss_fn(net(x), y).shape
()
"""

from __future__ import annotations

from typing import Any

import numpy as np

import framework as fw
from framework import nn

MODELS = ("mlp", "cnn", "transformer")

# (input features / image size / sequence shape, classes) per model and size
SPECS: dict[str, dict[str, dict[str, Any]]] = {
    "mlp": {"full": {"in": 784, "hidden": 512, "classes": 10},
            "small": {"in": 32, "hidden": 64, "classes": 10}},
    "cnn": {"full": {"channels": (1, 16, 32, 32), "size": 28, "classes": 10},
            "small": {"channels": (1, 4, 8, 8), "size": 12, "classes": 10}},
    "transformer": {"full": {"seq": 32, "features": 16, "d_model": 64, "heads": 4,
                             "ff": 128, "layers": 2, "classes": 10},
                    "small": {"seq": 8, "features": 8, "d_model": 16, "heads": 2, "ff": 32,
                              "layers": 1, "classes": 10}},
}


def cross_entropy(logits: fw.Tensor, target: fw.Tensor) -> fw.Tensor:
    """Mean cross-entropy of class ``target`` under ``logits`` (N, C)."""
    return nn.functional.cross_entropy(logits, target)


class MLP(nn.Module):
    """Linear-ReLU-Linear-ReLU-Linear classifier."""

    def __init__(self, features: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, classes))

    def forward(self, x: fw.Tensor) -> fw.Tensor:
        return self.net(x)


class CNN(nn.Module):
    """Three 3x3 convolutions (the last two with stride 2) and a linear classifier."""

    def __init__(self, channels: tuple[int, int, int, int], size: int, classes: int) -> None:
        super().__init__()
        c0, c1, c2, c3 = channels
        self.conv1 = nn.Conv2d(c0, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(c2, c3, 3, stride=2, padding=1)
        side = (size + 1) // 2
        side = (side + 1) // 2
        self.fc = nn.Linear(c3 * side * side, classes)

    def forward(self, x: fw.Tensor) -> fw.Tensor:
        x = self.conv1(x).relu()
        x = self.conv2(x).relu()
        x = self.conv3(x).relu()
        return self.fc(x.reshape(x.shape[0], -1))


class EncoderLayer(nn.Module):
    """Pre-norm transformer encoder layer: ``nn.MultiheadAttention`` and a ReLU feed-forward
    block, each behind an ``nn.LayerNorm`` and with a residual connection."""

    def __init__(self, d_model: int, heads: int, ff: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff1 = nn.Linear(d_model, ff)
        self.ff2 = nn.Linear(ff, d_model)

    def forward(self, x: fw.Tensor) -> fw.Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.ff2(self.ff1(self.norm2(x)).relu())


class TransformerEncoder(nn.Module):
    """Sequence classifier: input projection, learned positions, encoder layers, final norm,
    mean pooling."""

    def __init__(self, seq: int, features: int, d_model: int, heads: int, ff: int,
                 layers: int, classes: int) -> None:
        super().__init__()
        self.embed = nn.Linear(features, d_model)
        self.pos = nn.Parameter(fw.randn(1, seq, d_model) * 0.02)
        self.layers = nn.ModuleList([EncoderLayer(d_model, heads, ff) for _ in range(layers)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, classes)

    def forward(self, x: fw.Tensor) -> fw.Tensor:
        x = self.embed(x) + self.pos
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x).mean(dim=1))


def build_model(name: str, small: bool = False) -> tuple[nn.Module, Any]:
    """A freshly initialized model (seed it first with ``fw.manual_seed``) and its loss."""
    spec = SPECS[name]["small" if small else "full"]
    if name == "mlp":
        net: nn.Module = MLP(spec["in"], spec["hidden"], spec["classes"])
    elif name == "cnn":
        net = CNN(spec["channels"], spec["size"], spec["classes"])
    elif name == "transformer":
        net = TransformerEncoder(**spec)
    else:
        raise ValueError(f"unknown benchmark model {name!r}; choose from {', '.join(MODELS)}")
    return net, cross_entropy


def input_shape(name: str, batch: int, small: bool = False) -> tuple[int, ...]:
    spec = SPECS[name]["small" if small else "full"]
    if name == "mlp":
        return (batch, spec["in"])
    if name == "cnn":
        return (batch, spec["channels"][0], spec["size"], spec["size"])
    return (batch, spec["seq"], spec["features"])


def training_batch(name: str, batch: int, seed: int, small: bool = False
                   ) -> tuple[fw.Tensor, fw.Tensor]:
    """A fixed synthetic batch (inputs, class labels) on the active backend."""
    rng = np.random.default_rng(seed)
    spec = SPECS[name]["small" if small else "full"]
    x = rng.standard_normal(input_shape(name, batch, small)).astype(np.float32)
    y = rng.integers(0, spec["classes"], size=batch).astype(np.int64)
    return fw.tensor(x), fw.tensor(y)


def fixed_input(name: str, batch: int, seed: int, small: bool = False) -> fw.Tensor:
    """The fixed inference input whose outputs are the correctness evidence."""
    return training_batch(name, batch, seed, small)[0]
