"""The training loop: accuracy on digits, determinism, divergence, early stopping, callbacks, MiniFlow-style training."""

import numpy as np
import pytest

from flowlab.data import epoch_batches, load_dataset
from flowlab.models import MLP
from flowlab.train import Callback, EarlyStopping, Trainer


def test_adam_mlp_reaches_95_percent_on_digits(digits):
    model = MLP([64, 64, 10], activation="relu", seed=0)
    trainer = Trainer(model, "adam")
    history = trainer.fit(digits, epochs=20, batch_size=32)
    assert trainer.status == "completed"
    assert max(history["val_accuracy"]) >= 0.95
    assert len(history["loss"]) == 20 and history["loss"][-1] < history["loss"][0]


def test_same_seed_gives_bit_identical_weights(digits):
    runs = []
    for _ in range(2):
        model = MLP([64, 16, 10], activation="tanh", seed=7)
        Trainer(model, "momentum", lr=0.05, seed=7).fit(digits, epochs=3, batch_size=16)
        runs.append(model.get_weights())
    for name in runs[0]:
        np.testing.assert_array_equal(runs[0][name], runs[1][name])


def test_optimizers_and_learning_rates_start_from_identical_weights():
    seen = []

    class Snapshot(Callback):
        def on_train_begin(self, logs=None):
            seen.append(self.trainer.model.get_weights())

    data = load_dataset("iris", seed=0)
    for optimizer, lr in [("sgd", 0.1), ("adam", 0.001), ("rmsprop", 0.01)]:
        Trainer(MLP([4, 8, 3], seed=0), optimizer, lr=lr, callbacks=[Snapshot()]).fit(data, epochs=1)
    for other in seen[1:]:
        for name in seen[0]:
            np.testing.assert_array_equal(seen[0][name], other[name])


def test_exploding_learning_rate_ends_as_diverged_and_keeps_earlier_epochs(digits):
    ends = []

    class Record(Callback):
        def on_train_end(self, logs=None):
            ends.append(logs["status"])

    trainer = Trainer(MLP([64, 64, 10], activation="relu", seed=0), "sgd", lr=3.0, callbacks=[Record()])
    history = trainer.fit(digits, epochs=10, batch_size=32)
    assert trainer.status == "diverged" and ends == ["diverged"]
    assert "loss became" in trainer.error and "learning rate 3" in trainer.error
    assert 0 < len(history["loss"]) < 10 and all(np.isfinite(history["loss"]))


def test_a_loss_beyond_float32_counts_as_diverged():
    from flowlab.train import DIVERGED_LOSS

    x = np.array([[1e20], [-1e20]])
    y = np.array([1, 0])                                     # both confidently wrong
    model = MLP([1, 2], seed=0)
    model.params[0].value[...] = [[1e20, -1e20]]            # logits of 1e40: a finite, absurd loss
    trainer = Trainer(model, "sgd", lr=0.1)
    trainer.fit(x, y, epochs=1, batch_size=None)
    assert trainer.status == "diverged" and DIVERGED_LOSS < 1e39


def test_early_stopping_stops_and_restores_best(digits):
    model = MLP([64, 8, 10], seed=0)
    stopper = EarlyStopping(monitor="val_accuracy", patience=0, restore_best_weights=True)
    trainer = Trainer(model, "sgd", lr=0.5, callbacks=[stopper])
    history = trainer.fit(digits, epochs=50, batch_size=8)
    assert trainer.status == "early_stopped" and len(history["loss"]) < 50
    assert model.evaluate(digits.x_val, digits.y_val)[1] == pytest.approx(max(history["val_accuracy"]))


