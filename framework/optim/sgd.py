"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from typing import Any

from ..autograd import no_grad
from .optimizer import Optimizer, _check_range, _wrap


class SGD(Optimizer):
    """SGD, with PyTorch's update rule (``torch.optim.SGD``)::

        g = grad (+ weight_decay * p)
        buf = g                                   on the first step
        buf = momentum * buf + (1 - dampening) * g afterwards
        g = g + momentum * buf if nesterov else buf   (when momentum != 0)
        p = p - lr * g

    >>> import framework as fw
    >>> w = fw.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = fw.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> (w * w).sum().backward(); opt.step()
    >>> w
    tensor([0.8, 1.6], requires_grad=True)
    """

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False) -> None:
        _check_range("learning rate", lr)
        _check_range("momentum value", momentum)
        _check_range("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    @no_grad()
    def step(self, closure: Any = None) -> Any:
        """One update of every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        state = self.state
        for group in self.param_groups:
            lr = group["lr"]
            momentum = group["momentum"]
            dampening = group["dampening"]
            wd = group["weight_decay"]
            nesterov = group["nesterov"]
            maximize = group["maximize"]
            if not (maximize or wd != 0 or momentum != 0):
                # plain SGD: p += -lr * grad for every parameter, in one tight loop
                step = -lr
                for p in group["params"]:
                    gt = p.grad
                    if gt is not None:
                        bk = p._bk
                        w = p.data
                        bk.add(w, bk.multiply(gt.data, step), out=w)
                        p._bump_version()
                continue
            for p in group["params"]:
                gt = p.grad
                if gt is None:
                    continue
                bk = p._bk
                w = p.data
                g = gt.data
                if maximize:
                    g = bk.negative(g)
                if wd != 0:
                    g = bk.add(g, bk.multiply(w, wd))
                if momentum != 0:
                    st = state.get(p)
                    if st is None:
                        st = state[p] = {}
                    buf_t = st.get("momentum_buffer")
                    if buf_t is None:
                        buf = bk.copy(g)
                        st["momentum_buffer"] = _wrap(buf, bk)
                    else:
                        buf = buf_t.data
                        bk.multiply(buf, momentum, out=buf)
                        if dampening == 0:
                            bk.add(buf, g, out=buf)
                        else:
                            bk.add(buf, bk.multiply(g, 1 - dampening), out=buf)
                    g = bk.add(g, bk.multiply(buf, momentum)) if nesterov else buf
                bk.add(w, bk.multiply(g, -lr), out=w)
                p._bump_version()
        return loss
