"""What a sweep tells TensorBoard's dashboards: the HParams experiment config and the custom-scalars layout.

The HParams config (``_hparams_/experiment``) decides the HParams columns: the hyperparameters the
sweep varies and the run's status, and as metrics the train and validation loss and accuracy, so
that the parallel-coordinates plot opens on them. Every run of a sweep writes the same config in
its own directory, next to its HParams session: no extra TensorBoard run, and whichever run
TensorBoard finds first, the config is the sweep's.

TensorBoard reads one config per logdir, the first it finds (in no fixed order with its default
loader). With several sweeps under one ``--logdir``, the columns are those of one of them, but
every run of every sweep keeps its row: discrete domains list every possible value (activation,
optimizer, status ...) or are left out (learning rate, batch size), and every value of a column
has one type.
"""

from __future__ import annotations

from .status import STATUSES

__all__ = ["HPARAM_METRICS", "STATUS_VALUES", "hparams_columns", "experiment_value", "layout_value"]

#: The HParams metric columns of a classifier: (group = the run's subdirectory, tag); the first one
#: colors the plot. A model with another metric (a regression's "mae") has epoch_<metric> instead.
HPARAM_METRICS = (("validation", "epoch_accuracy"), ("validation", "epoch_loss"),
                  ("train", "epoch_accuracy"), ("train", "epoch_loss"))

#: Every ``status`` a run can end with (flowlab.status.STATUSES), the domain of its column.
STATUS_VALUES = STATUSES


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


def _experiment(columns, metric="accuracy"):
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
        tag = tag.replace("accuracy", metric)
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


def hparams_columns(hparams):
    """The HParams columns of a sweep, from the HParams values of each of its runs (``RunConfig.hparams()``).

    Returns:
        [(name, values, differs)], plain data a task can carry to a worker; ``experiment_value``
        makes the config of it.
    """
    return [(name, list(values), differs) for name, values, differs in _columns(hparams)]


def experiment_value(columns, metric="accuracy"):
    """The HParams config (``_hparams_/experiment``) of ``hparams_columns(...)``, as a summary value;
    ``metric`` is the model's metric besides the loss ("accuracy", or a regression's "mae")."""
    from .summaries import hparams_value

    return hparams_value("_hparams_/experiment", experiment=_experiment(columns, metric))


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
