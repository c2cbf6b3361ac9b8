"""LoopLogger: TensorBoard logging for a training loop written by hand, as the MiniFlow lesson's SGD script."""

from __future__ import annotations

import sys
from types import SimpleNamespace

from .graph import Input, Node
from .model import name_from_caller

__all__ = ["LoopLogger", "trainables_of"]


class LoopLogger:
    """Writes a hand-written loop's epochs in the layout ``Trainer`` with ``TensorBoardLogger`` writes.

    Loss (and any metric) per epoch, histograms of every trainable and of its last gradient, per
    layer gradient norms, the graph and the HParams row: ``train/`` and ``validation/`` under
    ``run_dir``, so a loop's run and an Experiment's sit side by side in one TensorBoard.

    Args:
        run_dir: the run's directory, e.g. ``tensorboard-logs/miniflow/sgd``.
        trainables: the Inputs the loop updates (the list given to ``sgd_update``), or a dict
            ``{"W1": W1, ...}`` naming them. Unnamed Inputs take the name of the variable that
            holds them where the logger is made (``W1``), else ``param_1``, ``param_2``, ...
        graph: the list from ``topological_sort``, for the Graphs dashboard. Given alone, the
            trainables are taken from it: every Input that is not a node's first input (MiniFlow's
            ``Linear(X, W, b)`` and ``MSE(y, a)``: W and b, not X and y); pass ``trainables``
            for any other convention.
        hparams: the run's settings for the HParams dashboard, e.g. ``{"learning_rate": 0.01}``.
        learning_rate: written as ``epoch_learning_rate`` (None: not written).
        **kwargs: passed to ``TensorBoardLogger`` (``histogram_freq``, ``flush_secs``, ...).

    Example:
        >>> log = LoopLogger("tensorboard-logs/miniflow/sgd", trainables, graph=graph)  # doctest: +SKIP
        >>> for epoch in range(epochs):                                                  # doctest: +SKIP
        ...     loss = ...  # the lesson's loop: forward_and_backward(graph); sgd_update(trainables)
        ...     log.log(epoch, loss, val_loss=val_loss)
        >>> log.close()                                                                  # doctest: +SKIP
    """

    def __init__(self, run_dir, trainables=None, graph=None, *, hparams=None, learning_rate=None, **kwargs):
        from .tensorboard import TensorBoardLogger

        if trainables is None and graph is None:
            raise ValueError("LoopLogger: pass the trainables (the list given to sgd_update) or the sorted graph")
        caller = sys._getframe(1)
        if isinstance(trainables, dict):
            for key, p in trainables.items():
                p.name = str(key)
            trainables = list(trainables.values())
        elif trainables is None:
            trainables = trainables_of(graph)
        trainables = list(trainables)
        for i, p in enumerate(trainables, start=1):
            if not isinstance(p, Node):
                raise TypeError(f"LoopLogger: trainables must be Input nodes, got {p!r}")
            if getattr(p, "name", None) is None:
                p.name = name_from_caller(p, caller) or f"param_{i}"
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

    def close(self, status="completed"):
        """Writes what is pending and the HParams row with ``status``, and closes the files."""
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
            self.close("interrupted" if issubclass(kind, KeyboardInterrupt) else "failed")
        return False


class _LoopModel:
    """What the TensorBoard logger reads of a model: its parameters and its graph."""

    def __init__(self, params, graph):
        self.params, self.graph = params, graph
        self.loss = graph[-1] if graph else None

    def __repr__(self):
        size = f"{len(self.graph)} nodes, " if self.graph else ""
        return f"hand-written training loop ({size}{len(self.params)} trainables)"


def trainables_of(graph):
    """The Inputs of a sorted graph that some node reads after its first input (weights and biases)."""
    first = {id(n.inbound_nodes[0]) for n in graph if getattr(n, "inbound_nodes", None)}
    return [n for n in graph if isinstance(n, Input) and id(n) not in first and getattr(n, "requires_grad", True)]
