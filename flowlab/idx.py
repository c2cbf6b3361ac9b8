"""MNIST-format IDX files: a validating reader and the loader of the four standard files (gzipped or not)."""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "check_idx", "find_idx_files", "check_mnist", "load_mnist", "MNIST_FILES"]

MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_MNIST_SOURCES = {
    "mnist": "the MNIST page https://yann.lecun.com/exdb/mnist/ or its mirror "
             "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "https://github.com/zalandoresearch/fashion-mnist (files under data/fashion/)",
}


_IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


#: Largest IDX payload read (bytes): more than any MNIST-format set, less than a header can claim.
MAX_IDX_BYTES = 2**33


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (the MNIST format), gzipped or not.

    Format: magic ``00 00 TT NN`` (TT the type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64; NN the number of dimensions), NN big-endian uint32 sizes, then the
    data, big-endian, row-major. Gzip is detected by the first two bytes (1f 8b), not the name.
    A gzip file is inflated as it streams, never past the size its header promises.

    Args:
        path: the file to read.

    Returns:
        An array of shape ``sizes`` in native byte order.

    Raises:
        ValueError: bad magic, unknown type, or a data length other than prod(sizes) * item size
            (truncated file or trailing bytes); the message names the file.
    """
    path = Path(path)
    with _open(path) as f:
        shape, dtype, expected = _read_header(path, f)
        try:
            raw = f.read(expected + 1)  # one byte more tells trailing bytes; never more than that
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt gzip data ({exc})") from None
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else "trailing bytes"
        have = str(len(raw))
        if len(raw) > expected:
            have = "more" if _is_gzip(path) else str(path.stat().st_size - 4 - 4 * len(shape))
        raise ValueError(f"{path}: {problem}: shape {shape} of {dtype.newbyteorder('=').name} needs "
                         f"{expected} data bytes, file has {have}")
    data = np.frombuffer(raw, dtype=dtype, count=expected // dtype.itemsize)
    return data.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def check_idx(path: str | os.PathLike) -> tuple:
    """The shape an IDX file declares, checked against its size without reading its data (for a gzip,
    the uncompressed size its trailer records); ValueError naming the file otherwise."""
    path = Path(path)
    with _open(path) as f:
        shape, dtype, expected = _read_header(path, f)
        header = 4 + 4 * len(shape)
    size = path.stat().st_size
    if _is_gzip(path):
        with open(path, "rb") as f:
            f.seek(-4, os.SEEK_END)
            actual = int.from_bytes(f.read(4), "little") - header  # ISIZE: the size mod 2**32
        if (expected + header) % 2**32 != (actual + header) % 2**32:
            raise ValueError(f"{path}: its gzip holds {actual} data bytes but shape {shape} needs {expected}")
    elif size - header != expected:
        problem = "truncated" if size - header < expected else "trailing bytes"
        raise ValueError(f"{path}: {problem}: shape {shape} needs {expected} data bytes, file has {size - header}")
    return shape


def _is_gzip(path):
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _open(path):
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")


def _read_header(path, f):
    try:
        magic = f.read(4)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt gzip data ({exc})") from None
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0:
        raise ValueError(f"{path}: not an IDX file (expected magic bytes 00 00 TT NN, got {magic[:4].hex(' ')!r})")
    type_code, ndim = magic[2], magic[3]
    if type_code not in _IDX_TYPES:
        known = ", ".join(f"0x{code:02X}" for code in _IDX_TYPES)
        raise ValueError(f"{path}: unknown IDX data type 0x{type_code:02X}; known types are {known}")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")
    try:
        sizes = f.read(4 * ndim)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt gzip data ({exc})") from None
    if len(sizes) < 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header: expected {4 + 4 * ndim} bytes, got {4 + len(sizes)}")
    shape = tuple(int.from_bytes(sizes[i:i + 4], "big") for i in range(0, 4 * ndim, 4))
    dtype = _IDX_TYPES[type_code]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    if expected > MAX_IDX_BYTES:
        raise ValueError(f"{path}: IDX header declares shape {shape}, {expected} bytes of data, more than "
                         f"{MAX_IDX_BYTES} (8 GiB); the file is damaged or not a dataset")
    return shape, dtype, expected


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
        where = (f"in {directory.resolve()}" if directory.is_dir() else
                 f"({directory.resolve()} is a file, not a folder)" if directory.exists() else
                 f"(directory {directory.resolve()} does not exist)")
        raise FileNotFoundError(
            f"{name}: missing {', '.join(missing)} {where}. Download the four IDX files "
            f"({', '.join(MNIST_FILES)}, gzipped or not) from {_MNIST_SOURCES[name]} into that directory, "
            f"or point data_dir= (CLI: --data-dir) at the directory that holds them.")
    return found


def check_mnist(name, data_dir) -> None:
    """Checks the four files' headers and sizes, and that images and labels agree, reading no data:
    a damaged file is a ValueError naming it before a sweep writes anything."""
    train_images, train_labels, val_images, val_labels = find_idx_files(name, data_dir)
    for images_path, labels_path in ((train_images, train_labels), (val_images, val_labels)):
        images, labels = check_idx(images_path), check_idx(labels_path)
        if len(images) < 2 or len(labels) != 1:
            raise ValueError(f"{name}: expected images with >= 2 dimensions in {images_path} and labels with 1 "
                             f"in {labels_path}, got shapes {images} and {labels}")
        if images[0] != labels[0]:
            raise ValueError(f"{name}: {images_path} holds {images[0]} images but {labels_path} holds "
                             f"{labels[0]} labels")


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
