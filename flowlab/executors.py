# Size: over 400 lines: the in-process, local worker-process and Dask executors; Dask's part is to move into a module
# of its own.
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

from .runner import run_detached, write_run_files
from .status import RunStatus

__all__ = ["ClusterError", "DaskExecutor", "InProcessExecutor", "ProcessExecutor", "WorkerDied", "WorkerStartError",
           "local_cluster", "make_executor"]

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
            if isinstance(outcome, dict) and outcome.get("status") == RunStatus.INTERRUPTED:
                raise KeyboardInterrupt


class ProcessExecutor:
    """Runs tasks in ``workers`` local worker processes, each taking one task after another.

    The driver knows which task each worker holds, so a worker that dies (segfault, SIGKILL, out
    of memory) fails only the run it was running; a new worker takes its place and the sweep goes
    on. Workers come from a forkserver that has flowlab and its TensorBoard protos imported already, and
    stay alive for the whole sweep, so their imports, caches and loaded data serve every run.
    Each worker limits BLAS to ``threads`` threads: several BLAS threads per worker on a shared
    core are many times slower.

    Args:
        workers: processes at once (default: the number of CPUs this process may use).
        threads: BLAS threads per worker.
    """

    local = False

    def __init__(self, workers=None, threads=1):
        self.workers = workers or _cpu_count()
        self.threads = threads

    def start(self):
        """Starts the forkserver now, so its imports overlap with the driver loading the data."""
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["flowlab.experiment", "flowlab.tensorboard", "flowlab.summaries", "PIL.Image"])
        from multiprocessing import forkserver

        # The forkserver starts as `python -c ...`, which puts the working directory first on its
        # sys.path (Python 3.11 ignores the sys.path it is handed): a folder there named `torch`
        # would stand in for PyTorch when tensorboardX is preloaded. PYTHONSAFEPATH keeps it off.
        saved = os.environ.get("PYTHONSAFEPATH")
        os.environ["PYTHONSAFEPATH"] = "1"
        try:
            forkserver.ensure_running()
        finally:
            if saved is None:
                del os.environ["PYTHONSAFEPATH"]
            else:
                os.environ["PYTHONSAFEPATH"] = saved
        return ctx

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
                    worker, task = busy.pop(conn)
                    outcome = worker.result()
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
                worker, task = busy.pop(conn)
                outcome = worker.result()
                worker.close()
                if not isinstance(outcome, WorkerDied):
                    on_done(task, outcome)
        for worker, _ in busy.values():
            worker.close()
        busy.clear()


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
        """The worker's answer to its task, or a WorkerDied/RuntimeError saying why there is none."""
        try:
            kind, payload = self.conn.recv()
            if kind == "ready":  # sent once, when the process has started and imported what it needs
                self.started = True
                kind, payload = self.conn.recv()
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
    conn.close()


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


def make_executor(executor=None, workers=None):
    """The executor for an ``Experiment``'s ``executor`` and ``workers`` arguments.

    Args:
        executor: None or "local" (processes on this machine, or this process when workers=1); a
            Dask scheduler address "tcp://host:port", a scheduler file "*.json", a
            ``distributed.Client`` or a Dask cluster object (see ``DaskExecutor``); or any object
            with ``run(fn, tasks, on_done)``. The ``DASK_SCHEDULER_ADDRESS`` variable selects Dask
            when executor is None.
        workers: local worker processes (default: one per core); a Dask cluster has its own.
    """
    if executor is None:
        executor = os.environ.get("DASK_SCHEDULER_ADDRESS") or "local"
    if _is_dask_object(executor):  # a Client has a .run method too, but not flowlab's
        return DaskExecutor(executor)
    if hasattr(executor, "run") and not isinstance(executor, (str, os.PathLike)):
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
    return DaskExecutor(executor)


# --- Dask ----------------------------------------------------------------------------------------

#: Dask settings for the clusters flowlab starts (``local_cluster``); the README gives the same
#: settings as environment variables for ``dask scheduler`` / ``dask worker``.
DASK_CONFIG = {
    # The nanny's default MALLOC_TRIM_THRESHOLD_=65536 costs numpy training about 35% CPU.
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # A run whose worker dies is retried once elsewhere, then failed: as the local pool does.
    "distributed.scheduler.allowed-failures": 1,
    # No run waits on a busy worker: a worker that dies takes only the runs it was running with it
    # (Dask counts a death against every task assigned to the worker, queued ones included).
    "distributed.scheduler.worker-saturation": 1.0,
}

#: Tokens of sweeps stopped by Ctrl-C; set on every worker by the driver, read by its runs.
_STOPPED = set()


class ClusterError(RuntimeError):
    """The Dask cluster cannot run flowlab: unreachable, or flowlab missing or different on a machine."""


