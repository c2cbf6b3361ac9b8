"""flowlab.runner: a run's files arrive whole in the driver's run directory, replacing the old run without
leaving stale files, and run.json is plain JSON."""

import json
import stat
from pathlib import Path

import numpy as np
import pytest

from flowlab.results import RunResult
from flowlab.runner import RunTask, run_detached, write_run_files, write_run_json
from flowlab.sweepdir import clear_run_dir


def test_write_run_files_replaces_a_run_and_leaves_no_stale_file(tmp_path):
    run_dir = tmp_path / "sweep" / "lr=0.1"
    write_run_files(run_dir, {"run.json": b"{}", "train/events.out.tfevents.1": b"old",
                              "validation/events.out.tfevents.1": b"v"})
    write_run_files(run_dir, {"run.json": b'{"redone": 1}', "train/events.out.tfevents.2": b"new"})
    assert sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()) == \
        ["run.json", "train/events.out.tfevents.2"]
    assert (run_dir / "run.json").read_bytes() == b'{"redone": 1}'
    assert sorted(p.name for p in run_dir.parent.iterdir()) == ["lr=0.1"]  # no staging or old folder left
    (tmp_path / "plain").mkdir()  # the oracle for the permissions: what mkdir gives under this umask
    assert stat.S_IMODE(run_dir.stat().st_mode) == stat.S_IMODE((tmp_path / "plain").stat().st_mode)


def _user_files(run_dir):
    """Files of the user's beside a run: a note, a folder of plots, a file in train/, a link (to a file outside)."""
    (run_dir / "plots").mkdir(parents=True, exist_ok=True)
    (run_dir / "train").mkdir(exist_ok=True)
    (run_dir / "notes.txt").write_text("my analysis")
    (run_dir / "plots" / "loss.png").write_bytes(b"\x89PNG")
    (run_dir / "train" / "README").write_text("mine")
    (run_dir / "run.json.bak").write_text("my copy")
    target = run_dir.parent.parent / "elsewhere.txt"
    target.write_text("outside")
    (run_dir / "link").symlink_to(target)
    return _snapshot(run_dir, ["notes.txt", "plots/loss.png", "train/README", "run.json.bak", "link"])


def _snapshot(run_dir, names):
    return {n: ((run_dir / n).read_bytes() if not (run_dir / n).is_symlink() else str((run_dir / n).readlink()))
            for n in names if (run_dir / n).exists() or (run_dir / n).is_symlink()}


def test_write_run_files_keeps_the_users_files_in_the_run_directory(tmp_path):
    # Found by a probe: a redone run's directory was replaced whole, and a user's notes in it went with it.
    run_dir = tmp_path / "sweep" / "lr=0.1"
    write_run_files(run_dir, {"run.json": b"{}", "model.npz": b"m", "events.out.tfevents.1": b"r",
                              "train/events.out.tfevents.1": b"old", "validation/events.out.tfevents.1": b"v"})
    mine = _user_files(run_dir)
    write_run_files(run_dir, {"run.json": b"new", "train/events.out.tfevents.2": b"new"})
    assert _snapshot(run_dir, mine) == mine
    theirs = sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*")
                    if p.is_file() and p.relative_to(run_dir).as_posix() not in mine)
    assert theirs == ["run.json", "train/events.out.tfevents.2"]   # the old run's files are gone
    assert sorted(p.name for p in run_dir.parent.iterdir()) == ["lr=0.1"]
    assert (tmp_path / "elsewhere.txt").read_text() == "outside"


