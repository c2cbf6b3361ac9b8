"""What a sweep tells TensorBoard's dashboards: the HParams experiment config and the custom-scalars layout.

The HParams config (``_hparams_/experiment``, in a file of its own in the sweep directory) decides
the HParams columns: the hyperparameters the sweep varies and the run's status, and as metrics the
train and validation loss and accuracy, so that the parallel-coordinates plot opens on them.

TensorBoard reads one config per logdir, the first it finds (in no fixed order with its default
loader). With several sweeps under one ``--logdir``, the columns are those of one of them, but
every run of every sweep keeps its row: discrete domains list every possible value (activation,
optimizer, status ...) or are left out (learning rate, batch size), and every value of a column
has one type.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path

__all__ = ["HPARAM_METRICS", "STATUS_VALUES", "write_sweep_config", "layout_value"]

#: The HParams metric columns: (group = the run's subdirectory, tag), the first one colors the plot.
HPARAM_METRICS = (("validation", "epoch_accuracy"), ("validation", "epoch_loss"),
                  ("train", "epoch_accuracy"), ("train", "epoch_loss"))

#: Every ``status`` a run can end with (flowlab.train.STATUSES), the domain of its column.
STATUS_VALUES = ("completed", "early_stopped", "diverged", "failed", "interrupted")

# The config's event files end with this: flowlab replaces only these, never another program's files.
_SUFFIX = ".flowlab-hparams"


def _closed_domains():
    """The columns whose every possible value is known: their discrete domain lists them all, so
    that a config never filters out a run of another sweep (TensorBoard drops a session whose
    value is outside a discrete domain). Open-ended values (learning rate, batch size, widths)
    get no domain: a text filter instead of check boxes, and the plot's axis still spaces them
    evenly, because they are strings."""
    from .data import DATASETS
    from .init import INITIALIZERS
    from .nodes import ACTIVATIONS
    from .optim import OPTIMIZERS

    return {"status": STATUS_VALUES, "activation": tuple(ACTIVATIONS), "optimizer": tuple(OPTIMIZERS),
            "init": tuple(INITIALIZERS), "dataset": tuple(DATASETS), "dtype": ("float32", "float64")}


def _experiment(columns):
    """An HParams ``Experiment`` proto: ``columns`` is [(name, values, differs)].

    TensorBoard shows the columns sorted by name, those that differ first, and the first five of
    them in the parallel-coordinates plot.
    """
    from tensorboard.plugins.hparams import api_pb2

    closed = _closed_domains()
    experiment = api_pb2.Experiment()
    for name, values, differs in columns:
        info = experiment.hparam_infos.add(name=name, differs=differs)
        numeric = bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        info.type = api_pb2.DATA_TYPE_FLOAT64 if numeric else api_pb2.DATA_TYPE_STRING
        if name in closed and all(v in closed[name] for v in values):
            for v in closed[name]:
                info.domain_discrete.values.add(string_value=v)
    for group, tag in HPARAM_METRICS:
        experiment.metric_infos.add(name=api_pb2.MetricName(group=group, tag=tag))
    return experiment


def _columns(sessions):
    """The HParams columns of ``sessions`` ({name: value} dicts): what varies first, then status;
    the constants only when nothing varies (TensorBoard shows the first five columns, and the
    constants are in each run's config text)."""
    names = []
    for hp in sessions:
        names += [k for k in hp if k not in names and k != "status"]
    values = {k: [] for k in names}
    for hp in sessions:
        for k in names:
            if k in hp and hp[k] not in values[k]:
                values[k].append(hp[k])
    varied = [(k, values[k], True) for k in names if len(values[k]) > 1]
    status = [("status", [], True)]
    if varied:
        return varied + status
    return status + [(k, values[k], False) for k in names]


def write_sweep_config(sweep_dir, hparams):
    """Writes the HParams config of a sweep into its directory, replacing the one written before.

    Args:
        sweep_dir: the sweep's directory.
        hparams: the HParams values of each run of the sweep (``RunConfig.hparams()``), in grid order.
    """
    _replace(Path(sweep_dir), _experiment(_columns(hparams)))


def _own_files(directory):
    try:
        return sorted(p for p in Path(directory).iterdir() if p.name.startswith("events.out.tfevents.")
                      and p.name.endswith(_SUFFIX))
    except OSError:
        return []


def _replace(directory, experiment):
    """Writes ``experiment`` as a new event file in ``directory``, then removes the config files
    flowlab wrote there before (never another program's files)."""
    from .summaries import Event, hparams_value, record

    old = _own_files(directory)
    now = time.time()
    header = Event(wall_time=now, file_version="brain.Event:2")
    event = Event(wall_time=now, step=0)
    event.summary.value.append(hparams_value("_hparams_/experiment", experiment=experiment))
    name = (f"events.out.tfevents.{int(now):010d}.{socket.gethostname()}.{os.getpid()}."
            f"{uuid.uuid4().hex[:12]}{_SUFFIX}")
    path = Path(directory) / name
    partial = path.with_name("." + name + ".partial")  # TensorBoard reads only events.out.tfevents.*
    partial.write_bytes(record(header.SerializeToString()) + record(event.SerializeToString()))
    os.replace(partial, path)
    for stale in old:
        try:
            stale.unlink()
        except FileNotFoundError:  # another sweep replaced it first
            pass


def layout_value():
    """The custom-scalars layout, as a summary value: every layer's gradient norm on one chart (the
    vanishing-gradient picture), and every layer's update ratio on another."""
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.types_pb2 import DT_STRING
    from tensorboard.plugins.custom_scalar import layout_pb2

    from .summaries import Summary

    layout = layout_pb2.Layout(category=[
        layout_pb2.Category(title="Per layer (use the chart's log-scale button)", chart=[
            layout_pb2.Chart(title="gradient_norm: every layer (vanishing gradients: dense_1 far below the last)",
                             multiline=layout_pb2.MultilineChartContent(tag=[r"^gradient_norm/"])),
            layout_pb2.Chart(title="update_ratio: every layer (how much each layer's weights changed per epoch)",
                             multiline=layout_pb2.MultilineChartContent(tag=[r"^update_ratio/"])),
        ]),
    ])
    value = Summary.Value(tag="custom_scalars__config__")
    value.metadata.plugin_data.plugin_name = "custom_scalars"
    value.tensor.CopyFrom(TensorProto(dtype=DT_STRING, string_val=[layout.SerializeToString()]))
    return value