def _import_distributed():
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(f"the Dask executor needs dask and distributed: pip install 'flowlab[dask]' ({exc})") \
            from None
    return distributed


def _is_dask_object(obj):
    distributed = sys.modules.get("distributed")  # not imported: obj cannot be one of its objects
    if distributed is None or isinstance(obj, str):
        return False
    from distributed.deploy import Cluster

    return isinstance(obj, (distributed.Client, Cluster))


def local_cluster(n_workers=None, **kwargs):
    """A ``distributed.LocalCluster`` with flowlab's settings: loopback only, one thread per worker.

    Handy in notebooks and for trying the Dask path on one machine; a script that calls it needs an
    ``if __name__ == "__main__":`` guard (workers are new processes).

    Args:
        n_workers: worker processes (default: one per core).
        **kwargs: passed to ``LocalCluster`` (e.g. ``dashboard_address="127.0.0.1:8787"``).

    Example:
        >>> from flowlab import Experiment
        >>> from flowlab.executors import local_cluster
        >>> with local_cluster(2) as cluster:                                            # doctest: +SKIP
        ...     Experiment("lr", dataset="iris", executor=cluster).sweep(learning_rate=[0.01, 0.1])
    """
    distributed = _import_distributed()
    import logging

    import dask

    options = {"n_workers": n_workers or _cpu_count(), "threads_per_worker": 1, "processes": True,
               "host": "127.0.0.1", "dashboard_address": "127.0.0.1:0", "silence_logs": logging.ERROR, **kwargs}
    with dask.config.set(DASK_CONFIG):
        return distributed.LocalCluster(**options)


