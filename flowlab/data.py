# Size: over 400 lines: the dataset registry, generators, split, standardization and batching; the generators and
# batching are to move into modules of their own.
"""Datasets (bundled, generated, MNIST IDX files), standardization, train/validation split, batching."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from typing import Callable

import numpy as np

from .download import check_available, locate
from .idx import load_mnist, read_idx
from .nodes import unknown_choice

__all__ = [
    "DATASETS", "Dataset", "DatasetInfo", "batches", "check_batch_size", "epoch_batches",
    "list_datasets", "load_dataset", "num_batches", "read_idx", "standardize", "train_val_split",
]


# ---------------------------------------------------------------------------------------------
# Registry: plain data, so `flowlab datasets` can list it without importing scikit-learn.

@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is, known without loading it.

    Attributes:
        name: registry key, e.g. "digits".
        description: one line for listings.
        num_features: features per example after flattening.
        num_classes: number of classes; 0 for a regression set (its labels are numbers).
        source: "bundled" (ships with scikit-learn), "generated" (synthesized from the seed) or
            "local files" (read from ``data_dir``).
        num_samples: examples in the whole set; for generated sets, the default ``n_samples``.
    """

    name: str
    description: str
    num_features: int
    num_classes: int
    source: str
    num_samples: int

    @property
    def task(self) -> str:
        """"classification" or "regression" (``num_classes == 0``)."""
        return "regression" if self.num_classes == 0 else "classification"

    @property
    def builtin(self) -> bool:
        """True when the dataset needs no files (bundled or generated)."""
        return self.source != "local files"


def _info(name, description, features, classes, source, samples):
    return name, DatasetInfo(name, description, features, classes, source, samples)


DATASETS: dict[str, DatasetInfo] = dict([
    _info("digits", "8x8 handwritten digits, scikit-learn's bundled copy (default)", 64, 10, "bundled", 1797),
    _info("iris", "Fisher's iris flowers: 4 measurements, 3 species", 4, 3, "bundled", 150),
    _info("wine", "wine chemical analysis: 13 features, 3 cultivars", 13, 3, "bundled", 178),
    _info("breast_cancer", "Wisconsin breast cancer: 30 features, malignant/benign", 30, 2, "bundled", 569),
    _info("spiral", "CS231n three-arm spiral (not linearly separable)", 2, 3, "generated", 300),
    _info("moons", "two interleaving half circles (sklearn make_moons)", 2, 2, "generated", 500),
    _info("circles", "a circle inside a circle (sklearn make_circles)", 2, 2, "generated", 500),
    _info("xor", "uniform points in [-1, 1]^2, class = the signs of x0 and x1 differ", 2, 2, "generated", 500),
    _info("blobs", "three Gaussian blobs (sklearn make_blobs)", 2, 3, "generated", 500),
    _info("diabetes", "disease progression from 10 measurements, scikit-learn's bundled copy",
          10, 0, "bundled", 442),
    _info("sine", "y = sin(2 pi x) + noise on 60 points of [0, 1]: shows under- and over-fitting",
          1, 0, "generated", 60),
    _info("mnist", "MNIST 28x28 handwritten digits (IDX files, downloaded on first use)", 784, 10, "local files",
          70000),
    _info("fashion-mnist", "Zalando Fashion-MNIST 28x28 clothing (IDX files, downloaded on first use)", 784, 10,
          "local files", 70000),
])

# Default noise per generated set: spiral is the std of the angle jitter (CS231n's 0.2), blobs
# the cluster std, xor the std of Gaussian jitter added to the points after labelling.
_DEFAULT_NOISE = {"spiral": 0.2, "moons": 0.2, "circles": 0.1, "xor": 0.0, "blobs": 1.0, "sine": 0.3}

_FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def list_datasets() -> list[DatasetInfo]:
    """Return every registered dataset, default first, then bundled, generated and local-file sets.

    Returns:
        The `DatasetInfo` records of `DATASETS`, in registry order.
    """
    return list(DATASETS.values())


# ---------------------------------------------------------------------------------------------
# The loaded dataset.

