"""A model's parameters and the flat layout they live in: each value a view of one array, each gradient of another."""

from __future__ import annotations

import numpy as np

__all__ = ["FlatLayout", "Parameters"]


class FlatLayout:
    """Parameters whose values are consecutive views of one flat array, and whose gradients views of another.

    Allocating it moves each parameter's value into the flat value array (``p.value`` becomes its
    view); the gradient views are for the backward pass to write into (``graph.Plan``'s
    ``grad_buffers``). An optimizer told the layout (through ``Parameters.flat``) whose rule treats
    every element on its own updates all the parameters with one numpy call per operation on the two
    flat arrays, with the numbers it would give one parameter at a time.

    ``flowlab.Model`` allocates its parameters this way. For a parameter list of one's own:
    ``layout = FlatLayout(params, np.float64)``, a backward pass that writes into the gradient views
    (``Plan(graph, grad_buffers=dict(zip(layout.params, layout.grads)))``), and the optimizer built
    on ``Parameters(params, flat=layout)``.

    Args:
        params: the parameter nodes, in order, each holding its value.
        dtype: the flat arrays' float dtype; each value is converted to it.

    Attributes:
        params: the parameter nodes, in order.
        value, grad: the two flat arrays.
        values, grads: each parameter's view of them, in order and in its shape.
    """

    def __init__(self, params, dtype):
        self.params = list(params)
        shapes = [np.shape(p.value) for p in self.params]
        self.value, self.values = _views(shapes, dtype)
        for p, view in zip(self.params, self.values):
            view[...] = p.value
            p.value = view
        self.grad, self.grads = _views(shapes, dtype)

    def holds(self, params):
        """Whether ``params`` are this layout's parameters, in order, each still holding its value view and its
        gradient view (a value assigned anew, or a gradient the backward pass could not write in place, breaks it)."""
        if len(params) != len(self.params):
            return False
        for p, q, value, grad in zip(params, self.params, self.values, self.grads):
            # The views must still be views of the flat arrays: a copied or unpickled model holds
            # its views and its flat arrays as separate arrays (numpy copies each on its own).
            if p is not q or p.value is not value or value.base is not self.value or grad.base is not self.grad:
                return False
            if not isinstance(p.gradients, dict) or p.gradients.get(p) is not grad:
                return False
        return True


class Parameters(list):
    """A model's parameter nodes: a list, whose ``flat`` is the ``FlatLayout`` they were allocated in (or None).

    A copy or a slice is a plain list: it no longer states a layout.
    """

    def __init__(self, params=(), flat=None):
        super().__init__(params)
        self.flat = flat


def _views(shapes, dtype):
    flat = np.zeros(sum(int(np.prod(s)) for s in shapes), dtype=dtype)
    views, offset = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        views.append(flat[offset:offset + size].reshape(shape))
        offset += size
    return flat, views
