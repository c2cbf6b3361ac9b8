"""flowlab.data.split: the train/validation split and standardization with the training set's statistics."""

import numpy as np
import pytest

from flowlab.data import load_dataset, standardize, train_val_split


def _rows(a):
    return {tuple(r) for r in a}


def test_split_is_deterministic_per_seed_and_differs_across_seeds():
    a, b, c = (load_dataset("digits", seed=s, standardize=False) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.x_val, b.x_val)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert _rows(a.x_val) != _rows(c.x_val)


def test_split_partitions_the_data():
    rng = np.random.default_rng(0)
    x = np.arange(100.0).reshape(50, 2)
    y = rng.integers(0, 3, 50)
    x_tr, y_tr, x_va, y_va = train_val_split(x, y, 0.3, seed=5)
    assert len(x_va) == 15 and len(x_tr) == 35
    assert sorted(np.concatenate([x_tr[:, 0], x_va[:, 0]])) == list(x[:, 0])
    np.testing.assert_array_equal(y[(x_tr[:, 0] / 2).astype(int)], y_tr)  # labels travel with rows


@pytest.mark.parametrize("stratify", [True, False])
def test_split_fraction_and_stratification(stratify):
    y = np.repeat([0, 1, 2], [60, 30, 10])
    x = np.arange(100.0)[:, None]
    _, y_tr, _, y_va = train_val_split(x, y, 0.2, 0, stratify=stratify)
    assert len(y_va) == 20
    if stratify:
        assert np.bincount(y_va).tolist() == [12, 6, 2]


def test_split_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        train_val_split(np.zeros((3, 1)), np.zeros(3), 0.1, 0)
    with pytest.raises(ValueError, match="y has"):
        train_val_split(np.zeros((3, 1)), np.zeros(4), 0.5, 0)



def test_standardize_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    x_train = rng.normal(5.0, 3.0, size=(200, 4))
    x_val = rng.normal(-2.0, 0.5, size=(50, 4))
    s_train, s_val = standardize(x_train, x_val)
    np.testing.assert_allclose(s_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(s_train.std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(s_val, (x_val - x_train.mean(0)) / x_train.std(0), rtol=1e-12)
    assert standardize(x_train)[0].shape == x_train.shape  # always a tuple


def test_standardize_constant_column_without_warning():
    x_train = np.array([[0.1, 1.0], [0.1, 2.0], [0.1, 3.0]])
    s_train, s_val = standardize(x_train, np.array([[0.6, 2.0]]))  # RuntimeWarning would be an error
    np.testing.assert_array_equal(s_train[:, 0], 0.0)
    np.testing.assert_allclose(s_val[0], [0.5, 0.0])


def test_loaded_dataset_standardized_with_train_stats():
    raw = load_dataset("wine", seed=2, standardize=False)
    ds = load_dataset("wine", seed=2)
    np.testing.assert_allclose(ds.x_train.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(ds.x_train.std(0), 1.0, rtol=1e-12)
    mean, std = raw.x_train.mean(0), raw.x_train.std(0)
    np.testing.assert_allclose(ds.x_val, (raw.x_val - mean) / std, rtol=1e-12)
    assert abs(ds.x_val.mean()) > 1e-6  # validation is not re-centred on its own statistics