@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded dataset: standardized features and labels, split into train/validation.

    Attributes:
        x_train: features, shape (n_train, num_features), floating point.
        y_train: labels, shape (n_train,): class ids (np.int64) for a classification set, target
            numbers (the features' float dtype) for a regression.
        x_val: features, shape (n_val, num_features).
        y_val: labels, shape (n_val,), as ``y_train``.
        name: the registry name.
        num_features: columns of ``x_train``.
        num_classes: number of classes (labels are ``0 .. num_classes - 1``); 0 for a regression
            set, whose labels are target numbers (standardized with the training statistics,
            as the features are, when loaded with ``standardize=True``).
        class_names: a readable name per class id.
        target_mean, target_std: a standardized regression's training-target mean and standard
            deviation, to turn predictions back into the data's units:
            ``pred * data.target_std + data.target_mean``. None when the targets are as loaded
            (a classification set, or ``standardize=False``).
    """

    x_train: np.ndarray = dataclasses.field(repr=False)
    y_train: np.ndarray = dataclasses.field(repr=False)
    x_val: np.ndarray = dataclasses.field(repr=False)
    y_val: np.ndarray = dataclasses.field(repr=False)
    name: str
    num_features: int
    num_classes: int
    class_names: tuple[str, ...] = ()
    target_mean: float | None = None
    target_std: float | None = None

    def __post_init__(self):
        regression = self.num_classes == 0
        check_arrays(self.name, "train", self.x_train, self.y_train, regression=regression)
        check_arrays(self.name, "validation", self.x_val, self.y_val, empty_ok=True, regression=regression)

    @property
    def task(self) -> str:
        """"classification" or "regression" (``num_classes == 0``)."""
        return "regression" if self.num_classes == 0 else "classification"

    @property
    def num_train(self) -> int:
        """Number of training examples."""
        return len(self.y_train)

    @property
    def num_val(self) -> int:
        """Number of validation examples."""
        return len(self.y_val)

    @property
    def dtype(self) -> np.dtype:
        """The floating-point type of the features."""
        return self.x_train.dtype

    def astype(self, dtype) -> Dataset:
        """Return this dataset with features converted to ``dtype`` (labels stay np.int64).

        Args:
            dtype: a floating-point type, e.g. ``np.float32`` for speed.

        Returns:
            A new `Dataset`, or this one if the features already have that type.
        """
        dtype = _check_dtype(dtype)
        if dtype == self.x_train.dtype and dtype == self.x_val.dtype:
            return self
        return dataclasses.replace(self, x_train=self.x_train.astype(dtype), x_val=self.x_val.astype(dtype))

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, train={self.x_train.shape}, val={self.x_val.shape}, "
                f"classes={self.num_classes}, dtype={self.x_train.dtype})")


def _all_finite(x) -> bool:
    """True if every entry of the float array ``x`` is finite, told by its sum (one pass, no mask).

    A NaN or an infinity makes the sum NaN or infinite, and nothing turns it finite again, so a
    finite sum proves every entry finite. An infinite sum may also be an overflow of finite
    entries: False then sends the caller to the entry-by-entry check, which decides. At MNIST size
    this is about a tenth of building the mask, and the check runs for every run of a sweep.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(x.sum()))


def check_arrays(name, split, x, y, empty_ok=False, regression=False) -> None:
    """Raises ValueError naming the dataset, the split and the first bad entry unless ``x`` is a 2-D array
    of finite numbers and ``y`` one integer class id per row (not one-hot, not a list of lists), or for a
    regression finite targets, one row per example."""
    where = f"dataset {name!r}, {split} split"
    x_shape, y_shape = np.shape(x), np.shape(y)
    if regression:  # (or a user model's own targets)
        if x_shape[:1] == (0,) and not empty_ok:
            raise ValueError(f"{where} is empty")
        if len(x_shape) < 1 or len(y_shape) < 1 or x_shape[0] != y_shape[0]:
            raise ValueError(f"{where}: features must be 2-D (examples, features) and targets one row per example, "
                             f"got shapes {x_shape} and {y_shape}")
        for label, a in (("x", x), ("y", y)):
            bad = ~np.isfinite(np.asarray(a, dtype=float))
            if bad.any():
                at = ", ".join(str(int(i)) for i in np.argwhere(bad)[0])
                raise ValueError(f"{where}: {label}[{at}] is not a finite number")
        return
    if len(x_shape) != 2 or len(y_shape) != 1:
        raise ValueError(f"{where}: features must be 2-D (examples, features) and labels 1-D class ids, got shapes "
                         f"{x_shape} and {y_shape}" + (" (one-hot labels? pass y.argmax(axis=1))"
                                                       if len(y_shape) == 2 else ""))
    if x_shape[0] != y_shape[0]:
        raise ValueError(f"{where}: {x_shape[0]} examples but {y_shape[0]} labels")
    if x_shape[0] == 0 and not empty_ok:
        raise ValueError(f"{where} is empty")
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{where}: labels must be integer class ids 0..k-1, got dtype {y.dtype}")
    if y.size and y.min() < 0:
        raise ValueError(f"{where}: labels must be class ids >= 0, got label {y.min()} at y[{int(np.argmin(y))}]")
    if _all_finite(x):
        return
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{where}: x[{row}, {col}] is {x[row, col]}; features must be finite numbers (fill or "
                         "drop missing values first)")


