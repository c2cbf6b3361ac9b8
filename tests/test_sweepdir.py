"""A sweep directory is flowlab's own: resume refuses anything else, keeps every finished run, has one owner."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from flowlab.cli import main
from flowlab.experiment import Experiment
from flowlab.sweepdir import HIDDEN, SweepLock, SweepLocked, create_sweep_dir

ROOT = Path(__file__).parent.parent
SMALL = ["--dataset", "blobs", "--hidden", "4", "--epochs", "2", "--workers", "1", "--no-progress", "--no-histograms"]


def snapshot(folder):
    """Every file under ``folder`` with its bytes and modification time (flowlab's own lock aside)."""
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in Path(folder).rglob("*")
            if p.is_file() and p.name != "lock"}


def sweep(tmp_path, *extra, name="s"):
    assert main(["sweep", *SMALL, "--logdir", str(tmp_path / "logs"), "--name", name, *extra]) == 0
    return max((tmp_path / "logs").glob(f"{name}-*"))


def test_resume_refuses_a_folder_that_is_not_a_sweep_and_touches_nothing(tmp_path, capsys):
    thesis = tmp_path / "thesis"
    (thesis / "run").mkdir(parents=True)
    (thesis / "run" / "thesis.tex").write_text("\\chapter{One}")
    before = snapshot(thesis)
    assert main(["train", *SMALL[:-4], "--lr", "0.1", "--resume", str(thesis), "--no-progress"]) == 2
    assert "not a flowlab sweep: " + str(thesis) in capsys.readouterr().err
    assert snapshot(thesis) == before and sorted(thesis.rglob("*")) == [thesis / "run", thesis / "run" / "thesis.tex"]


def test_resume_refuses_the_logdir_root(tmp_path, capsys):
    sweep_dir = sweep(tmp_path)
    before = snapshot(tmp_path / "logs")
    assert main(["sweep", *SMALL, "--resume", str(tmp_path / "logs")]) == 2
    assert "not a flowlab sweep" in capsys.readouterr().err
    assert snapshot(tmp_path / "logs") == before and sweep_dir.is_dir()


def test_resume_with_a_changed_setting_names_it_and_keeps_every_run(tmp_path, capsys):
    sweep_dir = sweep(tmp_path, "--lr", "0.01", "0.1")
    before = snapshot(sweep_dir)
    assert main(["sweep", *SMALL, "--lr", "0.01", "0.1", "--epochs", "3", "--resume", str(sweep_dir)]) == 2
    err = capsys.readouterr().err
    assert "epochs 2 -> 3 in 2 run(s)" in err and "--redo-changed" in err and "--resume DIR alone" in err
    assert snapshot(sweep_dir) == before
    assert main(["sweep", *SMALL, "--lr", "0.01", "0.1", "--epochs", "3", "--resume", str(sweep_dir),
                 "--redo-changed"]) == 0
    runs = [json.loads((sweep_dir / n / "run.json").read_text()) for n in ("lr=0.01", "lr=0.1")]
    assert [r["metrics"]["epochs_run"] for r in runs] == [3, 3]


