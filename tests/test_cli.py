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


def _mine(run_dir):
    """Files of the user's in a run directory: a note, a plot in a folder, a file beside the event files."""
    (run_dir / "plots").mkdir()
    files = {"my_analysis.txt": b"notes", "plots/p.png": b"\x89PNG", "train/mine.txt": b"beside the events"}
    for rel, payload in files.items():
        (run_dir / rel).write_bytes(payload)
    return files


def test_resume_after_sigterm_keeps_the_users_files_in_the_interrupted_run(tmp_path):
    # Found by a probe: a resume emptied the interrupted run's directory, the user's files in it too.
    command = [sys.executable, "-m", "flowlab", "sweep", "--dataset", "iris", "--hidden", "8", "--epochs", "3",
               "12000", "--batch-size", "full", "--lr", "0.01", "--optimizer", "sgd", "--activation", "relu",
               "--logdir", str(tmp_path), "--workers", "2", "--no-progress", "--no-histograms"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    out, err = sigterm_when(proc, lambda: list(tmp_path.glob("*/epochs=3/run.json"))
                            and list(tmp_path.glob("*/epochs=12000/train/events.*")), settle=0.2)
    assert proc.returncode == 130, err
    sweep_dir = next(tmp_path.iterdir())
    long_run = sweep_dir / "epochs=12000"
    assert json.loads((long_run / "run.json").read_text())["status"] == "interrupted"
    mine = {**{f"epochs=12000/{k}": v for k, v in _mine(long_run).items()},
            **{f"epochs=3/{k}": v for k, v in _mine(sweep_dir / "epochs=3").items()}}
    done = subprocess.run([sys.executable, "-m", "flowlab", "sweep", "--resume", str(sweep_dir), "--workers", "2",
                           "--no-progress", "--no-histograms"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert {rel: (sweep_dir / rel).read_bytes() for rel in mine} == mine
    record = json.loads((long_run / "run.json").read_text())
    assert record["status"] == "completed" and record["metrics"]["epochs_run"] == 12000
    ea = EventAccumulator(str(long_run / "train"), size_guidance=STORE_EVERYTHING_SIZE_GUIDANCE).Reload()
    assert [e.step for e in ea.Scalars("epoch_loss")] == list(range(12000))   # the old steps went, not the notes
    assert len(list((long_run / "train").glob("events.*"))) == 1


def test_redo_changed_keeps_the_users_files_in_the_redone_runs(tmp_path, capsys):
    common = ["--workers", "1", "--no-progress", "--no-histograms"]
    assert main(["sweep", "--dataset", "iris", "--hidden", "8", "--epochs", "2", "--lr", "0.01", "0.1",
                 "--optimizer", "sgd", "--logdir", str(tmp_path), *common]) == 0
    sweep_dir = next(tmp_path.iterdir())
    mine = {f"lr=0.1/{k}": v for k, v in _mine(sweep_dir / "lr=0.1").items()}
    assert main(["sweep", "--resume", str(sweep_dir), "--epochs", "3", "--redo-changed", *common]) == 0
    assert {rel: (sweep_dir / rel).read_bytes() for rel in mine} == mine
    for name in ("lr=0.01", "lr=0.1"):
        record = json.loads((sweep_dir / name / "run.json").read_text())
        assert record["metrics"]["epochs_run"] == 3 and record["config"]["hidden"] == [8]
        assert len(list((sweep_dir / name / "train").glob("events.*"))) == 1
    capsys.readouterr()


def test_printed_commands_paste_back_into_a_shell_with_spaces_in_the_path(tmp_path, capsys):
    # Found by a probe: `--resume my logs/...` split into two arguments when pasted.
    logdir = tmp_path / "my logs"
    assert main(["sweep", "--dataset", "iris", "--hidden", "4", "--epochs", "1", "--lr", "0.1", "--logdir",
                 str(logdir), "--workers", "1", "--no-progress", "--no-histograms"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("next:"))
    import shlex

    assert shlex.split(line) == ["next:", "tensorboard", "--logdir", str(next(logdir.iterdir()))]


@pytest.mark.parametrize("argv, message", [
    (["--logdir", ""], "--logdir must name a folder, got ''"),
    (["--dropout", "1"], "--dropout must be a number in [0, 1)"),
    (["--samples", "10000000"], "--samples 10000000 but 'digits' has only 1797 examples"),
    (["--val-fraction", "0"], "--val-fraction must be a number between 0 and 1, got --val-fraction 0.0"),
    (["--momentum", "-1"], "--momentum must be a number >= 0, got --momentum -1.0"),
])
def test_more_bad_values_name_the_flag_as_typed_and_write_nothing(tmp_path, capsys, argv, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", *argv, "--no-progress", "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("flowlab sweep: error: ") and message in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flag", [["--name", "other"], ["--logdir", "elsewhere"]])
def test_flags_a_resume_would_ignore_are_refused(tmp_path, capsys, flag, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--dataset", "iris", "--hidden", "4", "--epochs", "1", "--lr", "0.1", "--logdir", "logs",
                 "--workers", "1", "--no-progress", "--no-histograms"]) == 0
    sweep_dir = next((tmp_path / "logs").iterdir())
    capsys.readouterr()
    assert main(["sweep", "--resume", str(sweep_dir), *flag, "--no-progress"]) == 2
    assert f"{flag[0]} does not go with --resume" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs"]


def test_a_warning_is_one_plain_line(tmp_path, capsys):
    assert main(["sweep", "--dataset", "iris", "--hidden", "4", "--epochs", "1", "--lr", "0.1", "--logdir",
                 str(tmp_path), "--workers", "1", "--no-progress", "--no-histograms"]) == 0
    sweep_dir = next(tmp_path.iterdir())
    (sweep_dir / "run" / "model.npz").unlink()
    capsys.readouterr()
    assert main(["sweep", "--resume", str(sweep_dir), "--workers", "1", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert err == "flowlab sweep: warning: resume: redoing 1 damaged run(s): run (model.npz is missing)\n"


def test_download_dir_that_is_a_file_is_one_line(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    assert main(["datasets", "--download", "mnist", "--download-dir", str(notes / "sub")]) == 2
    err = capsys.readouterr().err
    assert err == (f"flowlab datasets: error: --download-dir {notes / 'sub'}: {notes} is a file, not a folder; "
                   "give a folder (flowlab makes it if it is missing)\n")
    assert notes.read_text() == "mine" and sorted(tmp_path.iterdir()) == [notes]


@pytest.mark.parametrize("argv, message", [
    (["sweep", "--epochs", "2.5"], "flowlab sweep: error: argument --epochs: must be a whole number, got '2.5'"),
    (["train", "--val-fraction", "x"], "flowlab train: error: argument --val-fraction: must be a number, got 'x'"),
    (["train", "--lr", "0.1", "0.01"], "flowlab train: error: unrecognized arguments: 0.01 (`flowlab train` takes "
                                       "one value per flag; `flowlab sweep` takes several, as sweep axes)"),
    (["sweep", "--bogus", "3"], "flowlab sweep: error: unrecognized arguments: --bogus 3 (see `flowlab sweep --help`)"),
])
def test_argparse_errors_name_the_command_and_what_would_work(tmp_path, capsys, argv, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert capsys.readouterr().err == message + "\n"  # one line: no usage block before it
    assert list(tmp_path.iterdir()) == []


def test_resume_of_a_missing_folder_says_it_does_not_exist(tmp_path, capsys):
    assert main(["sweep", "--resume", str(tmp_path / "nope"), "--no-progress"]) == 2
    assert f"not a flowlab sweep: {tmp_path / 'nope'} does not exist" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_warning_names_the_runs_as_they_are_named(tmp_path, capsys):
    # Found in review: the warning printer turned the run name 'epochs=1' into '--epochs 1'.
    assert main(["sweep", "--dataset", "iris", "--hidden", "4", "--epochs", "1", "2", "--lr", "0.1", "--logdir",
                 str(tmp_path), "--workers", "1", "--no-progress", "--no-histograms"]) == 0
    sweep_dir = next(tmp_path.iterdir())
    (sweep_dir / "epochs=1" / "model.npz").unlink()
    capsys.readouterr()
    assert main(["sweep", "--resume", str(sweep_dir), "--workers", "1", "--no-progress"]) == 0
    assert capsys.readouterr().err == \
        "flowlab sweep: warning: resume: redoing 1 damaged run(s): epochs=1 (model.npz is missing)\n"
    assert main(["sweep", "--resume", str(sweep_dir), "--epochs", "2", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "(runs 'epochs=1', 'epochs=2')" in err and "(--epochs 1 2)" in err


@pytest.mark.parametrize("make", ["link validation", "file train", "folder model.npz", "link run.json"])
def test_resume_refuses_a_users_thing_where_a_run_writes_before_writing_anything(tmp_path, capsys, make):
    # Found in review: such a thing was found only when the run was redone, after the sweep was opened.
    assert main(["sweep", "--dataset", "iris", "--hidden", "4", "--epochs", "1", "--lr", "0.1", "0.2", "--logdir",
                 str(tmp_path / "logs"), "--workers", "1", "--no-progress", "--no-histograms"]) == 0
    sweep_dir = next((tmp_path / "logs").iterdir())
    run = sweep_dir / "lr=0.2"
    (run / "run.json").write_text("{}")  # damaged: would be redone
    kind, name = make.split()
    target = run / name
    if target.is_dir():
        for p in target.iterdir():
            p.unlink()
        target.rmdir()
    elif target.exists():
        target.unlink()
    (tmp_path / "elsewhere").mkdir()
    if kind == "link":
        target.symlink_to(tmp_path / "elsewhere")
    elif kind == "file":
        target.write_text("mine")
    else:
        target.mkdir()
    before = {p: p.read_bytes() for p in sweep_dir.rglob("*") if p.is_file() and not p.is_symlink()}
    capsys.readouterr()
    assert main(["sweep", "--resume", str(sweep_dir), "--workers", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"flowlab sweep: error: resume: {target} is ") and len(err.splitlines()) == 1
    assert {p: p.read_bytes() for p in sweep_dir.rglob("*") if p.is_file() and not p.is_symlink()} == before
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_a_path_in_a_message_stays_as_typed_and_fields_become_flags(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "epochs=3").mkdir()  # a folder named like a setting
    assert main(["sweep", "--resume", "epochs=3", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "not a flowlab sweep: epochs=3 " in err and "--epochs 3" not in err
    assert main(["sweep", "--dataset", "blobs", "--val-fraction", "0.999", "--no-progress"]) == 2
    assert "give more --samples or another --val-fraction" in capsys.readouterr().err


def test_why_runs_failed_is_on_stderr_not_only_in_run_json(tmp_path, capsys):
    import gzip

    import numpy as np

    data = tmp_path / "mnist"
    data.mkdir()
    for prefix in ("train", "t10k"):
        images = np.zeros((40, 28, 28), np.uint8)
        labels = np.full(40, 255, np.uint8)  # not a digit
        (data / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(b"\0\0\x08\x03" + np.array([40, 28, 28], ">u4").tobytes() + images.tobytes()))
        (data / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(b"\0\0\x08\x01" + np.array([40], ">u4").tobytes() + labels.tobytes()))
    assert main(["sweep", "--dataset", "mnist", "--data-dir", str(data), "--lr", "0.1", "0.01", "--epochs", "1",
                 "--workers", "1", "--logdir", str(tmp_path / "logs"), "--no-progress"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("flowlab sweep: 2 runs (lr=0.1, lr=0.01) failed: ")
    assert "must be 0-9, got 255..255" in err[0]


@pytest.mark.parametrize("message, paths, shown", [
    ("resume: settings differ from the ones 0 was started with", ["0"], "the ones 0 was started"),
    ("data_dir must be a folder, got data_dir=data", ["data"], "--data-dir must be a folder, got --data-dir data"),
    ("epochs must be a whole number >= 1, got epochs=0", ["epochs"], "--epochs must be a whole number"),
    ("not a flowlab sweep: epochs=3 (it has no .flowlab/sweep.json)", ["epochs=3"], "sweep: epochs=3 (it"),
    ("logdir /a/lr=1/x: lr=1 is bad", ["/a/lr=1/x"], "logdir /a/lr=1/x: lr=1 is bad"),
])
def test_messages_keep_the_paths_typed_and_still_name_flags(message, paths, shown):
    from flowlab.cli import _as_typed

    out = _as_typed(message, paths)
    assert shown in out and "\0" not in out and not any("\ue000" <= c <= "\uf8ff" for c in out)
