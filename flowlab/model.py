# Size: just over 400 lines: the Model class (about 270 lines: training, evaluation, weights by name, saving) and
# the helpers the runner uses to build a user's model from its builder and check it in the driver (build_model,
# check_builder); those helpers would move to the runner with execute_run.
"""Model: any graph of nodes as something to train, evaluate, log and save (what Trainer and the runner use)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from .graph import Input, Plan, describe, postorder, topological_sort
from .params import FlatLayout, Parameters

__all__ = ["Model", "DataShape", "TASKS", "build_model", "name_from_caller", "named_params"]

FORMAT_VERSION = 1

#: What a model's output means: class scores (accuracy is its metric) or numbers (mean absolute error).
TASKS = ("classification", "regression")


class Model:
    """A trainable model made from a graph: its data Inputs, its output, its loss and its parameters.

    The nodes may be any classes: flowlab's own, TensorSlow's, or written the MiniFlow way (subclass
    ``Node``, write ``forward`` and ``backward``). Training takes flowlab's fast path
    (``graph.Plan``, parameters and gradients in flat arrays) when every node allows it, and the
    plain MiniFlow passes otherwise, with the same numbers either way.

    Args:
        features: the Input fed each batch's features.
        labels: the Input fed each batch's labels (class ids, one-hot rows, or target numbers).
        output: the node whose value is the prediction (logits for a classifier).
        loss: the node whose value is the batch's loss, reading ``output`` and ``labels``.
        params: the trainable Inputs, each holding its initial value: a list (named by each
            Input's ``name``, else by the variable holding it where the model is made, e.g.
            ``W1``, else ``param_1``, ``param_2``, ... in order) or a dict
            ``{"W1": W1, ...}`` that names them (the names are given to the Inputs). None: every
            Input the loss depends on other than ``features`` and ``labels``.
        task: "classification" (accuracy, ``predict`` gives class ids) or "regression" (mean
            absolute error, ``predict`` gives the output). None: classification when the loss is
            a cross-entropy, regression otherwise.
        name: shown in ``repr`` and the TensorBoard model summary.

    Example:
        >>> from flowlab.miniflow import Input, Linear, Sigmoid, MSE
        >>> X, y, W1, b1, W2, b2 = Input(), Input(), Input(), Input(), Input(), Input()
        >>> rng = np.random.default_rng(0)
        >>> W1.value, b1.value = rng.normal(size=(10, 8)), np.zeros(8)
        >>> W2.value, b2.value = rng.normal(size=(8, 1)), np.zeros(1)
        >>> out = Linear(Sigmoid(Linear(X, W1, b1)), W2, b2)
        >>> model = Model(X, y, out, MSE(y, out), params={"W1": W1, "b1": b1, "W2": W2, "b2": b2})
        >>> [p.name for p in model.params], model.task
        (['W1', 'b1', 'W2', 'b2'], 'regression')
    """

    def __init__(self, features, labels, output, loss, params=None, *, task=None, name="model"):
        for arg, node in (("features", features), ("labels", labels)):
            if not isinstance(node, Input):
                got = describe(node) if hasattr(node, "inbound_nodes") else repr(node)
                raise TypeError(f"Model: {arg} must be an Input node (the one fed each batch), got {got}")
        self.features, self.labels, self.output, self.loss, self.name = features, labels, output, loss, str(name)
        features.requires_grad = labels.requires_grad = False  # data: no gradient to compute
        caller = sys._getframe(1)
        for node, default in ((features, "features"), (labels, "labels")):
            if node.name is None:  # named in the graph and in errors, as the script calls them
                node.name = name_from_caller(node, caller) or default
        self.params = self._trainables(params, caller)
        del caller
        if task is None:
            task = "classification" if "crossentropy" in type(loss).__name__.lower() else "regression"
        if task not in TASKS:
            raise ValueError(f"Model: task must be one of {', '.join(TASKS)}, got task={task!r}")
        self.task = task
        self.metric = "accuracy" if task == "classification" else "mae"
        dtypes = {p.value.dtype for p in self.params}
        self.dtype = dtypes.pop() if len(dtypes) == 1 and next(iter(dtypes)).kind == "f" else np.dtype(np.float64)
        # All parameters live in one flat array, and their gradients in another, and the parameter list
        # says so (params.flat): an optimizer told it updates every parameter with one numpy call per
        # operation (see flowlab.optim).
        layout = FlatLayout(self.params, self.dtype)
        self.params = Parameters(self.params, flat=layout)
        self._layout = layout  # kept here too: a user may set params to a list of their own (a frozen bias)
        self._flat_params = layout.value
        self.graph = None
        self._plan = None

    def _trainables(self, params, caller):
        if isinstance(params, dict) or params is not None:
            params = params if isinstance(params, dict) else list(params)
        else:
            data = {id(self.features), id(self.labels)}
            params = [n for n in _ancestors(self.loss).values()  # everything the loss reads, in a stable order
                      if isinstance(n, Input) and id(n) not in data and n.requires_grad]
        params = named_params(params, caller, "Model", "params")
        for p in params:
            if p.value is None:
                raise ValueError(f"Model: parameter {describe(p)} has no value; give it its initial weights "
                                 "(p.value = ...) before making the model")
        return params

    def __repr__(self):
        return (f"Model({self.name!r}, output={describe(self.output)}, loss={type(self.loss).__name__}, "
                f"params={len(self.params)}, task={self.task!r})")

    @property
    def config(self):
        """What describes this model in HParams and saved files (weights aside)."""
        return {"model": self.name, "task": self.task, "params": sum(int(p.value.size) for p in self.params)}

    # --- running the graph -------------------------------------------------------------------

    def _prepare(self, x, y):
        """Sorts the graph once (on the first batch) and works out its passes.

        Training runs what the loss reads, with the loss as the one sink of the backward pass (an
        output the loss does not read, e.g. ``Softmax(logits)`` beside a loss on the logits, takes
        no part in it); predicting runs what the output reads; evaluating runs both.
        """
        feed = {self.features: x}
        if y is not None:
            feed[self.labels] = y
        elif self.labels.value is None:
            feed[self.labels] = np.zeros(len(x))
        reads_loss, reads_output = _ancestors(self.loss), _ancestors(self.output)
        for data, role in ((self.features, "features"), (self.labels, "labels")):
            if id(data) not in reads_loss:
                raise ValueError(f"Model: the loss {describe(self.loss)} does not read the {role} "
                                 f"{describe(data)}; pass the Input the loss reads as {role}")
        if id(self.features) not in reads_output:
            raise ValueError(f"Model: the output {describe(self.output)} does not read the features "
                             f"{describe(self.features)}; pass the node that predicts from them as output")
        if self.params and not any(id(p) in reads_output for p in self.params):
            raise ValueError(f"Model: the output {describe(self.output)} reads none of the parameters the loss "
                             f"{describe(self.loss)} trains; pass the node the loss scores (or one computed from it)")
        unused = [describe(p) for p in self.params if id(p) not in reads_loss]
        if unused:
            raise ValueError(f"Model: the loss {describe(self.loss)} does not read the parameter(s) "
                             f"{', '.join(unused)}, so training cannot change them; leave them out of params")
        graph = topological_sort(feed)
        members = set(map(id, graph))
        missing = [describe(n) for n in (self.output, self.loss, *self.params) if id(n) not in members]
        if missing:
            raise ValueError(f"Model: {', '.join(missing)} is not computed from the features "
                             f"{describe(self.features)}; pass the nodes of one graph")
        readers = [describe(n) for n in self.loss.outbound_nodes if id(n) in members]
        if readers:
            raise ValueError(f"Model: the loss {describe(self.loss)} is read by {', '.join(readers)}; the loss "
                             "must be the last node (give the node that sums everything as loss)")
        self.graph = graph
        train = [n for n in graph if id(n) in reads_loss]
        for node in graph:  # readers outside the training pass add nothing to a gradient (MiniFlow's
            if id(node) not in reads_loss:  # backward reads every consumer's gradients)
                node.gradients = {parent: 0.0 for parent in node.inbound_nodes if id(parent) in reads_loss}
        self._inference = [n for n in graph if id(n) in reads_output and not isinstance(n, Input)]
        self._output_only = [n for n in self._inference if id(n) not in reads_loss]
        self._loss_nodes = [n for n in graph if (id(n) in reads_loss or id(n) in reads_output)
                            and not isinstance(n, Input)]
        layout = self._layout
        self._plan = Plan(train, grad_buffers=dict(zip(layout.params, layout.grads)))
        # Nodes that train and evaluate differently (Dropout, BatchNorm): switched by _mode.
        self._switches, self._training = [n for n in graph if hasattr(n, "training")], None

    def _mode(self, training):
        """Puts the Dropout and BatchNorm nodes in training (True) or evaluation (False) mode."""
        if self._training is not training:
            for node in self._switches:
                node.training = training
            self._training = training

    @property
    def fast(self):
        """Whether training takes the fast path (None until the graph has seen a batch)."""
        return None if self._plan is None else self._plan.fast

    def _feed(self, x, y=None):
        x = np.asarray(x)
        if x.dtype != self.dtype and x.dtype.kind in "fiub":
            x = x.astype(self.dtype)
        if self.graph is None:
            self._prepare(x, y)
        self.features.value = x
        if y is not None:
            self.labels.value = y

    def train_step(self, x, y):
        """Forward and backward on one batch; leaves ``p.gradients[p]`` for each param. Returns the loss.

        The gradient arrays are reused from step to step (as PyTorch's ``.grad``): copy one to keep it.
        """
        self._feed(x, y)
        if self._training is not True:
            self._mode(True)
        loss = self._plan.run()
        for node in self._output_only:  # an output the loss does not read, for the batch's metric
            node.forward()
        return loss

    def forward(self, x):
        """The output for a batch, by a forward pass through what the output reads only (evaluation mode)."""
        self._feed(x)
        self._mode(False)
        for node in self._inference:
            node.forward()
        return self.output.value

    def batch_metric(self, y):
        """After a pass over a batch with labels ``y``: (sum of the metric over it, how many it counts)."""
        out = self.output.value
        if self.task == "classification":
            if np.ndim(y) == 2 and np.shape(y) == np.shape(out):  # one-hot rows (TensorSlow's labels)
                y = np.argmax(y, axis=1)
            return int(np.count_nonzero(out.argmax(axis=1) == y)), len(y)
        error = np.abs(np.subtract(np.reshape(out, (len(y), -1)), np.reshape(y, (len(y), -1))))
        return float(error.sum()), error.size

    def predict(self, x, batch_size=4096):
        """Class ids (n,) for a classifier, the output (n, ...) for a regression."""
        if self.task == "classification":
            return np.concatenate([np.argmax(self.forward(x[i:i + batch_size]), axis=1)
                                   for i in range(0, max(len(x), 1), batch_size)])
        return np.concatenate([np.array(self.forward(x[i:i + batch_size]))
                               for i in range(0, max(len(x), 1), batch_size)])

    def predict_proba(self, x, batch_size=4096):
        """Class probabilities (n, classes): softmax of a classifier's output (the output itself when it
        is a ``Softmax`` node, Keras' way)."""
        from .nodes import softmax

        if self.task != "classification":
            raise ValueError(f"{type(self).__name__}.predict_proba: a {self.task} model has no class "
                             "probabilities; use predict")
        if type(self.output).__name__.lower() == "softmax":
            softmax = np.asarray  # noqa: F811 - already probabilities
        return np.concatenate([softmax(self.forward(x[i:i + batch_size]))
                               for i in range(0, max(len(x), 1), batch_size)])

    def evaluate(self, x, y, batch_size=4096):
        """Mean loss and the task's metric (accuracy, or mean absolute error) over a data set.

        Returns:
            (loss, metric) as floats.
        """
        n = len(x)
        if n == 0:
            return float("nan"), float("nan")
        total_loss, total, count = 0.0, 0, 0
        for i in range(0, n, batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            self._feed(xb, yb)
            self._mode(False)
            for node in self._loss_nodes:
                node.forward()
            total_loss += float(self.loss.value) * len(xb)
            s, c = self.batch_metric(yb)
            total, count = total + s, count + c
        return total_loss / n, total / count

    # --- weights -------------------------------------------------------------------------------

    @property
    def named_params(self):
        """``{name: Input}`` for every parameter, in order."""
        return {p.name: p for p in self.params}

    def get_weights(self):
        """A copy of every parameter, by name."""
        return {p.name: p.value.copy() for p in self.params}

    def set_weights(self, weights):
        """Copies parameter values in by name; every parameter must be given with its shape."""
        kind = type(self).__name__
        missing = [p.name for p in self.params if p.name not in weights]
        if missing:
            raise ValueError(f"{kind}.set_weights: missing {', '.join(missing)}")
        for p in self.params:
            value = np.asarray(weights[p.name])
            if value.shape != p.value.shape:
                raise ValueError(f"{kind}.set_weights: {p.name} has shape {p.value.shape}, got {value.shape}")
            p.value[...] = value

    def save(self, path):
        """Writes the parameters (and ``config``) to an ``.npz`` file, no pickle, atomically."""
        return save_npz(path, {p.name: p.value for p in self.params}, self.config, type(self).__name__)

    def load_weights(self, path):
        """Sets the parameters from a file written by ``save`` (read with ``allow_pickle=False``)."""
        with np.load(path, allow_pickle=False) as data:
            self.set_weights({name: data[name] for name in data.files if name != "__config__"})
        return self


def _ancestors(node):
    """``{id: node}`` for ``node`` and every node it reads, directly or not (Inputs in a stable order)."""
    return {id(n): n for n in postorder([node])}


def named_params(params, caller, kind, arg, noun="parameters"):
    """``params`` (a list of Inputs, or a dict naming them) as a list, every one named: by its dict key,
    its own ``name``, the variable holding it in ``caller`` (``W1``), else ``param_1``, ``param_2``, ...

    Raises TypeError for a non-Input and ValueError for two parameters of one name, from ``kind``.
    """
    if isinstance(params, dict):
        for key, p in params.items():
            if isinstance(p, Input):
                p.name = str(key)
        params = list(params.values())
    params = list(params)
    for i, p in enumerate(params, start=1):
        if not isinstance(p, Input):
            raise TypeError(f"{kind}: {arg} must be Input nodes, got {p!r}")
        if p.name is None:
            p.name = name_from_caller(p, caller) or f"param_{i}"
    names = [p.name for p in params]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{kind}: several {noun} are named {repeated[0]!r}; names must be unique "
                         f"(pass {arg} as a dict to name them)")
    return params


def name_from_caller(node, frame):
    """The name of a variable holding ``node`` in ``frame`` (locals first), or None."""
    for scope in (frame.f_locals, frame.f_globals):
        for key, value in scope.items():
            if value is node and not key.startswith("_") and key.isidentifier():
                return key
    return None


def save_npz(path, arrays, config, kind):
    """Writes ``arrays`` and a JSON ``__config__`` entry beside ``path`` and renames the file into place."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{kind}.save: folder {path.parent} does not exist; create it first")
    arrays = dict(arrays)
    arrays["__config__"] = np.array(json.dumps({"format": FORMAT_VERSION, **config}))
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as f:
            np.savez(f, **arrays)
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()
    return path


class DataShape(tuple):
    """What a model builder learns of the data: ``(num_features, num_outputs, task)``.

    ``num_outputs`` is the number of classes for a classification set and 1 for a regression.
    """

    __slots__ = ()

    def __new__(cls, num_features, num_outputs, task):
        return super().__new__(cls, (int(num_features), int(num_outputs), str(task)))

    num_features = property(lambda self: self[0])
    num_outputs = property(lambda self: self[1])
    task = property(lambda self: self[2])

    def __repr__(self):
        return f"DataShape(num_features={self[0]}, num_outputs={self[1]}, task={self[2]!r})"


def build_model(build, config, data):
    """``build(config, shape)`` for a run: the config as one flat dict (user-defined axes included)."""
    flat = {k: v for k, v in config.items() if k != "extra"}
    flat.update(config.get("extra") or {})
    shape = _shape_of(data)
    regression = shape.task == "regression"
    model = build(flat, shape)
    missing = [a for a in ("params", "train_step", "evaluate", "save") if not hasattr(model, a)]
    if missing:
        raise TypeError(f"the model builder {getattr(build, '__qualname__', build)!r} returned {model!r}, which "
                        f"lacks {', '.join(missing)}; return a flowlab.Model (or an MLP)")
    if getattr(model, "task", shape.task) != shape.task:
        loss = type(getattr(model, "loss", None)).__name__
        fix = ("give it an MSE loss against the targets, or pass task='regression' to Model" if regression else
               "give it a cross-entropy loss (e.g. SoftmaxCrossEntropy(logits, y)) with shape.num_outputs "
               "outputs, or pass task='classification' to Model if its loss scores class ids")
        raise ValueError(f"the model builder {getattr(build, '__qualname__', build)!r} returned a {model.task} "
                         f"model (loss {loss}) for the {shape.task} dataset {config.get('dataset')!r} "
                         f"(shape.task is {shape.task!r}); {fix}, or choose a {model.task} dataset")
    return model


def check_builder(build, config, data, run):
    """``build_model`` for one run, in the driver: a ValueError naming the builder, the run and the failing
    line (a builder that fails for this run would fail in every worker)."""
    import traceback

    try:
        model = build_model(build, config, data)
    except Exception as exc:  # noqa: BLE001 - any error in the user's code reads the same
        where = getattr(build, "__qualname__", repr(build))
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(
            os.path.dirname(__file__))]
        line = f" at {frames[-1].filename}:{frames[-1].lineno} ({frames[-1].line})" if frames else ""
        raise ValueError(f"model={where} fails to build the model of run {run!r}: {type(exc).__name__}: "
                         f"{exc}{line}; nothing was written. Fix the builder (try it with "
                         f"build(config, shape) for shape {_shape_of(data)}) and run the sweep again") from None
    return model


def _shape_of(data):
    regression = data.num_classes == 0
    return DataShape(data.num_features, 1 if regression else data.num_classes,
                     "regression" if regression else "classification")
