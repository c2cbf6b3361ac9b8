"""The train/validation split and standardization."""

from __future__ import annotations

import numpy as np

from .._checks import number, whole


def _check_fraction(val_fraction) -> None:
    number(None, "val_fraction", val_fraction, lo=0, hi=1, lo_open=True, hi_open=True)


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
        TypeError: ``val_fraction`` is not a number.
    """
    _check_fraction(val_fraction)
    whole(None, "seed", seed)
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
