"""Learning-rate schedules against torch.optim.lr_scheduler's documented formulas and Keras' ReduceLROnPlateau.

torch is not a test dependency: the reference formulas below are re-written from torch's
documentation (and the examples printed there), independently of flowlab.schedules.
"""

import csv
import math

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import STORE_EVERYTHING_SIZE_GUIDANCE, EventAccumulator

from flowlab.data import load_dataset
from flowlab.experiment import Experiment, RunConfig
from flowlab.models import MLP
from flowlab.schedules import LearningRateScheduler, parse_schedule
from flowlab.train import Trainer
from tbread import session_start

# --- torch's formulas, from its docs (lr_scheduler.StepLR, ExponentialLR, CosineAnnealingLR, LinearLR) ---


def torch_step(base, epoch, step_size, gamma=0.1):
    return base * gamma ** (epoch // step_size)  # "decays by gamma every step_size epochs"


def torch_exponential(base, epoch, gamma):
    return base * gamma ** epoch  # "decays by gamma every epoch"


def torch_cosine(base, epoch, t_max, eta_min=0.0):
    return eta_min + 0.5 * (base - eta_min) * (1 + math.cos(epoch / t_max * math.pi))


def torch_linear(base, epoch, start_factor=1 / 3, end_factor=1.0, total_iters=5):
    return base * (start_factor + (end_factor - start_factor) * min(total_iters, epoch) / total_iters)


CASES = [
    ("constant", lambda base, e: base),
    ("step:3", lambda base, e: torch_step(base, e, 3)),
    ("step:10:0.5", lambda base, e: torch_step(base, e, 10, 0.5)),
    ("exponential:0.9", lambda base, e: torch_exponential(base, e, 0.9)),
    ("cosine", lambda base, e: torch_cosine(base, e, 12)),  # T_max defaults to the epochs
    ("cosine:5:0.001", lambda base, e: torch_cosine(base, e, 5, 0.001)),
    ("warmup:4", lambda base, e: torch_linear(base, e, total_iters=4)),
    ("warmup:total_iters=6:start_factor=0.1", lambda base, e: torch_linear(base, e, 0.1, 1.0, 6)),
    ("linear:1:0.25:8", lambda base, e: torch_linear(base, e, 1.0, 0.25, 8)),
]


def test_torch_docs_examples():
    # StepLR's example: lr=0.05, step_size=30, gamma=0.1 -> 0.05 below epoch 30, 0.005 to 60, 0.0005 to 90.
    step = parse_schedule("step:30:0.1")
    assert [step.lr(e, 0.05) for e in (0, 29, 30, 59, 60, 89)] == pytest.approx(
        [0.05, 0.05, 0.005, 0.005, 0.0005, 0.0005], rel=1e-12)
    # LinearLR's example: lr=0.05, start_factor=0.5, total_iters=4 -> 0.025, 0.03125, 0.0375, 0.04375, 0.05, 0.05.
    linear = parse_schedule("linear:0.5:1:4")
    assert [linear.lr(e, 0.05) for e in range(6)] == pytest.approx(
        [0.025, 0.03125, 0.0375, 0.04375, 0.05, 0.05], rel=1e-12)


@pytest.mark.parametrize("spec,reference", CASES, ids=[c[0] for c in CASES])
def test_each_epoch_trains_at_the_torch_formula_and_tensorboard_shows_it(tmp_path, spec, reference):
    from flowlab.tensorboard import TensorBoardLogger

    data = load_dataset("iris", seed=0)
    model = MLP([4, 8, 3], seed=0)
    seen = []
    real_step = model.train_step

    def spy(x, y):  # the lr the optimizer holds while it trains on each batch
        seen.append(trainer.optimizer.lr)
        return real_step(x, y)

    model.train_step = spy
    logger = TensorBoardLogger(tmp_path, hparams={"schedule": spec}, histograms=False)
    trainer = Trainer(model, "sgd", lr=0.2, schedule=spec, callbacks=[logger])
    history = trainer.fit(data, epochs=12, batch_size=None)  # full batch: one step per epoch
    expected = [reference(0.2, e) for e in range(12)]
    np.testing.assert_allclose(seen, expected, rtol=1e-12)
    np.testing.assert_allclose(history["learning_rate"], expected, rtol=1e-12)
    ea = EventAccumulator(str(tmp_path / "train"), size_guidance=STORE_EVERYTHING_SIZE_GUIDANCE).Reload()
    logged = ea.Scalars("learning_rate")
    assert [e.step for e in logged] == list(range(12))
    np.testing.assert_allclose([e.value for e in logged], expected, rtol=1e-6)  # TensorBoard stores float32


# --- reduce on plateau ---------------------------------------------------------------------------


def keras_plateau(losses, lr, patience=10, factor=0.1, min_lr=0.0, min_delta=1e-4, cooldown=0):
    """Keras' ReduceLROnPlateau.on_epoch_end, mode min, written out: the lr of each epoch."""
    best, wait, cooldown_counter, lrs = math.inf, 0, 0, []
    for current in losses:
        lrs.append(lr)
        if cooldown_counter > 0:
            cooldown_counter -= 1
            wait = 0
        if current < best - min_delta:
            best, wait = current, 0
        elif not cooldown_counter > 0:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr = max(lr * factor, min_lr)
                cooldown_counter, wait = cooldown, 0
    return lrs


def torch_plateau(losses, lr, patience=10, factor=0.1, min_lr=0.0, threshold=1e-4, eps=1e-8):
    """torch's ReduceLROnPlateau.step, mode min, threshold_mode abs, cooldown 0 (from its docs and source)."""
    best, bad, lrs = math.inf, 0, []
    for current in losses:
        lrs.append(lr)
        if current < best - threshold:
            best, bad = current, 0
        else:
            bad += 1
        if bad > patience:
            new = max(lr * factor, min_lr)
            if lr - new > eps:
                lr = new
            bad = 0
    return lrs


class _FakeTrainer:
    def __init__(self, lr):
        self.optimizer = type("Opt", (), {"lr": lr})()
        self.epochs = None


def drive(spec, losses, lr=1.0, key="val_loss"):
    cb = LearningRateScheduler(spec)
    cb.trainer = _FakeTrainer(lr)
    cb.on_train_begin({})
    lrs = []
    for epoch, loss in enumerate(losses):
        cb.on_epoch_begin(epoch, {})
        lrs.append(cb.trainer.optimizer.lr)
        cb.on_epoch_end(epoch, {key: loss})
    return lrs


LOSSES = [1.0, 0.9, 0.9, 0.95, 0.91, 0.89995, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]


@pytest.mark.parametrize("patience,factor,min_lr", [(1, 0.5, 0.0), (2, 0.1, 0.0), (3, 0.5, 0.3), (1, 0.1, 0.05)])
def test_plateau_matches_keras_and_torch_with_patience_one_less(patience, factor, min_lr):
    lrs = drive(f"plateau:{patience}:{factor}:{min_lr}", LOSSES)
    assert lrs == pytest.approx(keras_plateau(LOSSES, 1.0, patience, factor, min_lr), rel=1e-12)
    assert lrs == pytest.approx(torch_plateau(LOSSES, 1.0, patience - 1, factor, min_lr), rel=1e-12)
    assert lrs[0] == 1.0 and min(lrs) >= min_lr


def test_plateau_cooldown_min_delta_and_accuracy_monitor():
    spec = "plateau:patience=1:factor=0.5:cooldown=2:min_delta=0.05"
    assert drive(spec, LOSSES) == pytest.approx(keras_plateau(LOSSES, 1.0, 1, 0.5, 0.0, 0.05, 2), rel=1e-12)
    accuracies = [0.5, 0.6, 0.6, 0.6, 0.7, 0.7]  # "acc" in the monitor: higher is better, as Keras' mode auto
    lrs = drive("plateau:1:0.5:monitor=val_accuracy", accuracies, key="val_accuracy")
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.25, 0.25]


