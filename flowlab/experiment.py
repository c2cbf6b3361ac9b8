# Size: over 450 lines (508): one subject, the sweep's driver (plan, run, publishing results and the
# full-disk and Ctrl-C policies); the run config is in config.py, the records in results.py, the
# single-run payload in runner.py, what a resume runs in resume.py.
"""Experiment: plans a grid of run configs (checked once, nothing written), runs it, resumes it, and
publishes the results of the sweep as its runs finish."""

from __future__ import annotations

import difflib
import itertools
import multiprocessing
import os
import re
import shlex
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ._checks import choice, is_whole
from .config import (CONFIG_FIELDS, SHORT, RunConfig, config_dict, config_value, format_value,  # noqa: F401
                     parse_hidden, run_name)
from .data import DATASETS
from .executors import ClusterError, InProcessExecutor, ProcessExecutor, make_executor
from .results import (CLASSIFICATION_METRICS, METRICS, MLP_ONLY, DiskFullError, Results, RunResult,  # noqa: F401
                      _DiskFull, _DiskReserve, _is_disk_full, _read_record, _to_result, read_run)
from .runner import (_DATA_CACHE, RunOutcome, RunTask, _check_builder, _data_key, _DataCache,  # noqa: F401
                     _json_default, _load_data, _nbytes, _share_datasets, execute_run, interrupted_record,
                     run_detached, run_hparams, settle, write_run_files, write_run_json)
from .resume import _as_trained, _check_recorded_runs, _plain, _resume_plan
from .sendable import check_sendable
from .status import FINISHED, RunStatus

__all__ = ["Experiment", "SweepPlan", "RunConfig", "RunResult", "Results", "SweepInterrupted", "DiskFullError", "run_name",
           "execute_run",
           "run_detached", "write_run_files"]

# FINISHED (from flowlab.status, importable here as before): the statuses a resumed sweep keeps, the
# run finished and its result stands (a diverged run diverges again).

class SweepInterrupted(KeyboardInterrupt):
    """Raised by ``Experiment.sweep`` on Ctrl-C or SIGTERM after saving what finished; ``.results`` holds it."""

    def __init__(self, results):
        super().__init__("sweep interrupted")
        self.results = results