class DaskExecutor:
    """Runs tasks on a Dask cluster, one task per worker thread, results back in the driver.

    By default a run writes into a temporary directory on its worker and returns its files (event
    files, run.json, model.npz: a few KB), which the driver writes into the logdir: no shared
    filesystem needed. With ``shared_logdir=True`` workers write straight into the logdir, which
    must then be the same path on every machine, and TensorBoard updates while runs train.

    A run that raises comes back ``failed`` with its message. A run whose worker dies is retried on
    another worker, up to the scheduler's ``distributed.scheduler.allowed-failures`` (1 with
    ``local_cluster``, Dask's default 3 elsewhere), then ``failed``; other runs go on (with
    ``worker-saturation`` 1.0, as ``local_cluster`` sets it, no queued run is blamed). On Ctrl-C
    queued runs are cancelled, running ones stop and record themselves ``interrupted``, finished
    ones are kept.

    On connecting it checks that the scheduler and every worker import the same flowlab version
    as this process (and warns of other version mismatches and of the nanny's malloc setting).

    Args:
        address: "tcp://host:port", a scheduler file (``*.json``, as HPC launchers write), a
            ``distributed.Client`` (left open), a Dask cluster object, or None for the
            ``DASK_SCHEDULER_ADDRESS`` variable.
        shared_logdir: workers write straight into the logdir (a filesystem they share).
        timeout: seconds to wait for the scheduler.
    """

    local = False
    remote = True  # the driver's files are not the workers': they load datasets themselves

    def __init__(self, address=None, *, shared_logdir=False, timeout=10):
        distributed = _import_distributed()
        if address is None:
            address = os.environ.get("DASK_SCHEDULER_ADDRESS")
            if not address:
                raise ValueError("DaskExecutor: give a scheduler address 'tcp://host:port', a scheduler file, "
                                 "a distributed.Client, or set DASK_SCHEDULER_ADDRESS")
        self.address, self.shared_logdir, self.timeout = address, bool(shared_logdir), timeout
        self._client = address if isinstance(address, distributed.Client) else None
        self._owned = self._client is None
        self.client  # connect and check now, before a sweep writes anything

    @property
    def client(self):
        """The ``distributed.Client`` (connected and checked on first use)."""
        if self._client is None or self._client.status in ("closing", "closed"):
            if not self._owned:
                raise ClusterError("DaskExecutor: the distributed.Client it was given is closed")
            self._client = self._connect()
            self._owned = True
            self._checked = False
        if not getattr(self, "_checked", False):
            _check_cluster(self._client)
            self._checked = True
        return self._client

    def _connect(self):
        from distributed import Client

        target, where = self.address, self.address
        if isinstance(target, (str, os.PathLike)) and str(target).endswith(".json"):
            target = where = _read_scheduler_file(target, self.timeout)
        elif not isinstance(target, str):
            where = getattr(target, "scheduler_address", target)  # a cluster object
        try:
            return Client(target, set_as_default=False, timeout=self.timeout)
        except (OSError, ValueError) as exc:  # unreachable, timed out, not an address
            raise ClusterError(f"cannot reach the Dask scheduler at {where}: {exc}") from None

    def close(self):
        """Closes the client if this executor opened it."""
        if self._owned and self._client is not None:
            self._client.close()
            self._client = None

    def run(self, fn, tasks, on_done):
        from distributed import as_completed

        import logging

        client = self.client
        token = os.urandom(6).hex()
        ship = not self.shared_logdir
        futures = {}
        # A lost scheduler is reported once, below, as a ClusterError: not as the client's traceback.
        client_log = logging.getLogger("distributed.client")
        level, client_log.level = client_log.level, logging.CRITICAL
        try:
            for i, task in enumerate(tasks):
                sent = self._prepare(task)
                name = task.get("name", i) if isinstance(task, dict) else i
                future = client.submit(_run_on_worker, fn, sent, token, ship, key=f"flowlab-{token}-{i}-{name}",
                                       pure=False)
                futures[future] = task
            reported = set()
            try:
                for future in as_completed(futures, loop=client.loop):
                    reported.add(future)
                    outcome = self._collect(future, futures[future], ship)
                    if isinstance(outcome, _SchedulerLost):
                        raise ClusterError(
                            f"lost the Dask scheduler at {self.address} while runs were going (it stopped, was "
                            f"killed, or the network failed); {len(futures) - len(reported) + 1} run(s) did "
                            "not finish")
                    if outcome is not _NOT_STARTED:
                        on_done(futures[future], outcome)
            except KeyboardInterrupt:
                self._stop(client, token, futures, reported, ship, on_done)
                raise
        finally:
            try:
                if futures and client.status == "running":
                    client.cancel(list(futures))
                self.close()
            finally:
                client_log.setLevel(level)

    def _prepare(self, task):
        if not isinstance(task, dict):
            return task
        task = {k: v for k, v in task.items() if k != "data_path"}  # a driver-local folder
        if self.shared_logdir and "run_dir" in task:
            task["run_dir"] = os.path.abspath(task["run_dir"])  # workers have other working directories
        return task

    def _collect(self, future, task, ship):
        """The task's outcome (shipped files written into its run directory), or the error instead."""
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - becomes the run's 'failed' record
            if "scheduler-connection-lost" in f"{getattr(exc, 'reason', '')} {exc}":
                return _SchedulerLost()
            outcome = _dask_error(exc)
            if ship and isinstance(task, dict) and "run_dir" in task:
                write_run_files(task["run_dir"], {})  # the local executors leave a directory too
            return outcome
        if result is _NOT_STARTED:
            return result
        kind, outcome, files = result
        if kind == "error":
            return RuntimeError(outcome)
        if files is not None:
            write_run_files(task["run_dir"], files)
        return outcome

    def _stop(self, client, token, futures, reported, ship, on_done):
        """Ctrl-C: cancels queued runs, asks running ones to stop, reports what they return."""
        from distributed import as_completed

        try:
            client.run(_stop_runs, token, on_error="ignore")
            running = {key for keys in client.processing().values() for key in keys}
        except Exception:  # noqa: BLE001 - the cluster is going away: nothing more to save
            running = set()
        waiting = []
        for future in futures:
            if future in reported:
                continue
            if future.done() or future.key in running:
                waiting.append(future)
            else:
                future.cancel()
        try:
            for future in as_completed(waiting, loop=client.loop, timeout=STOP_GRACE):
                outcome = self._collect(future, futures[future], ship)
                if outcome is not _NOT_STARTED and not isinstance(outcome, (WorkerDied, _SchedulerLost)):
                    on_done(futures[future], outcome)
        except TimeoutError:  # runs that ignore the stop request are cancelled with the rest
            pass


class _SchedulerLost:
    """A run's outcome when the client lost its scheduler: not the run's fault, and the end of the sweep."""


def _read_scheduler_file(path, timeout):
    """The scheduler address in a scheduler file, waiting up to ``timeout`` seconds for the file to
    appear (a batch job may still be starting the scheduler; Dask's own Client waits forever)."""
    import json
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(path) as f:
                return json.load(f)["address"]
        except (OSError, ValueError, KeyError) as exc:
            if time.monotonic() > deadline:
                raise ClusterError(f"cannot read the Dask scheduler file {os.fspath(path)} (waited {timeout:g} s): "
                                   f"{exc}; is the scheduler running with --scheduler-file?") from None
            time.sleep(0.1)


_NOT_STARTED = None  # what a run returns when its sweep was stopped before it began


