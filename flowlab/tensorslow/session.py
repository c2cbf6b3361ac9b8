"""TensorSlow's sessions and training: Session.run and train.GradientDescentOptimizer."""

from __future__ import annotations

import numbers
import types

import numpy as np

from .._checks import preview
from ..graph import Input, Node, describe, postorder
from .gradients import _check_node, compute_gradients
from .graph import Operation, Variable, placeholder


class Session:
    """Runs a graph: ``session.run(op, feed_dict)`` computes ``op`` from the placeholders' fed values.

    Also a context manager (``with ts.Session() as session:``), as in TensorFlow; it holds no resources.
    """

    def run(self, operation, feed_dict=None):
        """Computes the value of ``operation`` (or of each node in a list of them).

        Args:
            operation: a placeholder, Variable or operation, or a list or tuple of them.
            feed_dict: maps each placeholder the computation reads to its value (arrays, lists
                or numbers); other placeholders may be fed too.

        Returns:
            The value, or a list (tuple) of values in the order of ``operation``.

        Raises:
            TypeError: a feed_dict key is not a placeholder.
            ValueError: a placeholder the computation reads is not fed.
        """
        single = not isinstance(operation, (list, tuple))
        fetches = [operation] if single else list(operation)
        for node in fetches:
            _check_node("Session.run", node)
        feed = {} if feed_dict is None else feed_dict
        if not isinstance(feed, dict):
            raise TypeError(f"Session.run: feed_dict must be a dict {{placeholder: value}}, got {type(feed).__name__}")
        for key in feed:
            if not isinstance(key, placeholder):
                got = describe(key) if isinstance(key, Node) else f"{type(key).__name__} {preview(key, 40)}"
                hint = " (a Variable holds its own value: assign .value to change it)" if isinstance(key, Variable) else ""
                raise TypeError(f"Session.run: feed_dict keys must be placeholders, got {got}{hint}")
        for node in postorder(fetches):
            if isinstance(node, placeholder):
                if node not in feed:
                    raise ValueError(
                        f"Session.run: {describe(node)} needs a value for this run; pass it in feed_dict, "
                        f"e.g. session.run(op, {{{node.name}: value}})"
                    )
                node.value = feed[node]
            elif isinstance(node, Input):
                if node.value is None:
                    raise ValueError(f"Session.run: {describe(node)} has no value; create it with ts.Variable(initial_value)")
            else:
                node.forward()
        values = [node.value for node in fetches]
        if single:
            return values[0]
        return values if isinstance(operation, list) else tuple(values)

    def close(self):
        """Does nothing; kept for TensorFlow-style code."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


class MinimizationOperation(Operation):
    """The operation ``minimize`` returns: one gradient-descent step on the loss's trainable Variables."""

    def __init__(self, loss, learning_rate, name=None):
        _check_node("minimize", loss)
        var_list = [n for n in postorder([loss]) if isinstance(n, Variable) and n.trainable]
        if not var_list:
            raise ValueError(
                f"minimize: {describe(loss)} depends on no trainable Variable, so there is nothing to "
                "train; build the loss from ts.Variable(...) parameters"
            )
        super().__init__([loss], name=name or "GradientDescent")
        self.learning_rate = learning_rate
        self.var_list = var_list

    def forward(self):
        # Not Node.forward: an error inside compute_gradients must not be reported as a bad input.
        self.value = self.compute(self.inbound_nodes[0].value)

    def compute(self, loss_value):
        grads = compute_gradients(self.inbound_nodes[0], self.var_list)
        for var in self.var_list:
            grad = grads.get(var)
            if grad is not None:
                var.value = var.value - self.learning_rate * grad
        return None


class GradientDescentOptimizer:
    """Gradient descent: each run of the ``minimize`` operation does ``W <- W - learning_rate * dJ/dW``.

    Args:
        learning_rate: the step size, a positive number.

    Example:
        >>> from flowlab import tensorslow as ts
        >>> with ts.Graph().as_default():
        ...     w = ts.Variable(3.0)
        ...     J = ts.multiply(w, w)
        ...     step = ts.train.GradientDescentOptimizer(learning_rate=0.25).minimize(J)
        ...     ts.Session().run(step)
        ...     float(w.value)
        1.5
    """

    def __init__(self, learning_rate):
        if not (isinstance(learning_rate, numbers.Real) and not isinstance(learning_rate, bool)
                and np.isfinite(learning_rate) and learning_rate > 0):
            raise ValueError(
                f"GradientDescentOptimizer: learning_rate must be a positive number, got "
                f"learning_rate={learning_rate!r}; try 0.01"
            )
        self.learning_rate = float(learning_rate)

    def minimize(self, loss, name=None):
        """Returns an operation that, when run, takes one gradient-descent step on ``loss``.

        Args:
            loss: the operation to minimize (a non-scalar loss is summed).
            name: label for messages (default ``GradientDescent``).

        Raises:
            ValueError: the loss depends on no trainable Variable.
        """
        return MinimizationOperation(loss, self.learning_rate, name=name)


train = types.SimpleNamespace(GradientDescentOptimizer=GradientDescentOptimizer, compute_gradients=compute_gradients)
train.__doc__ = "The series' ``ts.train`` namespace: ``GradientDescentOptimizer`` and ``compute_gradients``."