def test_plateau_without_its_monitor_says_which_keys_exist():
    with pytest.raises(ValueError, match=r"monitor='val_loss' is not in the epoch logs \(loss\)"):
        drive("plateau:2", [1.0], key="loss")


def test_a_keras_style_function_gets_the_epoch_and_the_previous_rate():
    calls = []

    def halve_after_two(epoch, lr):  # the Keras docs' example shape: keep, then decay
        calls.append((epoch, lr))
        return lr if epoch < 2 else lr * 0.5

    data = load_dataset("iris", seed=0)
    history = Trainer(MLP([4, 8, 3], seed=0), "sgd", lr=0.4,
                      callbacks=[LearningRateScheduler(halve_after_two)]).fit(data, epochs=5, batch_size=None)
    assert history["learning_rate"] == [0.4, 0.4, 0.2, 0.1, 0.05]
    assert calls == [(0, 0.4), (1, 0.4), (2, 0.4), (3, 0.2), (4, 0.1)]
    with pytest.raises(ValueError, match=r"returned nan; it must return a finite learning rate >= 0"):
        Trainer(MLP([4, 8, 3]), "sgd", lr=0.4, callbacks=[LearningRateScheduler(lambda e, lr: float("nan"))]).fit(
            data, epochs=1)


def test_plateau_on_val_loss_without_validation_data_fails_before_training():
    data = load_dataset("iris", seed=0)
    model = MLP([4, 8, 3], seed=0)
    before = model.get_weights()
    trainer = Trainer(model, "sgd", lr=0.5, schedule="plateau:2")
    with pytest.raises(ValueError, match=r"watches val_loss, but this training has no validation data.*"
                                         r"'plateau:monitor=loss'"):
        trainer.fit(data.x_train, data.y_train, epochs=3)
    for name, value in before.items():
        np.testing.assert_array_equal(model.get_weights()[name], value)
    history = Trainer(model, "sgd", lr=0.5, schedule="plateau:2:monitor=loss").fit(data.x_train, data.y_train, epochs=3)
    assert len(history["learning_rate"]) == 3


