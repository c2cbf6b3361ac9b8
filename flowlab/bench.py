"""`python -m flowlab.bench`: times flowlab's training step (forward, backward, update) and prints one JSON line.

Example:
    python -m flowlab.bench --sizes 64,64,10 --batch 32 --activation relu --optimizer adam --steps 500
    python -m flowlab.bench --stack 9      # 9 runs stacked against the same 9 one by one

The batches are random and made before timing; the first ``--warmup`` steps are not timed; every
step is timed on its own and the line reports the median and the 10th and 90th percentiles in
microseconds, with the settings and the BLAS library threadpoolctl found. BLAS runs with
``--threads`` threads (1 by default, as the Trainer does). Nothing else is printed on stdout.
The helpers here (``flowlab_step``, ``time_steps``, ``blas_info``) are shared by ``benchmarks/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

__all__ = ["flowlab_step", "time_steps", "summarize", "blas_info", "run", "run_stacked", "main"]


def _sizes(text):
    try:
        sizes = [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be comma-separated integers, e.g. 64,64,10; got {text!r}")
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes needs at least two positive widths (inputs,...,classes); got {text!r}")
    return sizes


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _non_negative(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def make_batches(sizes, batch, dtype, count=8, seed=0):
    """``count`` random (features, class ids) batches, features standard normal in ``dtype``."""
    rng = np.random.default_rng(seed + 1)
    return [(rng.standard_normal((batch, sizes[0])).astype(dtype), rng.integers(0, sizes[-1], size=batch))
            for _ in range(count)]


def flowlab_step(sizes, batch, activation="relu", optimizer="adam", dtype="float64", lr=None, seed=0, batches=8,
                 model=None):
    """A zero-argument callable that runs one flowlab training step, cycling over pregenerated batches.

    The step is what the Trainer does per batch: ``model.train_step(x, y)`` then ``optimizer.step()``.

    Returns:
        ``step``, with ``step.model`` and ``step.optimizer`` attached.
    """
    from .models import MLP
    from .optim import get_optimizer

    if model is None:
        model = MLP(sizes, activation=activation, seed=seed, dtype=dtype)
    opt = get_optimizer(optimizer, model.params, lr=lr)
    data = make_batches(sizes, batch, model.dtype, batches, seed)
    train_step, update = model.train_step, opt.step
    position = [0]

    def step():
        i = position[0] = (position[0] + 1) % len(data)
        x, y = data[i]
        train_step(x, y)
        update()

    step.model, step.optimizer = model, opt
    return step


def time_steps(step, steps, warmup=0):
    """Runs ``step`` ``warmup`` times untimed, then ``steps`` times; returns each step's seconds."""
    for _ in range(warmup):
        step()
    clock = time.perf_counter
    times = []
    append = times.append
    for _ in range(steps):
        start = clock()
        step()
        append(clock() - start)
    return times


def summarize(times):
    """Median, p10 and p90 of per-step seconds, in microseconds (rounded to 0.1)."""
    us = np.asarray(times) * 1e6
    p10, median, p90 = np.percentile(us, [10, 50, 90])
    return {"median_us_per_step": round(float(median), 1), "p10_us_per_step": round(float(p10), 1),
            "p90_us_per_step": round(float(p90), 1)}


def blas_info():
    """What threadpoolctl reports about the BLAS numpy uses (library, kernel, version, threads)."""
    from threadpoolctl import threadpool_info

    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            return {"blas": lib.get("internal_api"), "blas_kernel": lib.get("architecture"),
                    "blas_version": lib.get("version"), "blas_threads": lib.get("num_threads")}
    return {"blas": None, "blas_kernel": None, "blas_version": None, "blas_threads": None}


def environment():
    """The machine facts a benchmark result depends on."""
    return {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
            "cpus": os.cpu_count(), "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE")}


def run(sizes, batch=32, activation="relu", optimizer="adam", steps=500, warmup=50, dtype="float64",
        threads=1, lr=None, seed=0, model="mlp"):
    """Times ``steps`` flowlab training steps and returns the result as a dict (what the CLI prints).

    ``model``: "mlp" (``flowlab.MLP``), "graph" (the same network as a ``flowlab.Model`` of
    flowlab's nodes) or "miniflow" (a ``Model`` of the course's hand-written Linear and Sigmoid).
    """
    from threadpoolctl import threadpool_limits

    built = None
    if model != "mlp":
        from .bench_models import model_of

        built = model_of(model, sizes, activation, seed=seed, dtype=dtype)
    step = flowlab_step(sizes, batch, activation, optimizer, dtype, lr=lr, seed=seed, model=built)
    with threadpool_limits(limits=threads, user_api="blas"):
        info = blas_info()
        times = time_steps(step, steps, warmup)
    result = {"bench": "flowlab.train_step+optimizer.step", **summarize(times), "sizes": list(sizes),
              "batch": batch, "activation": activation, "optimizer": optimizer,
              "lr": step.optimizer.lr, "dtype": np.dtype(dtype).name, "threads": threads, "steps": steps,
              "warmup": warmup, "seed": seed, "model": model, "fast_path": bool(step.model.fast)}
    result.update(info)
    result.update(environment())
    return result


