"""The prepared-dataset cache: a warm load gives the same arrays as a cold one, without scikit-learn, safely."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from fakes import write_idx
from flowlab import cache
from flowlab.data import load_dataset

PARTS = ("x_train", "y_train", "x_val", "y_val")


def _entries(root):
    return sorted(p.name for p in Path(root).iterdir())


def _assert_same(a, b):
    for part in PARTS:
        x, y = getattr(a, part), getattr(b, part)
        assert x.dtype == y.dtype and x.shape == y.shape, part
        assert np.array_equal(x, y), part
    assert (a.name, a.num_features, a.num_classes, tuple(a.class_names), a.target_mean, a.target_std) == \
           (b.name, b.num_features, b.num_classes, tuple(b.class_names), b.target_mean, b.target_std)


def _mnist(folder, n_train=400, n_val=100, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_val)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, size=(n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, size=n))
    return folder


def _uncached(name, **kwargs):
    previous = os.environ.get(cache.CACHE_ENV)
    os.environ[cache.CACHE_ENV] = "off"
    try:
        return load_dataset(name, **kwargs)
    finally:
        os.environ[cache.CACHE_ENV] = previous


@pytest.mark.parametrize("name, kwargs", [
    ("digits", {}), ("digits", {"dtype": np.float32, "seed": 3, "val_fraction": 0.3}),
    ("iris", {"standardize": False}), ("moons", {"noise": 0.3, "n_samples": 200}),
    ("diabetes", {}), ("diabetes", {"dtype": np.float32, "standardize": False}),
])
def test_warm_load_equals_uncached(name, kwargs):
    oracle = _uncached(name, **kwargs)
    cold = load_dataset(name, **kwargs)
    warm = load_dataset(name, **kwargs)
    _assert_same(cold, oracle)
    _assert_same(warm, oracle)
    assert len(_entries(cache.cache_dir())) == 1


def test_each_argument_is_its_own_entry():
    load_dataset("digits")
    load_dataset("digits", seed=1)
    load_dataset("digits", dtype=np.float32)
    load_dataset("digits", val_fraction=0.5)
    assert len(_entries(cache.cache_dir())) == 4
    _assert_same(load_dataset("digits", seed=1), _uncached("digits", seed=1))


def test_entry_is_plain_npy_and_json(tmp_path):
    load_dataset("wine")
    (entry,) = Path(cache.cache_dir()).iterdir()
    assert sorted(p.name for p in entry.iterdir()) == ["meta.json", *sorted(f"{p}.npy" for p in PARTS)]
    for part in PARTS:
        np.load(entry / f"{part}.npy", allow_pickle=False)  # no object arrays, no pickle
    assert json.loads((entry / "meta.json").read_text())["name"] == "wine"


def test_warm_default_dataset_does_not_import_sklearn():
    load_dataset("digits")  # warms the cache of this test (the subprocess inherits FLOWLAB_CACHE_DIR)
    code = textwrap.dedent("""
        import sys
        from flowlab.data import load_dataset
        d = load_dataset("digits")
        print(d.x_train.shape, "sklearn" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["(1438,", "64)", "False"]


def test_warm_sweep_run_does_not_import_sklearn(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from flowlab import Experiment
        exp = Experiment("warm", dataset="digits", hidden=[8], epochs=1, logdir={str(tmp_path)!r}, workers=1)
        results = exp.sweep(learning_rate=[0.01])
        print(results[0].status, "sklearn" in sys.modules)
    """)
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert first.split() == ["completed", "True"]  # cold: scikit-learn loads digits once
    assert second.split() == ["completed", "False"]


def test_mnist_warm_is_a_memory_map_of_the_same_numbers(tmp_path):
    folder = _mnist(tmp_path / "mnist")
    oracle = _uncached("mnist", data_dir=folder)
    load_dataset("mnist", data_dir=folder)
    warm = load_dataset("mnist", data_dir=folder)
    _assert_same(warm, oracle)
    assert isinstance(warm.x_train, np.memmap)
    assert cache.entry_folder(warm).parent == Path(cache.cache_dir())
    warm.x_train[0, 0] = 123.0  # copy-on-write: the user's array changes, the cache file does not
    _assert_same(load_dataset("mnist", data_dir=folder), oracle)


def test_changed_source_file_is_not_served_stale(tmp_path):
    folder = _mnist(tmp_path / "mnist")
    before = load_dataset("mnist", data_dir=folder)
    _mnist(folder, seed=1)  # same names and sizes, new pixels (and a new modification time)
    stat = (folder / "train-images-idx3-ubyte").stat()
    os.utime(folder / "train-images-idx3-ubyte", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    after = load_dataset("mnist", data_dir=folder)
    _assert_same(after, _uncached("mnist", data_dir=folder))
    assert not np.array_equal(after.x_train, before.x_train)


def test_another_flowlab_version_misses(monkeypatch):
    import flowlab

    load_dataset("iris")
    monkeypatch.setattr(flowlab, "__version__", "999.0")
    load_dataset("iris")
    assert len(_entries(cache.cache_dir())) == 2


@pytest.mark.parametrize("damage", ["truncate", "garbage", "meta", "shape"])
def test_damaged_entry_is_rebuilt(damage):
    oracle = _uncached("digits")
    load_dataset("digits")
    (entry,) = Path(cache.cache_dir()).iterdir()
    target = entry / "x_train.npy"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:1000])
    elif damage == "garbage":
        target.write_bytes(b"not an npy file at all")
    elif damage == "meta":
        (entry / "meta.json").write_text("{")
    else:
        np.save(target, np.zeros((5, 64)))  # rows no longer match the labels
    _assert_same(load_dataset("digits"), oracle)
    _assert_same(load_dataset("digits"), oracle)  # and the entry was repaired
    assert _entries(cache.cache_dir()) == [entry.name]


def test_cache_off_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    assert cache.cache_dir() is None
    load_dataset("digits")
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "c"))
    load_dataset("digits")
    assert len(_entries(tmp_path / "c")) == 1


def test_default_location(monkeypatch, tmp_path):
    monkeypatch.delenv(cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / "flowlab" / "datasets"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "flowlab" / "datasets"


def test_unwritable_cache_still_loads(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocker / "cache"))
    _assert_same(load_dataset("digits"), _uncached("digits"))


def test_concurrent_fills_of_one_entry(tmp_path):
    """Processes filling the same entry at once all get the data; one whole entry remains, no partial folders."""
    folder = _mnist(tmp_path / "mnist", n_train=2000)
    code = textwrap.dedent(f"""
        import sys, numpy as np
        from flowlab.data import load_dataset
        d = load_dataset("mnist", data_dir={str(folder)!r})
        print(float(np.asarray(d.x_train, dtype=np.float64).sum()), d.x_train.shape[0])
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate()[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    oracle = _uncached("mnist", data_dir=folder)
    total = float(np.asarray(oracle.x_train, dtype=np.float64).sum())
    assert all(out == [str(total), "2000"] for out in outs)
    assert len(_entries(cache.cache_dir())) == 1
    _assert_same(load_dataset("mnist", data_dir=folder), oracle)


def test_sweep_workers_map_the_cache_entry(tmp_path, monkeypatch):
    """Worker processes read a warm MNIST entry in place and train exactly as on freshly parsed files."""
    from flowlab import Experiment

    monkeypatch.setattr(cache, "MMAP_BYTES", 0)  # the driver maps even these small arrays
    folder = _mnist(tmp_path / "mnist", n_train=300, n_val=60)
    models = []
    from flowlab import runner

    for attempt in range(2):  # cold, then warm (a new driver: its in-memory copy forgotten)
        monkeypatch.setattr(runner, "_DATA_CACHE", {})
        exp = Experiment(f"m{attempt}", dataset="mnist", data_dir=str(folder), hidden=[8], epochs=2,
                         logdir=str(tmp_path / "logs"), workers=2)
        results = exp.sweep(learning_rate=[0.01, 0.1])
        assert [r.status for r in results] == ["completed", "completed"]
        models.append([np.load(Path(r.logdir) / "model.npz", allow_pickle=False)["dense_1/kernel"] for r in results])
    from flowlab.runner import _DATA_CACHE
    assert any(cache.entry_folder(d) is not None for d in _DATA_CACHE.values())
    for cold, warm in zip(*models):
        assert np.array_equal(cold, warm)


def test_mnist_found_in_the_download_folder_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLAB_DOWNLOAD_DIR", str(tmp_path / "downloads"))
    monkeypatch.chdir(tmp_path)  # no ./data/mnist here
    _mnist(tmp_path / "downloads" / "mnist")
    oracle = _uncached("mnist")
    _assert_same(load_dataset("mnist"), oracle)
    _assert_same(load_dataset("mnist"), oracle)
    (entry,) = _entries(cache.cache_dir())
    assert entry.startswith("mnist-")
