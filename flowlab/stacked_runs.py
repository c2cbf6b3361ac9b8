"""The sweep runner's stacked mode: groups of runs that ``fit_stacked`` can train together, and their execution.

A group is a list of the runner's tasks (``runner.RunTask``) whose configs differ only in learning rate, optimizer, its
settings (momentum, betas, eps, weight decay, nesterov) or learning-rate schedule. ``fit_stacked``
also stacks runs of different seeds, but in a sweep the seed draws the validation split as well,
so there they are not one group. ``execute_group`` runs ``runner.execute_run`` for each task
of a group, so each run's files (``run.json``, ``model.npz``, its TensorBoard events) are written by the same code as a run on its
own; only the training loop is shared: each run's ``execute_run`` hands its trainer over, and when
every run of the group has (or has failed before training), ``fit_stacked`` trains them at once.
The runs' ``execute_run`` calls wait for that in threads of their own; all numerical work is in
the calling thread.

When the runner stacks (``Experiment(stack="auto")``, the default): where it was measured to pay.
``python -m flowlab.bench --stack 9`` on 2 cores (OpenBLAS SkylakeX, one thread, time per run and
step, separate -> stacked): 64-64-10 batch 32, 87 -> 35 us (2.5x; tanh and sigmoid alike, float32
2.6x); batch 1, 2.7x; 64-64-64-10 batch 32, 2.3x; 784-64-10 batch 32 float32, 1.9x; 784-128-10
batch 32 float32, 1.4x; at batch x widest hidden layer = 4096 (64-64-10 batch 64, 64-128-10 batch
32, 64-256-10 batch 16) 1.1x to 1.25x; beyond it a loss: 64-64-10 batch 128 0.86x, batch 256 0.69x,
64-256-10 batch 32 0.87x (the stacked arrays outgrow the cache that one run's fit in); 784-256-10
batch 128 1.0x-1.1x. With 3 runs in place of 9, 64-64-10 batch 32 gains 1.4x. So "auto" stacks
where batch x widest hidden layer is at most ``AUTO_MAX_UNITS`` (2048), the gain there being 2x or
more; True stacks whatever can be.
"""

from __future__ import annotations

import copy
import functools
import threading
from dataclasses import dataclass

from .settings import MODEL_SETTINGS, OPTIMIZER_SETTINGS
from .status import FINISHED, RunStatus

__all__ = ["group_tasks", "execute_job", "execute_group", "run_jobs", "GroupResult", "AUTO_MAX_UNITS", "STACK_CHOICES"]

#: What ``Experiment(stack=...)`` accepts.
STACK_CHOICES = ("auto", True, False)
#: "auto" stacks where batch size x the widest hidden layer is at most this (measured: 2048 gains
#: 2x-2.7x, 4096 1.1x-1.25x, 8192 loses 0.7x-0.9x).
AUTO_MAX_UNITS = 2048
#: What the runs of a group may differ in.
# Not the seed: it also draws the validation split, the data. A schedule is each run's own callback.
_FREE = ("learning_rate", "optimizer", "schedule", *OPTIMIZER_SETTINGS)


def _stackable_config(config, stack):
    """Whether a run with this config can be stacked, and (for "auto") is measured to gain from it."""
    from .data import DATASETS

    info = DATASETS.get(config["dataset"])
    if info is None or info.task != "classification":  # the stacked loss is softmax cross-entropy
        return False
    if any(config.get(name) for name in MODEL_SETTINGS):  # penalties, dropout, batchnorm: not stacked
        return False
    if stack != "auto":
        return True
    batch = config["batch_size"]  # None: the whole training set, never small enough
    return batch is not None and batch * max(config["hidden"], default=info.num_classes) <= AUTO_MAX_UNITS


