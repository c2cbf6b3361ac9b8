# Size: over 400 lines: the callback still keeps its pending epochs, batching of writes and layer statistics
# here; the pure writers (events, stats, graph_def, images, session) live in modules of their own.
"""The TensorBoard logger: a training callback writing scalars, histograms, the graph, HParams and images."""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

from ..callbacks import Callback
from ..status import SESSION_STATUS, RunStatus  # noqa: F401 - SESSION_STATUS is public here too
from .events import EventFile, _event
from .graph_def import _graph_nodes, graph_def
from .images import _image_value, render_decision_boundary
from .session import _add_session, _hparam_value, _markdown_table, _model_table
from .stats import _add_histograms, _gradient, _Layout, _segment_sums

__all__ = ["TensorBoardLogger", "EventFile", "graph_def", "render_decision_boundary", "SESSION_STATUS"]


# Pending epochs are written once their snapshots of weights and gradients hold this many numbers.
_MAX_PENDING = 4 << 20

# Epoch logs keys that are bookkeeping, not metrics.
_NOT_SCALARS = frozenset({"seconds", "size", "status", "epoch", "batch", "learning_rate"})

# A loss TensorBoard cannot store (float32 overflows to inf beyond this) is written as this value.
_FLOAT32_MAX = float(np.finfo(np.float32).max)

# What update_freq may be besides a whole number of batches.
_UPDATE_FREQS = ("epoch", "first_epoch", "batch")

