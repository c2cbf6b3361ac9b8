"""flowlab.dashboards: the HParams columns a sweep declares and the custom-scalars layout, parsed with
TensorBoard's own plugin code."""

from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata

from flowlab.dashboards import HPARAM_METRICS, STATUS_VALUES, experiment_value, hparams_columns, layout_value
from flowlab.nodes import ACTIVATIONS


def _experiment(columns, metric="accuracy"):
    value = experiment_value(columns, metric)
    assert value.tag == "_hparams_/experiment" and value.metadata.plugin_data.plugin_name == "hparams"
    return hparams_metadata.parse_experiment_plugin_data(value.metadata.plugin_data.content)


def test_columns_are_what_varies_then_status():
    sessions = [{"learning_rate": 0.1, "optimizer": "sgd", "status": "completed"},
                {"learning_rate": 0.01, "optimizer": "sgd", "status": "diverged"},
                {"learning_rate": 0.1, "optimizer": "adam"}]
    assert hparams_columns(sessions) == [("learning_rate", [0.1, 0.01], True), ("optimizer", ["sgd", "adam"], True),
                                         ("status", [], True)]


def test_when_nothing_varies_status_comes_first_then_the_constants():
    sessions = [{"learning_rate": 0.1, "activation": "relu"}] * 2
    assert hparams_columns(sessions) == [("status", [], True), ("learning_rate", [0.1], False),
                                         ("activation", ["relu"], False)]


def test_the_experiment_config_types_domains_and_metrics():
    experiment = _experiment([("learning_rate", [0.1, 0.01], True), ("activation", ["relu", "tanh"], True),
                              ("hidden", ["64", "64-32"], True), ("status", [], True)])
    infos = {info.name: info for info in experiment.hparam_infos}
    assert list(infos) == ["learning_rate", "activation", "hidden", "status"]
    assert infos["learning_rate"].type == api_pb2.DATA_TYPE_FLOAT64 and not infos["learning_rate"].HasField("domain_discrete")
    assert infos["hidden"].type == api_pb2.DATA_TYPE_STRING and not infos["hidden"].HasField("domain_discrete")
    # a closed column lists every value it could take, so another sweep's runs are not filtered out
    assert [v.string_value for v in infos["activation"].domain_discrete.values] == list(ACTIVATIONS)
    assert [v.string_value for v in infos["status"].domain_discrete.values] == list(STATUS_VALUES)
    assert [(m.name.group, m.name.tag) for m in experiment.metric_infos] == list(HPARAM_METRICS)


def test_a_value_outside_a_closed_domain_drops_the_domain_and_the_metric_follows_the_model():
    experiment = _experiment([("activation", ["relu", "my_activation"], True)], metric="mae")
    [info] = experiment.hparam_infos
    assert not info.HasField("domain_discrete")  # TensorBoard would hide the run whose value is outside it
    assert [m.name.tag for m in experiment.metric_infos] == [t.replace("accuracy", "mae") for _, t in HPARAM_METRICS]


def test_the_layout_charts_every_layers_gradient_norm_and_update_ratio():
    value = layout_value()
    assert value.tag == "custom_scalars__config__" and value.metadata.plugin_data.plugin_name == "custom_scalars"
    layout = layout_pb2.Layout.FromString(value.tensor.string_val[0])
    charts = [chart for category in layout.category for chart in category.chart]
    assert [list(c.multiline.tag) for c in charts] == [[r"^gradient_norm/"], [r"^update_ratio/"]]
