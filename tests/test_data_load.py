"""flowlab.data.load: load_dataset for every bundled set, its arguments, and the MNIST loader on generated IDX files
(the IDX reader itself: tests/test_idx.py)."""

import numpy as np
import pytest

from fakes import idx_bytes, write_bytes
from flowlab.data import DATASETS, Dataset, load_dataset, read_idx


BUILTIN = [name for name, info in DATASETS.items() if info.builtin]



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


def test_subsampling_a_bundled_set():
    ds = load_dataset("digits", n_samples=200, seed=1)
    assert ds.num_train + ds.num_val == 200


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


@pytest.mark.parametrize("kwargs, error, message", [
    ({"seed": -1}, ValueError, "seed must be an int >= 0, got seed=-1"),
    ({"seed": True}, ValueError, "seed must be an int >= 0, got seed=True"),
    ({"seed": 1.0}, ValueError, "seed must be an int >= 0, got seed=1.0"),
    ({"val_fraction": 1.0}, ValueError, "val_fraction must be in (0, 1), got val_fraction=1.0"),
    ({"val_fraction": float("nan")}, ValueError, "val_fraction must be finite, got val_fraction=nan"),
    ({"val_fraction": "0.2"}, TypeError, "val_fraction must be a number, got val_fraction='0.2'"),
    ({"name": "spiral", "n_samples": 0}, ValueError, "n_samples must be an int >= 1, got n_samples=0"),
    ({"name": "spiral", "n_samples": 10.0}, ValueError, "n_samples must be an int >= 1, got n_samples=10.0"),
    ({"name": "moons", "noise": -1.0}, ValueError, "noise must be >= 0, got noise=-1.0"),
    ({"name": "moons", "noise": float("inf")}, ValueError, "noise must be finite, got noise=inf"),
    ({"name": "moons", "noise": "lots"}, TypeError, "noise must be a number, got noise='lots'"),
])
def test_argument_errors_read_as_the_shared_checks_word_them(kwargs, error, message):
    # the one shape of flowlab._checks: "name must be <rule>, got name=value", the value as typed
    kwargs = {"name": "iris", **kwargs}
    with pytest.raises(error) as err:
        load_dataset(kwargs.pop("name"), **kwargs)
    assert str(err.value) == message