def test_bare_resume_runs_exactly_the_remaining_runs_of_the_recorded_grid(tmp_path, capsys):
    sweep_dir = sweep(tmp_path, "--lr", "0.01", "0.1", "--optimizer", "sgd", "adam", "--epochs", "3")
    kept = {n: snapshot(sweep_dir / n) for n in ("lr=0.01,optimizer=sgd", "lr=0.1,optimizer=adam")}
    record = json.loads((sweep_dir / "lr=0.01,optimizer=adam" / "run.json").read_text())
    (sweep_dir / "lr=0.01,optimizer=adam" / "run.json").write_text(json.dumps(dict(record, status="interrupted")))
    (sweep_dir / "lr=0.1,optimizer=sgd" / "run.json").unlink()
    capsys.readouterr()
    assert main(["sweep", "--resume", str(sweep_dir), "--workers", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "runs: 4 completed" in out
    for name, files in kept.items():
        assert snapshot(sweep_dir / name) == files                      # finished runs untouched
    for name in ("lr=0.01,optimizer=adam", "lr=0.1,optimizer=sgd"):
        redone = json.loads((sweep_dir / name / "run.json").read_text())
        assert redone["status"] == "completed" and redone["config"]["epochs"] == 3
        assert redone["config"]["dataset"] == "blobs" and redone["config"]["hidden"] == [4]
    assert not [p for p in sweep_dir.iterdir() if p.name not in kept and p.name.startswith("lr=") and
                p.name not in ("lr=0.01,optimizer=adam", "lr=0.1,optimizer=sgd")]
    assert len((sweep_dir / "results.csv").read_text().splitlines()) == 5


def test_a_second_process_on_a_sweep_gets_the_owners_pid_and_a_dead_owner_frees_it(tmp_path, capsys):
    sweep_dir = sweep(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from flowlab.sweepdir import SweepLock; "
                               "SweepLock(sys.argv[1]); print('locked', flush=True); time.sleep(60)", str(sweep_dir)],
                              stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = snapshot(sweep_dir)
        assert main(["sweep", "--resume", str(sweep_dir), "--no-progress"]) == 1
        assert f"in use by flowlab process {holder.pid}" in capsys.readouterr().err
        assert snapshot(sweep_dir) == before
        os.kill(holder.pid, signal.SIGKILL)  # a stale lock: its owner is gone
        holder.wait(10)
        assert main(["sweep", "--resume", str(sweep_dir), "--workers", "1", "--no-progress"]) == 0
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_is_exclusive_within_one_process_too(tmp_path):
    lock = SweepLock(tmp_path.joinpath(HIDDEN).mkdir() or tmp_path)
    with pytest.raises(SweepLocked, match=f"in use by flowlab process {os.getpid()}"):
        SweepLock(tmp_path)
    lock.release()
    SweepLock(tmp_path).release()


def test_sweeps_with_one_name_in_one_second_get_their_own_directories(tmp_path):
    made = [create_sweep_dir(tmp_path, "same", {"runs": []}) for _ in range(3)]
    paths = [p for p, _ in made]
    assert len(set(paths)) == 3 and all((p / HIDDEN / "sweep.json").is_file() for p in paths)
    for _, lock in made:
        lock.release()


def test_resume_redoes_and_names_damaged_runs_and_never_follows_a_link_out(tmp_path, capsys):
    sweep_dir = sweep(tmp_path, "--lr", "0.01", "0.02", "0.03", "0.04", "0.05")
    (sweep_dir / "lr=0.01" / "run.json").write_text("[1, 2]")                       # wrong shape
    event = next((sweep_dir / "lr=0.02" / "train").glob("events.*"))
    event.write_bytes(event.read_bytes()[:-7])                                      # truncated
    (sweep_dir / "lr=0.03" / "model.npz").unlink()                                  # missing
    outside = tmp_path / "elsewhere"
    (sweep_dir / "lr=0.04").rename(outside)
    (sweep_dir / "lr=0.04").symlink_to(outside)                                     # a link out of the sweep
    kept, away = snapshot(sweep_dir / "lr=0.05"), snapshot(outside)
    capsys.readouterr()
    assert main(["sweep", "--resume", str(sweep_dir), "--workers", "1", "--no-progress"]) == 2
    assert "lr=0.04 is a symbolic link" in capsys.readouterr().err
    assert snapshot(outside) == away
    (sweep_dir / "lr=0.04").unlink()
    with pytest.warns(UserWarning) as warned:
        results = Experiment("s", workers=1).sweep(resume=sweep_dir)
    message = str(warned[0].message)
    assert "redoing 4 damaged run(s)" not in message  # lr=0.04 is simply missing: redone, not damaged
    for name, why in (("lr=0.01", "wrong shape"), ("lr=0.02", "truncated"), ("lr=0.03", "model.npz is missing")):
        assert f"{name} (" in message and why in message
    assert [r.status for r in results] == ["completed"] * 5
    assert snapshot(sweep_dir / "lr=0.05") == kept and snapshot(outside) == away
    assert (sweep_dir / "lr=0.03" / "model.npz").is_file()


KILL_IN_WRITE_RUN_FILES = """
import json, os, shutil, signal, sys
from pathlib import Path
from flowlab.runner import write_run_files
from flowlab.sweepdir import run_entries

run_dir, k = Path(sys.argv[1]), int(sys.argv[2])
files = {"/".join(rel): run_dir.joinpath(*rel).read_bytes() for rel, ours in run_entries(run_dir) if ours}
# The new run.json says so, to tell which copy a resume keeps.
files["run.json"] = json.dumps({**json.loads(files["run.json"]), "swap": "new"}).encode()
calls, replace, rmtree = [0], os.replace, shutil.rmtree

def die_at_call(real):
    def call(*args, **kwargs):
        calls[0] += 1
        if calls[0] == k:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return call

os.replace, shutil.rmtree = die_at_call(replace), die_at_call(rmtree)
write_run_files(run_dir, files)
"""


def test_resume_puts_back_what_a_driver_killed_inside_a_run_swap_had_moved_aside(tmp_path, capsys):
    # write_run_files (the Dask path) moves the user's 3 entries into the staged run (3 replaces), the old
    # run aside (1) and the staged one in (1), then removes the old one (rmtree): a SIGKILL before each.
    lrs = ["0.01", "0.02", "0.03", "0.04", "0.05", "0.06"]
    sweep_dir = sweep(tmp_path, "--lr", *lrs)
    theirs = {"notes.txt": b"my notes", "plots/a.png": b"\x89PNG", "train/mine.txt": b"beside the events"}
    before = {}
    for k, lr in enumerate(lrs, 1):
        run = sweep_dir / f"lr={lr}"
        for rel, data in theirs.items():
            (run / rel).parent.mkdir(exist_ok=True)
            (run / rel).write_bytes(data)
        before[run] = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != "run.json"}
        died = subprocess.run([sys.executable, "-c", KILL_IN_WRITE_RUN_FILES, str(run), str(k)])
        assert died.returncode == -signal.SIGKILL
        assert any(p.name.startswith(f".lr={lr}.") for p in sweep_dir.iterdir())  # the swap was left half done
    assert not (sweep_dir / "lr=0.05").exists()  # killed between its two renames
    capsys.readouterr()
    assert main(["sweep", "--resume", str(sweep_dir), "--workers", "1", "--no-progress"]) == 0
    assert "redoing" not in capsys.readouterr().err  # every run is whole again: nothing is redone
    for k, (run, files) in enumerate(before.items(), 1):
        assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != "run.json"} == files
        # Killed before the old run was moved aside, the old run stands; after, the new one.
        assert json.loads((run / "run.json").read_text()).get("swap") == ("new" if k >= 5 else None), run.name
    assert sorted(p.name for p in sweep_dir.iterdir()) == [HIDDEN, *(f"lr={lr}" for lr in lrs), "results.csv"]
    assert not list((sweep_dir / HIDDEN).glob("swap.*"))  # every note of a swap under way is gone


