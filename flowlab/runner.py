"""One run, on whichever machine it runs: below both the Experiment and the executors.

A sweep hands each run to an executor as a ``RunTask`` (frozen: a step that needs another one makes
it with ``dataclasses.replace``). ``execute_run`` is the payload a worker runs for it and returns the
run's ``RunResult``; whatever comes back to the driver (that record, or an exception when the worker
died or the payload raised) becomes a ``RunOutcome``, and ``settle`` turns that into the run's
record. The datasets a sweep needs are loaded once in the driver (``_share_datasets``) and reach the
workers through the process's cache or memory-mapped .npy files. ``run_detached`` is what a
remote worker runs around ``execute_run`` (into a temporary directory, returning the files), and
``write_run_files`` puts those files into the driver's run directory.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .atomic import write_atomic as _write_atomic
from .config import RunConfig, config_dict, run_name
from .results import METRICS, MLP_ONLY, RunResult, _to_result, read_run
from .settings import MODEL_SETTINGS, model_kwargs, optimizer_kwargs
from .sweepdir import begin_swap, clear_run_dir, run_entries
from .status import INTERRUPTED_MESSAGE, INTERRUPTED_QUEUED_MESSAGE, RunStatus

__all__ = ["RunTask", "RunOutcome", "execute_run", "settle", "run_hparams", "run_detached", "write_run_files",
           "write_run_json"]


@dataclass(frozen=True)
class RunTask:
    """One run of a sweep, as an executor carries it to a worker (pickled for worker processes, by
    cloudpickle for Dask: every field pickles, the builder when ``check_sendable`` says so).

    Args:
        name: the run's name (its folder in the sweep directory).
        run_dir: the folder it writes.
        config: its config as run.json records it (``config.config_dict``: plain values).
        group_name: its HParams row (runs that differ only in seed share one).
        histograms: write weight and gradient histograms.
        hparams_columns: the sweep's HParams config (``dashboards.hparams_columns``), which every run writes.
        builder: the user's ``build(config, shape)``, or None for the MLP.
        data_path: a folder of .npy files holding its dataset, shared by the driver with worker processes.
        data_error: why the driver could not load its dataset (the run fails with it).
    """

    name: str
    run_dir: str
    config: dict
    group_name: str | None = None
    histograms: bool = True
    hparams_columns: list | None = None
    builder: Callable | None = None
    data_path: str | None = None
    data_error: str | None = None


@dataclass(frozen=True)
class RunOutcome:
    """What came back to the driver for a task: the run's record, or an error with its kind when the
    run never returned one (``kind`` is the exception's class: ``WorkerDied`` when its worker process
    died, ``RuntimeError`` when the payload raised outside the run's own guard)."""

    task: RunTask
    record: RunResult | None = None
    kind: str | None = None
    error: str | None = None

    @classmethod
    def of(cls, task, returned):
        """The outcome of ``returned``, what an executor's ``on_done`` hands over: a record or an exception."""
        if isinstance(returned, RunResult):
            return cls(task, record=returned)
        kind = type(returned).__name__ if isinstance(returned, BaseException) else "RuntimeError"
        return cls(task, kind=kind, error=str(returned))


def settle(outcome):
    """The ``RunResult`` an outcome stands for: the run's own record, or a ``failed`` one (also written to
    its run.json, if its folder is there) for a run that never returned."""
    if outcome.record is not None:
        return outcome.record
    task = outcome.task
    record = {"name": task.name, "config": task.config, "status": RunStatus.FAILED.value, "metrics": {},
              "logdir": task.run_dir, "error": outcome.error, "seconds": 0.0}
    if Path(task.run_dir).is_dir() and not Path(task.run_dir).is_symlink():
        try:
            write_run_json(task.run_dir, record)
        except OSError:  # a full disk: results.csv still has the record
            pass
    return _to_result(record)


def interrupted_record(task):
    """The record of a run the sweep stopped: what it wrote itself, else ``interrupted`` while queued."""
    previous = read_run(task.run_dir)
    if previous is not None:
        return previous
    record = {"name": task.name, "config": task.config, "status": RunStatus.INTERRUPTED.value, "metrics": {},
              "logdir": task.run_dir, "error": INTERRUPTED_QUEUED_MESSAGE, "seconds": 0.0}
    try:
        write_run_json(task.run_dir, record)
    except OSError:
        pass
    return _to_result(record)


# --- the datasets of a sweep: loaded once in the driver, shared with the workers ----------------------

class _DataCache(dict):
    """Loaded datasets by key, the oldest dropped once they hold more than ``limit`` bytes (the newest is
    always kept): a sweep over many MNIST seeds must not hold every copy in memory."""

    limit = 512 * 1024**2

    def __setitem__(self, key, data):
        super().pop(key, None)
        super().__setitem__(key, data)
        while len(self) > 1 and sum(map(_nbytes, self.values())) > self.limit:
            del self[next(iter(self))]


def _nbytes(data):
    # Memory-mapped arrays (the workers' shared copies) live in the page cache, not in this process.
    return sum(a.nbytes for a in (data.x_train, data.y_train, data.x_val, data.y_val) if not isinstance(a, np.memmap))


_DATA_CACHE = _DataCache()


def _data_key(config):
    return (config["dataset"], config.get("data_dir"), config["seed"], config["val_fraction"], config["dtype"],
            config.get("noise"), config.get("n_samples"), config.get("standardize", True))


def _load_kwargs(config):
    return dict(seed=config["seed"], val_fraction=config["val_fraction"], data_dir=config.get("data_dir"),
                dtype=np.dtype(config["dtype"]), noise=config.get("noise"), n_samples=config.get("n_samples"),
                standardize=config.get("standardize", True))


def _check_builder(build, config, varied):
    """Builds the first run's model in the driver: a builder that fails there would fail every run."""
    from .data import load_dataset
    from .model import check_builder

    c = config_dict(config)
    key = _data_key(c)
    if key not in _DATA_CACHE:
        try:
            _DATA_CACHE[key] = load_dataset(c["dataset"], **_load_kwargs(c))
        except (OSError, ValueError):
            return  # its runs fail with the message (see _share_datasets); the builder is checked there
    check_builder(build, c, _DATA_CACHE[key], run_name(config, varied))


def _share_datasets(tasks, directory, local):
    """The tasks, each told where its dataset is: every distinct dataset is loaded once in the driver (so a
    missing file fails early); in-process runs use the cache, worker processes memory-map .npy files
    written into ``directory``. A dataset that cannot be loaded fails its runs with the reason."""
    from .cache import entry_folder
    from .data import load_dataset

    saved, failed, shared = {}, {}, []
    for task in tasks:
        c = task.config
        key = _data_key(c)
        if key in failed:
            shared.append(replace(task, data_error=failed[key]))
            continue
        if key not in saved and key not in _DATA_CACHE:
            try:
                _DATA_CACHE[key] = load_dataset(c["dataset"], **_load_kwargs(c))
            except (OSError, ValueError) as exc:  # its runs fail; the other datasets' runs go on
                failed[key] = f"{type(exc).__name__}: {exc}"
                shared.append(replace(task, data_error=failed[key]))
                continue
        if local:
            shared.append(task)
            continue
        if key not in saved and entry_folder(_DATA_CACHE[key]) is not None:
            saved[key] = str(entry_folder(_DATA_CACHE[key]))  # already .npy files: workers map the cache entry
        if key not in saved:
            folder = Path(directory) / str(len(saved))
            folder.mkdir()
            d = _DATA_CACHE[key]
            for part in ("x_train", "y_train", "x_val", "y_val"):
                np.save(folder / f"{part}.npy", getattr(d, part))
            meta = {"name": d.name, "num_features": d.num_features, "num_classes": d.num_classes,
                    "target_mean": d.target_mean, "target_std": d.target_std}
            (folder / "meta.json").write_text(json.dumps(meta))
            saved[key] = str(folder)
            del _DATA_CACHE[key]  # the workers read the files; the driver needs no copy
        shared.append(replace(task, data_path=saved[key]))
    return shared


def _load_data(task):
    from .data import Dataset, load_dataset

    c = task.config
    if task.data_error:
        raise RuntimeError(f"dataset {c['dataset']!r} could not be loaded: {task.data_error}")
    key = _data_key(c)
    if key in _DATA_CACHE:
        return _DATA_CACHE[key]
    path = task.data_path
    if path and Path(path).is_dir():
        meta = json.loads((Path(path) / "meta.json").read_text())
        parts = {p: np.load(Path(path) / f"{p}.npy", mmap_mode="r") for p in ("x_train", "y_train", "x_val", "y_val")}
        data = Dataset(**parts, **meta)
    else:
        data = load_dataset(c["dataset"], **_load_kwargs(c))
    _DATA_CACHE[key] = data
    return data


# --- one run: what a worker executes ------------------------------------------------------------------

def execute_run(task, callbacks=(), fit=None):
    """Trains one task's config into ``task.run_dir`` and returns its ``RunResult``.

    flowlab's files in the run directory are removed first (a redone run leaves no duplicate steps;
    ``clear_run_dir``: a file of the user's there stays), ``run.json`` and
    ``model.npz`` are written atomically, and the record comes back whatever happened: Ctrl-C or
    SIGTERM make it ``interrupted``, an exception ``failed`` with its message. ``callbacks`` are
    added to the training loop's (an executor's stop check). ``fit(trainer, data, epochs=, batch_size=)``
    replaces ``Trainer.fit`` (the stacked mode's, ``flowlab.stacked_runs``). A dict with ``RunTask``'s
    field names is taken as the task it spells.
    """
    from .models import MLP
    from .tensorboard import TensorBoardLogger
    from .train import Trainer

    if isinstance(task, Mapping):
        task = RunTask(**task)
    run_dir = Path(task.run_dir)
    if run_dir.is_symlink():  # never write (or delete) through a link out of the sweep
        raise ValueError(f"{run_dir} is a symbolic link; flowlab does not write through it")
    if run_dir.exists():
        clear_run_dir(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    c = task.config
    start = time.time()
    status, error, details, trainer, model, initial = RunStatus.FAILED, None, None, None, None, None
    try:
        data = _load_data(task)
        if task.builder is not None:
            from .model import build_model

            model = build_model(task.builder, c, data)
        else:
            regression = data.num_classes == 0
            model = MLP([data.num_features, *c["hidden"], 1 if regression else data.num_classes],
                        activation=c["activation"], init=c["init"], seed=c["seed"], dtype=np.dtype(c["dtype"]),
                        loss="mse" if regression else "cross_entropy", **model_kwargs(c))
        initial = _fingerprint(model)
        config = RunConfig(**{**c, "hidden": tuple(c["hidden"])})
        logger = TensorBoardLogger(run_dir, hparams=run_hparams(config, task.builder),
                                   group_name=task.group_name, histograms=task.histograms,
                                   hparams_config=task.hparams_columns)
        trainer = Trainer(model, c["optimizer"], lr=c["learning_rate"], callbacks=[logger, *callbacks],
                          seed=c["seed"], schedule=c.get("schedule"), **optimizer_kwargs(c))
        (fit or Trainer.fit)(trainer, data, epochs=c["epochs"], batch_size=c["batch_size"])
        status, error = trainer.status, trainer.error
    except KeyboardInterrupt:
        status, error = RunStatus.INTERRUPTED, INTERRUPTED_MESSAGE
    except Exception as exc:
        status, error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
        details = traceback.format_exc()
    seconds = time.time() - start
    history = trainer.history if trainer is not None else {}
    metrics = {k: history[k][-1] for k in METRICS if history.get(k)}
    metrics["epochs_run"] = len(history.get("loss", []))
    if history.get("val_accuracy"):
        metrics["best_val_accuracy"] = max(history["val_accuracy"])
    if history.get("val_mae"):
        metrics["best_val_loss"] = min(history["val_loss"])
    try:
        if model is not None and status != RunStatus.FAILED:
            model.save(run_dir / "model.npz")
    except OSError as exc:  # a full disk: the run is failed with the reason, and the sweep hears of it
        status, error = RunStatus.FAILED, f"model.npz could not be written: {type(exc).__name__}: {exc}"
    # The status as a plain string, as run.json reads back (the Trainer's is a RunStatus).
    record = {"name": task.name, "config": c, "status": str(status), "metrics": metrics, "logdir": str(run_dir),
              "error": error, "seconds": round(seconds, 3), "initial_weights": initial}
    try:
        write_run_json(run_dir, dict(record, traceback=details) if details else record)
    except OSError as exc:
        record.update(status=RunStatus.FAILED.value,
                      error=f"run.json could not be written: {type(exc).__name__}: {exc}")
    return _to_result(record)


def run_hparams(config, builder=None):
    """A run's HParams values: its config's, without the settings only the MLP reads when the
    model comes from the user's builder (they mean nothing for it)."""
    hparams = config.hparams()
    if builder is not None:
        for key in MLP_ONLY:
            hparams.pop(key, None)
        for key in MODEL_SETTINGS:  # the MLP's regularization: shown only if set (the builder may read it)
            if not getattr(config, key):
                hparams.pop(key, None)
    return hparams


def _fingerprint(model):
    """A short hash of the initial weights: runs that should start alike can be seen to."""
    import hashlib

    digest = hashlib.sha256()
    for p in model.params:
        digest.update(np.ascontiguousarray(p.value, dtype=np.float64).tobytes())
    return digest.hexdigest()[:16]


# --- a run's files, written where it ran or shipped back to the driver ----------------------------------

def run_detached(fn, task, **kwargs):
    """Runs ``fn(task)`` (``execute_run``) into a temporary directory on this machine, a remote worker.

    Returns ``(record, files)``: the record as it reads in the driver's run directory, and the run's
    files as {path relative to the run directory: bytes}, for ``write_run_files`` in the driver.
    """
    with tempfile.TemporaryDirectory(prefix="flowlab-run-") as tmp:
        here = Path(tmp) / "run"
        record = fn(replace(task, run_dir=str(here)), **kwargs)
        if isinstance(record, RunResult):
            record = replace(record, logdir=task.run_dir)
        if (here / "run.json").is_file():
            saved = json.loads((here / "run.json").read_text())
            write_run_json(here, dict(saved, logdir=task.run_dir))
        files = {p.relative_to(here).as_posix(): p.read_bytes() for p in sorted(here.rglob("*")) if p.is_file()}
    return record, files


def write_run_files(run_dir, files):
    """Replaces the run in ``run_dir`` with ``files`` ({relative path: bytes}); the user's own files there stay.

    The files are written beside it and swapped in by renames, so a reader sees the old run or the
    new one, and a redone run leaves no stale event files. What flowlab did not write in the old
    directory (``clear_run_dir``'s rule) is moved into the new one before the swap, and moved back
    if the swap fails. In a sweep, the swap's two folder names are first noted in the sweep's hidden
    folder (``.flowlab/swap.*.json``), so that a swap a killed process left half done is finished or
    undone by the next resume (``sweepdir.recover_run_writes``), which touches no folder not noted.
    """
    run_dir = Path(run_dir)
    if run_dir.is_symlink():
        raise ValueError(f"{run_dir} is a symbolic link; flowlab does not write through it")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        token = os.urandom(6).hex()
        staging, old = (run_dir.with_name(f".{run_dir.name}.{token}.{end}") for end in ("new", "old"))
        if not os.path.lexists(staging) and not os.path.lexists(old):
            break
    note = begin_swap(run_dir, staging, old)
    os.mkdir(staging)  # FileExistsError rather than write into a folder that appeared since
    moved = []  # the user's entries, moved from run_dir into staging
    try:
        for rel, payload in files.items():
            parts = rel.split("/")
            if rel.startswith("/") or ".." in parts:
                raise ValueError(f"write_run_files: {rel!r} is not a path inside the run directory")
            path = staging.joinpath(*parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(payload)
        if run_dir.exists():
            mine = [rel for rel, is_ours in run_entries(run_dir) if not is_ours]
            clash = next((rel for rel in mine if os.path.lexists(staging.joinpath(*rel))), None)
            if clash is not None:
                raise ValueError(f"{run_dir.joinpath(*clash)} is in the way of the run's own file of that "
                                 "name, and flowlab did not write it: move it, then resume")
            for rel in mine:
                staging.joinpath(*rel[:-1]).mkdir(parents=True, exist_ok=True)
                os.replace(run_dir.joinpath(*rel), staging.joinpath(*rel))
                moved.append(rel)
            os.replace(run_dir, old)
        try:
            os.replace(staging, run_dir)
        except BaseException:
            if old.exists():
                os.replace(old, run_dir)
            raise
    except BaseException:
        # The user's entries go back where they were before the staging folder goes; should that
        # fail, the folder stays, with them in it, and so does the note that leads a resume to it.
        for rel in moved:
            os.replace(staging.joinpath(*rel), run_dir.joinpath(*rel))
        shutil.rmtree(staging, ignore_errors=True)
        if note is not None and not staging.exists():
            note.unlink(missing_ok=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    if note is not None:
        note.unlink(missing_ok=True)
    return run_dir


def write_run_json(run_dir, record):
    _write_atomic(Path(run_dir) / "run.json", (json.dumps(record, indent=2, default=_json_default) + "\n").encode())


def _json_default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {value!r}")
