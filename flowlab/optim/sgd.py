"""Gradient descent with and without momentum: SGD, Momentum, Nesterov (torch.optim.SGD's rules)."""

import numpy as np

from .._checks import non_negative, number
from .base import Optimizer
from .registry import register_optimizer


@register_optimizer("sgd")
class SGD(Optimizer):
    """p <- p - lr*g.  Matches torch.optim.SGD (momentum=0).

    The default lr is torch's, 1e-3 (MiniFlow's ``sgd_update`` uses 1e-2).

    Args:
        params: list of parameter nodes.
        lr: learning rate.
        weight_decay: L2 penalty added to the gradient.
    """

    elementwise = True

    def __init__(self, params, lr=1e-3, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)

    def update(self, value, grad, state):
        scratch = state["scratch"]
        np.multiply(grad, self.lr, out=scratch)
        value -= scratch


@register_optimizer("momentum")
class Momentum(Optimizer):
    """b <- momentum*b + (1-dampening)*g (b = g on the first step); p <- p - lr*b.

    With nesterov, p <- p - lr*(g + momentum*b). Matches torch.optim.SGD with momentum; at constant
    lr it equals the slides' v <- momentum*v + lr*g, p <- p - v. The default lr is torch's, 1e-3.

    Args:
        params: list of parameter nodes.
        lr: learning rate.
        momentum: momentum factor, >= 0.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening = 0).
        dampening: dampening of the gradient in the buffer, in [0, 1].
        weight_decay: L2 penalty added to the gradient.
    """

    elementwise = True

    def __init__(self, params, lr=1e-3, momentum=0.9, nesterov=False, dampening=0.0, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        owner = type(self).__name__
        self.momentum = non_negative(owner, "momentum", momentum)
        self.dampening = number(owner, "dampening", dampening, lo=0, hi=1)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(
                f"{owner}: nesterov=True needs momentum > 0 and dampening=0, "
                f"got momentum={self.momentum!r}, dampening={self.dampening!r}"
            )

    def init_state(self, value):
        return {"momentum_buffer": None, "scratch": np.empty_like(value)}

    def update(self, value, grad, state):
        scratch = state["scratch"]
        buf = state["momentum_buffer"]
        if buf is None:
            # torch starts the buffer at the first gradient, not at zero (so no dampening on step 1)
            buf = state["momentum_buffer"] = np.array(grad, dtype=value.dtype)
        else:
            buf *= self.momentum
            if self.dampening:
                np.multiply(grad, 1 - self.dampening, out=scratch)
                buf += scratch
            else:
                buf += grad
        if self.nesterov:
            np.multiply(buf, self.momentum, out=scratch)
            scratch += grad
            scratch *= self.lr
        else:
            np.multiply(buf, self.lr, out=scratch)
        value -= scratch


@register_optimizer("nesterov")
class Nesterov(Momentum):
    """Momentum with nesterov=True: p <- p - lr*(g + momentum*b).  Matches torch.optim.SGD(nesterov=True).

    Args:
        params: list of parameter nodes.
        lr: learning rate.
        momentum: momentum factor, > 0.
        weight_decay: L2 penalty added to the gradient.
    """

    def __init__(self, params, lr=1e-3, momentum=0.9, weight_decay=0.0):
        super().__init__(params, lr, momentum, nesterov=True, weight_decay=weight_decay)

    def hparams(self):
        return {"lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay}
