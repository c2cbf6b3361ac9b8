"""The `flowlab` command: sweeps, bad arguments, Ctrl-C, datasets."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import STORE_EVERYTHING_SIZE_GUIDANCE, EventAccumulator

from flowlab.cli import main
from processes import sigterm_when
from tbread import session_end

ROOT = Path(__file__).parent.parent


def test_sweep_prints_a_leaderboard_and_the_tensorboard_command(tmp_path, capsys):
    code = main(["sweep", "--dataset", "iris", "--hidden", "8", "--epochs", "2", "--lr", "0.01", "0.1",
                 "--optimizer", "sgd", "adam", "--logdir", str(tmp_path), "--workers", "1", "--no-progress",
                 "--no-histograms", "--name", "cli"])
    out = capsys.readouterr().out
    assert code == 0
    sweep_dir = next(tmp_path.iterdir())
    assert sweep_dir.name.startswith("cli-")
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and p.name != ".flowlab") == [
        "lr=0.01,optimizer=adam", "lr=0.01,optimizer=sgd", "lr=0.1,optimizer=adam", "lr=0.1,optimizer=sgd"]
    assert "val_acc" in out and "runs: 4 completed" in out
    assert f"tensorboard --logdir {sweep_dir}" in out


def test_train_runs_one_config(tmp_path, capsys):
    code = main(["train", "--dataset", "moons", "--hidden", "8,8", "--epochs", "2", "--batch-size", "full",
                 "--logdir", str(tmp_path), "--workers", "1", "--no-progress"])
    assert code == 0
    run = json.loads(next(tmp_path.glob("train-*/run/run.json")).read_text())
    assert run["config"]["hidden"] == [8, 8] and run["config"]["batch_size"] is None


def run_main(argv):
    try:
        return main(argv)
    except SystemExit as exc:      # argparse's own errors
        return exc.code


@pytest.mark.parametrize("argv, message", [
    (["--optimizer", "adm"], "unknown optimizer 'adm'; choose from adadelta, adagrad, adam"),
    (["--dataset", "mnits"], "unknown dataset 'mnits'; choose from"),
    (["--lr", "0"], "--lr must be a number > 0, got --lr 0.0"),
    (["--lr", "fast"], "--lr must be a number, got 'fast'"),
    (["--batch-size", "0"], "--batch-size must be an int >= 1"),
    (["--activation", "sigmod"], "did you mean 'sigmoid'"),
])
def test_bad_arguments_exit_nonzero_name_the_value_and_write_nothing(tmp_path, capsys, argv, message):
    logdir = tmp_path / "logs"
    assert run_main(["sweep", *argv, "--logdir", str(logdir), "--no-progress"]) == 2
    assert message in capsys.readouterr().err
    assert not logdir.exists()


def test_unwritable_logdir_is_refused(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code = main(["sweep", "--logdir", str(blocker / "logs"), "--no-progress"])
    assert code == 2
    assert "is a file, not a directory" in capsys.readouterr().err
    assert blocker.read_text() == "not a directory"


def test_datasets_lists_the_built_in_sets(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("digits", "iris", "spiral", "moons", "mnist"):
        assert name in out


def test_help_is_fast_and_imports_nothing_heavy():
    code = ("import sys, flowlab.cli; flowlab.cli.build_parser().format_help(); "
            "print(sorted(m for m in ('sklearn', 'tensorboardX', 'tensorboard', 'tqdm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_sigint_keeps_finished_runs_intact_and_exits_130(tmp_path):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowlab", "sweep", "--dataset", "digits", "--epochs", "40", "--batch-size", "1",
         "--hidden", "16", "--lr", "0.001", "0.002", "0.003", "0.004", "0.005", "0.006", "--optimizer", "sgd",
         "--logdir", str(tmp_path), "--workers", "2", "--no-progress", "--no-histograms"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        deadline = time.time() + 120
        started = []
        while time.time() < deadline and not started:
            started = list(tmp_path.glob("*/lr=*/train"))
            time.sleep(0.2)
        assert started, "no run started"
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "--resume" in err and "remaining" in err
    sweep_dir = next(tmp_path.iterdir())
    records = [json.loads(p.read_text()) for p in sweep_dir.glob("*/run.json")]
    assert records and {r["status"] for r in records} <= {"completed", "interrupted"}
    assert "interrupted" in {r["status"] for r in records}
    for r in records:
        run = Path(r["logdir"])
        ea = EventAccumulator(str(run / "train"), size_guidance=STORE_EVERYTHING_SIZE_GUIDANCE).Reload()
        steps = [e.step for e in ea.Scalars("epoch_loss")] if "epoch_loss" in ea.Tags()["scalars"] else []
        assert steps == list(range(len(steps)))
        if r["status"] == "completed":
            assert len(steps) == 40
    assert (sweep_dir / "results.csv").read_text().count("\n") == len(records) + 1


def test_sigterm_to_a_training_keeps_its_epochs_and_marks_it_interrupted(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowlab", "train", "--dataset", "digits", "--epochs", "400", "--batch-size", "1",
         "--hidden", "16", "--logdir", str(tmp_path), "--workers", "1", "--no-progress", "--no-histograms"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    out, err = sigterm_when(proc, lambda: list(tmp_path.glob("*/run/train/events.*")))
    assert proc.returncode == 130, err
    run = next(tmp_path.glob("*/run"))
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "interrupted" and 0 < record["metrics"]["epochs_run"] < 400
    ea = EventAccumulator(str(run / "train"), size_guidance=STORE_EVERYTHING_SIZE_GUIDANCE).Reload()
    assert [e.step for e in ea.Scalars("epoch_loss")] == list(range(record["metrics"]["epochs_run"]))
    end = session_end(run)
    assert end.status == 2  # STATUS_FAILURE


@pytest.mark.parametrize("extra", [[], ["--shared-logdir"]])
def test_a_bad_grid_value_on_dask_is_the_grid_error_before_any_connection(tmp_path, extra):
    pytest.importorskip("distributed")
    import socket

    # A socket that listens and never answers stands in for the scheduler: a client that tried to
    # connect would leave a connection in its backlog (and wait for its timeout, then blame the cluster).
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        address = "tcp://127.0.0.1:%d" % listener.getsockname()[1]
        logdir = tmp_path / "logs"
        proc = subprocess.run(
            [sys.executable, "-m", "flowlab", "sweep", "--dataset", "iris", "--lr", "0.01", "0", "--executor",
             address, *extra, "--logdir", str(logdir), "--no-progress"],
            capture_output=True, text=True, cwd=ROOT, timeout=120)
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected
    assert proc.returncode == 2, proc.stderr
    assert "flowlab sweep: error: --lr must be a number > 0, got --lr 0.0" in proc.stderr
    assert "scheduler" not in proc.stderr and "Traceback" not in proc.stderr
    assert not logdir.exists()


def test_an_unreachable_cluster_with_a_good_grid_is_exit_1_and_writes_nothing(tmp_path):
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    logdir = tmp_path / "logs"
    proc = subprocess.run(
        [sys.executable, "-m", "flowlab", "sweep", "--dataset", "iris", "--hidden", "8", "--epochs", "1",
         "--executor", f"tcp://127.0.0.1:{port}", "--logdir", str(logdir), "--no-progress"],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not logdir.exists()
