"""What a sweep would take before it starts: memory per run and disk for the sweep, against the machine.

A typo such as ``--epochs 1000000000`` or ``--hidden 10000000`` should be refused in a second with
the numbers, not found out hours later by the out-of-memory killer or a full disk.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

__all__ = ["estimate", "check_resources"]

#: Bytes an epoch adds to a run's event files: scalars, plus weight and gradient histograms per layer
#: (measured: digits, two hidden layers, about 7 KB an epoch with histograms).
EPOCH_BYTES, HISTOGRAM_BYTES_PER_LAYER = 1024, 2500
#: A sweep bigger than this on disk is worth a warning even when it fits.
WARN_BYTES = 2 * 1024**3


def estimate(config, histograms=True, num_features=None, num_classes=None, num_examples=None):
    """``(memory, disk)`` in bytes for one run of ``config`` (a dict of RunConfig fields)."""
    from .data import dataset_info

    info = dataset_info(config["dataset"])
    features = num_features or info.num_features or 784
    classes = num_classes or info.num_classes or 10
    examples = num_examples or info.num_samples or 70000
    widths = [features, *config["hidden"], classes]
    params = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    itemsize = 4 if config.get("dtype") == "float32" else 8
    batch = config.get("batch_size") or examples
    # Weights, their gradients and up to two optimizer moments; activations and their gradients for
    # one batch; the history's floats (Python objects in lists, about 32 bytes each).
    memory = params * itemsize * 4 + batch * sum(widths) * itemsize * 3 + config["epochs"] * 6 * 32
    if config.get("n_samples"):  # a generated set is made in memory: float64 points, then the split's copies
        memory += int(config["n_samples"]) * (features * 8 * 3 + 16)
    per_epoch = EPOCH_BYTES + (HISTOGRAM_BYTES_PER_LAYER * (len(widths) - 1) if histograms else 0)
    disk = config["epochs"] * per_epoch + params * itemsize
    return memory, disk


def check_resources(configs, logdir, histograms=True, workers=1):
    """Raises ValueError (with the numbers) if one run needs more memory than the machine has, or the sweep
    more disk than ``logdir`` has free; warns when the sweep will take more than a few GB of disk."""
    total_disk, worst = 0, (0, None)
    for config in configs:
        memory, disk = estimate(config, histograms)
        total_disk += disk
        if memory > worst[0]:
            worst = (memory, config)
    ram = _physical_memory()
    memory, config = worst
    if ram and memory * max(1, workers) > 0.8 * ram:
        samples = f", n_samples={config['n_samples']}" if config.get("n_samples") else ""
        raise ValueError(
            f"a run with hidden={list(config['hidden'])}, epochs={config['epochs']}{samples} would need about "
            f"{_gb(memory)} of memory ({max(1, workers)} at once: {_gb(memory * max(1, workers))}), and this machine "
            f"has {_gb(ram)}; use smaller hidden widths, fewer epochs{', fewer samples' if samples else ''}, a smaller "
            "batch_size or fewer workers")
    free = _free_disk(logdir)
    if free is not None and total_disk > free:
        raise ValueError(
            f"this sweep would write about {_gb(total_disk)} into {logdir}, which has {_gb(free)} free; "
            "use fewer epochs or runs, or histograms=False (--no-histograms)")
    if total_disk > WARN_BYTES:
        warnings.warn(f"this sweep will write about {_gb(total_disk)} into {logdir}", stacklevel=3)


def _gb(n):
    return f"{n / 1024**3:.1f} GB" if n >= 1024**3 / 10 else f"{n / 1024**2:.0f} MB"


def _physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _free_disk(logdir):
    path = Path(logdir).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None
