"""Learning-rate schedules stepped once per epoch (torch.optim.lr_scheduler's formulas, Keras' ReduceLROnPlateau).

A schedule is written as a short string, the form configs, sweeps and the CLI take::

    constant                       the optimizer's learning rate throughout
    step:10:0.5                    StepLR(step_size=10, gamma=0.5): halve every 10 epochs
    exponential:0.95               ExponentialLR(gamma=0.95)
    cosine  /  cosine:50:1e-4      CosineAnnealingLR(T_max=epochs or 50, eta_min=0 or 1e-4)
    warmup:5  /  warmup:5:0.1      LinearLR(start_factor=1/3 or 0.1, end_factor=1, total_iters=5)
    linear:1:0.1:20                LinearLR(start_factor=1, end_factor=0.1, total_iters=20)
    plateau  /  plateau:3:0.5      Keras' ReduceLROnPlateau(patience=10 or 3, factor=0.1 or 0.5)

Parameters go in order after the name, or by name (``plateau:patience=3:min_lr=1e-5``); a dict
``{"name": "step", "step_size": 10}`` works too. Epochs count from 0, so epoch 0 trains at
``lr * factor(0)``, as a torch loop that calls ``scheduler.step()`` after each epoch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .nodes import unknown_choice
from .callbacks import Callback

__all__ = ["Schedule", "SCHEDULES", "parse_schedule", "LearningRateScheduler"]

SCHEDULES: dict[str, type] = {}
"""Schedule classes by the name a spec starts with."""


def _register(cls):
    SCHEDULES[cls.name] = cls
    return cls


def _whole(minimum):
    def check(value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            return None, f"a whole number >= {minimum}"
        return value, None
    return check


def _real(lo, hi, lo_open=False, hi_open=False):
    rule = f"in {'(' if lo_open else '['}{lo:g}, {hi if hi != math.inf else 'inf'}{')' if hi_open else ']'}"

    def check(value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return None, f"a number {rule}"
        ok = (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi)
        return (float(value), None) if ok else (None, f"{rule}")
    return check


def _choice(*names):
    def check(value):
        return (value, None) if value in names else (None, "one of " + ", ".join(names))
    return check


#: What the Trainer's epoch logs can hold (``metric`` is accuracy for classification, mae for regression).
EPOCH_LOGS = ("val_loss", "loss", "val_accuracy", "accuracy", "val_mae", "mae", "learning_rate",
              "regularization_loss", "seconds")


class Schedule:
    """Base class: ``lr(epoch, base_lr)`` gives the learning rate of an epoch (0-based).

    ``params`` lists ``(name, default, check)`` in spec order; a default of ``None`` with
    ``required`` in ``self.required`` must be given. ``str(schedule)`` is the canonical spec.
    """

    name = ""
    params = ()
    required = ()
    example = ""

    def __init__(self, **values):
        for key, default, _ in self.params:
            setattr(self, key, values.get(key, default))

    def __str__(self):
        # In order, writing at most one default to reach a later value; by name after a longer gap.
        parts, skipped, named = [self.name], [], False
        for key, default, _ in self.params:
            value = getattr(self, key)
            if value == default and key not in self.required:
                skipped.append(default)
                continue
            if not named and len(skipped) <= 1 and None not in skipped:
                parts.extend(_text(v) for v in skipped)
                parts.append(_text(value))
            else:
                named = True
                parts.append(f"{key}={_text(value)}")
            skipped = []
        return ":".join(parts)

    def __repr__(self):
        return f"parse_schedule({str(self)!r})"

    def lr(self, epoch, base_lr):
        raise NotImplementedError

    def start(self, epochs):
        """Called before training with the number of epochs (a cosine's default period)."""

    def after_epoch(self, epoch, lr, logs):
        """The learning rate for the next epoch given this epoch's logs (only plateau looks)."""
        return lr


def _text(value):
    return format(value, "g") if isinstance(value, float) else str(value)


@_register
class Constant(Schedule):
    """The optimizer's learning rate in every epoch."""

    name = "constant"

    def lr(self, epoch, base_lr):
        return base_lr


@_register
class StepDecay(Schedule):
    """torch StepLR: lr = base_lr * gamma ** (epoch // step_size)."""

    name, example = "step", "step:10:0.5"
    params = (("step_size", None, _whole(1)), ("gamma", 0.1, _real(0, 1, lo_open=True)))
    required = ("step_size",)

    def lr(self, epoch, base_lr):
        return base_lr * self.gamma ** (epoch // self.step_size)


@_register
class Exponential(Schedule):
    """torch ExponentialLR: lr = base_lr * gamma ** epoch."""

    name, example = "exponential", "exponential:0.95"
    params = (("gamma", None, _real(0, 1, lo_open=True)),)
    required = ("gamma",)

    def lr(self, epoch, base_lr):
        return base_lr * self.gamma ** epoch


@_register
class Cosine(Schedule):
    """torch CosineAnnealingLR: lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2.

    T_max defaults to the run's epochs, so the last epoch trains just above eta_min.
    """

    name, example = "cosine", "cosine:50:0.0001"
    params = (("t_max", None, _whole(1)), ("eta_min", 0.0, _real(0, math.inf)))

    def start(self, epochs):
        self._period = self.t_max or epochs

    def lr(self, epoch, base_lr):
        period = self.t_max or getattr(self, "_period", None)
        if period is None:
            raise RuntimeError("cosine: the period is unknown; give T_max ('cosine:50') or train for some epochs")
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / period)) / 2


