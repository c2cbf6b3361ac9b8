"""The Dask executor against real clusters on loopback: a LocalCluster and the `dask` command line."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import tbread  # noqa: E402
from processes import stop  # noqa: E402
from flowlab import config, experiment  # noqa: E402
from flowlab.cli import main  # noqa: E402
from flowlab.executors import ClusterError, DaskExecutor, WorkerDied, local_cluster, make_executor  # noqa: E402
from flowlab.experiment import Experiment, SweepInterrupted, read_run  # noqa: E402
from flowlab.runner import RunTask  # noqa: E402

SMALL = {"dataset": "iris", "hidden": [8], "epochs": 3, "batch_size": 16, "histograms": False}
GRID = {"learning_rate": [0.01, 0.05], "optimizer": ["sgd", "adam"], "batch_size": [8, 32]}


@pytest.fixture(scope="module")
def cluster():
    # local_cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
    # dashboard_address=None, host="127.0.0.1") with flowlab's Dask settings.
    with local_cluster(2) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        yield cluster


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster, set_as_default=False) as client:
        yield client


@pytest.fixture
def workers(client):
    """The cluster's client, with both workers up (a test before may have killed one)."""
    client.wait_for_workers(2, timeout=30)
    return client


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    """The reference: the same 8-run sweep in this process."""
    return Experiment("grid", logdir=tmp_path_factory.mktemp("local"), workers=1, **SMALL).sweep(**GRID)


def _dask_from_the_shell(file, env=None):
    """A scheduler and a worker of 2 processes started with the ``dask`` command, as a user would, with
    flowlab's nanny setting and ``env``; returns their log and the processes (scheduler first)."""
    env = {**os.environ, "DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON": "{'MALLOC_TRIM_THRESHOLD_': None}", **(env or {})}
    dask = [sys.executable, "-m", "dask"]
    log = open(file.parent / "dask.log", "wb")
    processes = [subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address", "127.0.0.1:0",
         "--scheduler-file", str(file)], env=env, stdout=log, stderr=log)]
    processes.append(subprocess.Popen(
        [*dask, "worker", "--scheduler-file", str(file), "--host", "127.0.0.1", "--nworkers", "2", "--nthreads",
         "1", "--dashboard-address", "127.0.0.1:0"], env=env, stdout=log, stderr=log))
    return log, processes


def layout(sweep_dir):
    """Every file of a sweep, event file names reduced to their directory."""
    return sorted(re.sub(r"events\.out\.tfevents\..*", "events", p.relative_to(sweep_dir).as_posix())
                  for p in sweep_dir.rglob("*") if p.is_file())


def scalars(run_dir, group, tag="epoch_loss"):
    return tbread.scalars(run_dir / group, tag)


def assert_same_sweep(results, reference):
    assert [r.name for r in results] == [r.name for r in reference]
    assert layout(results.sweep_dir) == layout(reference.sweep_dir)
    for got, want in zip(results, reference):
        assert got.status == want.status == "completed", got.error
        assert got.metrics == want.metrics and got.initial_weights == want.initial_weights
        run_dir = results.sweep_dir / got.name
        assert got.logdir == str(run_dir) == json.loads((run_dir / "run.json").read_text())["logdir"]
        for group in ("train", "validation"):
            assert scalars(run_dir, group) == scalars(reference.sweep_dir / want.name, group)
        with np.load(run_dir / "model.npz") as a, np.load(reference.sweep_dir / want.name / "model.npz") as b:
            assert all(np.array_equal(a[k], b[k]) for k in b.files)
    assert not [p for p in results.sweep_dir.iterdir() if p.name.startswith(".") and p.name != ".flowlab"]  # no staging
    assert sorted(p.name for p in (results.sweep_dir / ".flowlab").iterdir()) == ["lock", "sweep.json"]


def test_sweep_on_a_local_cluster_equals_the_local_sweep(tmp_path, cluster, workers, local_sweep):
    results = Experiment("grid", logdir=tmp_path, executor=cluster, **SMALL).sweep(**GRID)
    assert_same_sweep(results, local_sweep)


