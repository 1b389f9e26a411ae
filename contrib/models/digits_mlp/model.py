"""The digits MLP: 64 pixels -> 128 -> 64 -> 10 logits (ReLU between layers)."""

import framework as fw
from framework import nn


def build_model() -> nn.Module:
    """The untrained network; ``model.safetensors`` holds its trained ``state_dict``."""
    return nn.Sequential(
        nn.Linear(64, 128), nn.ReLU(),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


#: The input the card declares: a batch of flattened 8x8 images, pixels scaled to [0, 1].
INPUT_SPEC = [fw.jit.InputSpec([None, 64], fw.float32)]
