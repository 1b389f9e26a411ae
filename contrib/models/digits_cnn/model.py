"""The digits CNN: two 3x3 convolutions (16 and 32 channels, ReLU, 2x2 max pooling),
then a linear layer to 10 logits."""

import framework as fw
from framework import nn


def build_model() -> nn.Module:
    """The untrained network; ``model.safetensors`` holds its trained ``state_dict``."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 4 x 4
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 2 x 2
        nn.Flatten(), nn.Linear(128, 10),
    )


#: The input the card declares: a batch of 1-channel 8x8 images, pixels scaled to [0, 1].
INPUT_SPEC = [fw.jit.InputSpec([None, 1, 8, 8], fw.float32)]
