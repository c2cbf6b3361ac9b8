"""Weight initializers (Glorot/Xavier, He, small normal, zeros) by name, with Keras' fan conventions.

Every initializer is ``fn(shape, rng, dtype=np.float64) -> ndarray`` with ``rng`` a
``numpy.random.Generator``. Samples are drawn in float64 and then cast, so the same seed gives the
same weights in float32 and float64 (up to rounding). Biases are initialized with ``zeros``.
"""

import math
import operator

import numpy as np

from ._checks import choice

__all__ = [
    "INITIALIZERS",
    "register_initializer",
    "get_initializer",
    "default_init",
    "compute_fans",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "normal",
    "zeros",
    "BIAS_INIT",
]

INITIALIZERS = {}
"""Initializer functions by name, aliases included (e.g. ``"xavier"`` and ``"glorot_uniform"``)."""

BIAS_INIT = "zeros"
"""How biases are initialized (Keras' default)."""

# Keras' truncated normal keeps draws within 2 standard deviations; dividing by this constant (the
# std of a standard normal truncated to [-2, 2]) restores the intended variance.
_TRUNCATED_STD = 0.87962566103423978


def register_initializer(*names):
    """Decorator that makes an initializer available under each of ``names``.

    Args:
        *names: lowercase names; the first is the canonical one, the rest are aliases.

    Returns:
        The decorator; it returns the function unchanged.
    """

    def decorator(fn):
        for name in names:
            if name in INITIALIZERS and INITIALIZERS[name] is not fn:
                raise ValueError(
                    f"register_initializer: name {name!r} is already used by "
                    f"{INITIALIZERS[name].__name__}; pick another name for {fn.__name__}"
                )
            INITIALIZERS[name] = fn
        return fn

    return decorator


def get_initializer(name):
    """Look up an initializer by name (case-insensitive); a callable is returned as is.

    Args:
        name: a key of ``INITIALIZERS`` such as ``"he"`` or ``"glorot_uniform"``, or a function
            ``fn(shape, rng, dtype)``.

    Returns:
        The initializer function.

    Raises:
        ValueError: unknown name (the message lists the valid ones and a close match).
    """
    if callable(name):
        return name
    key = name.strip().lower().replace("-", "_") if isinstance(name, str) else name
    if key not in INITIALIZERS:
        raise ValueError(choice("initializer", name, INITIALIZERS))
    return INITIALIZERS[key]


def default_init(activation):
    """The initializer name to use for a layer followed by ``activation``.

    He (``"he_normal"``) for ReLU and leaky ReLU, Glorot (``"glorot_uniform"``, Keras' default)
    for everything else, including sigmoid, tanh and no activation. Biases always use ``zeros``.

    Args:
        activation: an activation name such as ``"relu"``, a node class such as ``ReLU``, or None.

    Returns:
        A key of ``INITIALIZERS``.
    """
    if activation is None:
        return "glorot_uniform"
    label = activation if isinstance(activation, str) else getattr(activation, "__name__", str(activation))
    key = label.strip().lower().replace("-", "_")
    return "he_normal" if key in ("relu", "leaky_relu", "leakyrelu") else "glorot_uniform"


def compute_fans(shape):
    """(fan_in, fan_out) as Keras computes them.

    A 2-D kernel of shape (inputs, outputs) gives (inputs, outputs); a 1-D shape (n,) gives (n, n);
    a scalar gives (1, 1); for more dimensions the leading ones form a receptive field that
    multiplies the last two.

    Args:
        shape: tuple of ints (or one int).

    Returns:
        ``(fan_in, fan_out)`` as ints.
    """
    shape = _shape("compute_fans", shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _shape(owner, shape):
    try:
        dims = (operator.index(shape),)
    except TypeError:
        try:
            dims = tuple(operator.index(n) for n in shape)
        except TypeError:
            raise TypeError(f"{owner}: shape must be an int or a tuple of ints, got shape={shape!r}") from None
    if any(n < 0 for n in dims):
        raise ValueError(f"{owner}: shape must not have negative sizes, got shape={shape!r}")
    return dims


def _checked(owner, shape, rng, dtype):
    shape = _shape(owner, shape)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{owner}: rng must be a numpy Generator, got {type(rng).__name__}; "
            f"pass np.random.default_rng(seed)"
        )
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{owner}: dtype must be a float type such as np.float64, got dtype={dtype}")
    return shape, dtype


