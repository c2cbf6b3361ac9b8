"""flowlab.balance: a sweep's jobs start longest first, and the order changes no result."""

import csv

import numpy as np

from flowlab import Experiment
from flowlab.balance import job_seconds, longest_first, run_seconds
from flowlab.executors import ProcessExecutor
from flowlab.runner import RunTask
from flowlab.stacked_runs import run_jobs


def _task(**config):
    base = {"dataset": "mnist", "hidden": (256,), "learning_rate": 0.01, "optimizer": "sgd", "batch_size": 128,
            "activation": "relu", "seed": 0, "epochs": 5, "dtype": "float32", "val_fraction": 0.2}
    return RunTask(name=",".join(f"{k}={v}" for k, v in config.items()), run_dir="", config={**base, **config})


def test_the_mnist_size_grid_starts_its_adam_runs_first_and_keeps_grid_order_between_equals():
    grid = [_task(activation=a, optimizer=o) for a in ("relu", "tanh") for o in ("sgd", "momentum", "adam")]
    order = [t.name for t in longest_first(grid)]
    assert order == ["activation=relu,optimizer=adam", "activation=tanh,optimizer=adam",
                     "activation=relu,optimizer=momentum", "activation=tanh,optimizer=momentum",
                     "activation=relu,optimizer=sgd", "activation=tanh,optimizer=sgd"]
    same = [_task(learning_rate=lr) for lr in (0.1, 0.01, 0.001)]  # equal work: grid order
    assert longest_first(same) == same


def test_the_estimate_grows_with_the_work_a_run_does():
    base = run_seconds(_task().config)
    assert np.isclose(run_seconds(_task(epochs=10).config), 2 * base)
    assert run_seconds(_task(dtype="float64").config) > base
    assert run_seconds(_task(hidden=(512,)).config) > run_seconds(_task(hidden=(256,)).config) > \
        run_seconds(_task(hidden=(64,)).config)
    assert run_seconds(_task(hidden=(256, 256)).config) > base
    assert run_seconds(_task(dataset="digits").config) < base  # 1,797 examples of 64 features
    assert run_seconds(_task(dataset="digits", n_samples=None).config) == run_seconds(_task(dataset="digits").config)
    assert np.isclose(run_seconds(_task(dataset="moons", n_samples=4000, batch_size=32).config),
                      2 * run_seconds(_task(dataset="moons", n_samples=2000, batch_size=32).config))
    # One step per epoch over the whole set costs less than 469 steps over it (the fixed cost per step).
    assert run_seconds(_task(batch_size=None).config) < base < run_seconds(_task(batch_size=32).config)
    adam = run_seconds(_task(optimizer="adam").config)
    assert base < run_seconds(_task(optimizer="momentum").config) < adam
    assert run_seconds(_task(optimizer="an_optimizer_of_my_own").config) == adam


def test_a_stacked_group_counts_its_per_step_cost_once():
    group = [_task(dataset="digits", hidden=(64,), batch_size=32, optimizer=o) for o in ("sgd", "adam")]
    alone = sum(job_seconds(t) for t in group)
    fixed = run_seconds(group[0].config) - run_seconds(group[0].config, overhead=False)
    assert fixed > 0
    assert np.isclose(job_seconds(group), alone - fixed)
    # A group of nine outweighs a group of four of the same runs.
    assert [len(j) for j in longest_first([group[:1] * 4, group[:1] * 9])] == [9, 4]


class _Recording(ProcessExecutor):
    """The local pool, recording the jobs it is given, in order, and running none."""

    def run(self, fn, jobs, on_done):
        self.jobs = jobs


class _Own:
    """An executor of the user's, with a ``workers`` attribute of its own meaning."""

    def __init__(self, workers):
        self.workers = workers

    def run(self, fn, jobs, on_done):
        self.jobs = jobs


def test_run_jobs_gives_the_local_pool_the_longest_first_and_other_executors_the_grid_order():
    grid = [_task(optimizer=o) for o in ("sgd", "momentum", "adam")]
    pool, one = _Recording(workers=2), _Recording(workers=1)
    others = [_Own(2), _Own(None), _Own(["host-a", "host-b"])]  # Dask places its runs itself
    for executor in (pool, one, *others):
        run_jobs(executor, grid, None, False, None, None)
    assert [t.config["optimizer"] for t in pool.jobs] == ["adam", "momentum", "sgd"]
    assert one.jobs == grid and all(e.jobs == grid for e in others)


def test_mnist_files_are_counted_as_they_are_split():
    from flowlab.balance import _examples
    from flowlab.data import DATASETS

    # The training files (60,000, or the subsample asked for) and the t10k files; not 70,000 less 20%.
    assert _examples(_task().config, DATASETS["mnist"]) == (60000, 10000)
    assert _examples(_task(n_samples=5000).config, DATASETS["fashion-mnist"]) == (5000, 10000)
    assert _examples(_task(dataset="digits").config, DATASETS["digits"]) == (1438, 359)


def test_a_sweep_in_worker_processes_gets_every_number_and_row_it_gets_in_grid_order(tmp_path):
    axes = dict(optimizer=["sgd", "momentum", "adam"], learning_rate=[0.01, 0.1])  # started adam first
    runs = {}
    for workers in (1, 2):
        exp = Experiment("order", logdir=tmp_path / str(workers), workers=workers, stack=False, dataset="digits",
                         hidden=[16], epochs=2)
        grid_order = list(exp.plan(**axes).names)
        runs[workers] = exp.sweep(**axes)
        with open(runs[workers].sweep_dir / "results.csv") as f:
            assert [row["name"] for row in csv.DictReader(f)] == grid_order == [r.name for r in runs[workers]]
    for a, b in zip(runs[1], runs[2]):
        assert (a.name, a.status, a.metrics) == (b.name, b.status, b.metrics)
        with np.load(runs[1].sweep_dir / a.name / "model.npz") as ma, \
                np.load(runs[2].sweep_dir / b.name / "model.npz") as mb:
            assert all(np.array_equal(ma[k], mb[k]) for k in ma.files)
