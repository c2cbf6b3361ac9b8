# Size: over 450 lines (464): Node, Input, sorting, the passes and the precomputed Plan, which share the gradient
# protocol (the walks themselves are flowlab.traversal's).
"""The graph engine: Node, Input, topological_sort and the forward and backward passes (MiniFlow's protocol)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import preview
from .traversal import backprop, describe, postorder

__all__ = [
    "Node",
    "Input",
    "topological_sort",
    "postorder",
    "backprop",
    "forward_pass",
    "backward_pass",
    "forward_and_backward",
    "Plan",
    "describe",
    "unbroadcast",
]


def unbroadcast(grad, shape):
    """Sums ``grad`` down to ``shape``, undoing numpy broadcasting (a bias added to every row)."""
    if np.shape(grad) == shape:
        return grad
    grad = np.asarray(grad)
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if grad.shape != tuple(shape) and [n for n in grad.shape if n != 1] != [n for n in shape if n != 1]:
        # Same size, other layout (a transposed gradient): a reshape would scramble it without a word.
        raise ValueError(f"a gradient of shape {grad.shape} does not sum to shape {tuple(shape)}")
    return grad.reshape(shape)  # only size-1 axes differ, e.g. a (m, 1) column for a (m,) input


class Node:
    """A node of the computational graph, with MiniFlow's attributes.

    Attributes:
        inbound_nodes: the nodes whose values this node reads, in order.
        outbound_nodes: the distinct nodes that read this node's value.
        value: the result of the last ``forward()``.
        gradients: after ``backward()``, ``gradients[n]`` is d(output)/d(n.value) for each inbound
            node ``n`` (an ``Input`` keeps its own gradient under itself: ``W.gradients[W]``).
        name: an optional label used in error messages and TensorBoard tags.

    flowlab's own nodes implement two pure methods, ``compute(*values)`` and
    ``backprop(grad, *values)`` (one gradient per input, ``None`` for "no gradient"), and the base
    class does the rest once: it feeds inbound values in, sums the upstream gradients over every
    consumer (ones at the output node), sums each input's gradient back to the input's own shape,
    and adds gradients for an input that appears twice (``Mul(x, x)``). A node written the MiniFlow
    way (overriding ``forward`` and ``backward`` and reading ``n.gradients[self]``) works unchanged.
    """

    # Set by topological_sort: whether any gradient has to flow through this node.
    requires_grad = True

    def __init__(self, inbound_nodes=None, name=None):
        self.inbound_nodes = list(inbound_nodes) if inbound_nodes is not None else []
        for node in self.inbound_nodes:
            if not isinstance(node, Node):
                raise TypeError(
                    f"{type(self).__name__}: inputs must be flowlab nodes (Input, Linear, ...), "
                    f"got {type(node).__name__} {node!r}; wrap data in an Input and feed it"
                )
        self.value = None
        self.outbound_nodes = []
        self.gradients = {}
        self.name = name
        # Each consumer is listed once, even for Mul(x, x): its gradients[x] already holds the sum.
        for node in dict.fromkeys(self.inbound_nodes):
            node.outbound_nodes.append(self)

    def __repr__(self):
        return f"<{describe(self)}>"

    def compute(self, *values):
        raise NotImplementedError(
            f"{type(self).__name__} must implement compute(*values) or override forward()"
        )

    def backprop(self, grad, *values):
        raise NotImplementedError(
            f"{type(self).__name__} must implement backprop(grad, *values) or override backward()"
        )

    def forward(self):
        values = [n.value for n in self.inbound_nodes]
        try:
            self.value = self.compute(*values)
        except (ValueError, TypeError, IndexError) as exc:
            raise self._input_error(values, exc) from exc

    def _input_error(self, values, exc):
        """Turns numpy's complaint about bad inputs into one that names this node and its inputs."""
        for node, v in zip(self.inbound_nodes, values):
            if v is None:
                return ValueError(
                    f"{describe(self)} reads {describe(node)}, which has no value; "
                    "feed it in the feed_dict of topological_sort (or set its .value)"
                )
        shapes = ", ".join(f"{describe(n)}: {np.shape(v)}" for n, v in zip(self.inbound_nodes, values))
        return type(exc)(f"{describe(self)} cannot combine its inputs ({shapes}): {exc}")

    def upstream_gradient(self):
        """d(output)/d(self.value): the sum over consumers, or ones when this node is the output."""
        consumers = self.outbound_nodes
        if not consumers:
            return np.ones_like(self.value) if np.ndim(self.value) else 1.0
        if len(consumers) == 1:
            grad = consumers[0].gradients.get(self)
            return np.zeros_like(self.value) if grad is None else grad
        total = None
        for n in consumers:
            g = n.gradients.get(self)
            if g is not None:
                total = g if total is None else total + g
        return np.zeros_like(self.value) if total is None else total

    def vjp(self, grad, out=None):
        """The gradient for each inbound node given ``grad`` = d(output)/d(self.value).

        Returns one entry per inbound node, in order (None: no gradient for that input), each
        already in its input's shape. The generic version calls ``backprop`` and sums broadcast
        gradients back. ``out`` may offer a preallocated array per input (or None) that the result
        for that input can be written into; the generic version ignores it.

        A class may offer a fast path with its own math, ``fast_vjp(grad, out)``, returning the
        same numbers as ``backprop`` would, or None to fall back to ``backprop`` (for inputs it
        does not handle). It is tried first, but only for a class whose ``backprop`` is the one
        that fast path was written beside: the class defining ``fast_vjp`` is the class defining
        ``backprop``, or below it. So a subclass that writes its own ``backprop`` (and no
        ``fast_vjp``) gets its own gradient. The rule is applied once per class, on its first vjp.
        """
        fast = _fast_vjps.get(type(self), _UNRESOLVED)
        if fast is _UNRESOLVED:
            fast = _fast_vjp_of(type(self))
        if fast is not None:
            grads = fast(self, grad, out)
            if grads is not None:
                return grads
        inbound = self.inbound_nodes
        grads = self.backprop(grad, *[n.value for n in inbound])
        if len(grads) != len(inbound):
            raise RuntimeError(
                f"{type(self).__name__}.backprop returned {len(grads)} gradients "
                f"for {len(inbound)} inputs"
            )
        result = []
        for node, g in zip(inbound, grads):
            if g is not None:
                shape = np.shape(node.value)
                if np.shape(g) != shape:
                    g = self._fit(g, shape, node)
            result.append(g)
        return result

    def _fit(self, grad, shape, node):
        """Sums a broadcast gradient back to its input's shape, or says whose gradient has the wrong shape."""
        try:
            return unbroadcast(grad, shape)
        except (ValueError, IndexError):
            raise ValueError(
                f"{describe(self)} gave a gradient of shape {np.shape(grad)} for its input {describe(node)} "
                f"of shape {shape}; a gradient must have its input's shape (or broadcast to it)"
            ) from None

    #: The optional fast path of ``vjp`` (see there): None, or a method ``fast_vjp(self, grad, out)``.
    fast_vjp = None

    def backward(self):
        self.gradients = _gradients_by_input(self.inbound_nodes, self.vjp(self.upstream_gradient()))


