"""Optimizer settings as sweep axes: run names, HParams, results.csv, and that each value reaches the optimizer."""

import csv

import numpy as np
import pytest

from flowlab.cli import main
from flowlab.data import load_dataset
from flowlab.experiment import Experiment, RunConfig
from flowlab.models import MLP
from flowlab.train import Trainer
from tbread import session_hparams

BASE = {"dataset": "iris", "hidden": [8], "epochs": 3, "batch_size": 16, "workers": 1, "histograms": False}


def csv_rows(sweep_dir):
    with open(sweep_dir / "results.csv", newline="") as f:
        return {row["name"]: row for row in csv.DictReader(f)}


def trained_by_hand(optimizer, lr=None, epochs=3, **kwargs):
    """The weights a Trainer given these optimizer arguments directly ends with (the oracle for the sweep)."""
    model = MLP([4, 8, 3], seed=0)
    Trainer(model, optimizer, lr=lr, **kwargs).fit(load_dataset("iris", seed=0), epochs=epochs, batch_size=16)
    return model.get_weights()


def saved_weights(run_dir):
    with np.load(run_dir / "model.npz") as f:
        return {k: f[k] for k in f.files if k != "__config__"}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_momentum_axis_names_runs_fills_hparams_and_reaches_the_optimizer(tmp_path):
    exp = Experiment("momentum", logdir=tmp_path, optimizer="momentum", learning_rate=0.05, **BASE)
    results = exp.sweep(momentum=[0.5, 0.99])
    assert [r.name for r in results] == ["momentum=0.5", "momentum=0.99"]
    rows = csv_rows(results.sweep_dir)
    for r, m in zip(results, (0.5, 0.99)):
        run_dir = results.sweep_dir / r.name
        hp = session_hparams(run_dir)
        assert hp["momentum"] == m and hp["nesterov"] is False and hp["weight_decay"] == 0
        assert "beta1" not in hp  # momentum has no betas: no column value for it
        assert float(rows[r.name]["momentum"]) == m
        assert_same_weights(saved_weights(run_dir), trained_by_hand("momentum", 0.05, momentum=m))
    a, b = (saved_weights(results.sweep_dir / r.name) for r in results)
    assert not np.array_equal(a["dense_1/kernel"], b["dense_1/kernel"])


