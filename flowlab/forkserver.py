"""The forkserver that local worker processes come from, and starting it early.

A worker forked from a server that has flowlab, numpy and TensorBoard's protos imported starts in
milliseconds; the server itself takes a fresh interpreter and those imports (about 0.3 s on a
2-core machine). ``flowlab sweep`` starts it as soon as its arguments say a local pool will run, so
that this happens on another core while the driver imports, validates the grid and loads the data,
instead of after (measured with ``benchmarks/e2e_vs_peers.py``; see the README). Starting it twice
is harmless: ``ensure_running`` keeps the one that runs. The server exits with the driver.

This module imports nothing from flowlab, so the command line can start the server before
importing anything heavy.
"""

from __future__ import annotations

import multiprocessing
import os
import signal

__all__ = ["PRELOAD", "SERVER_ENV", "start", "quiet_driver_blas", "restore_driver_blas"]

#: Modules the server imports once, so every worker has them: the run's code and what it writes with.
PRELOAD = ("flowlab.runner", "flowlab.tensorboard", "flowlab.summaries", "PIL.Image")


def start():
    """Starts the forkserver if it is not running (returns at once when it is); returns its context."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(PRELOAD))
    from multiprocessing import forkserver

    # The forkserver starts as `python -c ...`, which puts the working directory first on its
    # sys.path (Python 3.11 ignores the sys.path it is handed): a folder there named `torch`
    # would stand in for PyTorch when tensorboardX is preloaded. PYTHONSAFEPATH keeps it off.
    # OPENBLAS_NUM_THREADS: see SERVER_ENV.
    server_env = {"PYTHONSAFEPATH": "1", **{k: v for k, v in SERVER_ENV.items() if k not in os.environ}}
    saved = {k: os.environ.get(k) for k in server_env}
    os.environ.update(server_env)
    # Ctrl-C in a terminal reaches every process of the group, and the driver decides what stops.
    # Python's forkserver ignores SIGINT only once it has imported its preloads; a Ctrl-C in those
    # 0.3 s printed its traceback beside the driver's one line. Blocked while it is spawned, SIGINT
    # stays blocked in the server and its workers (a mask survives exec) and waits in the driver.
    # The resource tracker goes first: starting it unblocks SIGINT (it blocks and unblocks its own).
    # The environment is put back before SIGINT is unblocked: a Ctrl-C that waited is raised then.
    from multiprocessing import resource_tracker

    mask = None
    try:
        resource_tracker.ensure_running()
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        forkserver.ensure_running()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return ctx


#: What the server's environment adds, unless the user's has it: OpenBLAS loaded with no threads of
#: its own. OpenBLAS starts a thread for each further core the process may use when numpy is imported,
#: and spins each for about 80 ms waiting for work, in the server and again in every worker forked from
#: it: 13% of the CPU time of the default sweep on 2 cores, taken from the runs. Workers set their BLAS threads themselves
#: (threadpoolctl, which can raise the count as well as lower it).
SERVER_ENV = {"OPENBLAS_NUM_THREADS": "1"}


_DRIVER_SET = {}  # what quiet_driver_blas put in this process' environment


def quiet_driver_blas():
    """Loads this process' OpenBLAS with no threads of its own, when numpy is not imported yet and the user
    has not chosen: for a driver whose runs train in workers (OpenBLAS starts a thread per further core
    it may use, which would spin beside the server starting up, on the cores it needs)."""
    import sys

    if "numpy" not in sys.modules:
        for k, v in SERVER_ENV.items():
            if k not in os.environ:
                os.environ[k] = _DRIVER_SET[k] = v


def restore_driver_blas():
    """Takes back what ``quiet_driver_blas`` set, once the command is done: the loaded BLAS keeps its
    choice, and programs started afterwards from this process see the user's environment."""
    for k, v in list(_DRIVER_SET.items()):
        if os.environ.get(k) == v:
            del os.environ[k]
        del _DRIVER_SET[k]
