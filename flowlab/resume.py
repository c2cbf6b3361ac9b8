"""Resuming a sweep: the runs a resume runs, worked out from the sweep's record and the grid given.

A resume finishes a sweep as it was started, or adds runs to it; it never drops or silently replaces a
finished run. ``resume_plan`` rebuilds the recorded grid (or the one given, if it changes no recorded
run), ``check_recorded_runs`` compares it with what each finished run's run.json says it was trained
with. Both raise ValueError, naming what would change, before anything is written.
"""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from pathlib import Path

from .config import CONFIG_FIELDS, RunConfig, config_dict, config_value, format_value, run_name
from .results import _read_record
from .runner import _json_default
from .status import FINISHED


def _plain(value):
    """``value`` as it reads back from JSON (tuples become lists), to compare with a stored config."""
    return json.loads(json.dumps(value, default=_json_default))


def _as_trained(config):
    """A run.json's config, with the fields an older flowlab did not record at their defaults."""
    return {**_defaults(), **config}


@functools.cache
def _defaults_json():
    return json.dumps(_plain(config_dict(RunConfig())))


def _defaults():
    return json.loads(_defaults_json())  # a fresh copy: callers may keep what they get


def _check_recorded_runs(sweep_dir, manifest, planned, redo_changed):
    """Refuses, before anything is written, a resume that would silently replace a finished run because its
    run.json disagrees with the sweep's record (an edited manifest), or write over files named as flowlab's
    in the folder of a run this sweep never had. Returns the finished runs to redo (with ``redo_changed``)."""
    from .sweepdir import HIDDEN, MANIFEST, run_entries

    recorded = {run["name"] for run in manifest["runs"]}
    differ, foreign = [], []
    for name, config in planned:
        run_dir = Path(sweep_dir) / name
        if name not in recorded:
            if run_dir.is_dir():
                ours = [rel for rel, is_ours in run_entries(run_dir) if is_ours]
                if ours:
                    foreign.append(str(run_dir.joinpath(*ours[0])))
            continue
        previous = _read_record(run_dir)
        if previous is None or previous.get("status") not in FINISHED:
            continue
        trained, planned_config = _as_trained(previous.get("config") or {}), _plain(config_dict(config))
        if trained != planned_config:
            keys = [k for k in sorted(set(trained) | set(planned_config)) if trained.get(k) != planned_config.get(k)]
            differ.append((name, ", ".join(f"{k} {_show(trained.get(k))} -> {_show(planned_config.get(k))}"
                                           for k in keys[:3])))
    if foreign:
        raise ValueError(f"resume: {foreign[0]} is in the folder of a run {sweep_dir} never had, and flowlab did not "
                         f"write it{f' (and {len(foreign) - 1} more such folders)' if len(foreign) > 1 else ''}: "
                         "move it, or start a new sweep")
    if differ and redo_changed:
        return [name for name, _ in differ]
    if differ:
        raise ValueError(
            f"resume: {len(differ)} finished run(s) of {sweep_dir} were trained with settings other than the ones "
            f"its {HIDDEN}/{MANIFEST} records (was it edited?): {'; '.join(f'{n} ({d})' for n, d in differ[:5])}"
            f"{'; ...' if len(differ) > 5 else ''}. Finished runs are never replaced silently: add --redo-changed "
            "(redo_changed=True) to redo them with the recorded settings, or start a new sweep")
    return []


