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
  ``MatMul``, ``sigmoid`` ``Sigmoid``, ``softmax`` ``Softmax``, ``negative`` ``Negative``,
  ``log`` ``Log``, ``reduce_sum`` ``ReduceSum``. Values and gradients come from those nodes'
  ``compute`` and ``backprop`` and nowhere else.
- ``Operation`` is the base of those wrappers and of user-defined operations. It adds the series'
  vocabulary to flowlab's: ``input_nodes`` (= ``inbound_nodes``), ``consumers``
  (= ``outbound_nodes``), ``inputs`` (the input values of the last run), ``output`` (= ``value``)
  and ``graph``, and adds the node to the default graph's ``operations``.
- A user-defined operation subclasses ``Operation`` and writes ``compute`` as in the series. Its
  gradient is the series' ``fn(op, grad)`` registered with ``@RegisterGradient("class name")``,
  or a flowlab-style ``backprop(grad, *values)`` method.
- ``Session.run`` evaluates the fetched nodes and everything they read, in the order of
  flowlab's ``graph.postorder``. ``compute_gradients(loss)`` runs flowlab's ``graph.backprop``
  over that order: it walks it backwards from the loss, asks each node's ``vjp`` (its
  ``backprop``, with broadcast gradients summed back to the input's shape) for its inputs'
  gradients and adds up what reaches a node along every path. The series'
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

The modules: ``graph`` (Graph, placeholder, Variable, Operation), ``ops`` (the built-in
operations), ``gradients`` (RegisterGradient, compute_gradients), ``session`` (Session and
``train.GradientDescentOptimizer``).
"""

from ..nodes import Log, Negative, ReduceSum
from .gradients import RegisterGradient, compute_gradients
from .graph import Graph, Operation, Variable, get_default_graph, placeholder
from .ops import add, log, matmul, multiply, negative, reduce_sum, sigmoid, softmax
from .session import GradientDescentOptimizer, MinimizationOperation, Session, train  # noqa: F401

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
