"""The training loop and its callbacks (Keras-shaped hooks): history, stop on non-finite loss, early stopping."""

from __future__ import annotations

import time

import numpy as np

from .callbacks import Callback
from .data import Dataset, check_arrays, check_batch_size, epoch_batches
from .optim import get_optimizer
from .schedules import LearningRateScheduler
from .status import INTERRUPTED_MESSAGE, RunStatus
from .status import STATUSES  # noqa: F401 - how a run can end, importable here as before

__all__ = ["Callback", "EarlyStopping", "Trainer", "fit", "STATUSES"]

#: A loss at or above this (float32's largest value), or not a number, ends a run as diverged: such a
#: loss is a learning rate that exploded, and TensorBoard, which stores float32, would show it as inf.
DIVERGED_LOSS = float(np.finfo(np.float32).max)


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    Args:
        monitor: a key of the epoch logs, e.g. "val_loss" or "val_accuracy".
        patience: epochs without improvement before stopping.
        min_delta: the smallest change that counts as an improvement.
        mode: "min", "max" or "auto" (max for accuracy, min otherwise).
        restore_best_weights: put back the weights of the best epoch when stopping.
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto", restore_best_weights=False):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got mode={mode!r}")
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got patience={patience}")
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(min_delta)
        self.mode = ("max" if "acc" in monitor else "min") if mode == "auto" else mode
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs=None):
        self.best, self.best_epoch, self.wait, self.best_weights = None, None, 0, None

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor not in (logs or {}):
            raise ValueError(
                f"EarlyStopping: monitor={self.monitor!r} is not in the epoch logs "
                f"({', '.join(sorted(logs or {}))}); validation metrics need validation data"
            )
        value = logs[self.monitor]
        sign = 1 if self.mode == "max" else -1
        if self.best is None or sign * (value - self.best) > self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.trainer.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.trainer.stop = True
            self.trainer.status = RunStatus.EARLY_STOPPED
            if self.best_weights is not None:
                self.trainer.model.set_weights(self.best_weights)


_SHOWN = ("loss", "accuracy", "mae", "val_loss", "val_accuracy", "val_mae")


class _Progress(Callback):
    """A tqdm bar over epochs with the latest metrics."""

    def __init__(self, epochs, desc=None):
        self.epochs, self.desc = epochs, desc

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.epochs, desc=self.desc or "training", unit="epoch", leave=False)

    def on_epoch_end(self, epoch, logs=None):
        shown = {k: f"{v:.4g}" for k, v in logs.items() if k in _SHOWN}
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def on_train_end(self, logs=None):
        self.bar.close()


def fit_arguments(owner, x, y, validation_data, epochs, batch_size, *, regression=False):
    """``fit``'s data, epochs and batch size, checked, with a ``Dataset`` unpacked.

    Returns ``(x, y, validation_data, epochs, batch_size)``; errors name ``owner``.
    """
    if isinstance(x, Dataset):
        if validation_data is None and x.num_val:
            validation_data = (x.x_val, x.y_val)
        x, y = x.x_train, x.y_train
    if y is None:
        raise ValueError(f"{owner}: labels y are required (or pass a flowlab.data.Dataset)")
    if not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"{owner}: epochs must be a whole number >= 1, got epochs={epochs!r}")
    check_arrays(f"{owner} data", "train", x, y, regression=regression)
    if validation_data is not None:
        check_arrays(f"{owner} data", "validation", *validation_data, empty_ok=True, regression=regression)
    return x, y, validation_data, int(epochs), check_batch_size(batch_size)


