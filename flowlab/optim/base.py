"""Optimizer: the base class every rule shares (parameters, state, weight decay, the step), with its argument checks."""

import inspect
from collections.abc import Iterable, Mapping

import numpy as np

from .._checks import non_negative, number, positive
from ..graph import describe
from ..params import Parameters
from .flat import _FlatState

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
            if flat.still_holds(self.params):
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
