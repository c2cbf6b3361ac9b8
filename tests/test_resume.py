"""What a resume runs (flowlab.resume): the recorded grid, or the one given, never silently replacing a
finished run; an interrupted --redo-changed finished by a bare resume; runs of an older flowlab kept."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from test_sweepdir import HIDDEN, _resume_after_editing, snapshot, sweep

from flowlab.cli import main


@pytest.mark.parametrize("edit, shows", [
    (lambda m: m["runs"][0]["config"].update(epochs=3), "epochs 2 -> 3"),
    (lambda m: m["runs"][0]["config"].update(hidden=[5]), "hidden 4 -> 5"),
])
def test_an_edited_manifest_never_replaces_a_finished_run_silently(tmp_path, capsys, edit, shows):
    sweep_dir, err = _resume_after_editing(tmp_path, capsys, edit)
    assert "1 finished run(s)" in err and f"lr=0.01 ({shows})" in err and "--redo-changed" in err
    assert main(["sweep", "--resume", str(sweep_dir), "--no-progress", "--redo-changed"]) == 0  # asked for: redone
    config = json.loads((sweep_dir / "lr=0.01" / "run.json").read_text())["config"]
    assert (config["epochs"], config["hidden"]) == ((3, [4]) if "epochs" in shows else (2, [5]))


def test_the_resume_an_interrupted_redo_changed_prints_finishes_the_redo(tmp_path, capsys):
    sweep_dir = sweep(tmp_path, "--lr", "0.01", "0.1", "0.5")
    def epochs(lr):
        run_json = sweep_dir / f"lr={lr}" / "run.json"  # gone while the run is redone
        return json.loads(run_json.read_text())["config"]["epochs"] if run_json.exists() else None

    def status(lr):
        return json.loads((sweep_dir / f"lr={lr}" / "run.json").read_text())["status"]

    proc = subprocess.Popen([sys.executable, "-m", "flowlab", "sweep", "--resume", str(sweep_dir), "--redo-changed",
                             "--epochs", "600", "--stack", "off", "--workers", "1", "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not any(epochs(lr) == 600 for lr in ("0.01", "0.1", "0.5")):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    done = [lr for lr in ("0.01", "0.1", "0.5") if epochs(lr) == 600 and status(lr) == "completed"]
    assert len(done) < 3, "the redo finished before the signal: nothing left to test"
    assert f"runs the remaining {3 - len(done)} run(s)" in err  # those trained the old way still count
    assert main(["sweep", "--resume", str(sweep_dir), "--workers", "1", "--no-progress"]) == 0  # as it printed
    assert [epochs(lr) for lr in ("0.01", "0.1", "0.5")] == [600] * 3
    assert "redo" not in json.loads((sweep_dir / HIDDEN / "sweep.json").read_text())  # nothing is left to redo


def test_a_run_recorded_by_an_older_flowlab_without_newer_settings_is_kept(tmp_path, capsys):
    sweep_dir = sweep(tmp_path, "--lr", "0.01", "0.1")
    for run in ("lr=0.01", "lr=0.1"):  # run.json as flowlab wrote it before these settings existed
        path = sweep_dir / run / "run.json"
        record = json.loads(path.read_text())
        for key in ("batchnorm", "dropout", "l1"):
            record["config"].pop(key)
        path.write_text(json.dumps(record))
    before = snapshot(sweep_dir)
    capsys.readouterr()
    assert main(["sweep", "--resume", str(sweep_dir), "--workers", "1", "--no-progress"]) == 0
    assert "warning" not in capsys.readouterr().err
    after = snapshot(sweep_dir)
    assert {p: v for p, v in after.items() if p.parent.name.startswith("lr=")} == \
        {p: v for p, v in before.items() if p.parent.name.startswith("lr=")}  # nothing redone
