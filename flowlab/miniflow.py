"""MiniFlow's exact names, as aliases of flowlab's core, so a MiniFlow script runs with one changed import.

    from flowlab.miniflow import *

gives ``Node, Input, Add, Mul, Linear, Sigmoid, MSE, topological_sort, forward_pass,
forward_and_backward, sgd_update``. A node class written the MiniFlow way (subclass ``Node``,
hand-written ``forward`` and ``backward``) works next to flowlab's own nodes.
"""

from .graph import Input, Node, forward_and_backward, forward_pass, topological_sort
from .losses import MSE
from .nodes import Add, Linear, Mul, Sigmoid

__all__ = [
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


def sgd_update(trainables, learning_rate=1e-2):
    """MiniFlow's stochastic gradient descent step: ``t.value -= learning_rate * t.gradients[t]``."""
    for t in trainables:
        t.value -= learning_rate * t.gradients[t]
