"""How the engine walks a graph: ``postorder``, its one traversal, and ``backprop``, reverse mode into a table.

Both read only MiniFlow's wire protocol (``inbound_nodes``, ``value``, and ``vjp`` for the gradient
of a node), so they serve flowlab's nodes, TensorSlow's and nodes written the MiniFlow way.
``flowlab.graph`` re-exports them.
"""

from __future__ import annotations

__all__ = ["postorder", "backprop", "describe"]


def describe(node) -> str:
    """How error messages name a node: its class and its name, e.g. ``Linear 'dense_1'``."""
    name = getattr(node, "name", None)
    kind = type(node).__name__
    return f"{kind} {name!r}" if name else f"{kind} (unnamed; pass name= to label it)"


def postorder(roots):
    """Every node the ``roots`` read, directly or not, each after the nodes it reads.

    A depth-first post-order from each root in turn, reading inputs in ``inbound_nodes`` order, so
    the same graph always gives the same order and the last root not read by another comes last
    (a single root is last). Iterative: a deep graph does not meet Python's recursion limit. This
    is the engine's one traversal: ``topological_sort``, TensorSlow, the Model and the GraphDef
    export all order their nodes with it.

    Args:
        roots: the nodes to start from (the sinks of a graph, or the nodes to evaluate).

    Returns:
        The list of nodes, each once.

    Raises:
        ValueError: the nodes read each other in a cycle.
    """
    order, state = [], {}  # id -> 1 while on the current path, 2 once placed
    for root in roots:
        if id(root) in state:
            continue
        state[id(root)] = 1
        stack = [(root, iter(root.inbound_nodes))]
        while stack:
            node, parents = stack[-1]
            for parent in parents:
                mark = state.get(id(parent))
                if mark is None:
                    state[id(parent)] = 1
                    stack.append((parent, iter(parent.inbound_nodes)))
                    break
                if mark == 1:
                    cycle = [describe(n) for n, _ in stack] + [describe(parent)]
                    raise ValueError(
                        "the graph has a cycle: " + " -> ".join(reversed(cycle)) + "; a node cannot read its own output"
                    )
            else:
                stack.pop()
                state[id(node)] = 2
                order.append(node)
    return order


def backprop(order, grad, needed=None):
    """Reverse-mode differentiation of the last node of ``order``, into a table: ``{node: gradient}``.

    One walk from the last node to the first (tinygrad's ``compute_gradient``): a node that has a
    gradient hands it to its ``vjp``, and each input's share is added to that input's entry, so a
    node read along several paths gets their sum. Nothing is written on the nodes: this is for
    graphs whose nodes may have consumers outside the computation (TensorSlow's). ``backward_pass``
    and ``Plan`` run MiniFlow's protocol instead, each node keeping its inputs' gradients.

    Args:
        order: nodes, each after the nodes it reads (``postorder([output])``); the output is last.
        grad: the seed, d(output)/d(output): e.g. ones shaped as the output's value.
        needed: the nodes gradients are carried to and through (a set); None: every node.

    Returns:
        ``{node: d(output)/d(node.value)}`` for the output and every node a gradient reached,
        each in that node's shape.
    """
    table = {order[-1]: grad}
    for node in reversed(order):
        g = table.get(node)
        inbound = node.inbound_nodes
        if g is None or not inbound or (needed is not None and node not in needed):
            continue
        for m, share in zip(inbound, node.vjp(g)):
            if share is not None and (needed is None or m in needed):
                table[m] = table[m] + share if m in table else share
    return table
