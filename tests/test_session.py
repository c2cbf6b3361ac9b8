"""flowlab.tensorboard.session: the root run's events (config, model, dashboards' configs, status, HParams
session), parsed by TensorBoard's own plugin metadata readers."""

import math

import numpy as np
import pytest
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import api_pb2, metadata
from tensorboard.util import tensor_util

from flowlab.dashboards import hparams_columns
from flowlab.status import SESSION_STATUS, RunStatus
from flowlab.tensorboard.session import end_event, run_hparams, start_event, status_text


class Param:
    def __init__(self, name, shape):
        self.name, self.value = name, np.zeros(shape)


def _text(value):
    assert value.metadata.plugin_data.plugin_name == "text"
    return tensor_util.make_ndarray(value.tensor).item().decode()


def test_start_event_holds_the_config_and_model_tables_and_the_dashboards_configs():
    params = [Param("dense_1/kernel", (2, 3)), Param("dense_1/bias", (3,))]
    columns = hparams_columns([{"lr": 0.1, "status": "completed"}, {"lr": 0.2, "status": "completed"}])
    event = start_event({"lr": 0.1, "hidden": [8, 4], "note": "a|b"}, "MLP()", params,
                        [p.name for p in params], custom_scalars=True, hparams_config=columns)
    values = {v.tag: v for v in event.summary.value}
    assert list(values) == ["config/text_summary", "model/text_summary", "custom_scalars__config__",
                            "_hparams_/experiment"]
    assert _text(values["config/text_summary"]).splitlines() == [
        "| Setting | Value |", "|---|---|", "| lr | 0.1 |", "| hidden | 8,4 |", "| note | a\\|b |"]
    model = _text(values["model/text_summary"])
    assert "| dense_1/kernel | 2×3 | 6 |" in model and "| **total** | | **9** |" in model
    layout = layout_pb2.Layout.FromString(tensor_util.make_ndarray(values["custom_scalars__config__"].tensor).item())
    assert [c.multiline.tag for c in layout.category[0].chart] == [["^gradient_norm/"], ["^update_ratio/"]]
    experiment = metadata.parse_experiment_plugin_data(values["_hparams_/experiment"].metadata.plugin_data.content)
    assert {h.name for h in experiment.hparam_infos} >= {"lr", "status"}
    # Nothing but the config table when there are no parameters and no configs.
    assert [v.tag for v in start_event({}).summary.value] == ["config/text_summary"]


@pytest.mark.parametrize("status", list(RunStatus))
def test_end_event_says_how_the_run_ended_in_text_and_in_the_hparams_session(status):
    event = end_event(str(status), run_hparams({"lr": 0.1}, status=str(status)), "group", 1000.0, epochs=3,
                      seconds=1.25, error="RuntimeError: boom" if status == RunStatus.FAILED else None)
    status_value, start_value, end_value = event.summary.value
    text = _text(status_value)
    assert text.startswith(f"**{status}** after 3 epoch(s), 1.2 s")
    assert ("RuntimeError: boom" in text) == (status == RunStatus.FAILED)
    start = metadata.parse_session_start_info_plugin_data(start_value.metadata.plugin_data.content)
    end = metadata.parse_session_end_info_plugin_data(end_value.metadata.plugin_data.content)
    assert start.group_name == "group" and start.start_time_secs == 1000.0
    assert start.hparams["lr"].number_value == 0.1 and start.hparams["status"].string_value == status
    assert api_pb2.Status.Name(end.status) == SESSION_STATUS[status] and end.end_time_secs > 1000.0


def test_a_status_flowlab_does_not_know_ends_the_session_as_unknown():
    start_value, end_value = end_event("unknown", {}).summary.value[1:]
    end = metadata.parse_session_end_info_plugin_data(end_value.metadata.plugin_data.content)
    assert api_pb2.Status.Name(end.status) == "STATUS_UNKNOWN"
    assert status_text("diverged", 2, 0.04, "loss became inf") == "**diverged** after 2 epoch(s), 0.0 s\n\nloss became inf"


def test_hparams_become_bool_float_or_string_columns():
    hp = run_hparams({"lr": 1, "hidden": [64, 32], "init": None, "wd": math.nan, "std": np.bool_(True),
                      "seed": np.int64(3), "status": "mine"}, status="completed")
    assert hp == {"lr": 1.0, "hidden": "64,32", "init": "none", "wd": "nan", "std": True, "seed": 3.0,
                  "status": "mine"}  # a status the caller gave is kept
    assert all(type(v) in (bool, float, str) for v in hp.values())


def test_without_hparams_they_are_the_optimizers_and_the_models_settings():
    class Adam:
        lr = 0.5

        def hparams(self):
            return {"lr": 0.01, "beta_1": 0.9}

    class SGD:
        lr = 0.05

    model = type("Model", (), {"config": {"sizes": [2, 8, 3], "activation": "relu"}})()
    assert run_hparams(None, Adam(), model, "completed") == {"optimizer": "adam", "lr": 0.01, "beta_1": 0.9,
                                                             "sizes": "2,8,3", "activation": "relu",
                                                             "status": "completed"}
    assert run_hparams(None, SGD(), None) == {"optimizer": "sgd", "lr": 0.05}
    assert run_hparams(None) == {}