def _check_dtype(dtype) -> np.dtype:
    try:
        result = np.dtype(dtype)
    except TypeError:
        result = None
    if result is None or not np.issubdtype(result, np.floating):
        raise ValueError(f"dtype must be a floating-point type such as np.float64 or np.float32, got dtype={dtype!r}")
    return result


# ---------------------------------------------------------------------------------------------
# Loading.

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
        FileNotFoundError: mnist/fashion-mnist files missing and downloading is off (``$FLOWLAB_OFFLINE``).
        flowlab.download.DownloadError: no mirror could deliver them; the message says where to put them.
    """
    info = dataset_info(name)
    _check_fraction(val_fraction)
    _check_seed(seed)
    dtype = default_dtype(info.name) if dtype is None else _check_dtype(dtype)
    if n_samples is not None and (isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer))
                                  or n_samples < 1):
        raise ValueError(f"n_samples must be an int > 0, got n_samples={n_samples!r}")
    if noise is not None:
        if info.source != "generated":
            raise ValueError(f"noise applies to generated datasets only, not {info.name!r}; got noise={noise!r}")
        if not isinstance(noise, (int, float, np.number)) or not np.isfinite(noise) or noise < 0:
            raise ValueError(f"noise must be a finite number >= 0, got noise={noise!r}")

    # The prepared arrays are cached (flowlab.cache): a warm load skips scikit-learn and IDX parsing.
    from . import cache

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
        noise = _DEFAULT_NOISE[info.name] if noise is None else float(noise)
        x, y = _GENERATORS[info.name](n_samples or info.num_samples, noise, seed)
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
        x_train, x_val = _standardize(x_train, x_val)
        if info.task == "regression":  # targets too, so that losses read in standard deviations
            column = np.reshape(np.asarray(y_train, dtype=np.float64), (-1, 1))
            scaled_train, scaled_val = _standardize(column, np.reshape(y_val, (-1, 1)))
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


#: Datasets with at least this many features train in float32 unless told otherwise.
FLOAT32_FEATURES = 256


def default_dtype(name) -> np.dtype:
    """The dtype a dataset trains in by default: float32 from `FLOAT32_FEATURES` features up, else float64.

    At MNIST size (784 inputs) a step is BLAS-bound and float32 runs it about 2.4x faster, to the
    same accuracy (as Keras, whose default is float32). The small sets keep float64: their steps
    cost the same in either, and exact numbers make runs comparable with gradient checks.
    """
    return np.dtype(np.float32 if dataset_info(name).num_features >= FLOAT32_FEATURES else np.float64)


def dataset_info(name) -> DatasetInfo:
    """The registry entry for ``name`` (case, ``-`` and ``_`` ignored); ValueError with a did-you-mean otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {name!r}")
    key = name.strip().lower().replace("-", "_")
    for info in DATASETS.values():
        if info.name.replace("-", "_") == key:
            return info
    raise ValueError(unknown_choice("dataset", name, DATASETS))


def _check_fraction(val_fraction) -> None:
    if (isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float, np.number))
            or not 0 < val_fraction < 1):
        raise ValueError(f"val_fraction must be a number in (0, 1), got val_fraction={val_fraction!r}")


def _check_seed(seed) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got seed={seed!r}")


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


def _sine(n_samples, noise, seed):
    # Bishop's curve-fitting example: a few noisy samples of one period of a sine.
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(n_samples, 1))
    return x, np.sin(2 * np.pi * x[:, 0]) + rng.normal(0.0, noise, size=n_samples)


