# Size: over 400 lines: the logger callback and the writers it uses (event files, histograms, graph export, images);
# the pure writers are to move into modules of their own.
"""The TensorBoard logger: a training callback writing scalars, histograms, the graph, HParams and images."""

from __future__ import annotations

import math
import os
import re
import socket
import sys
import time
import uuid

import numpy as np

from ..callbacks import Callback

__all__ = ["TensorBoardLogger", "EventFile", "graph_def", "render_decision_boundary", "SESSION_STATUS"]

#: How a flowlab run status shows as the HParams session status (tensorboard's api_pb2.Status names).
SESSION_STATUS = {
    "completed": "STATUS_SUCCESS",
    "early_stopped": "STATUS_SUCCESS",
    "diverged": "STATUS_FAILURE",
    "failed": "STATUS_FAILURE",
    "interrupted": "STATUS_FAILURE",
}

# Pending epochs are written once their snapshots of weights and gradients hold this many numbers.
_MAX_PENDING = 4 << 20

# Epoch logs keys that are bookkeeping, not metrics.
_NOT_SCALARS = frozenset({"seconds", "size", "status", "epoch", "batch", "learning_rate"})

# A loss TensorBoard cannot store (float32 overflows to inf beyond this) is written as this value.
_FLOAT32_MAX = float(np.finfo(np.float32).max)

# What update_freq may be besides a whole number of batches.
_UPDATE_FREQS = ("epoch", "first_epoch", "batch")

# tab10, matplotlib's default colors: class k is drawn in _PALETTE[k % 10].
_PALETTE = np.array([
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
], dtype=np.float64)


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
            if status == "diverged" and self._epoch is not None and self._epoch != self._last_epoch:
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
                status = "interrupted"
            elif exc is not None:
                status = "failed"
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


class EventFile:
    """One TensorBoard event file, written synchronously by the calling thread.

    Records are framed exactly as tensorboardX's ``RecordWriter`` frames them (TFRecord: length,
    masked CRC32C of the length, the serialized ``Event``, masked CRC32C of the data), but each
    record is a single ``write()``, so a Ctrl-C between two Python statements never leaves half a
    record in the middle of the file; and there is no writer thread or queue (tensorboardX pickles
    every event through a multiprocessing queue to a thread), so a record costs microseconds.

    The name is ``events.out.tfevents.<time>.<host>.<pid>.<random>`` and the file is created
    exclusively: two writers in one directory never truncate each other's files (tensorboardX
    writers opened in the same second do: lanpa/tensorboardX#776).

    Args:
        logdir: the directory (a TensorBoard run); created if missing.
        flush_secs: after a write, hand buffered records to the OS if this many seconds passed
            since the last flush (0: after every write).
    """

    def __init__(self, logdir, flush_secs=5):
        from ..summaries import record

        self._record = record
        os.makedirs(logdir, exist_ok=True)
        self.flush_secs = flush_secs
        while True:
            name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                    f"{os.getpid()}.{uuid.uuid4().hex[:12]}")
            self.path = os.path.join(logdir, name)
            try:
                self._file = open(self.path, "xb")
                break
            except FileExistsError:  # pragma: no cover - a 48-bit random collision
                continue
        self._last_flush = time.monotonic()
        event = _event()
        event.file_version = "brain.Event:2"
        self.add_event(event)

    @property
    def closed(self):
        """Whether the file is closed."""
        return self._file.closed

    def add_event(self, event, step=None, walltime=None):
        """Appends an ``Event`` proto, setting its wall time (now, unless given) and step."""
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        self._file.write(self._record(event.SerializeToString()))
        if time.monotonic() - self._last_flush >= self.flush_secs:
            self.flush()

    def add_summary(self, summary, step=None, walltime=None):
        """Appends a ``Summary`` proto as one event at ``step``."""
        event = _event()
        event.summary.CopyFrom(summary)
        self.add_event(event, step, walltime)

    def add_scalar(self, tag, value, step):
        """Appends one scalar at ``step`` (what ``SummaryWriter.add_scalar`` writes)."""
        event = _event()
        event.summary.value.add(tag=tag, simple_value=float(value))
        self.add_event(event, step)

    def flush(self):
        """Hands buffered records to the OS: TensorBoard can read them from now on."""
        self._file.flush()
        self._last_flush = time.monotonic()

    def close(self):
        """Flushes and closes the file; safe to call again.

        No fsync: the records are in the OS's hands, which survives the process being interrupted
        or killed; only a machine crash can lose them, and fsyncing every run's three files costs
        milliseconds per run on a slow disk.
        """
        self._file.close()


