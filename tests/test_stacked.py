"""Stacked training: every run's numbers and files are those of the run trained alone, bit for bit."""

import json

import numpy as np
import pytest

from flowlab import Experiment
from flowlab.models import MLP
from flowlab.stacked import exact_here, fit_stacked, stackable
from flowlab.train import Callback, EarlyStopping, Trainer


class Record(Callback):
    """Everything a callback is told, and the weights and gradients it can read at each hook."""

    def __init__(self):
        self.seen = []

    def on_train_begin(self, logs=None):
        self.seen.append(("begin", dict(logs or {}), self.trainer.model.get_weights()))

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append(("epoch_begin", epoch, _timeless(logs)))

    def on_batch_end(self, batch, logs=None):
        grads = {p.name: p.gradients[p].copy() for p in self.trainer.model.params}
        self.seen.append(("batch", batch, dict(logs), grads))

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(("epoch_end", epoch, _timeless(logs), self.trainer.model.get_weights()))

    def on_train_end(self, logs=None):
        self.seen.append(("end", _timeless(logs), self.trainer.status))


def _timeless(logs):
    return {k: v for k, v in (logs or {}).items() if k != "seconds"}


def _same(a, b):
    """Equal, nested dicts/lists/tuples and arrays included, NaN equal to NaN, no tolerance."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, (np.ndarray, float)):
        return np.array_equal(a, b, equal_nan=True) and np.asarray(a).dtype == np.asarray(b).dtype
    return a == b


def _trainers(runs, activation="relu", sizes=(64, 32, 10), dtype=np.float64, callbacks=None):
    out = []
    for i, (optimizer, lr, seed, kwargs) in enumerate(runs):
        model = MLP(list(sizes), activation=activation, seed=seed, dtype=dtype)
        cbs = callbacks(i) if callbacks else [Record()]
        out.append(Trainer(model, optimizer, lr=lr, seed=seed, callbacks=cbs, **kwargs))
    return out


RUNS = [("sgd", 0.1, 0, {}), ("momentum", 0.05, 0, {"nesterov": True}), ("adam", 1e-3, 0, {"weight_decay": 1e-3}),
        ("rmsprop", 0.01, 1, {"centered": True, "momentum": 0.5}), ("nadam", 2e-3, 2, {}),
        ("adagrad", 0.05, 0, {"lr_decay": 0.01}), ("adamax", 2e-3, 3, {}), ("adadelta", 1.0, 0, {}),
        ("sgd", 80.0, 0, {})]  # the last one diverges


@pytest.mark.parametrize("activation,dtype", [("relu", np.float64), ("tanh", np.float64), ("sigmoid", np.float64),
                                              ("relu", np.float32)])
def test_stacked_runs_are_bit_identical_to_runs_alone(digits, activation, dtype):
    data = digits.astype(dtype)
    alone = _trainers(RUNS, activation, dtype=dtype)
    for trainer in alone:
        trainer.fit(data, epochs=3, batch_size=32)
    stacked = _trainers(RUNS, activation, dtype=dtype)
    assert stackable(stacked)
    fit_stacked(stacked, data, epochs=3, batch_size=32)
    statuses = []
    for a, s in zip(alone, stacked):
        assert (s.status, s.error) == (a.status, a.error)
        assert _same(_timeless(s.history), _timeless(a.history))
        assert _same(s.model.get_weights(), a.model.get_weights())
        # What each callback was told and could read, hook by hook: weights, gradients, logs.
        assert _same(s.callbacks[0].seen, a.callbacks[0].seen)
        statuses.append(s.status)
    assert "completed" in statuses
    if activation == "relu":
        assert statuses[-1] == "diverged"  # and the others went on: their histories are full
        assert len(stacked[0].history["loss"]) == 3


def test_early_stopping_ends_one_run_and_restores_its_best_weights(digits):
    runs = [("sgd", 0.5, 0, {}), ("adam", 0.05, 0, {}), ("momentum", 0.01, 0, {})]

    def callbacks(i):
        return [EarlyStopping("val_loss", patience=1, restore_best_weights=True), Record()]

    alone = _trainers(runs, callbacks=callbacks)
    for trainer in alone:
        trainer.fit(digits, epochs=8, batch_size=64)
    stacked = _trainers(runs, callbacks=callbacks)
    fit_stacked(stacked, digits, epochs=8, batch_size=64)
    assert "early_stopped" in [t.status for t in alone]
    for a, s in zip(alone, stacked):
        assert s.status == a.status
        assert _same(_timeless(s.history), _timeless(a.history))
        assert _same(s.model.get_weights(), a.model.get_weights())
        assert _same(s.callbacks[1].seen, a.callbacks[1].seen)


def test_schedules_are_each_runs_own(digits):
    runs = [("sgd", 0.1, 0, {"schedule": "cosine"}), ("adam", 0.01, 0, {"schedule": "step:1:0.5"}),
            ("momentum", 0.05, 0, {"schedule": "plateau:1:0.5"}), ("adam", 0.001, 0, {})]
    alone = _trainers(runs)
    for trainer in alone:
        trainer.fit(digits, epochs=4, batch_size=32)
    stacked = fit_stacked(_trainers(runs), digits, epochs=4, batch_size=32)
    assert len({tuple(t.history["learning_rate"]) for t in alone}) == 4
    for a, s in zip(alone, stacked):
        assert _same(_timeless(s.history), _timeless(a.history))
        assert _same(s.model.get_weights(), a.model.get_weights())


def test_full_batch_and_a_last_short_batch(digits):
    for batch_size in (None, 100):
        alone = _trainers(RUNS[:3])
        for trainer in alone:
            trainer.fit(digits, epochs=2, batch_size=batch_size)
        stacked = fit_stacked(_trainers(RUNS[:3]), digits, epochs=2, batch_size=batch_size)
        for a, s in zip(alone, stacked):
            assert _same(s.model.get_weights(), a.model.get_weights())


def test_what_cannot_stack_is_refused(digits):
    assert not stackable(_trainers(RUNS[:1]) + _trainers(RUNS[:1], sizes=(64, 16, 10)))
    assert not stackable([Trainer(MLP([64, 10], loss="mse"), "sgd")])
    for option in ({"l2": 1e-3}, {"l1": 1e-4}, {"dropout": 0.2}, {"batchnorm": True}):
        assert not stackable([Trainer(MLP([64, 8, 10], **option), "sgd") for _ in range(2)]), option
    with pytest.raises(ValueError, match="Trainer.fit"):
        fit_stacked(_trainers(RUNS[:1]) + _trainers(RUNS[:1], activation="tanh"), digits, epochs=1)
    used = _trainers(RUNS[:2])
    used[0].fit(digits, epochs=1)
    assert not stackable(used)  # its optimizer has state already
    with pytest.raises(ValueError, match=r"label 10 is outside \[0, 10\)"):
        fit_stacked(_trainers(RUNS[:2]), digits.x_train, digits.y_train + 1, epochs=1)


def test_exact_here_compares_each_runs_slice_with_the_lone_products():
    # The guard's own check, against products computed here one run at a time: on this build they agree
    # (the sweep tests in test_stacked_runs.py show the stacked runs are bit-identical), for the default sweep's shapes
    # (digits: 1437 training rows, batches of 32 and a last one of 29) and batch 1.
    assert exact_here(9, (64, 64, 10), {32, 29}, np.float64)
    assert exact_here(3, (64, 32, 32, 10), {1}, np.float32)


def test_experiment_stack_argument_is_checked():
    with pytest.raises(ValueError, match="stack must be 'auto', True or False, got stack='yes'"):
        Experiment("x", stack="yes")


def test_cli_stack_flag_reaches_the_experiment(tmp_path, monkeypatch):
    import flowlab.experiment
    from flowlab import cli

    seen, original = [], flowlab.experiment.Experiment.__init__

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("stack"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(flowlab.experiment.Experiment, "__init__", spy)
    for flag, expected in (("off", False), ("on", True), ("auto", "auto")):
        code = cli.main(["sweep", "--dataset", "iris", "--hidden", "4", "--epochs", "1", "--lr", "0.1", "--optimizer",
                         "sgd", "adam", "--workers", "1", "--logdir", str(tmp_path / flag), "--no-progress",
                         "--stack", flag])
        assert code == 0 and seen[-1] == expected


def test_bench_stack_row(capsys):
    from flowlab import bench

    assert bench.main(["--stack", "3", "--steps", "5", "--warmup", "1"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["runs"] == 3 and row["optimizers"] == ["sgd@0.001", "momentum@0.001", "adam@0.001"]
    assert row["separate_us_per_run_step"] > 0 and row["stacked_us_per_run_step"] > 0


class Fails(Callback):
    def __init__(self, hook, at=1):
        self.hook, self.at = hook, at

    def on_epoch_end(self, epoch, logs=None):
        if self.hook == "epoch" and epoch == self.at:
            raise RuntimeError("logger broke")

    def on_batch_end(self, batch, logs=None):
        if self.hook == "batch" and batch == 5:
            raise RuntimeError("batch hook broke")


@pytest.mark.parametrize("hook", ["epoch", "batch"])
def test_a_callback_that_raises_fails_its_run_alone(digits, hook):
    def callbacks(i):
        return [Fails(hook)] + [Record()] if i == 1 else [Record()]

    alone = _trainers(RUNS[:3], callbacks=callbacks)
    for trainer in alone:
        try:
            trainer.fit(digits, epochs=3, batch_size=32)
        except RuntimeError:
            pass
    stacked = _trainers(RUNS[:3], callbacks=callbacks)
    with pytest.raises(RuntimeError, match="broke"):
        fit_stacked(stacked, digits, epochs=3, batch_size=32)
    assert [t.status for t in stacked] == [t.status for t in alone] == ["completed", "failed", "completed"]
    for a, s in zip(alone, stacked):
        assert s.error == a.error
        assert _same(_timeless(s.history), _timeless(a.history))
        assert _same(s.model.get_weights(), a.model.get_weights())
        assert _same(s.callbacks[-1].seen, a.callbacks[-1].seen)