_UNRESOLVED = object()
_fast_vjps = {}  # class -> the fast_vjp its vjp tries (None: none applies), filled by _fast_vjp_of


def _fast_vjp_of(cls):
    """The class's fast_vjp if it was written beside the backprop the class uses, else None."""
    fast = cls.fast_vjp
    if fast is not None and not issubclass(_defined_by(cls, "fast_vjp"), _defined_by(cls, "backprop")):
        fast = None  # backprop was overridden below the fast path: it no longer gives backprop's numbers
    _fast_vjps[cls] = fast
    return fast


def _gradients_by_input(inbound, grads):
    """The gradients dict: one entry per input, summed where an input appears twice (``Mul(x, x)``)."""
    gradients = {}
    for node, g in zip(inbound, grads):
        if g is None:
            continue
        if node in gradients:
            gradients[node] = gradients[node] + g
        else:
            gradients[node] = g
    return gradients


class Input(Node):
    """A value fed from outside: data, labels or a trainable parameter.

    Its value is set by ``topological_sort(feed_dict)`` or assigned directly (``X.value = batch``).
    Numeric arrays keep their dtype (float32 stays float32); lists and scalars become arrays.
    After ``backward()``, ``gradients[self]`` holds d(output)/d(value).

    Args:
        name: label for messages and TensorBoard tags.
        requires_grad: set False for data and labels so no gradient is computed for them.
    """

    def __init__(self, name=None, requires_grad=True):
        Node.__init__(self, name=name)
        self.requires_grad = requires_grad

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, value):
        self._value = None if value is None else _as_array(self, value)

    def forward(self, value=None):
        """Does nothing, as an Input computes nothing; ``forward(v)`` sets the value first (MiniFlow's form)."""
        if value is not None:
            self.value = value

    def backward(self):
        self.gradients = {self: input_gradient(self)}


