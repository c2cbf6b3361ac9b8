"""flowlab.tensorboard.events: event files read back by TensorBoard's own reader, CRCs checked."""

import struct

import crc32c
import pytest
from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader

from flowlab.tensorboard import EventFile


def masked_crc(data):
    crc = crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def test_records_are_tfrecord_framed_and_tensorboard_reads_them(tmp_path):
    f = EventFile(tmp_path / "run", flush_secs=0)
    for step in range(3):
        f.add_scalar("loss", 1.0 / (step + 1), step)
    f.close()
    events = list(LegacyEventFileLoader(f.path).Load())
    assert events[0].file_version == "brain.Event:2"
    assert [(e.step, e.summary.value[0].tag) for e in events[1:]] == [(0, "loss"), (1, "loss"), (2, "loss")]
    assert [e.summary.value[0].simple_value for e in events[1:]] == pytest.approx([1.0, 0.5, 1 / 3])
    data, records = open(f.path, "rb").read(), 0
    while data:  # length, masked crc of the length, payload, masked crc of the payload
        header = data[:8]
        (length,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", data[8:12])[0] == masked_crc(header)
        payload = data[12:12 + length]
        assert struct.unpack("<I", data[12 + length:16 + length])[0] == masked_crc(payload)
        data, records = data[16 + length:], records + 1
    assert records == 4


def test_two_files_in_one_directory_never_share_a_name(tmp_path):
    a, b = EventFile(tmp_path), EventFile(tmp_path)
    a.close(), b.close()
    assert a.path != b.path
