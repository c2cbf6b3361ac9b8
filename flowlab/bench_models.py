"""Graphs for `python -m flowlab.bench --model`: the MLP's network as a generic Model, from flowlab's nodes or
from nodes written the MiniFlow way (the course's Linear and Sigmoid), to time the generic path against the MLP."""

from __future__ import annotations

import numpy as np

from .graph import Input, Node
from .init import default_init, get_initializer
from .losses import SoftmaxCrossEntropy
from .model import Model
from .nodes import Linear, get_activation

__all__ = ["CourseLinear", "CourseSigmoid", "model_of"]

MODELS = ("mlp", "graph", "miniflow")


class CourseLinear(Node):
    """The course's Linear, line for line: hand-written forward and backward."""

    def __init__(self, X, W, b):
        Node.__init__(self, [X, W, b])

    def forward(self):
        X, W, b = (n.value for n in self.inbound_nodes)
        self.value = np.dot(X, W) + b

    def backward(self):
        self.gradients = {n: np.zeros_like(n.value) for n in self.inbound_nodes}
        for n in self.outbound_nodes:
            grad_cost = n.gradients[self]
            self.gradients[self.inbound_nodes[0]] += np.dot(grad_cost, self.inbound_nodes[1].value.T)
            self.gradients[self.inbound_nodes[1]] += np.dot(self.inbound_nodes[0].value.T, grad_cost)
            self.gradients[self.inbound_nodes[2]] += np.sum(grad_cost, axis=0, keepdims=False)


class CourseSigmoid(Node):
    """The course's Sigmoid, line for line."""

    def __init__(self, node):
        Node.__init__(self, [node])

    def forward(self):
        self.value = 1.0 / (1.0 + np.exp(-self.inbound_nodes[0].value))

    def backward(self):
        self.gradients = {n: np.zeros_like(n.value) for n in self.inbound_nodes}
        for n in self.outbound_nodes:
            sigmoid = self.value
            self.gradients[self.inbound_nodes[0]] += sigmoid * (1 - sigmoid) * n.gradients[self]


def model_of(kind, sizes, activation="sigmoid", seed=0, dtype=np.float64):
    """The MLP's network (same sizes, same initial weights) as a ``Model``.

    ``kind`` "graph" builds it from flowlab's nodes (the fast path), "miniflow" from the course's
    hand-written Linear and Sigmoid (the generic path; its activation is always the sigmoid).
    """
    init = get_initializer(default_init(activation))
    rng = np.random.default_rng(seed)
    X, y = Input(name="input/features", requires_grad=False), Input(name="input/labels", requires_grad=False)
    h, params = X, []
    act = CourseSigmoid if kind == "miniflow" else get_activation(activation)
    linear = CourseLinear if kind == "miniflow" else Linear
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        W, b = Input(name=f"dense_{i}/kernel"), Input(name=f"dense_{i}/bias")
        W.value, b.value = init((fan_in, fan_out), rng, dtype=np.dtype(dtype)), np.zeros(fan_out, dtype=dtype)
        params += [W, b]
        h = linear(h, W, b)
        if i < len(sizes) - 1:
            h = act(h)
    model = Model(X, y, h, SoftmaxCrossEntropy(h, y), params=params, name=f"{kind}-graph")
    model._feed(np.zeros((1, sizes[0]), dtype=dtype), np.zeros(1, dtype=np.int64))
    return model