@_register
class Linear(Schedule):
    """torch LinearLR: lr = base_lr * (start + (end - start) * min(epoch, total_iters) / total_iters)."""

    name, example = "linear", "linear:1:0.1:20"
    params = (("start_factor", 1 / 3, _real(0, 1, lo_open=True)), ("end_factor", 1.0, _real(0, 1)),
              ("total_iters", 5, _whole(1)))

    def lr(self, epoch, base_lr):
        progress = min(epoch, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


@_register
class Warmup(Linear):
    """Linear warmup, torch LinearLR(start_factor, end_factor=1, total_iters): up to base_lr, then flat."""

    name, example = "warmup", "warmup:5:0.1"
    params = (("total_iters", 5, _whole(1)), ("start_factor", 1 / 3, _real(0, 1, lo_open=True)))

    def __init__(self, **values):
        super().__init__(**values)
        self.end_factor = 1.0


@_register
class Plateau(Schedule):
    """Keras' ReduceLROnPlateau: lr *= factor after ``patience`` epochs without improving ``monitor``.

    An epoch improves when monitor < best - min_delta (mode min; > best + min_delta in mode max).
    After a cut, ``cooldown`` epochs pass before counting again; lr never goes below ``min_lr``.
    This is torch's ReduceLROnPlateau with threshold_mode="abs" and patience one less (torch cuts
    when the bad epochs exceed patience, Keras when they reach it).
    """

    name, example = "plateau", "plateau:5:0.5"
    params = (("patience", 10, _whole(1)), ("factor", 0.1, _real(0, 1, lo_open=True, hi_open=True)),
              ("min_lr", 0.0, _real(0, math.inf)), ("min_delta", 1e-4, _real(0, math.inf)),
              ("cooldown", 0, _whole(0)), ("monitor", "val_loss", _choice(*EPOCH_LOGS)),
              ("mode", "auto", _choice("auto", "min", "max")))

    def start(self, epochs):
        self._lr = None
        self.wait, self.cooldown_counter = 0, 0
        self._max = self.mode == "max" or (self.mode == "auto" and "acc" in self.monitor)
        self.best = -math.inf if self._max else math.inf

    def lr(self, epoch, base_lr):
        if self._lr is None:
            self._lr = base_lr
        return self._lr

    def after_epoch(self, epoch, lr, logs):
        if self.monitor not in logs:
            raise ValueError(f"schedule {str(self)!r}: monitor={self.monitor!r} is not in the epoch logs "
                             f"({', '.join(sorted(logs))})")
        current = logs[self.monitor]
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        better = current > self.best + self.min_delta if self._max else current < self.best - self.min_delta
        if better:
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and lr > self.min_lr:
                lr = max(lr * self.factor, self.min_lr)
                self.cooldown_counter, self.wait = self.cooldown, 0
        self._lr = lr
        return lr


def parse_schedule(spec, what="schedule"):
    """A ``Schedule`` from a spec string (``"step:10:0.5"``), a dict or a Schedule; None is constant.

    Raises:
        ValueError: unknown name (with a did-you-mean), a bad or extra parameter; the message
            names ``what`` (the field or flag), the spec, and an example that works.
    """
    if spec is None:
        return Constant()
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, Mapping):
        values = dict(spec)
        name, positional, named = values.pop("name", None), [], values
    elif isinstance(spec, str):
        name, *parts = [p.strip() for p in spec.strip().split(":")]
        positional, named = [], {}
        for part in parts:
            if "=" in part:
                k, v = part.split("=", 1)
                named[k] = v
            elif named:
                raise ValueError(f"{what} {spec!r}: give parameters in order first, then name=value ones")
            else:
                positional.append(part)
    else:
        raise ValueError(f"{what} must be a string such as 'step:10:0.5' or a dict, got {what}={spec!r}")
    key = str(name).strip().lower()
    if key not in SCHEDULES:
        raise ValueError(unknown_choice(what, name, SCHEDULES) + "; e.g. 'step:10:0.5', 'cosine', 'plateau:5'")
    cls = SCHEDULES[key]
    names = [p[0] for p in cls.params]
    signature = f"{key}:{':'.join(names)}" if names else key
    if len(positional) > len(names):
        raise ValueError(f"{what} {spec!r}: {key} takes at most {len(names)} parameter(s) ({signature}), "
                         f"got {len(positional)}")
    values = dict(zip(names, positional))
    for k, v in named.items():
        k = k.strip().lower()
        if k not in names:
            raise ValueError(f"{what} {spec!r}: " + unknown_choice(f"{key} parameter", k, names))
        if k in values:
            raise ValueError(f"{what} {spec!r}: {k} is given twice")
        values[k] = v
    checked = {}
    for k, default, check in cls.params:
        if k not in values:
            if k in cls.required:
                raise ValueError(f"{what} {spec!r}: {key} needs {k} ({signature}), e.g. {cls.example!r}")
            continue
        value = _parse_value(values[k])
        if check is not None:
            value, rule = check(value)
            if rule:
                raise ValueError(f"{what} {spec!r}: {k} must be {rule}, got {k}={values[k]}; e.g. {cls.example!r}")
        checked[k] = value
    return cls(**checked)


