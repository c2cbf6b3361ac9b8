"""flowlab.bench_models: the graphs `python -m flowlab.bench --model` times are the MLP's own network."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from flowlab import MLP
from flowlab.data import epoch_batches, load_dataset


@pytest.mark.parametrize("kind", ["graph", "miniflow"])
def test_the_benchmarks_generic_graphs_are_the_mlps_network(kind):
    """bench --model graph/miniflow times the MLP's own network: same weights after the same steps."""
    from flowlab.bench_models import model_of
    from flowlab.optim import get_optimizer

    data = load_dataset("digits", seed=0)
    mlp, other = MLP([64, 16, 10], activation="sigmoid", seed=3), model_of(kind, [64, 16, 10], "sigmoid", seed=3)
    assert other.fast is (kind == "graph")
    for model in (mlp, other):
        opt = get_optimizer("adam", model.params, lr=0.01)
        for xb, yb in epoch_batches(data.x_train, data.y_train, 32, seed=0, epoch=0):
            model.train_step(xb, yb)
            opt.step()
    for p, q in zip(mlp.params, other.params):
        if kind == "graph":
            assert_array_equal(p.value, q.value)
        else:  # the course's Linear sums its bias gradient with np.sum: equal to rounding
            np.testing.assert_allclose(p.value, q.value, rtol=1e-9, atol=1e-12)


def test_bench_times_the_generic_path():
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "flowlab.bench", "--model", "miniflow", "--steps", "5",
                          "--activation", "sigmoid"], capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    assert result["model"] == "miniflow" and result["fast_path"] is False and result["median_us_per_step"] > 0
