"""The default sweep (27 runs on digits) with stacked training on ("auto") and off, end to end.

Run from the repository root: ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.stacked_sweep
[--repeats 5] [--epochs 20] [--workers 2]``. It alternates the two settings (off, auto, auto, off,
...) so a noisy spell hits both alike, writes the TensorBoard logs (histograms on, the default) to a
temporary directory, and prints each sweep's wall time, the medians and their ratio. It also checks
that both settings gave every run the same status and metrics: stacking changes the speed, not
the numbers.
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


def sweep(stack, workers, epochs, logdir):
    axes = {key: [float(v) if key == "learning_rate" else v for v in values] for key, values in DEFAULT_SWEEP.items()}
    exp = Experiment(f"stack-{stack}", logdir=logdir, workers=workers, stack=stack, dataset="digits", hidden=[64],
                     epochs=epochs, batch_size=32)
    start = time.perf_counter()
    results = exp.sweep(**axes)
    seconds = time.perf_counter() - start
    return seconds, {r.name: (r.status, r.metrics) for r in results}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="sweeps per setting")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per run (default 20, the CLI's)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    args = parser.parse_args(argv)
    print("# " + json.dumps({**environment(), **blas_info(), "cpu_count": os.cpu_count()}))
    times, outcomes = {False: [], "auto": []}, {}
    with tempfile.TemporaryDirectory(prefix="flowlab-stacked-") as logdir:
        for r in range(args.repeats):
            for stack in ((False, "auto") if r % 2 == 0 else ("auto", False)):
                seconds, outcome = sweep(stack, args.workers, args.epochs, logdir)
                times[stack].append(seconds)
                outcomes.setdefault(stack, outcome)
                print(f"stack={stack}: {seconds:.2f} s for {len(outcome)} runs", flush=True)
    off, auto = statistics.median(times[False]), statistics.median(times["auto"])
    same = outcomes[False] == outcomes["auto"]
    print(f"median: stack=False {off:.2f} s, stack='auto' {auto:.2f} s, {off / auto:.2f}x; "
          f"statuses and metrics {'identical' if same else 'DIFFER'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
