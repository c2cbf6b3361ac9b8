"""A run's configuration: the fields every sweep axis names, their checks, and the run's name.

``RunConfig`` is one training run, frozen; ``validated()`` normalises it or raises ValueError naming
the field, the value and what would work. ``run_name`` is how a run's folder and TensorBoard run
read (``lr=0.01,activation=relu``); ``format_value`` keeps those names short and filesystem-safe.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from .data import DATASETS, check_batch_size, check_files, dataset_info, default_dtype
from .init import INITIALIZERS
from ._checks import choice, is_whole
from .nodes import ACTIVATIONS
from .optim import OPTIMIZERS
from .settings import SHORT as SETTINGS_SHORT
from .settings import check_settings, settings_hparams

__all__ = ["RunConfig", "CONFIG_FIELDS", "SHORT", "parse_hidden", "format_value", "run_name", "config_dict",
           "config_value"]

#: Short names for run directories, in the order they appear there.
SHORT = {"dataset": "dataset", "hidden": "hidden", "learning_rate": "lr", "activation": "activation",
         "optimizer": "optimizer", "batch_size": "batch", "init": "init", "epochs": "epochs", "seed": "seed",
         "val_fraction": "val", "dtype": "dtype", "data_dir": "data", "noise": "noise", "n_samples": "samples",
         "standardize": "standardize"}


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one training run. Every field can be a sweep axis.

    ``learning_rate=None`` uses the optimizer's default; ``init=None`` follows the activation;
    ``batch_size=None`` is full-batch gradient descent, 1 stochastic, n mini-batch.
    """

    dataset: str = "digits"
    hidden: tuple = (64,)
    learning_rate: float | None = None
    activation: str = "relu"
    optimizer: str = "adam"
    batch_size: int | None = 32
    init: str | None = None
    epochs: int = 20
    seed: int = 0
    # Optimizer settings (None: the optimizer's default), schedule, regularization: see flowlab.settings.
    momentum: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    eps: float | None = None
    nesterov: bool | None = None
    weight_decay: float = 0.0
    schedule: str = "constant"
    l1: float = 0.0
    l2: float = 0.0
    dropout: float = 0.0
    batchnorm: bool = False
    val_fraction: float = 0.2
    dtype: str | None = None  # None: flowlab.data.default_dtype(dataset), float32 for MNIST-size inputs
    data_dir: str | None = None
    # Data settings (load_dataset's arguments): None means the dataset's own default.
    noise: float | None = None
    n_samples: int | None = None
    standardize: bool = True
    #: User-defined axes, by name, for a custom model builder (``Experiment(model=build, width=...)``).
    extra: dict = field(default_factory=dict)

    def validated(self):
        """A normalized copy; raises ValueError naming the field, the value and what would work."""
        c = self
        names = ("dataset", "activation", "optimizer") + tuple(k for k in ("init", "dtype") if getattr(c, k) is not None)
        for key in names:
            if not isinstance(getattr(c, key), str):
                raise ValueError(f"{key} must be a name (a string), got {key}={getattr(c, key)!r}")
        # Names compare case-insensitively, as documented: ReLU, HE_NORMAL, Adam.
        c = replace(c, activation=c.activation.strip().lower(), optimizer=c.optimizer.strip().lower(),
                    init=c.init.strip().lower() if c.init is not None else None,
                    dtype=c.dtype.strip().lower() if c.dtype is not None else None)
        if c.dataset not in DATASETS:
            c = replace(c, dataset=dataset_info(c.dataset).name)
        if c.data_dir is not None and not isinstance(c.data_dir, (str, os.PathLike)):
            raise ValueError(f"data_dir must be a folder path, got data_dir={c.data_dir!r}")
        if c.data_dir is not None and os.path.exists(c.data_dir) and not os.path.isdir(c.data_dir):
            raise ValueError(f"data_dir must be a folder holding the dataset's files, got data_dir={c.data_dir} "
                             "(a file)")
        try:
            check_files(c.dataset, c.data_dir)
        except FileNotFoundError as exc:
            raise ValueError(str(exc)) from None
        if c.activation not in ACTIVATIONS:
            raise ValueError(choice("activation", c.activation, ACTIVATIONS))
        if c.optimizer not in OPTIMIZERS:
            raise ValueError(choice("optimizer", c.optimizer, OPTIMIZERS))
        if c.init is not None and c.init not in INITIALIZERS:
            raise ValueError(choice("init", c.init, INITIALIZERS))
        if c.learning_rate is not None:
            lr = _number("learning_rate", c.learning_rate)
            if not lr > 0 or not math.isfinite(lr):
                raise ValueError(f"learning_rate must be a number > 0, got learning_rate={c.learning_rate!r}")
            c = replace(c, learning_rate=lr)
        try:
            batch = check_batch_size(c.batch_size)
        except ValueError as exc:
            raise ValueError(str(exc) if "batch_size" in str(exc) else f"batch_size: {exc}") from None
        c = check_settings(replace(c, optimizer=str(c.optimizer).lower(), batch_size=batch))
        hidden = parse_hidden(c.hidden)
        if not is_whole(c.epochs) or c.epochs < 1:
            raise ValueError(f"epochs must be a whole number >= 1, got epochs={c.epochs!r}")
        if not is_whole(c.seed) or not 0 <= c.seed < 2**32:
            raise ValueError(f"seed must be a whole number from 0 to 2**32 - 1, got seed={c.seed!r}")
        if isinstance(c.val_fraction, str) or not 0 < _number("val_fraction", c.val_fraction) < 1:
            raise ValueError(f"val_fraction must be a number between 0 and 1, got val_fraction={c.val_fraction!r}")
        if c.dtype is None:
            c = replace(c, dtype=default_dtype(c.dataset).name)
        if str(c.dtype) not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got dtype={c.dtype!r}")
        c = _validated_data_settings(c)
        return replace(c, batch_size=batch, hidden=hidden, epochs=int(c.epochs), seed=int(c.seed),
                       val_fraction=float(c.val_fraction))

    def hparams(self):
        """The config as TensorBoard HParams values (numbers, strings), user-defined axes included.

        The learning rate and the batch size are strings ("0.001", "full"), so that every sweep
        gives their columns one type and the parallel-coordinates plot spaces their values evenly
        (a numeric axis is linear: 0.001 and 0.01 would overlap). A default is written as the
        value it stands for (the optimizer's learning rate, the activation's initializer).
        """
        return {**self._hparams(), **{k: v if isinstance(v, (bool, int, float, str)) else format_value(k, v)
                                      for k, v in self.extra.items()}}

    def _hparams(self):
        from .init import default_init

        lr = self.learning_rate
        if lr is None:
            import inspect

            lr = inspect.signature(OPTIMIZERS[self.optimizer]).parameters["lr"].default
        return {
            "dataset": self.dataset,
            "hidden": format_value("hidden", self.hidden),
            "learning_rate": np.format_float_positional(float(lr), trim="-"),
            "activation": self.activation,
            "optimizer": self.optimizer,
            "batch_size": str(self.batch_size) if self.batch_size is not None else "full",
            "init": self.init or default_init(self.activation),
            "epochs": self.epochs,
            "seed": self.seed,
            **settings_hparams(self),
            "val_fraction": self.val_fraction,
            "dtype": self.dtype,
            # Strings, as learning_rate: "default" and "all" never share a column with numbers.
            "noise": format_value("noise", self.noise),
            "n_samples": str(self.n_samples if self.n_samples is not None else _default_samples(self.dataset)),
            "standardize": self.standardize,
        }


