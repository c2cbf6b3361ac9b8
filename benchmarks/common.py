"""What the benchmark scripts share: the configurations, interleaved timing, and the table printout."""

from __future__ import annotations

import json
import statistics

from flowlab.bench import blas_info, environment as _environment, flowlab_step, time_steps

__all__ = ["CONFIGS", "environment", "flowlab_step", "interleave", "print_table"]

#: (name, layer sizes, batch size): a digits-size network at batch 32 and 128, an MNIST-size one at batch 128,
#: and an MNIST-size one at batch 1, where the per-step overhead dominates.
CONFIGS = [
    ("64-64-10/b32", [64, 64, 10], 32),
    ("64-128-10/b128", [64, 128, 10], 128),
    ("784-256-256-10/b128", [784, 256, 256, 10], 128),
    ("784-256-10/b1", [784, 256, 10], 1),
]


def environment(threads):
    """One line describing the machine and BLAS (call inside the threadpool limit to see its threads)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        info = {**_environment(), **blas_info()}
    return "# " + json.dumps(info)


def interleave(sides, rounds, steps, warmup=None):
    """Times several step callables in alternating rounds; returns each one's median seconds per step.

    Every round runs each side for ``steps`` timed steps; the order is reversed every other round, so
    a slow spell of a noisy machine hits every side alike. Each side gets ``warmup`` untimed steps
    before its first round (default: ``steps``).
    """
    names = list(sides)
    warmup = steps if warmup is None else warmup
    for name in names:
        time_steps(sides[name], 0, warmup)
    times = {name: [] for name in names}
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            times[name].extend(time_steps(sides[name], steps))
    return {name: statistics.median(t) for name, t in times.items()}


def print_table(rows, value_names, header=True):
    """Prints rows (config, activation, optimizer, dtype, *values) as a Markdown table; seconds -> us."""
    if header:
        print("| config | activation | optimizer | dtype | " + " | ".join(value_names) + " |")
        print("|---|---|---|---|" + "---:|" * len(value_names))
    for row in rows:
        *keys, a, b, ratio = row
        print("| " + " | ".join(keys) + f" | {a * 1e6:.1f} | {b * 1e6:.1f} | {ratio:.2f} |", flush=True)
