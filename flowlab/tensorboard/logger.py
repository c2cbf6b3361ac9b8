"""The TensorBoard logger: a training callback deciding when to write scalars, histograms, the graph,
HParams and images; what is written is built by the pure writers beside it (epochs, stats, session,
graph_def, images) and framed by events."""

from __future__ import annotations

import math
import os
import time
from dataclasses import replace

import numpy as np

from .._checks import choice, is_whole, non_negative, whole
from ..callbacks import Callback
from ..status import SESSION_STATUS, RunStatus  # noqa: F401 - SESSION_STATUS is public here too
from .epochs import PendingEpoch, diverged_epoch, epoch_events, epoch_records, epoch_scalars
from .events import EventFile, _event
from .graph_def import _graph_nodes, graph_def
from .images import _image_value, render_decision_boundary
from .session import end_event, run_hparams, start_event
from .stats import _Layout, add_statistics, snapshot, starting_weights

__all__ = ["TensorBoardLogger", "EventFile", "graph_def", "render_decision_boundary", "SESSION_STATUS"]


# Pending epochs are written once their snapshots of weights and gradients hold this many numbers
# (2 MB of float64). A small network's epochs wait, so that their statistics take one set of numpy
# calls (the default sweep's 20 epochs of 9,620 numbers are written together at the end). A large
# one's are written at each epoch's end, while its snapshot is still in the cache. At MNIST size
# (784-256-10, 407,060 numbers an epoch, 5 epochs), with the rows in one block (``_snapshot``): 16 ms
# of logging a run at this limit, 60 ms at 4M numbers, which left every epoch to the end (medians
# of 6 interleaved runs, SGD; single runs at 4M took 12 to 85 ms, and a measurement with Adam saw
# 18 to 25 ms at both). The code before both changes took 54 to 66 ms.
_MAX_PENDING = 1 << 18

# What update_freq may be besides a whole number of batches.
_UPDATE_FREQS = ("epoch", "first_epoch", "batch")

