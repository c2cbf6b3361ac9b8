"""Tests for flowlab.data: datasets, split, standardization, batching, the MNIST loader."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fakes import idx_bytes, write_bytes
from flowlab import data
from flowlab.data import (DATASETS, Dataset, batches, check_batch_size, epoch_batches, list_datasets,
                          load_dataset, num_batches, read_idx, standardize, train_val_split)

BUILTIN = [name for name, info in DATASETS.items() if info.builtin]


# ---------------------------------------------------------------------------------------------
# Registry and loading.

@pytest.mark.parametrize("name", ["diabetes", "sine"])
def test_regression_datasets_hold_standardized_float_targets(name):
    import sklearn.datasets

    ds = load_dataset(name, seed=3)
    info = DATASETS[name]
    assert ds.task == info.task == "regression" and ds.num_classes == 0
    assert ds.x_train.shape == (ds.num_train, info.num_features) and ds.num_train + ds.num_val == info.num_samples
    assert ds.y_train.dtype == ds.y_val.dtype == np.float64 and ds.y_train.ndim == 1
    np.testing.assert_allclose([ds.y_train.mean(), ds.y_train.std()], [0.0, 1.0], atol=1e-12)
    if name == "diabetes":  # scikit-learn's targets, moved and scaled by one affine map (the standardization)
        raw = np.sort(sklearn.datasets.load_diabetes().target)
        ours = np.sort(np.concatenate([ds.y_train, ds.y_val]))
        slope, offset = np.polyfit(ours, raw, 1)
        np.testing.assert_allclose(ours * slope + offset, raw, rtol=1e-9)
    assert load_dataset(name, seed=3).y_val.tolist() == ds.y_val.tolist()
    assert load_dataset(name, seed=4).y_val.tolist() != ds.y_val.tolist()


def test_registry_lists_every_dataset_without_sklearn():
    code = ("import sys, flowlab.data as d; assert 'sklearn' not in sys.modules, 'sklearn imported';"
            "print(','.join(i.name for i in d.list_datasets()))")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().split(",") == list(DATASETS)
    assert {"digits", "iris", "wine", "breast_cancer", "spiral", "moons", "circles", "xor", "blobs",
            "diabetes", "sine", "mnist", "fashion-mnist"} == set(DATASETS)
    assert list(DATASETS)[0] == "digits"
    assert [i.name for i in list_datasets()] == list(DATASETS)
    assert not DATASETS["mnist"].builtin and DATASETS["spiral"].builtin


@pytest.mark.parametrize("name", [n for n in BUILTIN if DATASETS[n].task == "classification"])
def test_builtin_dataset_shapes_and_classes(name):
    info = DATASETS[name]
    ds = load_dataset(name)
    assert isinstance(ds, Dataset) and ds.name == name
    n = ds.num_train + ds.num_val
    assert n == info.num_samples
    assert ds.num_val == round(0.2 * n)
    assert ds.x_train.shape == (ds.num_train, info.num_features) == (len(ds.y_train), ds.num_features)
    assert ds.x_val.shape == (ds.num_val, info.num_features)
    assert ds.x_train.dtype == ds.x_val.dtype == np.float64
    assert ds.y_train.dtype == ds.y_val.dtype == np.int64
    assert ds.num_classes == info.num_classes == len(ds.class_names)
    assert set(np.unique(ds.y_train)) == set(range(info.num_classes))
    assert set(np.unique(ds.y_val)) == set(range(info.num_classes))
    assert np.isfinite(ds.x_train).all() and np.isfinite(ds.x_val).all()
    assert name in repr(ds)


def test_default_is_digits_with_names():
    ds = load_dataset()
    assert ds.name == "digits" and ds.class_names == tuple("0123456789")
    assert load_dataset("breast_cancer").class_names == ("malignant", "benign")


def test_names_are_forgiving_about_case_and_separators():
    assert load_dataset("Breast-Cancer").name == "breast_cancer"


def test_unknown_name_suggests_close_match():
    with pytest.raises(ValueError, match=r"unknown dataset 'digit'; choose from blobs, breast_cancer, .*"
                                         r"\(did you mean 'digits'\?\)"):
        load_dataset("digit")
    with pytest.raises(ValueError, match="fashion-mnist") as err:
        load_dataset("zzz")
    assert "did you mean" not in str(err.value)


@pytest.mark.parametrize("kwargs, match", [
    ({"val_fraction": 0}, "val_fraction"), ({"val_fraction": 1.0}, "val_fraction"),
    ({"val_fraction": -0.1}, "val_fraction"), ({"seed": -1}, "seed"),
    ({"name": "spiral", "n_samples": 0}, "n_samples"), ({"name": "moons", "n_samples": -5}, "n_samples"),
    ({"name": "iris", "noise": 0.1}, "noise"), ({"name": "moons", "noise": -1.0}, "noise"),
    ({"dtype": np.int32}, "dtype"), ({"name": "iris", "n_samples": 1000}, "n_samples"),
])
def test_invalid_arguments(kwargs, match):
    kwargs = {"name": "iris", **kwargs}
    with pytest.raises(ValueError, match=match):
        load_dataset(kwargs.pop("name"), **kwargs)


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


def test_float32_option_and_astype():
    ds32 = load_dataset("iris", dtype=np.float32)
    ds64 = load_dataset("iris")
    assert ds32.x_train.dtype == ds32.x_val.dtype == np.float32 and ds32.y_train.dtype == np.int64
    converted = ds64.astype(np.float32)
    assert converted.dtype == np.float32 and ds64.dtype == np.float64
    np.testing.assert_array_equal(converted.x_val, ds32.x_val)
    assert ds64.astype("float64") is ds64


def test_dataset_is_frozen():
    ds = load_dataset("iris")
    with pytest.raises(AttributeError):
        ds.name = "other"


def test_subsampling_a_bundled_set():
    ds = load_dataset("digits", n_samples=200, seed=1)
    assert ds.num_train + ds.num_val == 200


# ---------------------------------------------------------------------------------------------
# Split.

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


# ---------------------------------------------------------------------------------------------
# Standardization.

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


# ---------------------------------------------------------------------------------------------
# Batching.

X = np.arange(20.0).reshape(10, 2)
Y = np.arange(10)


@pytest.mark.parametrize("batch_size, sizes", [
    (None, [10]), ("full", [10]), (1, [1] * 10), (3, [3, 3, 3, 1]), (5, [5, 5]), (64, [10]),
])
def test_batch_sizes(batch_size, sizes):
    got = list(batches(X, Y, batch_size, rng=0))
    assert [len(xb) for xb, _ in got] == [len(yb) for _, yb in got] == sizes
    assert num_batches(10, batch_size) == len(sizes)
    seen = np.concatenate([yb for _, yb in got])
    assert sorted(seen) == list(range(10))  # every sample exactly once
    for xb, yb in got:
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)  # rows stay paired


def test_full_batch_is_the_whole_set():
    (xb, yb), = batches(X, Y, None, rng=0)
    assert xb is X and yb is Y


def test_epoch_batches_reshuffle_per_epoch_deterministically():
    def order(seed, epoch):
        return np.concatenate([yb for _, yb in epoch_batches(X, Y, 4, seed, epoch)])

    np.testing.assert_array_equal(order(0, 3), order(0, 3))
    orders = [tuple(order(0, e)) for e in range(5)]
    assert len(set(orders)) == 5
    assert tuple(order(1, 0)) != orders[0]
    assert all(sorted(o) == list(range(10)) for o in orders)


def test_generator_rng_is_consumed_per_epoch():
    rng = np.random.default_rng(0)
    first = np.concatenate([yb for _, yb in batches(X, Y, 3, rng=rng)])
    second = np.concatenate([yb for _, yb in batches(X, Y, 3, rng=rng)])
    assert not np.array_equal(first, second)
    again = np.random.default_rng(0)
    np.testing.assert_array_equal(first, np.concatenate([yb for _, yb in batches(X, Y, 3, rng=again)]))


def test_no_shuffle_keeps_order_as_views():
    got = list(batches(X, Y, 4, shuffle=False))
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in got]), Y)
    assert np.shares_memory(got[0][0], X)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "32", "all", True])
def test_bad_batch_size(bad):
    with pytest.raises(ValueError, match=r"batch_size=.*") as err:
        batches(X, Y, bad)
    assert repr(bad) in str(err.value) and "full" in str(err.value)
    with pytest.raises(ValueError):
        num_batches(10, bad)


def test_check_batch_size_normalizes():
    assert check_batch_size("full") is None and check_batch_size(None) is None
    assert check_batch_size(np.int64(8)) == 8


# ---------------------------------------------------------------------------------------------
# The MNIST loader (the IDX reader itself: tests/test_idx.py).

def _fake_mnist(directory, n_train=12, n_val=5, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_val)):
        images = rng.integers(0, 256, size=(n, 28, 28)).astype(np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        suffix = ".gz" if gz else ""
        write_bytes(directory / f"{prefix}-images-idx3-ubyte{suffix}", idx_bytes(images), gz)
        write_bytes(directory / f"{prefix}-labels-idx1-ubyte{suffix}", idx_bytes(labels), gz)
    return directory


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_loader_on_fake_files(tmp_path, gz):
    directory = _fake_mnist(tmp_path / "mnist", gz=gz)
    raw = load_dataset("mnist", data_dir=directory, standardize=False, dtype=np.float64)
    assert raw.x_train.shape == (12, 784) and raw.x_val.shape == (5, 784)  # t10k is the validation set
    assert raw.x_train.min() >= 0.0 and raw.x_train.max() <= 1.0
    np.testing.assert_array_equal(raw.x_train[0], read_idx(directory / f"train-images-idx3-ubyte{'.gz' * gz}")[0].ravel() / 255)
    np.testing.assert_array_equal(raw.y_val, np.arange(5))
    assert raw.num_classes == 10 and raw.y_train.dtype == np.int64
    assert load_dataset("mnist", data_dir=directory).dtype == np.float32  # the default at MNIST size
    ds = load_dataset("mnist", data_dir=directory, dtype=np.float64)
    np.testing.assert_allclose(ds.x_train.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(ds.x_val, (raw.x_val - raw.x_train.mean(0)) / raw.x_train.std(0), rtol=1e-12)


def test_fashion_mnist_default_dir_and_class_names(tmp_path, monkeypatch):
    _fake_mnist(tmp_path / "data" / "fashion-mnist", gz=True)
    monkeypatch.chdir(tmp_path)
    ds = load_dataset("fashion-mnist")
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    assert load_dataset("fashion_mnist", n_samples=6).num_train == 6


def test_mnist_missing_files_message(tmp_path):
    directory = _fake_mnist(tmp_path / "partial")
    (directory / "t10k-labels-idx1-ubyte").unlink()
    (directory / "train-images-idx3-ubyte").unlink()
    with pytest.raises(FileNotFoundError) as err:
        load_dataset("mnist", data_dir=directory)
    msg = str(err.value)
    assert "train-images-idx3-ubyte" in msg and "t10k-labels-idx1-ubyte" in msg
    assert "train-labels-idx1-ubyte[" not in msg  # only the missing ones are listed as missing
    assert str(directory.resolve()) in msg and "data_dir=" in msg and "--data-dir" in msg
    assert "https://" in msg
    with pytest.raises(FileNotFoundError, match=r"does not exist.*github.com/zalandoresearch/fashion-mnist"):
        load_dataset("fashion-mnist", data_dir=tmp_path / "nowhere")


def test_mnist_count_mismatch_names_both_files(tmp_path):
    directory = _fake_mnist(tmp_path / "mnist")
    write_bytes(directory / "t10k-labels-idx1-ubyte", idx_bytes(np.zeros(4, dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte holds 5 images but .*t10k-labels-idx1-ubyte "
                                         r"holds 4 labels"):
        load_dataset("mnist", data_dir=directory)


def test_module_has_no_print():
    source = Path(data.__file__).read_text()
    assert "print(" not in source


@pytest.mark.parametrize("batch_size", [1, 3, 7, 128])
def test_shuffled_batches_are_the_slices_of_the_permuted_set(tmp_path, batch_size):
    # The oracle is the plain way: permute the whole set with the same generator, then slice.
    # Memory-mapped features (as the dataset cache gives), N-d features and one-hot labels included.
    rng = np.random.default_rng(5)
    x = rng.normal(size=(301, 4, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    for y in (rng.integers(0, 10, size=301), np.eye(10)[rng.integers(0, 10, size=301)]):
        perm = np.random.default_rng(11).permutation(301)
        want = [(x[perm][s:s + batch_size], y[perm][s:s + batch_size]) for s in range(0, 301, batch_size)]
        for source in (x, mapped):
            got = list(batches(source, y, batch_size, rng=11))
            assert len(got) == len(want)
            for (xb, yb), (wx, wy) in zip(got, want):
                assert type(xb) is np.ndarray and xb.dtype == wx.dtype and xb.flags.c_contiguous
                np.testing.assert_array_equal(xb, wx)
                np.testing.assert_array_equal(yb, wy)
                assert yb.dtype == wy.dtype


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_check_arrays_finds_every_non_finite_entry_as_the_mask_does(dtype):
    # The oracle is the entry-by-entry mask: a non-finite entry anywhere is reported at the first
    # position np.isfinite finds, and finite data whose sum overflows still passes.
    y = np.zeros(50, dtype=np.int64)
    for bad in (np.nan, np.inf, -np.inf):
        for at in ((0, 0), (17, 2), (49, 3)):
            x = np.ones((50, 4), dtype=dtype)
            x[at] = bad
            x[30, 1] = bad  # a second one later: the first is named
            first = tuple(int(i) for i in np.argwhere(~np.isfinite(x))[0])
            with pytest.raises(ValueError, match=rf"x\[{first[0]}, {first[1]}\] is {x[first]}"):
                data.check_arrays("d", "train", x, y)
    huge = np.full((50, 4), np.finfo(dtype).max, dtype=dtype)
    with np.errstate(over="ignore"):
        assert not np.isfinite(huge.sum())
    data.check_arrays("d", "train", huge, y)  # finite entries, overflowing sum: accepted
    data.check_arrays("d", "train", np.arange(200).reshape(50, 4), y)  # integers are finite
