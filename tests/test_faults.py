"""Faults through real processes and signals: a killed driver, workers killed before they start, a full disk,
signals during start-up, a `torch` folder in the working directory."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flowlab.executors import ProcessExecutor, WorkerStartError

ROOT = Path(__file__).parent.parent
ENV = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")


def descendants(pid):
    """PIDs of every living process under ``pid``, from /proc."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_workers_die_within_seconds_of_a_sigkilled_driver_and_write_nothing_after(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowlab", "sweep", "--dataset", "digits", "--epochs", "400", "--batch-size", "1",
         "--hidden", "16", "--lr", "0.001", "0.002", "--optimizer", "sgd", "--logdir", str(tmp_path),
         "--workers", "2", "--no-progress", "--no-histograms"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path, env=ENV)
    try:
        assert wait_for(lambda: len(list(tmp_path.glob("*/lr=*/train/events.*"))) == 2), "no run started"
        time.sleep(1.0)
        family = descendants(proc.pid)
        assert len(family) >= 3  # the forkserver and two workers (and multiprocessing's resource tracker)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert wait_for(lambda: not any(alive(p) for p in family), timeout=5), \
            [Path(f"/proc/{p}/cmdline").read_bytes() for p in family if alive(p)]
    finally:
        proc.kill()
    files = lambda: {p: p.stat().st_size for p in tmp_path.rglob("*") if p.is_file()}
    before = files()
    time.sleep(1.0)
    assert files() == before


class KillsWorkersBeforeTheyStart(ProcessExecutor):
    """The local executor, with its first ``kills`` workers SIGKILLed the moment they are started."""

    def __init__(self, kills, **kw):
        super().__init__(**kw)
        self.kills = kills

    def _spawn(self, ctx, fn):
        worker = super()._spawn(ctx, fn)
        if self.kills:
            self.kills -= 1
            os.kill(worker.process.pid, signal.SIGKILL)
        return worker


def _echo(task):
    return {"task": task}


def test_a_worker_killed_before_it_starts_is_replaced_and_its_run_goes_on():
    outcomes = {}
    KillsWorkersBeforeTheyStart(1, workers=2).run(_echo, ["a", "b", "c"], lambda t, o: outcomes.__setitem__(t, o))
    assert outcomes == {t: {"task": t} for t in "abc"}


def test_workers_killed_before_they_start_every_time_give_the_true_reason():
    with pytest.raises(WorkerStartError) as info:
        KillsWorkersBeforeTheyStart(10, workers=1).run(_echo, ["a"], lambda t, o: None)
    message = str(info.value)
    assert "killed before they started" in message and "SIGKILL" in message
    assert "__main__" not in message


