"""What a run's root event file says: the HParams session (start and end) and the config/model tables."""

import math
import time

import numpy as np


def _add_session(summary, hparams, group_name, start_time, status):
    """The HParams session of this run: start (hparams, group) and end (status), as tensorboard.md §2."""
    from tensorboard.plugins.hparams.api_pb2 import Status
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData, SessionEndInfo, SessionStartInfo

    start = SessionStartInfo(group_name=group_name, start_time_secs=start_time or time.time())
    for key, value in hparams.items():
        if isinstance(value, bool):
            start.hparams[key].bool_value = value
        elif isinstance(value, float):
            start.hparams[key].number_value = value
        else:
            start.hparams[key].string_value = value
    end = SessionEndInfo(status=Status.Value(status), end_time_secs=time.time())
    for tag, data in (("_hparams_/session_start_info", HParamsPluginData(version=0, session_start_info=start)),
                      ("_hparams_/session_end_info", HParamsPluginData(version=0, session_end_info=end))):
        value = summary.value.add(tag=tag)
        value.metadata.plugin_data.plugin_name = "hparams"
        value.metadata.plugin_data.content = data.SerializeToString()


def _hparam_value(v):
    """bool, float or str: the kinds of value an HParams column holds."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v) if math.isfinite(v) else str(float(v))
    if isinstance(v, (list, tuple, np.ndarray)):
        return ",".join(_text(x) for x in v)
    return "none" if v is None else str(v)


def _text(v):
    v = _hparam_value(v)
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _markdown_table(mapping):
    rows = ["| Setting | Value |", "|---|---|"]
    rows += [f"| {_cell(k)} | {_cell(_text(v))} |" for k, v in mapping.items()]
    return "\n".join(rows)


def _cell(value):
    return str(value).replace("|", "\\|").replace("\n", " ")


def _model_table(model, params, tags):
    rows = [f"`{model!r}`", "", "| Parameter | Shape | Count |", "|---|---|---|"]
    for p, tag in zip(params, tags):
        shape = np.shape(p.value)
        rows.append(f"| {_cell(tag)} | {'×'.join(map(str, shape)) or 'scalar'} | {int(np.prod(shape)):,} |")
    rows.append(f"| **total** | | **{sum(int(np.size(p.value)) for p in params):,}** |")
    if any(tag.startswith("dense_1/") for tag in tags):
        rows += ["", "Layers count from 1: `dense_1` is the first layer, which Keras names `dense`; "
                 "`dense_2` is Keras' `dense_1`, and so on."]
    return "\n".join(rows)