_OWNER = "TensorBoardLogger"  # who the argument errors name


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
    thread, no queue), once ``flush_secs`` have passed since the last write or their copies hold
    2 MB, and handed to the OS right away: a running TensorBoard shows an epoch at most
    ``flush_secs`` plus one epoch after it ended, a whole short run of a small network costs the
    same few numpy calls as one epoch, and a large network's epoch is summarised while its copy is
    still in the cache.

    Durability: ``on_train_end``, which the trainer calls however the run ends (its
    ``logs["status"]`` says how: the logger writes the trainer's word), writes what is pending and
    closes every file. A run stopped by Ctrl-C keeps every epoch it logged and shows as interrupted.
    SIGTERM kills Python without running ``finally`` blocks unless the process turns it into an
    exception, e.g. ``signal.signal(signal.SIGTERM, signal.default_int_handler)`` (the runner's job).
    SIGKILL loses the epochs not written yet (at most ``flush_secs`` of them).

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
        self.run_dir = os.fspath(run_dir)
        self.hparams = None if hparams is None else dict(hparams)
        self.config = None if config is None else dict(config)
        self.group_name = "" if group_name is None else str(group_name)
        self.histogram_freq = whole(_OWNER, "histogram_freq", histogram_freq)
        self.histograms = bool(histograms)
        self.graph = bool(graph)
        self.layer_stats = bool(layer_stats)
        self.boundary_freq = whole(_OWNER, "boundary_freq", boundary_freq)
        self.boundary_size = whole(_OWNER, "boundary_size", boundary_size, minimum=16)
        self.flush_secs = non_negative(_OWNER, "flush_secs", flush_secs)
        self.histogram_bins = whole(_OWNER, "histogram_bins", histogram_bins, minimum=1)
        self.update_freq = _update_freq(update_freq)
        self.hparams_config = None if hparams_config is None else list(hparams_config)
        # Opened on first use (the root and train/ at on_train_begin, validation/ with its first
        # scalar), so a run without validation data has no validation/ run.
        self._writers = {}
        self._reset()

    def _reset(self):
        self._params, self._tags, self._layers, self._layout = [], [], [], None
        self._before = None  # (weights, their squared norms) at the start of the next pending epoch
        self._pending = []  # PendingEpochs waiting to be written
        self._snapshots = None  # their weights and gradients, a row each, in a block taken when the first comes
        self._rows = 0  # rows of the block in use
        self._last_write = time.monotonic()
        self._graph_pending = False
        self._last_epoch = self._boundary_epoch = None
        self._epochs_logged = 0
        self._start_time = None
        self._iterations = 0  # batches trained so far (Keras' optimizer.iterations)
        self._epoch = None
        self._partial = [0.0, 0.0, 0, 0]  # this epoch so far: loss sum, metric sum, examples, batches
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
        config = self.config if self.config is not None else self._hparams()
        event = start_event(config, model, self._params, self._tags, bool(self.layer_stats and self._layers),
                            self.hparams_config, self._metric)
        self._writer("root").add_event(event, step=0)
        self._writer("train")  # the run's directories exist from the start

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._partial = epoch, [0.0, 0.0, 0, 0]
        # The weights an epoch starts from are the ones the previous epoch ended with, which
        # on_epoch_end keeps anyway: copy them only before the first epoch.
        if self.layer_stats and self._params and self._before is None and not self._rows:
            self._before = starting_weights(self._params, self._layout)

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
        when = time.time()  # the epoch's end time travels with it: its events are written later
        lr = getattr(getattr(self.trainer, "optimizer", None), "lr", None)
        train, validation, evaluation = epoch_scalars(logs or {}, self._metric, lr, self._partial[3])
        histograms = bool(self.histograms and self.histogram_freq and epoch % self.histogram_freq == 0)
        row = self._snapshot() if self._params and (histograms or self.layer_stats) else None
        image = self._boundary() if self.boundary_freq and epoch % self.boundary_freq == 0 else None
        if image is not None:
            self._boundary_epoch = epoch
        self._pending.append(PendingEpoch(epoch, when, train, validation, evaluation, self._iterations, histograms,
                                          row, image, tuple(self._batches)))
        self._batches = []
        self._last_epoch = epoch
        self._epochs_logged += 1
        if (time.monotonic() - self._last_write >= self.flush_secs
                or self._rows * self._layout.total >= _MAX_PENDING):
            self._write_pending()

    def on_train_end(self, logs=None):
        """Writes what is pending, then the status and the HParams session, and closes the files.

        How the run ended is the trainer's to say: ``logs["status"]`` (which ``Trainer.fit``,
        ``fit_stacked`` and ``LoopLogger`` set, however the run ended), else ``trainer.status``.
        """
        try:
            status = (logs or {}).get("status") or getattr(self.trainer, "status", None)
            status = str(status or "unknown")
            if self._graph_pending:  # no epoch completed: the graph as it stands
                self._write_graph()
            if self.boundary_freq and self._last_epoch is not None and self._boundary_epoch != self._last_epoch:
                self._last_boundary()
            if status == RunStatus.DIVERGED and self._epoch is not None and self._epoch != self._last_epoch:
                self._pending.append(self._diverged_epoch())
            if self._batches:  # a run stopped inside an epoch: its batches so far
                epoch = self._epoch if self._epoch is not None else 0
                self._pending.append(PendingEpoch(epoch, time.time(), batches=tuple(self._batches)))
                self._batches = []
            self._write_pending()
            seconds = time.time() - (self._start_time or time.time())
            event = end_event(status, self._hparams(status), self.group_name, self._start_time, self._epochs_logged,
                              seconds, getattr(self.trainer, "error", None))
            self._writer("root").add_event(event, step=0)
        finally:
            self.close()

    # --- what the trainer holds, taken when due ------------------------------------------------

    def _last_boundary(self):
        """The decision boundary after the last epoch, when its epoch did not draw one."""
        image = self._boundary()
        if image is None:
            return
        self._boundary_epoch = self._last_epoch
        last = self._pending[-1] if self._pending else None
        if last is not None and last.epoch == self._last_epoch:
            self._pending[-1] = replace(last, image=image)
        else:
            self._pending.append(PendingEpoch(self._last_epoch, time.time(), image=image))

    def _diverged_epoch(self):
        """The epoch the run diverged in (``epochs.diverged_epoch``), validated on the weights as they stand."""
        when, batches = time.time(), self._batches
        self._batches = []
        x, y = getattr(self.trainer, "x_val", None), getattr(self.trainer, "y_val", None)
        model, validation = self.trainer.model, None
        if x is not None and len(x) and hasattr(model, "evaluate"):
            with np.errstate(all="ignore"):
                validation = model.evaluate(x, y)
        return diverged_epoch(self._epoch, when, self._partial, self._metric, batches, validation, self._iterations)

    def _write_graph(self):
        # After an epoch every node holds a value, so a shape; the batch dimension shows as "?".
        self._graph_pending = False
        event = _event()
        event.graph_def = graph_def(_graph_nodes(self.trainer.model), batch_dim=True).SerializeToString()
        self._writer("train").add_event(event, step=0)

    def _hparams(self, status=None):
        trainer = self.trainer
        return run_hparams(self.hparams, getattr(trainer, "optimizer", None), getattr(trainer, "model", None), status)

    def _snapshot(self):
        """Copies every parameter and its last gradient into the next row of the pending block
        (``stats.snapshot``); returns the row's number.

        The block has room for every row that can be pending (``_MAX_PENDING`` numbers, at least
        one row) and is a new one after each write: ``add_statistics`` reads the rows where they
        are, with no stacked copy, and the ``before`` it returns (the last row's weights) stays valid.
        """
        sizes = [np.size(p.value) for p in self._params] * 2
        if sizes != self._layout.sizes.tolist():  # a parameter changed size: finish what is pending, lay out again
            self._write_pending()
            self._layout = _Layout(sizes, self.histogram_bins)
            self._before = None
        total = self._layout.total
        if self._snapshots is None or self._rows == len(self._snapshots):
            if self._rows:
                self._write_pending()
            # Pages are only touched as rows are written: room for unused rows costs no memory.
            self._snapshots = np.empty((max(1, -(-_MAX_PENDING // total)), total), dtype=np.float64)
        snapshot(self._params, out=self._snapshots[self._rows])
        self._rows += 1
        return self._rows - 1

    def _boundary(self):
        """The decision boundary image as summary values, or None (data not 2-D, outputs not finite)."""
        x, y = getattr(self.trainer, "x_train", None), getattr(self.trainer, "y_train", None)
        if x is None or y is None or np.ndim(x) != 2 or np.shape(x)[1] != 2 or not len(x):
            return None
        if getattr(self.trainer.model, "task", "classification") != "classification":
            return None  # a regression has no classes to draw
        with np.errstate(all="ignore"):
            image = render_decision_boundary(self.trainer.model, x, y, size=self.boundary_size)
        return None if image is None else (_image_value("predictions/decision_boundary", image),)

    # --- writing -------------------------------------------------------------------------------

    def _write_pending(self):
        """Summarises the pending epochs together and writes them, in order, then flushes.

        Epochs wait in memory until ``flush_secs`` passed since the last write (nothing reaches
        TensorBoard before a flush anyway) or their snapshots hold ``_MAX_PENDING`` numbers, so a
        small network's statistics take the same few numpy calls whatever the number of epochs.
        """
        pending, snapshots, rows = self._pending, self._snapshots, self._rows
        self._pending, self._snapshots, self._rows = [], None, 0
        self._last_write = time.monotonic()
        if not pending:
            return
        events = epoch_events(pending)
        if rows:
            targets = [(e.histograms, ev.summary) for e, ev in zip(pending, events) if e.row is not None]
            with np.errstate(all="ignore"):
                self._before = add_statistics(snapshots[:rows], targets, self._layout, self._tags, self._layers,
                                              self.layer_stats, self._before)
        for which, event, step, when in epoch_records(pending, events):
            self._writer(which).add_event(event, step=step, walltime=when)
        for writer in self._writers.values():
            writer.flush()


def _update_freq(value):
    if value in _UPDATE_FREQS:
        return value
    if is_whole(value) and value >= 1:
        return int(value)
    # A misspelt name gets choice()'s did-you-mean, in the shape of the other messages.
    suggestion = choice("update_freq", value, _UPDATE_FREQS) if isinstance(value, str) else ""
    hint = suggestion[suggestion.rfind(" (did you mean"):] if suggestion.endswith("?)") else ""
    raise ValueError(f"{_OWNER}: update_freq must be 'first_epoch', 'batch', 'epoch' or a whole number of "
                     f"batches >= 1, got update_freq={value!r}{hint}")
