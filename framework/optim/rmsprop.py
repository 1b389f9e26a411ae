"""RMSprop: gradients scaled by a running root-mean-square, optionally centered."""

from __future__ import annotations

from typing import Any

from ..autograd import no_grad
from .optimizer import Optimizer, _check_range


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e) with PyTorch's update rule (``torch.optim.RMSprop``)::

        g = grad (+ weight_decay * p)
        s = alpha * s + (1 - alpha) * g * g
        a = sqrt(s - mean_g**2) if centered (mean_g = running mean of g) else sqrt(s)
        buf = momentum * buf + g / (a + eps);  p = p - lr * buf   (momentum > 0)
        p = p - lr * g / (a + eps)                                (otherwise)
    """

    def __init__(self, params: Any, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 *, maximize: bool = False) -> None:
        _check_range("learning rate", lr)
        _check_range("epsilon value", eps)
        _check_range("momentum value", momentum)
        _check_range("weight_decay value", weight_decay)
        _check_range("alpha value", alpha)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    @no_grad()
    def step(self, closure: Any = None) -> Any:
        """One update of every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        state = self.state
        for group in self.param_groups:
            lr = group["lr"]
            alpha = group["alpha"]
            eps = group["eps"]
            wd = group["weight_decay"]
            momentum = group["momentum"]
            centered = group["centered"]
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
                    st = state[p] = {"step": 0, "square_avg": self._state_tensor(p)}
                    if momentum > 0:
                        st["momentum_buffer"] = self._state_tensor(p)
                    if centered:
                        st["grad_avg"] = self._state_tensor(p)
                if maximize:
                    g = bk.negative(g)
                st["step"] += 1
                if wd != 0:
                    g = bk.add(g, bk.multiply(w, wd))
                s = st["square_avg"].data
                bk.multiply(s, alpha, out=s)
                tmp = bk.multiply(g, g, out=bk.empty(w.shape, w.dtype))
                bk.multiply(tmp, 1 - alpha, out=tmp)
                bk.add(s, tmp, out=s)
                if centered:
                    ga = st["grad_avg"].data
                    bk.subtract(g, ga, out=tmp)
                    bk.multiply(tmp, 1 - alpha, out=tmp)
                    bk.add(ga, tmp, out=ga)
                    bk.multiply(ga, ga, out=tmp)
                    bk.subtract(s, tmp, out=tmp)
                    bk.add(bk.sqrt(tmp), eps, out=tmp)
                else:
                    bk.add(bk.sqrt(s), eps, out=tmp)
                bk.divide(g, tmp, out=tmp)
                if momentum > 0:
                    buf = st["momentum_buffer"].data
                    bk.multiply(buf, momentum, out=buf)
                    bk.add(buf, tmp, out=buf)
                    bk.multiply(buf, -lr, out=tmp)
                else:
                    bk.multiply(tmp, -lr, out=tmp)
                bk.add(w, tmp, out=w)
                p._bump_version()
        return loss