class Experiment:
    """Trains the same network under a grid of configs and logs every run for TensorBoard.

    Args:
        name: names the sweep directory ``<logdir>/<name>-<YYYYmmdd-HHMMSS>``.
        logdir: the TensorBoard log directory.
        workers: local worker processes (default: one per core); 1 runs in this process.
        executor: "local" (default), a Dask scheduler address "tcp://host:port", a
            ``distributed.Client``, or an object with flowlab's executor interface.
        histograms: write weight and gradient histograms.
        progress: show a progress bar over runs.
        model: None (an ``MLP`` from ``hidden``, ``activation`` and ``init``), or a function
            ``build(config, shape)`` returning a ``flowlab.Model``: ``config`` is the run's config
            as a dict (user-defined axes included), ``shape`` a ``flowlab.model.DataShape``
            (``num_features``, ``num_outputs``, ``task``). Runs in worker processes need it
            defined at the top level of a script or module; on Dask it is sent by value.
        **config: the base config (fields of ``RunConfig``), e.g. ``dataset="digits"``, ``hidden=[64]``;
            with ``model=``, other names are user-defined settings the builder reads (and
            ``sweep`` takes them as axes).
        stack: train runs that differ only in learning rate or optimizer (and its settings) as one stacked
            computation (``flowlab.stacked``; each run's numbers and files as if alone): "auto"
            (where it was measured to pay: small networks and batches), True, or False.

    Example:
        >>> exp = Experiment("learning-rates", dataset="iris", hidden=[8], epochs=3, workers=1)
        >>> results = exp.sweep(learning_rate=[0.01, 0.1], optimizer=["sgd", "adam"])  # doctest: +SKIP
        >>> print(results.table())                                                     # doctest: +SKIP
    """

    def __init__(self, name="experiment", *, logdir="tensorboard-logs", workers=None, executor=None,
                 histograms=True, progress=False, model=None, stack="auto", **config):
        if model is not None and not callable(model):
            raise ValueError(f"Experiment: model must be a function build(config, shape) that returns a model, "
                             f"got model={model!r}")
        self.model = model
        extra = {k: config.pop(k) for k in list(config) if k not in CONFIG_FIELDS and k != "extra"} if model else {}
        unknown = [k for k in config if k not in CONFIG_FIELDS]
        if unknown:
            raise ValueError(_unknown_field("config field", unknown[0]))
        if not re.fullmatch(r"[A-Za-z0-9._+=-]+", str(name)):
            raise ValueError(f"Experiment: name must be ASCII letters, digits and . _ + = -, got name={name!r}")
        if len(str(name)) > 100:
            raise ValueError(f"Experiment: name is {len(str(name))} characters long; keep it to 100 (it names a folder)")
        if workers is not None and (not is_whole(workers) or workers < 1):
            raise ValueError(f"Experiment: workers must be a whole number >= 1, got workers={workers!r}")
        if "hidden" in config:
            config["hidden"] = parse_hidden(config["hidden"])
        self.name, self.logdir, self.workers, self.executor = str(name), Path(logdir), workers, executor
        self.histograms, self.progress = histograms, progress
        if not any(stack is choice for choice in (True, False)) and stack != "auto":
            raise ValueError(f"Experiment: stack must be 'auto', True or False, got stack={stack!r}")
        self.stack = stack
        self.base = RunConfig(**config, extra=_check_extra(extra, "Experiment setting"))
        self.explicit = tuple(config)  # the fields given here: a resume compares them with the sweep's

    def grid(self, **axes):
        """The validated configs of the grid (the product of the axes) and the names of the varied fields."""
        unknown = [k for k in axes if k not in CONFIG_FIELDS and not self.model]
        if unknown:
            raise ValueError(_unknown_field("sweep axis", unknown[0]))
        _check_extra({k: axes[k] for k in axes if k not in CONFIG_FIELDS}, "sweep axis")
        values = {}
        for key, vals in axes.items():
            if isinstance(vals, (str, bytes)) or not hasattr(vals, "__iter__"):
                vals = [vals]
            vals = list(vals)
            if key == "hidden" and vals and all(isinstance(v, (int, np.integer)) for v in vals) \
                    and not isinstance(axes[key], tuple):
                vals = [(v,) for v in vals]  # hidden=[64, 128]: two one-layer networks
            if not vals:
                raise ValueError(f"sweep axis {key} has no values; give at least one")
            values[key] = vals
        varied = [k for k, v in values.items() if len(v) > 1]
        configs = []
        for combo in itertools.product(*values.values()):
            chosen = dict(zip(values, combo))
            extra = {**self.base.extra, **{k: v for k, v in chosen.items() if k not in CONFIG_FIELDS}}
            chosen = {k: v for k, v in chosen.items() if k in CONFIG_FIELDS}
            config = replace(self.base, **chosen, extra=extra).validated()
            configs.append(config)
        names = [run_name(c, varied) for c in configs]
        longest = max(names, key=len)
        if len(longest) > 200:
            raise ValueError(f"sweep: run names would be {len(longest)} characters long ({longest[:60]}...), too long "
                             "for a folder name; sweep fewer axes at once or use shorter values")
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"sweep: several runs would share the name {sorted(duplicates)[0]!r}; "
                             "remove repeated values from the axes")
        if "activation" in varied and self.model is None and any(not c.hidden for c in configs):
            warnings.warn("sweep: a network with no hidden layer has no activation to apply: the activation "
                          "axis only picks its initializer, and runs alike in that train the same network",
                          stacklevel=2)
        return configs, varied

    def sweep(self, resume=None, redo_changed=False, **axes):
        """Runs every config of the grid and returns the ``Results``: ``run(plan(...))``.

        Args:
            resume: a sweep directory flowlab made: runs that finished there are kept, the others are
                redone from a clean state. With no axes, the sweep's recorded grid is finished; axes
                that change a recorded run's settings are refused unless ``redo_changed``.
            redo_changed: on resume, redo the runs whose settings differ from the recorded ones.
            **axes: lists of values per config field, e.g. ``learning_rate=[0.01, 0.1]``.

        Returns:
            ``Results``, one ``RunResult`` per run, in grid order. ``results.sweep_dir`` is the
            sweep's directory, which also holds ``results.csv``.

        Raises:
            ValueError: a config value is invalid (nothing is written then); ``resume`` is not a
                flowlab sweep (``NotASweep``) or changes its settings.
            SweepLocked: another process runs this sweep directory now.
            ClusterError: the Dask cluster cannot be reached or cannot run flowlab (nothing is written then).
            DiskFullError: the disk filled up; finished runs are kept in results.csv.
            SweepInterrupted: Ctrl-C or SIGTERM; finished runs are kept, running ones are marked
                ``interrupted``, and ``.results`` holds the records.
        """
        return self.run(self.plan(resume=resume, redo_changed=redo_changed, **axes))

    def plan(self, resume=None, redo_changed=False, **axes):
        """Checks a sweep and returns its ``SweepPlan`` (a ``RunTask`` per run); writes nothing and
        connects to nothing. Takes ``sweep``'s arguments and raises its ValueErrors."""
        if getattr(multiprocessing.current_process(), "_inheriting", False):
            raise RuntimeError(
                "Experiment.sweep was called while a worker process was importing your script: put the "
                "sweep under `if __name__ == \"__main__\":` (workers import the script that started them)")
        from . import sweepdir
        from .limits import check_resources

        if resume is not None and not os.fspath(resume):
            raise ValueError("resume must name a sweep directory (<logdir>/<name>-<time>), got ''")
        if resume:
            sweep_dir = Path(resume).resolve() if Path(resume).is_symlink() else Path(resume)
            manifest = sweepdir.read_manifest(sweep_dir)
            try:
                configs, varied, order = _resume_plan(self, sweep_dir, manifest, axes, redo_changed)
            except (TypeError, AttributeError, KeyError) as exc:  # a field of the wrong kind in it
                raise sweepdir.NotASweep(f"not a flowlab sweep: {sweep_dir / sweepdir.HIDDEN / sweepdir.MANIFEST} "
                                         f"is damaged ({type(exc).__name__}: {exc}); start a new sweep") from None
            for name in order:
                sweepdir.check_run_dir(sweep_dir, name)
            sweepdir.check_results_file(sweep_dir)
            redo = _check_recorded_runs(sweep_dir, manifest, zip(order, configs),
                                        redo_changed or bool(manifest.get("redo")))
        else:
            configs, varied = self.grid(**axes)
            order = [run_name(c, varied) for c in configs]
            check_writable(self.logdir)
            sweep_dir = sweepdir.sweep_path(self.logdir, self.name)
        if self.model is None:  # a user's builder makes its own network: its size is not known here
            check_resources([asdict(c) for c in configs], sweep_dir if resume else self.logdir, self.histograms,
                            workers=min(len(configs), self.workers or os.cpu_count() or 1))
        executor = make_executor(self.executor, self.workers, connect=False)
        if self.model is not None:
            check_sendable(self.model, executor)
        return SweepPlan(tuple(configs), tuple(varied), tuple(order), sweep_dir, bool(resume), executor,
                         self._tasks(configs, varied, order, sweep_dir), tuple(redo) if resume else ())

    def _tasks(self, configs, varied, order, sweep_dir):
        columns = _hparams_columns(configs, self.model)
        seedless = [k for k in varied if k != "seed"]
        # The HParams row's name: the run first (the table cuts long names short), the sweep after
        # it keeps rows of two sweeps in one logdir apart; seeds share a row.
        return tuple(RunTask(name=name, run_dir=str(Path(sweep_dir) / name), config=config_dict(config),
                             group_name=f"{run_name(config, seedless)} [{Path(sweep_dir).name}]",
                             histograms=self.histograms, hparams_columns=columns, builder=self.model)
                     for name, config in zip(order, configs))

    def run(self, plan):
        """Runs a ``plan`` (from ``plan()``) and returns the ``Results``, as ``sweep`` does.

        The datasets are downloaded if needed, a model builder is tried on the first run's data, the
        executor connects (a Dask cluster), and only then is the sweep directory made (or, on
        resume, locked): a problem found before that leaves nothing behind.
        """
        from . import sweepdir

        lock = None
        sweep_dir = plan.sweep_dir
        try:
            if plan.resume:
                sweep_dir, recorded, lock = sweepdir.open_sweep(plan.sweep_dir)
                stuck = sweepdir.recover_run_writes(sweep_dir)
                if stuck:
                    warnings.warn(f"resume: an interrupted write moved {len(stuck)} of your entries aside, and "
                                  f"their places are taken now; they stay where they are: {'; '.join(stuck[:5])}"
                                  f"{'; ...' if len(stuck) > 5 else ''}", stacklevel=3)
            _fetch_files(plan.configs, self.progress)
            if self.model is not None:
                _check_builder(self.model, plan.configs[0], plan.varied)
            executor = plan.executor
            if hasattr(executor, "start"):
                executor.start()  # a cluster that cannot run flowlab stops the sweep here
            manifest = {"name": self.name, "varied": list(plan.varied), "histograms": self.histograms,
                        "runs": [{"name": t.name, "config": _plain(t.config)} for t in plan.tasks]}
            tasks = plan.tasks
            if plan.resume:
                # An interrupted --redo-changed leaves runs trained the old way: the record says they go.
                sweepdir.write_manifest(sweep_dir, dict(manifest, name=sweep_dir.name,
                                                        **({"redo": list(plan.redo)} if plan.redo else {})))
            else:
                sweep_dir, lock = sweepdir.create_sweep_dir(self.logdir, self.name, manifest, path=plan.sweep_dir)
                if sweep_dir != plan.sweep_dir:  # another sweep took the planned name meanwhile
                    tasks = self._tasks(plan.configs, plan.varied, plan.names, sweep_dir)
            results = self._run_sweep(executor, sweep_dir, plan.configs, tasks, resume=plan.resume)
            if plan.redo and not results.remaining:  # every run redone: nothing is left to redo
                sweepdir.write_manifest(sweep_dir, dict(manifest, name=sweep_dir.name))
            return results
        except BaseException:
            if not plan.resume and lock is not None:
                _remove_if_unused(sweep_dir)
            raise
        finally:
            if lock is not None:
                lock.release()

    def _run_sweep(self, executor, sweep_dir, configs, planned, resume):
        from . import sweepdir

        records, tasks, damaged = {}, [], []
        order = [t.name for t in planned]
        for task in planned:
            name = task.name
            previous = _read_record(sweep_dir / name)
            if previous is not None and previous.get("status") in FINISHED \
                    and _as_trained(previous.get("config") or {}) == _plain(task.config):
                why = sweepdir.damage(sweep_dir / name, previous)
                if why is None:
                    records[name] = _to_result(previous)
                    continue
                damaged.append(f"{name} ({why})")
            elif previous is None and (sweep_dir / name / "run.json").exists():
                damaged.append(f"{name} (run.json is unreadable or has the wrong shape)")
            tasks.append(task)
        if damaged:
            warnings.warn(f"resume: redoing {len(damaged)} damaged run(s): {'; '.join(damaged[:5])}"
                          f"{'; ...' if len(damaged) > 5 else ''}", stacklevel=4)
        if resume:
            strays = sorted(p.name for p in sweep_dir.iterdir()
                            if not p.is_symlink() and (p / "run.json").is_file() and p.name not in order)
            if strays:
                warnings.warn(f"resume: {sweep_dir} holds runs outside this grid ({', '.join(strays[:5])}"
                              f"{', ...' if len(strays) > 5 else ''}); they stay on disk but are not in results.csv",
                              stacklevel=4)
        results = Results()
        results.sweep_dir = sweep_dir
        reserve = _DiskReserve(sweep_dir, len(order))
        tasks_of = {DATASETS[c.dataset].task for c in configs if c.dataset in DATASETS}
        results.task = tasks_of.pop() if len(tasks_of) == 1 else None
        results.builder = self.model is not None

        wanted = {t.name: _plain(t.config) for t in planned}

        def publish():
            results[:] = [records[n] for n in order if n in records]
            # A finished run still to be redone with other settings (an interrupted --redo-changed) remains.
            results.remaining = sum(n not in records or records[n].status not in FINISHED
                                    or _as_trained(_plain(records[n].config or {})) != wanted[n] for n in order)
            reserve.write(sweep_dir / "results.csv", results.to_csv())

        bar = _RunProgress(len(configs), len(records), self.name) if self.progress else None
        if not tasks:
            publish()
            return results
        data_dir = None
        full = []  # the disk-full error that stopped the sweep
        try:
            # Remote (Dask) workers cannot read the driver's files: they load the datasets themselves.
            local = getattr(executor, "local", False) or getattr(executor, "remote", False)
            if not local:
                data_dir = sweepdir.scratch_dir(sweep_dir)
            tasks = _share_datasets(tasks, data_dir, local=local)

            def on_done(task, outcome):
                record = settle(RunOutcome.of(task, outcome))
                records[record.name] = record
                if not full and record.status == RunStatus.FAILED and _is_disk_full(record.error):
                    full.append(record.error)
                try:
                    publish()
                except OSError as exc:
                    if not full:
                        full.append(f"{type(exc).__name__}: {exc}")
                if full:
                    raise _DiskFull(full[0])
                if bar:
                    bar.update(record, results.best())

            try:
                from .stacked_runs import run_jobs

                local = type(executor) in (InProcessExecutor, ProcessExecutor)  # Dask: one task at a time
                run_jobs(executor, tasks, on_done, self.stack if local else False, execute_run, _load_data)
            except ClusterError as exc:  # the cluster went away: what finished is saved
                raise ClusterError(f"{exc}; {len(order) - results.remaining} finished run(s) are kept in "
                                   f"{sweep_dir / 'results.csv'}: `--resume {shlex.quote(str(sweep_dir))}` runs "
                                   "the rest once the cluster is back") from None
            except _DiskFull as exc:
                reason = f"not written: the disk is full ({exc.reason})"
                for task in tasks:
                    old = records.get(task.name)
                    if old is None or old.status == RunStatus.INTERRUPTED:
                        failed = RunStatus.FAILED.value
                        records[task.name] = replace(old, status=failed, error=reason) if old else \
                            _to_result({"name": task.name, "config": task.config, "status": failed,
                                        "logdir": task.run_dir, "error": reason})
                try:
                    publish()
                except OSError:
                    pass
                raise DiskFullError(results, exc.reason) from None
            except KeyboardInterrupt:
                for task in tasks:
                    if task.name not in records and Path(task.run_dir).exists():
                        records[task.name] = interrupted_record(task)
                publish()
                raise SweepInterrupted(results) from None
        finally:
            if data_dir is not None:
                shutil.rmtree(data_dir, ignore_errors=True)
            reserve.release()
            if bar:
                bar.close()
        try:
            publish()
        except OSError as exc:
            raise DiskFullError(results, f"{type(exc).__name__}: {exc}") from None
        return results