class TensorBoardLogger(Callback):
    """Writes a run for TensorBoard, in Keras' layout, while a ``Trainer`` trains.

    Layout (point ``tensorboard --logdir`` at the parent of ``run_dir``)::

        <run_dir>/             the HParams session; text summaries config, model and status
        <run_dir>/train/       epoch_loss, epoch_accuracy, epoch_steps_per_second (step = epoch, from 0);
                               epoch_loss/per_batch (step = batches trained, see update_freq);
                               learning_rate; gradient_norm/<layer>, update_ratio/<layer>;
                               histograms weights/<param> and gradients/<param>; the graph;
                               predictions/decision_boundary images (2-D data)
        <run_dir>/validation/  epoch_loss, epoch_accuracy; evaluation_loss_vs_iterations and
                               evaluation_accuracy_vs_iterations (step = batches trained), as Keras 3

    The names are Keras' where Keras has one, except where Keras' would bury the curves:
    TensorBoard's Time Series page groups cards by the tag's first "/" segment, sorts the groups
    by name and opens only the first two, so weights and gradients get groups of their own
    (Keras: ``dense/kernel/histogram``), Keras' ``batch_loss`` sits in the ``epoch_loss`` group and
    Keras' ``epoch_learning_rate`` is ``learning_rate``: the first screen is accuracy and loss.
    Layers count from 1 (``dense_1`` is the first layer, which Keras calls ``dense``; ``dense_2``
    is Keras' ``dense_1``).

    Every other ``logs`` key ``k`` (a metric a trainer adds) is written as ``epoch_k``, in
    validation/ when it starts with ``val_``, as Keras does.

    A run that diverges still shows the epoch it diverged in: the training loss and accuracy of
    its batches up to the last finite loss, and the validation metrics of the weights it ended
    with (a loss beyond float32's range reads as float32's largest value, 3.4e38), so its HParams
    row has every metric and the loss curves show the explosion.

    The HParams session is written when training ends, so that its row can carry the final
    ``status`` hparam (completed, early_stopped, diverged, failed, interrupted) next to every
    hyperparameter; the session status is success for completed and early_stopped and failure
    otherwise. Runs still training show in every dashboard except HParams.

    Cost and liveness: an epoch's end only copies the weights and last gradients (one vector) and
    the logs. Epochs are summarised and written together, by the training thread itself (no writer
    thread, no queue), once ``flush_secs`` have passed since the last write, and handed to the OS
    right away: a running TensorBoard shows an epoch at most ``flush_secs`` plus one epoch after it
    ended, and a whole short run costs the same few numpy calls as one epoch.

    Durability: ``on_train_end``, which the trainer calls however the run ends, writes what is
    pending and closes every file. A run stopped by Ctrl-C keeps every epoch it logged and shows as
    interrupted. SIGTERM kills Python without running ``finally`` blocks unless the process turns
    it into an exception, e.g. ``signal.signal(signal.SIGTERM, signal.default_int_handler)`` (the
    runner's job). SIGKILL loses the epochs not written yet (at most ``flush_secs`` of them).

    Args:
        run_dir: the run's directory, e.g. ``tensorboard-logs/<sweep>/lr=0.01,activation=relu``.
        hparams: every hyperparameter of the run, a flat dict of bool, number or string values
            (lists such as ``hidden=[64, 32]`` become "64,32", None becomes "none"). None: the
            optimizer's and the model's settings, from the trainer.
        group_name: the HParams group; sessions with the same group name show as one row with
            averaged metrics (for runs that differ only in seed). None or "": one row per run.
        histogram_freq: write histograms every this many epochs (0: never).
        histograms: False turns weight and gradient histograms off (the CLI's --no-histograms).
        graph: write the model's graph (once, in train/, after the first epoch; the batch dimension
            of the shapes shows as "?").
        layer_stats: write per-layer gradient norm and update-to-weight ratio every epoch.
        boundary_freq: for data with two features, draw the decision boundary every this many
            epochs and after the last one (0: never).
        boundary_size: side of the decision boundary image, in pixels.
        flush_secs: write pending epochs when this many seconds passed since the last write (0:
            after every epoch).
        histogram_bins: buckets per histogram (30, as TF2/Keras).
        config: what the ``config`` text summary shows as a table; None: ``hparams``.
        update_freq: which batches' losses to write as ``epoch_loss/per_batch`` (Keras'
            ``update_freq``): "first_epoch" (every batch of epoch 0, so that a learning rate that
            explodes within the first epoch shows as a curve), "batch" (every batch), a whole number
            n (every n-th batch) or "epoch" (none).
        hparams_config: the HParams columns of the sweep this run belongs to
            (``flowlab.dashboards.hparams_columns``), written as the HParams experiment config;
            None: no config (TensorBoard then shows every hparam and every scalar as columns).

    Example:
        >>> from flowlab.data import load_dataset
        >>> from flowlab.models import MLP
        >>> from flowlab.train import Trainer
        >>> logger = TensorBoardLogger("tensorboard-logs/moons/tanh", hparams={"lr": 0.01, "activation": "tanh"})
        >>> trainer = Trainer(MLP([2, 16, 2], activation="tanh"), "adam", lr=0.01, callbacks=[logger])
        >>> history = trainer.fit(load_dataset("moons"), epochs=20)  # doctest: +SKIP
    """

    def __init__(self, run_dir, hparams=None, group_name=None, *, histogram_freq=1, histograms=True, graph=True,
                 layer_stats=True, boundary_freq=5, boundary_size=192, flush_secs=5, histogram_bins=30, config=None,
                 update_freq="first_epoch", hparams_config=None):
        if not isinstance(run_dir, (str, os.PathLike)) or not os.fspath(run_dir):
            raise ValueError(f"TensorBoardLogger: run_dir must be a non-empty path, got run_dir={run_dir!r}")
        for name, value in (("hparams", hparams), ("config", config)):
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"TensorBoardLogger: {name} must be a dict, got {type(value).__name__} {value!r}")
        if isinstance(flush_secs, bool) or not isinstance(flush_secs, (int, float)) or not flush_secs >= 0:
            raise ValueError(f"TensorBoardLogger: flush_secs must be a number >= 0, got flush_secs={flush_secs!r}")
        self.run_dir = os.fspath(run_dir)
        self.hparams = None if hparams is None else dict(hparams)
        self.config = None if config is None else dict(config)
        self.group_name = "" if group_name is None else str(group_name)
        self.histogram_freq = _whole("histogram_freq", histogram_freq)
        self.histograms = bool(histograms)
        self.graph = bool(graph)
        self.layer_stats = bool(layer_stats)
        self.boundary_freq = _whole("boundary_freq", boundary_freq)
        self.boundary_size = _whole("boundary_size", boundary_size, minimum=16)
        self.flush_secs = flush_secs
        self.histogram_bins = _whole("histogram_bins", histogram_bins, minimum=1)
        if update_freq not in _UPDATE_FREQS:
            try:
                update_freq = _whole("update_freq", update_freq, minimum=1)
            except ValueError:
                raise ValueError(f"TensorBoardLogger: update_freq must be 'first_epoch', 'batch', 'epoch' or a "
                                 f"whole number of batches >= 1, got update_freq={update_freq!r}") from None
        self.update_freq = update_freq
        self.hparams_config = None if hparams_config is None else list(hparams_config)
        self._writers = {}
        self._reset()

    def _reset(self):
        self._params, self._tags, self._layers, self._layout = [], [], [], None
        self._before = None  # (weights, their squared norms) at the start of the next pending epoch
        self._pending, self._snapshots = [], []  # epochs waiting to be written; their weights and gradients
        self._last_write = time.monotonic()
        self._graph_pending = False
        self._last_epoch = self._boundary_epoch = None
        self._epochs_logged = 0
        self._start_time = None
        self._iterations = 0  # batches trained so far (Keras' optimizer.iterations)
        self._epoch = None
        self._partial = [0.0, 0.0, 0, 0]  # this epoch so far: loss sum, correct, examples, batches
        self._batches = []  # (step, loss, time) of batch_loss points not written yet
        self._metric = "accuracy"  # the model's metric besides the loss (a regression's: "mae")

    # --- event files ---------------------------------------------------------------------------

    def _writer(self, which):
        """The event file of "root", "train" or "validation", opened on first use."""
        writer = self._writers.get(which)
        if writer is None:
            logdir = self.run_dir if which == "root" else os.path.join(self.run_dir, which)
            writer = self._writers[which] = EventFile(logdir, flush_secs=self.flush_secs)
        return writer

    def close(self):
        """Flushes and closes every event file. Called by ``on_train_end``; safe to repeat."""
        errors = []
        while self._writers:
            _, writer = self._writers.popitem()
            try:
                writer.close()
            except Exception as exc:  # close the others anyway
                errors.append(exc)
        if errors:
            raise errors[0]

    # --- hooks ---------------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self.close()
        self._reset()
        self._start_time = time.time()
        model = self.trainer.model
        self._metric = str(getattr(model, "metric", None) or "accuracy")
        self._params = [p for p in getattr(model, "params", ()) if np.size(p.value)]
        self._tags = [getattr(p, "name", None) or f"param_{i}" for i, p in enumerate(self._params)]
        layers = {}
        for i, tag in enumerate(self._tags):  # dense_1/kernel -> dense_1
            layers.setdefault(tag.rsplit("/", 1)[0], []).append(i)
        self._layers = list(layers.items())
        self._layout = _Layout([np.size(p.value) for p in self._params] * 2, self.histogram_bins)
        self._graph_pending = self.graph
        event = _event()
        config = self.config if self.config is not None else self._hparams()
        _add_text(event.summary, "config", _markdown_table(config))
        if self._params:
            _add_text(event.summary, "model", _model_table(model, self._params, self._tags))
        if self.layer_stats and self._layers:
            from ..dashboards import layout_value

            event.summary.value.append(layout_value())  # the Custom Scalars tab
        if self.hparams_config is not None:
            from ..dashboards import experiment_value

            event.summary.value.append(experiment_value(self.hparams_config, self._metric))
        self._writer("root").add_event(event, step=0)
        self._writer("train")  # the run's directories exist from the start

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._partial = epoch, [0.0, 0.0, 0, 0]
        # The weights an epoch starts from are the ones the previous epoch ended with, which
        # on_epoch_end keeps anyway: copy them only before the first epoch.
        if self.layer_stats and self._params and self._before is None and not self._snapshots:
            weights = np.concatenate([p.value.reshape(-1) for p in self._params], dtype=np.float64)
            self._before = weights, _segment_sums(weights * weights, self._layout.starts[:len(self._params)])

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        loss, size = logs.get("loss"), logs.get("size", 1)
        if loss is None:
            return
        self._iterations += 1
        partial = self._partial
        partial[0] += loss * size
        partial[1] += logs.get(self._metric, math.nan) * size
        partial[2] += size
        partial[3] += 1
        freq = self.update_freq
        if (freq == "batch" or (freq == "first_epoch" and self._epoch == 0)
                or (freq.__class__ is int and self._iterations % freq == 0)):
            # Keras' batch_loss, filed beside epoch_loss; step = batches trained so far, from 0.
            self._batches.append((self._iterations - 1, loss, time.time()))

    def on_epoch_end(self, epoch, logs=None):
        if self._graph_pending:
            self._write_graph()  # first: drawing the decision boundary changes the nodes' values
        logs = logs or {}
        train, validation = [], []
        for key, value in logs.items():
            if key in _NOT_SCALARS or value.__class__ is bool or not isinstance(value, (int, float, np.number)):
                continue
            if key.startswith("val_"):
                validation.append(("epoch_" + key[4:], value))
            else:
                train.append(("epoch_" + key, value))
        if "learning_rate" in logs:
            train.append(("learning_rate", float(logs["learning_rate"])))
        elif hasattr(getattr(self.trainer, "optimizer", None), "lr"):
            train.append(("learning_rate", float(self.trainer.optimizer.lr)))
        seconds, batches = logs.get("seconds"), self._partial[3]
        if seconds and batches:
            train.append(("epoch_steps_per_second", batches / seconds))
        evaluation = [(f"evaluation_{name[6:]}_vs_iterations", value) for name, value in validation
                      if name in ("epoch_loss", f"epoch_{self._metric}")]
        histograms = bool(self.histograms and self.histogram_freq and epoch % self.histogram_freq == 0)
        # The epoch's end time travels with it: the events are written later, in a batch.
        entry = {"epoch": epoch, "time": time.time(), "train": train, "validation": validation,
                 "histograms": histograms, "row": None, "image": None, "batches": self._batches,
                 "evaluation": evaluation, "iterations": self._iterations}
        self._batches = []
        if self._params and (histograms or self.layer_stats):
            entry["row"] = self._snapshot()
        if self.boundary_freq and epoch % self.boundary_freq == 0:
            with np.errstate(all="ignore"):
                entry["image"] = self._boundary()
            if entry["image"] is not None:
                self._boundary_epoch = epoch
        self._pending.append(entry)
        self._last_epoch = epoch
        self._epochs_logged += 1
        if (time.monotonic() - self._last_write >= self.flush_secs
                or len(self._snapshots) * self._layout.total >= _MAX_PENDING):
            self._write_pending()

    def on_train_end(self, logs=None):
        try:
            status = self._status()
            if self._graph_pending:  # no epoch completed: the graph as it stands
                self._write_graph()
            last = self._pending[-1] if self._pending else None
            if (self.boundary_freq and self._last_epoch is not None and self._boundary_epoch != self._last_epoch):
                with np.errstate(all="ignore"):
                    image = self._boundary()
                if image is not None:
                    self._boundary_epoch = self._last_epoch
                    if last is not None and last["epoch"] == self._last_epoch:
                        last["image"] = image
                    else:
                        self._pending.append(_entry(self._last_epoch, image=image))
            if status == RunStatus.DIVERGED and self._epoch is not None and self._epoch != self._last_epoch:
                self._pending.append(self._diverged_epoch())
            if self._batches:  # a run stopped inside an epoch: its batches so far
                self._pending.append(_entry(self._epoch if self._epoch is not None else 0))
                self._pending[-1]["batches"], self._batches = self._batches, []
            self._write_pending()
            error = getattr(self.trainer, "error", None)
            seconds = time.time() - (self._start_time or time.time())
            event = _event()
            _add_text(event.summary, "status", f"**{status}** after {self._epochs_logged} epoch(s), {seconds:.1f} s"
                      + (f"\n\n{error}" if error else ""))
            _add_session(event.summary, self._hparams(status), self.group_name, self._start_time,
                         SESSION_STATUS.get(status, "STATUS_UNKNOWN"))
            self._writer("root").add_event(event, step=0)
        finally:
            self.close()

    # --- what is written -----------------------------------------------------------------------

    def _diverged_epoch(self):
        """The epoch a run diverged in, so that TensorBoard shows the explosion: the training loss
        and accuracy of its batches up to the last finite loss, and the validation loss and accuracy
        of the weights as they stand (a loss beyond float32, inf or NaN, reads as float32's largest
        value). Written at the epoch's step like any other epoch."""
        total, correct, seen, _ = self._partial
        entry = _entry(self._epoch, batches=self._batches)
        self._batches = []
        if seen:
            entry["train"] = [("epoch_loss", min(total / seen, _FLOAT32_MAX))]
            if not math.isnan(correct):
                entry["train"].append((f"epoch_{self._metric}", correct / seen))
        x, y = getattr(self.trainer, "x_val", None), getattr(self.trainer, "y_val", None)
        model = self.trainer.model
        if x is not None and len(x) and hasattr(model, "evaluate"):
            with np.errstate(all="ignore"):
                loss, accuracy = model.evaluate(x, y)
            loss = loss if loss < _FLOAT32_MAX else _FLOAT32_MAX  # NaN too
            metric = self._metric
            entry["validation"] = [("epoch_loss", loss), (f"epoch_{metric}", accuracy)]
            entry["evaluation"] = [("evaluation_loss_vs_iterations", loss),
                                   (f"evaluation_{metric}_vs_iterations", accuracy)]
            entry["iterations"] = self._iterations
        return entry

    def _write_graph(self):
        # After an epoch every node holds a value, so a shape; the batch dimension shows as "?".
        self._graph_pending = False
        event = _event()
        event.graph_def = graph_def(_graph_nodes(self.trainer.model), batch_dim=True).SerializeToString()
        self._writer("train").add_event(event, step=0)

    def _status(self):
        status = getattr(self.trainer, "status", None)
        if status in (None, "running"):
            # Called from a finally block while an exception propagates: say how the run ended.
            exc = sys.exc_info()[1]
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                status = RunStatus.INTERRUPTED
            elif exc is not None:
                status = RunStatus.FAILED
        return str(status or "unknown")

    def _hparams(self, status=None):
        """The run's hyperparameters as HParams values (bool, float or str), plus ``status`` when given."""
        if self.hparams is not None:
            hp = dict(self.hparams)
        else:
            hp = {}
            optimizer = getattr(self.trainer, "optimizer", None)
            if optimizer is not None:
                hp["optimizer"] = type(optimizer).__name__.lower()
                settings = getattr(optimizer, "hparams", None)
                hp.update(settings() if callable(settings) else {"lr": getattr(optimizer, "lr", None)})
            hp.update(getattr(getattr(self.trainer, "model", None), "config", None) or {})
        if status is not None:
            hp.setdefault("status", status)
        return {str(k): _hparam_value(v) for k, v in hp.items()}

    def _snapshot(self):
        """Copies every parameter and its last gradient into one new vector; returns its number.

        A missing gradient reads as NaN: no histogram, no norm.
        """
        params = self._params
        arrays = [p.value for p in params]
        for p in params:
            g = _gradient(p)
            arrays.append(g if g is not None and np.shape(g) == np.shape(p.value) else np.full(np.shape(p.value), np.nan))
        flat = np.concatenate([a.reshape(-1) for a in arrays], dtype=np.float64)
        if flat.size != self._layout.total:  # a parameter changed size: finish what is pending, lay out again
            self._write_pending()
            self._layout = _Layout([np.size(a) for a in arrays], self.histogram_bins)
            self._before = None
        self._snapshots.append(flat)
        return len(self._snapshots) - 1

    def _write_pending(self):
        """Summarises the pending epochs together and writes them, in order, then flushes.

        Epochs wait in memory until ``flush_secs`` passed since the last write (nothing reaches
        TensorBoard before a flush anyway), so their statistics take the same few numpy calls
        whatever their number.
        """
        pending, snapshots = self._pending, self._snapshots
        self._pending, self._snapshots = [], []
        self._last_write = time.monotonic()
        if not pending:
            return
        events = [_event() for _ in pending]
        for entry, event in zip(pending, events):
            add = event.summary.value.add
            for tag, value in entry["train"]:
                add(tag=tag, simple_value=value)
        if snapshots:
            with np.errstate(all="ignore"):
                self._add_statistics(np.stack(snapshots),
                                     [(e["histograms"], ev.summary) for e, ev in zip(pending, events) if e["row"] is not None])
        train_file = self._writer("train")
        for entry, event in zip(pending, events):
            for step, loss, when in entry["batches"]:
                batch = _event()
                batch.summary.value.add(tag="epoch_loss/per_batch", simple_value=loss)
                train_file.add_event(batch, step=step, walltime=when)
            if entry["image"] is not None:
                event.summary.value.extend(entry["image"])
            if len(event.summary.value):
                train_file.add_event(event, step=entry["epoch"], walltime=entry["time"])
            for values, step in ((entry["validation"], entry["epoch"]), (entry["evaluation"], entry["iterations"])):
                if values:
                    event = _event()
                    add = event.summary.value.add
                    for tag, value in values:
                        add(tag=tag, simple_value=value)
                    self._writer("validation").add_event(event, step=step, walltime=entry["time"])
        for writer in self._writers.values():
            writer.flush()

    def _add_statistics(self, rows, targets):
        """Adds histograms and layer statistics of the snapshot rows (one per epoch) to their summaries.

        ``targets`` holds, per row, whether the epoch gets histograms and the summary to add to.
        Every statistic is a numpy reduction over the segments of all rows at once. The gradient is
        the epoch's last batch's; the update is the whole epoch's, ``||w_end - w_begin|| /
        ||w_begin||`` over the layer's parameters, ``w_begin`` being what the previous epoch ended with.
        """
        layout, n = self._layout, len(self._params)
        starts = layout.starts
        sumsq = np.add.reduceat(rows * rows, starts, axis=1)
        picked = [k for k, (histograms, _) in enumerate(targets) if histograms]
        if picked:
            # Their own Time Series groups, which sort after the epoch_* curves.
            tags = [f"weights/{t}" for t in self._tags] + [f"gradients/{t}" for t in self._tags]
            every = len(picked) == len(rows)
            _add_histograms([targets[k][1] for k in picked], tags, rows if every else rows[picked], layout,
                            sumsq if every else sumsq[picked])
        if not self.layer_stats:
            return
        weights = rows[:, :starts[n]]
        weight_sq = sumsq[:, :n].tolist()
        grad_sq = sumsq[:, n:].tolist()
        change_sq = [None] * len(rows)
        if len(rows) > 1:
            change = weights[1:] - weights[:-1]
            change_sq[1:] = np.add.reduceat(change * change, starts[:n], axis=1).tolist()
        previous_sq = [None] + weight_sq[:-1]
        if self._before is not None:
            change = weights[0] - self._before[0]
            change_sq[0] = _segment_sums(change * change, starts[:n])
            previous_sq[0] = self._before[1]
        for k, (_, summary) in enumerate(targets):
            add = summary.value.add
            for layer, members in self._layers:
                norm = math.sqrt(sum(grad_sq[k][i] for i in members))
                if not math.isnan(norm):
                    add(tag=f"gradient_norm/{layer}", simple_value=norm)
                if change_sq[k] is not None:
                    weight = math.sqrt(sum(previous_sq[k][i] for i in members))
                    if weight > 0:
                        ratio = math.sqrt(sum(change_sq[k][i] for i in members)) / weight
                        add(tag=f"update_ratio/{layer}", simple_value=ratio)
        self._before = weights[-1], weight_sq[-1]  # rows is a fresh copy

    def _boundary(self):
        """The decision boundary image as summary values, or None (data not 2-D, outputs not finite)."""
        x, y = getattr(self.trainer, "x_train", None), getattr(self.trainer, "y_train", None)
        if x is None or y is None or np.ndim(x) != 2 or np.shape(x)[1] != 2 or not len(x):
            return None
        if getattr(self.trainer.model, "task", "classification") != "classification":
            return None  # a regression has no classes to draw
        image = render_decision_boundary(self.trainer.model, x, y, size=self.boundary_size)
        if image is None:
            return None
        return [_image_value("predictions/decision_boundary", image)]


def _add_text(summary, tag, text):
    from ..summaries import add_text

    add_text(summary, tag, text)  # tag becomes <tag>/text_summary


def _entry(epoch, **fields):
    """A pending epoch with nothing to write yet."""
    entry = {"epoch": epoch, "time": time.time(), "train": [], "validation": [], "histograms": False, "row": None,
             "image": None, "batches": [], "evaluation": [], "iterations": 0}
    entry.update(fields)
    return entry


def _whole(name, value, minimum=0):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"TensorBoardLogger: {name} must be a whole number >= {minimum}, got {name}={value!r}")
    return int(value)