def _run_on_worker(fn, task, token, ship):
    """One task on a Dask worker: ('ok', outcome, files or None) or ('error', message, None); never raises,
    so a failed run is a result, not a worker error (which Dask logs, and retries if asked)."""
    if token in _STOPPED:
        return _NOT_STARTED
    kwargs = {"callbacks": [_stop_callback(token)]} if _accepts_callbacks(fn) else {}
    try:
        if ship and isinstance(task, dict) and "run_dir" in task:
            outcome, files = run_detached(fn, task, **kwargs)
            return "ok", outcome, files
        return "ok", fn(task, **kwargs), None
    except BaseException as exc:  # noqa: BLE001 - everything must reach the driver as a message
        return "error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}", None


def _accepts_callbacks(fn):
    import inspect

    try:
        return "callbacks" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _stop_runs(token):
    _STOPPED.add(token)


def _stop_callback(token):
    from .train import Callback

    class StopWhenAsked(Callback):
        """Stops the run as Ctrl-C would ('interrupted') once the driver has stopped its sweep."""

        def on_epoch_begin(self, epoch, logs=None):
            self.on_batch_end(None)

        def on_batch_end(self, batch, logs=None):
            if token in _STOPPED:
                raise KeyboardInterrupt("the sweep was interrupted")

    return StopWhenAsked()


def _dask_error(exc):
    """A Dask task error as the outcome a local executor would give."""
    name = type(exc).__name__
    if name == "KilledWorker":
        return WorkerDied(f"the Dask worker running this run died (killed, crashed or out of memory), "
                          f"on every attempt the scheduler allowed: {exc}")
    if "deserializ" in str(exc).lower():
        return RuntimeError(f"{name}: {exc} (flowlab must be importable on the scheduler and every worker)")
    return RuntimeError(f"{name}: {exc}")


def _check_cluster(client):
    """Raises ClusterError unless the scheduler and every worker import this flowlab version.

    Also warns of other version mismatches (Python, dask, ...), of a cluster with no workers yet,
    and of workers started with the nanny's MALLOC_TRIM_THRESHOLD_ (about 35% slower numpy).
    """
    import warnings

    from . import __version__

    probe = _probe()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # only the mismatches below, said once and plainly
            versions = client.get_versions(check=False)
        found = {"scheduler": client.run_on_scheduler(probe)}
        found.update(client.run(probe, on_error="return"))
    except Exception as exc:  # noqa: BLE001
        raise ClusterError(f"cannot check the Dask cluster at {client.scheduler.address}: {exc}") from None
    ours = versions["client"]["packages"]
    differ = []
    for where, info in [("scheduler", versions["scheduler"]), *versions["workers"].items()]:
        theirs = (info or {}).get("packages", {})
        differ += [f"{where}: {pkg} {theirs[pkg]} (here {ours[pkg]})" for pkg in _MATCHING
                   if pkg in ours and pkg in theirs and theirs[pkg] != ours[pkg]]
    problems = []
    for where, info in found.items():
        if isinstance(info, BaseException):
            problems.append(f"{where}: cannot run the check ({type(info).__name__}: {info})")
        elif "error" in info:
            problems.append(f"{where}: cannot import flowlab ({info['error']})")
        elif info["flowlab"] != __version__:
            problems.append(f"{where}: flowlab {info['flowlab']}")
    if problems:
        raise ClusterError(
            f"flowlab {__version__} runs here, but on the Dask cluster " + "; ".join(problems)
            + f". Install the same flowlab on the scheduler and every worker (pip install 'flowlab=={__version__}') "
            "and restart them." + (" Other versions differ too: " + "; ".join(differ) if differ else "")
        )
    if differ:
        warnings.warn("the Dask cluster runs other versions than here: " + "; ".join(differ), stacklevel=3)
    if not versions["workers"]:
        warnings.warn(f"the Dask scheduler at {client.scheduler.address} has no workers yet; runs wait for them",
                      stacklevel=3)
    trimmed = [w for w, info in found.items() if w != "scheduler" and info.get("malloc_trim")]
    if trimmed:
        warnings.warn(
            f"{len(trimmed)} Dask worker(s) run with MALLOC_TRIM_THRESHOLD_ set by the nanny, which makes numpy "
            "training about 35% slower; start them with DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON="
            "'{\"MALLOC_TRIM_THRESHOLD_\": None}' in their environment", stacklevel=3)


#: Packages that must match between this process and the cluster for tasks to travel both ways.
_MATCHING = ("python", "dask", "distributed", "cloudpickle", "msgpack", "numpy")


def _probe():
    """A function for the scheduler and workers, pickled by value (it is nested), so that a machine
    without flowlab can still run it and say so."""

    def flowlab_probe():
        import os

        try:
            import flowlab
        except ImportError as exc:
            return {"error": str(exc)}
        return {"flowlab": getattr(flowlab, "__version__", None),
                "malloc_trim": os.environ.get("MALLOC_TRIM_THRESHOLD_")}

    return flowlab_probe
