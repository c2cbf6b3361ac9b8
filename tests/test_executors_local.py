"""flowlab.executors.local: where runs execute on this machine. A worker that dies costs its own task only."""

import os
import signal
import time

import pytest

from flowlab.executors import InProcessExecutor, ProcessExecutor, WorkerDied


def _task_fn(task):
    if task == "die":
        os._exit(3)
    if task == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if task == "raise":
        raise ValueError("bad task")
    return {"task": task, "pid": os.getpid()}


def test_process_executor_survives_dying_workers():
    outcomes = {}
    ProcessExecutor(workers=2).run(_task_fn, ["a", "die", "b", "kill", "raise", "c"],
                                   lambda t, o: outcomes.__setitem__(t, o))
    assert {t: o["task"] for t, o in outcomes.items() if isinstance(o, dict)} == {"a": "a", "b": "b", "c": "c"}
    assert isinstance(outcomes["die"], WorkerDied) and "exit code 3" in str(outcomes["die"])
    assert isinstance(outcomes["kill"], WorkerDied) and "SIGKILL" in str(outcomes["kill"])
    assert "ValueError: bad task" in str(outcomes["raise"])
    # Workers are reused between tasks; each death costs its own task only and a new worker.
    assert len({o["pid"] for o in outcomes.values() if isinstance(o, dict)}) <= 4


def test_in_process_executor_runs_in_this_process():
    seen = []
    InProcessExecutor().run(_task_fn, ["x", "y"], lambda t, o: seen.append(o["pid"]))
    assert seen == [os.getpid()] * 2


def _flag_fn(task):
    """("wait", path): waits (20 s at most) for the file; ("short", path): returns; ("make", path): makes it."""
    kind, path = task
    if kind == "make":
        open(path, "w").close()
    if kind != "wait":
        return kind
    deadline = time.monotonic() + 20
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return "gave up"
        time.sleep(0.01)
    return "saw it"


def test_a_worker_done_first_gets_the_next_task_while_another_is_still_busy(tmp_path):
    # A new worker says "started" before it answers. The driver must not then wait for that worker's
    # answer: the long tasks here wait for a file that only the last short task makes, which the free
    # worker gets only once the driver has taken its answers to the short ones.
    for workers in (2, 3):
        flag = str(tmp_path / f"flag{workers}")
        tasks = [("wait", flag)] * (workers - 1) + [("short", flag), ("short", flag), ("make", flag)]
        done = []
        ProcessExecutor(workers=workers).run(_flag_fn, tasks, lambda t, o: done.append(o))
        # The last two answers may come in either order: the waiting workers see the file as it is made.
        assert done[:2] == ["short", "short"] and sorted(done[2:]) == ["make"] + ["saw it"] * (workers - 1), done


def _glibc_as_it_comes():
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("malloc is tuned on glibc only")
    if "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", "") or any(
            k.startswith("MALLOC_") and k.endswith("_") for k in os.environ):
        pytest.skip("malloc tuned in this environment: workers leave it alone")


def _rss_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:"))


def _fresh_pages_fn(task):
    """Frees two 20 MB arrays, then returns how many MB of fresh memory a 30 MB one takes (what a run's
    next large temporary costs: none when it reuses what was freed); "rss": this process' resident MB."""
    import numpy as np

    if task == "rss":
        return _rss_mb()
    if task == "big":  # 8 arrays of 25 MB touched and freed: what a large run leaves on its heap
        arrays = [np.ones(25 << 17) for _ in range(8)]
        del arrays
        return _rss_mb()
    a, b = np.ones(20 << 17), np.ones(20 << 17)  # 20 MB each
    del a, b
    before = _rss_mb()
    c = np.ones(30 << 17)  # 30 MB, alive while measured
    grew = _rss_mb() - before
    del c
    return grew


def test_a_workers_next_large_array_reuses_freed_memory_instead_of_fresh_pages():
    import subprocess
    import sys

    _glibc_as_it_comes()
    outcomes = []
    ProcessExecutor(workers=1).run(_fresh_pages_fn, ["count"], lambda t, o: outcomes.append(o))
    (grew,) = outcomes
    # The same in a plain interpreter, glibc as it comes: it gives the 40 MB back when they are
    # freed, so the 30 MB array takes 30 MB of fresh memory, every page of it zeroed by the kernel.
    # The worker needs both settings for none: the mmap threshold above 20 MB, the trim threshold
    # above 40 MB.
    code = "import sys; sys.path[:0] = sys.argv[1:]; import test_executors_local as t; print(t._fresh_pages_fn('x'))"
    plain = float(subprocess.run([sys.executable, "-c", code, os.path.dirname(__file__)], capture_output=True,
                                 text=True, check=True).stdout)
    assert plain > 25
    assert grew < 5


def test_a_worker_gives_freed_memory_back_between_tasks():
    _glibc_as_it_comes()
    outcomes = []
    ProcessExecutor(workers=1).run(_fresh_pages_fn, ["rss", "big", "rss"], lambda t, o: outcomes.append(o))
    start, freed, after = outcomes
    assert freed > start + 150  # the task's heap kept the 200 MB it freed, for its next arrays ...
    assert after < start + 50  # ... and gave them back when the task ended


def test_a_user_who_tuned_malloc_keeps_their_settings(monkeypatch):
    from flowlab.executors.local import keep_freed_memory

    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1000000")
    assert keep_freed_memory() is False
    monkeypatch.delenv("GLIBC_TUNABLES")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1000000")
    assert keep_freed_memory() is False
