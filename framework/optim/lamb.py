"""LAMB: Adam's direction, rescaled per parameter tensor by a trust ratio."""

from __future__ import annotations

import math
from typing import Any

from ..autograd import no_grad
from .optimizer import Optimizer, _check_range


class Lamb(Optimizer):
    """LAMB (You et al., 2020, "Large Batch Optimization for Deep Learning"), per tensor::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        u = (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps) + weight_decay * p
        r = ||p|| / ||u||   (1 when either norm is 0)
        p = p - lr * r * u

    PyTorch has no LAMB; this is the formulation of the paper's Algorithm 2 with bias
    correction (as in NVIDIA Apex's and timm's ``Lamb`` without gradient clipping).
    """

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-6, weight_decay: float = 0.0) -> None:
        _check_range("learning rate", lr)
        _check_range("epsilon value", eps)
        _check_range("beta parameter at index 0", betas[0], 0.0, 1.0)
        _check_range("beta parameter at index 1", betas[1], 0.0, 1.0)
        _check_range("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay))

    @no_grad()
    def step(self, closure: Any = None) -> Any:
        """One update of every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        state = self.state
        for group in self.param_groups:
            lr = group["lr"]
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            wd = group["weight_decay"]
            for p in group["params"]:
                gt = p.grad
                if gt is None:
                    continue
                bk = p._bk
                w = p.data
                g = gt.data
                st = state.get(p)
                if st is None:
                    st = state[p] = {"step": 0, "exp_avg": self._state_tensor(p),
                                     "exp_avg_sq": self._state_tensor(p)}
                t = st["step"] = st["step"] + 1
                m = st["exp_avg"].data
                v = st["exp_avg_sq"].data
                bk.multiply(m, beta1, out=m)
                u = bk.multiply(g, 1 - beta1, out=bk.empty(w.shape, w.dtype))
                bk.add(m, u, out=m)
                bk.multiply(v, beta2, out=v)
                bk.multiply(g, g, out=u)
                bk.multiply(u, 1 - beta2, out=u)
                bk.add(v, u, out=v)
                bk.divide(v, 1 - beta2 ** t, out=u)
                bk.add(bk.sqrt(u), eps, out=u)
                bk.divide(bk.divide(m, 1 - beta1 ** t), u, out=u)
                if wd != 0:
                    bk.add(u, bk.multiply(w, wd), out=u)
                w_norm = math.sqrt(float(bk.to_numpy(bk.sum(bk.multiply(w, w)))))
                u_norm = math.sqrt(float(bk.to_numpy(bk.sum(bk.multiply(u, u)))))
                ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
                bk.multiply(u, -lr * ratio, out=u)
                bk.add(w, u, out=w)
                p._bump_version()
        return loss
