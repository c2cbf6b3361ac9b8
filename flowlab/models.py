"""MLP: builds the graph of a multi-layer perceptron from layer sizes, with Keras' layer and parameter names."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from .graph import Input, Node
from .init import default_init, get_initializer
from .losses import MSE, SoftmaxCrossEntropy
from .model import FORMAT_VERSION, Model, save_npz  # noqa: F401 (FORMAT_VERSION: the file format, re-exported)
from .nodes import Add, Linear, get_activation
from .regularization import BatchNorm, Dropout, L1Penalty, L2Penalty

__all__ = ["MLP", "Layer", "LOSSES"]

#: The MLP's losses: softmax cross-entropy against class ids, or mean squared error against numbers.
LOSSES = ("cross_entropy", "mse")


@dataclass(frozen=True)
class Layer:
    """One dense layer: its parameters and the nodes that compute it (activation is None on the last)."""

    name: str
    kernel: Input
    bias: Input
    linear: Node
    activation: Node | None
    norm: Node | None = None      # BatchNorm between linear and activation (batchnorm=True)
    dropout: Node | None = None   # Dropout after the activation (dropout > 0)


class MLP(Model):
    """A multi-layer perceptron built from flowlab nodes: a classifier, or a regression with ``loss="mse"``.

    ``MLP([64, 64, 10])`` has 64 input features, one hidden layer of 64 units and 10 classes. The
    layers are ``dense_1``, ``dense_2``, ... with parameters ``dense_1/kernel`` (fan_in, fan_out)
    and ``dense_1/bias``; the hidden layers use ``activation`` and the last one gives the logits,
    scored by softmax cross-entropy against class ids.

    The initial weights depend only on ``sizes``, ``init``, ``seed`` and ``dtype``, so runs that
    differ in optimizer or learning rate start from identical weights.

    Args:
        sizes: layer widths, inputs first and classes last; at least two.
        activation: a name from ``flowlab.nodes.ACTIVATIONS`` ("relu", "sigmoid", "tanh", ...).
        init: a name from ``flowlab.init.INITIALIZERS``; None picks He for ReLU-like activations
            and Glorot otherwise. Biases start at zero.
        seed: seeds the initial weights.
        dtype: float64 (the default, exact enough for gradient checks) or float32 (faster).
        loss: "cross_entropy" (classes; ``sizes[-1]`` is the number of classes) or "mse" (mean
            squared error against ``sizes[-1]`` target numbers per example, a regression).
        l1, l2: Keras' kernel regularizers: ``l1 * sum|W|`` and ``l2 * sum(W**2)`` over the kernels,
            added to the data loss (``data_loss``); their sum is ``loss`` (also ``objective``), which
            training minimizes. ``train_step`` and ``evaluate`` report the data loss.
        dropout: rate of a ``Dropout`` after each hidden activation (``dropout_1``, ...); 0: none.
        batchnorm: a ``BatchNorm`` between each hidden Linear and its activation
            (``batch_normalization_1/gamma``, ``/beta``, running statistics for evaluation).

    Example:
        >>> from flowlab.models import MLP
        >>> model = MLP([4, 8, 3], activation="tanh", seed=0)
        >>> [p.name for p in model.params]
        ['dense_1/kernel', 'dense_1/bias', 'dense_2/kernel', 'dense_2/bias']
        >>> model.predict(np.zeros((2, 4))).shape
        (2,)
    """

    def __init__(self, sizes, activation="relu", init=None, seed=0, dtype=np.float64, loss="cross_entropy",
                 l1=0.0, l2=0.0, dropout=0.0, batchnorm=False):
        sizes = _whole_sizes(sizes)
        if not sizes or len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(
                f"MLP: sizes must list at least two positive widths (inputs, ..., classes), "
                f"got sizes={sizes!r}; e.g. MLP([64, 64, 10])"
            )
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"MLP: dtype must be float32 or float64, got dtype={dtype}")
        if loss not in LOSSES:
            raise ValueError(f"MLP: loss must be one of {', '.join(LOSSES)}, got loss={loss!r}")
        activation_cls = get_activation(activation)
        init = init or default_init(activation)
        init_fn = get_initializer(init)
        self.sizes, self.activation, self.init, self.seed = sizes, activation, init, seed
        self.loss_name = loss
        self.l1, self.l2, self.dropout, self.batchnorm = float(l1), float(l2), float(dropout), bool(batchnorm)

        rng = np.random.default_rng(seed)
        features = Input(name="input/features", requires_grad=False)
        labels = Input(name="input/labels", requires_grad=False)
        self.layers = []
        h = features
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            name = f"dense_{i}"
            kernel = Input(name=f"{name}/kernel")
            kernel.value = init_fn((fan_in, fan_out), rng, dtype=dtype)
            bias = Input(name=f"{name}/bias")
            bias.value = np.zeros(fan_out, dtype=dtype)
            linear = Linear(h, kernel, bias, name=f"{name}/linear")
            last = i == len(sizes) - 1
            norm = drop = None
            if last:
                act = None
            else:
                norm = self._batchnorm(linear, i, fan_out, dtype) if self.batchnorm else None
                act = activation_cls(norm or linear, name=f"{name}/{activation}")
                # Its own generator: the initial weights do not depend on the dropout rate.
                masks = None if seed is None else [seed, i]
                drop = Dropout(act, self.dropout, seed=masks, name=f"dropout_{i}/dropout") if self.dropout else None
            self.layers.append(Layer(name, kernel, bias, linear, act, norm, drop))
            h = linear if last else (drop or act)
        self.logits = h
        if loss == "mse":
            loss_node, task = MSE(labels, self.logits, name="loss/mean_squared_error"), "regression"
        else:
            loss_node = SoftmaxCrossEntropy(self.logits, labels, name="loss/softmax_cross_entropy")
            task = "classification"
        params = [p for layer in self.layers for p in (layer.kernel, layer.bias)
                  + ((layer.norm.inbound_nodes[1], layer.norm.inbound_nodes[2]) if layer.norm else ())]
        # Training minimizes the data loss plus the penalties: that sum is the Model's loss (the graph's
        # last node); what is logged and evaluated is the data loss.
        self.data_loss = loss_node
        self.objective, self.penalty = self._regularized(loss_node)
        super().__init__(features, labels, self.logits, self.objective, params, task=task, name="mlp")
        # Sort once; every step after this only assigns values (no re-sorting per step).
        self._prepare(np.zeros((1, sizes[0]), dtype=dtype),
                      np.zeros(1, dtype=np.int64 if task == "classification" else dtype))

    # --- regularization: penalties in the objective, nodes that train and evaluate differently ----

    def _batchnorm(self, x, i, width, dtype):
        scope = f"batch_normalization_{i}"
        gamma, beta = Input(name=f"{scope}/gamma"), Input(name=f"{scope}/beta")
        gamma.value, beta.value = np.ones(width, dtype=dtype), np.zeros(width, dtype=dtype)
        norm = BatchNorm(x, gamma, beta, name=f"{scope}/batchnorm")
        norm.running_mean, norm.running_var = np.zeros(width, dtype=dtype), np.ones(width, dtype=dtype)
        return norm

    def _regularized(self, loss):
        """(the node training minimizes, the penalty node or None): the loss plus the kernels' penalties."""
        kernels = [layer.kernel for layer in self.layers]
        penalties = [cls(*kernels, factor=factor, name=f"regularization/{label}")
                     for cls, factor, label in ((L1Penalty, self.l1, "l1"), (L2Penalty, self.l2, "l2")) if factor]
        if not penalties:
            return loss, None
        penalty = penalties[0] if len(penalties) == 1 else Add(*penalties, name="regularization/total")
        return Add(loss, penalty, name="loss/total"), penalty

    def _penalties(self):
        if self.penalty is None:
            return ()
        return (self.penalty, *self.penalty.inbound_nodes) if isinstance(self.penalty, Add) else (self.penalty,)

    def regularization_loss(self):
        """The L1 + L2 penalty of the current weights (0.0 without l1 and l2)."""
        if self.penalty is None:
            return 0.0
        for node in self._penalties()[::-1]:
            node.forward()
        return float(self.penalty.value)

    def _statistics(self):
        """The running statistics of batch normalization by Keras' names: {name: (node, attribute)}."""
        found = {}
        for layer in self.layers:
            if layer.norm is not None:
                scope = layer.norm.name.rsplit("/", 1)[0]
                found[f"{scope}/moving_mean"] = (layer.norm, "running_mean")
                found[f"{scope}/moving_variance"] = (layer.norm, "running_var")
        return found

    def _prepare(self, x, y):
        super()._prepare(x, y)
        if self.penalty is not None:  # evaluation computes the data loss only
            skip = {id(n) for n in (*self._penalties(), self.objective)}
            self._loss_nodes = [n for n in self._loss_nodes if id(n) not in skip]

    def train_step(self, x, y):
        """Forward and backward on one batch (dropout on, batch statistics); returns the data loss.

        The gradients are those of ``objective`` (the loss plus any L1/L2 penalty). The gradient
        arrays are reused from step to step (as PyTorch's ``.grad``): copy one to keep it.
        """
        total = super().train_step(x, y)
        return total if self.penalty is None else self.data_loss.value

    def evaluate(self, x, y, batch_size=4096):
        """Mean data loss (no penalty) and the metric over a data set, in evaluation mode."""
        if self.penalty is None:
            return super().evaluate(x, y, batch_size)
        objective, self.loss = self.loss, self.data_loss  # Model.evaluate averages self.loss
        try:
            return super().evaluate(x, y, batch_size)
        finally:
            self.loss = objective

    def get_weights(self):
        """A copy of every parameter, by name (``dense_1/kernel``, ...), and of batchnorm's running statistics."""
        weights = super().get_weights()
        weights.update({name: getattr(node, attr).copy() for name, (node, attr) in self._statistics().items()})
        return weights

    def set_weights(self, weights):
        """Copies parameter values in by name (every parameter, with its shape; running statistics if given)."""
        super().set_weights(weights)
        for name, (node, attr) in self._statistics().items():
            if name in weights:
                setattr(node, attr, np.array(weights[name], dtype=self.dtype))

    @property
    def layer_names(self):
        return [layer.name for layer in self.layers]

    @property
    def config(self):
        """The arguments that rebuild this model (weights aside)."""
        config = {"sizes": list(self.sizes), "activation": self.activation, "init": self.init,
                  "seed": self.seed, "dtype": self.dtype.name}
        if self.loss_name != "cross_entropy":
            config["loss"] = self.loss_name
        config.update(self._options())
        return config

    def _options(self):
        """The regularization options that differ from the defaults."""
        options = {"l1": self.l1, "l2": self.l2, "dropout": self.dropout, "batchnorm": self.batchnorm}
        return {k: v for k, v in options.items() if v}

    def __repr__(self):
        loss = f", loss={self.loss_name!r}" if self.loss_name != "cross_entropy" else ""
        extra = "".join(f", {k}={v!r}" for k, v in self._options().items())
        return f"MLP({self.sizes}, activation={self.activation!r}, init={self.init!r}, seed={self.seed}{loss}{extra})"

    def summary(self):
        """A text table of the layers in order, as Keras' ``model.summary()``: name, op, output width, parameters."""
        rows = [("layer", "op", "output", "params")]
        for layer in self.layers:
            for node in (layer.linear, layer.norm, layer.activation, layer.dropout):
                if node is None:
                    continue
                params = sum(np.size(n.value) for n in node.inbound_nodes
                             if isinstance(n, Input) and n.requires_grad)
                width = layer.kernel.value.shape[1]
                op = type(node).__name__ + (f"(rate={node.rate:g})" if node is layer.dropout else "")
                rows.append((node.name, op, f"(batch, {width})", f"{params:,}"))
        rows.append((self.data_loss.name, type(self.data_loss).__name__, "scalar", "0"))
        for node in self._penalties():
            if not isinstance(node, Add):
                rows.append((node.name, f"{type(node).__name__}(factor={node.factor:g})", "scalar", "0"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        total = sum(int(np.size(p.value)) for p in self.params)
        minimized = "loss + " + " + ".join(n.name for n in self._penalties() if not isinstance(n, Add)) \
            if self.penalty is not None else "loss"
        lines.append(f"total parameters: {total:,}; training minimizes {minimized}")
        return "\n".join(lines)

    def _feed(self, x, y=None):
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(
                f"MLP: expected features of shape (batch, {self.sizes[0]}), got {x.shape}"
            )
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        self.features.value = x
        if y is not None:
            self.labels.value = y

    def save(self, path):
        """Writes the config and parameters to an ``.npz`` file (no pickle).

        The file appears whole or not at all: it is written beside ``path`` and renamed into place.
        """
        return save_npz(path, self.get_weights(), self.config, "MLP")

    @classmethod
    def load(cls, path):
        """Rebuilds a model saved with ``save``."""
        with np.load(path, allow_pickle=False) as data:
            if "__config__" not in data.files:
                raise ValueError(f"MLP.load: {path} is not a flowlab model file (no __config__ entry)")
            config = json.loads(str(data["__config__"]))
            if not isinstance(config, dict):
                raise ValueError(f"MLP.load: {path} is not a flowlab model file (its __config__ is not a dict)")
            config.pop("format", None)
            _check_stored_shapes(path, data, config)  # before allocating what the config asks for
            model = cls(**config)
            model.set_weights({name: data[name] for name in data.files if name != "__config__"})
        return model


def _whole_sizes(sizes):
    """The widths as ints, or None unless every one is a whole number (not 64.7, nan, inf, True)."""
    if not _is_sequence(sizes):
        return None
    out = []
    for s in sizes:
        if isinstance(s, (bool, np.bool_)):
            return None
        if isinstance(s, (float, np.floating)) and not (np.isfinite(s) and float(s).is_integer()):
            return None
        try:
            out.append(int(s))
        except (TypeError, ValueError, OverflowError):
            return None
    return out


def _check_stored_shapes(path, data, config):
    """Raises ValueError unless the file holds exactly the arrays its config describes, read from the
    arrays' headers only: a small damaged file cannot make load allocate gigabytes."""
    import zipfile

    sizes = _whole_sizes(config.get("sizes"))
    if not sizes or len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"MLP.load: {path}: its config has no valid sizes ({config.get('sizes')!r})")
    expected = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        expected[f"dense_{i}/kernel"], expected[f"dense_{i}/bias"] = (fan_in, fan_out), (fan_out,)
    stored = {}
    with zipfile.ZipFile(path) as z:
        for name in data.files:
            if name == "__config__":
                continue
            with z.open(f"{name}.npy") as f:
                version = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                    np.lib.format.read_array_header_2_0
                shape, _, _ = read(f)
            stored[name] = tuple(shape)
    # Per-unit vectors beside the layers (BatchNorm's gamma, beta, running statistics) are no bigger than a layer.
    extra = {k for k, shape in stored.items() if k not in expected and int(np.prod(shape)) <= max(sizes)}
    stored = {k: v for k, v in stored.items() if k not in extra}
    if stored != expected:
        wrong = sorted(set(stored) ^ set(expected)) or sorted(k for k in stored if stored[k] != expected[k])
        raise ValueError(f"MLP.load: {path}: the stored arrays do not match its config sizes={sizes} "
                         f"(first difference: {wrong[0]}: stored {stored.get(wrong[0])}, config needs "
                         f"{expected.get(wrong[0])}); the file is damaged")


def _is_sequence(value):
    return isinstance(value, (list, tuple, np.ndarray))