def test_write_run_files_refuses_a_users_file_in_the_way_and_changes_nothing(tmp_path):
    run_dir = tmp_path / "sweep" / "run"
    write_run_files(run_dir, {"run.json": b"kept"})
    (run_dir / "model.npz").mkdir()   # a folder of the user's where the run's model goes
    (run_dir / "model.npz" / "x").write_text("mine")
    with pytest.raises(ValueError, match=r"model.npz is in the way .* flowlab did not write it"):
        write_run_files(run_dir, {"run.json": b"new", "model.npz": b"m"})
    assert (run_dir / "run.json").read_bytes() == b"kept" and (run_dir / "model.npz" / "x").read_text() == "mine"
    assert sorted(p.name for p in run_dir.parent.iterdir()) == ["run"]


def test_clear_run_dir_removes_only_what_flowlab_writes(tmp_path):
    run_dir = tmp_path / "sweep" / "run"
    write_run_files(run_dir, {"run.json": b"{}", "model.npz": b"m", "events.out.tfevents.1": b"r",
                              ".run.json.abc.tmp": b"t", ".model.npz.12.partial": b"p",
                              "train/events.out.tfevents.1": b"t", "validation/events.out.tfevents.1": b"v"})
    mine = _user_files(run_dir)
    clear_run_dir(run_dir)
    assert _snapshot(run_dir, mine) == mine
    assert sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*")) == \
        sorted(["link", "notes.txt", "plots", "plots/loss.png", "run.json.bak", "train", "train/README"])
    clear_run_dir(run_dir)   # nothing of flowlab's left: a no-op
    assert _snapshot(run_dir, mine) == mine
    (run_dir / "train" / "README").unlink()
    (run_dir / "validation").symlink_to(tmp_path)
    with pytest.raises(ValueError, match="validation is a symbolic link"):
        clear_run_dir(run_dir)


@pytest.mark.parametrize("bad", ["../escape", "/etc/passwd", "train/../../escape"])
def test_a_path_outside_the_run_is_refused_and_the_old_run_kept(tmp_path, bad):
    run_dir = tmp_path / "sweep" / "run"
    write_run_files(run_dir, {"run.json": b"kept"})
    with pytest.raises(ValueError, match="is not a path inside the run directory"):
        write_run_files(run_dir, {"model.npz": b"x", bad: b"x"})
    assert (run_dir / "run.json").read_bytes() == b"kept"
    assert sorted(p.name for p in (tmp_path / "sweep").iterdir()) == ["run"]
    assert not (tmp_path / "escape").exists()


def test_run_json_holds_numpy_numbers_and_tuples_as_plain_json(tmp_path):
    write_run_json(tmp_path, {"epochs": np.int64(3), "loss": np.float32(0.5), "hidden": (64, 32)})
    assert json.loads((tmp_path / "run.json").read_text()) == {"epochs": 3, "loss": 0.5, "hidden": [64, 32]}
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_run_json(tmp_path, {"x": object()})


def test_run_detached_returns_the_files_with_the_drivers_paths(tmp_path):
    seen = []

    def fn(task, **kwargs):
        here = Path(task.run_dir)
        seen.append((task.run_dir, kwargs))
        (here / "train").mkdir(parents=True)
        (here / "train" / "events.out.tfevents.1").write_bytes(b"\x00events")
        write_run_json(here, {"name": task.name, "logdir": str(here)})
        return RunResult(name=task.name, config={}, status="completed", logdir=str(here))

    task = RunTask(name="lr=0.1", run_dir=str(tmp_path / "driver" / "lr=0.1"), config={})
    record, files = run_detached(fn, task, progress=False)
    assert seen[0][0] != task.run_dir and seen[0][1] == {"progress": False}  # ran elsewhere, kwargs passed on
    assert record.logdir == task.run_dir and record.status == "completed"
    assert sorted(files) == ["run.json", "train/events.out.tfevents.1"]
    assert json.loads(files["run.json"]) == {"name": "lr=0.1", "logdir": task.run_dir}
    assert files["train/events.out.tfevents.1"] == b"\x00events"
    assert not (tmp_path / "driver").exists()  # nothing written where the driver's run will be
    assert not Path(seen[0][0]).exists()  # and the temporary folder is gone
