"""The order a sweep's jobs start in: the longest first, so that the workers finish together.

A pool of workers takes jobs in the order it is given them. In grid order the longest job can be
the last to start: at MNIST size (784-256-10, batch 128, 5 epochs, relu and tanh x sgd, momentum
and adam, 2 workers) the Adam runs came last, and one worker finished its three runs 1.0 s before
the other, of a 7.3 s sweep. Starting the longest first (Graham's LPT rule, within 4/3 of the best
order) balances them. The local pool of workers (``ProcessExecutor``) gets its jobs in this order;
other executors (Dask, whose scheduler places the runs, or your own) get them in grid order.

How long a run takes is estimated from its config alone, as what its steps cost on a CPU: the
matrix products, the optimizer's update per parameter, the elementwise work per hidden unit, a
fixed cost per step, and a validation pass per epoch. The activation is not counted (relu and tanh
runs tie, and keep grid order), nor what a ``model=`` builder makes of the config (its runs are
estimated from the config's MLP fields). The constants below were measured with
``python -m flowlab.bench`` and matrix products timed on their own (one BLAS thread, OpenBLAS'
SkylakeX kernel, numpy 2.4). Only the order of the jobs depends on them: a poor estimate costs
balance, never a number. Every run's files and its row in results.csv are the same in any order.
"""

from __future__ import annotations

import math

__all__ = ["run_seconds", "job_seconds", "longest_first"]

#: Seconds per multiply-add in the products of a training step, by dtype (784-256-10 batch 128:
#: 98 GMAC/s in float32, 45 in float64; small products are slower, which the fixed cost covers).
MAC_SECONDS = {"float32": 1 / 95e9, "float64": 1 / 44e9}
#: Seconds per step that do not grow with the network: the graph walk, the loss, the batch's gather.
STEP_SECONDS = 27e-6
#: Seconds per hidden unit and example: activation forward and backward, bias gradients.
UNIT_SECONDS = {"float32": 1.5e-9, "float64": 3e-9}
#: Nanoseconds per parameter of one optimizer update (784-256-10, 203,530 parameters), by dtype.
UPDATE_NS = {
    "float32": {"sgd": 0.16, "momentum": 0.29, "nesterov": 0.42, "adagrad": 0.68, "adamax": 0.71,
                "rmsprop": 0.88, "adam": 1.16, "nadam": 1.46, "adadelta": 1.66},
    "float64": {"sgd": 0.35, "momentum": 0.60, "nesterov": 0.88, "adagrad": 1.99, "adamax": 1.52,
                "rmsprop": 2.24, "adam": 3.00, "nadam": 3.58, "adadelta": 4.36},
}
#: An optimizer of the user's own is taken to cost what Adam does.
_UNKNOWN_UPDATE = "adam"


def _sizes(config, info):
    features = info.num_features if info is not None else 1
    outputs = max(info.num_classes, 1) if info is not None else 1
    return [features, *config.get("hidden", ()), outputs]


#: Validation examples of the sets read from files (MNIST's and Fashion-MNIST's t10k files); their
#: training files are the rest, and ``n_samples`` subsamples those.
_FILE_VALIDATION = 10000


def _examples(config, info):
    """(training, validation) examples: the dataset's size less the validation fraction, or a file set's split."""
    n = config.get("n_samples")
    if info is not None and info.source == "local files":
        return n or info.num_samples - _FILE_VALIDATION, _FILE_VALIDATION
    n = n or (info.num_samples if info is not None else 1000)
    val = int(round(n * (config.get("val_fraction") or 0.0)))
    return max(n - val, 1), val


def _per_step(config, sizes, batch, dtype, fixed=True):
    layers = list(zip(sizes[:-1], sizes[1:]))
    # Forward, the weights' gradient and (after the first layer) the input's gradient.
    macs = batch * sum(a * b * (2 if i == 0 else 3) for i, (a, b) in enumerate(layers))
    params = sum(a * b + b for a, b in layers)
    update = UPDATE_NS[dtype].get(config.get("optimizer"), UPDATE_NS[dtype][_UNKNOWN_UPDATE]) * 1e-9
    units = batch * sum(sizes[1:-1])
    return (STEP_SECONDS if fixed else 0.0) + macs * MAC_SECONDS[dtype] + params * update \
        + units * UNIT_SECONDS[dtype]


def run_seconds(config, *, overhead=True):
    """An estimate of the seconds a run of ``config`` (a RunTask's config dict) trains for on one core.

    ``overhead=False`` leaves out the fixed cost per step, which the runs of a stacked group share.
    """
    from .data import DATASETS

    info = DATASETS.get(config.get("dataset"))
    dtype = "float32" if str(config.get("dtype")) == "float32" else "float64"
    sizes = _sizes(config, info)
    train, val = _examples(config, info)
    batch = config.get("batch_size") or train
    batch = min(batch, train)
    steps = math.ceil(train / batch)
    evaluation = val * sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) * MAC_SECONDS[dtype]
    epochs = config.get("epochs") or 1
    return epochs * (steps * _per_step(config, sizes, batch, dtype, overhead) + evaluation)


def job_seconds(job):
    """A job's estimate: a task's ``run_seconds``, or a stacked group's (the runs' work, the per-step cost once)."""
    if not isinstance(job, list):
        return run_seconds(job.config)
    shared = run_seconds(job[0].config) - run_seconds(job[0].config, overhead=False)
    return shared + sum(run_seconds(task.config, overhead=False) for task in job)


def longest_first(jobs):
    """``jobs`` (tasks, or lists of tasks trained stacked) sorted by ``job_seconds``, longest first.

    Jobs of equal estimate keep their order, so a grid whose runs all cost the same runs in grid order.
    """
    costs = [job_seconds(job) for job in jobs]
    return [jobs[i] for i in sorted(range(len(jobs)), key=lambda i: -costs[i])]