def test_an_entry_whose_place_was_taken_since_stays_aside_alone_and_is_named_once(tmp_path, capsys):
    sweep_dir = sweep(tmp_path, "--lr", "0.01", "0.02")
    run = sweep_dir / "lr=0.01"
    (run / "notes.txt").write_bytes(b"first")
    died = subprocess.run([sys.executable, "-c", KILL_IN_WRITE_RUN_FILES, str(run), "2"])  # after moving it aside
    assert died.returncode == -signal.SIGKILL
    (run / "notes.txt").write_bytes(b"written since")
    capsys.readouterr()
    assert main(["sweep", "--resume", str(sweep_dir), "--workers", "1", "--no-progress"]) == 0
    err = capsys.readouterr().err
    aside, = sweep_dir.glob(".lr=0.01.*.new")
    assert [p.name for p in aside.rglob("*")] == ["notes.txt"]  # flowlab's copies of the run are gone
    assert (aside / "notes.txt").read_bytes() == b"first" and (run / "notes.txt").read_bytes() == b"written since"
    assert f"{aside / 'notes.txt'} (its place, {run / 'notes.txt'}, is taken)" in err
    assert main(["sweep", "--resume", str(sweep_dir), "--workers", "1", "--no-progress"]) == 0
    assert "warning" not in capsys.readouterr().err and (aside / "notes.txt").read_bytes() == b"first"


