"""The default dtype follows the dataset's size: float32 at MNIST size, float64 for the small sets; --dtype overrides."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fakes import write_idx
from flowlab.data import DATASETS, FLOAT32_FEATURES, default_dtype, load_dataset
from flowlab.experiment import Experiment, RunConfig


def _learnable_mnist(folder, n_train=600, n_val=200, seed=0):
    """Ten noisy prototype images: a network learns them, so accuracy means something."""
    rng = np.random.default_rng(seed)
    prototypes = rng.integers(0, 256, size=(10, 28, 28))
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_val)):
        labels = rng.integers(0, 10, size=n)
        images = np.clip(prototypes[labels] + rng.normal(0, 90, size=(n, 28, 28)), 0, 255)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
    return folder


def test_default_dtype_per_dataset():
    for name, info in DATASETS.items():
        expected = np.float32 if info.num_features >= FLOAT32_FEATURES else np.float64
        assert default_dtype(name) == expected, name
    assert default_dtype("mnist") == np.float32 and default_dtype("fashion-mnist") == np.float32
    assert default_dtype("digits") == np.float64 and default_dtype("iris") == np.float64
    assert load_dataset("digits").dtype == np.float64


def test_run_config_resolves_and_keeps_an_explicit_dtype(tmp_path):
    folder = _learnable_mnist(tmp_path / "m", n_train=20, n_val=10)
    assert RunConfig(dataset="mnist", data_dir=str(folder)).validated().dtype == "float32"
    assert RunConfig(dataset="mnist", data_dir=str(folder), dtype="float64").validated().dtype == "float64"
    assert RunConfig().validated().dtype == "float64"
    assert RunConfig(dtype="float32").validated().dtype == "float32"
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64', got dtype='float16'"):
        RunConfig(dtype="float16").validated()


def test_mnist_trains_in_float32_to_the_accuracy_of_float64(tmp_path):
    folder = _learnable_mnist(tmp_path / "mnist")
    exp = Experiment("dtypes", dataset="mnist", data_dir=str(folder), hidden=[32], epochs=3, batch_size=64,
                     logdir=str(tmp_path / "logs"), workers=1)
    results = exp.sweep(dtype=[None, "float64"])
    default, wide = results
    assert default.config["dtype"] == "float32" and wide.config["dtype"] == "float64"
    with np.load(Path(default.logdir) / "model.npz", allow_pickle=False) as saved:
        assert saved["dense_1/kernel"].dtype == np.float32
    assert default.metrics["val_accuracy"] > 0.9 and wide.metrics["val_accuracy"] > 0.9
    assert abs(default.metrics["val_accuracy"] - wide.metrics["val_accuracy"]) <= 0.02


def test_cli_dtype_overrides_the_default(tmp_path):
    folder = _learnable_mnist(tmp_path / "mnist", n_train=50, n_val=20)
    for flag, expected in (([], "float32"), (["--dtype", "float64"], "float64")):
        logdir = tmp_path / f"logs{len(flag)}"
        subprocess.run([sys.executable, "-m", "flowlab", "train", "--dataset", "mnist", "--data-dir", str(folder),
                        "--epochs", "1", "--hidden", "8", "--logdir", str(logdir), "--no-progress", *flag],
                       check=True, capture_output=True)
        (run_json,) = logdir.glob("*/*/run.json")
        assert json.loads(run_json.read_text())["config"]["dtype"] == expected


def test_a_resume_leaves_each_runs_dtype_to_its_dataset(tmp_path):
    # Found in review: a resume copied the first run's dtype (float64, iris) onto an MNIST run.
    folder = _learnable_mnist(tmp_path / "m", n_train=40, n_val=20)
    exp = Experiment("d", logdir=tmp_path / "logs", workers=1, histograms=False, data_dir=str(folder),
                     hidden=(8,), epochs=1)
    first = exp.sweep(dataset=["iris", "mnist"])
    assert [r.config["dtype"] for r in first] == ["float64", "float32"]
    again = exp.sweep(resume=first.sweep_dir, dataset=["iris", "mnist"])   # the same grid: kept, not refused
    assert [r.seconds for r in again] == [r.seconds for r in first]
    redone = Experiment("d", logdir=tmp_path / "logs", workers=1, histograms=False).sweep(
        resume=first.sweep_dir, epochs=[2], redo_changed=True)
    assert [(r.config["dtype"], r.metrics["epochs_run"]) for r in redone] == [("float64", 2), ("float32", 2)]
    small = Experiment("s", logdir=tmp_path / "logs", workers=1, histograms=False, data_dir=str(folder),
                       hidden=(8,), epochs=1).sweep(dataset=["iris", "wine"])
    grown = Experiment("s", logdir=tmp_path / "logs", workers=1, histograms=False).sweep(
        resume=small.sweep_dir, dataset=["iris", "wine", "mnist"])
    assert [r.config["dtype"] for r in grown] == ["float64", "float64", "float32"]
    # A dtype no run would have derived was given to the sweep: it stays. (One equal to what every run derives,
    # float64 on iris and wine, cannot be told from the derived one: the record holds values, not intentions.)
    explicit = Experiment("e", logdir=tmp_path / "logs", workers=1, histograms=False, data_dir=str(folder),
                          hidden=(8,), epochs=1, dtype="float64").sweep(dataset=["mnist"], learning_rate=[0.1, 0.2])
    grown = Experiment("e", logdir=tmp_path / "logs", workers=1, histograms=False).sweep(
        resume=explicit.sweep_dir, learning_rate=[0.1, 0.2, 0.3])
    assert [r.config["dtype"] for r in grown] == ["float64"] * 3
