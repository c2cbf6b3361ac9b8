"""The dataset registry: what each dataset is, known without loading it.

Plain data, so `flowlab datasets` can list it without importing scikit-learn.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._checks import choice


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


def list_datasets() -> list[DatasetInfo]:
    """Every registered dataset's `DatasetInfo`: the default first, then bundled, generated and local-file sets."""
    return list(DATASETS.values())


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
    raise ValueError(choice("dataset", name, DATASETS))
