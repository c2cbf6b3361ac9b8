"""Dataset, the loaded arrays, and the checks that every dataset (flowlab's or a user's) passes."""

from __future__ import annotations

import dataclasses
import mmap
import weakref

import numpy as np

from .._checks import preview


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
        dtype = check_dtype(dtype)
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
    regression finite targets, one row per example.

    A pair of read-only arrays that passed is not read again (see ``_PASSED``)."""
    key = (id(x), id(y), bool(empty_ok), bool(regression))
    passed = _PASSED.get(key)
    if passed is not None and passed[0]() is x and passed[1]() is y and passed[2] == _layout(x, y):
        return
    _check_arrays(name, split, x, y, empty_ok, regression)
    if _read_only(x) and _read_only(y):
        if len(_PASSED) >= 64:
            _PASSED.clear()
        _PASSED[key] = (weakref.ref(x), weakref.ref(y), _layout(x, y))


#: Pairs of arrays check_arrays passed that view a read-only memory map (``np.load(..., mmap_mode="r")``:
#: what a sweep's worker processes train on), with their shapes, strides and dtypes (which an array's
#: attributes can change). A worker checks its dataset once, not again at every run's fit: at MNIST size
#: each check reads the 188 MB of training features (15 to 18 ms here, cache warm). Keyed by the arrays'
#: ids; a weak reference to each tells an array that died from one that took its id. Not seen: the
#: file changed under the map (written in place, or through a writable map of it): flowlab's cache and
#: a sweep's data folder are written whole, renamed into place and never changed after.
_PASSED = {}


def _read_only(a) -> bool:
    """True if ``a`` is a read-only view of a read-only memory map (nothing else counts: a read-only
    view of writable memory, as_strided, frombuffer and the like can change under it)."""
    if not isinstance(a, np.ndarray) or a.flags.writeable:
        return False
    base = a
    while isinstance(base, np.ndarray):
        if base.flags.writeable:
            return False
        base = base.base
    if not isinstance(base, mmap.mmap):
        return False
    try:
        with memoryview(base) as view:  # a map opened for reading only gives a read-only buffer
            return view.readonly
    except ValueError:  # a closed map
        return False


def _layout(x, y):
    return x.shape, x.strides, x.dtype, y.shape, y.strides, y.dtype


def _check_arrays(name, split, x, y, empty_ok, regression):
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


def check_dtype(dtype) -> np.dtype:
    """``dtype`` as a numpy floating-point dtype; ValueError naming what works otherwise."""
    try:
        result = np.dtype(dtype)
    except TypeError:
        result = None
    if result is None or not np.issubdtype(result, np.floating):
        raise ValueError(f"dtype must be a floating-point type such as np.float64 or np.float32, got dtype={preview(dtype)}")
    return result
