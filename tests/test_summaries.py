"""flowlab.summaries: the records and protos TensorBoard reads, checked with TensorBoard's own code: its
pure-Python CRC-32C, its event file loader and the plugins' parsers."""

import io

import numpy as np
from PIL import Image
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.compat.tensorflow_stub import pywrap_tensorflow
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.hparams.plugin_data_pb2 import SessionStartInfo
from tensorboard.util import tensor_util

from flowlab.summaries import Event, Summary, add_text, hparams_value, image_value, masked_crc32c, record


def _read_back(tmp_path, *values):
    """The values of one event, written with ``record`` and loaded by TensorBoard's own loader."""
    event = Event(wall_time=1.0, step=3, summary=Summary(value=list(values)))
    path = tmp_path / "events.out.tfevents.1.test"
    path.write_bytes(record(Event(wall_time=0.5, file_version="brain.Event:2").SerializeToString())
                     + record(event.SerializeToString()))
    loaded = list(EventFileLoader(str(path)).Load())
    assert [e.step for e in loaded] == [0, 3]
    return loaded[1].summary.value


def test_masked_crc32c_is_tensorboards():
    rng = np.random.default_rng(0)
    for data in (b"", b"a", b"123456789", rng.integers(0, 256, 1000, dtype=np.uint8).tobytes()):
        assert masked_crc32c(data) == pywrap_tensorflow.masked_crc32c(data)


def test_a_record_is_length_crc_bytes_crc(tmp_path):
    data = Event(step=7).SerializeToString()
    framed = record(data)
    assert len(framed) == 8 + 4 + len(data) + 4
    assert framed[12:-4] == data
    assert int.from_bytes(framed[:8], "little") == len(data)
    assert int.from_bytes(framed[-4:], "little") == pywrap_tensorflow.masked_crc32c(data)


def test_text_reads_back_as_the_text_plugins_string(tmp_path):
    summary = Summary()
    add_text(summary, "config", "| lr | 0.1 |\nµ and ü")
    [value] = _read_back(tmp_path, *summary.value)
    assert value.tag == "config/text_summary" and value.metadata.plugin_data.plugin_name == "text"
    text = tensor_util.make_ndarray(value.tensor)
    assert text.shape == (1,) and text[0].decode("utf-8") == "| lr | 0.1 |\nµ and ü"


def test_an_image_reads_back_as_the_same_pixels(tmp_path):
    # TensorBoard's loader hands an image to the images plugin as [width, height, PNG]
    pixels = np.random.default_rng(1).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    [value] = _read_back(tmp_path, image_value("boundary", pixels))
    assert value.tag == "boundary" and value.metadata.plugin_data.plugin_name == "images"
    width, height, png = value.tensor.string_val
    assert (width, height) == (b"7", b"5")
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))), pixels)


def test_hparams_values_parse_with_the_hparams_plugins_own_parser(tmp_path):
    start = SessionStartInfo(group_name="lr=0.1")
    start.hparams["learning_rate"].number_value = 0.1
    [value] = _read_back(tmp_path, hparams_value("_hparams_/session_start_info", session_start_info=start))
    assert value.metadata.plugin_data.plugin_name == hparams_metadata.PLUGIN_NAME
    parsed = hparams_metadata.parse_session_start_info_plugin_data(value.metadata.plugin_data.content)
    assert parsed.group_name == "lr=0.1" and parsed.hparams["learning_rate"].number_value == 0.1
