"""The graph engine: sorting, passes, gradient accumulation and errors a user can act on."""

import numpy as np
import pytest

from flowlab import Add, Input, Linear, MatMul, MSE, Mul, Sigmoid, forward_and_backward, forward_pass, topological_sort
from flowlab.graph import Node


def test_sort_is_deterministic_and_ends_with_the_cost():
    orders = []
    for _ in range(5):
        X, W, b, y = Input(name="X"), Input(name="W"), Input(name="b"), Input(name="y")
        cost = MSE(y, Sigmoid(Linear(X, W, b)), name="cost")
        feed = {X: np.ones((2, 2)), W: np.ones((2, 1)), b: np.zeros(1), y: np.ones(2)}
        graph = topological_sort(feed)
        assert graph[-1] is cost
        orders.append([n.name or type(n).__name__ for n in graph])
        for i, node in enumerate(graph):  # every node after everything it reads
            assert all(graph.index(p) < i for p in node.inbound_nodes)
    assert all(o == orders[0] for o in orders)


def test_sort_sets_values_and_includes_inputs_set_beforehand():
    x, w = Input(name="x"), Input(name="w")
    w.value = np.array([2.0])
    out = Mul(x, w)
    graph = topological_sort({x: [3.0]})
    assert w in graph and graph[-1] is out
    assert forward_pass(out, graph)[0] == 6.0


def test_forward_pass_both_miniflow_forms():
    x, y = Input(), Input()
    f = Add(x, y)
    graph = topological_sort({x: 10, y: 5})
    assert forward_pass(f, graph) == 15
    assert forward_pass(graph) == 15


def test_linear_on_plain_lists_as_in_miniflow_quiz():
    inputs, weights, bias = Input(), Input(), Input()
    f = Linear(inputs, weights, bias)
    graph = topological_sort({inputs: [6, 14, 3], weights: [0.5, 0.25, 1.4], bias: 2})
    assert forward_pass(f, graph) == pytest.approx(12.7)
    forward_and_backward(graph)
    assert np.allclose(weights.gradients[weights], [6, 14, 3])
    assert np.allclose(inputs.gradients[inputs], [0.5, 0.25, 1.4])
    assert bias.gradients[bias] == pytest.approx(1.0)


def test_output_node_is_seeded_with_ones():
    x = Input()
    s = Sigmoid(x)
    graph = topological_sort({x: np.array([0.0, 1.0])})
    forward_and_backward(graph)
    sig = 1 / (1 + np.exp(-np.array([0.0, 1.0])))
    assert np.allclose(x.gradients[x], sig * (1 - sig))


def test_gradients_accumulate_over_fan_out_and_repeated_inputs():
    x = Input(name="x")
    sq = Mul(x, x)                      # same consumer twice
    out = Add(sq, Sigmoid(x), x)        # and three consumers
    graph = topological_sort({x: np.array([0.5, -2.0])})
    forward_and_backward(graph)
    v = np.array([0.5, -2.0])
    s = 1 / (1 + np.exp(-v))
    assert np.allclose(x.gradients[x], 2 * v + s * (1 - s) + 1)
    assert x.outbound_nodes.count(sq) == 1


def test_values_can_be_reassigned_without_sorting_again():
    x, w = Input(), Input()
    out = MatMul(x, w)
    graph = topological_sort({x: np.ones((1, 2)), w: np.ones((2, 1))})
    forward_and_backward(graph)
    x.value = np.full((1, 2), 3.0)
    forward_and_backward(graph)
    assert out.value[0, 0] == 6.0
    assert np.allclose(w.gradients[w], [[3.0], [3.0]])


def test_requires_grad_false_skips_the_input_gradient():
    X, W, b = Input(name="X", requires_grad=False), Input(name="W"), Input(name="b")
    cost = MSE(Input(name="y", requires_grad=False), Linear(X, W, b))
    y = cost.inbound_nodes[0]
    graph = topological_sort({X: np.ones((3, 2)), W: np.ones((2, 1)), b: np.zeros(1), y: np.zeros(3)})
    forward_and_backward(graph)
    assert X.gradients == {}
    assert X not in graph[graph.index(cost) - 1].gradients
    assert W.gradients[W].shape == (2, 1)


