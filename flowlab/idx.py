"""MNIST-format IDX files: a validating reader and the loader of the four standard files (gzipped or not)."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "find_idx_files", "load_mnist", "MNIST_FILES"]

MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_MNIST_SOURCES = {
    "mnist": "the MNIST page https://yann.lecun.com/exdb/mnist/ or its mirror "
             "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "https://github.com/zalandoresearch/fashion-mnist (files under data/fashion/)",
}


_IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (the MNIST format), gzipped or not.

    Format: magic ``00 00 TT NN`` (TT the type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64; NN the number of dimensions), NN big-endian uint32 sizes, then the
    data, big-endian, row-major. Gzip is detected by the first two bytes (1f 8b), not the name.

    Args:
        path: the file to read.

    Returns:
        An array of shape ``sizes`` in native byte order.

    Raises:
        ValueError: bad magic, unknown type, or a data length other than prod(sizes) * item size
            (truncated file or trailing bytes); the message names the file.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt gzip data ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (expected magic bytes 00 00 TT NN, got {raw[:4].hex(' ')!r})")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_TYPES:
        known = ", ".join(f"0x{code:02X}" for code in _IDX_TYPES)
        raise ValueError(f"{path}: unknown IDX data type 0x{type_code:02X}; known types are {known}")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header: expected {header} bytes, got {len(raw)}")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_TYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header
    if actual != expected:
        problem = "truncated" if actual < expected else "trailing bytes"
        raise ValueError(f"{path}: {problem}: shape {shape} of {dtype.newbyteorder('=').name} needs "
                         f"{expected} data bytes, file has {actual}")
    data = np.frombuffer(raw, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return data.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def find_idx_files(name, data_dir) -> list[Path]:
    directory = Path(data_dir if data_dir is not None else Path("data") / name).expanduser()
    found, missing = [], []
    for base in MNIST_FILES:
        candidates = [directory / base, directory / f"{base}.gz"]
        hit = next((p for p in candidates if p.is_file()), None)
        found.append(hit)
        if hit is None:
            missing.append(f"{base}[.gz]")
    if missing:
        where = f"in {directory.resolve()}" if directory.is_dir() else f"(directory {directory.resolve()} does not exist)"
        raise FileNotFoundError(
            f"{name}: missing {', '.join(missing)} {where}. Download the four IDX files "
            f"({', '.join(MNIST_FILES)}, gzipped or not) from {_MNIST_SOURCES[name]} into that directory, "
            f"or point data_dir= (CLI: --data-dir) at the directory that holds them.")
    return found


def load_mnist(name, data_dir):
    """Train and validation (the t10k files) arrays of an MNIST-format set: pixels in [0, 1], labels 0-9."""
    train_images, train_labels, val_images, val_labels = find_idx_files(name, data_dir)
    splits = []
    for images_path, labels_path in ((train_images, train_labels), (val_images, val_labels)):
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim < 2 or labels.ndim != 1:
            raise ValueError(f"{name}: expected images with >= 2 dimensions in {images_path} and labels with 1 "
                             f"in {labels_path}, got shapes {images.shape} and {labels.shape}")
        if len(images) != len(labels):
            raise ValueError(f"{name}: {images_path} holds {len(images)} images but {labels_path} holds "
                             f"{len(labels)} labels")
        if labels.size and (labels.min() < 0 or labels.max() >= 10):
            raise ValueError(f"{name}: labels in {labels_path} must be 0-9, got {labels.min()}..{labels.max()}")
        x = images.reshape(len(images), -1).astype(np.float64)
        if images.dtype == np.uint8:
            x /= 255.0
        splits += [x, labels.astype(np.int64)]
    if splits[0].shape[1] != splits[2].shape[1]:
        raise ValueError(f"{name}: training images have {splits[0].shape[1]} pixels but validation images "
                         f"have {splits[2].shape[1]}")
    return tuple(splits)
