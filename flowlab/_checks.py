"""Argument checks and did-you-mean messages, shared so every error reads the same way.

Messages keep one shape: ``"owner: name must be <rule>, got name=value"``, so the user sees who
complained, about which argument as they typed it, the value, and what would work. This module
imports nothing from flowlab: every layer may use it.
"""

import difflib
import math
import numbers

import numpy as np

__all__ = ["choice", "is_whole", "whole", "number", "positive", "non_negative", "preview"]


def choice(what, value, choices):
    """The message for a name that is not one of ``choices``, with a did-you-mean.

    >>> choice("optimizer", "adma", ["adam", "sgd"])
    "unknown optimizer 'adma'; choose from adam, sgd (did you mean 'adam'?)"
    """
    names = sorted(choices)
    text = f"unknown {what} {value!r}; choose from {', '.join(names)}"
    close = difflib.get_close_matches(str(value), names, n=1)
    return text + (f" (did you mean {close[0]!r}?)" if close else "")


def is_whole(value):
    """True for an int or numpy integer, False for bool (``True`` is not a count) and everything else."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def _prefix(owner):
    return f"{owner}: " if owner else ""


def whole(owner, name, value, minimum=0):
    """Returns ``value`` as an int, or raises ValueError unless it is a whole number >= ``minimum``."""
    if not is_whole(value) or value < minimum:
        raise ValueError(f"{_prefix(owner)}{name} must be an int >= {minimum}, got {name}={value!r}")
    return int(value)


def _rule(lo, hi, lo_open, hi_open):
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo:g}"
    return f"{'<' if hi_open else '<='} {hi:g}"


def number(owner, name, value, *, lo=None, hi=None, lo_open=False, hi_open=False):
    """Returns ``value`` as a finite float within the bounds given, else raises.

    TypeError when it is not a real number (bool is not), ValueError when it is nan/inf or out of
    ``[lo, hi]`` (``lo_open``/``hi_open`` exclude an end), e.g. ``number("SGD", "momentum", m, lo=0)``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{_prefix(owner)}{name} must be a number, got {name}={value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{_prefix(owner)}{name} must be finite, got {name}={value!r}")
    below = lo is not None and (value <= lo if lo_open else value < lo)
    above = hi is not None and (value >= hi if hi_open else value > hi)
    if below or above:
        rule = _rule(lo, hi, lo_open, hi_open)
        raise ValueError(f"{_prefix(owner)}{name} must be {rule}, got {name}={value!r}")
    return value


def positive(owner, name, value):
    """A finite number > 0 (a learning rate, a scale)."""
    return number(owner, name, value, lo=0, lo_open=True)


def non_negative(owner, name, value):
    """A finite number >= 0 (a decay, an epsilon)."""
    return number(owner, name, value, lo=0)


def preview(value, limit=60):
    """``repr(value)`` cut to ``limit`` characters, for quoting a user's value in an error."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