@dataclass(frozen=True)
class SweepPlan:
    """A checked sweep, ready for ``Experiment.run``: what ``Experiment.plan`` returns.

    Attributes:
        configs: the validated ``RunConfig`` of each run, in grid order.
        varied: the fields (and user-defined axes) that differ between runs.
        names: each run's name (its folder).
        sweep_dir: the directory the sweep writes: the one resumed, or the new one ``run`` makes.
        resume: whether it resumes ``sweep_dir`` (its finished runs are kept).
        executor: where the runs execute (not connected yet).
        tasks: a ``RunTask`` per run of the grid (on resume, ``run`` skips those that finished).
        redo: on resume, the finished runs to redo because their settings changed (``redo_changed``,
            given now or by the resume this one finishes); recorded in the sweep until they are redone.
    """

    configs: tuple
    varied: tuple
    names: tuple
    sweep_dir: Path
    resume: bool
    executor: object
    tasks: tuple
    redo: tuple = ()


def _remove_if_unused(sweep_dir):
    """Removes a sweep directory this process just made if no run wrote anything into it yet."""
    try:
        if sweep_dir is not None and {p.name for p in sweep_dir.iterdir()} <= {".flowlab"}:
            shutil.rmtree(sweep_dir)
    except (OSError, NameError, UnboundLocalError):
        pass


