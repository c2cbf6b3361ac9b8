"""load_dataset: a dataset by name, from scikit-learn's bundled copy, a generator or MNIST's IDX files."""

from __future__ import annotations

import os

import numpy as np

from .. import cache
from .._checks import non_negative, whole
from ..download import check_available, locate
from ..idx import check_mnist, find_idx_files, load_mnist
from .dataset import Dataset, check_dtype
from .generators import DEFAULT_NOISE, GENERATORS
from .registry import DATASETS, dataset_info, default_dtype
from .split import _check_fraction, train_val_split
from .split import standardize as scale_features  # the name `standardize` is load_dataset's argument


_FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def load_dataset(name: str = "digits", *, val_fraction: float = 0.2, seed: int = 0,
                 data_dir: str | os.PathLike | None = None, n_samples: int | None = None,
                 noise: float | None = None, standardize: bool = True, dtype=None,
                 download_dir: str | os.PathLike | None = None) -> Dataset:
    """Load a dataset by name, split it into train/validation and standardize it.

    Bundled and generated sets are split by a stratified permutation drawn from
    ``np.random.default_rng(seed)`` (see `train_val_split`): the same seed gives the same split.
    ``mnist`` and ``fashion-mnist`` keep their own split: the IDX ``train-*`` files are the
    training set and the ``t10k-*`` test files are the validation set (``val_fraction`` is unused);
    images are flattened to 784 features and scaled to [0, 1] before standardization.

    Args:
        name: a key of `DATASETS` (case and ``-``/``_`` do not matter). Default "digits".
        val_fraction: fraction of examples held out for validation, in (0, 1).
        seed: seeds the generated data (numpy ``default_rng`` or scikit-learn ``random_state``),
            the split and any subsampling.
        data_dir: directory holding the four IDX files for mnist/fashion-mnist (default
            ``./data/mnist`` resp. ``./data/fashion-mnist``); ignored by other sets. When the
            files are not there, they are read from (and first downloaded into) the cache.
        n_samples: generated sets: how many points to make (default: `DatasetInfo.num_samples`).
            Other sets: keep a seeded random subset of this many examples before splitting
            (mnist: of the training files; the t10k validation set is kept whole).
        noise: generated sets only; spiral: std of the angle jitter (0.2); moons (0.2) and
            circles (0.1): scikit-learn's ``noise``; blobs: ``cluster_std`` (1.0); xor: std of
            Gaussian jitter added to the points after labelling (0.0); sine: std of the Gaussian
            noise added to sin(2 pi x) (0.3).
        standardize: scale features to zero mean and unit variance using training statistics only;
            a regression's targets too (losses then read in standard deviations of the target),
            with the training targets' mean and std kept as ``target_mean``/``target_std``.
        dtype: floating-point type of the features; None: `default_dtype` (float32 for MNIST-size
            inputs, float64 for the small sets).
        download_dir: where mnist/fashion-mnist are downloaded to (default ``$FLOWLAB_DOWNLOAD_DIR`` or
            ``~/.cache/flowlab``); see `flowlab.download`.

    Returns:
        A `Dataset`.

    Raises:
        ValueError: unknown name (with a did-you-mean) or an invalid argument.
        TypeError: ``val_fraction`` or ``noise`` is not a number (flowlab._checks.number).
        FileNotFoundError: mnist/fashion-mnist files missing and downloading is off (``$FLOWLAB_OFFLINE``).
        flowlab.download.DownloadError: no mirror could deliver them; the message says where to put them.
    """
    info = dataset_info(name)
    _check_fraction(val_fraction)
    whole(None, "seed", seed)
    dtype = default_dtype(info.name) if dtype is None else check_dtype(dtype)
    if n_samples is not None:
        whole(None, "n_samples", n_samples, minimum=1)
    if noise is not None:
        if info.source != "generated":
            raise ValueError(f"noise applies to generated datasets only, not {info.name!r}; got noise={noise!r}")
        non_negative(None, "noise", noise)

    # The prepared arrays are cached (flowlab.cache): a warm load skips scikit-learn and IDX parsing.
    params = {"val_fraction": val_fraction, "seed": seed, "n_samples": n_samples, "noise": noise,
              "standardize": standardize, "dtype": dtype.name}
    folder = locate(info.name, data_dir, download_dir, progress=True) if info.source == "local files" else None
    source = cache.source_identity(info, folder)
    key = None if source is None else cache.entry_key(info.name, params, source)
    cached = None if key is None else cache.load(key)
    if cached is not None:
        return Dataset(**cached)

    class_names = tuple(str(i) for i in range(info.num_classes))
    classes = info.task == "classification"  # stratify the split by class; a regression has none
    if info.source == "generated":
        noise = DEFAULT_NOISE[info.name] if noise is None else float(noise)
        x, y = GENERATORS[info.name](n_samples or info.num_samples, noise, seed)
        x_train, y_train, x_val, y_val = train_val_split(x, y, val_fraction, seed, stratify=classes)
    elif info.source == "bundled":
        x, y, class_names = _load_sklearn(info.name)
        if n_samples is not None:
            x, y = _subsample(x, y, n_samples, seed, info.name)
        x_train, y_train, x_val, y_val = train_val_split(x, y, val_fraction, seed, stratify=classes)
    else:
        x_train, y_train, x_val, y_val = load_mnist(info.name, folder)
        if info.name == "fashion-mnist":
            class_names = _FASHION_CLASSES
        if n_samples is not None:
            x_train, y_train = _subsample(x_train, y_train, n_samples, seed, info.name)

    targets = {}
    if standardize:
        x_train, x_val = scale_features(x_train, x_val)
        if info.task == "regression":  # targets too, so that losses read in standard deviations
            column = np.reshape(np.asarray(y_train, dtype=np.float64), (-1, 1))
            scaled_train, scaled_val = scale_features(column, np.reshape(y_val, (-1, 1)))
            target_mean = float(column[0, 0] if np.ptp(column) == 0 else column.mean())
            target_std = float(1.0 if np.ptp(column) == 0 else column.std())
            y_train, y_val = scaled_train[:, 0], scaled_val[:, 0]
            targets = {"target_mean": target_mean, "target_std": target_std}
    label_dtype = np.int64 if info.task == "classification" else dtype
    dataset = Dataset(x_train=np.asarray(x_train, dtype=dtype), y_train=np.asarray(y_train, dtype=label_dtype),
                      x_val=np.asarray(x_val, dtype=dtype), y_val=np.asarray(y_val, dtype=label_dtype),
                      name=info.name, num_features=info.num_features, num_classes=info.num_classes,
                      class_names=class_names, **targets)
    if key is not None:
        cache.store(key, dataset)
    return dataset