def test_dask_command_line_cluster_with_a_scheduler_file(tmp_path, local_sweep):
    """`dask scheduler` and `dask worker` on loopback with a scheduler file, used through the CLI."""
    file = tmp_path / "scheduler.json"
    log, processes = _dask_from_the_shell(file, {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",
                                                 "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0"})
    try:
        with distributed.Client(scheduler_file=str(file), timeout=30, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=30)
            assert client.scheduler.address.startswith("tcp://127.0.0.1:")
            assert client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures) == 1
        logdir = tmp_path / "logs"
        code = main(["sweep", "--name", "grid", "--dataset", "iris", "--hidden", "8", "--epochs", "3", "--lr", "0.01",
                     "0.05", "--optimizer", "sgd", "adam", "--batch-size", "8", "32", "--no-histograms",
                     "--no-progress", "--logdir", str(logdir), "--scheduler-file", str(file)])
        assert code == 0
        key = lambda r: tuple(r.config[k] for k in GRID)  # noqa: E731 - the CLI orders run names its own way
        runs = {key(r): r for r in map(read_run, next(logdir.iterdir()).iterdir()) if r is not None}
        assert sorted(runs) == sorted(map(key, local_sweep))
        for want in local_sweep:
            assert runs[key(want)].status == "completed" and runs[key(want)].metrics == want.metrics
    finally:
        for process in reversed(processes):  # the worker, then the scheduler
            stop(process, timeout=20)
        log.close()


def test_a_run_that_raises_on_its_worker_is_failed_with_its_message(tmp_path, cluster, workers, monkeypatch):
    # The driver has this MNIST folder (its dataset cache says so), the workers do not: the run
    # raises on its worker, as it would on a cluster without the data.
    missing = str(tmp_path / "no-mnist-here")
    iris = experiment._load_data(RunTask("iris", "", {"dataset": "iris", "seed": 0, "val_fraction": 0.2, "dtype": "float64"}))
    key = experiment._data_key({"dataset": "mnist", "data_dir": missing, "seed": 0, "val_fraction": 0.2,
                                "dtype": "float32"})
    monkeypatch.setitem(experiment._DATA_CACHE, key, iris)
    monkeypatch.setattr(config, "check_files", lambda name, data_dir=None: None)  # RunConfig checks the files
    exp = Experiment("fail", logdir=tmp_path, executor=cluster, data_dir=missing, **SMALL)
    results = exp.sweep(dataset=["iris", "mnist"])
    status = {r.config["dataset"]: r for r in results}
    assert status["iris"].status == "completed"
    assert status["mnist"].status == "failed"
    assert status["mnist"].error.startswith("FileNotFoundError: mnist: missing train-images-idx3-ubyte")
    saved = json.loads((results.sweep_dir / "dataset=mnist" / "run.json").read_text())
    assert saved["status"] == "failed" and "Traceback" in saved["traceback"]

    def fn(task):
        if task == "bad":
            raise ValueError("bad task")
        return task

    outcomes = {}
    DaskExecutor(workers).run(fn, ["good", "bad"], outcomes.__setitem__)
    assert outcomes["good"] == "good"
    assert isinstance(outcomes["bad"], RuntimeError) and str(outcomes["bad"]).startswith("ValueError: bad task")


def test_a_killed_worker_fails_only_its_run_after_one_retry(tmp_path, workers):
    marker = tmp_path / "killed-once"

    def fn(task):
        if task == "dies-every-time" or (task == "dies-once" and not marker.exists()):
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return task

    outcomes = {}
    DaskExecutor(workers).run(fn, ["a", "dies-every-time", "b", "dies-once", "c"], outcomes.__setitem__)
    assert {t: o for t, o in outcomes.items() if isinstance(o, str)} == {t: t for t in "abc"} | {
        "dies-once": "dies-once"}  # retried on another worker
    assert isinstance(outcomes["dies-every-time"], WorkerDied) and "worker running this run died" in str(
        outcomes["dies-every-time"])


def _wait_for(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.02)


def test_ctrl_c_keeps_finished_runs_stops_running_ones_and_resume_finishes(tmp_path, cluster, workers):
    exp = Experiment("stop", logdir=tmp_path, executor=cluster, **{**SMALL, "batch_size": 1})
    # 3 short runs, then 3 long ones (about 2 s each at batch size 1, so none can finish in the
    # moment between "two are training" and the Ctrl-C, even on a loaded machine)
    axes = {"epochs": [3, 300], "learning_rate": [0.01, 0.02, 0.03]}

    def interrupt():  # Ctrl-C once the short runs are saved and two long ones are training
        def ready():
            saved = list(tmp_path.glob("stop-*/*/run.json"))
            running = [k for keys in workers.processing().values() for k in keys if "epochs=300" in k]
            return len(saved) == 3 and len(running) == 2
        _wait_for(ready)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    with pytest.raises(SweepInterrupted) as info:
        exp.sweep(**axes)
    results = info.value.results
    sweep_dir = results.sweep_dir
    assert sorted(r.status for r in results) == ["completed"] * 3 + ["interrupted"] * 2, [(r.name, r.status, r.error) for r in results]
    for r in results:
        assert read_run(sweep_dir / r.name).status == r.status
        if r.status == "interrupted":
            assert r.metrics["epochs_run"] < 300
    assert len([p for p in sweep_dir.iterdir() if p.is_dir() and p.name != ".flowlab"]) == 5  # the queued run never started

    finished = {p: p.stat().st_mtime_ns for p in sweep_dir.rglob("*") if p.is_file() and "epochs=3," in str(p)}
    resumed = exp.sweep(resume=sweep_dir, **axes)
    assert [r.status for r in resumed] == ["completed"] * 6
    assert {p: p.stat().st_mtime_ns for p in finished} == finished
    for r in resumed:
        assert len(list((sweep_dir / r.name / "train").iterdir())) == 1  # one event file, no stale ones
        assert [s for s, _ in scalars(sweep_dir / r.name, "train")] == list(range(r.config["epochs"]))