class Double(Node):
    """A node written the MiniFlow way: hand-written forward and backward."""

    def __init__(self, node):
        Node.__init__(self, [node])

    def forward(self):
        self.value = 2 * self.inbound_nodes[0].value

    def backward(self):
        self.gradients = {n: np.zeros_like(n.value) for n in self.inbound_nodes}
        for n in self.outbound_nodes:
            self.gradients[self.inbound_nodes[0]] += 2 * n.gradients[self]


def test_miniflow_style_node_works_upstream_and_downstream_of_flowlab_nodes():
    x, y = Input(name="x"), Input(name="y")
    out = MSE(y, Double(Sigmoid(Double(x))))
    v = np.array([[0.3], [-0.7]])
    graph = topological_sort({x: v, y: np.array([1.0, 0.0])})
    forward_and_backward(graph)
    s = 1 / (1 + np.exp(-2 * v))
    a = 2 * s
    expected = (-2 / 2) * (np.array([[1.0], [0.0]]) - a) * 2 * s * (1 - s) * 2
    assert np.allclose(x.gradients[x], expected)
    assert out.value == pytest.approx(np.mean((np.array([[1.0], [0.0]]) - a) ** 2))


def test_missing_value_names_the_node_and_the_input():
    X, W, b = Input(name="X"), Input(name="W"), Input(name="b")
    Linear(X, W, b, name="hidden1")
    with pytest.raises(ValueError, match=r"Linear 'hidden1' reads Input 'W', which has no value"):
        topological_sort({X: np.ones((1, 2)), b: np.zeros(1)})


def test_shape_mismatch_names_the_node_and_both_shapes():
    X, W, b = Input(name="X"), Input(name="W"), Input(name="b")
    f = Linear(X, W, b, name="hidden1")
    graph = topological_sort({X: np.ones((5, 3)), W: np.ones((4, 8)), b: np.zeros(8)})
    with pytest.raises(ValueError, match=r"Linear 'hidden1': input has 3 features but weights have shape \(4, 8\)"):
        forward_pass(f, graph)
    a, c = Input(name="a"), Input(name="c")
    g = Add(a, c, name="sum")
    graph = topological_sort({a: np.ones((2, 3)), c: np.ones((4,))})
    with pytest.raises(ValueError, match=r"Add 'sum' cannot combine its inputs \(Input 'a': \(2, 3\), Input 'c': \(4,\)\)"):
        forward_pass(g, graph)


def test_nan_and_non_numeric_feeds_are_rejected():
    x = Input(name="pixels")
    Sigmoid(x)
    with pytest.raises(ValueError, match=r"Input 'pixels' was fed a value containing NaN"):
        topological_sort({x: np.array([1.0, np.nan])})
    with pytest.raises(TypeError, match=r"Input 'pixels' was fed non-numeric data"):
        topological_sort({x: ["a", "b"]})
    with pytest.raises(TypeError, match="feed_dict keys must be Input nodes"):
        topological_sort({Sigmoid(x): 1.0})


def test_cycle_is_reported():
    x = Input(name="x")
    a = Sigmoid(x, name="a")
    b = Sigmoid(a, name="b")
    a.inbound_nodes.append(b)           # only possible by editing the lists by hand
    b.outbound_nodes.append(a)
    with pytest.raises(ValueError, match="cycle"):
        topological_sort({x: 1.0})


def test_non_node_input_is_a_type_error():
    with pytest.raises(TypeError, match="must be flowlab nodes"):
        Sigmoid(np.ones(3))


def test_a_node_giving_a_transposed_gradient_is_told_so_not_reshaped_silently():
    from flowlab.graph import Input, Node, forward_and_backward, topological_sort

    class Transposed(Node):
        def __init__(self, x):
            super().__init__([x])

        def forward(self):
            self.value = self.inbound_nodes[0].value * 2.0

        def backprop(self, grad, x):
            return (np.ones_like(x).T,)  # (3, 2) for a (2, 3) input

    x = Input(name="x")
    node = Transposed(x)
    graph = topological_sort({x: np.zeros((2, 3))})
    with pytest.raises(ValueError, match=r"gradient of shape \(3, 2\) for its input .*of shape \(2, 3\)"):
        forward_and_backward(graph)
