"""The files of one run, on whichever machine it ran: below both the Experiment and the executors.

``run_detached`` is what a remote worker runs around ``execute_run`` (into a temporary directory,
returning the files), and ``write_run_files`` puts those files into the driver's run directory.
The executors ship runs with these two; the Experiment writes ``run.json`` with ``write_run_json``.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .atomic import UMASK as _UMASK
from .atomic import write_atomic as _write_atomic

__all__ = ["run_detached", "write_run_files", "write_run_json"]


def run_detached(fn, task, **kwargs):
    """Runs ``fn(task)`` (``execute_run``) into a temporary directory on this machine, a remote worker.

    Returns ``(record, files)``: the record as it reads in the driver's run directory, and the run's
    files as {path relative to the run directory: bytes}, for ``write_run_files`` in the driver.
    """
    with tempfile.TemporaryDirectory(prefix="flowlab-run-") as tmp:
        here = Path(tmp) / "run"
        record = fn(dict(task, run_dir=str(here)), **kwargs)
        if isinstance(record, dict) and "logdir" in record:
            record["logdir"] = task["run_dir"]
        if (here / "run.json").is_file():
            saved = json.loads((here / "run.json").read_text())
            write_run_json(here, dict(saved, logdir=task["run_dir"]))
        files = {p.relative_to(here).as_posix(): p.read_bytes() for p in sorted(here.rglob("*")) if p.is_file()}
    return record, files


def write_run_files(run_dir, files):
    """Replaces ``run_dir`` with a directory holding ``files`` ({relative path: bytes}).

    The files are written beside it and swapped in by renames, so a reader sees the old run or the
    new one, and a redone run leaves no stale event files.
    """
    run_dir = Path(run_dir)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=run_dir.parent, prefix=f".{run_dir.name}.", suffix=".new"))
    try:
        os.chmod(staging, 0o777 & ~_UMASK)  # mkdtemp makes 0700
        for rel, payload in files.items():
            parts = rel.split("/")
            if rel.startswith("/") or ".." in parts:
                raise ValueError(f"write_run_files: {rel!r} is not a path inside the run directory")
            path = staging.joinpath(*parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(payload)
        old = run_dir.with_name(f".{run_dir.name}.{os.urandom(4).hex()}.old")
        if run_dir.exists():
            os.replace(run_dir, old)
        try:
            os.replace(staging, run_dir)
        except BaseException:
            if old.exists():
                os.replace(old, run_dir)
            raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return run_dir


def write_run_json(run_dir, record):
    _write_atomic(Path(run_dir) / "run.json", (json.dumps(record, indent=2, default=_json_default) + "\n").encode())


def _json_default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {value!r}")