def _default_samples(dataset):
    info = DATASETS.get(dataset)
    return info.num_samples if info is not None and info.source == "generated" else "all"


def _validated_data_settings(c):
    info = DATASETS[c.dataset]
    if c.noise is not None:
        if info.source != "generated":
            generated = ", ".join(n for n, d in DATASETS.items() if d.source == "generated")
            raise ValueError(f"noise applies to the generated datasets ({generated}), not {c.dataset!r}; "
                             f"got noise={c.noise!r}")
        noise = _number("noise", c.noise)
        if not (math.isfinite(noise) and 0 <= noise <= 1e6):
            # The points are standardized, which squares them: far beyond the data's own scale (about 1),
            # noise only makes them overflow.
            raise ValueError(f"noise must be a number from 0 to 1e6 (the points' own scale is about 1), "
                             f"got noise={c.noise!r}")
        c = replace(c, noise=noise)
    if c.n_samples is not None:
        if not is_whole(c.n_samples) or c.n_samples < 2:
            raise ValueError(f"n_samples must be a whole number >= 2, got n_samples={c.n_samples!r}")
        if info.source == "bundled" and c.n_samples > info.num_samples:
            raise ValueError(f"n_samples={c.n_samples} but {c.dataset!r} has only {info.num_samples} examples")
        c = replace(c, n_samples=int(c.n_samples))
    n = c.n_samples or info.num_samples
    if info.builtin and not 1 <= round(n * float(c.val_fraction)) <= n - 1:
        raise ValueError(f"val_fraction={c.val_fraction} of {n} examples leaves an empty training or validation "
                         "set; give more n_samples or another val_fraction")
    if not isinstance(c.standardize, (bool, np.bool_)):
        raise ValueError(f"standardize must be True or False, got standardize={c.standardize!r}")
    return replace(c, standardize=bool(c.standardize))