def test_folders_named_like_libraries_in_the_working_directory_do_not_break_a_sweep(tmp_path):
    # torch: what tensorboardX tries to import; PIL: what the workers' forkserver preloads.
    for name in ("torch", "PIL"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise RuntimeError('this is not the real {name}')\n")
    for workers in ("1", "2"):
        proc = subprocess.run(
            [sys.executable, "-m", "flowlab", "sweep", "--dataset", "blobs", "--hidden", "4", "--epochs", "2",
             "--lr", "0.01", "0.1", "--logdir", str(tmp_path / f"logs{workers}"), "--workers", workers,
             "--no-progress"], capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "runs: 2 completed" in proc.stdout


def write_mnist(folder, n):
    """Four gzipped IDX files of ``n`` blank 28x28 images (big enough that loading takes a moment)."""
    import gzip

    import numpy as np

    folder.mkdir()
    for prefix in ("train", "t10k"):
        images = np.zeros((n, 28, 28), np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(
            b"\0\0\x08\x03" + np.array([n, 28, 28], ">u4").tobytes() + images.tobytes(), 1))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(
            b"\0\0\x08\x01" + np.array([n], ">u4").tobytes() + labels.tobytes(), 1))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("when", ["start-up", "data loading"])
def test_a_signal_during_start_up_exits_130_with_one_line_and_no_sweep_dir(tmp_path, signum, when):
    logdir = tmp_path / "logs"
    if when == "start-up":  # waiting for a Dask scheduler file that a batch job has not written yet
        argv = ["--dataset", "blobs", "--scheduler-file", str(tmp_path / "scheduler.json")]
    else:
        write_mnist(tmp_path / "mnist", 30000)
        argv = ["--dataset", "mnist", "--data-dir", str(tmp_path / "mnist"), "--workers", "1"]
    proc = subprocess.Popen([sys.executable, "-m", "flowlab", "sweep", *argv, "--epochs", "2", "--hidden", "4",
                             "--lr", "0.1", "--logdir", str(logdir), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        if when == "start-up":
            time.sleep(2.5)
        else:
            assert wait_for(lambda: any(logdir.glob("*/.flowlab")), timeout=60), "the sweep did not start"
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "interrupted" in err, err
    assert not logdir.exists() or not any(logdir.iterdir())  # a sweep directory it had made is gone again


@pytest.fixture
def small_disk(tmp_path):
    """A 300 KB tmpfs: room for a few runs, not for ten."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a full disk is tested on a small tmpfs, which needs root to mount")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_is_one_line_fails_unwritten_runs_and_keeps_every_finished_one(small_disk):
    lrs = [f"0.0{i}" for i in range(1, 10)] + ["0.1"]
    argv = [sys.executable, "-m", "flowlab", "sweep", "--dataset", "blobs", "--hidden", "8", "--epochs", "5",
            "--logdir", str(small_disk), "--workers", "1", "--no-progress",
            "--stack", "off"]  # in order: the first runs fit (stacked, all ten would be writing at once)
    proc = subprocess.run([*argv, "--lr", *lrs], capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 1
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "the disk is full" in err[0] and "No space left on device" in err[0], proc.stderr
    [sweep_dir] = small_disk.iterdir()
    rows = {line.split(",")[0]: line for line in (sweep_dir / "results.csv").read_text().splitlines()[1:]}
    # (one axis: run names hold no comma, so a row splits plainly)
    assert len(rows) == 10
    finished = [p.parent for p in sweep_dir.glob("*/run.json")
                if json.loads(p.read_text())["status"] == "completed"]
    assert finished, "no run finished before the disk filled"
    for run in finished:                      # each finished run is whole and in results.csv
        assert ",completed," in rows[run.name] and (run / "model.npz").is_file()
    failed = [line for line in rows.values() if ",failed," in line]
    assert len(failed) == 10 - len(finished) and all("No space left on device" in line for line in failed)
    # With room again, a resume finishes the sweep and keeps the runs that were done.
    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)
    kept = {run: (run / "model.npz").read_bytes() for run in finished}
    proc = subprocess.run([*argv[:3], "sweep", "--resume", str(sweep_dir), "--workers", "2", "--no-progress"],
                          capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "runs: 10 completed" in proc.stdout
    assert {run: (run / "model.npz").read_bytes() for run in finished} == kept


SIGNAL_WHILE_IMPORTING = """
import builtins, os, runpy, signal, sys

real_import = builtins.__import__

def importing(name, *args, **kwargs):
    if name == {target!r} and not getattr(importing, "sent", False):
        importing.sent = True
        os.kill(os.getpid(), signal.{signal})
    return real_import(name, *args, **kwargs)

builtins.__import__ = importing
sys.argv = ["flowlab", "sweep", "--dataset", "blobs", "--epochs", "1", "--logdir", {logdir!r}, "--no-progress"]
runpy.run_module("flowlab", run_name="__main__")
"""


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("target", ["cli", "numpy"])  # `python -m flowlab` importing its command; the command numpy
def test_a_signal_while_the_command_imports_is_one_line_and_exit_130(tmp_path, signame, target):
    code = SIGNAL_WHILE_IMPORTING.format(target=target, signal=signame, logdir=str(tmp_path / "logs"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.count("\n") == 1 and "interrupted" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "logs").exists()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads signal masks from /proc")
def test_the_forkserver_starts_with_ctrl_c_blocked_and_the_driver_gets_its_own_back(tmp_path):
    # Ctrl-C reaches the whole process group; a server that could take it while importing printed a traceback.
    code = """
import os, signal, sys
from multiprocessing import forkserver
import flowlab.forkserver as fs
fs.start()
def blocked(pid):
    status = open(f"/proc/{pid}/status").read()
    return bool(int(status.split("SigBlk:")[1].split()[0], 16) & (1 << (signal.SIGINT - 1)))
print(blocked(forkserver._forkserver._forkserver_pid), signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.stdout.split() == ["True", "False"], proc.stderr


def test_a_ctrl_c_while_the_forkserver_starts_leaves_the_environment_as_it_was():
    code = """
import os, signal
from multiprocessing import forkserver
import flowlab.forkserver as fs
real = forkserver.ensure_running
def ensure_running():
    os.kill(os.getpid(), signal.SIGINT)  # blocked meanwhile: raised once start() unblocks it
    return real()
forkserver.ensure_running = ensure_running
try:
    fs.start()
except KeyboardInterrupt:
    print("interrupted", os.environ.get("PYTHONSAFEPATH"), os.environ.get("OPENBLAS_NUM_THREADS"),
          signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))
"""
    env = {k: v for k, v in ENV.items() if k not in ("PYTHONSAFEPATH", "OPENBLAS_NUM_THREADS")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.stdout.split() == ["interrupted", "None", "None", "False"], proc.stderr