class Trainer:
    """Trains a model with one optimizer, calling callbacks at Keras' hook points.

    Args:
        model: an ``MLP`` or any ``flowlab.Model`` (anything with ``params``, ``train_step``,
            ``evaluate``, and ``logits`` or ``batch_metric``).
        optimizer: a name from ``flowlab.optim.OPTIMIZERS`` or an optimizer instance.
        lr: the learning rate (None: the optimizer's default).
        callbacks: ``Callback`` instances.
        seed: seeds the per-epoch shuffling.
        progress: show a tqdm progress bar over epochs.
        threads: BLAS threads while training (1 by default: more are slower on small matrices).
        schedule: a learning-rate schedule spec (``"cosine"``, ``"step:10:0.5"``, see
            ``flowlab.schedules``), a ``Schedule``, or Keras' ``fn(epoch, lr)``; None keeps it constant.
        **optimizer_kwargs: passed to the optimizer (momentum, betas, ...).

    Example:
        >>> from flowlab.data import load_dataset
        >>> from flowlab.models import MLP
        >>> data = load_dataset("iris", seed=0)
        >>> model = MLP([4, 16, 3], activation="tanh", seed=0)
        >>> history = Trainer(model, "adam", lr=0.01).fit(data, epochs=30, batch_size=16)
        >>> history["val_accuracy"][-1] > 0.8
        True
    """

    def __init__(self, model, optimizer="adam", lr=None, callbacks=(), seed=0, progress=False, threads=1,
                 schedule=None, **optimizer_kwargs):
        self.model = model
        if isinstance(optimizer, str):
            optimizer = get_optimizer(optimizer, model.params, lr=lr, **optimizer_kwargs)
        self.optimizer = optimizer
        self.callbacks = list(callbacks)
        if schedule is not None:
            self.callbacks.insert(0, LearningRateScheduler(schedule))
        self.seed, self.progress, self.threads = seed, progress, threads
        self.stop = False
        self.status = None
        self.error = None
        self.epoch = None
        self.history = {}

    def fit(self, x, y=None, *, validation_data=None, epochs=10, batch_size=32):
        """Trains for ``epochs`` epochs (or until stopped) and returns the history.

        Args:
            x: training features, or a ``flowlab.data.Dataset`` (its validation split is used).
            y: training class ids (omit with a Dataset).
            validation_data: ``(x_val, y_val)``, evaluated after every epoch.
            epochs: how many passes over the training data.
            batch_size: None or "full" for batch gradient descent, 1 for stochastic, n for mini-batch.

        Returns:
            ``history``: a dict of per-epoch lists (``loss``, ``accuracy``, ``val_loss``,
            ``val_accuracy``, ``learning_rate``, ``seconds``; a regression model has ``mae`` and
            ``val_mae`` in place of the accuracies). ``status`` says how the run ended.
        """
        if isinstance(x, Dataset):
            task = getattr(self.model, "task", x.task)
            if task != x.task:
                fix = ('MLP(sizes, loss="mse") or a Model with an MSE loss (or task="regression")'
                       if x.task == "regression" else "a cross-entropy loss (MLP's default)")
                raise ValueError(f"Trainer.fit: {x.name!r} is a {x.task} dataset (its labels are "
                                 f"{'target numbers' if x.task == 'regression' else 'class ids'}) and the "
                                 f"model is a {task} model; use {fix}")
        # flowlab's MLP takes class ids; a user's Model may take any targets (one-hot, numbers).
        regression = getattr(self.model, "sizes", None) is None or self.model.task == "regression"
        x, y, validation_data, epochs, batch_size = fit_arguments(
            "Trainer.fit", x, y, validation_data, epochs, batch_size, regression=regression)
        self.x_train, self.y_train, self.epochs = x, y, epochs
        self.x_val, self.y_val = validation_data if validation_data is not None else (None, None)
        self.stop, self.status, self.error = False, "running", None
        self.history = {}

        callbacks = list(self.callbacks)
        if self.progress:
            callbacks.append(_Progress(epochs))
        for cb in callbacks:
            cb.trainer = self
        on_batch = [cb for cb in callbacks if type(cb).on_batch_end is not Callback.on_batch_end]
        logs = {}
        limiter = _blas_threads(self.threads)
        try:
            with limiter, np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                for cb in callbacks:
                    cb.on_train_begin(logs)
                for epoch in range(epochs):
                    self.epoch = epoch
                    for cb in callbacks:
                        cb.on_epoch_begin(epoch, logs)
                    logs = self._run_epoch(epoch, batch_size, on_batch)
                    if logs is None:
                        self.status = RunStatus.DIVERGED
                        break
                    for key, value in logs.items():
                        self.history.setdefault(key, []).append(value)
                    for cb in callbacks:
                        cb.on_epoch_end(epoch, logs)
                    if self.stop:
                        break
                if self.status == "running":
                    self.status = RunStatus.COMPLETED
        except KeyboardInterrupt:
            self.status, self.error = RunStatus.INTERRUPTED, INTERRUPTED_MESSAGE
            raise
        except BaseException as exc:
            self.status, self.error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
            raise
        finally:
            end_logs = dict(logs or {}, status=self.status)
            error = None
            for cb in callbacks:  # each one's end-of-run work runs, whatever the others do
                try:
                    cb.on_train_end(end_logs)
                except Exception as exc:
                    error = error or exc
            if error is not None and self.status not in (RunStatus.FAILED, RunStatus.INTERRUPTED):
                raise error
        return self.history

    def _run_epoch(self, epoch, batch_size, on_batch):
        """One pass over the training data; None when the loss diverged."""
        start = time.perf_counter()
        model, step = self.model, self.optimizer.step
        train_step, count_nonzero = model.train_step, np.count_nonzero
        # A classifier's accuracy inline (the common case, per batch); any other model's metric by its
        # batch_metric: a regression's mean absolute error ("mae").
        metric = getattr(model, "metric", "accuracy")
        logits = getattr(model, "logits", None) if metric == "accuracy" else None
        batch_metric = None if logits is not None else model.batch_metric
        total, correct, counted, seen = 0.0, 0, 0, 0
        for b, (xb, yb) in enumerate(epoch_batches(self.x_train, self.y_train, batch_size, self.seed, epoch)):
            loss = float(train_step(xb, yb))
            if not loss < DIVERGED_LOSS:  # NaN compares False too
                self.error = (f"loss became {loss:g} at epoch {epoch}, batch {b} "
                              f"(learning rate {self.optimizer.lr:g}); a smaller learning rate may train")
                return None
            step()
            n = len(yb)
            total += loss * n
            if batch_metric is None:
                right = int(count_nonzero(logits.value.argmax(axis=1) == yb))
                correct += right
                batch_value = right / n
            else:
                s, c = batch_metric(yb)
                correct, counted = correct + s, counted + c
                batch_value = s / c if c else float("nan")
            seen += n
            if on_batch:
                batch_logs = {"loss": loss, metric: batch_value, "size": n}
                for cb in on_batch:
                    cb.on_batch_end(b, batch_logs)
        logs = {"loss": total / seen, metric: correct / (seen if batch_metric is None else counted)}
        if self.x_val is not None and len(self.x_val):
            val_loss, val_metric = model.evaluate(self.x_val, self.y_val)
            if not val_loss < DIVERGED_LOSS:
                self.error = (f"validation loss became {val_loss:g} after epoch {epoch} "
                              f"(learning rate {self.optimizer.lr:g}); a smaller learning rate may train")
                return None
            logs["val_loss"], logs["val_" + metric] = val_loss, val_metric
        logs["learning_rate"] = float(self.optimizer.lr)
        if getattr(model, "penalty", None) is not None:  # "loss" is the data loss; this is what l1/l2 add
            logs["regularization_loss"] = model.regularization_loss()
        logs["seconds"] = time.perf_counter() - start
        return logs


def fit(model, data, optimizer="adam", lr=None, epochs=10, batch_size=32, callbacks=(), seed=0, progress=False,
        **optimizer_kwargs):
    """Trains ``model`` on a ``Dataset``: ``Trainer(...).fit(data, ...)`` in one call. Returns the Trainer."""
    trainer = Trainer(model, optimizer, lr=lr, callbacks=callbacks, seed=seed, progress=progress, **optimizer_kwargs)
    trainer.fit(data, epochs=epochs, batch_size=batch_size)
    return trainer


class _blas_threads:
    """Limits BLAS threads while training; a no-op when threads is None."""

    def __init__(self, threads):
        self.threads, self.limiter = threads, None

    def __enter__(self):
        if self.threads is not None:
            from threadpoolctl import threadpool_limits

            self.limiter = threadpool_limits(limits=self.threads, user_api="blas")
        return self

    def __exit__(self, *exc):
        if self.limiter is not None:
            self.limiter.unregister()
        return False
