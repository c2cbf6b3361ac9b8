"""The default sweep (learning rate x activation x optimizer, 27 runs on digits) with 1 and 2 local workers.

Run from the repository root: ``python -m benchmarks.sweep_speedup [--repeats 3] [--epochs 20]``.
It alternates the two settings (1, 2, 2, 1, 1, 2, ...) so a noisy spell hits both alike, writes
the TensorBoard logs to a temporary directory (histograms on, the default), and prints the wall
time of each sweep, the medians and the speedup median(1 worker) / median(2 workers); the target
is at least 1.8x on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

from flowlab.bench import blas_info, environment
from flowlab.cli import DEFAULT_SWEEP
from flowlab.experiment import Experiment


def sweep_seconds(workers, epochs, logdir):
    axes = {key: [float(v) if key == "learning_rate" else v for v in values] for key, values in DEFAULT_SWEEP.items()}
    exp = Experiment(f"speedup-w{workers}", logdir=logdir, workers=workers, dataset="digits", hidden=[64],
                     epochs=epochs, batch_size=32)
    start = time.perf_counter()
    results = exp.sweep(**axes)
    seconds = time.perf_counter() - start
    statuses = sorted({r.status for r in results})
    return seconds, len(results), statuses


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="sweeps per setting")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per run (default 20, the CLI's)")
    args = parser.parse_args(argv)
    print("# " + json.dumps({**environment(), **blas_info(), "cpu_count": os.cpu_count()}))
    times = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="flowlab-speedup-") as logdir:
        for r in range(args.repeats):
            for workers in ((1, 2) if r % 2 == 0 else (2, 1)):
                seconds, runs, statuses = sweep_seconds(workers, args.epochs, logdir)
                times[workers].append(seconds)
                print(f"workers={workers}: {seconds:.2f} s for {runs} runs ({', '.join(statuses)})", flush=True)
    one, two = statistics.median(times[1]), statistics.median(times[2])
    print(f"median: 1 worker {one:.2f} s, 2 workers {two:.2f} s, speedup {one / two:.2f}x (target >= 1.8x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
