"""The prepared-dataset cache: what ``load_dataset`` returns, kept as .npy files and loaded in milliseconds.

Loading the default dataset costs half a second of importing scikit-learn, and MNIST seconds of
decompressing and parsing IDX files, in every sweep. The result of that work (split, standardized,
in the asked dtype) is stored once, under a key made of the dataset's name, the arguments of the
load, the identity of its source files (path, size, modification time) and the flowlab version, so
an edited file, another scikit-learn or a new flowlab never reads a stale entry.

Each entry is a folder of plain ``.npy`` files (read with ``allow_pickle=False``) and a
``meta.json``, written into a temporary folder beside it and renamed into place: a reader sees a
whole entry or none, and two sweeps filling the same entry at once both succeed (the second
rename loses and its copy is dropped). Large arrays come back as copy-on-write memory maps, so
the processes of a sweep share one copy in the page cache and nothing is read that is not used.

Location: ``$FLOWLAB_CACHE_DIR`` if set (empty, ``0`` or ``off`` turns the cache off), else
``$XDG_CACHE_HOME/flowlab/datasets`` or ``~/.cache/flowlab/datasets``. The cache is only a speed-up:
when it cannot be read or written, the dataset is prepared from its source as before.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["CACHE_ENV", "cache_dir", "source_identity", "entry_key", "load", "store", "entry_folder"]

CACHE_ENV = "FLOWLAB_CACHE_DIR"

#: Arrays at least this large come back memory-mapped; smaller ones are read into memory.
MMAP_BYTES = 1 << 20

PARTS = ("x_train", "y_train", "x_val", "y_val")

#: Dataset's other fields that are plain numbers (or None), kept in meta.json.
_NUMBERS = ("target_mean", "target_std")

_log = logging.getLogger(__name__)

# scikit-learn's bundled files, found without importing scikit-learn (that import is what the cache saves).
_SKLEARN_FILES = {"digits": "digits.csv.gz", "iris": "iris.csv", "wine": "wine_data.csv",
                  "breast_cancer": "breast_cancer.csv", "diabetes": "diabetes_data_raw.csv.gz"}

# Generated sets drawn by numpy alone: made in a millisecond, nothing to save.
_NUMPY_GENERATED = ("spiral", "xor", "sine")


def cache_dir() -> Path | None:
    """Where entries live, or None when ``$FLOWLAB_CACHE_DIR`` turns the cache off."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        if configured.strip().lower() in ("", "0", "off", "false", "no"):
            return None
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "flowlab" / "datasets"


def _stat(path) -> dict:
    path = Path(path).resolve()
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _sklearn_root() -> Path | None:
    spec = importlib.util.find_spec("sklearn")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def source_identity(info, data_dir=None) -> list | None:
    """What the prepared arrays were made from, as stat records; None when it cannot be told (no caching).

    MNIST-format sets: their four IDX files. scikit-learn's bundled sets: the bundled data file and
    scikit-learn's ``__init__.py`` (it changes with every install). Generated sets: the code that
    draws them (scikit-learn for moons, circles and blobs) and numpy's version (its random streams).
    """
    try:
        if info.source == "local files":
            from .idx import find_idx_files

            return [_stat(p) for p in find_idx_files(info.name, data_dir)]
        if info.source == "generated":
            if info.name in _NUMPY_GENERATED:
                return None
            root = _sklearn_root()
            return None if root is None else [_stat(root / "__init__.py"), {"numpy": np.__version__}]
        root = _sklearn_root()
        name = _SKLEARN_FILES.get(info.name)
        if root is None or name is None:
            return None
        return [_stat(root / "datasets" / "data" / name), _stat(root / "__init__.py")]
    except OSError:
        return None


def entry_key(name, params, source) -> str:
    """The entry's folder name: a digest of everything the arrays depend on."""
    from . import __version__

    text = json.dumps({"flowlab": __version__, "dataset": name, "params": params, "source": source},
                      sort_keys=True, default=str)
    return f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def load(key) -> dict | None:
    """The arrays and metadata of entry ``key`` (Dataset's fields), or None when it is missing or unreadable."""
    root = cache_dir()
    if root is None:
        return None
    folder = root / key
    try:
        meta = json.loads((folder / "meta.json").read_text())
        fields = {"name": meta["name"], "num_features": int(meta["num_features"]),
                  "num_classes": int(meta["num_classes"]), "class_names": tuple(meta["class_names"])}
        for name in _NUMBERS:  # a standardized regression's target scale (None otherwise)
            fields[name] = None if meta[name] is None else float(meta[name])
        for part in PARTS:
            path = folder / f"{part}.npy"
            big = path.stat().st_size >= MMAP_BYTES
            fields[part] = np.load(path, mmap_mode="c" if big else None, allow_pickle=False)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _log.warning("flowlab: ignoring the damaged dataset cache entry %s (%s); preparing the data again",
                     folder, exc)
        return None
    if not _consistent(fields):
        _log.warning("flowlab: ignoring the inconsistent dataset cache entry %s; preparing the data again", folder)
        return None
    return fields


def _consistent(f) -> bool:
    x_train, y_train, x_val, y_val = (f[p] for p in PARTS)
    return (x_train.ndim == 2 and x_val.ndim == 2 and y_train.ndim == 1 and y_val.ndim == 1
            and len(x_train) == len(y_train) and len(x_val) == len(y_val)
            and x_train.shape[1] == x_val.shape[1] == f["num_features"]
            and x_train.dtype == x_val.dtype and x_train.dtype.kind == "f" and y_train.dtype == y_val.dtype
            # class ids, or a regression's targets in the features' dtype
            and y_train.dtype == (np.int64 if f["num_classes"] else x_train.dtype))


def store(key, dataset) -> Path | None:
    """Writes ``dataset`` as entry ``key`` (whole or not at all); returns its folder, or None if it could not."""
    root = cache_dir()
    if root is None:
        return None
    folder = root / key
    temp = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(prefix=f".{key}.", suffix=".partial", dir=root))
        for part in PARTS:
            np.save(temp / f"{part}.npy", np.ascontiguousarray(getattr(dataset, part)), allow_pickle=False)
        meta = {"name": dataset.name, "num_features": dataset.num_features, "num_classes": dataset.num_classes,
                "class_names": list(dataset.class_names), **{name: getattr(dataset, name) for name in _NUMBERS}}
        (temp / "meta.json").write_text(json.dumps(meta))
        _replace_damaged(folder)
        try:
            os.rename(temp, folder)  # atomic; fails when another process got there first
            temp = None
        except OSError:
            if not (folder / "meta.json").is_file():
                raise
        return folder
    except OSError as exc:
        _log.debug("flowlab: could not write the dataset cache entry %s: %s", folder, exc)
        return None
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


def _replace_damaged(folder):
    """Moves aside an entry folder that ``load`` could not use, so the fresh one can take its name."""
    if folder.is_dir() and load(folder.name) is None:
        aside = folder.with_name(f".{folder.name}.{os.getpid()}.damaged")
        os.rename(folder, aside)
        shutil.rmtree(aside, ignore_errors=True)


def entry_folder(dataset) -> Path | None:
    """The cache entry ``dataset``'s features are mapped from, or None (worker processes can map it too)."""
    filename = getattr(dataset.x_train, "filename", None)
    if not isinstance(dataset.x_train, np.memmap) or filename is None:
        return None
    folder = Path(filename).parent
    root = cache_dir()
    if root is None or folder.parent != root.resolve() and folder.parent != root:
        return None
    return folder if all((folder / f"{part}.npy").is_file() for part in PARTS) else None
