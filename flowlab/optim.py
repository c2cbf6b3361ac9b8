# Size: over 400 lines: nine optimizers, each with its update rule written out in its docstring (about half the file),
# on one base class and registry.
"""Optimizers that update parameter nodes in place with torch.optim's rules, plus a name registry."""

import inspect
from collections.abc import Iterable, Mapping

import numpy as np

from .graph import describe
from .params import Parameters
from ._checks import choice, non_negative, number, positive

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "Adam",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "NAdam",
    "OPTIMIZERS",
    "DEFAULT_LR",
    "register_optimizer",
    "get_optimizer",
]

OPTIMIZERS = {}
"""Registered optimizer classes by lowercase name (what configs and the CLI accept)."""

DEFAULT_LR = {}
"""Each registered name's default learning rate (the class's ``lr`` default)."""


def register_optimizer(name):
    """Class decorator that makes an optimizer available by ``name`` in configs and the CLI.

    Also records the class's default ``lr`` in ``DEFAULT_LR``.

    Args:
        name: lowercase registry key, e.g. ``"adam"``.

    Returns:
        The decorator; it returns the class unchanged.
    """
    key = name.lower()

    def decorator(cls):
        if key in OPTIMIZERS and OPTIMIZERS[key] is not cls:
            raise ValueError(
                f"register_optimizer: name {key!r} is already used by {OPTIMIZERS[key].__name__}; "
                f"pick another name for {cls.__name__}"
            )
        OPTIMIZERS[key] = cls
        default = inspect.signature(cls).parameters["lr"].default
        DEFAULT_LR[key] = None if default is inspect.Parameter.empty else default
        return cls

    return decorator


def get_optimizer(name, params, lr=None, **kwargs):
    """Build a registered optimizer by name.

    Args:
        name: a key of ``OPTIMIZERS`` (case-insensitive), e.g. ``"adam"``.
        params: list of parameter nodes.
        lr: learning rate; None uses the class default (``DEFAULT_LR[name]``).
        **kwargs: other hyperparameters of that class, e.g. ``betas=(0.9, 0.99)``.

    Returns:
        The optimizer instance.

    Raises:
        ValueError: unknown name (the message lists the valid ones and a close match).
    """
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in OPTIMIZERS:
        raise ValueError(choice("optimizer", name, OPTIMIZERS))
    cls = OPTIMIZERS[key]
    if lr is None:
        return cls(params, **kwargs)
    return cls(params, lr=lr, **kwargs)


# --- argument checks: say who, what, the value, and what would work -------------------------------


def _fraction(owner, name, value):
    return number(owner, name, value, lo=0, hi=1, hi_open=True)


def _betas(owner, betas):
    pair = tuple(betas) if isinstance(betas, (tuple, list)) else None
    if pair is None or len(pair) != 2:
        raise TypeError(f"{owner}: betas must be a pair of numbers in [0, 1), got betas={betas!r}")
    for i, beta in enumerate(pair):
        beta = number(owner, f"betas[{i}]", beta)
        if not 0 <= beta < 1:
            raise ValueError(f"{owner}: betas[{i}] must be in [0, 1), got betas={pair!r}")
    return float(pair[0]), float(pair[1])