def test_shared_logdir_lets_tensorboard_see_runs_while_they_train(tmp_path, cluster, workers):
    exp = Experiment("live", logdir=tmp_path, executor=DaskExecutor(cluster, shared_logdir=True),
                     **{**SMALL, "batch_size": 8})
    done = []
    thread = threading.Thread(target=lambda: done.append(exp.sweep(epochs=[600], learning_rate=[0.01, 0.02])))
    thread.start()
    try:
        _wait_for(lambda: list(tmp_path.glob("live-*/*/train/events.out.tfevents.*")))
        assert not list(tmp_path.glob("live-*/*/run.json"))  # still training, already visible
    finally:
        thread.join(60)
    (results,) = done
    assert [r.status for r in results] == ["completed"] * 2
    for r in results:
        assert [s for s, _ in scalars(results.sweep_dir / r.name, "train")] == list(range(600))


def test_executor_choice_and_cluster_checks(tmp_path, cluster, workers, monkeypatch):
    assert make_executor(workers).client is workers  # a Client has .run too, but is no executor
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
    for choice in (cluster, cluster.scheduler_address, None):
        executor = make_executor(choice)
        assert isinstance(executor, DaskExecutor) and executor.client.scheduler.address == cluster.scheduler_address
        executor.close()

    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        DaskExecutor("tcp://127.0.0.1:9", timeout=0.5)
    with pytest.raises(ClusterError, match="cannot read the Dask scheduler file .*missing.json"):
        DaskExecutor(tmp_path / "missing.json", timeout=0.5)

    address = sorted(workers.scheduler_info()["workers"])[0]

    def set_version(version):
        import flowlab
        flowlab.__version__ = version

    workers.run(set_version, "0.0.1", workers=[address])
    try:
        with pytest.raises(ClusterError, match=rf"0.1.0 runs here, but on the Dask cluster {address}: flowlab 0.0.1"):
            DaskExecutor(workers)
    finally:
        workers.run(set_version, "0.1.0", workers=[address])

    def hide_flowlab():
        sys.modules["_flowlab"], sys.modules["flowlab"] = sys.modules["flowlab"], None

    def restore_flowlab():
        sys.modules["flowlab"] = sys.modules.pop("_flowlab")

    workers.run(hide_flowlab, workers=[address])
    try:
        with pytest.raises(ClusterError, match=rf"{address}: cannot import flowlab"):
            DaskExecutor(workers)
    finally:
        workers.run(restore_flowlab, workers=[address])
    DaskExecutor(workers)  # all well again

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'flowlab\[dask\]'"):
        make_executor("tcp://127.0.0.1:8786")


def test_a_killed_scheduler_is_one_line_exit_1_and_keeps_finished_runs(tmp_path):
    file = tmp_path / "scheduler.json"
    log, processes = _dask_from_the_shell(file)
    try:
        with distributed.Client(scheduler_file=str(file), timeout=30, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=30)
        logdir = tmp_path / "logs"
        sweep = subprocess.Popen(
            [sys.executable, "-m", "flowlab", "sweep", "--dataset", "iris", "--hidden", "8", "--epochs", "2", "3000",
             "--lr", "0.01", "0.02", "--batch-size", "8", "--no-histograms", "--no-progress", "--logdir", str(logdir),
             "--scheduler-file", str(file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for(lambda: len(list(logdir.glob("*/epochs=2,*/run.json"))) == 2, timeout=120)
        processes[0].kill()  # the scheduler dies while the long runs train
        out, err = sweep.communicate(timeout=120)
    finally:
        for process in reversed(processes):
            process.kill()
            process.wait()
        log.close()
    assert sweep.returncode == 1, (err, [(p.parent.name, json.loads(p.read_text()).get("error")) for p in logdir.glob("*/*/run.json")])
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "lost the Dask scheduler" in lines[0] and "--resume" in lines[0]
    [sweep_dir] = logdir.iterdir()
    import csv

    rows = list(csv.DictReader((sweep_dir / "results.csv").open()))
    assert sorted(r["name"] for r in rows if r["status"] == "completed") == ["epochs=2,lr=0.01", "epochs=2,lr=0.02"]