CONFIG_FIELDS = tuple(f.name for f in fields(RunConfig) if f.name != "extra")


def _number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating, str)):
        raise ValueError(f"{name} must be a number, got {name}={value!r}")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {name}={value!r}") from None


def parse_hidden(value):
    """Hidden layer widths from 64, "64,32", (64, 32) or "" (no hidden layer), as a tuple of ints."""
    if isinstance(value, str):
        text = value.strip()
        parts = [] if text.lower() in ("", "none") else [p.strip() for p in text.split(",")]
    elif is_whole(value):
        parts = [value]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        parts = None
    widths = None
    if parts is not None:
        widths = tuple(_width(p) for p in parts)
    if widths is None or None in widths:
        raise ValueError(
            f"hidden must list whole positive layer widths, e.g. 64 or '64,32' ('' for none), got hidden={value!r}"
        )
    return widths


def _width(part):
    """A layer width from '64' or 64 (not 64.7, -3, True, nan); None if it is not one."""
    if isinstance(part, str) and re.fullmatch(r"\d+", part):
        part = int(part)
    if is_whole(part) and part >= 1:
        return int(part)
    return None


def format_value(key, value):
    """How a config value reads in a run name: short, filesystem-safe, regex-friendly."""
    if key == "hidden":
        return "-".join(str(w) for w in value) if value else "none"
    if value is None:
        return {"batch_size": "full"}.get(key, "default")
    if isinstance(value, float):
        return format(value, "g")
    text = str(value)
    return re.sub(r"[^A-Za-z0-9._+-]", "_", text)


SHORT.update(SETTINGS_SHORT)


def run_name(config, varied):
    """``lr=0.01,activation=relu,optimizer=adam``: the varied fields of ``config``, in sweep order."""
    if not varied:
        return "run"
    return ",".join(f"{SHORT.get(k, k)}={format_value(k, config_value(config, k))}" for k in varied)


def config_dict(config):
    """The config as a plain dict for run.json and the workers; ``extra`` only when it holds axes."""
    d = asdict(config)
    if not d["extra"]:
        del d["extra"]
    return d


def config_value(config, key):
    """A config field's value, or a user-defined axis' (``config.extra``)."""
    return config.extra[key] if key in config.extra else getattr(config, key)
