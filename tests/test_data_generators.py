"""flowlab.data.generators: the generated sets follow n_samples, noise and seed, and have the shapes they are named for."""

import numpy as np
import pytest

from flowlab.data import load_dataset


@pytest.mark.parametrize("name", ["spiral", "moons", "circles", "xor", "blobs"])
def test_generated_sets_follow_n_samples_noise_and_seed(name):
    a = load_dataset(name, n_samples=100, noise=0.05, seed=3)
    b = load_dataset(name, n_samples=100, noise=0.05, seed=3)
    c = load_dataset(name, n_samples=100, noise=0.05, seed=4)
    assert a.num_train + a.num_val == 100
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)


def test_spiral_is_cs231n_spiral():
    ds = load_dataset("spiral", n_samples=300, noise=0.0, standardize=False)
    x = np.concatenate([ds.x_train, ds.x_val])
    y = np.concatenate([ds.y_train, ds.y_val])
    assert np.bincount(y).tolist() == [100, 100, 100]
    r = np.hypot(x[:, 0], x[:, 1])
    assert r.min() == 0.0 and np.isclose(r.max(), 1.0)
    # Without noise, each point of arm j lies at angle t in [4j, 4j + 4] with r = (t - 4j) / 4.
    t = 4 * y + 4 * r
    np.testing.assert_allclose(x, np.column_stack([r * np.sin(t), r * np.cos(t)]), atol=1e-12)


def test_xor_labels_follow_signs():
    ds = load_dataset("xor", standardize=False)
    x, y = ds.x_train, ds.y_train
    assert np.abs(x).max() <= 1.0
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] < 0).astype(np.int64))
