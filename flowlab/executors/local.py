"""This machine's executors: the sweep's own process, and a pool of worker processes that outlive
the runs that kill them (a dead worker costs its own task and is replaced) and die with the driver."""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections import deque
from multiprocessing.connection import wait

from .. import forkserver
from ..status import RunStatus

__all__ = ["InProcessExecutor", "ProcessExecutor", "WorkerDied", "WorkerStartError"]

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
            if getattr(outcome, "status", None) == RunStatus.INTERRUPTED:  # a run's record, or a stacked group's
                raise KeyboardInterrupt


class ProcessExecutor:
    """Runs tasks in ``workers`` local worker processes, each taking one task after another.

    The driver knows which task each worker holds, so a worker that dies (segfault, SIGKILL, out
    of memory) fails only the run it was running; a new worker takes its place and the sweep goes
    on. Workers come from a forkserver that has flowlab and its TensorBoard protos imported already, and
    stay alive for the whole sweep, so their imports, caches and loaded data serve every run.
    Each worker limits BLAS to ``threads`` threads (several BLAS threads per worker on a shared
    core are many times slower) and lets malloc keep the memory numpy frees during a task
    (``keep_freed_memory``), giving it back between tasks.

    Args:
        workers: processes at once (default: the number of CPUs this process may use).
        threads: BLAS threads per worker.
    """

    local = False

    def __init__(self, workers=None, threads=1):
        self.workers = workers or _cpu_count()
        self.threads = threads

    def start(self):
        """Starts the forkserver now (if it is not running), so its imports overlap with the driver's work."""
        return forkserver.start()

    def run(self, fn, tasks, on_done):
        ctx = self.start()
        pending = deque(tasks)
        idle = []   # workers waiting for a task
        busy = {}   # connection -> (worker, task)
        start_failures = 0
        try:
            while pending or busy:
                while pending and len(busy) < self.workers:
                    worker = idle.pop() if idle else self._spawn(ctx, fn)
                    task = pending.popleft()
                    try:
                        worker.conn.send(task)
                    except OSError:  # it died while idle: the task goes to a new worker
                        worker.close()
                        pending.appendleft(task)
                        continue
                    busy[worker.conn] = (worker, task)
                for conn in wait(list(busy)):
                    worker, task = busy[conn]
                    outcome = worker.result()
                    if outcome is STARTED:  # its answer comes later: wait for whichever worker is done first
                        continue
                    del busy[conn]
                    if isinstance(outcome, WorkerDied):
                        worker.close()
                        if not worker.started:
                            pending.appendleft(task)  # not the run's fault: it goes to a new worker
                            start_failures += 1
                            if worker.killed_by is None or start_failures >= START_RETRIES:
                                raise WorkerStartError(_start_error(outcome, worker))
                            continue
                    else:
                        idle.append(worker)
                    on_done(task, outcome)
        except KeyboardInterrupt:
            pending.clear()
            self._stop(busy, on_done)
            raise
        finally:
            for worker in idle + [w for w, _ in busy.values()]:
                worker.close()

    def _spawn(self, ctx, fn):
        return _Worker(ctx, fn, self.threads)

    def _stop(self, busy, on_done):
        """Asks every busy worker to stop (SIGTERM), reports what they return, kills stragglers."""
        for worker, _ in busy.values():
            worker.process.terminate()
        deadline = _now() + STOP_GRACE
        while busy and _now() < deadline:
            for conn in wait(list(busy), timeout=max(0.0, deadline - _now())):
                worker, task = busy[conn]
                outcome = worker.result()
                if outcome is STARTED:
                    continue
                del busy[conn]
                worker.close()
                if not isinstance(outcome, WorkerDied):
                    on_done(task, outcome)
        for worker, _ in busy.values():
            worker.close()
        busy.clear()


#: What ``_Worker.result`` returns for a worker's "started" message. Reading on to its answer there would
#: hold the driver until that worker's first task is done, while another worker, done sooner, waits idle
#: for its next one (at MNIST size, 0.1 to 0.2 s of a worker's time per sweep).
STARTED = object()


class WorkerStartError(RuntimeError):
    """Worker processes die before finishing any task: a problem with the setup, not with a run."""


#: Workers killed by a signal before they start (the OOM killer, a user's kill) are replaced this many times.
START_RETRIES = 3


def _start_error(outcome, worker):
    if worker.killed_by is not None:
        return (f"worker processes were killed before they started ({outcome}), {START_RETRIES} times: by the "
                f"out-of-memory killer or another program sending {worker.killed_by}; free some memory or use "
                "fewer --workers")
    return (f"worker processes could not start ({outcome}). If this sweep runs from a script, put it under "
            "`if __name__ == \"__main__\":`: each worker imports the script, and a sweep at its top level runs "
            "again there. From code with no file to import (stdin, some embeddings), use workers=1.")


