"""Adam and its variants: Adam, Adamax, NAdam (torch.optim's rules)."""

import numpy as np

from .._checks import non_negative
from .base import Optimizer, _betas, _lerp_
from .registry import register_optimizer


@register_optimizer("adam")
class Adam(Optimizer):
    """m <- b1*m + (1-b1)*g;  v <- b2*v + (1-b2)*g*g;  p <- p - lr/(1-b1^t) * m/(sqrt(v)/sqrt(1-b2^t) + eps).

    Matches torch.optim.Adam (eps added after the bias-corrected sqrt); amsgrad uses max(v) so far.

    Args:
        params: list of parameter nodes.
        lr: learning rate.
        betas: decay rates (b1, b2) of the first and second moment averages, each in [0, 1).
        eps: added to the denominator.
        weight_decay: L2 penalty added to the gradient (torch's Adam, not AdamW).
        amsgrad: use the running maximum of the second moment.
    """

    elementwise = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
        super().__init__(params, lr, weight_decay)
        owner = type(self).__name__
        self.betas = _betas(owner, betas)
        self.eps = non_negative(owner, "eps", eps)
        self.amsgrad = bool(amsgrad)

    def init_state(self, value):
        state = {"exp_avg": np.zeros_like(value), "exp_avg_sq": np.zeros_like(value), "scratch": np.empty_like(value)}
        if self.amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(value)
        return state

    def update(self, value, grad, state):
        exp_avg, exp_avg_sq, scratch = state["exp_avg"], state["exp_avg_sq"], state["scratch"]
        beta1, beta2 = self.betas
        _lerp_(exp_avg, grad, 1 - beta1, scratch)
        np.multiply(grad, 1 - beta2, out=scratch)
        scratch *= grad
        exp_avg_sq *= beta2
        exp_avg_sq += scratch
        step_size = self.lr / (1 - beta1**self.t)
        bias_correction2_sqrt = (1 - beta2**self.t) ** 0.5
        if self.amsgrad:
            second = state["max_exp_avg_sq"]
            np.maximum(second, exp_avg_sq, out=second)
        else:
            second = exp_avg_sq
        np.sqrt(second, out=scratch)
        scratch /= bias_correction2_sqrt
        scratch += self.eps
        np.divide(exp_avg, scratch, out=scratch)
        scratch *= step_size
        value -= scratch


@register_optimizer("adamax")
class Adamax(Optimizer):
    """m <- b1*m + (1-b1)*g;  u <- max(b2*u, |g|+eps);  p <- p - lr/(1-b1^t) * m/u.  Matches torch.optim.Adamax.

    Only the first moment is bias-corrected.

    Args:
        params: list of parameter nodes.
        lr: learning rate.
        betas: decay rates (b1, b2) of the mean and the infinity norm, each in [0, 1).
        eps: added to |g| before the max.
        weight_decay: L2 penalty added to the gradient.
    """

    elementwise = True

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        owner = type(self).__name__
        self.betas = _betas(owner, betas)
        self.eps = non_negative(owner, "eps", eps)

    def init_state(self, value):
        return {"exp_avg": np.zeros_like(value), "exp_inf": np.zeros_like(value), "scratch": np.empty_like(value)}

    def update(self, value, grad, state):
        exp_avg, exp_inf, scratch = state["exp_avg"], state["exp_inf"], state["scratch"]
        beta1, beta2 = self.betas
        _lerp_(exp_avg, grad, 1 - beta1, scratch)
        exp_inf *= beta2
        np.abs(grad, out=scratch)
        scratch += self.eps
        np.maximum(exp_inf, scratch, out=exp_inf)
        clr = self.lr / (1 - beta1**self.t)
        np.divide(exp_avg, exp_inf, out=scratch)
        scratch *= clr
        value -= scratch


@register_optimizer("nadam")
class NAdam(Optimizer):
    """Adam with Nesterov momentum: p <- p - lr*((1-mu_t)/(1-prod mu_1..t) * g + mu_{t+1}/(1-prod mu_1..t+1) * m)/d.

    mu_t = b1*(1 - 0.5*0.96^(t*momentum_decay)), d = sqrt(v/(1-b2^t)) + eps. Matches torch.optim.NAdam.

    Args:
        params: list of parameter nodes.
        lr: learning rate.
        betas: decay rates (b1, b2) of the first and second moment averages, each in [0, 1).
        eps: added to the denominator.
        weight_decay: L2 penalty added to the gradient.
        momentum_decay: psi in the momentum schedule mu_t, >= 0.
    """

    elementwise = True

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3):
        super().__init__(params, lr, weight_decay)
        owner = type(self).__name__
        self.betas = _betas(owner, betas)
        self.eps = non_negative(owner, "eps", eps)
        self.momentum_decay = non_negative(owner, "momentum_decay", momentum_decay)

    def init_state(self, value):
        return {
            "mu_product": 1.0,
            "exp_avg": np.zeros_like(value),
            "exp_avg_sq": np.zeros_like(value),
            "denom": np.empty_like(value),
            "scratch": np.empty_like(value),
        }

    def update(self, value, grad, state):
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        denom, scratch = state["denom"], state["scratch"]
        beta1, beta2 = self.betas
        t, psi, lr = self.t, self.momentum_decay, self.lr
        bias_correction2 = 1 - beta2**t
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * psi)))
        mu_product = state["mu_product"] = state["mu_product"] * mu
        mu_product_next = mu_product * mu_next

        _lerp_(exp_avg, grad, 1 - beta1, scratch)
        np.multiply(grad, 1 - beta2, out=scratch)
        scratch *= grad
        exp_avg_sq *= beta2
        exp_avg_sq += scratch
        np.divide(exp_avg_sq, bias_correction2, out=denom)  # NAdam divides before the sqrt, unlike Adam
        np.sqrt(denom, out=denom)
        denom += self.eps

        np.divide(grad, denom, out=scratch)
        scratch *= lr * (1.0 - mu) / (1.0 - mu_product)
        value -= scratch
        np.divide(exp_avg, denom, out=scratch)
        scratch *= (lr * mu_next) / (1.0 - mu_product_next)
        value -= scratch
