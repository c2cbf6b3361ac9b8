"""MiniFlow's exact names, as aliases of flowlab's core, so a MiniFlow script runs with one changed import.

    from flowlab.miniflow import *

gives what the course's ``from miniflow import *`` gave: ``np`` (the course's module imports numpy
at its top and has no ``__all__``, so quiz scripts use ``np.array`` without importing it) and
``Node, Input, Add, Mul, Linear, Sigmoid, MSE, topological_sort, forward_pass,
forward_and_backward, sgd_update``. A node class written the MiniFlow way (subclass ``Node``,
hand-written ``forward`` and ``backward``) works next to flowlab's own nodes.

One name differs from the core on purpose: ``MSE`` here hands back the labels' gradient as
MiniFlow's ``(m, 1)`` column, so printed gradients read as the course prints them (see ``MSE``).
"""

import numpy as np

from . import losses
from .graph import Input, Node, forward_and_backward, forward_pass, topological_sort
from .nodes import Add, Linear, Mul, Sigmoid

__all__ = [
    "np",
    "Node",
    "Input",
    "Add",
    "Mul",
    "Linear",
    "Sigmoid",
    "MSE",
    "topological_sort",
    "forward_pass",
    "forward_and_backward",
    "sgd_update",
]


class MSE(losses.MSE):
    """flowlab's mean squared error, with MiniFlow's shape for the labels' gradient.

    MiniFlow reshapes both inputs to columns and stores ``(2 / m) * (y - a)`` as the gradient of
    each, so labels fed as ``(m,)`` get an ``(m, 1)`` gradient, and ``print(y.gradients[y])``
    shows a column. Labels of shape ``(m,)`` get that column here too (same numbers as
    ``flowlab.MSE``, which keeps every gradient in its input's shape). The predictions' gradient
    keeps the predictions' shape: in every course graph that is MiniFlow's ``(m, 1)`` column
    already, and a ``(m,)`` prediction needs an ``(m,)`` gradient for the nodes before it to stay
    right (MiniFlow's column would broadcast to ``(m, m)`` there).
    """

    def vjp(self, grad, out=None):
        gy, ga = super().vjp(grad, out)
        if gy is not None and np.ndim(gy) == 1:
            gy = gy.reshape(-1, 1)
        return gy, ga


def sgd_update(trainables, learning_rate=1e-2):
    """MiniFlow's stochastic gradient descent step: ``t.value -= learning_rate * t.gradients[t]``.

    In place, as the course's code does, so arrays shared with a feed_dict see the new values. A
    value that cannot take a fractional step in place (fed as plain ints, ``bias: 2`` or
    ``[6, 14, 3]``) is replaced by the float result, as the course's ``-=`` on a Python number or
    list does. The step is the scalar product ``np.dot(gradient, learning_rate)``, i.e.
    ``learning_rate * gradient`` elementwise, whatever the gradient's shape.
    """
    for t in trainables:
        partial = t.gradients[t]
        if np.shape(partial) != np.shape(t.value) and np.size(partial) == np.size(t.value):
            partial = np.reshape(partial, np.shape(t.value))  # MSE's labels column for (m,) labels
        step = learning_rate * partial
        if np.can_cast(np.result_type(t.value, step), np.asarray(t.value).dtype, casting="same_kind"):
            t.value -= step
        else:
            t.value = t.value - step
