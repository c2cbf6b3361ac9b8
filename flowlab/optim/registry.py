"""The optimizers by name: what configs and the CLI accept, and each one's default learning rate."""

import inspect

from .._checks import choice

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
