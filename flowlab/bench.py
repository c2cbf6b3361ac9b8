"""`python -m flowlab.bench`: times flowlab's training step (forward, backward, update) and prints one JSON line.

Example:
    python -m flowlab.bench --sizes 64,64,10 --batch 32 --activation relu --optimizer adam --steps 500

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

__all__ = ["flowlab_step", "time_steps", "summarize", "blas_info", "run", "main"]


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
    args = parser.parse_args(argv)
    warmup = max(10, args.steps // 10) if args.warmup is None else args.warmup
    result = run(args.sizes, args.batch, args.activation, args.optimizer, args.steps, warmup, args.dtype,
                 args.threads, args.lr, args.seed, args.model)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
