"""MLP: builds the graph of a multi-layer perceptron from layer sizes, with Keras' layer and parameter names."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .graph import Input, Node, Plan, topological_sort
from .init import default_init, get_initializer
from .losses import SoftmaxCrossEntropy
from .nodes import Linear, get_activation

__all__ = ["MLP", "Layer"]

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Layer:
    """One dense layer: its parameters and the nodes that compute it (activation is None on the last)."""

    name: str
    kernel: Input
    bias: Input
    linear: Node
    activation: Node | None


class MLP:
    """A multi-layer perceptron classifier built from flowlab nodes.

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

    Example:
        >>> from flowlab.models import MLP
        >>> model = MLP([4, 8, 3], activation="tanh", seed=0)
        >>> [p.name for p in model.params]
        ['dense_1/kernel', 'dense_1/bias', 'dense_2/kernel', 'dense_2/bias']
        >>> model.predict(np.zeros((2, 4))).shape
        (2,)
    """

    def __init__(self, sizes, activation="relu", init=None, seed=0, dtype=np.float64):
        sizes = _whole_sizes(sizes)
        if not sizes or len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(
                f"MLP: sizes must list at least two positive widths (inputs, ..., classes), "
                f"got sizes={sizes!r}; e.g. MLP([64, 64, 10])"
            )
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"MLP: dtype must be float32 or float64, got dtype={dtype}")
        activation_cls = get_activation(activation)
        init = init or default_init(activation)
        init_fn = get_initializer(init)
        self.sizes, self.activation, self.init, self.seed, self.dtype = sizes, activation, init, seed, dtype

        rng = np.random.default_rng(seed)
        self.features = Input(name="input/features", requires_grad=False)
        self.labels = Input(name="input/labels", requires_grad=False)
        self.layers = []
        h = self.features
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            name = f"dense_{i}"
            kernel = Input(name=f"{name}/kernel")
            kernel.value = init_fn((fan_in, fan_out), rng, dtype=dtype)
            bias = Input(name=f"{name}/bias")
            bias.value = np.zeros(fan_out, dtype=dtype)
            linear = Linear(h, kernel, bias, name=f"{name}/linear")
            last = i == len(sizes) - 1
            act = None if last else activation_cls(linear, name=f"{name}/{activation}")
            self.layers.append(Layer(name, kernel, bias, linear, act))
            h = linear if last else act
        self.logits = h
        self.loss = SoftmaxCrossEntropy(self.logits, self.labels, name="loss/softmax_cross_entropy")
        self.params = [p for layer in self.layers for p in (layer.kernel, layer.bias)]
        # All parameters live in one flat array, and their gradients in another, so an optimizer
        # can update every parameter with one numpy call per operation (see flowlab.optim).
        self._flat_params, views = _flat_views([p.value for p in self.params], dtype)
        for p, view in zip(self.params, views):
            view[...] = p.value
            p.value = view
        self._flat_grads, grad_views = _flat_views([p.value for p in self.params], dtype)

        # Sort once; every step after this only assigns values (no re-sorting per step).
        self.graph = topological_sort({
            self.features: np.zeros((1, sizes[0]), dtype=dtype),
            self.labels: np.zeros(1, dtype=np.int64),
        })
        cut = self.graph.index(self.logits) + 1
        self._inference = [n for n in self.graph[:cut] if not isinstance(n, Input)]
        self._loss_nodes = [n for n in self.graph if not isinstance(n, Input)]
        self._plan = Plan(self.graph, grad_buffers=dict(zip(self.params, grad_views)))

    @property
    def layer_names(self):
        return [layer.name for layer in self.layers]

    @property
    def config(self):
        """The arguments that rebuild this model (weights aside)."""
        return {"sizes": list(self.sizes), "activation": self.activation, "init": self.init,
                "seed": self.seed, "dtype": self.dtype.name}

    def __repr__(self):
        return f"MLP({self.sizes}, activation={self.activation!r}, init={self.init!r}, seed={self.seed})"

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

    def train_step(self, x, y):
        """Forward and backward on one batch; leaves ``p.gradients[p]`` for each param. Returns the loss.

        The gradient arrays are reused from step to step (as PyTorch's ``.grad``): copy one to keep it.
        """
        self._feed(x, y)
        return self._plan.run()

    def forward(self, x):
        """The logits for a batch, by a forward pass only."""
        self._feed(x)
        for node in self._inference:
            node.forward()
        return self.logits.value

    def predict_proba(self, x, batch_size=4096):
        """Class probabilities, shape (n, classes)."""
        from .nodes import softmax

        return np.concatenate([softmax(self.forward(x[i:i + batch_size]))
                               for i in range(0, max(len(x), 1), batch_size)])

    def predict(self, x, batch_size=4096):
        """Predicted class ids, shape (n,)."""
        return np.concatenate([np.argmax(self.forward(x[i:i + batch_size]), axis=1)
                               for i in range(0, max(len(x), 1), batch_size)])

    def evaluate(self, x, y, batch_size=4096):
        """Mean loss and accuracy over a data set, by forward passes in batches.

        Returns:
            (loss, accuracy) as floats.
        """
        n = len(x)
        if n == 0:
            return float("nan"), float("nan")
        total_loss = 0.0
        correct = 0
        for i in range(0, n, batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            self._feed(xb, yb)
            for node in self._loss_nodes:
                node.forward()
            total_loss += float(self.loss.value) * len(xb)
            correct += int(np.count_nonzero(np.argmax(self.logits.value, axis=1) == yb))
        return total_loss / n, correct / n

    def get_weights(self):
        """A copy of every parameter, by name (``dense_1/kernel``, ...)."""
        return {p.name: p.value.copy() for p in self.params}

    def set_weights(self, weights):
        """Copies parameter values in by name; every parameter must be given with its shape."""
        missing = [p.name for p in self.params if p.name not in weights]
        if missing:
            raise ValueError(f"MLP.set_weights: missing {', '.join(missing)}")
        for p in self.params:
            value = np.asarray(weights[p.name])
            if value.shape != p.value.shape:
                raise ValueError(
                    f"MLP.set_weights: {p.name} has shape {p.value.shape}, got {value.shape}"
                )
            p.value[...] = value

    def save(self, path):
        """Writes the config and parameters to an ``.npz`` file (no pickle).

        The file appears whole or not at all: it is written beside ``path`` and renamed into place.
        """
        path = Path(path)
        if not path.parent.is_dir():
            raise FileNotFoundError(f"MLP.save: folder {path.parent} does not exist; create it first")
        arrays = {p.name: p.value for p in self.params}
        arrays["__config__"] = np.array(json.dumps({"format": FORMAT_VERSION, **self.config}))
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            with open(partial, "wb") as f:
                np.savez(f, **arrays)
            os.replace(partial, path)
        finally:
            if partial.exists():
                partial.unlink()
        return path

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
    if stored != expected:
        wrong = sorted(set(stored) ^ set(expected)) or sorted(k for k in stored if stored[k] != expected[k])
        raise ValueError(f"MLP.load: {path}: the stored arrays do not match its config sizes={sizes} "
                         f"(first difference: {wrong[0]}: stored {stored.get(wrong[0])}, config needs "
                         f"{expected.get(wrong[0])}); the file is damaged")


def _flat_views(arrays, dtype):
    """One flat array of ``dtype`` holding as many numbers as ``arrays``, and a view of it shaped as each."""
    flat = np.zeros(sum(a.size for a in arrays), dtype=dtype)
    views, offset = [], 0
    for a in arrays:
        views.append(flat[offset:offset + a.size].reshape(a.shape))
        offset += a.size
    return flat, views


def _is_sequence(value):
    return isinstance(value, (list, tuple, np.ndarray))