# --- summaries -----------------------------------------------------------------------------------


_Event = None


def _event():
    """A new, empty ``Event`` proto (tensorboard's protos load on the first call, not at import)."""
    global _Event
    if _Event is None:
        from ..summaries import Event

        _Event = Event
    return _Event()


def _add_text(summary, tag, text):
    from ..summaries import add_text

    add_text(summary, tag, text)  # tag becomes <tag>/text_summary


def _gradient(p):
    grads = getattr(p, "gradients", None)
    return grads.get(p) if isinstance(grads, dict) else None


class _Layout:
    """Where each array sits in the vector of all of them, worked out once per run."""

    def __init__(self, sizes, bins):
        self.sizes = np.array(sizes, dtype=np.intp)
        self.starts = np.zeros(len(sizes), dtype=np.intp)
        np.cumsum(self.sizes[:-1], out=self.starts[1:])
        self.total = int(self.sizes.sum())
        self.bins = bins
        self.edges = np.arange(1, bins + 1) / bins


def _segment_sums(values, starts):
    return np.add.reduceat(values, starts).tolist()


def _add_histograms(summaries, tags, rows, layout, sumsq):
    """Adds to each ``summaries[r]`` one histogram per segment of ``rows[r]`` (tagged ``tags``):
    ``layout.bins`` equal-width buckets from the segment's min to its max.

    Each segment is done for every row at once, as a 2-D block: the numpy calls are per segment,
    not per segment and row.
    """
    bins, starts, sizes = layout.bins, layout.starts.tolist(), layout.sizes.tolist()
    k = len(rows)
    spare = k * bins  # where NaN and infinity go (their segments are done one by one below)
    base = np.arange(0, spare, bins) + 1e-6
    sumsq = sumsq.tolist()
    adds = [summary.value.add for summary in summaries]
    for s, tag in enumerate(tags):
        block = rows[:, starts[s]:starts[s] + sizes[s]]
        lo, hi = block.min(axis=1), block.max(axis=1)
        width = hi - lo
        # Bucket of x in row r: floor(x * scale + offset), offset by r * bins so that one bincount
        # counts every row, and squeezed by 1e-6 of a bucket so that x = max lands in the last
        # bucket and x = min in the first despite rounding. Rows holding NaN or infinity, a single
        # value, or values too close together for that rounding (spread < 1e-9 of their size) are
        # done one by one below.
        regular = np.isfinite(width) & (width > 0)
        scale = (bins - 2e-6) / np.where(regular, width, 1.0)
        regular &= np.maximum(np.abs(lo), np.abs(hi)) * scale < 1e9
        every = bool(regular.all())
        if every:
            offset = base - lo * scale
        else:
            scale = np.where(regular, scale, 0.0)
            offset = base - np.where(regular, lo * scale, 0.0)
        position = block * scale[:, None]
        position += offset[:, None]
        if not every:
            np.nan_to_num(position, copy=False, nan=spare, posinf=spare, neginf=spare)
        # As floats: the bucket field is a double, and protobuf converts a list of ints 5x slower.
        counts = np.bincount(position.astype(np.intp).ravel(), minlength=spare + 1)[:spare]
        counts = counts.astype(np.float64).reshape(k, bins).tolist()
        # layout.edges are k / bins for k = 1..bins: the right edges as fractions of the range.
        limits = lo[:, None] + np.where(regular, width, 0.0)[:, None] * layout.edges
        limits[:, -1] = hi
        limits, totals = limits.tolist(), block.sum(axis=1).tolist()
        lo, hi, regular = lo.tolist(), hi.tolist(), regular.tolist()
        for r in range(k):
            if regular[r]:
                _fill_histogram(adds[r](tag=tag).histo, lo[r], hi[r], sizes[s], totals[r], sumsq[r][s],
                                limits[r], counts[r])
                continue
            v = block[r][np.isfinite(block[r])]
            if not v.size:
                continue
            low, high = float(v.min()), float(v.max())
            limit, count = [high], [float(v.size)]  # one value: one bucket
            if low < high:
                try:
                    count, edges = np.histogram(v, bins=bins, range=(low, high))
                    limit, count = edges[1:].tolist(), count.astype(np.float64).tolist()
                except ValueError:  # values too close together for numpy to make finite buckets
                    pass
            _fill_histogram(adds[r](tag=tag).histo, low, high, v.size, float(v.sum()), float(np.dot(v, v)),
                            limit, count)


