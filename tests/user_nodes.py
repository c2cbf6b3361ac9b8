"""A learner's own network, written the MiniFlow way (hand-written forward and backward on flowlab's Node).

The classes copy the course's Linear, Sigmoid and MSE line for line (MyMSE takes labels first, as
the course's does); the names differ so the TensorBoard graph shows they are the user's classes.
"""

import numpy as np

from flowlab.miniflow import Input, Node
from flowlab.model import Model


class MyLinear(Node):
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


class MySigmoid(Node):
    def __init__(self, node):
        Node.__init__(self, [node])

    def forward(self):
        self.value = 1.0 / (1.0 + np.exp(-self.inbound_nodes[0].value))

    def backward(self):
        self.gradients = {n: np.zeros_like(n.value) for n in self.inbound_nodes}
        for n in self.outbound_nodes:
            grad_cost = n.gradients[self]
            sigmoid = self.value
            self.gradients[self.inbound_nodes[0]] += sigmoid * (1 - sigmoid) * grad_cost


class MyMSE(Node):
    def __init__(self, y, a):
        Node.__init__(self, [y, a])

    def forward(self):
        y = self.inbound_nodes[0].value.reshape(-1, 1)
        a = self.inbound_nodes[1].value.reshape(-1, 1)
        self.m = self.inbound_nodes[0].value.shape[0]
        self.diff = y - a
        self.value = np.mean(self.diff ** 2)

    def backward(self):
        self.gradients[self.inbound_nodes[0]] = (2 / self.m) * self.diff
        self.gradients[self.inbound_nodes[1]] = (-2 / self.m) * self.diff


def network(n_features, width, seed):
    """X -> MyLinear -> MySigmoid -> MyLinear -> MyMSE, named W1, b1, W2, b2."""
    rng = np.random.default_rng(seed)
    X, y = Input(), Input()
    W1, b1, W2, b2 = Input(name="W1"), Input(name="b1"), Input(name="W2"), Input(name="b2")
    W1.value, b1.value = rng.normal(size=(n_features, width)) * 0.3, np.zeros(width)
    W2.value, b2.value = rng.normal(size=(width, 1)) * 0.3, np.zeros(1)
    out = MyLinear(MySigmoid(MyLinear(X, W1, b1)), W2, b2)
    return X, y, out, MyMSE(y, out), [W1, b1, W2, b2]


def build(config, shape):
    """An Experiment model builder: ``width`` hidden units, initial weights from the run's seed."""
    X, y, out, cost, params = network(shape.num_features, config["width"], config["seed"])
    return Model(X, y, out, cost, params=params, name="user-network")


def forward_numpy(weights, x):
    """The network's output from saved weights, in plain numpy (an oracle independent of the graph)."""
    hidden = 1.0 / (1.0 + np.exp(-(x @ weights["W1"] + weights["b1"])))
    return hidden @ weights["W2"] + weights["b2"]