def _param_list(owner, params):
    hint = "pass a list of parameter nodes, e.g. model.params or [W1, b1, W2, b2]"
    if isinstance(params, Mapping):
        raise TypeError(
            f"{owner}: params must be a list of nodes, got a {type(params).__name__}; "
            f"pass list(params.values())"
        )
    if isinstance(params, (set, frozenset)):
        # As torch: a set's order changes from run to run, and with it the order of state and messages.
        raise TypeError(
            f"{owner}: params must be an ordered list of nodes, got a {type(params).__name__} "
            f"(unordered); {hint}"
        )
    if hasattr(params, "gradients") or not isinstance(params, Iterable) or isinstance(params, (str, bytes)):
        what = describe(params) if hasattr(params, "gradients") else repr(params)
        raise TypeError(f"{owner}: params must be a list of nodes, got {what}; {hint}")
    params = list(params)
    if not params:
        raise ValueError(f"{owner}: params is empty; {hint}")
    seen = {}
    for i, p in enumerate(params):
        if not (hasattr(p, "value") and hasattr(p, "gradients")):
            raise TypeError(
                f"{owner}: params[{i}] is a {type(p).__name__}, not a node; "
                f"pass Input nodes (objects with .value and .gradients)"
            )
        if getattr(p, "inbound_nodes", None):
            raise TypeError(
                f"{owner}: params[{i}] is {describe(p)}, a computed node (forward() overwrites its "
                f"value); pass the Input nodes it reads, e.g. its weights and bias"
            )
        if getattr(p, "requires_grad", True) is False:
            raise ValueError(
                f"{owner}: params[{i}] is {describe(p)}, created with requires_grad=False (data, "
                f"not a parameter); leave it out, or create it with requires_grad=True"
            )
        if id(p) in seen:
            raise ValueError(
                f"{owner}: params[{i}] is the same node as params[{seen[id(p)]}] ({describe(p)}); "
                f"list each parameter once"
            )
        seen[id(p)] = i
    return params


def _lerp_(start, end, weight, scratch):
    """start <- lerp(start, end, weight) in place, with torch's two-branch formula."""
    np.subtract(end, start, out=scratch)
    if abs(weight) < 0.5:
        scratch *= weight
        start += scratch
    else:
        scratch *= 1 - weight
        np.subtract(end, scratch, out=start)


# --- the base class ---------------------------------------------------------------------------------


