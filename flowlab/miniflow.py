"""MiniFlow's exact names, as aliases of flowlab's core, so a MiniFlow script runs with one changed import.

    from flowlab.miniflow import *

gives what the course's ``from miniflow import *`` gave: ``np`` (the course's module imports numpy
at its top and has no ``__all__``, so quiz scripts use ``np.array`` without importing it) and
``Node, Input, Add, Mul, Linear, Sigmoid, MSE, topological_sort, forward_pass,
forward_and_backward, sgd_update``. A node class written the MiniFlow way (subclass ``Node``,
hand-written ``forward`` and ``backward``) works next to flowlab's own nodes.

Two names differ from the core on purpose, so printouts read as the course prints them: ``MSE``
here hands back an Input's gradient as MiniFlow's ``(m, 1)`` column (see ``MSE``), and ``Input``
keeps a plain Python number fed to it as given (see ``Input``).
"""

import numpy as np

from . import graph, losses
from .graph import Node, forward_and_backward, forward_pass, topological_sort
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


class Input(graph.Input):
    """flowlab's Input, keeping a plain Python number fed to it as given, as MiniFlow's does.

    MiniFlow's ``topological_sort`` stores the fed value itself, so the Add quiz's
    ``print([n.value for n in graph])`` shows ``[4, 5, 10, 19]``; flowlab's core makes every value
    an array (``array(4)``, and ``np.int64(19)`` for the sum). Here an ``int`` or ``float`` stays
    one (checked as the core checks values); lists and arrays become arrays as in the core.
    """

    @graph.Input.value.setter
    def value(self, value):
        graph.Input.value.fset(self, value)
        if type(value) in (int, float):
            self._value = value


class MSE(losses.MSE):
    """flowlab's mean squared error, with MiniFlow's shape for the gradient of an Input it reads.

    MiniFlow reshapes both inputs to columns and stores ``(2 / m) * (y - a)`` as the gradient of
    each, so an Input fed as ``(m,)`` (the labels, or the Cost quiz's ``a``) gets an ``(m, 1)``
    gradient and ``print(y.gradients[y])`` shows a column. Here an Input of shape ``(m,)`` that
    only this MSE reads gets that column too (same numbers as ``flowlab.MSE``, which keeps every
    gradient in its input's shape). A computed node's gradient keeps the node's shape, whichever
    side it is on: MiniFlow's column would broadcast to ``(m, m)`` in the nodes before a ``(m,)``
    prediction (and crash there), and every course graph's ``(m, 1)`` prediction gets its column.
    """

    def vjp(self, grad, out=None):
        grads = super().vjp(grad, out)
        return tuple(g.reshape(-1, 1) if g is not None and np.ndim(g) == 1 and isinstance(n, graph.Input)
                     and len(n.outbound_nodes) == 1 else g for n, g in zip(self.inbound_nodes, grads))


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
