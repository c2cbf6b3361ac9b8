"""benchmarks/mnist_floor.py: its sums for the busiest worker, against the sweep's own arithmetic (no timing checks)."""

import pytest

from benchmarks import mnist_floor


def test_the_floor_is_the_sweeps_steps_and_passes_times_their_costs_over_the_workers():
    assert mnist_floor.OPTIMIZERS == {"sgd": 2, "momentum": 2, "adam": 2}  # the e2e benchmark's MNIST-size grid
    parts = {"products": 0.5e-3, "validation": 20e-3, "gather": 0.04e-3, "sgd": 0.04e-3, "momentum": 0.07e-3,
             "adam": 0.27e-3}
    (_, products), (_, updates), (_, gathers) = mnist_floor.floors(parts, workers=2)
    steps = 5 * 469  # 5 epochs of 60,000 examples in batches of 128 (the last one short)
    assert products == pytest.approx(6 * (steps * 0.5e-3 + 5 * 20e-3) / 2)
    assert updates == pytest.approx(products + steps * 2 * (0.04e-3 + 0.07e-3 + 0.27e-3) / 2)
    assert gathers == pytest.approx(updates + 6 * steps * 0.04e-3 / 2)


def test_the_report_prints_each_level_and_the_ratio_to_pytorch(monkeypatch, capsys):
    parts = {"products": 0.5e-3, "validation": 20e-3, "gather": 0.04e-3, "sgd": 0.04e-3, "momentum": 0.07e-3,
             "adam": 0.27e-3, "peak": 10e-3}
    monkeypatch.setattr(mnist_floor, "components", lambda: parts)
    assert mnist_floor.main(["--workers", "2", "--flowlab-seconds", "7", "--pytorch-seconds", "15"]) == 0
    out = capsys.readouterr().out
    products = 6 * (2345 * 0.5e-3 + 5 * 20e-3) / 2
    assert f"| the matrix products (training and validation) | {products:.2f} | {15 / products:.2f}x |" in out
    assert "| flowlab end to end, measured | 7.00 | 2.14x |" in out
    assert "3x PyTorch is 5.00 s" in out
    # 128 x (2 x 784 x 256 + 3 x 256 x 10) multiply-adds, twice that in floating-point operations, in 0.5 ms
    assert "| 5 products of a training step | 0.500 | 209 |" in out
    assert "| for scale: one 1024x1024 by 1024x1024 product | 10.00 | 215 |" in out
