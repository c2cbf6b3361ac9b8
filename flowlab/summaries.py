"""TensorBoard protos built from tensorboard's own modules: events, scalar, text, image and HParams values.

Nothing here imports tensorboardX: with torch installed, importing any part of tensorboardX imports
torch (a second or more in every process). ``tensorboard.compat.proto`` holds the same protos
without TensorFlow or torch, and Pillow encodes the PNGs.
"""

from __future__ import annotations

import io
import struct

import numpy as np

from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata

__all__ = ["Event", "Summary", "SummaryMetadata", "record", "add_text", "image_value", "hparams_value"]


def _crc32c():
    from crc32c import crc32c

    return crc32c


def masked_crc32c(data, _crc=_crc32c()):
    """TFRecord's checksum: CRC-32C of ``data``, rotated right by 15 bits plus a constant."""
    x = _crc(data)
    return (((x >> 15) | (x << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(data):
    """One TFRecord: length, masked CRC of the length, the bytes, masked CRC of the bytes."""
    header = struct.pack("<Q", len(data))
    return b"".join((header, struct.pack("<I", masked_crc32c(header)), data, struct.pack("<I", masked_crc32c(data))))


def add_text(summary, tag, text):
    """Adds a text summary tagged ``<tag>/text_summary`` (the tag tensorboardX's ``add_text`` writes)."""
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.types_pb2 import DT_STRING
    from tensorboard.plugins.text.plugin_data_pb2 import TextPluginData

    value = summary.value.add(tag=f"{tag}/text_summary")
    value.metadata.plugin_data.plugin_name = "text"
    value.metadata.plugin_data.content = TextPluginData(version=0).SerializeToString()
    value.tensor.CopyFrom(TensorProto(dtype=DT_STRING, string_val=[text.encode("utf-8")]))
    value.tensor.tensor_shape.dim.add(size=1)
    return value


def image_value(tag, image):
    """A summary value holding an HWC uint8 RGB array as a PNG."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buffer, format="PNG")
    height, width = image.shape[:2]
    return Summary.Value(tag=tag, image=Summary.Image(height=height, width=width, colorspace=3,
                                                      encoded_image_string=buffer.getvalue()))


def hparams_value(tag, **data):
    """A summary value of the HParams plugin (``session_start_info=``, ``experiment=`` ...)."""
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    value = Summary.Value(tag=tag)
    value.metadata.plugin_data.plugin_name = "hparams"
    value.metadata.plugin_data.content = HParamsPluginData(version=0, **data).SerializeToString()
    return value
