"""flowlab.results: the leaderboard ranks the runs as the numbers say, and run.json reads back as a RunResult."""

import csv
import io
import json

from flowlab.results import Results, RunResult, read_run


def _run(name, status="completed", **metrics):
    return RunResult(name=name, config={"learning_rate": 0.1}, status=status, metrics=metrics)


def test_best_is_the_highest_validation_accuracy_among_the_runs_that_succeeded():
    runs = Results([_run("a", val_accuracy=0.8, val_loss=0.5), _run("b", val_accuracy=0.9, val_loss=0.4),
                    _run("c", "diverged", val_accuracy=0.95, val_loss=float("nan")),
                    _run("d", "failed")])
    assert runs.best().name == "b"
    assert [r.name for r in runs.ranked()][:2] == ["b", "a"]  # what succeeded, best first
    assert runs.ranked()[-1].name == "d"  # no metrics: last
    assert runs.table().splitlines()[2].split()[1] == "b"  # the table's first row is the best run


def test_a_regression_ranks_by_the_lowest_validation_loss_and_ties_break_by_name():
    runs = Results([_run("x", val_loss=0.3, val_mae=0.4), _run("y", val_loss=0.2, val_mae=0.5),
                    _run("w", val_loss=0.3, val_mae=0.4)])
    assert runs.default_metric() == "val_loss" and runs.best().name == "y"
    assert [r.name for r in runs.ranked()] == ["y", "w", "x"]
    assert Results([_run("only", "failed")]).best() is None


def test_the_csv_has_one_row_per_run_in_the_sweeps_order():
    runs = Results([_run("a", val_accuracy=0.8), _run("b", val_accuracy=0.9)])
    rows = list(csv.DictReader(io.StringIO(runs.to_csv())))
    assert [(r["name"], r["status"], r["val_accuracy"]) for r in rows] == [("a", "completed", "0.8"),
                                                                           ("b", "completed", "0.9")]


def test_read_run_gives_the_record_and_none_for_what_is_not_one(tmp_path):
    record = {"name": "lr=0.1", "config": {"learning_rate": 0.1}, "status": "completed",
              "metrics": {"val_accuracy": 0.9}, "logdir": str(tmp_path), "error": None, "seconds": 1.5}
    (tmp_path / "run.json").write_text(json.dumps(record))
    run = read_run(tmp_path)
    assert (run.name, run.status, run.metrics, run.seconds) == ("lr=0.1", "completed", {"val_accuracy": 0.9}, 1.5)
    assert read_run(tmp_path / "missing") is None
    (tmp_path / "run.json").write_text("{half a file")
    assert read_run(tmp_path) is None
