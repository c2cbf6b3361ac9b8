"""Executors: where a sweep's runs execute (this process, local worker processes, or a Dask cluster).

An executor has one method, ``run(fn, tasks, on_done)``: it calls ``fn(task)`` for every task and
``on_done(task, outcome)`` in the driver as each one finishes, where ``outcome`` is what ``fn``
returned or an exception describing why it could not return. On KeyboardInterrupt it stops the
tasks under way (letting them record themselves as interrupted), reports those that answer, and
re-raises. ``local`` holds this machine's executors, ``dask`` the cluster's; ``make_executor``
picks one from what the user asked for.
"""

import os

from .dask import DASK_CONFIG, ClusterError, DaskExecutor, _is_dask_object, local_cluster
from .local import STOP_GRACE, InProcessExecutor, ProcessExecutor, WorkerDied, WorkerStartError  # noqa: F401

__all__ = ["ClusterError", "DaskExecutor", "InProcessExecutor", "ProcessExecutor", "WorkerDied", "WorkerStartError",
           "local_cluster", "make_executor"]


def make_executor(executor=None, workers=None, *, connect=True):
    """The executor for an ``Experiment``'s ``executor`` and ``workers`` arguments.

    Args:
        executor: None or "local" (processes on this machine, or this process when workers=1); a
            Dask scheduler address "tcp://host:port", a scheduler file "*.json", a
            ``distributed.Client`` or a Dask cluster object (see ``DaskExecutor``); or any object
            with ``run(fn, tasks, on_done)``. The ``DASK_SCHEDULER_ADDRESS`` variable selects Dask
            when executor is None.
        workers: local worker processes (default: one per core); a Dask cluster has its own.
        connect: a Dask executor connects now (True) or on first use (False, as a sweep makes it:
            the grid is checked before anything waits on the cluster).
    """
    if executor is None:
        executor = os.environ.get("DASK_SCHEDULER_ADDRESS") or "local"
    if _is_dask_object(executor):  # a Client has a .run method too, but not flowlab's
        return DaskExecutor(executor, connect=connect)
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
    return DaskExecutor(executor, connect=connect)