def _subsample(x, y, n_samples, seed, name):
    if n_samples > len(y):
        raise ValueError(f"n_samples={n_samples} but {name!r} has only {len(y)} examples to draw from")
    keep = np.sort(np.random.default_rng(seed).permutation(len(y))[:n_samples])
    return x[keep], y[keep]


def _load_sklearn(name):
    import sklearn.datasets  # lazy: costs ~2 s, and the CLI must start fast

    bunch = getattr(sklearn.datasets, f"load_{name}")()
    if DATASETS[name].task == "regression":
        return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.float64), ()
    return (np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64),
            tuple(str(c) for c in bunch.target_names))


def check_files(name, data_dir=None) -> None:
    """Raises FileNotFoundError (naming the files and where to get them) if a local-file dataset's files
    are missing and cannot be downloaded, or damaged; does nothing for the built-in ones. Cheap: reads the
    files' headers and sizes only."""
    info = dataset_info(name)
    if not info.builtin:
        check_available(info.name, data_dir)
        try:
            find_idx_files(info.name, data_dir)
        except FileNotFoundError:
            return  # not in data_dir: downloaded (SHA-256 checked) when the sweep loads it
        try:
            check_mnist(info.name, data_dir)
        except ValueError as exc:  # a damaged file: as plain as a missing one
            raise FileNotFoundError(str(exc)) from None
