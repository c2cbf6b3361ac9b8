"""LoopLogger: TensorBoard logging for a training loop written by hand, as the MiniFlow lesson's SGD script."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

from .graph import Input
from .model import name_from_caller, named_params
from ._checks import choice
from .status import STATUSES, RunStatus

__all__ = ["LoopLogger", "trainables_of"]


class LoopLogger:
    """Writes a hand-written loop's epochs in the layout ``Trainer`` with ``TensorBoardLogger`` writes.

    Loss (and any metric) per epoch, histograms of every trainable and of its last gradient, per
    layer gradient norms, the graph and the HParams row: ``train/`` and ``validation/`` under
    ``run_dir``, so a loop's run and an Experiment's sit side by side in one TensorBoard.

    Args:
        run_dir: the run's directory, e.g. ``tensorboard-logs/miniflow/sgd-lr=0.01-20250101-120000``
            (a new one per run: a directory that already holds event files is refused unless
            ``append=True``, as a second run in it would mix its steps and graph with the first's).
        trainables: the Inputs the loop updates (the list given to ``sgd_update``), or a dict
            ``{"W1": W1, ...}`` naming them. Unnamed Inputs take the name of the variable that
            holds them where the logger is made (``W1``), else ``param_1``, ``param_2``, ...
        graph: the list from ``topological_sort``, for the Graphs dashboard. Given without
            ``trainables``, they are taken from it (see ``trainables_of``): every Input that is not
            fed data, i.e. not a key of ``feed_dict``.
        feed_dict: the dict given to ``topological_sort`` (or just its Inputs, ``[X, y]``): the
            Inputs fed data, never trainables. None: guessed from the graph, as MiniFlow's code
            reads them (see ``trainables_of``).
        hparams: the run's settings for the HParams dashboard, e.g. ``{"learning_rate": 0.01}``.
        learning_rate: written as ``learning_rate`` (None: not written).
        append: write into a ``run_dir`` that already holds a run's event files.
        **kwargs: passed to ``TensorBoardLogger`` (``histogram_freq``, ``flush_secs``, ...).

    Example:
        >>> log = LoopLogger(run_dir, graph=graph, feed_dict=feed_dict)                  # doctest: +SKIP
        >>> for epoch in range(epochs):                                                  # doctest: +SKIP
        ...     loss = ...  # the lesson's loop: forward_and_backward(graph); sgd_update(trainables)
        ...     log.log(epoch, loss, val_loss=val_loss)
        >>> log.close()                                                                  # doctest: +SKIP
    """

    def __init__(self, run_dir, trainables=None, graph=None, *, feed_dict=None, hparams=None, learning_rate=None,
                 append=False, **kwargs):
        from .tensorboard import TensorBoardLogger

        if trainables is None and graph is None:
            raise ValueError("LoopLogger: pass the trainables (the list given to sgd_update) or the sorted graph")
        existing = sorted(Path(run_dir).rglob("events.out.tfevents.*")) if Path(run_dir).is_dir() else []
        if existing and not append:
            raise ValueError(f"LoopLogger: {run_dir} already holds a run's event files ({existing[0].name}); a "
                             "second run there would mix its steps and graph with the first's. Give each run "
                             "its own folder (e.g. add a timestamp) or pass append=True to continue that run")
        caller = sys._getframe(1)
        data = [] if feed_dict is None else list(feed_dict)
        for node in [*data, *(n for n in graph or () if isinstance(n, Input))]:
            if isinstance(node, Input) and node.name is None:  # as Model does: named as the script calls them
                node.name = name_from_caller(node, caller)
        if trainables is None:
            trainables = trainables_of(graph, data if feed_dict is not None else None)
        trainables = named_params(trainables, caller, "LoopLogger", "trainables", noun="trainables")
        del caller
        self.model = _LoopModel(trainables, None if graph is None else list(graph))
        self.trainer = SimpleNamespace(model=self.model, status="running", error=None,
                                       optimizer=None if learning_rate is None else SimpleNamespace(lr=learning_rate))
        kwargs.setdefault("boundary_freq", 0)
        kwargs.setdefault("graph", graph is not None)
        self.logger = TensorBoardLogger(run_dir, hparams=dict(hparams or {}), **kwargs)
        self.logger.trainer = self.trainer
        self.logger.on_train_begin({})
        self.logger.on_epoch_begin(0, {})
        self.closed = False

    def log(self, epoch, loss, val_loss=None, **metrics):
        """Writes one epoch: ``loss``, ``val_loss`` and ``metrics`` (``val_*`` go to validation/).

        Call it after the epoch's last ``sgd_update``: the histograms show the weights then, and
        the gradients of the epoch's last batch.
        """
        if self.closed:
            raise RuntimeError("LoopLogger.log: the logger is closed")
        logs = {"loss": float(loss), **{k: float(v) for k, v in metrics.items()}}
        if val_loss is not None:
            logs["val_loss"] = float(val_loss)
        if self.trainer.optimizer is not None:
            logs["learning_rate"] = float(self.trainer.optimizer.lr)
        self.logger.on_epoch_end(int(epoch), logs)
        self.logger.on_epoch_begin(int(epoch) + 1, logs)

    def close(self, status=RunStatus.COMPLETED):
        """Writes what is pending and the HParams row with ``status`` (one of ``flowlab.status.STATUSES``),
        and closes the files."""
        if status not in STATUSES:
            raise ValueError(f"LoopLogger.close: {choice('status', status, STATUSES)}")
        if self.closed:
            return
        self.closed = True
        self.trainer.status = status
        self.logger.on_train_end({"status": status})

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if kind is None:
            self.close()
        else:
            self.trainer.error = f"{kind.__name__}: {exc}"
            self.close(RunStatus.INTERRUPTED if issubclass(kind, KeyboardInterrupt) else RunStatus.FAILED)
        return False


class _LoopModel:
    """What the TensorBoard logger reads of a model: its parameters and its graph."""

    def __init__(self, params, graph):
        self.params, self.graph = params, graph
        self.loss = graph[-1] if graph else None

    def __repr__(self):
        size = f"{len(self.graph)} nodes, " if self.graph else ""
        return f"hand-written training loop ({size}{len(self.params)} trainables)"


def trainables_of(graph, data=None):
    """The Inputs of a sorted graph that a loop trains: every Input that is not in ``data`` (the Inputs
    fed data, a feed_dict's keys).

    Without ``data`` they are guessed as MiniFlow's code reads them: an Input that is a node's first
    input is data (``Linear(X, W, b)``: X), and so is one the cost (the graph's last node) reads
    (the labels, whichever side of ``MSE(y, a)`` or ``MSE(a, y)`` they are on); the rest (W, b)
    are trainables. Pass ``data`` (or the trainables themselves) for any other graph.
    """
    inputs = [n for n in graph if isinstance(n, Input) and getattr(n, "requires_grad", True)]
    if data is not None:
        fed = set(map(id, data))
        return [n for n in inputs if id(n) not in fed]
    fed = {id(n.inbound_nodes[0]) for n in graph if getattr(n, "inbound_nodes", None)}
    if graph and not isinstance(graph[-1], Input):
        fed.update(id(n) for n in graph[-1].inbound_nodes)
    return [n for n in inputs if id(n) not in fed]
