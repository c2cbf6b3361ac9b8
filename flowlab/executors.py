"""Executors: where a sweep's runs execute (this process, local worker processes, or a Dask cluster).

An executor has one method, ``run(fn, tasks, on_done)``: it calls ``fn(task)`` for every task and
``on_done(task, outcome)`` in the driver as each one finishes, where ``outcome`` is what ``fn``
returned or an exception describing why it could not return. On KeyboardInterrupt it stops the
tasks under way (letting them record themselves as interrupted), reports those that answer, and
re-raises.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import traceback
from collections import deque
from multiprocessing.connection import wait

__all__ = ["InProcessExecutor", "ProcessExecutor", "WorkerDied", "make_executor"]

#: Seconds a stopped worker gets to write its interrupted record before it is killed.
STOP_GRACE = 20.0


class WorkerDied(RuntimeError):
    """A worker process ended without returning its result (killed, crashed, out of memory)."""


class InProcessExecutor:
    """Runs tasks one after another in this process: the simplest path for debugging and notebooks."""

    local = True
    workers = 1

    def run(self, fn, tasks, on_done):
        for task in tasks:
            outcome = fn(task)
            on_done(task, outcome)
            if isinstance(outcome, dict) and outcome.get("status") == "interrupted":
                raise KeyboardInterrupt


class ProcessExecutor:
    """Runs each task in its own worker process, ``workers`` at a time.

    A process per run means a worker that dies (segfault, SIGKILL, out of memory) fails only its
    own run, and the sweep goes on. Processes come from a forkserver that has flowlab and
    tensorboardX imported already, so starting one costs milliseconds. Each worker limits BLAS to
    ``threads`` threads: several BLAS threads per worker on a shared core are many times slower.

    Args:
        workers: processes at once (default: the number of CPUs this process may use).
        threads: BLAS threads per worker.
    """

    local = False

    def __init__(self, workers=None, threads=1):
        self.workers = workers or _cpu_count()
        self.threads = threads

    def run(self, fn, tasks, on_done):
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["flowlab.experiment", "flowlab.tensorboard", "tensorboardX"])
        pending = deque(tasks)
        live = {}  # connection -> (process, task)
        try:
            while pending or live:
                while pending and len(live) < self.workers:
                    task = pending.popleft()
                    reader, writer = ctx.Pipe(duplex=False)
                    process = ctx.Process(target=_worker, args=(fn, task, writer, self.threads), daemon=True)
                    process.start()
                    writer.close()
                    live[reader] = (process, task)
                for conn in wait(list(live)):
                    process, task = live.pop(conn)
                    on_done(task, _collect(conn, process))
        except KeyboardInterrupt:
            pending.clear()
            self._stop(live, on_done)
            raise

    def _stop(self, live, on_done):
        """Asks every running worker to stop (SIGTERM), reports what they return, kills stragglers."""
        for process, _ in live.values():
            if process.is_alive():
                process.terminate()
        deadline = _now() + STOP_GRACE
        while live and _now() < deadline:
            for conn in wait(list(live), timeout=max(0.0, deadline - _now())):
                process, task = live.pop(conn)
                outcome = _collect(conn, process)
                if not isinstance(outcome, WorkerDied):
                    on_done(task, outcome)
        for process, _ in live.values():
            process.kill()
            process.join()


def _now():
    import time

    return time.monotonic()


def _collect(conn, process):
    """The worker's result, or a WorkerDied/RuntimeError saying why there is none."""
    try:
        kind, payload = conn.recv()
    except (EOFError, OSError):
        process.join()
        code = process.exitcode
        how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
        return WorkerDied(f"worker process died ({how}) before the run finished")
    finally:
        conn.close()
    process.join()
    return payload if kind == "ok" else RuntimeError(payload)


def _worker(fn, task, conn, threads):
    """A worker process: one task, BLAS limited, SIGTERM turned into KeyboardInterrupt."""
    # Ctrl-C in a terminal reaches every process of the group; the driver decides what stops,
    # and tells the workers with SIGTERM, which the run turns into an 'interrupted' record.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=threads, user_api="blas"):
            result = ("ok", fn(task))
    except BaseException as exc:  # noqa: BLE001 - everything must reach the driver as a message
        result = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    try:
        conn.send(result)
    finally:
        conn.close()


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def make_executor(executor=None, workers=None):
    """The executor for an ``Experiment``'s ``executor`` and ``workers`` arguments.

    Args:
        executor: None or "local" (processes on this machine, or this process when workers=1), a
            Dask scheduler address "tcp://host:port" or a ``distributed.Client``, or any object
            with ``run(fn, tasks, on_done)``. The ``DASK_SCHEDULER_ADDRESS`` variable selects Dask
            when executor is None.
        workers: local worker processes (default: one per core).
    """
    if executor is None:
        executor = os.environ.get("DASK_SCHEDULER_ADDRESS") or "local"
    if hasattr(executor, "run") and not isinstance(executor, str):
        return executor
    if executor == "local":
        if workers == 1:
            return InProcessExecutor()
        return ProcessExecutor(workers)
    if isinstance(executor, str) and "://" not in executor and not executor.endswith(".json"):
        raise ValueError(
            f"unknown executor {executor!r}; use 'local', a Dask scheduler address like "
            "'tcp://127.0.0.1:8786', or a scheduler file ending in .json"
        )
    try:
        from .dask import DaskExecutor
    except ImportError as exc:
        raise ImportError(
            f"executor {executor!r} needs Dask: pip install 'flowlab[dask]' ({exc})"
        ) from None
    return DaskExecutor(executor)
