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

__all__ = ["PRELOAD", "start"]

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
