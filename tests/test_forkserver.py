"""The workers' forkserver, and `flowlab sweep` starting it before the driver's own imports."""

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from flowlab.cli import _local_pool, build_parser


def _env_without_openblas_threads():
    """This environment without the user's OPENBLAS_NUM_THREADS, so that flowlab's own choice shows."""
    return {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}


def _args(*argv):
    return build_parser().parse_args(["sweep", *argv])


@pytest.mark.parametrize("argv, env, pool", [
    ((), {}, True),
    (("--workers", "2"), {}, True),
    (("--executor", "local"), {}, True),
    (("--workers", "1"), {}, False),  # runs in the driver
    (("--executor", "tcp://127.0.0.1:8786"), {}, False),  # Dask workers
    (("--scheduler-file", "s.json"), {}, False),
    ((), {"DASK_SCHEDULER_ADDRESS": "tcp://127.0.0.1:8786"}, False),
])
def test_a_local_pool_is_recognised_from_the_arguments(monkeypatch, argv, env, pool):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert _local_pool(_args(*argv)) is pool


def test_train_runs_in_a_worker_too_and_datasets_runs_none():
    assert _local_pool(build_parser().parse_args(["train"])) is True
    assert _local_pool(build_parser().parse_args(["train", "--workers", "1"])) is False
    assert _local_pool(SimpleNamespace(command="datasets", executor=None, workers=None)) is False


SCRIPT = r"""
import json, os, sys
import flowlab.forkserver as fs
from multiprocessing import forkserver
calls = []
start = fs.start
def recording_start():
    calls.append({"numpy_imported": "numpy" in sys.modules, "experiment_imported": "flowlab.experiment" in sys.modules,
                  "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS")})
    ctx = start()
    calls[-1]["server_pid"] = forkserver._forkserver._forkserver_pid
    return ctx
fs.start = recording_start
from flowlab.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "calls": calls, "after": os.environ.get("OPENBLAS_NUM_THREADS")}))
"""


def test_sweep_starts_the_forkserver_before_importing_numpy_and_uses_that_one(tmp_path):
    argv = ["sweep", "--dataset", "blobs", "--samples", "120", "--epochs", "1", "--lr", "0.1", "0.01",
            "--activation", "relu", "--optimizer", "sgd", "--workers", "2", "--logdir", str(tmp_path / "logs"),
            "--no-progress", "--stack", "off"]
    env = _env_without_openblas_threads()
    out = subprocess.run([sys.executable, "-c", SCRIPT, *argv], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["code"] == 0
    first, *later = report["calls"]
    # The driver's own OpenBLAS is to load without threads (its runs train in workers); given back after.
    assert first == {"numpy_imported": False, "experiment_imported": False, "openblas_threads": "1",
                     "server_pid": first["server_pid"]}
    assert report["after"] is None
    assert later, "the executor asks for the server as well"
    assert all(c["server_pid"] == first["server_pid"] for c in later)  # the early one serves the sweep
    runs = sorted(p.parent.name for p in (tmp_path / "logs").glob("*/*/run.json"))
    assert len(runs) == 2
    for p in (tmp_path / "logs").glob("*/*/run.json"):
        assert json.loads(p.read_text())["status"] == "completed"


def test_bad_arguments_do_not_start_a_server(tmp_path):
    env = _env_without_openblas_threads()
    out = subprocess.run([sys.executable, "-c", SCRIPT, "sweep", "--lr", "fast", "--logdir", str(tmp_path)],
                         capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0  # the script's own exit; main returned 2
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"code": 2, "calls": [], "after": None}
    assert "--lr must be a number, got 'fast'" in out.stderr
    assert not any(tmp_path.iterdir())


SERVER = r"""
import json, os, sys


def blas_threads(_):
    from threadpoolctl import threadpool_info

    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"], len(os.listdir("/proc/self/task"))


if __name__ == "__main__":
    from multiprocessing import forkserver

    import flowlab.forkserver as fs
    from flowlab.executors import ProcessExecutor

    before = dict(os.environ)
    fs.start()
    pid = forkserver._forkserver._forkserver_pid
    out = []
    ProcessExecutor(workers=1, threads=int(sys.argv[1])).run(blas_threads, [0], lambda task, o: out.append(o))
    with open(f"/proc/{pid}/environ") as f:
        env = dict(x.split("=", 1) for x in f.read().split("\0") if "=" in x)
    print(json.dumps({"server_env": env.get("OPENBLAS_NUM_THREADS"), "worker_blas": out[0][0],
                      "worker_threads": out[0][1], "environ_restored": dict(os.environ) == before}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_load_openblas_without_threads_of_its_own_and_still_get_the_threads_they_ask_for(tmp_path):
    # OpenBLAS starts a thread per core when loaded, which spins ~80 ms: a worker of one BLAS thread
    # should have none of them (the OS's count of its threads), and one of two should still get two.
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    env = _env_without_openblas_threads()

    def report(threads, **extra):
        out = subprocess.run([sys.executable, str(script), str(threads)], capture_output=True, text=True,
                             timeout=120, env={**env, **extra})
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    quiet, two, users = report(1), report(2), report(1, OPENBLAS_NUM_THREADS="2")
    assert quiet["server_env"] == two["server_env"] == "1" and users["server_env"] == "2"  # the user's choice stands
    assert quiet["worker_blas"] == users["worker_blas"] == [1] and two["worker_blas"] == [2]
    assert quiet["environ_restored"] and users["environ_restored"]
    if len(os.sched_getaffinity(0)) > 1:  # loaded with two threads, OpenBLAS keeps its second one when limited to one
        assert users["worker_threads"] == quiet["worker_threads"] + 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_driver_whose_runs_train_in_workers_loads_openblas_without_threads(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    script = ("import os, sys, flowlab.forkserver as fs; fs.quiet_driver_blas(); import numpy; "
              "from threadpoolctl import threadpool_info; "
              "print([i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'], "
              "len(os.listdir('/proc/self/task')))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["[1]", "1"], out.stderr
    # Given back: programs started afterwards see the user's environment (the loaded BLAS keeps its choice).
    back = ("import os, flowlab.forkserver as fs; fs.quiet_driver_blas(); fs.restore_driver_blas(); "
            "print(os.environ.get('OPENBLAS_NUM_THREADS'))")
    assert subprocess.run([sys.executable, "-c", back], capture_output=True, text=True, timeout=60).stdout.strip() == "None"
    # Once numpy is loaded it is too late to choose, and the environment is left as it was.
    late = "import os, numpy, flowlab.forkserver as fs; fs.quiet_driver_blas(); print(os.environ.get('OPENBLAS_NUM_THREADS'))"
    assert subprocess.run([sys.executable, "-c", late], capture_output=True, text=True, timeout=60).stdout.strip() == "None"