def _resume_plan(exp, sweep_dir, manifest, axes, redo_changed):
    """The configs, varied fields and run names a resume runs: the recorded grid, or the grid given if it
    changes no recorded run (else ValueError naming what changed, unless ``redo_changed``)."""
    recorded = {}
    for run in manifest["runs"]:
        known = {k: v for k, v in run["config"].items() if k in CONFIG_FIELDS}
        recorded[run["name"]] = _plain(config_dict(replace(RunConfig(), **known,
                                                           extra=run["config"].get("extra") or {})))

    def rebuild(c, **over):
        fields_ = {k: (tuple(v) if k == "hidden" else v) for k, v in c.items() if k != "extra"}
        return replace(RunConfig(), **{**fields_, **over}, extra=c.get("extra") or {}).validated()

    if not axes and not exp.explicit:
        configs = [rebuild(c) for c in recorded.values()]
        return configs, list(manifest.get("varied", [])), list(recorded)
    if axes:
        configs, varied = exp.grid(**_inherited_axes(exp, recorded, manifest, axes, rebuild))
    else:  # only base settings given: the recorded grid with them applied
        configs = [rebuild(c, **{k: getattr(exp.base, k) for k in exp.explicit if k in CONFIG_FIELDS})
                   for c in recorded.values()]
        varied = list(manifest.get("varied", []))
    order = [run_name(c, varied) for c in configs]
    new = dict(zip(order, (_plain(config_dict(c)) for c in configs)))
    changed = {}
    for name, old in recorded.items():
        if name in new and new[name] != old:
            for key in (*CONFIG_FIELDS, "extra"):
                if old.get(key) != new[name].get(key):
                    entry = changed.setdefault(key, [set(), set(), 0])
                    entry[0].add(_show(old.get(key)))
                    entry[1].add(_show(new[name].get(key)))
                    entry[2] += 1
    # A resume adds runs to a sweep and finishes it; it never drops a finished run from its results.
    left_out = [name for name in recorded if name not in new]
    if left_out:
        added = [k for k in varied if k not in manifest.get("varied", [])]
        hint = "; ".join(f"{key}={' '.join(vals)}" for key, vals in _with_recorded(recorded, axes, configs).items())
        if added:
            how = (f"{', '.join(added)} {'was' if len(added) == 1 else 'were'} not varied in it, and a new axis "
                   "renames the runs: start a new sweep (without --resume) for that")
        elif hint:
            how = f"to add values to an axis, give its recorded values with them ({hint}), or start a new sweep"
        else:  # the sweep's axes narrowed by this Experiment's own settings
            how = ("this Experiment's own settings leave out values the sweep varied: give them as they were "
                   "recorded, or start a new sweep")
        raise ValueError(
            f"resume: the grid given leaves out {len(left_out)} of the {len(recorded)} runs of {sweep_dir} "
            f"(runs {', '.join(map(repr, left_out[:5]))}{', ...' if len(left_out) > 5 else ''}): a resume adds "
            f"runs to a sweep and never drops one; {how}")
    if changed and not redo_changed:
        parts = [f"{key} {'/'.join(sorted(a))} -> {'/'.join(sorted(b))} in {n} run(s)"
                 for key, (a, b, n) in changed.items()]
        raise ValueError(
            f"resume: these settings differ from the ones {sweep_dir} was started with: {'; '.join(parts)}. "
            "Its finished runs are never replaced silently: give --resume DIR alone (sweep(resume=DIR)) to finish "
            "the sweep as it was started, start a new sweep (without --resume), or add --redo-changed "
            "(redo_changed=True) to redo the changed runs with the new settings")
    return configs, varied, order


def _inherited_axes(exp, recorded, manifest, axes, rebuild):
    """The axes of a resumed grid: those given, and for every other field the sweep's own values, unless set on
    this Experiment: its axes' values, and each setting it did not vary that its runs were given (a value every
    run derived for itself, such as the dtype of its dataset, is left to each run: an added MNIST run trains
    in float32 beside float64 digits runs). The sweep's axes come first, in its order (its run names')."""
    configs = list(recorded.values())

    def value(c, key):
        return c[key] if key in CONFIG_FIELDS else (c.get("extra") or {}).get(key)

    def given(key):  # whether some run's value is not what it derives when the field is left unset
        default = getattr(RunConfig(), key)
        for c in configs:
            try:
                derived = _plain(config_dict(rebuild(c, **{key: default})))[key]
            except ValueError:
                return True
            if derived != c[key]:
                return True
        return False

    extra = dict.fromkeys(k for c in configs for k in (c.get("extra") or {}))
    varied = [k for k in manifest.get("varied", []) if k in configs[0] or k in extra]
    out = {}
    for key in dict.fromkeys([*varied, *CONFIG_FIELDS, *extra, *axes]):
        if key in axes:
            out[key] = axes[key]
        elif key in exp.explicit or key in exp.base.extra:
            continue  # this Experiment's own setting: a change to the sweep is found (and refused) below
        elif key in varied:
            out[key] = _distinct([value(c, key) for c in configs], key)
        elif key in extra or (key in configs[0] and given(key)):
            values = _distinct([value(c, key) for c in configs], key)
            if len(values) == 1:
                out[key] = values
    return out


def _distinct(values, key):
    """The values in first-seen order, once each (lists as tuples, as a config holds them)."""
    seen = []
    for v in values:
        v = tuple(v) if key == "hidden" and isinstance(v, list) else v
        if v not in seen:
            seen.append(v)
    return seen


def _with_recorded(recorded, axes, configs):
    """For each axis given that leaves out a recorded value: the recorded values, then the new ones, as they are
    typed (``4,4`` for a hidden width list; the grid's ``configs`` give the new values as the runs hold them)."""
    old_configs, out = list(recorded.values()), {}
    for key in axes:
        def typed(v):
            v = tuple(v) if key == "hidden" and isinstance(v, list) else v
            return ",".join(map(str, v)) if key == "hidden" else format_value(key, v)
        old = list(dict.fromkeys(typed(c[key] if key in c else (c.get("extra") or {}).get(key)) for c in old_configs))
        new = list(dict.fromkeys(typed(config_value(c, key)) for c in configs))
        if any(v not in new for v in old):
            out[key] = old + [v for v in new if v not in old]
    return out


def _show(value):
    if isinstance(value, list):
        return "-".join(str(v) for v in value) or "none"
    return str(value)
