"""The generated datasets: spiral, xor, sine, and scikit-learn's moons, circles and blobs.

Each generator is ``make(n_samples, noise, seed) -> (x, y)``; `GENERATORS` maps a dataset name to its own.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .registry import DATASETS


# Default noise per generated set: spiral is the std of the angle jitter (CS231n's 0.2), blobs
# the cluster std, xor the std of Gaussian jitter added to the points after labelling.
DEFAULT_NOISE = {"spiral": 0.2, "moons": 0.2, "circles": 0.1, "xor": 0.0, "blobs": 1.0, "sine": 0.3}


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
        import sklearn.datasets  # lazy: costs ~2 s, and the CLI must start fast

        maker = getattr(sklearn.datasets, maker_name)
        noise_key = "cluster_std" if maker_name == "make_blobs" else "noise"
        x, y = maker(n_samples=n_samples, random_state=seed, **{noise_key: noise}, **kwargs)
        return x, y
    return make


GENERATORS: dict[str, Callable] = {
    "spiral": _spiral,
    "xor": _xor,
    "sine": _sine,
    "moons": _sklearn_generator("make_moons"),
    "circles": _sklearn_generator("make_circles", factor=0.5),
    "blobs": _sklearn_generator("make_blobs", centers=DATASETS["blobs"].num_classes, n_features=2),
}
