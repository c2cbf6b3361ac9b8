"""flowlab.data.dataset: the Dataset record (frozen, astype) and the checks every dataset passes."""

import numpy as np
import pytest

from flowlab import data
from flowlab.data import load_dataset


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


def _saved_pair(tmp_path, x, y):
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    return tmp_path / "x.npy", tmp_path / "y.npy"


def _counting(monkeypatch):
    from flowlab.data import dataset

    calls = []
    real = dataset._check_arrays
    monkeypatch.setattr(dataset, "_check_arrays", lambda *a: (calls.append(a[1]), real(*a)))
    monkeypatch.setattr(dataset, "_PASSED", {})
    return calls


def test_read_only_memory_maps_are_checked_once(tmp_path, monkeypatch):
    # What a sweep's workers train on: the dataset is checked when it is built, and each run's fit does not
    # read its features again. The Trainer takes the same arrays.
    from flowlab.models import MLP
    from flowlab.train import Trainer

    calls = _counting(monkeypatch)
    rng = np.random.default_rng(0)
    paths = _saved_pair(tmp_path, rng.normal(size=(40, 3)), rng.integers(0, 2, 40))
    x, y = (np.load(p, mmap_mode="r") for p in paths)
    d = data.Dataset(x_train=x, y_train=y, x_val=x[:8], y_val=y[:8], name="mapped", num_features=3, num_classes=2)
    assert calls == ["train", "validation"]
    for seed in range(3):
        Trainer(MLP([3, 4, 2], seed=seed), "sgd").fit(d, epochs=1, batch_size=8)
    assert calls == ["train", "validation"]
    # A reshaped or retyped array is the same object with other numbers: checked again, and refused.
    x.shape = (120, 1)
    with pytest.raises(ValueError, match=r"120 examples but 40 labels"):
        data.check_arrays("mapped", "train", x, y)


def test_arrays_that_can_change_are_checked_every_time(tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    x, y = np.ones((5, 2)), np.zeros(5, dtype=np.int64)
    frozen = x.view()
    frozen.flags.writeable = False  # read-only here, but x can still write it
    paths = _saved_pair(tmp_path, x, y)
    private = np.load(paths[0], mmap_mode="c")  # copy-on-write: writable in this process
    y = np.load(paths[1], mmap_mode="r")  # read-only labels: the features decide
    for features in (x, frozen, private):
        data.check_arrays("d", "train", features, y)
        data.check_arrays("d", "train", features, y)
    assert len(calls) == 6
    x[1, 1] = np.nan
    with pytest.raises(ValueError, match=r"x\[1, 1\] is nan"):
        data.check_arrays("d", "train", frozen, y)
    private[2, 0] = np.inf
    with pytest.raises(ValueError, match=r"x\[2, 0\] is inf"):
        data.check_arrays("d", "train", private, y)
    # Read-only features with labels that can change: the labels decide.
    mapped, labels = np.load(paths[0], mmap_mode="r"), np.zeros(5, dtype=np.int64)
    data.check_arrays("d", "train", mapped, labels)
    labels[3] = -1
    with pytest.raises(ValueError, match=r"got label -1 at y\[3\]"):
        data.check_arrays("d", "train", mapped, labels)


def test_a_read_only_pair_that_failed_is_checked_again(tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    paths = _saved_pair(tmp_path, np.array([[1.0], [np.nan]]), np.zeros(2, dtype=np.int64))
    x, y = (np.load(p, mmap_mode="r") for p in paths)
    for _ in range(2):
        with pytest.raises(ValueError, match=r"x\[1, 0\] is nan"):
            data.check_arrays("d", "train", x, y)
    assert len(calls) == 2


def _read_only_views_of_writable_memory(tmp_path):
    """(name, features, how to write a NaN into them): read-only arrays whose memory can still change."""
    from numpy.lib.stride_tricks import as_strided, sliding_window_view

    w1, w2, w3 = np.ones((6, 2)), np.ones((7, 2)), bytearray(np.ones((6, 2)).tobytes())
    strided = as_strided(w1, writeable=False)
    window = sliding_window_view(w2, (1, 2))[:, 0, 0, :]
    buffered = np.frombuffer(memoryview(w3).toreadonly()).reshape(6, 2)
    np.save(tmp_path / "f.npy", np.ones((6, 2)))
    mapped, writer = np.load(tmp_path / "f.npy", mmap_mode="r+"), None
    frozen = mapped.view()
    frozen.flags.writeable = False

    def poke_bytes():
        w3[:8] = np.array([np.nan]).tobytes()

    return [("as_strided", strided, lambda: w1.__setitem__((0, 0), np.nan)),
            ("sliding_window_view", window, lambda: w2.__setitem__((0, 0), np.nan)),
            ("frombuffer of a read-only memoryview", buffered, poke_bytes),
            ("a read-only view of an r+ memory map", frozen, lambda: mapped.__setitem__((0, 0), np.nan))]


def test_read_only_views_of_writable_memory_are_checked_every_time(tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    np.save(tmp_path / "y.npy", np.zeros(7, dtype=np.int64))
    labels = np.load(tmp_path / "y.npy", mmap_mode="r")
    for name, features, poke in _read_only_views_of_writable_memory(tmp_path):
        assert not features.flags.writeable, name
        y = labels[:len(features)]
        data.check_arrays("d", "train", features, y)
        data.check_arrays("d", "train", features, y)
        poke()
        with pytest.raises(ValueError, match=r"x\[0, 0\] is nan"):
            data.check_arrays("d", "train", features, y)
    assert len(calls) == 12
