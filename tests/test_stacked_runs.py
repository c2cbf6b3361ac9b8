"""flowlab.stacked_runs: which runs of a sweep train together, and that a stacked sweep writes every run as
if it ran alone, in this process, in workers, under SIGTERM and on a full disk."""

import csv
import json
from dataclasses import replace

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.compat.proto.graph_pb2 import GraphDef
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

import flowlab.stacked
from flowlab import Experiment
from flowlab.runner import RunTask
from flowlab.stacked_runs import group_tasks
from processes import sigterm_when


def _events(run_dir):
    """Every event of a run, by folder, with what depends on the clock left out.

    Left out: wall times, the status line's seconds, steps per second, the HParams session's start
    and end times. Protobuf maps (graph attributes, HParams values) are compared parsed, since
    their serialized order is not defined.
    """
    out = {}
    for path in sorted(run_dir.rglob("events.out.tfevents.*")):
        events = out.setdefault(path.parent.relative_to(run_dir).as_posix(), [])
        for event in EventFileLoader(str(path)).Load():
            event.wall_time = 0
            if event.HasField("graph_def"):
                events.append(("graph", GraphDef.FromString(event.graph_def)))
                continue
            values = []
            for v in event.summary.value:
                if v.tag == "epoch_steps_per_second" or v.tag.startswith("status"):
                    continue
                if v.metadata.plugin_data.plugin_name == "hparams":
                    data = HParamsPluginData.FromString(v.metadata.plugin_data.content)
                    data.session_start_info.start_time_secs = 0
                    data.session_end_info.end_time_secs = 0
                    v.metadata.plugin_data.content = b""
                    values.append((v.tag, data, str(v)))
                elif v.tag == "__run_graph__":
                    values.append((v.tag, GraphDef.FromString(v.tensor.string_val[0])))
                else:
                    values.append((v.tag, str(v)))
            events.append((event.step, values, event.file_version))
    return out


def _sweep(tmp_path, stack, workers=1, **axes):
    logdir = tmp_path / ("stacked" if stack else "alone")
    exp = Experiment("grid", logdir=logdir, workers=workers, stack=stack, dataset="digits", hidden=[32], epochs=3)
    return exp.sweep(**axes)


def test_a_stacked_sweep_writes_every_run_as_if_alone(tmp_path, monkeypatch):
    calls = []
    real = flowlab.stacked.fit_stacked
    monkeypatch.setattr(flowlab.stacked, "fit_stacked", lambda trainers, *a, **k: calls.append(len(trainers))
                        or real(trainers, *a, **k))
    axes = dict(learning_rate=[0.01, 30.0], optimizer=["rmsprop", "momentum"], activation=["relu", "tanh"],
                schedule=["constant", "step:1:0.5"], momentum=[0.0, 0.5])
    stacked = _sweep(tmp_path, True, **axes)
    assert calls == [16, 16]  # one stack per activation, trained in this process
    alone = _sweep(tmp_path, False, **axes)
    assert "diverged" in [r.status for r in alone] and "completed" in [r.status for r in alone]
    for s, a in zip(stacked, alone):
        assert (s.name, s.status, s.error, s.config, s.metrics, s.initial_weights) == \
               (a.name, a.status, a.error, a.config, a.metrics, a.initial_weights)
        sdir, adir = stacked.sweep_dir / s.name, alone.sweep_dir / a.name
        sj, aj = (json.loads((d / "run.json").read_text()) for d in (sdir, adir))
        assert {k: v for k, v in sj.items() if k not in ("seconds", "logdir")} == \
               {k: v for k, v in aj.items() if k not in ("seconds", "logdir")}
        with np.load(sdir / "model.npz") as sm, np.load(adir / "model.npz") as am:
            assert sm.files == am.files
            for name in sm.files:
                assert np.array_equal(sm[name], am[name], equal_nan=sm[name].dtype.kind == "f"), name
        se, ae = _events(sdir), _events(adir)
        assert se.keys() == ae.keys()
        for folder in se:
            assert se[folder] == ae[folder], (s.name, folder)
    tables = [list(csv.DictReader(open(r.sweep_dir / "results.csv"))) for r in (stacked, alone)]
    for table in tables:
        for row in table:
            row.pop("seconds")
    assert tables[0] == tables[1] and len(tables[0]) == 32