def input_gradient(node):
    """An Input's gradient as MiniFlow sums it: from the integer 0, adding each consumer's contribution.

    So an Input that nothing reads gets 0 (not ones, as a computed output node would), and a
    consumer that holds no gradient for it adds nothing.
    """
    total = 0
    for n in node.outbound_nodes:
        g = n.gradients.get(node)
        if g is not None:
            total = total + g
    return total


def _as_array(node, value):
    if isinstance(value, np.ndarray):
        array = value
    else:
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{describe(node)}: cannot make a numeric array of {value!r}: {exc}") from exc
    if array.dtype.kind not in "fiub":
        raise TypeError(
            f"{describe(node)} was fed non-numeric data of dtype {array.dtype} "
            f"({preview(value)}); feed numbers, e.g. a float array"
        )
    if array.dtype.kind == "b":
        array = array.astype(np.float64)
    return array


def topological_sort(feed_dict):
    """Sets every fed ``Input`` to its value and returns the graph's nodes in evaluation order.

    The graph is every node reachable from the fed Inputs, plus everything those nodes read. The
    order is deterministic (same graph, same order), and the output node comes last, so MiniFlow
    scripts can read ``graph[-1].value``.

    Args:
        feed_dict: maps ``Input`` nodes to their values (arrays, lists or numbers).

    Returns:
        The list of nodes, each after all the nodes it reads.

    Raises:
        TypeError: a key is not an Input, or a value is not numeric.
        ValueError: a value holds NaN or infinity, an Input the graph reads has no value, or the
            graph has a cycle.
    """
    for node, value in feed_dict.items():
        if not isinstance(node, Input):
            raise TypeError(
                f"topological_sort: feed_dict keys must be Input nodes, got {describe(node)}"
                if isinstance(node, Node)
                else f"topological_sort: feed_dict keys must be Input nodes, got {node!r}"
            )
        node.value = value
        array = np.asarray(node.value)  # flowlab.miniflow's Input keeps a Python number as given
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            bad = "NaN" if np.isnan(array).any() else "infinity"
            raise ValueError(
                f"topological_sort: {describe(node)} was fed a value containing {bad}; "
                "clean or impute the data before feeding it"
            )

    # Everything downstream of the fed Inputs, then everything those nodes read.
    seen = dict.fromkeys(feed_dict)
    for edges in ("outbound_nodes", "inbound_nodes"):
        stack = list(seen)
        while stack:
            for m in getattr(stack.pop(), edges):
                if m not in seen:
                    seen[m] = None
                    stack.append(m)
    nodes = list(seen)
    # From the sinks: deterministic, and a lone sink (the cost) comes last.
    sinks = [n for n in nodes if not n.outbound_nodes]
    try:
        order = postorder(sinks or nodes[:1])
    except ValueError as exc:
        raise ValueError(f"topological_sort: {exc}") from None
    if len(order) != len(nodes):
        # Only a cycle leaves nodes unreachable from every sink.
        placed = set(map(id, order))
        rest = [describe(n) for n in nodes if id(n) not in placed]
        raise ValueError(
            "topological_sort: the graph has a cycle through " + ", ".join(rest)
            + "; a node cannot read its own output"
        )

    for node in order:
        if isinstance(node, Input):
            if node.value is None:
                reader = next((n for n in node.outbound_nodes if n in seen), None)
                raise ValueError(
                    f"topological_sort: {describe(reader)} reads {describe(node)}, which has no value "
                    "in feed_dict; add it to feed_dict (or set its .value first)"
                )
        else:
            node.requires_grad = any(getattr(n, "requires_grad", True) for n in node.inbound_nodes)
    return order


def forward_pass(output_node, sorted_nodes=None):
    """Runs ``forward()`` on every node in order and returns the output's value.

    Both of MiniFlow's forms work: ``forward_pass(output_node, sorted_nodes)`` and the Cost quiz's
    ``forward_pass(graph)``, where the output is the graph's last node.
    """
    if sorted_nodes is None:
        sorted_nodes, output_node = output_node, output_node[-1]
    for n in sorted_nodes:
        n.forward()
    return output_node.value


def backward_pass(graph):
    """Runs ``backward()`` from the last node to the first, skipping nodes no gradient flows through."""
    for n in reversed(graph):
        if n.requires_grad:
            n.backward()


