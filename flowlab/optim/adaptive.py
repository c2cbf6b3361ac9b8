"""Per-element learning rates from the gradients' history: Adagrad, RMSprop, Adadelta (torch.optim's rules)."""

import numpy as np

from .._checks import non_negative, number
from .base import Optimizer, _fraction, _lerp_
from .registry import register_optimizer


@register_optimizer("adagrad")
class Adagrad(Optimizer):
    """sum <- sum + g*g;  p <- p - lr/(1+(t-1)*lr_decay) * g/(sqrt(sum)+eps).  Matches torch.optim.Adagrad.

    Args:
        params: list of parameter nodes.
        lr: learning rate.
        lr_decay: the learning rate at step t is lr / (1 + (t-1)*lr_decay).
        weight_decay: L2 penalty added to the gradient.
        initial_accumulator_value: starting value of ``sum``, >= 0.
        eps: added to the denominator (outside the sqrt).
    """

    elementwise = True

    def __init__(self, params, lr=0.01, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, lr, weight_decay)
        owner = type(self).__name__
        self.lr_decay = non_negative(owner, "lr_decay", lr_decay)
        self.initial_accumulator_value = non_negative(owner, "initial_accumulator_value", initial_accumulator_value)
        self.eps = non_negative(owner, "eps", eps)

    def init_state(self, value):
        return {"sum": np.full_like(value, self.initial_accumulator_value), "scratch": np.empty_like(value)}

    def update(self, value, grad, state):
        total, scratch = state["sum"], state["scratch"]
        clr = self.lr / (1 + (self.t - 1) * self.lr_decay)
        np.multiply(grad, grad, out=scratch)
        total += scratch
        np.sqrt(total, out=scratch)
        scratch += self.eps  # eps outside the sqrt, as torch does
        np.divide(grad, scratch, out=scratch)
        scratch *= clr
        value -= scratch


@register_optimizer("rmsprop")
class RMSprop(Optimizer):
    """sq <- alpha*sq + (1-alpha)*g*g;  p <- p - lr*g/(sqrt(sq)+eps).  Matches torch.optim.RMSprop.

    centered subtracts the squared running mean of g inside the sqrt; momentum > 0 keeps a buffer
    b <- momentum*b + g/(sqrt(sq)+eps) and steps p <- p - lr*b.

    Args:
        params: list of parameter nodes.
        lr: learning rate.
        alpha: smoothing constant of the squared-gradient average, in [0, 1).
        eps: added to the denominator (outside the sqrt).
        weight_decay: L2 penalty added to the gradient.
        momentum: momentum factor, >= 0.
        centered: normalize by an estimate of the gradient's variance.
    """

    elementwise = True

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        super().__init__(params, lr, weight_decay)
        owner = type(self).__name__
        self.alpha = _fraction(owner, "alpha", alpha)
        self.eps = non_negative(owner, "eps", eps)
        self.momentum = non_negative(owner, "momentum", momentum)
        self.centered = bool(centered)

    def init_state(self, value):
        state = {"square_avg": np.zeros_like(value), "avg": np.empty_like(value), "scratch": np.empty_like(value)}
        if self.momentum > 0:
            state["momentum_buffer"] = np.zeros_like(value)
        if self.centered:
            state["grad_avg"] = np.zeros_like(value)
        return state

    def update(self, value, grad, state):
        square_avg, avg, scratch = state["square_avg"], state["avg"], state["scratch"]
        alpha = self.alpha
        np.multiply(grad, 1 - alpha, out=scratch)
        scratch *= grad
        square_avg *= alpha
        square_avg += scratch
        if self.centered:
            grad_avg = state["grad_avg"]
            _lerp_(grad_avg, grad, 1 - alpha, scratch)
            np.multiply(grad_avg, grad_avg, out=avg)
            np.subtract(square_avg, avg, out=avg)
            # Rounding can leave a tiny negative variance (torch then yields NaN); identical otherwise.
            np.maximum(avg, 0.0, out=avg)
            np.sqrt(avg, out=avg)
        else:
            np.sqrt(square_avg, out=avg)
        avg += self.eps
        np.divide(grad, avg, out=scratch)
        if self.momentum > 0:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += scratch
            np.multiply(buf, self.lr, out=scratch)
        else:
            scratch *= self.lr
        value -= scratch


@register_optimizer("adadelta")
class Adadelta(Optimizer):
    """sq <- rho*sq + (1-rho)*g*g;  d = sqrt(acc+eps)/sqrt(sq+eps)*g;  acc <- rho*acc + (1-rho)*d*d;  p <- p - lr*d.

    Matches torch.optim.Adadelta (eps inside both square roots).

    Args:
        params: list of parameter nodes.
        lr: scale applied to the delta (1.0 is the paper's method).
        rho: smoothing constant of both running averages, in [0, 1].
        eps: added inside the square roots.
        weight_decay: L2 penalty added to the gradient.
    """

    elementwise = True

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        owner = type(self).__name__
        self.rho = number(owner, "rho", rho, lo=0, hi=1)
        self.eps = non_negative(owner, "eps", eps)

    def init_state(self, value):
        return {
            "square_avg": np.zeros_like(value),
            "acc_delta": np.zeros_like(value),
            "delta": np.empty_like(value),
            "scratch": np.empty_like(value),
        }

    def update(self, value, grad, state):
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        delta, scratch = state["delta"], state["scratch"]
        rho, eps = self.rho, self.eps
        np.multiply(grad, 1 - rho, out=scratch)
        scratch *= grad
        square_avg *= rho
        square_avg += scratch
        np.add(square_avg, eps, out=scratch)
        np.sqrt(scratch, out=scratch)  # std
        np.add(acc_delta, eps, out=delta)
        np.sqrt(delta, out=delta)
        delta /= scratch
        delta *= grad
        np.multiply(delta, 1 - rho, out=scratch)
        scratch *= delta
        acc_delta *= rho
        acc_delta += scratch
        np.multiply(delta, self.lr, out=scratch)
        value -= scratch
