"""Data settings as sweep axes: noise, n_samples, val_fraction, standardize (names, HParams, results.csv, effect)."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import sklearn.datasets

from flowlab.cli import main
from flowlab.data import load_dataset
from flowlab.experiment import Experiment
from flowlab.models import MLP
from tbread import session_hparams as hparams

SMALL = dict(hidden=[8], epochs=3, batch_size=16, workers=1, histograms=False, optimizer="adam", learning_rate=0.05)


def sweep(tmp_path, dataset, **axes):
    results = Experiment("data", logdir=tmp_path, dataset=dataset, **SMALL).sweep(**axes)
    return results, {r.name: r for r in results}


def csv_rows(results):
    with open(results.sweep_dir / "results.csv", newline="") as f:
        return {row["name"]: row for row in csv.DictReader(f)}


def recomputed(run, data):
    """Validation loss and accuracy of the run's saved model on ``data``, computed here with numpy."""
    logits = MLP.load(Path(run.logdir) / "model.npz").forward(data.x_val)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(data.y_val)), data.y_val].mean(), (logits.argmax(axis=1) == data.y_val).mean()


def assert_trained_on(run, data):
    loss, accuracy = recomputed(run, data)
    assert run.metrics["val_loss"] == pytest.approx(loss, rel=1e-9)
    assert run.metrics["val_accuracy"] == pytest.approx(accuracy, abs=1e-12)


def test_standardize_axis_feeds_raw_features_when_off(tmp_path):
    results, runs = sweep(tmp_path, "wine", standardize=[True, False])
    assert set(runs) == {"standardize=True", "standardize=False"}
    rows = csv_rows(results)
    assert rows["standardize=False"]["standardize"] == "False" and rows["standardize=True"]["standardize"] == "True"
    assert hparams(runs["standardize=False"].logdir)["standardize"] is False
    assert hparams(runs["standardize=True"].logdir)["standardize"] is True
    assert hparams(runs["standardize=True"].logdir)["n_samples"] == "all"  # wine's 178, none left out

    raw, scaled = load_dataset("wine", standardize=False), load_dataset("wine")
    assert raw.x_train.mean(axis=0).max() > 100  # proline is in the hundreds: unscaled features really differ
    np.testing.assert_allclose(scaled.x_train.mean(axis=0), 0, atol=1e-12)
    assert_trained_on(runs["standardize=False"], raw)
    assert_trained_on(runs["standardize=True"], scaled)
    # Each saved model fits only the features it was trained on.
    assert recomputed(runs["standardize=True"], raw)[0] != pytest.approx(runs["standardize=True"].metrics["val_loss"])


def test_noise_and_n_samples_axes_make_the_data_they_name(tmp_path):
    results, runs = sweep(tmp_path, "moons", noise=[0.0, 0.3], n_samples=[100, 200])
    assert set(runs) == {f"noise={n},samples={s}" for n in ("0", "0.3") for s in (100, 200)}
    rows = csv_rows(results)
    assert rows["noise=0.3,samples=200"]["noise"] == "0.3" and rows["noise=0.3,samples=200"]["n_samples"] == "200"
    hp = hparams(runs["noise=0,samples=100"].logdir)
    # strings, so that no sweep mixes "default" or "all" into a numeric column
    assert hp["noise"] == "0" and hp["n_samples"] == "100" and hp["standardize"] is True
    for noise in (0.0, 0.3):
        for n in (100, 200):
            data = load_dataset("moons", noise=noise, n_samples=n, standardize=False)
            # scikit-learn's make_moons is the oracle: the same points, split into train and validation
            x, _ = sklearn.datasets.make_moons(n_samples=n, noise=noise, random_state=0)
            got = np.concatenate([data.x_train, data.x_val])
            np.testing.assert_array_equal(got[np.lexsort(got.T)], x[np.lexsort(x.T)])
            assert data.num_val == n // 5
            assert_trained_on(runs[f"noise={noise:g},samples={n}"], load_dataset("moons", noise=noise, n_samples=n))
    clean = load_dataset("moons", noise=0.0, n_samples=100, standardize=False)
    # Without noise every point lies on one of the two unit half circles.
    on_upper = np.isclose(np.hypot(*clean.x_train.T), 1.0)
    on_lower = np.isclose(np.hypot(clean.x_train[:, 0] - 1, clean.x_train[:, 1] - 0.5), 1.0)
    assert np.all(on_upper | on_lower)


def test_val_fraction_axis_holds_out_that_share(tmp_path):
    results, runs = sweep(tmp_path, "iris", val_fraction=[0.2, 0.5])
    assert set(runs) == {"val=0.2", "val=0.5"}
    assert csv_rows(results)["val=0.5"]["val_fraction"] == "0.5"
    assert hparams(runs["val=0.5"].logdir)["val_fraction"] == 0.5
    assert hparams(runs["val=0.5"].logdir)["noise"] == "default"
    for fraction, n_val in ((0.2, 30), (0.5, 75)):
        data = load_dataset("iris", val_fraction=fraction)
        assert data.num_val == n_val
        assert_trained_on(runs[f"val={fraction:g}"], data)


