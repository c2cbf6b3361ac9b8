"""SHA-256 digests of what flowlab.data returns for every dataset name, at fixed seeds and settings.

tests/test_data_equivalence.py compares them with tests/data/data_digests.json, made by this file
with flowlab.data as it was before it became a package (commit e07dd06): the arrays must stay
bit-identical whatever the code around them becomes. To remake the reference from a checkout:

    FLOWLAB_CACHE_DIR=off PYTHONPATH=<checkout> python tests/data_digests.py > tests/data/data_digests.json

Only do that for a deliberate change of the data, and say so in the commit.
"""

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from fakes import idx_bytes, write_bytes

FIELDS = ("x_train", "y_train", "x_val", "y_val")


def array_digest(a):
    """The dtype, shape and bytes of ``a``, hashed: equal digests mean bit-identical arrays."""
    a = np.ascontiguousarray(a)
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def fake_mnist(folder, seed):
    """Four small IDX files, as MNIST's and Fashion-MNIST's (60 training and 20 test images)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", 60), ("t10k", 20)):
        write_bytes(folder / f"{prefix}-images-idx3-ubyte", idx_bytes(rng.integers(0, 256, (n, 28, 28))))
        write_bytes(folder / f"{prefix}-labels-idx1-ubyte", idx_bytes(np.arange(n) % 10))
    return folder


def cases(info):
    """The settings each dataset is loaded with: the defaults, and one change of each argument."""
    yield {}
    yield {"seed": 3, "val_fraction": 0.3}
    yield {"standardize": False}
    yield {"dtype": "float32" if np.dtype(np.float64) == _default(info) else "float64"}
    yield {"n_samples": 40, "seed": 1}
    if info.source == "generated":
        yield {"noise": 0.5, "seed": 2}


def _default(info):
    from flowlab.data import default_dtype

    return default_dtype(info.name)


def dataset_digest(dataset):
    meta = {"name": dataset.name, "num_features": dataset.num_features, "num_classes": dataset.num_classes,
            "class_names": list(dataset.class_names),
            "target_mean": None if dataset.target_mean is None else float(dataset.target_mean).hex(),
            "target_std": None if dataset.target_std is None else float(dataset.target_std).hex()}
    return {**{field: array_digest(getattr(dataset, field)) for field in FIELDS}, "meta": meta}


def case_key(name, kwargs):
    return name + "".join(f" {k}={v}" for k, v in sorted(kwargs.items()))


def dataset_digests(folder):
    """``{"digits seed=3 val_fraction=0.3": {"x_train": sha, ..., "meta": {...}}, ...}`` for every dataset."""
    from flowlab.data import DATASETS, load_dataset

    out = {}
    for name, info in DATASETS.items():
        data_dir = None if info.builtin else fake_mnist(Path(folder) / name, seed=len(name))
        for kwargs in cases(info):
            out[case_key(name, kwargs)] = dataset_digest(load_dataset(name, data_dir=data_dir, **kwargs))
    return out


def function_digests():
    """The split, standardization and batching functions, on fixed arrays."""
    from flowlab.data import batches, epoch_batches, num_batches, standardize, train_val_split

    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(103, 5)), rng.integers(0, 4, 103)
    out = {}
    for stratify in (True, False):
        parts = train_val_split(x, y, 0.25, 5, stratify=stratify)
        out[f"train_val_split stratify={stratify}"] = [array_digest(p) for p in parts]
    out["standardize"] = [array_digest(p) for p in standardize(x[:80], x[80:])]
    for size in (None, 1, 16, 103, 200):
        for epoch in (0, 3):
            got = list(epoch_batches(x, y, size, seed=11, epoch=epoch))
            out[f"epoch_batches batch_size={size} epoch={epoch}"] = [array_digest(a) for b in got for a in b]
        got = list(batches(x, y, size, shuffle=False))
        out[f"batches batch_size={size} shuffle=False"] = [array_digest(a) for b in got for a in b]
        out[f"num_batches batch_size={size}"] = num_batches(len(y), size)
    got = list(batches(x, y, 10, rng=np.random.default_rng(4)))
    out["batches batch_size=10 rng=Generator"] = [array_digest(a) for b in got for a in b]
    return out


def all_digests(folder):
    return {"datasets": dataset_digests(folder), "functions": function_digests()}


def dump(digests):
    """JSON with one line per case, so a diff names the cases that changed."""
    sections = []
    for section, entries in sorted(digests.items()):
        rows = [f"  {json.dumps(key)}: {json.dumps(value, sort_keys=True)}" for key, value in sorted(entries.items())]
        sections.append(f" {json.dumps(section)}: {{\n" + ",\n".join(rows) + "\n }")
    return "{\n" + ",\n".join(sections) + "\n}\n"


if __name__ == "__main__":
    os.environ.setdefault("FLOWLAB_OFFLINE", "1")
    import sklearn

    with tempfile.TemporaryDirectory() as tmp:
        digests = all_digests(tmp)
    digests["made_with"] = {"numpy": np.__version__, "scikit-learn": sklearn.__version__}
    sys.stdout.write(dump(digests))
