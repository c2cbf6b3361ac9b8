"""Reading runs back with TensorBoard's own loaders: the readers the tests share.

Everything here goes through ``EventAccumulator`` (keeping every event, not a sample) and the
HParams plugin's protos, as TensorBoard's dashboards do, so a test reads what a user would see.
"""

import os

from tensorboard.backend.event_processing.event_accumulator import STORE_EVERYTHING_SIZE_GUIDANCE, EventAccumulator
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
from tensorboard.util import tensor_util

__all__ = ["event_files", "events", "hparams_session", "scalars", "session_end", "session_hparams",
           "session_start", "text_summary"]


def events(path):
    """The loaded events of one TensorBoard run directory (``run_dir``, ``run_dir / "train"``, ...)."""
    return EventAccumulator(str(path), size_guidance=STORE_EVERYTHING_SIZE_GUIDANCE).Reload()


def scalars(path, tag="epoch_loss"):
    """``[(step, value), ...]`` of one scalar tag in the run directory ``path``."""
    return [(e.step, e.value) for e in events(path).Scalars(tag)]


def _plugin_data(run_dir, tag):
    return plugin_data_pb2.HParamsPluginData.FromString(events(run_dir).PluginTagToContent("hparams")[tag])


def session_start(run_dir):
    """The HParams ``SessionStartInfo`` a run wrote into its own directory (hparams, group_name, ...)."""
    return _plugin_data(run_dir, "_hparams_/session_start_info").session_start_info


def session_end(run_dir):
    """The HParams ``SessionEndInfo`` (its ``status``: 1 success, 2 failure, 3 running, ...)."""
    return _plugin_data(run_dir, "_hparams_/session_end_info").session_end_info


def _values(start):
    return {k: getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}


def session_hparams(run_dir):
    """The run's HParams row: ``{"learning_rate": 0.01, "activation": "relu", ...}``."""
    return _values(session_start(run_dir))


def hparams_session(run_dir):
    """``(hparams dict, group name, end status name)`` of the HParams session in ``run_dir``."""
    content = events(run_dir).PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    end = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_end_info"]).session_end_info
    return _values(start), start.group_name, api_pb2.Status.Name(end.status)


def text_summary(run_dir, tag):
    """The last text written under ``tag`` (the Text dashboard's ``<tag>/text_summary``)."""
    written = events(run_dir).Tensors(f"{tag}/text_summary")
    return tensor_util.make_ndarray(written[-1].tensor_proto).item().decode()


def event_files(directory):
    """The names of the event files directly in ``directory``, sorted."""
    return sorted(f for f in os.listdir(directory) if "tfevents" in f)