def _spiral(n_samples, noise, seed):
    # CS231n's spiral: per class r = linspace(0, 1), t = linspace(4j, 4(j+1)) + randn * noise.
    rng = np.random.default_rng(seed)
    k = DATASETS["spiral"].num_classes
    xs, ys = [], []
    for j in range(k):
        n = n_samples // k + (j < n_samples % k)
        r = np.linspace(0.0, 1.0, n)
        t = np.linspace(j * 4.0, (j + 1) * 4.0, n) + rng.standard_normal(n) * noise
        xs.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        ys.append(np.full(n, j, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def _xor(n_samples, noise, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n_samples, 2))
    y = (np.sign(x[:, 0]) != np.sign(x[:, 1])).astype(np.int64)
    if noise > 0:
        x += rng.normal(0.0, noise, size=x.shape)
    return x, y


def _sklearn_generator(maker_name, **kwargs):
    def make(n_samples, noise, seed):
        import sklearn.datasets  # lazy, see _load_sklearn

        maker = getattr(sklearn.datasets, maker_name)
        noise_key = "cluster_std" if maker_name == "make_blobs" else "noise"
        x, y = maker(n_samples=n_samples, random_state=seed, **{noise_key: noise}, **kwargs)
        return x, y
    return make


_GENERATORS: dict[str, Callable] = {
    "spiral": _spiral,
    "xor": _xor,
    "sine": _sine,
    "moons": _sklearn_generator("make_moons"),
    "circles": _sklearn_generator("make_circles", factor=0.5),
    "blobs": _sklearn_generator("make_blobs", centers=DATASETS["blobs"].num_classes, n_features=2),
}


# ---------------------------------------------------------------------------------------------
# MNIST-style IDX files live in flowlab/idx.py.

def check_files(name, data_dir=None) -> None:
    """Raises FileNotFoundError (naming the files and where to get them) if a local-file dataset's files
    are missing and cannot be downloaded, or damaged; does nothing for the built-in ones. Cheap: reads the
    files' headers and sizes only."""
    info = dataset_info(name)
    if not info.builtin:
        check_available(info.name, data_dir)
        from .idx import check_mnist, find_idx_files

        try:
            find_idx_files(info.name, data_dir)
        except FileNotFoundError:
            return  # not in data_dir: downloaded (SHA-256 checked) when the sweep loads it
        try:
            check_mnist(info.name, data_dir)
        except ValueError as exc:  # a damaged file: as plain as a missing one
            raise FileNotFoundError(str(exc)) from None


# ---------------------------------------------------------------------------------------------
# Split and standardization.

def train_val_split(x: np.ndarray, y: np.ndarray, val_fraction: float, seed: int, *,
                    stratify: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split examples into train and validation sets, fixed by the seed.

    One permutation from ``np.random.default_rng(seed)`` decides everything: the validation set
    takes ``round(n * val_fraction)`` examples, the first ones of the permutation (stratified:
    the first ones of each class, as many per class as its share, so class proportions match).

    Args:
        x: features, shape (n, ...).
        y: class ids, shape (n,).
        val_fraction: fraction held out for validation, in (0, 1).
        seed: int >= 0; the same seed gives the same split.
        stratify: keep class proportions equal in both parts.

    Returns:
        ``(x_train, y_train, x_val, y_val)``, each in permutation order.

    Raises:
        ValueError: bad fraction or seed, mismatched lengths, or a split that leaves a part empty.
    """
    _check_fraction(val_fraction)
    _check_seed(seed)
    x, y = np.asarray(x), np.asarray(y)
    n = len(y)
    if len(x) != n:
        raise ValueError(f"x has {len(x)} examples but y has {n}")
    n_val = int(round(n * val_fraction))
    if not 1 <= n_val <= n - 1:
        raise ValueError(f"val_fraction={val_fraction} of {n} examples leaves an empty train or validation set")
    perm = np.random.default_rng(seed).permutation(n)
    if stratify:
        classes, counts = np.unique(y, return_counts=True)
        share = counts * (n_val / n)
        quota = np.floor(share).astype(np.int64)
        # Largest remainders get the examples left over, then every class keeps one training example.
        extra = np.argsort(-(share - quota), kind="stable")[: n_val - quota.sum()]
        quota[extra] += 1
        quota = np.minimum(quota, counts - 1)
        val_mask = np.zeros(n, dtype=bool)
        permuted_y = y[perm]
        for c, q in zip(classes, quota):
            val_mask[perm[permuted_y == c][:q]] = True
        in_val = val_mask[perm]
    else:
        in_val = np.arange(n) < n_val
    train_idx, val_idx = perm[~in_val], perm[in_val]
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]


def standardize(x_train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Scale features to zero mean and unit variance using ``x_train``'s statistics only.

    Constant columns of ``x_train`` (std 0) are only centred (to exactly 0), never divided by 0.

    Args:
        x_train: shape (n, d), n >= 1; its column mean and std are used.
        *others: further arrays of shape (m, d) (validation, test) transformed with those statistics.

    Returns:
        A tuple ``(x_train, *others)`` of new float64 arrays, always a tuple even with no ``others``.
    """
    return _standardize(x_train, *others)


def _standardize(x_train, *others):
    x_train = np.asarray(x_train, dtype=np.float64)
    if x_train.ndim != 2 or len(x_train) == 0:
        raise ValueError(f"standardize needs x_train of shape (n >= 1, d), got {x_train.shape}")
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    constant = x_train.max(axis=0) == x_train.min(axis=0)
    mean[constant], std[constant] = x_train[0, constant], 1.0  # exact 0 after centring, no 0/0
    out = []
    for x in (x_train, *others):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != x_train.shape[1]:
            raise ValueError(f"standardize: array of shape {x.shape} does not match x_train's {x_train.shape[1]} features")
        scaled = x - mean
        scaled /= std
        out.append(scaled)
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Batching.

def check_batch_size(batch_size) -> int | None:
    """Validate a batch size; return it as an int, or None for the full set.

    Args:
        batch_size: None or "full" (batch gradient descent), 1 (stochastic), or an int n > 1
            (mini-batch).

    Returns:
        The int, or None for the full set.

    Raises:
        ValueError: any other value; the message names it and what works.
    """
    if batch_size is None or (isinstance(batch_size, str) and batch_size.strip().lower() == "full"):
        return None
    if isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, (bool, np.bool_)) and batch_size >= 1:
        return int(batch_size)
    raise ValueError(f"batch_size must be an int >= 1 (1 = stochastic, n = mini-batch) or None/'full' "
                     f"(batch gradient descent), got batch_size={batch_size!r}")


def num_batches(n: int, batch_size) -> int:
    """Number of batches per epoch for ``n`` examples (the last, partial batch counts).

    Args:
        n: number of examples.
        batch_size: as for `check_batch_size`.

    Returns:
        ``ceil(n / batch_size)``, or 1 for the full set (0 when n is 0).
    """
    size = check_batch_size(batch_size)
    if n <= 0:
        return 0
    return 1 if size is None else -(-n // size)


def batches(x: np.ndarray, y: np.ndarray, batch_size, *, shuffle: bool = True,
            rng: int | np.random.Generator | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield one epoch of ``(xb, yb)`` batches covering every example exactly once.

    With ``shuffle``, the examples are permuted once and each batch is a new array of its rows
    (exactly the slices of ``x[perm]``); without, batches are slices (views) of ``x``. The last
    batch is kept even when it is smaller. When one
    batch holds everything it is ``(x, y)`` itself, unshuffled: order cannot change a mean gradient.

    Args:
        x: features, shape (n, ...).
        y: labels, shape (n, ...).
        batch_size: None or "full" (one batch), 1 (stochastic) or n (mini-batch).
        shuffle: permute the examples first.
        rng: a ``np.random.Generator`` (consumed: one permutation per call, so successive calls
            give successive epochs), an int seed, or None (fresh OS entropy).

    Yields:
        ``(xb, yb)`` pairs.
    """
    size = check_batch_size(batch_size)
    n = len(x)
    if len(y) != n:
        raise ValueError(f"x has {n} examples but y has {len(y)}")
    return _batches(x, y, n if size is None else size, shuffle, rng)


def _batches(x, y, size, shuffle, rng):
    n = len(x)
    if n == 0:
        return
    if size >= n:
        yield x, y
        return
    if not shuffle:
        for start in range(0, n, size):
            yield x[start:start + size], y[start:start + size]
        return
    # Each batch gathers its own rows (the same rows x[perm] would give, in the same order) rather
    # than permuting the whole set first: at MNIST size that copy is 188 MB per epoch streamed
    # through the cache, while a batch's gather stays in cache for the forward pass that reads it.
    perm = np.random.default_rng(rng).permutation(n)
    x, y = np.asarray(x), np.asarray(y)
    for start in range(0, n, size):
        rows = perm[start:start + size]
        yield x.take(rows, axis=0), y.take(rows, axis=0)


def epoch_batches(x: np.ndarray, y: np.ndarray, batch_size, seed: int, epoch: int, *,
                  shuffle: bool = True) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield the batches of one epoch, shuffled deterministically from ``(seed, epoch)``.

    Epoch ``e`` uses the generator of ``np.random.SeedSequence(seed).spawn(...)[e]``, so any epoch
    can be replayed on its own (resume), each epoch has its own order, and the streams differ from
    ``default_rng(seed)`` used for the split. This is what the training loop uses.

    Args:
        x: features, shape (n, ...).
        y: labels, shape (n, ...).
        batch_size: None or "full" (one batch), 1 (stochastic) or n (mini-batch).
        seed: the run's seed, an int >= 0.
        epoch: the epoch number, an int >= 0.
        shuffle: permute the examples first.

    Yields:
        ``(xb, yb)`` pairs, as `batches` does.
    """
    _check_seed(seed)
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise ValueError(f"epoch must be an int >= 0, got epoch={epoch!r}")
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(epoch),)))
    return batches(x, y, batch_size, shuffle=shuffle, rng=rng)
