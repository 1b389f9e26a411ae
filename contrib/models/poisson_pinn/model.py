"""A physics-informed network for the 1-D Poisson problem

    -u''(x) = pi^2 sin(pi x)  on [0, 1],   u(0) = u(1) = 0,

whose exact solution is u(x) = sin(pi x). A tanh MLP (1 -> 32 -> 32 -> 1) gives N(x); the
model returns u(x) = x (1 - x) N(x), so the boundary conditions hold exactly and training
only has to drive the equation's residual to zero.
"""

import framework as fw
from framework import nn


class PoissonPINN(nn.Module):
    """(batch, 1) points x in [0, 1] -> (batch, 1) the approximate solution u(x)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, width),
                                 nn.Tanh(), nn.Linear(width, 1))

    def forward(self, x):
        return x * (1 - x) * self.net(x)


def build_model() -> nn.Module:
    """The untrained network; ``model.safetensors`` holds its trained ``state_dict``."""
    return PoissonPINN()


INPUT_SPEC = [fw.jit.InputSpec([None, 1], fw.float32)]
