"""numeric_gradient (seed 003's signature) and check_gradients' reporting."""

import numpy as np
import pytest

from flowlab import Input, Linear, MSE, Node, Sigmoid
from flowlab.gradcheck import check_gradients, numeric_gradient


def test_numeric_gradient_on_the_lecture_example():
    def forward(a, b):
        c = a + b
        d = b + 1
        return c * d

    assert forward(a=2, b=1) == 6
    np.testing.assert_allclose(numeric_gradient(forward, [2.0, 1.0]), [2.0, 5.0], rtol=1e-6)


def test_numeric_gradient_on_an_array_calls_f_with_its_entries_and_restores_it():
    x = np.array([2.0, 1.0])
    np.testing.assert_allclose(numeric_gradient(lambda a, b: (a + b) * (b + 1), x), [2.0, 5.0], rtol=1e-6)
    np.testing.assert_array_equal(x, [2.0, 1.0])
    with pytest.raises(ValueError, match="1-D"):
        numeric_gradient(lambda *v: 0.0, np.ones((2, 2)))


class BrokenSigmoid(Node):
    """A sigmoid whose backward forgets the (1 - s) factor."""

    def __init__(self, x):
        Node.__init__(self, [x])

    def forward(self):
        self.value = 1 / (1 + np.exp(-self.inbound_nodes[0].value))

    def backward(self):
        grad = sum(n.gradients[self] for n in self.outbound_nodes)
        self.gradients = {self.inbound_nodes[0]: grad * self.value}


def network(activation):
    X, W, b, y = Input(name="X"), Input(name="W"), Input(name="b"), Input(name="y")
    cost = MSE(y, activation(Linear(X, W, b)))
    rng = np.random.default_rng(1)
    feed = {X: rng.normal(size=(4, 3)), W: rng.normal(size=(3, 1)), b: np.zeros(1), y: rng.normal(size=4)}
    return cost, feed


def test_check_gradients_passes_a_correct_graph_and_names_inputs():
    cost, feed = network(Sigmoid)
    result = check_gradients(cost, feed)
    assert result.ok and set(result.errors) == {"X", "W", "b", "y"}
    assert max(result.errors.values()) < 1e-7


def test_check_gradients_catches_a_wrong_backward_and_says_where():
    cost, feed = network(BrokenSigmoid)
    result = check_gradients(cost, feed)
    assert not result.ok and result.errors["y"] < 1e-7 and result.errors["W"] > 1e-2
    with pytest.raises(AssertionError, match=r"with respect to '(X|W|b)'"):
        check_gradients(cost, feed, raise_on_failure=True)


def test_check_gradients_restores_fed_values():
    cost, feed = network(Sigmoid)
    W = next(n for n in feed if n.name == "W")
    W.value = np.full((3, 1), 7.0)
    check_gradients(cost, feed)
    np.testing.assert_array_equal(W.value, np.full((3, 1), 7.0))