def test_a_folder_of_the_users_named_like_a_swaps_is_left_alone(tmp_path, capsys):
    sweep_dir = sweep(tmp_path, "--lr", "0.01", "0.02")
    theirs = [sweep_dir / ".lr=0.01.20240501.old", sweep_dir / ".lr=0.01.backup_1.new"]
    for folder in theirs:
        shutil.copytree(sweep_dir / "lr=0.01", folder)
        (folder / "why.txt").write_text("the run as it was in May")
    (sweep_dir / "lr=0.02" / "run.json").unlink()  # so that the resume has a run to do
    before = {folder: snapshot(folder) for folder in theirs}
    assert main(["sweep", "--resume", str(sweep_dir), "--workers", "1", "--no-progress"]) == 0
    assert {folder: snapshot(folder) for folder in theirs} == before
    assert not (sweep_dir / "lr=0.01" / "why.txt").exists()


KILL_IN_FIRST_WRITE = """
import os, signal, shutil, sys
from pathlib import Path
from flowlab.runner import write_run_files
from flowlab.sweepdir import run_entries

run_dir, k, last = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
files = {"/".join(rel): run_dir.joinpath(*rel).read_bytes() for rel, ours in run_entries(run_dir) if ours}
files = dict(sorted(files.items(), key=lambda item: item[0].startswith(last)))  # that one written last
shutil.rmtree(run_dir)  # a run the driver had not written before
calls, write_bytes = [0], Path.write_bytes

def write(self, data):
    calls[0] += 1
    if calls[0] == k:
        os.kill(os.getpid(), signal.SIGKILL)
    return write_bytes(self, data)

Path.write_bytes = write
write_run_files(run_dir, files)
"""


@pytest.mark.parametrize("last", ["events.", "validation/"])
def test_a_run_whose_first_write_was_killed_is_redone_not_taken_from_its_partial_copy(tmp_path, capsys, last):
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    sweep_dir = sweep(tmp_path, "--lr", "0.01", "0.02")
    run = sweep_dir / "lr=0.01"
    names = sorted(str(p.relative_to(run)) for p in run.rglob("*"))
    count = sum(p.is_file() for p in run.rglob("*"))
    died = subprocess.run([sys.executable, "-c", KILL_IN_FIRST_WRITE, str(run), str(count), last])  # all but one
    assert died.returncode == -signal.SIGKILL
    staged, = sweep_dir.glob(".lr=0.01.*.new")
    assert not run.exists() and sum(p.is_file() for p in staged.rglob("*")) == count - 1
    assert main(["sweep", "--resume", str(sweep_dir), "--workers", "1", "--no-progress"]) == 0
    assert sorted(p.name for p in sweep_dir.iterdir()) == [HIDDEN, "lr=0.01", "lr=0.02", "results.csv"]
    assert sorted(str(p.relative_to(run)) for p in run.rglob("*")) != names  # redone: new event file names
    assert len(sorted(str(p.relative_to(run)) for p in run.rglob("*"))) == len(names)
    for events in run.rglob("events.out.tfevents.*"):
        assert list(EventFileLoader(str(events)).Load())  # TensorBoard reads every one of them whole
    assert json.loads((run / "run.json").read_text())["status"] == "completed"