class Optimizer:
    """Base class: owns the parameters, their per-parameter state and the step count.

    Subclasses give ``init_state(value)`` (the state dict for one parameter, built lazily on its
    first step) and ``update(value, grad, state)`` (change ``value`` in place). The base reads
    ``p.gradients[p]``, adds L2 weight decay (torch's convention: ``g + weight_decay * p``) and
    keeps ``t``, the number of steps taken.

    Args:
        params: list (or other ordered iterable) of parameter nodes; sets are rejected. A model's
            ``params`` also tells the optimizer their flat layout (see ``elementwise``).
        lr: learning rate, > 0. A plain attribute: schedules may change ``opt.lr`` between steps.
        weight_decay: L2 penalty added to the gradient, >= 0.

    Attributes:
        params: the parameter nodes, in the order given.
        state: ``{node: dict}``, one dict per parameter, keyed by node identity.
        t: number of steps taken (a failed step does not count).
    """

    #: Whether ``update`` treats every element on its own (True for the built-in rules). Then, when
    #: ``params`` states a flat layout (a ``Model``'s ``params``: ``flowlab.params.Parameters``, whose
    #: ``flat`` says which flat arrays hold the values and the gradients) and the parameters still
    #: hold those views, one ``update`` on the flat arrays updates them all with the same numbers. The
    #: statement covers the ``update`` and ``init_state`` written beside it: a subclass that writes
    #: its own ``update`` or ``init_state`` states ``elementwise = True`` again to keep it, otherwise
    #: its instances read False (``__init__`` sets each instance's value by this rule).
    elementwise = False

    def __init__(self, params, lr, weight_decay=0.0):
        owner = type(self).__name__
        # Told, not guessed: the flat arrays the parameters' owner allocated them in, if it says so.
        self._layout = params.flat if isinstance(params, Parameters) else None
        self.params = _param_list(owner, params)
        self.lr = positive(owner, "lr", lr)
        self.weight_decay = non_negative(owner, "weight_decay", weight_decay)
        self.elementwise = _states_elementwise(type(self))
        self._state = {p: {} for p in self.params}
        self._flat = None  # a _FlatState while updating all parameters at once
        self.t = 0

    @property
    def state(self):
        """``{node: dict}``: each parameter's state (views of the flat state while updating at once)."""
        if self._flat is not None:
            self._flat.share_state(self._state)
        return self._state

    def init_state(self, value):
        """Return the state dict for one parameter whose current value is ``value``."""
        return {"scratch": np.empty_like(value)}

    def update(self, value, grad, state):
        """Change ``value`` in place given its gradient and its state dict."""
        raise NotImplementedError(f"{type(self).__name__} must implement update(value, grad, state)")

    def step(self):
        """Update every parameter once from ``p.gradients[p]`` (call after the backward pass)."""
        flat = self._flat
        if flat is None and self.elementwise and self.t == 0 and self._layout is not None \
                and self._layout.holds(self.params):
            flat = self._flat = _FlatState(self._layout, self.init_state(self._layout.value))
            if self.weight_decay:
                flat.state["decayed_grad"] = np.empty_like(flat.value)
        if flat is not None:
            if flat.layout.holds(self.params):
                self.t += 1
                self._update(flat.value, flat.grad, flat.state)
                return
            # A parameter or gradient array was replaced: one parameter at a time from now on.
            flat.share_state(self._state)
            self._flat = None
        # Check every gradient before changing anything, so a failed step leaves no half-update.
        work = [self._gradient(p, state) for p, state in self._state.items()]
        self.t += 1
        for value, grad, state in work:
            self._update(value, grad, state)

    def _update(self, value, grad, state):
        if self.weight_decay:
            decayed = state["decayed_grad"]
            np.multiply(value, self.weight_decay, out=decayed)
            decayed += grad
            grad = decayed
        self.update(value, grad, state)

    def _gradient(self, p, state):
        try:
            grad = p.gradients[p]
        except (KeyError, TypeError):
            raise RuntimeError(
                f"{type(self).__name__}.step: {describe(p)} has no gradient; run "
                f"forward_and_backward(graph) before step(), with this node in the graph"
            ) from None
        value = p.value if state else self._first_step(p, grad, state)
        if grad.shape != value.shape:
            raise ValueError(
                f"{type(self).__name__}.step: gradient of {describe(p)} has shape {grad.shape} "
                f"but its value has shape {value.shape}"
            )
        return value, grad, state

    def _first_step(self, p, grad, state):
        value = p.value
        if not (isinstance(value, np.ndarray) and value.dtype.kind == "f"):
            # Ints and Python scalars cannot be updated in place: convert once, in place from now on.
            value = p.value = np.array(value, dtype=np.float64)
        if not hasattr(grad, "shape"):
            raise TypeError(
                f"{type(self).__name__}.step: gradient of {describe(p)} is a {type(grad).__name__}, "
                f"expected a numpy array shaped like its value {value.shape}"
            )
        state.update(self.init_state(value))
        if self.weight_decay:
            state["decayed_grad"] = np.empty_like(value)
        return value

    def zero_grad(self):
        """Do nothing: flowlab's backward pass rebuilds gradients; kept so torch-style loops run."""

    def hparams(self):
        """Return the hyperparameters as a dict (``lr`` first), e.g. for logging."""
        names = inspect.signature(type(self)).parameters
        return {name: getattr(self, name) for name in names if name != "params"}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.hparams().items())
        return f"{type(self).__name__}({args})"


def _states_elementwise(cls):
    """The class's ``elementwise``, if it was stated beside (or below) the update and init_state it uses."""
    stated_by = next(klass for klass in cls.__mro__ if "elementwise" in klass.__dict__)
    return bool(cls.elementwise) and all(
        issubclass(stated_by, next(klass for klass in cls.__mro__ if name in klass.__dict__))
        for name in ("update", "init_state"))


class _FlatState:
    """An optimizer's state over a flat layout it was told: one ``update`` of the flat arrays updates every parameter."""

    def __init__(self, layout, state):
        self.layout, self.value, self.grad, self.state = layout, layout.value, layout.grad, state

    def share_state(self, states):
        """Fills each parameter's state dict with views of the flat state (scalars copied)."""
        offset, size = 0, self.value.size
        for (p, state), value in zip(states.items(), self.layout.values):
            end = offset + value.size
            state.clear()
            for key, v in self.state.items():
                is_flat = isinstance(v, np.ndarray) and v.shape == (size,)
                state[key] = v[offset:end].reshape(value.shape) if is_flat else v
            offset = end


# --- the optimizers, in order of increasing complexity ------------------------------------------------


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