def test_exception_in_a_callback_fails_the_run_and_still_ends_it(digits):
    class Boom(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("disk full")

        def on_train_end(self, logs=None):
            self.status = logs["status"]

    boom = Boom()
    trainer = Trainer(MLP([64, 8, 10], seed=0), "adam", callbacks=[boom])
    with pytest.raises(RuntimeError, match="disk full"):
        trainer.fit(digits, epochs=5)
    assert trainer.status == boom.status == "failed" and "disk full" in trainer.error
    assert len(trainer.history["loss"]) == 2


def test_batch_modes_make_the_right_number_of_steps(digits):
    steps = {}

    class Count(Callback):
        def on_batch_end(self, batch, logs=None):
            steps[key] = steps.get(key, 0) + 1

    x, y = digits.x_train[:100], digits.y_train[:100]
    for key, batch_size in [("full", None), ("sgd", 1), ("mini", 32)]:
        Trainer(MLP([64, 4, 10], seed=0), "sgd", lr=0.01, callbacks=[Count()]).fit(x, y, epochs=2, batch_size=batch_size)
    assert steps == {"full": 2, "sgd": 200, "mini": 8}


def test_bad_arguments_name_the_value(digits):
    with pytest.raises(ValueError, match="epochs must be a whole number >= 1, got epochs=0"):
        Trainer(MLP([64, 4, 10]), "adam").fit(digits, epochs=0)
    with pytest.raises(ValueError, match="batch"):
        Trainer(MLP([64, 4, 10]), "adam").fit(digits, epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="did you mean 'adam'"):
        Trainer(MLP([64, 4, 10]), "adm")


def test_progress_bar_can_be_shown(digits, capsys):
    Trainer(MLP([64, 4, 10], seed=0), "adam", progress=True).fit(digits, epochs=2)
    assert "epoch" in capsys.readouterr().err


def test_miniflow_style_training_script_still_works(digits):
    """Seed 001's network (Linear, Sigmoid, Linear, MSE), sgd_update and mini-batches, the MiniFlow way."""
    from flowlab.miniflow import Input, Linear, MSE, Sigmoid, forward_and_backward, sgd_update, topological_sort

    rng = np.random.default_rng(0)
    X_, y_ = digits.x_train, (digits.y_train >= 5).astype(float)
    n_features, n_hidden = X_.shape[1], 10
    W1_, b1_ = rng.normal(size=(n_features, n_hidden)) * 0.1, np.zeros(n_hidden)
    W2_, b2_ = rng.normal(size=(n_hidden, 1)) * 0.1, np.zeros(1)
    X, y = Input(), Input()
    W1, b1, W2, b2 = Input(), Input(), Input(), Input()
    l1 = Linear(X, W1, b1)
    s1 = Sigmoid(l1)
    l2 = Linear(s1, W2, b2)
    cost = MSE(y, l2)
    graph = topological_sort({X: X_, y: y_, W1: W1_, b1: b1_, W2: W2_, b2: b2_})
    trainables = [W1, b1, W2, b2]
    losses = []
    for epoch in range(10):
        loss = 0
        for Xb, yb in epoch_batches(X_, y_, 32, seed=0, epoch=epoch):
            X.value, y.value = Xb, yb
            forward_and_backward(graph)
            sgd_update(trainables, learning_rate=0.1)
            loss += graph[-1].value
        losses.append(loss)
    assert losses[-1] < 0.6 * losses[0]


def test_a_callback_raising_at_train_end_does_not_stop_the_loggers_end_of_run(tmp_path):
    from flowlab.tensorboard import TensorBoardLogger
    from tbread import session_end

    class Broken(Callback):
        def on_train_end(self, logs=None):
            raise RuntimeError("user callback broke at the end")

    data = load_dataset("blobs")
    model = MLP([data.num_features, 4, data.num_classes], seed=0)
    logger = TensorBoardLogger(tmp_path / "run", hparams={"lr": 0.1}, histograms=False)
    trainer = Trainer(model, "sgd", lr=0.1, callbacks=[Broken(), logger])
    with pytest.raises(RuntimeError, match="user callback broke at the end"):
        trainer.fit(data, epochs=2)
    end = session_end(tmp_path / "run")
    assert end.status == 1  # STATUS_SUCCESS: the logger finished the run it saw complete
