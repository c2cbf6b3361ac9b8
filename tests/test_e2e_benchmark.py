"""benchmarks/e2e_vs_peers.py runs end to end on a tiny sweep, skips missing peers with a message (no timing checks)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _module():
    spec = importlib.util.spec_from_file_location("e2e_vs_peers", ROOT / "benchmarks" / "e2e_vs_peers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_mnist_is_read_by_flowlab_and_learnable(tmp_path):
    from flowlab.data import load_dataset

    e2e = _module()
    e2e.write_synthetic_mnist(tmp_path / "m", n_train=300, n_val=100)
    d = load_dataset("mnist", data_dir=tmp_path / "m")
    assert d.x_train.shape == (300, 784) and d.x_val.shape == (100, 784) and d.dtype == np.float32
    assert sorted(np.unique(d.y_train)) == list(range(10))


def test_tiny_run_skips_missing_peers_and_reports_flowlab(tmp_path, monkeypatch, capsys):
    e2e = _module()
    tiny = {"title": "tiny", "dataset": "mnist", "hidden": [8], "batch": 32, "epochs": 1,
            "axes": {"learning_rate": [0.01], "activation": ["relu"], "optimizer": ["sgd", "adam"]}}
    monkeypatch.setitem(e2e.SWEEPS, "mnist", tiny)
    real = e2e.write_synthetic_mnist
    monkeypatch.setattr(e2e, "write_synthetic_mnist", lambda folder: real(folder, n_train=200, n_val=50))
    missing = str(tmp_path / "no-python")
    assert e2e.main(["--sweeps", "mnist", "--rounds", "1", "--torch-python", missing, "--keras-python", missing,
                     "--json", str(tmp_path / "out.json")]) == 0
    out = capsys.readouterr().out
    assert f"# PyTorch: not importable by {missing}; skipped" in out
    assert f"# Keras: not importable by {missing}; skipped" in out
    rows = [line for line in out.splitlines() if line.startswith("| flowlab")]
    assert len(rows) == 2 and rows[0].startswith("| flowlab | 1 |") and "| 1.00 |" in rows[0]
    import json

    raw = json.loads((tmp_path / "out.json").read_text())["mnist"]
    assert set(raw) == {"flowlab", "flowlab, no cache", "numpy by hand, nothing written"}
    assert raw["flowlab"]["val_accuracy"] == raw["flowlab, no cache"]["val_accuracy"]  # the cache changes no number
    assert len(raw["flowlab"]["val_accuracy"]) == 2
    assert raw["numpy by hand, nothing written"]["val_accuracy"].keys() == raw["flowlab"]["val_accuracy"].keys()


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 1e-4)])
def test_the_hand_written_numpy_mlp_does_flowlabs_math(dtype, tol):
    # The numpy peer measures flowlab's training only if it computes what flowlab computes: from the same
    # weights on the same batches, its parameters after 20 steps are flowlab's to rounding, for each
    # optimizer and activation, in float64 and in the float32 the benchmark runs.
    from benchmarks.numpy_reference import NumpyMLP
    from flowlab.models import MLP
    from flowlab.train import Trainer

    rng = np.random.default_rng(3)
    batches = [(rng.normal(size=(16, 6)).astype(dtype), rng.integers(0, 3, 16)) for _ in range(20)]
    for activation in ("relu", "tanh", "sigmoid"):
        for optimizer, lr in (("sgd", 0.1), ("momentum", 0.05), ("adam", 0.01)):
            model = MLP([6, 7, 3], activation=activation, seed=1, dtype=dtype)
            net = NumpyMLP([(layer.kernel.value, layer.bias.value) for layer in model.layers],
                           activation=activation, optimizer=optimizer, lr=lr)
            trainer = Trainer(model, optimizer, lr=lr)
            for x, y in batches:
                loss = float(model.train_step(x, y))
                trainer.optimizer.step()
                assert np.isclose(net.step(x, y), loss, rtol=tol, atol=tol)
            assert net.logits.dtype == model.logits.value.dtype == dtype
            assert np.allclose(net.logits, model.logits.value, rtol=tol, atol=tol)
            for (kernel, bias), layer in zip(net.params, model.layers):
                assert np.allclose(kernel, layer.kernel.value, rtol=tol, atol=tol), (activation, optimizer)
                assert np.allclose(bias, layer.bias.value, rtol=tol, atol=tol), (activation, optimizer)
            assert np.allclose(net.forward(batches[0][0]), model.forward(batches[0][0]), rtol=tol, atol=tol)