def forward_and_backward(graph):
    """One forward pass and one backward pass over a list from ``topological_sort``.

    Returns:
        The value of the graph's last node (the cost).
    """
    for n in graph:
        n.forward()
    backward_pass(graph)
    return graph[-1].value


class _Step(NamedTuple):
    """What a Plan works out once for one computed node's backward step."""

    node: Node
    inbound: list  # node.inbound_nodes
    out: tuple | None  # the grad buffer offered for each input (vjp's ``out``), or None for none at all
    unique: bool  # the inputs are all distinct (no Mul(x, x) to sum)
    consumer: Node | None  # the node's one consumer, None when it has several or none


class Plan:
    """A graph's training pass worked out once: the fast path for running it step after step.

    ``Plan(graph).run()`` does what ``forward_and_backward(graph)`` does, with the same numbers,
    but decides once which nodes need a gradient, and can write the gradients of chosen parameters
    into arrays given in ``grad_buffers`` (the same arrays every step, as PyTorch's ``.grad``;
    copy one to keep it past the next step). It applies when every node's backward is flowlab's
    own (``Node.backward`` through ``vjp``) and every consumer of a node is in the graph; otherwise
    (a node written the MiniFlow way, with its own ``backward``) it runs the generic passes. A
    plan is tied to the graph's structure and ``requires_grad`` flags: make a new one after sorting
    again. Values may change freely between runs (``X.value = batch``).

    Args:
        graph: a list from ``topological_sort``.
        grad_buffers: ``{Input: array}``, arrays shaped and typed like each Input's value. They are
            offered to the node reading the Input (``vjp``'s ``out``); an Input read by more than
            one node, or whose gradient comes out in another shape or dtype, gets a fresh array.
    """

    def __init__(self, graph, grad_buffers=None):
        self.graph = graph = list(graph)
        members = set(map(id, graph))
        self.fast = all(_plannable(n) and all(id(c) in members for c in n.outbound_nodes) for n in graph)
        self.grad_buffers = dict(grad_buffers or {})
        self._forwards = [n.forward for n in graph if type(n).forward is not Input.forward]
        self._backward = []  # a _Step per computed node that needs a gradient, last first
        self._inputs = []  # (Input, sole consumer) for the Inputs that get a gradient
        for node in reversed(graph):
            if not node.requires_grad:
                continue
            consumer = node.outbound_nodes[0] if len(node.outbound_nodes) == 1 else None
            if isinstance(node, Input):
                self._inputs.append((node, consumer))
                continue
            out = None
            for k, parent in enumerate(node.inbound_nodes):
                buffer = self.grad_buffers.get(parent)
                if buffer is not None and len(parent.outbound_nodes) == 1 and node.inbound_nodes.count(parent) == 1:
                    out = out or [None] * len(node.inbound_nodes)
                    out[k] = buffer
            unique = len(set(map(id, node.inbound_nodes))) == len(node.inbound_nodes)
            self._backward.append(_Step(node, node.inbound_nodes, out and tuple(out), unique, consumer))

    def run(self):
        """One forward and one backward pass; returns the value of the graph's last node."""
        for forward in self._forwards:
            forward()
        if not self.fast:
            backward_pass(self.graph)
            return self.graph[-1].value
        for node, inbound, out, unique, consumer in self._backward:
            # upstream_gradient(), inlined for the usual case of one consumer
            grad = None if consumer is None else consumer.gradients.get(node)
            grads = node.vjp(node.upstream_gradient() if grad is None else grad, out)
            if unique:
                node.gradients = {parent: g for parent, g in zip(inbound, grads) if g is not None}
            else:
                node.gradients = _gradients_by_input(inbound, grads)
        for node, consumer in self._inputs:
            # The consumer's array itself (no copy: it may be a grad buffer); the rare rest as Input.backward.
            grad = None if consumer is None else consumer.gradients.get(node)
            node.gradients = {node: input_gradient(node) if grad is None else grad}
        return self.graph[-1].value


def _plannable(node):
    """Whether a plan may call ``node.vjp`` in place of ``node.backward`` (its class keeps flowlab's backward)."""
    cls = type(node)
    if isinstance(node, Input):
        return _defined_by(cls, "backward") is Input and _defined_by(cls, "upstream_gradient") is Node
    return _defined_by(cls, "backward") is Node and _defined_by(cls, "upstream_gradient") is Node


def _defined_by(cls, name):
    return next((klass for klass in cls.__mro__ if name in klass.__dict__), None)