def test_where_stacking_would_not_be_bit_identical_the_runs_train_alone(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(flowlab.stacked, "_exact", lambda *a: False)  # as on a BLAS that rounds slices otherwise
    monkeypatch.setattr(flowlab.stacked, "fit_stacked", lambda *a, **k: calls.append(a))
    axes = dict(learning_rate=[0.01, 0.1], optimizer=["sgd", "adam"])
    guarded, alone = _sweep(tmp_path, True, **axes), _sweep(tmp_path, False, **axes)
    assert calls == []
    for g, a in zip(guarded, alone):
        assert (g.name, g.status, g.metrics) == (a.name, a.status, a.metrics)


def test_stacked_sweep_in_worker_processes(tmp_path):
    axes = dict(learning_rate=[0.01, 0.1], optimizer=["sgd", "adam"], seed=[0, 1])
    stacked, alone = _sweep(tmp_path, True, workers=2, **axes), _sweep(tmp_path, False, workers=2, **axes)
    for s, a in zip(stacked, alone):
        assert (s.name, s.status, s.metrics) == (a.name, a.status, a.metrics)
        sdir, adir = stacked.sweep_dir / s.name, alone.sweep_dir / a.name
        with np.load(sdir / "model.npz") as sm, np.load(adir / "model.npz") as am:
            assert all(np.array_equal(sm[k], am[k]) for k in sm.files)


def _task(**config):
    base = {"dataset": "digits", "hidden": (64,), "learning_rate": 0.01, "optimizer": "adam", "batch_size": 32,
            "activation": "relu", "seed": 0}
    return RunTask(name=repr(config), run_dir="", config={**base, **config})


def test_the_runner_groups_what_differs_only_in_learning_rate_and_optimizer():
    tasks = [_task(learning_rate=lr, optimizer=o, activation=a) for a in ("relu", "tanh", "sigmoid")
             for lr in (0.001, 0.01, 0.1) for o in ("sgd", "adam", "momentum")]
    jobs = group_tasks(tasks, "auto", workers=2)
    # 3 stacks of 9 on 2 workers: the largest is split so each worker has work at the end too.
    assert sorted(len(j) for j in jobs) == [4, 5, 9, 9]
    assert sorted(t.name for j in jobs for t in j) == sorted(t.name for t in tasks)
    assert all(len({t.config["activation"] for t in j}) == 1 for j in jobs)
    settings = [_task(optimizer="momentum", momentum=m, nesterov=n, schedule=sc) for m in (0.5, 0.9)
                for n in (False, True) for sc in (None, "cosine")]
    assert [len(j) for j in group_tasks(settings, "auto", workers=1)] == [8]
    seeds = group_tasks([_task(seed=0), _task(seed=1)], True, workers=1)
    assert all(isinstance(j, RunTask) for j in seeds)  # a seed draws its own validation split: not stacked
    assert group_tasks(tasks, False, workers=2) == tasks


def test_auto_stacks_only_where_it_was_measured_to_pay():
    wide = [_task(hidden=(256,), optimizer=o) for o in ("sgd", "adam")]
    big_batch = [_task(batch_size=512, optimizer=o) for o in ("sgd", "adam")]
    mnist = [_task(dataset="mnist", optimizer=o) for o in ("sgd", "adam")]  # 784-64-10 batch 32: 1.9x
    assert [len(j) for j in group_tasks(mnist, "auto", workers=1)] == [2]
    full_batch = [_task(batch_size=None, optimizer=o) for o in ("sgd", "adam")]
    regression = [_task(dataset="diabetes", optimizer=o) for o in ("sgd", "adam")]
    built = [replace(_task(optimizer=o), builder=print) for o in ("sgd", "adam")]
    regularized = [_task(optimizer=o, dropout=0.1) for o in ("sgd", "adam")]
    for tasks in (wide, big_batch, full_batch, regression, built, regularized):
        assert all(isinstance(j, RunTask) for j in group_tasks(tasks, "auto", workers=1)), tasks[0].config
    assert [len(j) for j in group_tasks(wide, True, workers=1)] == [2]
    assert all(isinstance(j, RunTask) for j in group_tasks(regression, True, workers=1))


def test_sigterm_during_a_stacked_sweep_keeps_every_runs_epochs(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tensorboard.backend.event_processing.event_accumulator import (
        STORE_EVERYTHING_SIZE_GUIDANCE,
        EventAccumulator,
    )

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowlab", "sweep", "--dataset", "digits", "--epochs", "300", "--batch-size", "1",
         "--hidden", "16", "--lr", "0.001", "0.002", "--optimizer", "sgd", "adam", "--logdir", str(tmp_path),
         "--workers", "1", "--no-progress", "--no-histograms", "--stack", "on"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root, env=dict(os.environ))
    out, err = sigterm_when(proc, lambda: len(list(tmp_path.glob("*/*/train/events.*"))) >= 4)
    assert proc.returncode == 130, err
    records = [json.loads(p.read_text()) for p in tmp_path.glob("*/*/run.json")]
    assert len(records) == 4 and {r["status"] for r in records} == {"interrupted"}
    for r in records:
        epochs = r["metrics"]["epochs_run"]
        assert 0 < epochs < 300
        ea = EventAccumulator(str(Path(r["logdir"]) / "train"), size_guidance=STORE_EVERYTHING_SIZE_GUIDANCE).Reload()
        assert [e.step for e in ea.Scalars("epoch_loss")] == list(range(epochs))
        with np.load(Path(r["logdir"]) / "model.npz") as saved:
            assert "dense_1/kernel" in saved.files


def test_a_full_disk_during_a_stacked_sweep_keeps_what_finished_and_resumes(tmp_path):
    import os
    import subprocess
    import sys

    if os.geteuid() != 0:
        pytest.skip("a full disk is tested on a small tmpfs, which needs root to mount")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        argv = [sys.executable, "-m", "flowlab", "sweep", "--dataset", "blobs", "--hidden", "8", "--epochs", "5",
                "--logdir", str(disk), "--workers", "1", "--no-progress", "--stack", "on"]
        lrs = [f"0.0{i}" for i in range(1, 10)] + ["0.1"]
        proc = subprocess.run([*argv, "--lr", *lrs], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1
        err = proc.stderr.strip().splitlines()
        assert len(err) == 1 and "the disk is full" in err[0], proc.stderr
        [sweep_dir] = disk.iterdir()
        rows = {r["name"]: r for r in csv.DictReader(open(sweep_dir / "results.csv"))}
        assert len(rows) == 10
        for run in sweep_dir.glob("*/run.json"):  # what a run's own record says, results.csv says too
            try:
                record = json.loads(run.read_text())
            except ValueError:
                continue
            if record["status"] == "completed":
                assert rows[record["name"]]["status"] == "completed"
        assert {r["status"] for r in rows.values()} <= {"completed", "failed"}
        subprocess.run(["mount", "-o", "remount,size=4m", str(disk)], check=True)
        proc = subprocess.run([*argv[:3], "sweep", "--resume", str(sweep_dir), "--workers", "1", "--no-progress"],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "runs: 10 completed" in proc.stdout
    finally:
        subprocess.run(["umount", str(disk)], check=True)
