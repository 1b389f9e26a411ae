"""Adam and AdamW (decoupled weight decay), with the AMSGrad variant."""

from __future__ import annotations

import math
from typing import Any

from ..autograd import no_grad
from .optimizer import Optimizer, _check_range


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with PyTorch's update rule (``torch.optim.Adam``)::

        g = grad (+ weight_decay * p)             # L2 penalty; AdamW decays p instead
        m = m + (1 - beta1) * (g - m)
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)                      # amsgrad only, used in place of v
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    """

    _decoupled = False

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
                 *, maximize: bool = False) -> None:
        _check_range("learning rate", lr)
        _check_range("epsilon value", eps)
        _check_range("beta parameter at index 0", betas[0], 0.0, 1.0)
        _check_range("beta parameter at index 1", betas[1], 0.0, 1.0)
        _check_range("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    @no_grad()
    def step(self, closure: Any = None) -> Any:
        """One update of every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        state = self.state
        decoupled = self._decoupled
        for group in self.param_groups:
            lr = group["lr"]
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            wd = group["weight_decay"]
            amsgrad = group["amsgrad"]
            maximize = group["maximize"]
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
                    if amsgrad:
                        st["max_exp_avg_sq"] = self._state_tensor(p)
                if maximize:
                    g = bk.negative(g)
                t = st["step"] = st["step"] + 1
                if wd != 0:
                    if decoupled:
                        bk.multiply(w, 1 - lr * wd, out=w)
                    else:
                        g = bk.add(g, bk.multiply(w, wd))
                m = st["exp_avg"].data
                v = st["exp_avg_sq"].data
                # m.lerp_(g, 1 - beta1), as PyTorch computes it
                d = bk.subtract(g, m, out=bk.empty(w.shape, w.dtype))
                bk.multiply(d, 1 - beta1, out=d)
                bk.add(m, d, out=m)
                bk.multiply(v, beta2, out=v)
                bk.multiply(g, g, out=d)
                bk.multiply(d, 1 - beta2, out=d)
                bk.add(v, d, out=v)
                if amsgrad:
                    vmax = st["max_exp_avg_sq"].data
                    bk.setitem(vmax, Ellipsis, bk.maximum(vmax, v))
                    v = vmax
                step_size = lr / (1 - beta1 ** t)
                bc2_sqrt = math.sqrt(1 - beta2 ** t)
                bk.divide(bk.sqrt(v), bc2_sqrt, out=d)
                bk.add(d, eps, out=d)
                bk.divide(m, d, out=d)
                bk.multiply(d, -step_size, out=d)
                bk.add(w, d, out=w)
                p._bump_version()
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``:
    each step first shrinks the parameters, ``p = p * (1 - lr * weight_decay)``, then applies
    the Adam update without an L2 term in the gradient."""

    _decoupled = True

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
                 *, maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)