def test_adam_betas_eps_and_weight_decay_axes(tmp_path):
    exp = Experiment("adam", logdir=tmp_path, optimizer="adam", learning_rate=0.01, eps=1e-6, **BASE)
    results = exp.sweep(beta2=[0.99, 0.999], weight_decay=[0.0, 0.01])
    assert [r.name for r in results] == ["beta2=0.99,wd=0", "beta2=0.99,wd=0.01", "beta2=0.999,wd=0",
                                         "beta2=0.999,wd=0.01"]
    rows = csv_rows(results.sweep_dir)
    for r in results:
        c = r.config
        assert (float(rows[r.name]["beta2"]), float(rows[r.name]["weight_decay"]), float(rows[r.name]["eps"])) == \
            (c["beta2"], c["weight_decay"], 1e-6)
        assert rows[r.name]["beta1"] == ""  # not set: Adam's default, which HParams shows
        hp = session_hparams(results.sweep_dir / r.name)
        assert (hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"]) == (0.9, c["beta2"], 1e-6, c["weight_decay"])
        assert "momentum" not in hp
        expected = trained_by_hand("adam", 0.01, betas=(0.9, c["beta2"]), eps=1e-6, weight_decay=c["weight_decay"])
        assert_same_weights(saved_weights(results.sweep_dir / r.name), expected)


def test_weight_decay_is_torchs_l2_through_the_gradient_on_every_parameter():
    # torch.optim.SGD docs: g <- g + weight_decay * p, then p <- p - lr * g (biases included).
    data = load_dataset("iris", seed=0)
    model = MLP([4, 8, 3], seed=0)
    before = model.get_weights()
    model.train_step(data.x_train, data.y_train)
    grads = {p.name: p.gradients[p].copy() for p in model.params}
    trainer = Trainer(model, "sgd", lr=0.1, weight_decay=0.5)
    trainer.optimizer.step()
    for name, value in model.get_weights().items():
        np.testing.assert_allclose(value, before[name] - 0.1 * (grads[name] + 0.5 * before[name]), rtol=1e-13)


def test_nesterov_axis(tmp_path):
    exp = Experiment("nesterov", logdir=tmp_path, optimizer="momentum", learning_rate=0.05, **BASE)
    results = exp.sweep(nesterov=[False, True])
    assert [r.name for r in results] == ["nesterov=False", "nesterov=True"]
    assert [session_hparams(results.sweep_dir / r.name)["nesterov"] for r in results] == [False, True]
    assert [row["nesterov"] for row in csv_rows(results.sweep_dir).values()] == ["False", "True"]
    assert_same_weights(saved_weights(results.sweep_dir / "nesterov=True"),
                        trained_by_hand("momentum", 0.05, nesterov=True))


@pytest.mark.parametrize("fields,message", [
    ({"momentum": 0.9}, "momentum=0.9 does not apply to optimizer 'adam'; momentum is a setting of momentum, "
                        "nesterov, rmsprop: choose one of those optimizers"),
    ({"optimizer": "sgd", "beta1": 0.8}, "beta1=0.8 does not apply to optimizer 'sgd'; beta1 is a setting of adam"),
    ({"beta1": 1.0}, "beta1 must be a number in [0, 1), got beta1=1.0"),
    ({"eps": -1e-8}, "eps must be a number >= 0, got eps=-1e-08"),
    ({"weight_decay": -0.1}, "weight_decay must be a number >= 0, got weight_decay=-0.1"),
    ({"weight_decay": "lots"}, "weight_decay must be a number >= 0, got weight_decay='lots'"),
    ({"optimizer": "momentum", "nesterov": "maybe"}, "nesterov must be on or off (true/false), got nesterov='maybe'"),
    ({"optimizer": "momentum", "momentum": 0, "nesterov": True}, "Momentum: nesterov=True needs momentum > 0"),
    ({"optimizer": "adagrad", "nesterov": True}, "nesterov=True does not apply to optimizer 'adagrad'"),
])
def test_bad_settings_name_the_field_the_value_and_the_range(fields, message):
    with pytest.raises(ValueError) as info:
        RunConfig(**fields).validated()
    assert message in str(info.value)


def test_cli_flags_make_axes(tmp_path, capsys):
    code = main(["sweep", "--dataset", "iris", "--hidden", "8", "--epochs", "2", "--optimizer", "momentum",
                 "--lr", "0.05", "--momentum", "0.5", "0.9", "--nesterov", "off", "on", "--weight-decay", "1e-4",
                 "--logdir", str(tmp_path), "--workers", "1", "--no-progress", "--no-histograms"])
    assert code == 0, capsys.readouterr().err
    sweep_dir = next(tmp_path.iterdir())
    assert sorted(csv_rows(sweep_dir)) == ["momentum=0.5,nesterov=False", "momentum=0.5,nesterov=True",
                                           "momentum=0.9,nesterov=False", "momentum=0.9,nesterov=True"]
    assert session_hparams(sweep_dir / "momentum=0.9,nesterov=True")["weight_decay"] == pytest.approx(1e-4)


def test_cli_betas_pair_and_bare_switch(tmp_path, capsys):
    code = main(["train", "--dataset", "iris", "--hidden", "8", "--epochs", "1", "--betas", "0.8,0.99",
                 "--logdir", str(tmp_path), "--workers", "1", "--no-progress", "--no-histograms"])
    assert code == 0, capsys.readouterr().err
    hp = session_hparams(next(tmp_path.glob("train-*/run")))
    assert (hp["beta1"], hp["beta2"]) == (0.8, 0.99)


def run_main(argv):
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize("argv,message", [
    (["--momentum", "high"], "--momentum must be a number, got 'high'"),
    (["--weight-decay", "x"], "--weight-decay must be a number, got 'x'"),
    (["--nesterov", "perhaps"], "--nesterov must be on or off (true/false), got --nesterov='perhaps'"),
    (["--betas", "0.9"], "--betas takes one pair B1,B2 such as 0.9,0.999"),
    (["--momentum", "0.9"], "--momentum 0.9 does not apply to optimizer 'adam'"),
    (["--optimizer", "adam", "--beta2", "1.5"], "--beta2 must be a number in [0, 1), got --beta2 1.5"),
    (["--schedule", "cosin"], "unknown schedule 'cosin'"),
])
def test_cli_bad_settings_exit_2_and_write_nothing(tmp_path, capsys, argv, message):
    logdir = tmp_path / "logs"
    assert run_main(["sweep", *argv, "--logdir", str(logdir), "--no-progress"]) == 2
    assert message in capsys.readouterr().err
    assert not logdir.exists()
