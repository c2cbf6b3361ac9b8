"""TensorSlow's gradients: RegisterGradient for user-defined operations, and compute_gradients."""

from __future__ import annotations

import numpy as np

from .._checks import preview
from ..graph import Node, backprop, describe, postorder
from .graph import Operation, Variable, _gradient_registry, _Tensorslow
from .ops import _BUILTIN_OPS


class RegisterGradient:
    """Decorator registering the gradient of a user-defined operation type, as in the series.

    The function takes ``(op, grad)``: the operation (``op.inputs`` and ``op.output`` hold the last
    run's values) and the gradient of the loss with respect to its output. It returns the gradient
    with respect to each input: a list, or the bare gradient for a one-input operation. Gradients
    that were broadcast are summed back to the input's shape for you. Registering a type again
    replaces the function (re-running a notebook cell works).

    Args:
        op_type: the operation's class name (or the class itself).

    Raises:
        ValueError: ``op_type`` is a built-in operation; their gradients are flowlab's node rules.
    """

    def __init__(self, op_type):
        if isinstance(op_type, type) and issubclass(op_type, Operation):
            op_type = op_type.__name__
        if not isinstance(op_type, str):
            raise TypeError(
                "RegisterGradient: op_type must be the operation's class name, e.g. "
                f"@ts.RegisterGradient('square'), got {op_type!r}"
            )
        if op_type in _BUILTIN_OPS:
            rule = _BUILTIN_OPS[op_type].__mro__[1].__name__
            raise ValueError(
                f"RegisterGradient({op_type!r}): {op_type} is a built-in operation whose gradient is "
                f"flowlab's {rule} rule; give your own operation another class name and register that"
            )
        self._op_type = op_type

    def __call__(self, f):
        if not callable(f):
            raise TypeError(f"RegisterGradient({self._op_type!r}) decorates a function (op, grad), got {f!r}")
        _gradient_registry[self._op_type] = f
        return f


def _check_node(where, node):
    if not isinstance(node, _Tensorslow):
        got = describe(node) if isinstance(node, Node) else f"{type(node).__name__} {preview(node, 40)}"
        raise TypeError(f"{where}: expected a placeholder, Variable or operation, got {got}")


def compute_gradients(loss, nodes=None):
    """Gradients of ``loss`` from the values of the last run, walking the graph in reverse topological order.

    Args:
        loss: the node to differentiate; a non-scalar loss is summed (as TensorFlow does).
        nodes: the nodes to differentiate with respect to (placeholders, Variables or
            operations); default: every Variable the loss depends on.

    Returns:
        A dict mapping ``loss``, each of ``nodes`` that the loss depends on, and every operation
        between them to d(loss)/d(that node's value), in that node's shape.

    Raises:
        ValueError: a node on the way has no value yet (run the loss in a Session first).
        LookupError: a user-defined operation on the way has no registered gradient.
    """
    _check_node("compute_gradients", loss)
    order = postorder([loss])
    if nodes is None:
        targets = {n for n in order if isinstance(n, Variable)}
    else:
        for n in nodes:
            _check_node("compute_gradients", n)
        targets = set(nodes)
    needed = set()  # the targets and every node between them and the loss
    for node in order:
        if node in targets or any(m in needed for m in node.inbound_nodes):
            needed.add(node)
            if node.value is None:
                raise ValueError(
                    f"compute_gradients: {describe(node)} has no value yet; gradients use the values of "
                    "the last run, so run the loss first: session.run(loss, feed_dict)"
                )
    value = loss.value
    return backprop(order, np.ones(np.shape(value)) if np.ndim(value) else 1.0, needed)