class _Worker:
    """One worker process, the driver's end of its pipe, and the write end of a pipe the worker watches:
    when the driver dies, however it dies, that pipe closes and the worker kills itself."""

    started = False  # whether it said it is ready: a death before that is a start-up failure

    def __init__(self, ctx, fn, threads):
        self.conn, child = ctx.Pipe()
        watch, self.lifeline = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_worker_loop, args=(fn, child, threads, watch), daemon=True)
        self.process.start()
        child.close()
        watch.close()

    @property
    def killed_by(self):
        """The signal's name if the process was killed by one, else None."""
        code = self.process.exitcode
        return signal.Signals(-code).name if code is not None and code < 0 else None

    def result(self):
        """The worker's next message: its answer to its task, a WorkerDied/RuntimeError saying why there is
        none, or ``STARTED`` when it says it has started (its answer is still to come)."""
        try:
            kind, payload = self.conn.recv()
            if kind == "ready":  # sent once, when the process has started and imported what it needs
                self.started = True
                return STARTED
        except (EOFError, OSError):
            self.process.join()
            code = self.process.exitcode
            how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
            return WorkerDied(f"worker process died ({how}) before the run finished")
        return payload if kind == "ok" else RuntimeError(payload)

    def close(self, timeout=5.0):
        """Tells the worker to finish (or kills it if it does not) and reaps it."""
        if self.process.is_alive():
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.process.join(timeout)
            if self.process.is_alive():
                self.process.kill()
        self.process.join()
        self.conn.close()
        self.lifeline.close()


def _now():
    import time

    return time.monotonic()


_RUNNING = False


def _worker_loop(fn, conn, threads, lifeline=None):
    """A worker process: tasks one after another until told to stop; BLAS limited; dies with the driver."""
    global _RUNNING
    _die_with(lifeline)
    # Ctrl-C in a terminal reaches every process of the group; the driver decides what stops,
    # and tells busy workers with SIGTERM, which the run turns into an 'interrupted' record.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_term)
    from threadpoolctl import threadpool_limits

    keep_freed_memory()
    conn.send(("ready", None))
    with threadpool_limits(limits=threads, user_api="blas"):
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                break
            if task is None:
                break
            _RUNNING = True
            try:
                result = ("ok", fn(task))
            except BaseException as exc:  # noqa: BLE001 - everything must reach the driver as a message
                result = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
            finally:
                _RUNNING = False
            try:
                conn.send(result)
            except OSError:
                break
            release_freed_memory()
    conn.close()


#: glibc's malloc in a worker: arrays up to this many bytes come from the heap, not from a fresh mmap
#: (32 MB, where glibc's own adjusting of that threshold stops) ...
MMAP_THRESHOLD = 32 << 20
#: ... and freed memory goes back to the system only once this much lies free at the heap's top.
TRIM_THRESHOLD = 256 << 20

_GLIBC = None  # the C library, once keep_freed_memory has set it up


def keep_freed_memory():
    """Lets this worker's malloc keep the memory numpy frees during a task, for the next array to reuse.

    glibc returns a large freed block to the system at once (an mmap of its own, or the heap's top
    trimmed), so the next array of that size starts on fresh pages, each zeroed by the kernel at its
    first touch. A run allocates the same large arrays again and again (the validation pass's
    activations, the TensorBoard statistics' temporaries), and in a virtual machine each page fault
    costs microseconds: measured on the 2-core test machine, 3.1 us a 4 KB page, so 3 ms for every
    fresh 4 MB array. Only malloc's bookkeeping changes, never a number; between tasks the worker
    gives the kept memory back (``release_freed_memory``). Done in workers only (processes flowlab
    owns), on glibc, unless the user tuned malloc already (``GLIBC_TUNABLES`` naming ``glibc.malloc``,
    or a ``MALLOC_*_`` variable). Returns False where it does nothing for one of those reasons.
    """
    global _GLIBC
    import platform

    if platform.libc_ver()[0] != "glibc" or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    if any(k.startswith("MALLOC_") and k.endswith("_") for k in os.environ):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt, _ = libc.mallopt, libc.malloc_trim  # both must exist
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's <malloc.h>
    # Either setting also ends glibc's own adjusting of both, so both are set.
    if mallopt(m_mmap_threshold, MMAP_THRESHOLD) and mallopt(m_trim_threshold, TRIM_THRESHOLD):
        _GLIBC = libc
        return True
    return False


def release_freed_memory():
    """Gives the memory ``keep_freed_memory`` kept back to the system (glibc's ``malloc_trim``): a worker
    between tasks holds what it uses, not the largest run's temporaries."""
    if _GLIBC is not None:
        _GLIBC.malloc_trim(0)


def _die_with(lifeline):
    """Kills this process as soon as the driver is gone, before it can write another byte into the sweep.

    The driver holds the only write end of ``lifeline``: its death (SIGKILL, the OOM killer, a closed
    terminal) closes it, and a thread waiting on the read end wakes up. On Linux the kernel also
    sends SIGKILL when the parent (the forkserver, which exits with the driver) dies.
    """
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if lifeline is None:
        return

    def watch():
        try:
            lifeline.recv()
        except (EOFError, OSError):
            pass
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="flowlab-lifeline", daemon=True).start()


def _on_term(signum, frame):
    if _RUNNING:
        raise KeyboardInterrupt(f"signal {signum}")
    os._exit(0)  # idle: nothing to save


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
