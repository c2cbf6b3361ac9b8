"""Files the tests fabricate: IDX arrays (MNIST's format) written byte by byte from the format's
definition (http://yann.lecun.com/exdb/mnist/), not by flowlab, so they are an oracle for its reader."""

import gzip
import struct
from pathlib import Path

import numpy as np


def idx_bytes(array, type_code=0x08, big_endian_dtype=">u1"):
    """The IDX encoding of ``array``: two zero bytes, the type code, the number of dimensions, each
    dimension as a big-endian uint32, then the values in ``big_endian_dtype``."""
    array = np.asarray(array)
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(big_endian_dtype).tobytes()


def write_bytes(path, payload, gz=False):
    path = Path(path)
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def write_idx(path, array, gz=False):
    """Writes ``array`` as a uint8 IDX file (gzipped if ``gz``) and returns its path."""
    return write_bytes(path, idx_bytes(np.asarray(array, dtype=np.uint8)), gz)
