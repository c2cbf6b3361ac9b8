"""TensorSlow's graphs and node kinds: Graph and the default graph, placeholder, Variable, Operation."""

from __future__ import annotations

import weakref

import numpy as np

from .._checks import preview
from ..graph import Input, Node, describe

class Graph:
    """A computational graph: the nodes created while it is the default graph.

    Attributes:
        operations: the operations, in creation order.
        placeholders: the placeholders, in creation order.
        variables: the Variables, in creation order.

    Example:
        >>> from flowlab import tensorslow as ts
        >>> with ts.Graph().as_default() as g:
        ...     w = ts.Variable([1.0, 2.0])
        >>> g.variables == [w]
        True
    """

    def __init__(self):
        self.operations = []
        self.placeholders = []
        self.variables = []
        self._counts = {}
        self._used = set()
        self._previous = None

    def as_default(self):
        """Makes this the graph new nodes join, and returns it.

        As in the series, the graph stays the default until another one is made default. Used as
        a context manager (``with ts.Graph().as_default() as g:``), the previous default graph
        comes back when the block ends.
        """
        global _default_graph
        if _default_graph is not self:
            # Weak: a notebook making graph after graph must not keep every old one alive.
            self._previous, _default_graph = weakref.ref(_default_graph), self
        return self

    def __enter__(self):
        return self.as_default()

    def __exit__(self, *exc_info):
        global _default_graph
        if self._previous is not None:
            # A previous graph nobody references any more holds no reachable node: a new one is the same.
            _default_graph, self._previous = self._previous() or Graph(), None
        return False

    def _unique_name(self, base):
        i = self._counts.get(base, 0)
        name = base if i == 0 else f"{base}_{i}"
        while name in self._used:
            i += 1
            name = f"{base}_{i}"
        self._counts[base] = i + 1
        self._used.add(name)
        return name

    def export_dot(self, filename_prefix_="graph_"):
        """Writes the graph in Graphviz DOT to ``<prefix><n>var_<m>op.dot``, the original's file name.

        Args:
            filename_prefix_: the start of the file's path (may include a directory).

        Returns:
            The DOT text (render it with ``dot -Tpng file.dot -o graph.png``).
        """
        lines = ["digraph {"]
        for node in self.placeholders:
            lines.append(f'  "{node.name}" [shape=ellipse, color=gray];')
        for node in self.variables:
            lines.append(f'  "{node.name}" [shape=box, color=blue];')
        for node in self.operations:
            lines.append(f'  "{node.name}" [label="{node.name}\\n{type(node).__name__}"];')
        for node in self.placeholders + self.variables + self.operations:
            lines.extend(f'  "{node.name}" -> "{c.name}";' for c in node.consumers)
        lines.append("}")
        text = "\n".join(lines) + "\n"
        path = f"{filename_prefix_}{len(self.variables)}var_{len(self.operations)}op.dot"
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return text


_default_graph = Graph()


def get_default_graph():
    """Returns the graph that new placeholders, Variables and operations join."""
    return _default_graph


class _Tensorslow:
    """The series' names for flowlab's node attributes, shared by placeholders, Variables and operations."""

    graph = None

    @property
    def consumers(self):
        """The operations that read this node (flowlab's ``outbound_nodes``)."""
        return self.outbound_nodes

    @property
    def output(self):
        """This node's value from the last run (flowlab's ``value``)."""
        return self.value

    @output.setter
    def output(self, value):
        self.value = value


class placeholder(_Tensorslow, Input):
    """A graph input that gets its value at each run: ``session.run(op, {x: value})``.

    Args:
        name: label for messages (default ``Placeholder``, ``Placeholder_1``, ...).
    """

    def __init__(self, *, name=None):
        graph = _default_graph
        Input.__init__(self, name=graph._unique_name(name or "Placeholder"))
        self.graph = graph
        graph.placeholders.append(self)


class Variable(_Tensorslow, Input):
    """A parameter of the graph that keeps its value between runs; optimizers change it.

    Args:
        initial_value: a number, list or array (copied: training never changes the caller's array).
        trainable: whether ``GradientDescentOptimizer.minimize`` updates it.
        name: label for messages (default ``Variable``, ``Variable_1``, ...).
    """

    def __init__(self, initial_value=None, *, trainable=True, name=None):
        graph = _default_graph
        Input.__init__(self, name=graph._unique_name(name or "Variable"))
        self.value = initial_value
        if self.value is initial_value and initial_value is not None:
            self.value = initial_value.copy()
        self.trainable = bool(trainable)
        self.graph = graph
        graph.variables.append(self)