def group_tasks(tasks, stack, workers):
    """The jobs for the executor: single tasks, and lists of tasks to train stacked.

    Tasks group by everything but learning rate, optimizer, its settings and the schedule. Never
    stacked: a custom model builder, regularization (l1, l2, dropout, batchnorm), a regression, and
    (with "auto") a network whose batch x widest hidden layer is too large to pay. Groups are split so that there are at least as many jobs as ``workers``.
    """
    if stack is False or stack is None:
        return list(tasks)
    groups, singles = {}, []
    for task in tasks:
        c = task.config
        if task.builder is not None or not _stackable_config(c, stack):
            singles.append(task)
            continue
        key = repr(sorted((k, v) for k, v in c.items() if k not in _FREE))
        groups.setdefault(key, []).append(task)
    jobs = [g for g in groups.values() if len(g) > 1]
    singles += [g[0] for g in groups.values() if len(g) == 1]
    # Balance: split the largest group in two until every worker has a job (2 workers, 3 groups of 9:
    # 4 jobs, not 3 of which one worker gets two).
    target = max(workers or 1, 1)
    if jobs:
        target = -(-len(jobs) // target) * target if len(jobs) >= target else target
    while len(jobs) + len(singles) < target and jobs and max(map(len, jobs)) > 1:
        big = max(jobs, key=len)
        jobs.remove(big)
        half = (len(big) + 1) // 2
        jobs += [big[:half], big[half:]]
    jobs = [j if len(j) > 1 else j[0] for j in jobs]
    return jobs + singles


@dataclass(frozen=True)
class GroupResult:
    """What a stacked group returns: its runs' records (None for one that returned none), in the group's
    order, and ``status`` "interrupted" when any run was (so an in-process executor stops the sweep)."""

    records: tuple
    status: str


class _Rendezvous:
    """Collects the trainers of a group's runs; the last to arrive lets the caller train them."""

    def __init__(self, size):
        self.size, self.arrived, self.gone = size, [], 0
        self.lock = threading.Condition()
        self.done = threading.Event()
        self.exc = None
        self.errors = {}  # id(trainer) -> what its own fit raised (runs trained one by one)

    def fit(self, trainer, data, *, epochs, batch_size):
        with self.lock:
            self.arrived.append((trainer, data, epochs, batch_size))
            self.lock.notify_all()
        self.done.wait()
        own = self.errors.get(id(trainer)) or getattr(trainer, "_stack_error", None)
        if own is not None:  # what this run's own fit raised (a callback of its own)
            raise own
        if self.exc is not None and trainer.status not in FINISHED:
            # A copy each: the runs' threads each add their own traceback (a run that ended before keeps its record).
            raise copy.copy(self.exc).with_traceback(None)
        return trainer.history

    def leave(self):
        with self.lock:
            self.gone += 1
            self.lock.notify_all()

    def wait_all(self):
        with self.lock:
            self.lock.wait_for(lambda: len(self.arrived) + self.gone >= self.size)


def execute_group(group, run, load, callbacks=()):
    """Runs a group of tasks stacked; returns their ``GroupResult``.

    ``run`` is the runner's ``execute_run``, ``load`` its dataset loader.
    """
    from .stacked import fit_stacked, stackable
    from .train import Trainer

    try:  # once, before the runs' threads ask for it at the same time (they then share one Dataset)
        load(group[0])
    except Exception:  # noqa: BLE001 - every run's execute_run records the same error
        pass
    meeting = _Rendezvous(len(group))
    records = [None] * len(group)

    def one(i, task):
        try:
            records[i] = run(task, callbacks, fit=meeting.fit)
        finally:
            meeting.leave()  # a run that failed before training no longer holds the others up

    threads = [threading.Thread(target=one, args=(i, t), daemon=True) for i, t in enumerate(group)]
    for thread in threads:
        thread.start()
    try:
        meeting.wait_all()
        arrived = list(meeting.arrived)
        if arrived:
            trainers = [a[0] for a in arrived]
            _, data, epochs, batch_size = arrived[0]
            same = all(a[1] is data and a[2] == epochs and a[3] == batch_size for a in arrived)
            if same and stackable(trainers) and _exact(trainers, data, batch_size):
                fit_stacked(trainers, data, epochs=epochs, batch_size=batch_size)
            else:  # each run trains alone, as without stacking (also where stacking would not be bit-identical)
                for trainer, data, epochs, batch_size in arrived:
                    try:
                        Trainer.fit(trainer, data, epochs=epochs, batch_size=batch_size)
                    except Exception as exc:  # noqa: BLE001 - that run's execute_run records it
                        meeting.errors[id(trainer)] = exc
    except BaseException as exc:  # noqa: BLE001 - every run's execute_run records it (failed or interrupted)
        meeting.exc = exc
    finally:
        meeting.done.set()
        for thread in threads:
            thread.join()
    statuses = [r.status for r in records if r]
    return GroupResult(tuple(records), RunStatus.INTERRUPTED.value if RunStatus.INTERRUPTED in statuses else "done")


def _exact(trainers, data, batch_size):
    """Whether stacking these runs gives each the numbers it would get alone, on this numpy and BLAS."""
    from .stacked import exact_here

    n = len(data.x_train)
    rows = {n} if batch_size is None else {min(batch_size, n), n % batch_size}  # validation is per run
    model = trainers[0].model
    return exact_here(len(trainers), model.sizes, rows, model.dtype)


def execute_job(job, run, load, **kwargs):
    """What a worker runs for a job of ``group_tasks``: one task (``run(task)``), or a group stacked."""
    return execute_group(job, run, load, **kwargs) if isinstance(job, list) else run(job, **kwargs)


def run_jobs(executor, tasks, on_done, stack, run, load):
    """``executor.run(run, tasks, on_done)``, with the tasks that pay trained stacked, the longest first.

    ``run`` is the runner's ``execute_run`` and ``load`` its dataset loader. The runner passes
    ``stack=False`` for executors that must get one task at a time: Dask (its workers ship one run
    directory per task) and an executor of the user's (which expects tasks).
    """
    from .balance import longest_first
    from .executors.local import ProcessExecutor

    jobs = group_tasks(tasks, stack, getattr(executor, "workers", 1))
    if isinstance(executor, ProcessExecutor) and executor.workers > 1:  # the local pool: the longest first
        jobs = longest_first(jobs)
    if not any(isinstance(j, list) for j in jobs):
        return executor.run(run, jobs, on_done)

    def job_done(job, outcome):
        if not isinstance(job, list):
            return on_done(job, outcome)
        records = outcome.records if isinstance(outcome, GroupResult) else None
        stop = None
        for i, task in enumerate(job):  # a worker that died, or a record missing: that run failed
            record = records[i] if records and records[i] is not None else (
                outcome if not isinstance(outcome, GroupResult) else RuntimeError("the stacked group returned no record"))
            try:
                on_done(task, record)
            except KeyboardInterrupt as exc:  # the sweep stops (a full disk): record the group's other runs first
                stop = stop or exc
        if stop is not None:
            raise stop

    return executor.run(functools.partial(execute_job, run=run, load=load), jobs, job_done)
