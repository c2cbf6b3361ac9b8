"""How a run ended: the one vocabulary every part of flowlab speaks.

The trainer decides a run's status (``Trainer.status``); the runner adds only "failed before
training started" and "interrupted while queued". Everything else (run.json, results.csv, the
HParams ``status`` column and session status, the sweep's table) reads it from here.

``RunStatus`` is a ``str`` enum, so ``json.dumps``, ``csv`` and ``==`` with the plain strings that
older run.json files hold keep working unchanged, as Optuna's ``TrialState`` does for its storage.
"""
from enum import Enum

__all__ = ["RunStatus", "STATUSES", "FINISHED", "SUCCEEDED", "SESSION_STATUS", "INTERRUPTED_MESSAGE",
           "INTERRUPTED_QUEUED_MESSAGE"]


class RunStatus(str, Enum):
    COMPLETED = "completed"          # trained every epoch
    EARLY_STOPPED = "early_stopped"  # a callback stopped it (EarlyStopping)
    DIVERGED = "diverged"            # the loss became non-finite or overflowed float32
    FAILED = "failed"                # raised, or could not start
    INTERRUPTED = "interrupted"      # Ctrl-C or SIGTERM, or the sweep stopped while it was queued

    def __str__(self):
        return self.value

    @property
    def finished(self):
        """The run ran to an end of its own: resume keeps it, and its metrics rank it."""
        return self in (RunStatus.COMPLETED, RunStatus.EARLY_STOPPED, RunStatus.DIVERGED)

    @property
    def succeeded(self):
        return self in (RunStatus.COMPLETED, RunStatus.EARLY_STOPPED)


#: Every status, in the order the HParams ``status`` column lists them.
STATUSES = tuple(s.value for s in RunStatus)
#: Statuses a resumed sweep keeps rather than runs again.
FINISHED = tuple(s.value for s in RunStatus if s.finished)
SUCCEEDED = tuple(s.value for s in RunStatus if s.succeeded)

#: How a status shows as the HParams session status (tensorboard's api_pb2.Status names).
SESSION_STATUS = {s.value: ("STATUS_SUCCESS" if s.succeeded else "STATUS_FAILURE") for s in RunStatus}

#: The one wording of an interrupted run's error, for a run stopped while training and one stopped queued.
INTERRUPTED_MESSAGE = "interrupted by Ctrl-C or SIGTERM"
INTERRUPTED_QUEUED_MESSAGE = "the sweep was interrupted while this run was going"