def test_a_run_without_its_hparams_event_file_is_redone(tmp_path, capsys):
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    sweep_dir = sweep(tmp_path, "--lr", "0.01", "0.02")
    top, = (sweep_dir / "lr=0.01").glob("events.out.tfevents.*")
    top.unlink()  # without it, the run has no row in the HParams table
    capsys.readouterr()
    assert main(["sweep", "--resume", str(sweep_dir), "--workers", "1", "--no-progress"]) == 0
    assert "lr=0.01 (its HParams event file (beside run.json) is missing)" in capsys.readouterr().err
    top, = (sweep_dir / "lr=0.01").glob("events.out.tfevents.*")
    tags = {v.tag for event in EventFileLoader(str(top)).Load() for v in event.summary.value}
    assert {"_hparams_/session_start_info", "_hparams_/session_end_info"} <= tags


def _edit_manifest(sweep_dir, edit):
    path = sweep_dir / HIDDEN / "sweep.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


def _resume_after_editing(tmp_path, capsys, edit):
    """A sweep of two runs, its manifest edited, resumed: refused (exit 2) with the sweep untouched; its stderr."""
    sweep_dir = sweep(tmp_path, "--lr", "0.01", "0.02")
    _edit_manifest(sweep_dir, edit)
    before = snapshot(sweep_dir)
    capsys.readouterr()
    assert main(["sweep", "--resume", str(sweep_dir), "--no-progress"]) == 2
    assert snapshot(sweep_dir) == before
    return sweep_dir, capsys.readouterr().err


@pytest.mark.parametrize("name", ["../victim", "/tmp/elsewhere", "", ".", ".flowlab", "sub/dir"])
def test_a_manifest_whose_run_name_is_not_a_run_folder_is_refused_and_nothing_is_touched(tmp_path, capsys, name):
    sweep_dir = sweep(tmp_path, "--lr", "0.01", "0.02")
    victim = sweep_dir.parent / "victim"
    victim.mkdir()
    (victim / "run.json").write_text('{"my": "own"}')
    _edit_manifest(sweep_dir, lambda m: m["runs"][0].update(name=name))
    before = snapshot(tmp_path)
    capsys.readouterr()
    assert main(["sweep", "--resume", str(sweep_dir), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"is damaged (run name {name!r} is not the name of a folder in the sweep)" in err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("edit", [lambda m: m.update(varied="learning_rate"),
                                  lambda m: m["runs"][0]["config"].update(hidden=64),
                                  lambda m: m["runs"][0]["config"].update(hidden="64"),
                                  lambda m: m["runs"][0]["config"].update(extra=[1])])
def test_a_manifest_field_of_the_wrong_kind_is_one_line(tmp_path, capsys, edit):
    _, err = _resume_after_editing(tmp_path, capsys, edit)
    assert err.count("\n") == 1 and "sweep.json is damaged" in err


def test_resume_refuses_files_named_as_flowlabs_in_a_new_runs_folder_and_links_in_its_own_places(tmp_path, capsys):
    sweep_dir = sweep(tmp_path, "--lr", "0.01", "0.1")
    mine = sweep_dir / "lr=0.5"
    mine.mkdir()
    (mine / "run.json").write_text('{"status": "completed", "metrics": {}, "my": "results"}')
    (mine / "model.npz").write_bytes(b"my model")
    before = snapshot(tmp_path)
    capsys.readouterr()
    assert main(["sweep", "--resume", str(sweep_dir), "--lr", "0.01", "0.1", "0.5", "--no-progress"]) == 2
    assert "is in the folder of a run" in capsys.readouterr().err and snapshot(tmp_path) == before
    shutil.rmtree(mine)

    precious = tmp_path / "precious.txt"
    precious.write_text("do not truncate me")
    (sweep_dir / HIDDEN / "lock").unlink()
    (sweep_dir / HIDDEN / "lock").symlink_to(precious)
    assert main(["sweep", "--resume", str(sweep_dir), "--no-progress"]) == 2
    assert "lock is a symbolic link" in capsys.readouterr().err and precious.read_text() == "do not truncate me"
    (sweep_dir / HIDDEN / "lock").unlink()

    (sweep_dir / "results.csv").unlink()
    (sweep_dir / "results.csv").mkdir()
    assert main(["sweep", "--resume", str(sweep_dir), "--no-progress"]) == 2
    assert "results.csv is a folder" in capsys.readouterr().err
