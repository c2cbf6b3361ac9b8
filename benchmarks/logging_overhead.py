"""Logging overhead: training with and without the TensorBoard logger, side by side.

Workloads, BLAS limited to one thread (as the sweep's workers run):

- ``digits fit``: ``Trainer.fit`` of the default sweep's network (digits, 64-64-10 ReLU, Adam,
  20 epochs, batch 32): the training loop alone, the strictest baseline;
- ``digits sweep run``: the same run as a sweep worker does it (``flowlab.experiment.execute_run``:
  data from the cache, model, training, run.json, model.npz), with the logger or a no-op stand-in;
- ``MNIST-sized fit``: 784-256-10 on random data of MNIST's shape (``--mnist-samples`` examples);
- the digits fit again with ``histograms=False``, to show what the histograms cost;
- a real default sweep (``Experiment.sweep``, ``--sweep-runs`` learning rates, one worker), whose
  wall time is compared with the logger's in-process time per run times the number of runs.

Runs alternate logger off / on ``--repeats`` times and the medians are compared three ways:

- ``hooks``: time inside the logger's own hooks (timed around each call, opening and closing the
  event files included), over the median training time without the logger;
- ``cpu``: the process's CPU time with the logger over without (the logger starts no threads);
- ``wall``: the same for wall time (noisiest: a difference of two medians on a shared machine).

The one-time import of what the logger writes with (``flowlab.summaries``: tensorboard's protos,
crc32c, Pillow; per process, not per run) is measured in a fresh interpreter, next to
``import tensorboardX``, which flowlab no longer imports (it imports torch where torch is installed).

    python -m benchmarks.logging_overhead [--repeats 9] [--mnist-samples 10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import flowlab.tensorboard
from flowlab.data import load_dataset
from flowlab.experiment import RunConfig, execute_run
from flowlab.models import MLP
from flowlab.tensorboard import TensorBoardLogger
from flowlab.train import Callback, Trainer

# The hooks the logger implements (timing the others would add calls the logger does not make).
HOOKS = [name for name in ("on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_train_end")
         if getattr(TensorBoardLogger, name) is not getattr(Callback, name)]


class TimedLogger(TensorBoardLogger):
    """The logger, adding up the time spent in its hooks; the last one made is ``TimedLogger.last``."""

    last = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seconds = 0.0
        TimedLogger.last = self


def _timed(name):
    hook = getattr(TensorBoardLogger, name)

    def timed(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return hook(self, *args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start

    return timed


for _name in HOOKS:
    setattr(TimedLogger, _name, _timed(_name))


class NoLogger(Callback):
    """Stands in for the logger in ``execute_run``: same arguments, writes nothing."""

    def __init__(self, *args, **kwargs):
        pass


def fit_workload(name, sizes, x, y, val, epochs, **logger_kwargs):
    def once(logdir):
        model = MLP(sizes, activation="relu", seed=0)
        callbacks = [] if logdir is None else [TimedLogger(logdir, hparams={"sizes": sizes, "lr": 0.001},
                                                           **logger_kwargs)]
        trainer = Trainer(model, "adam", lr=0.001, callbacks=callbacks, seed=0)
        trainer.fit(x, y, validation_data=val, epochs=epochs, batch_size=32)

    return name, epochs, once


def digits_fit(**logger_kwargs):
    data = load_dataset("digits", seed=0)
    label = ", ".join(f"{k}={v}" for k, v in logger_kwargs.items())
    return fit_workload(f"digits 64-64-10 fit{f' ({label})' if label else ''}", [64, 64, 10], data.x_train,
                        data.y_train, (data.x_val, data.y_val), 20, **logger_kwargs)


def digits_sweep_run():
    config = asdict(RunConfig(dataset="digits", hidden=(64,), epochs=20, batch_size=32).validated())

    def once(logdir):
        flowlab.tensorboard.TensorBoardLogger = NoLogger if logdir is None else TimedLogger
        try:
            run_dir = logdir or Path(tempfile.mkdtemp(prefix="flowlab-bench-nolog-"))
            execute_run({"name": "run", "run_dir": str(run_dir), "config": config, "group_name": "bench/run",
                         "histograms": True})
            if logdir is None:
                shutil.rmtree(run_dir, ignore_errors=True)
        finally:
            flowlab.tensorboard.TensorBoardLogger = TensorBoardLogger

    return "digits sweep run (execute_run)", 20, once


def mnist_fit(samples, epochs):
    rng = np.random.default_rng(0)
    n_val = max(samples // 6, 1)
    x = rng.standard_normal((samples + n_val, 784))
    y = rng.integers(0, 10, samples + n_val)
    return fit_workload(f"MNIST-sized 784-256-10 fit ({samples} ex.)", [784, 256, 10], x[:samples], y[:samples],
                        (x[samples:], y[samples:]), epochs)


def measure(workload, repeats):
    """Alternates the workload with the logger off and on; returns the medians compared."""
    name, epochs, once = workload
    tmp = Path(tempfile.mkdtemp(prefix="flowlab-bench-"))
    sides = {False: [], True: []}
    try:
        once(tmp / "warmup")  # first files, imports, caches
        for i in range(repeats):
            for logger in (False, True):
                TimedLogger.last = None
                wall, cpu = time.perf_counter(), time.process_time()
                once(tmp / f"run{i}" if logger else None)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                hooks = TimedLogger.last.seconds if logger else 0.0
                sides[logger].append((wall, cpu, hooks))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    (wall_off, cpu_off, _), (wall_on, cpu_on, hooks) = (
        [statistics.median(r[k] for r in sides[side]) for k in range(3)] for side in (False, True))
    return {
        "workload": name, "epochs": epochs, "repeats": repeats,
        "median_s_off": round(wall_off, 4), "median_s_on": round(wall_on, 4),
        "ms_per_epoch_off": round(1e3 * wall_off / epochs, 3),
        "hooks_ms_per_epoch": round(1e3 * hooks / epochs, 3),
        "hooks_pct": round(100 * hooks / wall_off, 2),
        "cpu_pct": round(100 * (cpu_on - cpu_off) / cpu_off, 2),
        "wall_pct": round(100 * (wall_on - wall_off) / wall_off, 2),
    }


def sweep_share(runs, logger_seconds_per_run):
    """Wall time of a real default sweep (digits, 64 hidden, 20 epochs, batch 32; ``runs`` learning
    rates, one worker process) and the share of it the logger takes, from its in-process timing."""
    from flowlab.experiment import Experiment

    tmp = Path(tempfile.mkdtemp(prefix="flowlab-bench-sweep-"))
    try:
        exp = Experiment("bench", logdir=tmp, workers=1, dataset="digits", hidden=[64], epochs=20, batch_size=32)
        start = time.perf_counter()
        exp.sweep(learning_rate=[float(lr) for lr in np.geomspace(1e-4, 1e-1, runs)])
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"sweep_runs": runs, "sweep_wall_s": round(wall, 3),
            "sweep_logger_pct": round(100 * runs * logger_seconds_per_run / wall, 2)}


def import_seconds(modules="tensorboardX"):
    """Median time of ``import <modules>`` in a fresh interpreter (paid once per process); None
    when they are not installed."""
    code = f"import time; t = time.perf_counter(); import {modules}; print(time.perf_counter() - t)"
    times = []
    for _ in range(5):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if proc.returncode:
            return None
        times.append(float(proc.stdout))
    return round(statistics.median(times), 3)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="runs per side (medians are taken)")
    parser.add_argument("--mnist-samples", type=int, default=10000, help="training examples, MNIST-sized run")
    parser.add_argument("--mnist-epochs", type=int, default=3)
    parser.add_argument("--sweep-runs", type=int, default=8, help="runs of the real sweep timed (0: skip)")
    parser.add_argument("--json", action="store_true", help="print JSON lines only")
    args = parser.parse_args(argv)

    results = []
    with threadpool_limits(limits=1, user_api="blas"):
        for workload in (digits_fit(), digits_fit(histograms=False), digits_sweep_run(),
                         mnist_fit(args.mnist_samples, args.mnist_epochs)):
            results.append(measure(workload, args.repeats))
    extra = {"import_tensorboardX_s": import_seconds(),
             "import_logger_s": import_seconds("flowlab.tensorboard, flowlab.summaries, PIL.Image")}
    if args.sweep_runs:
        extra.update(sweep_share(args.sweep_runs, results[2]["hooks_ms_per_epoch"] * 20 / 1e3))
    if args.json:
        for r in results + [extra]:
            print(json.dumps(r))
        return 0
    print(f"{'workload':<44} {'off s':>7} {'on s':>7} {'ms/epoch':>9} {'log ms/ep':>9} "
          f"{'hooks %':>8} {'cpu %':>6} {'wall %':>7}")
    for r in results:
        print(f"{r['workload']:<44} {r['median_s_off']:>7.3f} {r['median_s_on']:>7.3f} "
              f"{r['ms_per_epoch_off']:>9.2f} {r['hooks_ms_per_epoch']:>9.3f} "
              f"{r['hooks_pct']:>8.2f} {r['cpu_pct']:>6.2f} {r['wall_pct']:>7.2f}")
    print(f"import of the logger's writing modules (once per process): {extra['import_logger_s']} s "
          f"(import tensorboardX, no longer needed: {extra['import_tensorboardX_s']} s)")
    if "sweep_wall_s" in extra:
        print(f"default sweep, {extra['sweep_runs']} runs, 1 worker: {extra['sweep_wall_s']} s wall, "
              f"{extra['sweep_logger_pct']}% of it in the logger (in-process hook time x runs / wall)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
