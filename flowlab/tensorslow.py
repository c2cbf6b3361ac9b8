# Size: over 400 lines: the whole TF1-style front end of the series in one module, as the series has it, about a third
# of it docstrings.
"""TensorSlow's TensorFlow-1-style API (the "Deep Learning From Scratch" series) as a front end to flowlab's graph.

Code written for the series runs after changing its import to ``from flowlab import tensorslow as ts``::

    ts.Graph().as_default()
    A = ts.Variable([[1, 0], [0, -1]])
    b = ts.Variable([1, 1])
    x = ts.placeholder()
    z = ts.add(ts.matmul(A, x), b)
    ts.Session().run(z, {x: [1, 2]})        # array([ 2, -1])

How it maps onto flowlab (one engine, one gradient rule per operation):

- ``placeholder`` and ``Variable`` are flowlab ``Input`` nodes. A placeholder takes its value from
  each run's ``feed_dict``; a Variable holds its own (a copy of ``initial_value``).
- Every operation is a flowlab ``Node`` and the built-in ones *are* flowlab's node classes under
  the series' names: ``add`` subclasses ``nodes.Add``, ``multiply`` ``Mul``, ``matmul``
  ``MatMul``, ``sigmoid`` ``Sigmoid``, ``softmax`` ``Softmax``. The three flowlab lacks are
  written here as ordinary flowlab nodes (``Negative``, ``Log``, ``ReduceSum``: ``compute`` and
  ``backprop``) and wrapped the same way. Values and gradients come from those nodes' ``compute``
  and ``backprop`` and nowhere else.
- ``Operation`` is the base of those wrappers and of user-defined operations. It adds the series'
  vocabulary to flowlab's: ``input_nodes`` (= ``inbound_nodes``), ``consumers``
  (= ``outbound_nodes``), ``inputs`` (the input values of the last run), ``output`` (= ``value``)
  and ``graph``, and adds the node to the default graph's ``operations``.
- A user-defined operation subclasses ``Operation`` and writes ``compute`` as in the series. Its
  gradient is the series' ``fn(op, grad)`` registered with ``@RegisterGradient("class name")``,
  or a flowlab-style ``backprop(grad, *values)`` method.
- ``Session.run`` evaluates the fetched nodes and everything they read, in topological order.
  ``compute_gradients(loss)`` walks that order backwards from the loss, asks each node's
  ``backprop`` for its inputs' gradients, adds up what reaches a node along every path and sums
  broadcast gradients back to the input's shape (flowlab's ``unbroadcast``). The series'
  breadth-first walk fails when a node is reached along paths of different lengths
  (``add(a, multiply(a, b))``); a reverse topological order cannot.
- ``train.GradientDescentOptimizer(lr).minimize(loss)`` returns an operation that reads ``loss``.
  Running it evaluates the loss with that run's ``feed_dict`` (as in TensorFlow), then moves every
  trainable Variable the loss depends on by ``-lr * gradient``. In the series' loop (run the loss,
  then this operation with the same ``feed_dict``) that is the original's update from the last
  run's values; running only this operation in a loop also trains, where the original repeats a
  stale step.

Beyond the original: graphs are isolated (an operation cannot mix nodes of two graphs) and
``as_default()`` also works as a context manager; ``Session.run`` takes a list of fetches; nodes
take ``name=`` (unique names like ``add_1`` are made up otherwise) and errors name them;
``sigmoid`` and ``softmax`` do not overflow; gradients through broadcasting come back in each
input's shape; Variables never alias the caller's array.
"""

from __future__ import annotations

import numbers
import types
import weakref

import numpy as np

from ._checks import is_whole, preview
from .graph import Input, Node, backprop, describe, postorder
from .nodes import Add, MatMul, Mul, Sigmoid, Softmax

__all__ = [
    "Graph",
    "get_default_graph",
    "Operation",
    "placeholder",
    "Variable",
    "Session",
    "RegisterGradient",
    "compute_gradients",
    "GradientDescentOptimizer",
    "train",
    "add",
    "matmul",
    "multiply",
    "negative",
    "log",
    "sigmoid",
    "softmax",
    "reduce_sum",
    "Negative",
    "Log",
    "ReduceSum",
]


# --- flowlab nodes for the operations flowlab's core lacks --------------------------------------


class Negative(Node):
    """Elementwise negation ``-x``."""

    def __init__(self, node, name=None):
        super().__init__([node], name=name)

    def compute(self, x):
        return np.negative(x)

    def backprop(self, grad, x):
        return (np.negative(grad),)