def _image_value(tag, image):
    """An image summary value of an HWC uint8 RGB array, encoded as PNG (Pillow)."""
    from ..summaries import image_value

    return image_value(tag, image)


def _fill_histogram(histo, lo, hi, num, total, sumsq, limits, counts):
    # HistogramProto semantics: bucket k spans (limits[k-1], limits[k]], the first one from min.
    histo.min, histo.max, histo.num = lo, hi, num
    histo.sum, histo.sum_squares = total, sumsq
    histo.bucket_limit.extend(limits)
    histo.bucket.extend(counts)


def _add_session(summary, hparams, group_name, start_time, status):
    """The HParams session of this run: start (hparams, group) and end (status), as tensorboard.md §2."""
    from tensorboard.plugins.hparams.api_pb2 import Status
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData, SessionEndInfo, SessionStartInfo

    start = SessionStartInfo(group_name=group_name, start_time_secs=start_time or time.time())
    for key, value in hparams.items():
        if isinstance(value, bool):
            start.hparams[key].bool_value = value
        elif isinstance(value, float):
            start.hparams[key].number_value = value
        else:
            start.hparams[key].string_value = value
    end = SessionEndInfo(status=Status.Value(status), end_time_secs=time.time())
    for tag, data in (("_hparams_/session_start_info", HParamsPluginData(version=0, session_start_info=start)),
                      ("_hparams_/session_end_info", HParamsPluginData(version=0, session_end_info=end))):
        value = summary.value.add(tag=tag)
        value.metadata.plugin_data.plugin_name = "hparams"
        value.metadata.plugin_data.content = data.SerializeToString()


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