@pytest.mark.parametrize("config, match", [
    (dict(dataset="digits", noise=0.1), r"noise applies to the generated datasets \(spiral, moons.*not 'digits'"),
    (dict(dataset="moons", noise=-1), r"noise must be a number from 0 to 1e6 \(the points. own scale is about 1\), got noise=-1"),
    (dict(dataset="moons", noise="lots"), r"noise must be a number, got noise='lots'"),
    (dict(dataset="iris", n_samples=1), r"n_samples must be a whole number >= 2, got n_samples=1"),
    (dict(dataset="iris", n_samples=151), r"n_samples=151 but 'iris' has only 150 examples"),
    (dict(dataset="moons", n_samples=4, val_fraction=0.1), r"val_fraction=0.1 of 4 examples leaves an empty"),
    (dict(dataset="iris", val_fraction=0.999), r"val_fraction=0.999 of 150 examples leaves an empty"),
    (dict(dataset="iris", standardize="no"), r"standardize must be True or False, got standardize='no'"),
])
def test_bad_data_settings_fail_before_anything_is_written(tmp_path, config, match):
    with pytest.raises(ValueError, match=match):
        Experiment("bad", logdir=tmp_path / "logs", **config).sweep()
    assert not (tmp_path / "logs").exists()


def test_cli_data_flags(tmp_path, capsys):
    code = main(["sweep", "--dataset", "circles", "--noise", "0.05", "0.2", "--samples", "120", "--val-fraction",
                 "0.25", "--standardize", "on", "off", "--lr", "0.05", "--epochs", "2", "--hidden", "8", "--workers",
                 "1", "--logdir", str(tmp_path), "--no-progress", "--no-histograms"])
    assert code == 0, capsys.readouterr().err
    [sweep_dir] = tmp_path.iterdir()
    runs = sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and p.name != ".flowlab")
    assert runs == sorted(f"noise={n},standardize={s}" for n in ("0.05", "0.2") for s in ("True", "False"))
    config = json.loads((sweep_dir / "noise=0.2,standardize=False" / "run.json").read_text())["config"]
    settings = (config["noise"], config["n_samples"], config["val_fraction"], config["standardize"])
    assert settings == (0.2, 120, 0.25, False)
    assert main(["sweep", "--dataset", "moons", "--noise", "-0.5", "--lr", "0.1", "--logdir", str(tmp_path / "x")]) == 2
    assert "--noise must be a number from 0 to 1e6 (the points' own scale is about 1), got --noise -0.5" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--standardize", "maybe"])
    assert exit_.value.code == 2 and "invalid choice: 'maybe'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_hparams_show_the_sample_count_a_generated_set_defaults_to():
    from flowlab.experiment import RunConfig

    assert RunConfig(dataset="spiral").validated().hparams()["n_samples"] == "300"
    assert RunConfig(dataset="digits").validated().hparams()["n_samples"] == "all"
    assert RunConfig(dataset="moons", n_samples=64).validated().hparams()["n_samples"] == "64"


def test_input_scaling_experiment_shows_what_its_docstring_says(tmp_path):
    """experiments/input_scaling.py, full length: the claims of its docstring, from its own logs."""
    import importlib.util

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    spec = importlib.util.spec_from_file_location("input_scaling", Path(__file__).parent.parent / "experiments" /
                                                  "input_scaling.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    results = script.main(["--workers", "1", "--logdir", str(tmp_path)])
    runs = {r.name: r for r in results}
    val = load_dataset("wine").y_val
    raw_sgd, raw_adam = runs["standardize=False,optimizer=sgd"], runs["standardize=False,optimizer=adam"]
    assert raw_sgd.metrics["val_accuracy"] == pytest.approx(np.bincount(val).max() / len(val))  # the largest class
    assert round(raw_sgd.metrics["val_accuracy"], 2) == 0.39
    for name, run in runs.items():
        scalars = EventAccumulator(str(Path(run.logdir) / "train")).Reload()
        grad = [e.value for e in scalars.Scalars("gradient_norm/dense_1")]
        loss = [e.value for e in scalars.Scalars("epoch_loss")]
        if name.startswith("standardize=True"):
            assert run.metrics["val_accuracy"] > 0.95 and run.metrics["loss"] < 0.2 and loss[-1] < 0.2
            assert 0.5 < grad[0] < 2 and grad[-1] < grad[0] and loss[0] < 2
        else:
            assert loss[0] > 100 and 0.9 < loss[-1] < 1.2  # in the hundreds, then near chance (ln 3)
        if run is raw_sgd:
            assert grad == [0.0] * 50  # dead ReLUs: no gradient reaches dense_1 at any epoch
    assert raw_sgd.metrics["val_accuracy"] < raw_adam.metrics["val_accuracy"] < 0.96
