"""A sweep's records: one ``RunResult`` per run, ``Results`` with the leaderboard (ranking, table, CSV),
reading a run's record back from its ``run.json``, and writing results.csv when the disk fills up."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import write_atomic as _write_atomic
from .config import CONFIG_FIELDS
from .status import FINISHED, SUCCEEDED, RunStatus

__all__ = ["RunResult", "Results", "METRICS", "DiskFullError", "read_run"]


@dataclass(frozen=True)
class RunResult:
    """One run's record, as its run.json holds it: config and metrics as plain values (JSON's)."""

    name: str
    config: dict
    status: str
    metrics: dict = field(default_factory=dict)
    logdir: str = ""
    error: str | None = None
    seconds: float = 0.0
    initial_weights: str | None = None

    def __getitem__(self, key):
        return self.metrics[key]


METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "mae", "val_mae")
#: Settings only the MLP reads: left out of a builder's HParams and results.csv.
MLP_ONLY = ("hidden", "activation", "init")
#: The metric columns of a classification sweep (mae is a regression's, in place of accuracy).
CLASSIFICATION_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


class Results(list):
    """The runs of a sweep (``RunResult`` records) with a leaderboard."""

    sweep_dir = None
    remaining = 0  #: runs of the sweep's grid that have not finished (what a resume would run)
    #: "classification" or "regression" when every run's dataset is one (None: unknown or mixed).
    task = None
    #: The runs' models come from a builder (``Experiment(model=build)``): no MLP-only columns.
    builder = False

    def default_metric(self):
        """What the leaderboard ranks by: validation accuracy, or validation loss for a regression (no run
        has accuracy; or, when no run has metrics, the datasets are regressions)."""
        if any("val_accuracy" in r.metrics for r in self):
            return "val_accuracy"
        if any("val_mae" in r.metrics for r in self) or self.task == "regression":
            return "val_loss"
        return "val_accuracy"

    def best(self, metric=None):
        """The completed run ranked first by ``metric`` (as in ``table()``), or None."""
        metric = metric or self.default_metric()
        top = self.ranked(metric)[:1]
        if top and top[0].status in SUCCEEDED and _finite(top[0].metrics.get(metric)):
            return top[0]
        return None

    def ranked(self, metric=None):
        metric = metric or self.default_metric()
        lower = "loss" in metric or "mae" in metric

        tiebreak = "val_loss" if metric != "val_loss" else "loss"

        def key(r):
            value, second = r.metrics.get(metric), r.metrics.get(tiebreak)
            ok = r.status in FINISHED and _finite(value)
            group = (0 if r.status in SUCCEEDED else 1) if ok else 2
            return (group, (value if lower else -value) if ok else 0.0,
                    second if _finite(second) else math.inf, r.name)

        return sorted(self, key=key)

    def rows(self):
        """One flat dict per run: name, status, the config, the final metrics, seconds, error."""
        out = []
        extra = list(dict.fromkeys(k for r in self for k in (r.config.get("extra") or {})))
        skipped = MLP_ONLY if self.builder else ()
        metrics = self._metric_columns()
        for r in self:
            row = {"name": r.name, "status": r.status}
            row.update({k: _cell(r.config.get(k)) for k in CONFIG_FIELDS if k not in skipped})
            row.update({k: _cell((r.config.get("extra") or {}).get(k)) for k in extra})
            row.update({k: r.metrics.get(k) for k in metrics})
            row["epochs_run"] = r.metrics.get("epochs_run")
            row["seconds"] = round(r.seconds, 3)
            row["error"] = r.error or ""
            out.append(row)
        return out

    def _metric_columns(self):
        """Accuracy columns unless every run is a regression, mae columns when any run is."""
        has = lambda name: any(name in r.metrics or f"val_{name}" in r.metrics for r in self)
        mae, accuracy = has("mae"), has("accuracy")
        if not mae and not accuracy and self.task == "regression":  # no run got as far as a metric
            mae = True
        return [k for k in METRICS if ("mae" in k and mae) or ("accuracy" in k and (accuracy or not mae))
                or k in ("loss", "val_loss")]

    def table(self, metric=None, top=None):
        """The leaderboard as text, best first by ``metric`` (None: ``default_metric()``)."""
        ranked = self.ranked(metric)[:top] if top else self.ranked(metric)
        if self.default_metric() == "val_loss":  # regression: loss and mean absolute error, no accuracy
            headers = ["#", "run", "status", "val_loss", "val_mae", "train_loss", "train_mae", "sec"]
            keys = ("val_loss", "val_mae", "loss", "mae")
        else:
            headers = ["#", "run", "status", "val_acc", "val_loss", "train_acc", "train_loss", "sec"]
            keys = ("val_accuracy", "val_loss", "accuracy", "loss")
        lines = []
        for i, r in enumerate(ranked, start=1):
            m = r.metrics
            lines.append([str(i), r.name, r.status, *(_fmt(m.get(k)) for k in keys), f"{r.seconds:.1f}"])
        widths = [max(len(h), *(len(row[i]) for row in lines)) if lines else len(h) for i, h in enumerate(headers)]
        fmt = lambda row: "  ".join(c.ljust(w) if i in (1, 2) else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
        return "\n".join([fmt(headers), fmt(["-" * w for w in widths])] + [fmt(row) for row in lines])

    def to_csv(self, path=None):
        """Writes the rows as CSV (atomically) to ``path``, or returns the CSV text when path is None."""
        rows = self.rows()
        buffer = io.StringIO()
        columns = list(rows[0]) if rows else ["name", "status", *CONFIG_FIELDS, *CLASSIFICATION_METRICS,
                                              "epochs_run", "seconds", "error"]
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        if path is None:
            return buffer.getvalue()
        _write_atomic(Path(path), buffer.getvalue().encode())
        return Path(path)


def _finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


def _fmt(value):
    if not _finite(value):
        return "-"
    return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.3g}"


def _cell(value):
    if isinstance(value, (list, tuple)):
        return "-".join(str(v) for v in value)
    return "" if value is None else value


def read_run(run_dir):
    """The ``RunResult`` stored in ``run_dir/run.json``, or None if there is none (or it is unreadable)."""
    data = _read_record(run_dir)
    return _to_result(data) if data is not None else None


def _read_record(run_dir):
    """``run_dir/run.json`` as a dict, or None if it is missing, unreadable or not a run record."""
    try:
        data = json.loads((Path(run_dir) / "run.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) \
            or not isinstance(data.get("config", {}), dict) or not isinstance(data.get("metrics", {}), dict):
        return None
    return data


def _to_result(data):
    return RunResult(name=data["name"], config=data.get("config", {}),
                     status=data.get("status", RunStatus.FAILED.value), metrics=data.get("metrics", {}),
                     logdir=data.get("logdir", ""), error=data.get("error"),
                     seconds=float(data.get("seconds", 0.0)), initial_weights=data.get("initial_weights"))


class DiskFullError(OSError):
    """The disk filled up during a sweep: runs that could not be written are ``failed`` with the reason,
    and ``results.csv`` holds every finished run. ``.results`` holds the records."""

    def __init__(self, results, reason):
        super().__init__(f"the disk is full ({reason})")
        self.results, self.reason = results, reason


class _DiskFull(KeyboardInterrupt):
    """Stops the executor (as Ctrl-C would: running runs stop, none start) when the disk is full."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _is_disk_full(error):
    return bool(error) and ("No space left on device" in error or "Disk quota exceeded" in error)


class _DiskReserve:
    """A few KB kept free beside the sweep so that results.csv can still be written when the disk fills:
    a write that hits ENOSPC gives the reserve back and tries again."""

    def __init__(self, sweep_dir, runs):
        self.path = Path(sweep_dir) / ".flowlab" / "reserve"
        try:
            with open(self.path, "wb") as f:
                os.posix_fallocate(f.fileno(), 0, 64 * 1024 + 1024 * runs)
        except (OSError, AttributeError):
            self.release()

    def write(self, path, text):
        try:
            _write_atomic(path, text.encode())
        except OSError as exc:
            if exc.errno not in (28, 122) or not self.path.exists():  # ENOSPC, EDQUOT
                raise
            self.release()
            _write_atomic(path, text.encode())
            raise  # written; the caller still learns the disk is full

    def release(self):
        try:
            self.path.unlink()
        except OSError:
            pass
