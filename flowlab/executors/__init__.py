"""Executors: where a sweep's runs execute (this process, local worker processes, or a Dask cluster).

An executor has one method, ``run(fn, tasks, on_done)``: it calls ``fn(task)`` for every task and
``on_done(task, outcome)`` in the driver as each one finishes, where ``outcome`` is what ``fn``
returned or an exception describing why it could not return. On KeyboardInterrupt it stops the
tasks under way (letting them record themselves as interrupted), reports those that answer, and
re-raises. ``local`` holds this machine's executors, ``dask`` the cluster's; ``make_executor``
picks one from what the user asked for.
"""

from .local import *  # noqa: F401,F403
from .local import __all__
from .local import DASK_CONFIG, STOP_GRACE  # noqa: F401  (settings, for the benchmarks and tests)
