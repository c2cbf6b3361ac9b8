"""What an epoch writes: the record the logger holds between an epoch's end and its write, Keras'
routing of the epoch's logs into train/ and validation/ scalars, and the events the records become.

Pure functions over numbers and protos: nothing here reads a trainer or opens a file, so each one is
tested on its own (tests/test_epochs.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .events import _event

__all__ = ["PendingEpoch", "epoch_scalars", "diverged_epoch", "epoch_events", "epoch_records"]

#: Epoch logs keys that are bookkeeping, not metrics.
NOT_SCALARS = frozenset({"seconds", "size", "status", "epoch", "batch", "learning_rate"})

#: A loss TensorBoard cannot store (float32 overflows to inf beyond this) is written as this value.
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class PendingEpoch:
    """One epoch logged and not written yet; changed with ``dataclasses.replace``.

    Scalars are ``(tag, value)`` pairs. ``time`` is when the epoch ended: its events carry it as
    their wall time, however much later they are written.
    """

    epoch: int
    time: float
    train: tuple = ()           # train/ scalars at step ``epoch``
    validation: tuple = ()      # validation/ scalars at step ``epoch``
    evaluation: tuple = ()      # validation/ scalars at step ``iterations`` (Keras' evaluation_*_vs_iterations)
    iterations: int = 0         # batches trained when the epoch ended (Keras' optimizer.iterations)
    histograms: bool = False    # its snapshot gets weight and gradient histograms
    row: int | None = None      # which snapshot row holds its weights and gradients (None: none taken)
    image: tuple | None = None  # summary values of its decision boundary image
    batches: tuple = ()         # (step, loss, wall time) of its epoch_loss/per_batch points


def epoch_scalars(logs, metric="accuracy", lr=None, batches=0):
    """Keras' routing of an epoch's ``logs``: ``(train, validation, evaluation)`` scalar pairs.

    Every number ``k`` of ``logs`` but the bookkeeping keys becomes ``epoch_k``, in validation when
    it starts with ``val_`` (the prefix dropped); the learning rate (``logs``', else ``lr``) is
    ``learning_rate``; ``seconds`` and the epoch's ``batches`` give ``epoch_steps_per_second``.
    ``evaluation`` repeats the validation loss and ``metric`` as Keras 3's
    ``evaluation_<name>_vs_iterations``.
    """
    train, validation = [], []
    for key, value in logs.items():
        if key in NOT_SCALARS or value.__class__ is bool or not isinstance(value, (int, float, np.number)):
            continue
        if key.startswith("val_"):
            validation.append(("epoch_" + key[4:], value))
        else:
            train.append(("epoch_" + key, value))
    if "learning_rate" in logs:
        train.append(("learning_rate", float(logs["learning_rate"])))
    elif lr is not None:
        train.append(("learning_rate", float(lr)))
    seconds = logs.get("seconds")
    if seconds and batches:
        train.append(("epoch_steps_per_second", batches / seconds))
    evaluation = [(f"evaluation_{name[6:]}_vs_iterations", value) for name, value in validation
                  if name in ("epoch_loss", f"epoch_{metric}")]
    return tuple(train), tuple(validation), tuple(evaluation)


def diverged_epoch(epoch, when, partial, metric="accuracy", batches=(), validation=None, iterations=0):
    """The epoch a run diverged in, so that TensorBoard shows the explosion.

    ``partial`` is the epoch so far: ``(loss sum, metric sum, examples, batches)`` over its batches
    up to the last finite loss, whose mean loss and metric are its train scalars. ``validation`` is
    ``(loss, metric)`` of the weights as they stand, or None. A loss beyond float32 (inf or NaN
    too) reads as float32's largest value.
    """
    total, correct, seen, _ = partial
    train = ()
    if seen:
        train = (("epoch_loss", min(total / seen, FLOAT32_MAX)),)
        if not math.isnan(correct):
            train += ((f"epoch_{metric}", correct / seen),)
    entry = PendingEpoch(epoch, when, train=train, batches=tuple(batches))
    if validation is None:
        return entry
    loss, value = validation
    loss = loss if loss < FLOAT32_MAX else FLOAT32_MAX  # NaN too
    return replace(entry, validation=(("epoch_loss", loss), (f"epoch_{metric}", value)),
                   evaluation=(("evaluation_loss_vs_iterations", loss),
                               (f"evaluation_{metric}_vs_iterations", value)),
                   iterations=iterations)


def epoch_events(pending):
    """One train/ ``Event`` per pending epoch, holding its train scalars; statistics are added to
    their summaries next (``stats.add_statistics``), before ``epoch_records``."""
    events = [_event() for _ in pending]
    for entry, event in zip(pending, events):
        add = event.summary.value.add
        for tag, value in entry.train:
            add(tag=tag, simple_value=value)
    return events


def epoch_records(pending, events):
    """The records of pending epochs in the order they are written: ``(run, Event, step, wall time)``
    with ``run`` "train" or "validation". ``events`` are ``epoch_events(pending)``, statistics added.

    Per epoch: its per-batch losses, then its train event (scalars, statistics, image) unless it
    holds nothing, then its validation scalars and its evaluation scalars.
    """
    records = []
    for entry, event in zip(pending, events):
        for step, loss, when in entry.batches:
            batch = _event()
            batch.summary.value.add(tag="epoch_loss/per_batch", simple_value=loss)
            records.append(("train", batch, step, when))
        if entry.image is not None:
            event.summary.value.extend(entry.image)
        if len(event.summary.value):
            records.append(("train", event, entry.epoch, entry.time))
        for values, step in ((entry.validation, entry.epoch), (entry.evaluation, entry.iterations)):
            if values:
                scalars = _event()
                add = scalars.summary.value.add
                for tag, value in values:
                    add(tag=tag, simple_value=value)
                records.append(("validation", scalars, step, entry.time))
    return records
