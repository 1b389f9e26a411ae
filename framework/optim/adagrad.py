"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from typing import Any

from ..autograd import no_grad
from .optimizer import Optimizer, _check_range


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011) with PyTorch's update rule (``torch.optim.Adagrad``)::

        g = grad (+ weight_decay * p)
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g                       (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)
    """

    def __init__(self, params: Any, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        _check_range("learning rate", lr)
        _check_range("lr_decay value", lr_decay)
        _check_range("weight_decay value", weight_decay)
        _check_range("initial_accumulator_value", initial_accumulator_value)
        _check_range("epsilon value", eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))
        # PyTorch creates the state eagerly, so a state dict saved before the first step
        # already holds the accumulators.
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {
                    "step": 0,
                    "sum": self._state_tensor(p, group["initial_accumulator_value"]),
                }

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        if hasattr(self, "state"):
            group = self.param_groups[-1]
            for p in group["params"]:
                self.state[p] = {
                    "step": 0,
                    "sum": self._state_tensor(p, group["initial_accumulator_value"]),
                }

    @no_grad()
    def step(self, closure: Any = None) -> Any:
        """One update of every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        state = self.state
        for group in self.param_groups:
            lr = group["lr"]
            lr_decay = group["lr_decay"]
            wd = group["weight_decay"]
            eps = group["eps"]
            maximize = group["maximize"]
            for p in group["params"]:
                gt = p.grad
                if gt is None:
                    continue
                bk = p._bk
                w = p.data
                g = gt.data
                st = state[p]
                t = st["step"] = st["step"] + 1
                if maximize:
                    g = bk.negative(g)
                if wd != 0:
                    g = bk.add(g, bk.multiply(w, wd))
                clr = lr / (1 + (t - 1) * lr_decay)
                s = st["sum"].data
                tmp = bk.multiply(g, g, out=bk.empty(w.shape, w.dtype))
                bk.add(s, tmp, out=s)
                bk.add(bk.sqrt(s), eps, out=tmp)
                bk.divide(g, tmp, out=tmp)
                bk.multiply(tmp, -clr, out=tmp)
                bk.add(w, tmp, out=w)
                p._bump_version()
        return loss
