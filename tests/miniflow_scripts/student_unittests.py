# A student's unit tests for their MiniFlow nodes, as written against the course's miniflow.py.
import unittest

import numpy as np
from flowlab.miniflow import *


class Identity(Node):
    def __init__(self, node):
        Node.__init__(self, [node])

    def forward(self):
        self.value = self.inbound_nodes[0].value

    def backward(self):
        self.gradients = {n: np.zeros_like(n.value) for n in self.inbound_nodes}
        for n in self.outbound_nodes:
            self.gradients[self.inbound_nodes[0]] += n.gradients[self]


class TestInput(unittest.TestCase):
    def test_forward_sets_the_value(self):
        x = Input()
        x.forward(5)
        self.assertEqual(x.value, 5)

    def test_forward_without_a_value_keeps_it(self):
        x = Input()
        x.forward(5)
        x.forward()
        self.assertEqual(x.value, 5)

    def test_backward_alone_is_zero(self):
        x = Input()
        x.forward(5)
        x.backward()
        self.assertEqual(x.gradients[x], 0)

    def test_backward_sums_outbound_gradients(self):
        x = Input()
        x.forward(np.array([1.0, 2.0]))
        out = Identity(x)
        out.gradients = {x: np.array([3.0, 4.0])}
        x.backward()
        np.testing.assert_array_equal(x.gradients[x], [3.0, 4.0])


class TestNode(unittest.TestCase):
    def test_inbound_nodes_positional(self):
        x = Input()
        n = Node([x])
        self.assertEqual(n.inbound_nodes, [x])
        self.assertEqual(x.outbound_nodes, [n])
        self.assertEqual(Node([]).inbound_nodes, [])
        self.assertEqual(Node(inbound_nodes=[]).inbound_nodes, [])


class TestForwardPass(unittest.TestCase):
    def test_returns_the_output_value(self):
        x, y = Input(), Input()
        f = Add(x, y)
        sorted_nodes = topological_sort({x: 10, y: 5})
        self.assertEqual(forward_pass(f, sorted_nodes), 15)


if __name__ == "__main__":
    unittest.main()
