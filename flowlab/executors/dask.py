# Size: just over 400 lines: the executor, its settings and the cluster checks it makes on connecting
# are one subject (what it takes to run flowlab's runs on Dask).
"""Running a sweep on a Dask cluster: the executor, flowlab's cluster settings and the checks that a
cluster can run flowlab (same versions of flowlab and its numerical stack on every machine)."""

from __future__ import annotations

import os
import sys
import traceback

from dataclasses import replace

from ..runner import RunTask, run_detached, write_run_files
from .local import STOP_GRACE, WorkerDied, _cpu_count

__all__ = ["ClusterError", "DASK_CONFIG", "DaskExecutor", "local_cluster"]

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


def _check_installed():
    """Raises the install hint unless distributed can be imported, without importing it (a second or more)."""
    import importlib.util

    if sys.modules.get("distributed") is None and ("distributed" in sys.modules
                                                   or importlib.util.find_spec("distributed") is None):
        _import_distributed()  # raises ImportError with the hint


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
    It connects when it is made, or with ``connect=False`` on first use (``start``, ``run``,
    ``client``): a sweep then checks its grid before it waits on a cluster.

    Args:
        address: "tcp://host:port", a scheduler file (``*.json``, as HPC launchers write), a
            ``distributed.Client`` (left open), a Dask cluster object, or None for the
            ``DASK_SCHEDULER_ADDRESS`` variable.
        shared_logdir: workers write straight into the logdir (a filesystem they share).
        timeout: seconds to wait for the scheduler.
        connect: connect and check the cluster now (True) or on first use (False).
    """

    local = False
    remote = True  # the driver's files are not the workers': they load datasets themselves

    def __init__(self, address=None, *, shared_logdir=False, timeout=10, connect=True):
        _check_installed()
        if address is None:
            address = os.environ.get("DASK_SCHEDULER_ADDRESS")
            if not address:
                raise ValueError("DaskExecutor: give a scheduler address 'tcp://host:port', a scheduler file, "
                                 "a distributed.Client, or set DASK_SCHEDULER_ADDRESS")
        self.address, self.shared_logdir, self.timeout = address, bool(shared_logdir), timeout
        # A Client can only exist once distributed is imported (a string address needs no import yet).
        distributed = sys.modules.get("distributed")
        self._client = address if distributed is not None and isinstance(address, distributed.Client) else None
        self._owned = self._client is None
        if connect:
            self.client  # connect and check now, before a sweep writes anything

    def start(self):
        """Connects and checks the cluster now (a sweep calls it before it makes its directory)."""
        self.client

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
        Client = _import_distributed().Client

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
                name = task.name if isinstance(task, RunTask) else i
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
        if not isinstance(task, RunTask):
            return task
        task = replace(task, data_path=None)  # a driver-local folder
        if self.shared_logdir:
            task = replace(task, run_dir=os.path.abspath(task.run_dir))  # workers have other working directories
        return task

    def _collect(self, future, task, ship):
        """The task's outcome (shipped files written into its run directory), or the error instead."""
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - becomes the run's 'failed' record
            if "scheduler-connection-lost" in f"{getattr(exc, 'reason', '')} {exc}":
                return _SchedulerLost()
            outcome = _dask_error(exc)
            if ship and isinstance(task, RunTask):
                write_run_files(task.run_dir, {})  # the local executors leave a directory too
            return outcome
        if result is _NOT_STARTED:
            return result
        kind, outcome, files = result
        if kind == "error":
            return RuntimeError(outcome)
        if files is not None:
            write_run_files(task.run_dir, files)
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
        if ship and isinstance(task, RunTask):
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
    from ..train import Callback

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

    from .. import __version__

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
