"""The callback protocol's end of run: the trainer says how a run ended (``logs["status"]`` at
``on_train_end``, the same as ``trainer.status``), and callbacks such as the TensorBoard logger read
it rather than work it out."""

from types import SimpleNamespace

import numpy as np
import pytest

from flowlab.models import MLP
from flowlab.stacked import fit_stacked
from flowlab.status import RunStatus
from flowlab.tensorboard import TensorBoardLogger
from flowlab.train import Callback, EarlyStopping, Trainer
from tbread import hparams_session, text_summary


class End(Callback):
    def on_train_end(self, logs=None):
        self.status, self.trainer_status = logs["status"], self.trainer.status


class Raise(Callback):
    def __init__(self, exc):
        self.exc = exc

    def on_epoch_end(self, epoch, logs=None):
        raise self.exc


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    return x, (x[:, 0] > 0).astype(int)


@pytest.mark.parametrize("lr, extra, status", [
    (0.1, [], RunStatus.COMPLETED),
    (0.1, [EarlyStopping(monitor="loss", patience=0, min_delta=100.0)], RunStatus.EARLY_STOPPED),
    (1e6, [], RunStatus.DIVERGED),
    (0.1, [Raise(RuntimeError("boom"))], RunStatus.FAILED),
    (0.1, [Raise(KeyboardInterrupt())], RunStatus.INTERRUPTED),
])
def test_on_train_end_is_told_how_the_run_ended(lr, extra, status):
    end = End()
    trainer = Trainer(MLP([2, 4, 2], seed=0), "sgd", lr=lr, callbacks=[end, *extra])
    x, y = data()
    try:
        trainer.fit(x, y, epochs=4, batch_size=16)
    except (RuntimeError, KeyboardInterrupt):
        pass
    assert end.status is status and end.trainer_status is status


def test_a_stacked_run_is_told_too():
    x, y = data()
    ends = [End(), End()]
    trainers = [Trainer(MLP([2, 4, 2], seed=0), "sgd", lr=lr, callbacks=[end]) for lr, end in zip((0.1, 1e6), ends)]
    fit_stacked(trainers, x, y, epochs=3, batch_size=16)
    assert [e.status for e in ends] == [RunStatus.COMPLETED, RunStatus.DIVERGED]
    assert [e.trainer_status for e in ends] == [RunStatus.COMPLETED, RunStatus.DIVERGED]


def test_the_logger_writes_the_status_it_is_handed_not_the_exception_in_flight(tmp_path):
    # A hand-driven logger (as LoopLogger drives it) ending while an exception propagates: the status
    # is what the caller says, not what the exception would suggest.
    model = MLP([2, 3, 2], seed=0)
    trainer = SimpleNamespace(model=model, status="running", error="loss became inf", optimizer=None)
    logger = TensorBoardLogger(tmp_path / "run", hparams={"lr": 1.0}, graph=False, boundary_freq=0)
    logger.trainer = trainer
    logger.on_train_begin({})
    try:
        raise RuntimeError("a failure the caller has already accounted for")
    except RuntimeError:
        logger.on_train_end({"status": RunStatus.DIVERGED})
    hparams, _, end = hparams_session(tmp_path / "run")
    assert hparams["status"] == "diverged" and end == "STATUS_FAILURE"
    assert text_summary(tmp_path / "run", "status").startswith("**diverged** after 0 epoch(s)")


def test_without_logs_the_logger_reads_the_trainers_status(tmp_path):
    trainer = SimpleNamespace(model=MLP([2, 3, 2], seed=0), status=RunStatus.EARLY_STOPPED, error=None,
                              optimizer=None)
    logger = TensorBoardLogger(tmp_path / "run", hparams={}, graph=False, boundary_freq=0)
    logger.trainer = trainer
    logger.on_train_begin({})
    logger.on_train_end()
    hparams, _, end = hparams_session(tmp_path / "run")
    assert hparams["status"] == "early_stopped" and end == "STATUS_SUCCESS"


def _loop(run_dir):
    from flowlab.miniflow import MSE, Input, Linear, topological_sort

    rng = np.random.default_rng(0)
    X, y, W, b = Input(), Input(), Input(), Input()
    W.value, b.value = rng.normal(size=(3, 1)), np.zeros(1)
    MSE(y, Linear(X, W, b))
    from flowlab import LoopLogger

    return LoopLogger(run_dir, graph=topological_sort({X: rng.normal(size=(4, 3)), y: rng.normal(size=4)}),
                      feed_dict=[X, y], flush_secs=0)


@pytest.mark.parametrize("exc, status", [(None, "completed"), (RuntimeError("boom"), "failed"),
                                         (KeyboardInterrupt(), "interrupted")])
def test_a_loop_logger_hands_the_logger_how_its_loop_ended(tmp_path, exc, status):
    try:
        with _loop(tmp_path / "run") as log:
            log.log(0, 1.5)
            if exc is not None:
                raise exc
    except (RuntimeError, KeyboardInterrupt):
        pass
    hparams, _, end = hparams_session(tmp_path / "run")
    assert hparams["status"] == status and end == ("STATUS_SUCCESS" if exc is None else "STATUS_FAILURE")


def test_a_loop_logger_refuses_a_status_that_does_not_exist(tmp_path):
    log = _loop(tmp_path / "run")
    with pytest.raises(ValueError, match=r"^LoopLogger.close: unknown status 'complete'; choose from .* "
                                         r"\(did you mean 'completed'\?\)$"):
        log.close("complete")
    log.close(RunStatus.DIVERGED)  # still open: a real status closes it
    assert hparams_session(tmp_path / "run")[0]["status"] == "diverged"
