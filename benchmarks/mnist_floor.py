"""How fast the MNIST-size sweep can be on this machine: its matrix products alone, then its optimizer updates.

Run from the repository root:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.mnist_floor --flowlab-seconds 6.9 \\
        --pytorch-seconds 15.5

The sweep is ``benchmarks/e2e_vs_peers.py``'s MNIST-size one: 784-256-10, batch 128, float32, 5
epochs of 60,000 examples and a 10,000-example validation pass per epoch, 6 runs (relu and tanh x
sgd, momentum and adam), on one worker per core. With one BLAS thread this times, each as the
median of many repetitions:

- the five matrix products of a training step (forward through both layers, both weights'
  gradients, the hidden layer's gradient): what any implementation must compute, at the speed of
  this machine's BLAS;
- the validation pass's two products;
- one update of each optimizer of the sweep, flowlab's own (numpy, one pass per operation);
- gathering one shuffled batch of rows;
- for scale, one 1024 x 1024 by 1024 x 1024 product: about what this core's BLAS can do.

It adds them up for the busiest worker, with the runs perfectly balanced, and prints each level as a
time and as the ratio to a PyTorch time when one is given. Interpreter start-up, data loading,
activations, the loss and the TensorBoard files are left out: each level is a lower bound.
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import statistics
import time

import numpy as np

from flowlab.bench import blas_info, environment

from .e2e_vs_peers import SWEEPS, grid

SPEC = SWEEPS["mnist"]
(HIDDEN,) = SPEC["hidden"]
SIZES, BATCH, EPOCHS, TRAIN, VAL = (784, HIDDEN, 10), SPEC["batch"], SPEC["epochs"], 60000, 10000
#: Runs of each optimizer in the grid (relu and tanh x sgd, momentum, adam: two each).
OPTIMIZERS = dict(collections.Counter(c["optimizer"] for c in grid(SPEC["axes"])))


def median_seconds(fn, repeats, rounds=7):
    """The median over ``rounds`` of the mean time of ``repeats`` calls."""
    fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        times.append((time.perf_counter() - start) / repeats)
    return statistics.median(times)


def components(seed=0):
    """Seconds of: a step's products, a validation pass's products, a batch's gather, each optimizer's update."""
    from flowlab.models import MLP
    from flowlab.optim import get_optimizer

    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = SIZES
    x = rng.standard_normal((BATCH, n_in), dtype=np.float32)
    w1 = rng.standard_normal((n_in, n_hidden), dtype=np.float32)
    w2 = rng.standard_normal((n_hidden, n_out), dtype=np.float32)
    h = rng.standard_normal((BATCH, n_hidden), dtype=np.float32)
    g2 = rng.standard_normal((BATCH, n_out), dtype=np.float32)
    g1 = rng.standard_normal((BATCH, n_hidden), dtype=np.float32)

    def products():
        x @ w1, h @ w2, h.T @ g2, g2 @ w2.T, x.T @ g1

    x_val = rng.standard_normal((VAL, n_in), dtype=np.float32)
    h_val = rng.standard_normal((VAL, n_hidden), dtype=np.float32)

    def validation():
        x_val @ w1, h_val @ w2

    x_train = rng.standard_normal((TRAIN, n_in), dtype=np.float32)
    order = rng.permutation(TRAIN)
    position = [0]

    def gather():
        start = position[0] = (position[0] + BATCH) % (TRAIN - BATCH)
        x_train.take(order[start:start + BATCH], axis=0)

    big = rng.standard_normal((1024, 1024), dtype=np.float32)
    out = {"products": median_seconds(products, 200), "validation": median_seconds(validation, 5),
           "gather": median_seconds(gather, 400), "peak": median_seconds(lambda: big @ big, 5)}
    for name in OPTIMIZERS:
        model = MLP(list(SIZES), activation="relu", seed=seed, dtype="float32")
        model.train_step(x, rng.integers(0, n_out, BATCH))  # gradients to update with
        optimizer = get_optimizer(name, model.params, lr=0.01)
        out[name] = median_seconds(optimizer.step, 200)
    return out


def floors(parts, workers):
    """Seconds for the busiest worker, runs balanced, at each level: products; + updates; + gathers."""
    steps = EPOCHS * math.ceil(TRAIN / BATCH)
    runs = sum(OPTIMIZERS.values())
    products = runs * (steps * parts["products"] + EPOCHS * parts["validation"])
    updates = sum(count * steps * parts[name] for name, count in OPTIMIZERS.items())
    gathers = runs * steps * parts["gather"]
    return [("the matrix products (training and validation)", products / workers),
            ("+ the optimizers' updates", (products + updates) / workers),
            ("+ gathering the shuffled batches", (products + updates + gathers) / workers)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--flowlab-seconds", type=float, default=None, help="flowlab's measured end-to-end time")
    parser.add_argument("--pytorch-seconds", type=float, default=None, help="PyTorch's measured end-to-end time")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        print("# " + str({**environment(), **blas_info()}))
        parts = components()
    n_in, n_hidden, n_out = SIZES
    step_flops = 2 * BATCH * (2 * n_in * n_hidden + 3 * n_hidden * n_out)
    val_flops = 2 * VAL * (n_in * n_hidden + n_hidden * n_out)
    print("\n| per step or pass, one BLAS thread | ms | GFLOP/s |\n|---|---:|---:|")
    print(f"| 5 products of a training step | {parts['products'] * 1e3:.3f} | {step_flops / parts['products'] / 1e9:.0f} |")
    print(f"| validation pass products (10,000 rows) | {parts['validation'] * 1e3:.2f} | "
          f"{val_flops / parts['validation'] / 1e9:.0f} |")
    print(f"| for scale: one 1024x1024 by 1024x1024 product | {parts['peak'] * 1e3:.2f} | "
          f"{2 * 1024**3 / parts['peak'] / 1e9:.0f} |")
    print(f"| gather of a shuffled batch | {parts['gather'] * 1e3:.3f} | |")
    for name in OPTIMIZERS:
        print(f"| {name} update (203,530 parameters) | {parts[name] * 1e3:.3f} | |")
    rows = floors(parts, args.workers)
    if args.flowlab_seconds:
        rows.append(("flowlab end to end, measured", args.flowlab_seconds))
    header = "| busiest of %d workers, at least | s |" % args.workers
    if args.pytorch_seconds:
        header += " PyTorch (%.2f s) / this |" % args.pytorch_seconds
    print("\n" + header + "\n|---|---:|" + ("---:|" if args.pytorch_seconds else ""))
    for label, seconds in rows:
        line = f"| {label} | {seconds:.2f} |"
        if args.pytorch_seconds:
            line += f" {args.pytorch_seconds / seconds:.2f}x |"
        print(line)
    if args.pytorch_seconds:
        print(f"\n3x PyTorch is {args.pytorch_seconds / 3:.2f} s end to end, start-up and every other step included.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