#: The default sweep's (optimizer, learning rate) grid, which ``--stack`` cycles through.
STACK_GRID = [(o, lr) for lr in (0.001, 0.01, 0.1) for o in ("sgd", "momentum", "adam")]


def run_stacked(runs, sizes, batch=32, activation="relu", steps=300, warmup=30, dtype="float64", threads=1,
                seed=0, rounds=5):
    """Times ``runs`` runs' steps trained stacked and trained one after another, interleaved.

    The runs take the default sweep's (optimizer, learning rate) pairs in turn, one seed, so they
    share batches as a sweep's runs do. A stacked step is one forward and backward for all runs
    and each run's optimizer update; the separate steps are ``runs`` of ``flowlab_step``. The two
    alternate in ``rounds`` rounds; the result is per run and step (median over rounds of each
    round's median), and their ratio.
    """
    from threadpoolctl import threadpool_limits

    from .models import MLP
    from .stacked import _StackedMLP, _step
    from .train import Trainer

    grid = [STACK_GRID[i % len(STACK_GRID)] for i in range(runs)]
    singles = [flowlab_step(sizes, batch, activation, o, dtype, lr=lr, seed=seed) for o, lr in grid]
    trainers = [Trainer(MLP(sizes, activation=activation, seed=seed, dtype=dtype), o, lr=lr, seed=seed)
                for o, lr in grid]
    net = _StackedMLP([t.model for t in trainers])
    data = make_batches(sizes, batch, np.dtype(dtype), 8, seed)
    labels = [np.broadcast_to(y, (runs, len(y))) for _, y in data]
    position = [0]

    def stacked():
        i = position[0] = (position[0] + 1) % len(data)
        net.train_step(data[i][0], labels[i])
        for r, t in enumerate(trainers):
            _step(t.optimizer, net.params[r], net.grads[r])

    def separate():
        for step in singles:
            step()

    alone, together = [], []
    with threadpool_limits(limits=threads, user_api="blas"), np.errstate(all="ignore"):
        info = blas_info()
        for _ in range(rounds):
            alone.append(np.median(time_steps(separate, steps, warmup)) / runs)
            together.append(np.median(time_steps(stacked, steps, warmup)) / runs)
    a, t = float(np.median(alone)), float(np.median(together))
    result = {"bench": "stacked vs separate runs, per run and step", "runs": runs,
              "separate_us_per_run_step": round(a * 1e6, 1), "stacked_us_per_run_step": round(t * 1e6, 1),
              "speedup": round(a / t, 2), "sizes": list(sizes), "batch": batch, "activation": activation,
              "optimizers": [f"{o}@{lr:g}" for o, lr in grid], "dtype": np.dtype(dtype).name,
              "threads": threads, "steps": steps, "rounds": rounds}
    result.update(info)
    result.update(environment())
    return result


def main(argv=None):
    from .nodes import ACTIVATIONS
    from .optim import OPTIMIZERS

    parser = argparse.ArgumentParser(
        prog="python -m flowlab.bench",
        description="Time flowlab's training step (forward, backward, optimizer update) on random batches "
                    "and print one JSON line.")
    parser.add_argument("--sizes", type=_sizes, default=[64, 64, 10], help="layer widths, e.g. 64,64,10")
    parser.add_argument("--batch", type=_positive, default=32, help="batch size (1 = stochastic)")
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default: the optimizer's)")
    parser.add_argument("--steps", type=_positive, default=500, help="timed steps")
    parser.add_argument("--warmup", type=_non_negative, default=None, help="untimed steps first (default: steps/10, at least 10)")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--threads", type=_positive, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--seed", type=_non_negative, default=0)
    parser.add_argument("--model", choices=["mlp", "graph", "miniflow"], default="mlp",
                        help="mlp (default); graph: the same network as a flowlab.Model; miniflow: a Model of "
                             "the course's hand-written Linear and Sigmoid (sigmoid activation)")
    parser.add_argument("--stack", type=_positive, default=None, metavar="RUNS",
                        help="time RUNS runs trained stacked against the same runs one by one (the default "
                             "sweep's optimizer and learning-rate pairs), interleaved; prints their ratio")
    args = parser.parse_args(argv)
    warmup = max(10, args.steps // 10) if args.warmup is None else args.warmup
    if args.stack:
        if args.model != "mlp":
            parser.error("--stack times MLPs; leave out --model")
        result = run_stacked(args.stack, args.sizes, args.batch, args.activation, args.steps, warmup, args.dtype,
                             args.threads, args.seed)
        sys.stdout.write(json.dumps(result) + "\n")
        return 0
    result = run(args.sizes, args.batch, args.activation, args.optimizer, args.steps, warmup, args.dtype,
                 args.threads, args.lr, args.seed, args.model)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