def _parse_value(text):
    if not isinstance(text, str):
        return text
    try:
        number = float(text)
    except ValueError:
        return text.strip()
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


class _Function(Schedule):
    """Keras' form: ``fn(epoch, lr)`` returns the epoch's rate, given the rate of the epoch before."""

    name = "function"

    def __init__(self, fn):
        self.fn = fn

    def __str__(self):
        return f"function:{getattr(self.fn, '__name__', 'fn')}"

    def start(self, epochs):
        self._lr = None

    def lr(self, epoch, base_lr):
        lr = self.fn(epoch, base_lr if self._lr is None else self._lr)
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr < 0:
            raise ValueError(f"LearningRateScheduler: {getattr(self.fn, '__name__', 'the schedule')}({epoch}, ...) "
                             f"returned {lr!r}; it must return a finite learning rate >= 0")
        self._lr = float(lr)
        return self._lr


class LearningRateScheduler(Callback):
    """Sets the optimizer's ``lr`` at the start of each epoch from a schedule (Keras' callback of that name).

    The base learning rate is the optimizer's ``lr`` when training begins. The trainer logs the
    lr each epoch trained at as ``learning_rate`` (the TensorBoard scalar of that name).

    Args:
        schedule: a ``Schedule``, a spec such as ``"cosine"`` or ``"plateau:5:0.5"``, or, as in
            Keras, a function ``fn(epoch, lr)`` returning the epoch's rate given the previous one's.
    """

    def __init__(self, schedule):
        is_spec = schedule is None or isinstance(schedule, (str, Mapping, Schedule))
        self.schedule = _Function(schedule) if callable(schedule) and not is_spec else parse_schedule(schedule)

    def on_train_begin(self, logs=None):
        monitor = getattr(self.schedule, "monitor", "")
        if monitor.startswith("val_") and getattr(self.trainer, "x_val", "unknown") is None:
            raise ValueError(f"schedule {str(self.schedule)!r} watches {monitor}, but this training has no "
                             "validation data; pass validation_data, or watch the training loss: "
                             f"'{self.schedule.name}:monitor=loss'")
        self.base_lr = float(self.trainer.optimizer.lr)
        self.schedule.start(getattr(self.trainer, "epochs", None))

    def on_epoch_begin(self, epoch, logs=None):
        self.trainer.optimizer.lr = self.schedule.lr(epoch, self.base_lr)

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.trainer.optimizer
        optimizer.lr = self.schedule.after_epoch(epoch, optimizer.lr, logs or {})
