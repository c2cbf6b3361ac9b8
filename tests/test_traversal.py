"""flowlab.traversal: the one post-order walk and backward loop, against the textbook recursion, the MiniFlow
passes and numeric gradients."""

import numpy as np

from flowlab import (Add, Input, Linear, MSE, Mul, Sigmoid, forward_and_backward, forward_pass,
                     topological_sort)


def test_postorder_is_deterministic_iterative_and_puts_each_node_after_its_inputs():
    from flowlab.graph import postorder

    x = Input(name="x")
    node = x
    for i in range(5000):  # deeper than Python's recursion limit
        node = Sigmoid(node, name=f"s{i}")
    order = postorder([node])
    assert order[0] is x and order[-1] is node and len(order) == 5001
    a, b = Input(name="a"), Input(name="b")
    s = Add(Mul(a, b), a, name="s")  # a read along two paths: placed once, before both readers
    assert [n.name or type(n).__name__ for n in postorder([s])] == ["a", "b", "Mul", "s"]
    assert postorder([s, s.inbound_nodes[0]]) == postorder([s])


def test_backprop_table_matches_the_miniflow_passes_and_numbers():
    from flowlab.graph import backprop, postorder
    from flowlab.gradcheck import numeric_array_gradient

    rng = np.random.default_rng(0)
    X, W, b, y = Input(name="X"), Input(name="W"), Input(name="b"), Input(name="y")
    h = Sigmoid(Linear(X, W, b))
    cost = MSE(y, Add(Mul(h, h), h))  # fan-out and a repeated input
    feed = {X: rng.normal(size=(4, 3)), W: rng.normal(size=(3, 2)), b: rng.normal(size=2), y: rng.normal(size=(4, 2))}
    graph = topological_sort(feed)
    forward_and_backward(graph)
    table = backprop(postorder([cost]), 1.0)
    for p in (X, W, b):  # equal to rounding: the table adds h's three shares in another order
        np.testing.assert_allclose(table[p], p.gradients[p], rtol=1e-12, atol=1e-15)

    numeric = numeric_array_gradient(lambda: forward_pass(cost, graph), W.value)
    np.testing.assert_allclose(table[W], numeric, rtol=1e-6, atol=1e-9)
    order = postorder([cost])
    only_b = backprop(order, 1.0, needed={n for n in order if n is not W and n is not X})
    assert W not in only_b and X not in only_b and b in only_b


def test_postorder_is_the_textbook_recursive_depth_first_post_order():
    import random

    from flowlab.graph import postorder

    def recursive(roots):  # the definition, written plainly (recursion is fine at this size)
        order, seen = [], set()

        def visit(node):
            seen.add(id(node))
            for parent in node.inbound_nodes:
                if id(parent) not in seen:
                    visit(parent)
            order.append(node)

        for root in roots:
            if id(root) not in seen:
                visit(root)
        return order

    for trial in range(300):
        rnd = random.Random(trial)
        nodes = []
        for _ in range(rnd.randint(1, 20)):
            inputs = [rnd.choice(nodes) for _ in range(rnd.randint(0, min(3, len(nodes))))] if nodes else []
            nodes.append(Add(*inputs) if inputs else Input())
        roots = [rnd.choice(nodes) for _ in range(rnd.randint(1, 3))] + [nodes[-1]]
        assert postorder(roots) == recursive(roots), trial
