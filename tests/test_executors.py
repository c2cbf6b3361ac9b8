"""flowlab.executors, the package: make_executor picks the executor a sweep asked for. Each executor has its
own file: tests/test_executors_local.py, tests/test_executors_dask.py."""

import pytest

from flowlab.executors import InProcessExecutor, ProcessExecutor, make_executor


def test_make_executor_gives_what_was_asked_for(monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    assert isinstance(make_executor(None, workers=1), InProcessExecutor)
    assert isinstance(make_executor("local", workers=1), InProcessExecutor)
    pool = make_executor("local", workers=3)
    assert isinstance(pool, ProcessExecutor) and pool.workers == 3

    class Mine:  # any object with run(fn, tasks, on_done) is an executor
        def run(self, fn, tasks, on_done):
            for task in tasks:
                on_done(task, fn(task))

    mine = Mine()
    assert make_executor(mine, workers=4) is mine


def test_an_unknown_executor_name_says_what_works():
    with pytest.raises(ValueError, match=r"^unknown executor 'dask'; use 'local', a Dask scheduler address like "
                                         r"'tcp://127.0.0.1:8786', or a scheduler file ending in .json$"):
        make_executor("dask")