class Log(Node):
    """Elementwise natural logarithm; as in numpy, log(0) is -inf (with numpy's RuntimeWarning)."""

    def __init__(self, node, name=None):
        super().__init__([node], name=name)

    def compute(self, x):
        return np.log(x)

    def backprop(self, grad, x):
        return (grad / x,)


class ReduceSum(Node):
    """Sum over ``axis`` as ``np.sum`` does: ``None`` sums everything, an int or a tuple of ints some axes.

    Args:
        node: the node to sum.
        axis: ``None``, an axis or a tuple of axes (negative axes count from the end).
        keepdims: keep the summed axes with length 1.
        name: label for messages.
    """

    def __init__(self, node, axis=None, keepdims=False, name=None):
        if not (axis is None or is_whole(axis) or (isinstance(axis, (tuple, list)) and all(map(is_whole, axis)))):
            raise TypeError(
                f"{type(self).__name__}: axis must be None, an int or a tuple of ints, got axis={axis!r}"
            )
        super().__init__([node], name=name)
        self.axis = tuple(axis) if isinstance(axis, list) else axis
        self.keepdims = bool(keepdims)

    def _axes(self, ndim):
        axes = (self.axis,) if is_whole(self.axis) else self.axis
        for a in axes:
            if not -ndim <= a < ndim:
                raise ValueError(
                    f"{describe(self)}: axis {a} is out of range for an input with {ndim} dimensions; "
                    f"use an axis in [{-ndim}, {ndim - 1}] or None to sum everything"
                )
        return tuple(sorted({a % ndim for a in axes}))

    def compute(self, x):
        axis = None if self.axis is None else self._axes(np.ndim(x))
        return np.sum(x, axis=axis, keepdims=self.keepdims)

    def backprop(self, grad, x):
        shape = np.shape(x)
        if self.axis is not None and not self.keepdims:
            grad = np.expand_dims(grad, self._axes(len(shape)))
        # A writable copy: gradients handed to users must not be read-only broadcast views.
        return (np.array(np.broadcast_to(grad, shape)),)


# --- graphs and the series' node kinds ---------------------------------------------------------


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


# --- the built-in operations: flowlab's nodes under the series' names ----------------------------


class add(Add, Operation):
    """Returns ``x + y`` elementwise, with numpy broadcasting (a bias row is added to every row)."""

    def __init__(self, x, y, name=None):
        super().__init__(x, y, name=name)


class multiply(Mul, Operation):
    """Returns ``x * y`` elementwise, with numpy broadcasting."""

    def __init__(self, x, y, name=None):
        super().__init__(x, y, name=name)


class matmul(MatMul, Operation):
    """Returns the matrix product ``a @ b`` of 1-D or 2-D values."""

    def __init__(self, a, b, name=None):
        super().__init__(a, b, name=name)


class sigmoid(Sigmoid, Operation):
    """Returns 1 / (1 + exp(-a)) elementwise, without overflow for any a."""

    def __init__(self, a, name=None):
        super().__init__(a, name=name)

    def compute(self, a):
        # nodes.Sigmoid fails on a 0-d value (the series' single perceptron output); give it shape (1,).
        if np.ndim(a) == 0:
            return super().compute(np.reshape(a, 1)).reshape(())
        return super().compute(a)


class softmax(Softmax, Operation):
    """Returns the softmax of ``a`` along ``axis`` (default the last: each row of a batch sums to 1)."""

    def __init__(self, a, axis=-1, name=None):
        super().__init__(a, axis=axis, name=name)


class negative(Negative, Operation):
    """Returns ``-x`` elementwise."""

    def __init__(self, x, name=None):
        super().__init__(x, name=name)


class log(Log, Operation):
    """Returns the natural logarithm of ``x`` elementwise."""

    def __init__(self, x, name=None):
        super().__init__(x, name=name)


class reduce_sum(ReduceSum, Operation):
    """Returns the sum of ``A`` over ``axis`` (``None``: all elements), as TensorFlow's ``reduce_sum``."""

    def __init__(self, A, axis=None, keepdims=False, name=None):
        super().__init__(A, axis=axis, keepdims=keepdims, name=name)


_BUILTIN_OPS = {cls.__name__: cls for cls in (add, multiply, matmul, sigmoid, softmax, negative, log, reduce_sum)}


# --- gradients ---------------------------------------------------------------------------------

_gradient_registry = {}


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


# --- sessions and training ---------------------------------------------------------------------


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
