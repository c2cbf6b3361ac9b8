"""flowlab.tensorboard.epochs: the pending epoch, Keras' routing of epoch logs, and the events an epoch
becomes, read back with TensorBoard's own loader."""

import dataclasses
import math

import numpy as np
import pytest

from flowlab.tensorboard import EventFile
from flowlab.tensorboard.epochs import (FLOAT32_MAX, PendingEpoch, diverged_epoch, epoch_events, epoch_records,
                                        epoch_scalars)
from flowlab.tensorboard.images import _image_value
from tbread import events as load


def test_logs_are_routed_as_keras_routes_them():
    logs = {"loss": 0.5, "accuracy": 0.75, "val_loss": 0.625, "val_accuracy": 0.5, "regularization_loss": 0.125,
            "learning_rate": 0.1, "seconds": 2.0, "size": 32, "status": "x", "epoch": 3, "batch": 1,
            "flag": True, "note": "text", "count": np.int64(7)}
    train, validation, evaluation = epoch_scalars(logs, "accuracy", lr=9.0, batches=10)
    # Keras: every key without val_ is train's epoch_<key>, val_<key> is validation's epoch_<key>;
    # bookkeeping keys, bools and strings are not scalars; the learning rate the logs give wins.
    assert train == (("epoch_loss", 0.5), ("epoch_accuracy", 0.75), ("epoch_regularization_loss", 0.125),
                     ("epoch_count", 7), ("learning_rate", 0.1), ("epoch_steps_per_second", 5.0))
    assert validation == (("epoch_loss", 0.625), ("epoch_accuracy", 0.5))
    assert evaluation == (("evaluation_loss_vs_iterations", 0.625), ("evaluation_accuracy_vs_iterations", 0.5))


def test_the_optimizers_rate_stands_in_and_a_regression_evaluates_its_mae():
    train, validation, evaluation = epoch_scalars({"loss": 1.0, "mae": 0.5, "val_loss": 2.0, "val_mae": 1.5},
                                                  "mae", lr=0.01)
    assert train == (("epoch_loss", 1.0), ("epoch_mae", 0.5), ("learning_rate", 0.01))  # no seconds: no speed
    assert evaluation == (("evaluation_loss_vs_iterations", 2.0), ("evaluation_mae_vs_iterations", 1.5))
    assert epoch_scalars({}, lr=None) == ((), (), ())


def test_a_diverged_epoch_shows_its_finite_batches_and_clips_what_float32_cannot_hold():
    # Three batches of 4 examples up to the last finite loss: mean loss and accuracy over 12 examples.
    entry = diverged_epoch(2, 123.0, [4 * (1.0 + 2.0 + 3.0), 9.0, 12, 3], "accuracy", batches=[(7, 3.0, 1.0)],
                           validation=(math.inf, 0.25), iterations=8)
    assert entry.train == (("epoch_loss", 2.0), ("epoch_accuracy", 0.75))
    assert entry.validation == (("epoch_loss", FLOAT32_MAX), ("epoch_accuracy", 0.25))
    assert entry.evaluation == (("evaluation_loss_vs_iterations", FLOAT32_MAX),
                                ("evaluation_accuracy_vs_iterations", 0.25))
    assert (entry.epoch, entry.time, entry.iterations, entry.batches) == (2, 123.0, 8, ((7, 3.0, 1.0),))
    assert np.isfinite(np.float32(FLOAT32_MAX))  # what TensorBoard stores it as
    # NaN validation loss too; a metric summed to NaN (a model without one) is left out; no examples, no scalars.
    nan = diverged_epoch(0, 0.0, [math.inf, math.nan, 4, 1], validation=(math.nan, 0.5))
    assert nan.train == (("epoch_loss", FLOAT32_MAX),) and nan.validation[0] == ("epoch_loss", FLOAT32_MAX)
    assert diverged_epoch(0, 0.0, [0.0, 0.0, 0, 0]).train == () and nan.iterations == 0


def test_a_pending_epoch_is_frozen_and_changed_by_replace():
    entry = PendingEpoch(1, 10.0, train=(("epoch_loss", 1.0),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.image = ()
    changed = dataclasses.replace(entry, image=("png",))
    assert changed.image == ("png",) and entry.image is None and changed.train == entry.train


def test_records_come_in_write_order_and_tensorboard_reads_them(tmp_path):
    image = _image_value("predictions/decision_boundary", np.zeros((4, 4, 3), np.uint8))
    pending = [
        PendingEpoch(0, 100.0, train=(("epoch_loss", 1.5),), validation=(("epoch_loss", 2.5),),
                     evaluation=(("evaluation_loss_vs_iterations", 2.5),), iterations=4,
                     batches=((0, 3.0, 99.0), (1, 2.0, 99.5)), image=(image,)),
        PendingEpoch(1, 200.0, batches=((4, 1.0, 150.0),)),  # stopped inside epoch 1: its batches alone
    ]
    events = epoch_events(pending)
    assert [[v.tag for v in e.summary.value] for e in events] == [["epoch_loss"], []]
    records = epoch_records(pending, events)
    assert [(run, step, when, [v.tag for v in e.summary.value]) for run, e, step, when in records] == [
        ("train", 0, 99.0, ["epoch_loss/per_batch"]), ("train", 1, 99.5, ["epoch_loss/per_batch"]),
        ("train", 0, 100.0, ["epoch_loss", "predictions/decision_boundary"]),
        ("validation", 0, 100.0, ["epoch_loss"]), ("validation", 4, 100.0, ["evaluation_loss_vs_iterations"]),
        ("train", 4, 150.0, ["epoch_loss/per_batch"])]  # epoch 1 holds nothing else: no empty event
    files = {run: EventFile(tmp_path / run) for run in ("train", "validation")}
    for run, event, step, when in records:
        files[run].add_event(event, step=step, walltime=when)
    for f in files.values():
        f.close()
    train, val = load(tmp_path / "train"), load(tmp_path / "validation")
    assert [(e.step, e.value, e.wall_time) for e in train.Scalars("epoch_loss/per_batch")] == [
        (0, 3.0, 99.0), (1, 2.0, 99.5), (4, 1.0, 150.0)]
    assert [(e.step, e.value) for e in train.Scalars("epoch_loss")] == [(0, 1.5)]
    assert [i.step for i in train.Images("predictions/decision_boundary")] == [0]
    assert [(e.step, e.value) for e in val.Scalars("evaluation_loss_vs_iterations")] == [(4, 2.5)]