#: Names a user-defined axis cannot take: results.csv columns and the metrics of a run's record.
RESERVED = ("name", "status", "error", "seconds", "epochs_run", "best_val_accuracy", "best_val_loss",
            "extra", *METRICS)


def _check_extra(extra, what="user-defined setting"):
    """User-defined settings: names that can head a CSV column and a run name part, and mean no config field.

    A short run-name alias (``lr``, ``batch``) or a near-miss of a field (``learning_rat``) would be
    taken as a new setting that the run ignores, so it is refused with the field's real name.
    """
    aliases = {short: key for key, short in SHORT.items() if short != key}
    for key in extra:
        shown = f"{what} {key}={extra[key]!r}" if extra[key] is not None else f"{what} {key!r}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(key)):
            raise ValueError(f"{shown} needs a plain name (letters, digits, _)")
        if key in RESERVED:
            raise ValueError(f"{shown} is named like a column of results.csv, which holds the run's own "
                             f"{key!r}; give the setting another name, e.g. my_{key}")
        if key in aliases:
            raise ValueError(f"{shown}: {key!r} is the run-name short form of {aliases[key]!r}; "
                             f"write {aliases[key]}=... (a setting named {key!r} would be ignored by the run)")
        close = difflib.get_close_matches(str(key), CONFIG_FIELDS, n=1, cutoff=0.8)
        if close:
            raise ValueError(f"{shown} is not a config field (did you mean {close[0]!r}?); a new setting that "
                             "close to a field's name is refused, as it would be ignored by the run")
    return dict(extra)


