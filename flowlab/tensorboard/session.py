"""What a run's root event file says: the config and model tables and the dashboards' configs when
training starts, the status text and the HParams session (start and end) when it ends."""

import math
import time

import numpy as np

from ..status import SESSION_STATUS
from .events import _event


def start_event(config, model=None, params=(), tags=(), custom_scalars=False, hparams_config=None,
                metric="accuracy"):
    """The root ``Event`` written when training starts: the ``config`` text (a table of the dict
    ``config``), the ``model`` text (its parameters, tagged ``tags``) when there are parameters, the
    Custom Scalars layout when ``custom_scalars``, and the HParams experiment config of the sweep's
    columns ``hparams_config`` (``dashboards.hparams_columns``) when given."""
    from ..summaries import add_text

    event = _event()
    add_text(event.summary, "config", _markdown_table(config))
    if params:
        add_text(event.summary, "model", _model_table(model, params, tags))
    if custom_scalars:
        from ..dashboards import layout_value

        event.summary.value.append(layout_value())  # the Custom Scalars tab
    if hparams_config is not None:
        from ..dashboards import experiment_value

        event.summary.value.append(experiment_value(hparams_config, metric))
    return event


def status_text(status, epochs, seconds, error=None):
    """The ``status`` text: how the run ended, after how many epochs and seconds, and its error."""
    return f"**{status}** after {epochs} epoch(s), {seconds:.1f} s" + (f"\n\n{error}" if error else "")


def end_event(status, hparams, group_name="", start_time=None, epochs=0, seconds=0.0, error=None):
    """The root ``Event`` written when training ends: the status text, then the HParams session of
    ``hparams`` (which carry ``status`` as a column), its session status success for a run that
    succeeded and failure otherwise (unknown for a status flowlab does not know)."""
    from ..summaries import add_text

    event = _event()
    add_text(event.summary, "status", status_text(status, epochs, seconds, error))
    _add_session(event.summary, hparams, group_name, start_time, SESSION_STATUS.get(status, "STATUS_UNKNOWN"))
    return event


def run_hparams(hparams=None, optimizer=None, model=None, status=None):
    """A run's hyperparameters as HParams values (bool, float or str), plus ``status`` when given.

    ``hparams`` None: the optimizer's name and settings (``optimizer.hparams()``, else its ``lr``)
    and the model's ``config``.
    """
    if hparams is not None:
        hp = dict(hparams)
    else:
        hp = {}
        if optimizer is not None:
            hp["optimizer"] = type(optimizer).__name__.lower()
            settings = getattr(optimizer, "hparams", None)
            hp.update(settings() if callable(settings) else {"lr": getattr(optimizer, "lr", None)})
        hp.update(getattr(model, "config", None) or {})
    if status is not None:
        hp.setdefault("status", status)
    return {str(k): _hparam_value(v) for k, v in hp.items()}


def _add_session(summary, hparams, group_name, start_time, status):
    """The HParams session of this run: start (hparams, group) and end (status), written into the run's
    own directory without an experiment tag, so that its metrics are the last scalars of train/ and
    validation/ (TensorBoard's HParams plugin looks them up as ``<session>/<group>``)."""
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
