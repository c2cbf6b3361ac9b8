"""A run's optimizer settings, learning-rate schedule and regularization: checks, HParams, what to build with.

The fields live on ``flowlab.experiment.RunConfig``; this module says what each means for the
optimizer and the model, so the runner stays a list of fields.

- ``momentum``, ``beta1``, ``beta2``, ``eps``, ``nesterov``: passed to the optimizer when not None
  (None: the optimizer's own default). Each applies only to the optimizers that take it (torch's
  argument names: Adam's ``betas`` is ``(beta1, beta2)``); asking another optimizer for it is an error.
- ``weight_decay``: torch's, for every optimizer: ``weight_decay * p`` added to the gradient
  (L2 through the gradient, on every parameter, biases included; Adam's, not AdamW's).
- ``schedule``: a ``flowlab.schedules`` spec such as ``"cosine"`` or ``"step:10:0.5"``.
- ``l1``, ``l2``: Keras' kernel regularizers: ``l1 * sum|W|`` and ``l2 * sum(W**2)`` over the
  kernels (not biases) added to the loss that is minimized. The logged ``loss`` stays the data
  loss, comparable with ``val_loss``; the penalty is logged as ``regularization_loss``.
- ``dropout``: the rate of a Dropout after every hidden activation (0 = none).
- ``batchnorm``: batch normalization between every hidden Linear and its activation.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import replace

import numpy as np

__all__ = ["OPTIMIZER_SETTINGS", "MODEL_SETTINGS", "SHORT", "check_settings", "optimizer_kwargs",
           "model_kwargs", "settings_hparams", "parse_switch"]

OPTIMIZER_SETTINGS = ("momentum", "beta1", "beta2", "eps", "weight_decay", "nesterov")
MODEL_SETTINGS = ("l1", "l2", "dropout", "batchnorm")

#: Short names in run directories (``wd=0.0001``); the others read as their field name.
SHORT = {"weight_decay": "wd", "batchnorm": "bn"}


def parse_switch(name, value):
    """True/False from a bool or on/off, true/false, yes/no, 1/0; ValueError naming ``name`` otherwise."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("on", "true", "yes", "1"):
        return True
    if text in ("off", "false", "no", "0"):
        return False
    raise ValueError(f"{name} must be on or off (true/false), got {name}={value!r}")


def _real(name, value, ok, rule):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating, str)):
        raise ValueError(f"{name} must be a number {rule}, got {name}={value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number {rule}, got {name}={value!r}") from None
    if not math.isfinite(number) or not ok(number):
        raise ValueError(f"{name} must be a number {rule}, got {name}={value!r}")
    return number


def _optimizer_arguments(optimizer):
    from .optim import OPTIMIZERS

    return inspect.signature(OPTIMIZERS[optimizer]).parameters


def _users(setting):
    """The optimizers that take ``setting``, for the error message."""
    from .optim import OPTIMIZERS

    argument = "betas" if setting in ("beta1", "beta2") else setting
    return [name for name in OPTIMIZERS if argument in _optimizer_arguments(name)]


def check_settings(config):
    """``config`` (a RunConfig whose optimizer is already a known lowercase name) with these fields checked.

    Raises ValueError naming the field, the value and what would work; the optimizer's own checks
    run on a stand-in parameter, so every range it enforces is enforced here, before anything runs.
    """
    from .schedules import parse_schedule

    c = config
    changes = {}
    for name in ("momentum", "eps"):
        if getattr(c, name) is not None:
            changes[name] = _real(name, getattr(c, name), lambda v: v >= 0, ">= 0")
    for name in ("beta1", "beta2"):
        if getattr(c, name) is not None:
            changes[name] = _real(name, getattr(c, name), lambda v: 0 <= v < 1, "in [0, 1)")
    changes["weight_decay"] = _real("weight_decay", c.weight_decay, lambda v: v >= 0, ">= 0")
    if c.nesterov is not None:
        changes["nesterov"] = parse_switch("nesterov", c.nesterov)
    changes["l1"] = _real("l1", c.l1, lambda v: v >= 0, ">= 0 (0: no L1 penalty)")
    changes["l2"] = _real("l2", c.l2, lambda v: v >= 0, ">= 0 (0: no L2 penalty)")
    changes["dropout"] = _real("dropout", c.dropout, lambda v: 0 <= v < 1, "in [0, 1) (0: no dropout)")
    changes["batchnorm"] = parse_switch("batchnorm", c.batchnorm)
    changes["schedule"] = str(parse_schedule(c.schedule))
    c = replace(c, **changes)
    if c.batchnorm and c.batch_size == 1:
        raise ValueError("batchnorm needs batches of 2 or more examples (one example has no batch statistics), "
                         "got batch_size=1; use batch_size >= 2 or batchnorm off")

    accepted = _optimizer_arguments(c.optimizer)
    for name in ("momentum", "beta1", "beta2", "eps", "nesterov"):
        argument = "betas" if name in ("beta1", "beta2") else name
        if getattr(c, name) is not None and argument not in accepted:
            raise ValueError(f"{name}={getattr(c, name)!r} does not apply to optimizer {c.optimizer!r}; "
                             f"{name} is a setting of {', '.join(_users(name))}: choose one of those optimizers")
    _try_optimizer(c)
    return c


def _try_optimizer(c):
    from .graph import Input
    from .optim import get_optimizer

    stand_in = Input(name="setting_check")
    stand_in.value = np.zeros(1)
    try:
        get_optimizer(c.optimizer, [stand_in], lr=c.learning_rate, **optimizer_kwargs(c))
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None


def optimizer_kwargs(config):
    """The keyword arguments for the optimizer of ``config`` (a RunConfig or its dict): only what was set."""
    get = config.get if isinstance(config, dict) else lambda k, d=None: getattr(config, k, d)
    optimizer = str(get("optimizer")).lower()
    kwargs = {name: get(name) for name in ("momentum", "eps", "nesterov") if get(name) is not None}
    if get("weight_decay"):
        kwargs["weight_decay"] = float(get("weight_decay"))
    if get("beta1") is not None or get("beta2") is not None:
        default = _optimizer_arguments(optimizer)["betas"].default
        kwargs["betas"] = (default[0] if get("beta1") is None else get("beta1"),
                           default[1] if get("beta2") is None else get("beta2"))
    return kwargs


def model_kwargs(config):
    """The MLP keyword arguments for the regularization of ``config`` (a RunConfig or its dict)."""
    get = config.get if isinstance(config, dict) else lambda k, d=None: getattr(config, k, d)
    return {name: get(name) for name in MODEL_SETTINGS if get(name) is not None}


def settings_hparams(config):
    """HParams values: the settings the run's optimizer uses, as it uses them (defaults filled in), and the rest."""
    accepted = _optimizer_arguments(config.optimizer)
    hp = {}
    for name in ("momentum", "eps", "nesterov"):
        if name in accepted:
            value = getattr(config, name)
            hp[name] = accepted[name].default if value is None else value
    if "betas" in accepted:
        b1, b2 = accepted["betas"].default
        hp["beta1"] = b1 if config.beta1 is None else config.beta1
        hp["beta2"] = b2 if config.beta2 is None else config.beta2
    hp["weight_decay"] = config.weight_decay
    hp["schedule"] = config.schedule
    hp.update({name: getattr(config, name) for name in MODEL_SETTINGS})
    return hp