def _hparams_columns(configs, builder=None):
    from .dashboards import hparams_columns

    return hparams_columns([run_hparams(c, builder) for c in configs])


def _unknown_field(what, name):
    long = {short: key for key, short in SHORT.items()}.get(name)
    if long and long != name:
        return f"unknown {what} {name!r}; the field is called {long!r}"
    return choice(what, name, CONFIG_FIELDS)




def check_writable(logdir):
    """Raises ValueError unless ``logdir`` exists as a writable directory or can be created; writes nothing."""
    path = Path(logdir).absolute()
    too_long = next((part for part in path.parts if len(os.fsencode(part)) > 255), None)
    if too_long is not None:
        raise ValueError(f"logdir {logdir} cannot be created: its part {too_long[:40]}... is "
                         f"{len(os.fsencode(too_long))} bytes long, and a folder name holds at most 255; "
                         "pass --logdir with a shorter path")
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"logdir {logdir} cannot be created: {probe} is a file, not a directory; "
                         "pass --logdir with a directory path")
    try:
        tempfile.TemporaryDirectory(dir=probe).cleanup()
    except OSError as exc:
        raise ValueError(f"logdir {logdir} is not writable ({exc.strerror}: {probe}); "
                         "pass --logdir with a directory you can write to") from None


class _RunProgress:
    def __init__(self, total, done, name):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, initial=done, desc=name, unit="run")

    def update(self, record, best):
        if best is not None:
            metric = "val_accuracy" if "val_accuracy" in best.metrics else "val_loss"
            self.bar.set_postfix_str(f"best {best.metrics.get(metric, float('nan')):.4f} {best.name}", refresh=False)
        self.bar.update(1)

    def close(self):
        self.bar.close()


def _fetch_files(configs, progress):
    """Downloads the MNIST-style sets the grid needs (if not already there) before anything is written."""
    from .download import locate

    for dataset, data_dir in dict.fromkeys((c.dataset, c.data_dir) for c in configs):
        if not DATASETS[dataset].builtin:
            try:
                locate(dataset, data_dir, progress=progress)
            except FileNotFoundError:
                pass  # offline and missing: validation said so already, or was told not to; the load reports it
