"""MLP: builds the graph of a multi-layer perceptron from layer sizes, with Keras' layer and parameter names."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from .graph import Input, Node
from .init import default_init, get_initializer
from .losses import MSE, SoftmaxCrossEntropy
from .model import FORMAT_VERSION, Model, save_npz  # noqa: F401 (FORMAT_VERSION: the file format, re-exported)
from .nodes import Linear, get_activation

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

    Example:
        >>> from flowlab.models import MLP
        >>> model = MLP([4, 8, 3], activation="tanh", seed=0)
        >>> [p.name for p in model.params]
        ['dense_1/kernel', 'dense_1/bias', 'dense_2/kernel', 'dense_2/bias']
        >>> model.predict(np.zeros((2, 4))).shape
        (2,)
    """

    def __init__(self, sizes, activation="relu", init=None, seed=0, dtype=np.float64, loss="cross_entropy"):
        sizes = [int(s) for s in sizes] if _is_sequence(sizes) else None
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
            act = None if last else activation_cls(linear, name=f"{name}/{activation}")
            self.layers.append(Layer(name, kernel, bias, linear, act))
            h = linear if last else act
        self.logits = h
        if loss == "mse":
            loss_node, task = MSE(labels, self.logits, name="loss/mean_squared_error"), "regression"
        else:
            loss_node = SoftmaxCrossEntropy(self.logits, labels, name="loss/softmax_cross_entropy")
            task = "classification"
        params = [p for layer in self.layers for p in (layer.kernel, layer.bias)]
        super().__init__(features, labels, self.logits, loss_node, params, task=task, name="mlp")
        # Sort once; every step after this only assigns values (no re-sorting per step).
        self._prepare(np.zeros((1, sizes[0]), dtype=dtype),
                      np.zeros(1, dtype=np.int64 if task == "classification" else dtype))

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
        return config

    def __repr__(self):
        loss = f", loss={self.loss_name!r}" if self.loss_name != "cross_entropy" else ""
        return f"MLP({self.sizes}, activation={self.activation!r}, init={self.init!r}, seed={self.seed}{loss})"

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

    @classmethod
    def load(cls, path):
        """Rebuilds a model saved with ``save``."""
        with np.load(path, allow_pickle=False) as data:
            if "__config__" not in data.files:
                raise ValueError(f"MLP.load: {path} is not a flowlab model file (no __config__ entry)")
            config = json.loads(str(data["__config__"]))
            config.pop("format", None)
            model = cls(**config)
            model.set_weights({name: data[name] for name in data.files if name != "__config__"})
        return model


def _is_sequence(value):
    return isinstance(value, (list, tuple, np.ndarray))