def test_plateau_in_a_real_run_cuts_after_patience_bad_epochs():
    data = load_dataset("iris", seed=0)
    trainer = Trainer(MLP([4, 8, 3], seed=0), "sgd", lr=0.5, schedule="plateau:2:0.5")
    history = trainer.fit(data, epochs=40, batch_size=16)
    expected = keras_plateau(history["val_loss"], 0.5, patience=2, factor=0.5)
    assert history["learning_rate"] == pytest.approx(expected, rel=1e-12)
    assert min(expected) < 0.5  # the plateau was reached and the lr cut


# --- specs, errors, the sweep axis ----------------------------------------------------------------


@pytest.mark.parametrize("spec,canonical", [
    ("step:10", "step:10"), ("Step:10:0.1", "step:10"), ("step:10:0.5", "step:10:0.5"), ("cosine", "cosine"),
    ("plateau:patience=3", "plateau:3"), ({"name": "exponential", "gamma": 0.95}, "exponential:0.95"),
    (None, "constant"), ("warmup", "warmup"), ("warmup:5:0.1", "warmup:5:0.1"),
    ("plateau:2:monitor=loss", "plateau:2:monitor=loss"), ("plateau:10:0.1:cooldown=2", "plateau:cooldown=2"),
    ("cosine:eta_min=0.01", "cosine:eta_min=0.01"), ("warmup:5:0.333333333333333333", "warmup"),
])
def test_specs_have_one_canonical_spelling(spec, canonical):
    assert str(parse_schedule(spec)) == canonical
    assert str(parse_schedule(str(parse_schedule(spec)))) == canonical


@pytest.mark.parametrize("spec,message", [
    ("stpe:10", r"unknown schedule 'stpe'; choose from .* \(did you mean 'step'\?\)"),
    ("step", r"schedule 'step': step needs step_size \(step:step_size:gamma\), e.g. 'step:10:0.5'"),
    ("step:0", r"step_size must be a whole number >= 1, got step_size=0"),
    ("step:2.5", r"step_size must be a whole number >= 1, got step_size=2.5"),
    ("exponential:1.5", r"gamma must be in \(0, 1\], got gamma=1.5"),
    ("exponential:x", r"gamma must be a number in \(0, 1\], got gamma=x"),
    ("cosine:10:0:3", r"cosine takes at most 2 parameter\(s\) \(cosine:t_max:eta_min\), got 3"),
    ("plateau:patence=3", r"unknown plateau parameter 'patence'.*did you mean 'patience'"),
    ("plateau:factor=1", r"factor must be in \(0, 1\), got factor=1"),
    ("plateau:factor=0.5:3", r"give parameters in order first"),
    (3, r"schedule must be a string such as 'step:10:0.5' or a dict, got schedule=3"),
])
def test_bad_specs_say_what_would_work(spec, message):
    with pytest.raises(ValueError, match=message):
        RunConfig(schedule=spec).validated()


def test_schedule_axis_in_a_sweep_names_runs_fills_hparams_and_results_csv(tmp_path):
    exp = Experiment("schedules", logdir=tmp_path, dataset="iris", hidden=[8], epochs=6, batch_size=16, workers=1,
                     histograms=False, optimizer="sgd", learning_rate=0.1)
    results = exp.sweep(schedule=["constant", "step:2:0.5", "cosine", "plateau:2"])
    names = [r.name for r in results]
    assert names == ["schedule=constant", "schedule=step_2_0.5", "schedule=cosine", "schedule=plateau_2"]
    with open(results.sweep_dir / "results.csv", newline="") as f:
        rows = {row["name"]: row for row in csv.DictReader(f)}
    assert rows["schedule=step_2_0.5"]["schedule"] == "step:2:0.5"
    for r in results:
        assert r.status == "completed", r.error
        run_dir = results.sweep_dir / r.name
        start = session_start(run_dir)
        assert start.hparams["schedule"].string_value == r.config["schedule"]
        train = EventAccumulator(str(run_dir / "train"), size_guidance=STORE_EVERYTHING_SIZE_GUIDANCE).Reload()
        lrs = [e.value for e in train.Scalars("learning_rate")]
        schedule = parse_schedule(r.config["schedule"])
        schedule.start(6)
        if r.config["schedule"] != "plateau:2":
            np.testing.assert_allclose(lrs, [schedule.lr(e, 0.1) for e in range(6)], rtol=1e-6)
    step_lrs = [e.value for e in EventAccumulator(str(results.sweep_dir / "schedule=step_2_0.5" / "train")).Reload()
                .Scalars("learning_rate")]
    np.testing.assert_allclose(step_lrs, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025], rtol=1e-6)