def _uniform(owner, shape, rng, dtype, limit):
    shape, dtype = _checked(owner, shape, rng, dtype)
    return rng.uniform(-limit, limit, size=shape).astype(dtype, copy=False)


def _truncated_normal(owner, shape, rng, dtype, std):
    """Normal draws with standard deviation ``std`` after truncation to 2 (pre-correction) stds."""
    shape, dtype = _checked(owner, shape, rng, dtype)
    z = rng.standard_normal(size=shape)
    outside = np.abs(z) > 2.0
    while outside.any():  # redraw the ~4.6% outside [-2, 2] until none are left
        z[outside] = rng.standard_normal(size=int(outside.sum()))
        outside = np.abs(z) > 2.0
    z *= std / _TRUNCATED_STD
    return z.astype(dtype, copy=False)


@register_initializer("glorot_uniform", "xavier_uniform", "glorot", "xavier")
def glorot_uniform(shape, rng, dtype=np.float64):
    """Uniform on [-limit, limit] with limit = sqrt(6 / (fan_in + fan_out)) (Keras' default).

    Args:
        shape: array shape, e.g. (inputs, outputs) for a dense kernel.
        rng: a ``numpy.random.Generator``.
        dtype: float dtype of the result.

    Returns:
        The weights.
    """
    fan_in, fan_out = compute_fans(shape)
    return _uniform("glorot_uniform", shape, rng, dtype, math.sqrt(6.0 / max(1, fan_in + fan_out)))


@register_initializer("glorot_normal", "xavier_normal")
def glorot_normal(shape, rng, dtype=np.float64):
    """Truncated normal (as Keras) with std sqrt(2 / (fan_in + fan_out)).

    Draws beyond two standard deviations of the underlying normal are redrawn, and the scale is
    corrected so the weights' standard deviation is exactly sqrt(2 / (fan_in + fan_out)).

    Args:
        shape: array shape, e.g. (inputs, outputs) for a dense kernel.
        rng: a ``numpy.random.Generator``.
        dtype: float dtype of the result.

    Returns:
        The weights.
    """
    fan_in, fan_out = compute_fans(shape)
    return _truncated_normal("glorot_normal", shape, rng, dtype, math.sqrt(2.0 / max(1, fan_in + fan_out)))


@register_initializer("he_uniform", "kaiming_uniform")
def he_uniform(shape, rng, dtype=np.float64):
    """Uniform on [-limit, limit] with limit = sqrt(6 / fan_in).

    Args:
        shape: array shape, e.g. (inputs, outputs) for a dense kernel.
        rng: a ``numpy.random.Generator``.
        dtype: float dtype of the result.

    Returns:
        The weights.
    """
    fan_in, _ = compute_fans(shape)
    return _uniform("he_uniform", shape, rng, dtype, math.sqrt(6.0 / max(1, fan_in)))


@register_initializer("he_normal", "kaiming_normal", "he")
def he_normal(shape, rng, dtype=np.float64):
    """Truncated normal (as Keras) with std sqrt(2 / fan_in); the default for ReLU layers.

    Args:
        shape: array shape, e.g. (inputs, outputs) for a dense kernel.
        rng: a ``numpy.random.Generator``.
        dtype: float dtype of the result.

    Returns:
        The weights.
    """
    fan_in, _ = compute_fans(shape)
    return _truncated_normal("he_normal", shape, rng, dtype, math.sqrt(2.0 / max(1, fan_in)))


@register_initializer("normal", "small_normal")
def normal(shape, rng, dtype=np.float64):
    """Plain normal with std 0.01, whatever the shape (CS231n's small random numbers).

    Args:
        shape: array shape.
        rng: a ``numpy.random.Generator``.
        dtype: float dtype of the result.

    Returns:
        The weights.
    """
    shape, dtype = _checked("normal", shape, rng, dtype)
    z = rng.standard_normal(size=shape)
    z *= 0.01  # in place: keeps a 0-d result an array
    return z.astype(dtype, copy=False)


@register_initializer("zeros")
def zeros(shape, rng=None, dtype=np.float64):
    """All zeros: the bias initializer (``rng`` is accepted for a uniform signature and ignored).

    Args:
        shape: array shape.
        rng: ignored.
        dtype: float dtype of the result.

    Returns:
        The zeros.
    """
    shape = _shape("zeros", shape)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"zeros: dtype must be a float type such as np.float64, got dtype={dtype}")
    return np.zeros(shape, dtype=dtype)
