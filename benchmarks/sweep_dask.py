"""One sweep on the local process pool and on a local Dask cluster, side by side.

The sweep: digits, 64 hidden ReLU/tanh units, 2 learning rates x 2 optimizers x 2 activations
(8 runs of about 1.5 s each), histograms on, so the Dask side ships every run's event files back.
Sides, each with ``--workers`` workers (default 2):

- ``local pool``: ``ProcessExecutor`` (the default executor: a process per run, BLAS 1 thread);
- ``dask``: ``flowlab.executors.local_cluster`` (flowlab's Dask settings), runs' files shipped back;
- ``dask, shared logdir``: the same cluster, workers writing straight into the logdir;
- ``dask, nanny malloc default``: a LocalCluster keeping Dask's MALLOC_TRIM_THRESHOLD_=65536.

Sides alternate ``--repeats`` times (order reversed every other round) and the medians of the
sweeps' wall times are printed as a Markdown table. Cluster start-up is timed apart, once.

    python -m benchmarks.sweep_dask [--repeats 3] [--workers 2] [--epochs 40]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time

import dask
from distributed import LocalCluster

from flowlab.executors import DASK_CONFIG, DaskExecutor, ProcessExecutor, local_cluster
from flowlab.experiment import Experiment

AXES = {"learning_rate": [0.001, 0.01], "optimizer": ["sgd", "adam"], "activation": ["relu", "tanh"]}


def sweep(executor, logdir, epochs):
    exp = Experiment("bench", logdir=logdir, executor=executor, dataset="digits", hidden=[64], epochs=epochs,
                     batch_size=32)
    start = time.perf_counter()
    results = exp.sweep(**AXES)
    seconds = time.perf_counter() - start
    assert all(r.status == "completed" for r in results), [r.error for r in results]
    return seconds, sum(r.seconds for r in results)


def _quietly(make, *args):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the malloc warning: this side keeps Dask's default on purpose
        return make(*args)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()

    start = time.perf_counter()
    cluster = local_cluster(args.workers)
    startup = time.perf_counter() - start
    # flowlab's settings except the malloc override, which stays Dask's default
    with dask.config.set({k: v for k, v in DASK_CONFIG.items() if "MALLOC" not in k}):
        plain = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                             dashboard_address="127.0.0.1:0")
    sides = {
        "local pool": lambda: ProcessExecutor(args.workers),
        "dask": lambda: DaskExecutor(cluster),
        "dask, shared logdir": lambda: DaskExecutor(cluster, shared_logdir=True),
        "dask, nanny malloc default": lambda: _quietly(DaskExecutor, plain),
    }
    logdir = tempfile.mkdtemp(prefix="flowlab-bench-")
    walls = {name: [] for name in sides}
    runs = {name: [] for name in sides}
    try:
        for name in sides:  # warm-up: workers import flowlab, tensorboardX and load the data once
            sweep(sides[name](), logdir, 1)
        names = list(sides)
        for r in range(args.repeats):
            for name in names if r % 2 == 0 else names[::-1]:
                wall, run_seconds = sweep(sides[name](), logdir, args.epochs)
                walls[name].append(wall)
                runs[name].append(run_seconds)
    finally:
        plain.close()
        cluster.close()
        shutil.rmtree(logdir, ignore_errors=True)

    base = statistics.median(walls["local pool"])
    print(f"# 8 runs (digits, 64 hidden, {args.epochs} epochs, batch 32, histograms on), {args.workers} workers, "
          f"median of {args.repeats}; LocalCluster start-up {startup:.1f} s (not included)")
    print("| executor | sweep wall s | sum of run s | vs local pool |")
    print("|---|---:|---:|---:|")
    for name in sides:
        wall = statistics.median(walls[name])
        print(f"| {name} | {wall:.2f} | {statistics.median(runs[name]):.2f} | {wall / base:.2f}x |")


if __name__ == "__main__":
    main()
