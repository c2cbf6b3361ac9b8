"""The model graph as TensorBoard's GraphDef, built without TensorFlow: node naming and export."""

import re

import numpy as np

from ..graph import postorder


def _graph_nodes(model):
    """The model's nodes in evaluation order: ``model.graph``, else everything ``model.loss`` reads."""
    nodes = getattr(model, "graph", None)
    if nodes is not None:
        return list(nodes)
    sink = getattr(model, "loss", None)
    if sink is None:
        raise ValueError(f"TensorBoardLogger: cannot find the graph of {model!r}; it needs .graph or .loss")
    return postorder([sink])


_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-/]")


def _node_names(nodes):
    """A unique, TensorBoard-safe name per node: its ``name`` (scoped by "/"), else ``<Class>_<i>``."""
    names = []
    for i, node in enumerate(nodes):
        fallback = f"{type(node).__name__}_{i}"
        name = re.sub("/+", "/", _BAD_NAME_CHARS.sub("_", str(getattr(node, "name", None) or fallback))).strip("/")
        name = name or fallback
        names.append(name if re.match(r"[A-Za-z0-9.]", name) else "n" + name)
    # A node may not share its name with a scope ("dense_1" next to "dense_1/kernel").
    scopes = {n.rsplit("/", k)[0] for n in names for k in range(1, n.count("/") + 1)}
    names = [f"{n}/{type(node).__name__}" if n in scopes else n for n, node in zip(names, nodes)]
    seen, unique = {}, []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        unique.append(n if seen[n] == 1 else f"{n}_{seen[n] - 1}")
    return unique


def graph_def(nodes, batch_dim=False):
    """Builds a TensorBoard GraphDef from flowlab nodes, without TensorFlow or torch.

    Node names come from ``node.name`` (``dense_1/linear`` sits in scope ``dense_1``), op types
    from the node classes (``Linear``, ``ReLU``, ``Input``, ...), edges from ``inbound_nodes`` in
    order, and each node's current value gives its dtype and output shape (``_output_shapes``,
    which TensorBoard draws on the edges). Inputs carry ``trainable`` (False for data and labels).

    Args:
        nodes: the graph's nodes, e.g. ``model.graph`` (after a forward pass, for the shapes).
        batch_dim: show the batch dimension as unknown (-1, drawn "?") in the shapes of the data
            Inputs (``requires_grad=False``) and of the nodes computed from them, as TensorFlow
            graphs do: the batch size of the values at hand is an accident of when they were taken.

    Returns:
        A ``tensorboard.compat.proto.graph_pb2.GraphDef``; an event file takes it as
        ``Event(graph_def=gd.SerializeToString())``.
    """
    from tensorboard.compat.proto import types_pb2
    from tensorboard.compat.proto.graph_pb2 import GraphDef
    from tensorboard.compat.proto.versions_pb2 import VersionDef

    dtypes = {np.dtype(np.float64): types_pb2.DT_DOUBLE, np.dtype(np.float32): types_pb2.DT_FLOAT,
              np.dtype(np.float16): types_pb2.DT_HALF, np.dtype(np.int64): types_pb2.DT_INT64,
              np.dtype(np.int32): types_pb2.DT_INT32, np.dtype(np.bool_): types_pb2.DT_BOOL}
    nodes = list(nodes)
    names = {id(n): name for n, name in zip(nodes, _node_names(nodes))}
    batched, batch = set(), None
    if batch_dim:
        data = [n for n in nodes if type(n).__name__ == "Input" and not getattr(n, "requires_grad", True)]
        rows = {np.shape(n.value)[0] for n in data if np.ndim(getattr(n, "value", None))}
        stack = list(data) if len(rows) == 1 else []
        while stack:  # the data Inputs and everything computed from them
            node = stack.pop()
            if id(node) not in batched and id(node) in names:
                batched.add(id(node))
                stack.extend(getattr(node, "outbound_nodes", ()))
        batch = rows.pop() if len(rows) == 1 else None
    gd = GraphDef(versions=VersionDef(producer=22))
    for node in nodes:
        nd = gd.node.add(name=names[id(node)], op=type(node).__name__)
        nd.input.extend(names[id(n)] for n in getattr(node, "inbound_nodes", ()) if id(n) in names)
        value = getattr(node, "value", None)
        if value is not None:
            dtype = dtypes.get(getattr(value, "dtype", None) or np.asarray(value).dtype)
            if dtype is not None:
                nd.attr["dtype"].type = dtype
            # A list of shapes, one per output (a bare shape breaks the Graphs dashboard: tensorboard#4867).
            shape = nd.attr["_output_shapes"].list.shape.add()
            dims = [int(d) for d in np.shape(value)]
            if dims and id(node) in batched and dims[0] == batch:
                dims[0] = -1
            for d in dims:
                shape.dim.add(size=d)
        if type(node).__name__ == "Input":
            nd.attr["trainable"].b = bool(getattr(node, "requires_grad", True))
    return gd