def _hparam_value(v):
    """bool, float or str: the kinds of value an HParams column holds."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v) if math.isfinite(v) else str(float(v))
    if isinstance(v, (list, tuple, np.ndarray)):
        return ",".join(_text(x) for x in v)
    return "none" if v is None else str(v)


def _text(v):
    v = _hparam_value(v)
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _markdown_table(mapping):
    rows = ["| Setting | Value |", "|---|---|"]
    rows += [f"| {_cell(k)} | {_cell(_text(v))} |" for k, v in mapping.items()]
    return "\n".join(rows)


def _cell(value):
    return str(value).replace("|", "\\|").replace("\n", " ")


def _model_table(model, params, tags):
    rows = [f"`{model!r}`", "", "| Parameter | Shape | Count |", "|---|---|---|"]
    for p, tag in zip(params, tags):
        shape = np.shape(p.value)
        rows.append(f"| {_cell(tag)} | {'×'.join(map(str, shape)) or 'scalar'} | {int(np.prod(shape)):,} |")
    rows.append(f"| **total** | | **{sum(int(np.size(p.value)) for p in params):,}** |")
    if any(tag.startswith("dense_1/") for tag in tags):
        rows += ["", "Layers count from 1: `dense_1` is the first layer, which Keras names `dense`; "
                 "`dense_2` is Keras' `dense_1`, and so on."]
    return "\n".join(rows)


# --- the graph -----------------------------------------------------------------------------------


def _graph_nodes(model):
    """The model's nodes in evaluation order: ``model.graph``, else everything ``model.loss`` reads."""
    nodes = getattr(model, "graph", None)
    if nodes is not None:
        return list(nodes)
    sink = getattr(model, "loss", None)
    if sink is None:
        raise ValueError(f"TensorBoardLogger: cannot find the graph of {model!r}; it needs .graph or .loss")
    order, seen, stack = [], set(), [(sink, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((n, False) for n in reversed(node.inbound_nodes) if id(n) not in seen)
    return order


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


# --- the decision boundary -----------------------------------------------------------------------


def render_decision_boundary(model, x, y, size=192, grid=64, max_points=2000):
    """Draws a classifier's decision regions over 2-D data as an RGB image, with numpy only.

    The background is ``model.predict_proba`` (or ``model.predict``) on a ``grid`` x ``grid``
    lattice over the data's bounding box plus a margin, colored by class and paler where the model
    is less sure, scaled to ``size`` pixels. The points go on top in their true class color, with
    a dark rim, so misclassified points stand out. The y axis points up.

    Args:
        model: anything with ``predict_proba(x)`` (n, classes) or ``predict(x)`` (class ids).
        x: points, shape (n, 2).
        y: their class ids, shape (n,).
        size: side of the image in pixels.
        grid: side of the lattice the model is evaluated on (grid**2 points).
        max_points: draw at most this many points (evenly spaced through ``x``).

    Returns:
        A (size, size, 3) uint8 array (HWC), or None when the model's outputs are not finite.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y).ravel().astype(np.int64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"render_decision_boundary: x must have shape (n, 2), got {x.shape}")
    if len(y) != len(x):
        raise ValueError(f"render_decision_boundary: x has {len(x)} points but y has {len(y)} labels")
    lo, hi = x.min(axis=0), x.max(axis=0)
    pad = np.where(hi > lo, 0.08 * (hi - lo), 1.0)
    lo, hi = lo - pad, hi + pad
    lattice = np.column_stack([np.tile(np.linspace(lo[0], hi[0], grid), grid),
                               np.repeat(np.linspace(hi[1], lo[1], grid), grid)])  # row 0 at the top
    lattice = lattice.astype(getattr(model, "dtype", None) or np.float64)
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(lattice), dtype=np.float64)
        if not np.isfinite(proba).all():
            return None
        k = max(proba.shape[1], 2)
        classes = proba.argmax(axis=1)
        sure = np.clip((proba.max(axis=1) - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)
    else:
        classes = np.asarray(model.predict(lattice)).ravel().astype(np.int64)
        sure = np.ones(len(classes))
    alpha = (0.2 + 0.45 * sure)[:, None]
    background = (255.0 - alpha * (255.0 - _PALETTE[classes % len(_PALETTE)])).astype(np.uint8)
    pixel = np.arange(size) * grid // size
    image = background.reshape(grid, grid, 3)[pixel][:, pixel]

    if len(x) > max_points:
        keep = np.linspace(0, len(x) - 1, max_points).astype(np.int64)
        x, y = x[keep], y[keep]
    px = np.rint((x[:, 0] - lo[0]) / (hi[0] - lo[0]) * (size - 1)).astype(np.int64)
    py = np.rint((hi[1] - x[:, 1]) / (hi[1] - lo[1]) * (size - 1)).astype(np.int64)
    radius = max(2, size // 96)
    for r, colors in ((radius + 1, np.full((len(y), 3), 40.0)), (radius, _PALETTE[y % len(_PALETTE)])):
        dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
        disc = dx * dx + dy * dy <= r * r + r
        rows = np.clip(py[:, None] + dy[disc], 0, size - 1)
        cols = np.clip(px[:, None] + dx[disc], 0, size - 1)
        image[rows, cols] = colors[:, None, :].astype(np.uint8)
    return image