class Operation(_Tensorslow, Node):
    """A node that computes its value from its inputs; subclass it for a new operation.

    As in the series, write ``__init__`` calling ``super().__init__([inputs...])`` and
    ``compute(*input_values)``; give it a gradient with ``@RegisterGradient("ClassName")`` (or a
    flowlab-style ``backprop(grad, *input_values)`` returning one gradient per input).

    Args:
        input_nodes: the placeholders, Variables or operations it reads.
        name: label for messages (default: the class name, made unique in the graph).

    Example:
        >>> import numpy as np
        >>> from flowlab import tensorslow as ts
        >>> class square(ts.Operation):
        ...     def __init__(self, x):
        ...         super().__init__([x])
        ...     def compute(self, x_value):
        ...         return x_value ** 2
        >>> @ts.RegisterGradient("square")
        ... def _square_gradient(op, grad):
        ...     return 2 * op.inputs[0] * grad
        >>> with ts.Graph().as_default():
        ...     x = ts.Variable(np.array([1.0, 3.0]))
        ...     y = ts.reduce_sum(square(x))
        ...     float(ts.Session().run(y)), ts.compute_gradients(y)[x]
        (10.0, array([2., 6.]))
    """

    def __init__(self, input_nodes=None, name=None):
        graph = _default_graph
        kind = type(self).__name__
        if isinstance(input_nodes, Node):
            raise TypeError(f"{kind}: input_nodes must be a list of nodes, e.g. super().__init__([x])")
        inputs = list(input_nodes) if input_nodes is not None else []
        for i, node in enumerate(inputs):
            if not isinstance(node, _Tensorslow):
                got = describe(node) if isinstance(node, Node) else f"{type(node).__name__} {preview(node, 40)}"
                raise TypeError(
                    f"{kind}: input {i} is {got}, not a node of a ts graph; inputs are placeholders, "
                    "Variables or operations (wrap a constant as ts.Variable(value, trainable=False))"
                )
            if node.graph is not graph:
                raise ValueError(
                    f"{kind}: input {describe(node)} belongs to another Graph than the default one; "
                    "create every node of one model after the same ts.Graph().as_default()"
                )
        Node.__init__(self, inputs, name=graph._unique_name(name or kind))
        self.graph = graph
        graph.operations.append(self)

    @property
    def input_nodes(self):
        """The nodes this operation reads (flowlab's ``inbound_nodes``)."""
        return self.inbound_nodes

    @property
    def inputs(self):
        """The values of ``input_nodes`` from the last run, as the series' gradient functions read them."""
        return [n.value for n in self.inbound_nodes]

    @inputs.setter
    def inputs(self, values):
        # The series' compute methods assign self.inputs = [input values]; that is what the getter returns.
        pass

    def forward(self):
        super().forward()
        if isinstance(self.value, list):
            self.value = np.array(self.value)

    def backprop(self, grad, *values):
        kind = type(self).__name__
        fn = _gradient_registry.get(kind)
        if fn is None:
            raise LookupError(
                f"no gradient registered for operation type {kind!r} ({describe(self)}); define one with "
                f"@ts.RegisterGradient({kind!r}) on a function (op, grad) -> gradient of each input"
            )
        grads = fn(self, grad)
        n = len(self.inbound_nodes)
        # The series returns a bare gradient (an array) for a one-input operation and a list otherwise.
        if n == 1 and not isinstance(grads, (list, tuple)):
            grads = [grads]
        if not isinstance(grads, (list, tuple)) or len(grads) != n:
            got = f"{len(grads)} gradients" if isinstance(grads, (list, tuple)) else type(grads).__name__
            raise RuntimeError(
                f"the gradient registered for {kind!r} returned {got} for the {n} inputs of "
                f"{describe(self)}; return a list with one gradient per input (None where there is none)"
            )
        return tuple(grads)


# The gradients of user-defined operation types, by class name: filled by gradients.RegisterGradient.
_gradient_registry = {}
