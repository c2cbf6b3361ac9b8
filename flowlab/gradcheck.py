"""Numeric gradients by central differences, and a check of backprop against them for every Input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .graph import describe, forward_and_backward, forward_pass, topological_sort

__all__ = ["numeric_gradient", "numeric_array_gradient", "check_gradients", "GradientCheck"]


def numeric_gradient(f, params, h=1e-4):
    """Central-difference gradient of ``f(*params)`` with respect to each entry of ``params``.

    For example, ``numeric_gradient(forward, [2.0, 1.0])`` gives ``[2., 5.]`` for
    ``forward(a, b) = (a + b) * (b + 1)``. ``params`` is a list or a 1-D array of numbers; an
    array is perturbed in place and restored.

    Args:
        f: a function of ``len(params)`` numbers returning a scalar.
        params: the point, a sequence of numbers or a 1-D float array.
        h: the step; the error of central differences shrinks like h**2.

    Returns:
        A float array: (f(x + h) - f(x - h)) / (2h) per entry.
    """
    values = params if isinstance(params, np.ndarray) and params.dtype.kind == "f" else \
        np.array(params, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"numeric_gradient: params must be a list or 1-D array of numbers, got shape "
                         f"{values.shape}; for an array parameter, flatten it or use check_gradients")
    return numeric_array_gradient(lambda: f(*values), values, h)


def numeric_array_gradient(f, array, h=1e-4):
    """d f() / d array by central differences, for a float array of any shape that ``f`` reads.

    Each entry of ``array`` is perturbed in place (and restored) while ``f()``, which takes no
    arguments, is evaluated: e.g. ``numeric_array_gradient(lambda: loss(W), W)``.
    """
    flat = array.reshape(-1)
    if not np.shares_memory(flat, array):
        raise ValueError("numeric gradient: the array must be contiguous so it can be perturbed in place")
    grad = np.zeros(array.shape, dtype=np.float64)
    g = grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + h
        plus = float(f())
        flat[i] = original - h
        minus = float(f())
        flat[i] = original
        g[i] = (plus - minus) / (2 * h)
    return grad


@dataclass(frozen=True)
class GradientCheck:
    """The outcome of ``check_gradients``: the worst relative error for each checked Input."""

    errors: dict  # Input name -> worst relative error
    tolerance: float

    @property
    def ok(self):
        return all(err <= self.tolerance for err in self.errors.values())

    @property
    def worst(self):
        return max(self.errors.items(), key=lambda kv: kv[1]) if self.errors else (None, 0.0)

    def __str__(self):
        lines = [f"{name}: worst relative error {err:.2e}" + ("" if err <= self.tolerance else "  <-- FAILED")
                 for name, err in self.errors.items()]
        return "\n".join(lines)


def _relative_error(analytic, numeric):
    """max |a - n| over the largest gradient entry: entry-wise ratios blow up on entries near zero,
    where central differences have only absolute accuracy."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if not a.size:
        return 0.0
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(n))), 1e-10)
    return float(np.max(np.abs(a - n))) / scale


def check_gradients(cost, feed_dict, h=1e-6, tolerance=1e-6, inputs=None, raise_on_failure=False):
    """Compares backprop's gradient of ``cost`` with central differences for every Input.

    Runs in float64: every fed value is converted to a float64 copy for the check, and the values
    fed before are restored afterwards.

    Args:
        cost: the node to differentiate (any node; a non-scalar output is summed).
        feed_dict: the values of the Inputs, as for ``topological_sort``.
        h: the finite-difference step.
        tolerance: the largest acceptable relative error.
        inputs: the Inputs to check (default: every fed Input that requires a gradient).
        raise_on_failure: raise ``AssertionError`` naming the worst Input instead of returning.

    Returns:
        A ``GradientCheck`` whose ``errors`` maps each Input's name (or its class and position) to
        its worst relative error, max|a - n| / max(|a|, |n|) over the Input's entries.

    Example:
        >>> import numpy as np
        >>> from flowlab import Input, Linear, Sigmoid, MSE
        >>> X, W, b, y = Input(name="X"), Input(name="W"), Input(name="b"), Input(name="y")
        >>> cost = MSE(y, Sigmoid(Linear(X, W, b)))
        >>> rng = np.random.default_rng(0)
        >>> feed = {X: rng.normal(size=(4, 3)), W: rng.normal(size=(3, 1)), b: np.zeros(1), y: rng.normal(size=4)}
        >>> check_gradients(cost, feed).ok
        True
    """
    saved = {node: node.value for node in feed_dict}
    try:
        feed = {node: np.array(value, dtype=np.float64) for node, value in feed_dict.items()}
        graph = topological_sort(feed)
        if cost not in graph:
            raise ValueError(f"check_gradients: {describe(cost)} is not reachable from the fed Inputs")
        # Differentiate `cost` alone: other sinks in the graph must not add to the gradients.
        graph = graph[: graph.index(cost) + 1]
        sinks_after = [n for n in cost.outbound_nodes if n in graph]
        if sinks_after:
            raise ValueError(f"check_gradients: {describe(cost)} has consumers; pass the output node")
        if inputs is None:
            inputs = [n for n in feed if n.requires_grad]
        forward_and_backward(graph)
        analytic = {node: np.array(node.gradients[node], dtype=np.float64) for node in inputs}

        def f():
            return float(np.sum(forward_pass(cost, graph)))

        errors = {}
        for i, node in enumerate(inputs):
            numeric = numeric_array_gradient(f, node.value, h)
            label = node.name or f"{type(node).__name__}#{i}"
            errors[label] = _relative_error(np.broadcast_to(analytic[node], numeric.shape), numeric)
        result = GradientCheck(errors, tolerance)
        if raise_on_failure and not result.ok:
            name, err = result.worst
            raise AssertionError(
                f"check_gradients: gradient of {describe(cost)} with respect to {name!r} is off by "
                f"relative error {err:.2e} (tolerance {tolerance:.0e})\n{result}"
            )
        return result
    finally:
        for node, value in saved.items():
            node.value = value
