"""Regularization: L1/L2 penalties, Dropout and BatchNorm against numeric gradients and numpy re-derivations,
their train/evaluate behaviour, the graph and model text, and each as a sweep axis."""

import csv

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import STORE_EVERYTHING_SIZE_GUIDANCE, EventAccumulator

from flowlab.cli import main
from flowlab.data import load_dataset
from flowlab.experiment import Experiment, RunConfig
from flowlab.gradcheck import check_gradients
from flowlab.graph import Input
from flowlab.losses import SoftmaxCrossEntropy
from flowlab.models import MLP
from flowlab.nodes import Linear, Tanh
from flowlab.regularization import BatchNorm, Dropout, L1Penalty, L2Penalty
from flowlab.tensorboard import graph_def
from flowlab.train import Trainer
from tbread import session_hparams as hparams_of
from tbread import text_summary

RNG = np.random.default_rng(0)


def small_net(head):
    """x -> Linear -> head(...) -> Linear -> cross-entropy; returns (cost, feed, nodes)."""
    X, W1, b1, W2, b2, y = (Input(name=n) for n in ("X", "W1", "b1", "W2", "b2", "y"))
    X.requires_grad = y.requires_grad = False
    h, extra_feed = head(Linear(X, W1, b1))
    cost = SoftmaxCrossEntropy(Linear(Tanh(h), W2, b2), y)
    feed = {X: RNG.normal(size=(6, 4)), W1: RNG.normal(size=(4, 5)), b1: RNG.normal(size=5),
            W2: RNG.normal(size=(5, 3)), b2: RNG.normal(size=3), y: np.array([0, 1, 2, 0, 1, 2]), **extra_feed}
    return cost, feed, (W1, W2)


def test_l2_and_l1_penalties_pass_the_numeric_gradient_check():
    w = RNG.normal(size=(4, 3))
    w[np.abs(w) < 0.05] = 0.3  # |w| is not differentiable at 0: keep the check away from it
    for cls in (L2Penalty, L1Penalty):
        W, V = Input(name="W"), Input(name="V")  # fresh Inputs: a second consumer would add its gradient
        result = check_gradients(cls(W, V, factor=0.03), {W: w, V: RNG.normal(size=5) + 2.0})
        assert result.ok, result
    assert L2Penalty(W, factor=0.5).compute(w) == pytest.approx(0.5 * np.sum(w ** 2))
    assert L1Penalty(W, factor=0.5).compute(w) == pytest.approx(0.5 * np.sum(np.abs(w)))


def test_dropout_passes_the_numeric_gradient_check_with_a_fixed_mask():
    nodes = {}

    def head(h):
        nodes["d"] = Dropout(h, 0.4, seed=3, name="dropout")
        nodes["d"].keep_mask = True  # the check runs forward many times: one mask for all of them
        return nodes["d"], {}

    cost, feed, _ = small_net(head)
    result = check_gradients(cost, feed)
    assert result.ok, result
    assert np.count_nonzero(nodes["d"].mask == 0) > 0  # something was dropped


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_passes_the_numeric_gradient_check_in_both_modes(training):
    def head(h):
        gamma, beta = Input(name="gamma"), Input(name="beta")
        norm = BatchNorm(h, gamma, beta, name="bn")
        norm.training = training
        norm.running_mean, norm.running_var = RNG.normal(size=5), RNG.uniform(0.5, 2.0, size=5)
        return norm, {gamma: RNG.uniform(0.5, 1.5, size=5), beta: RNG.normal(size=5)}

    cost, feed, _ = small_net(head)
    b1 = next(n for n in feed if n.name == "b1")
    # In training, the batch mean removes any bias added before the normalization: its gradient is 0,
    # where a relative error only measures rounding. Check it is 0, and the rest against numbers.
    result = check_gradients(cost, feed, inputs=[n for n in feed if n.requires_grad and (n is not b1 or not training)])
    assert result.ok, result
    if training:
        assert np.max(np.abs(b1.gradients[b1])) < 1e-12


def test_a_regularized_mlp_passes_the_numeric_gradient_check():
    model = MLP([4, 6, 5, 3], activation="tanh", l1=1e-3, l2=1e-2, dropout=0.3, batchnorm=True, seed=1)
    for layer in model.layers:
        if layer.dropout is not None:
            layer.dropout.keep_mask = True
    feed = {p: p.value.copy() for p in model.params}
    feed[model.features], feed[model.labels] = RNG.normal(size=(8, 4)), RNG.integers(0, 3, size=8)
    cancelled = [layer.bias for layer in model.layers if layer.norm is not None]  # see the test above
    result = check_gradients(model.objective, feed, inputs=[p for p in model.params if p not in cancelled])
    assert result.ok, result
    for bias in cancelled:
        assert np.max(np.abs(bias.gradients[bias])) < 1e-12
    assert set(result.errors) >= {"dense_1/kernel", "batch_normalization_2/gamma", "batch_normalization_1/beta"}


def test_batchnorm_matches_torchs_formulas_and_evaluates_with_running_statistics():
    x_node, gamma, beta = Input(name="x"), Input(name="gamma"), Input(name="beta")
    norm = BatchNorm(x_node, gamma, beta, momentum=0.1, eps=1e-5)
    g, b = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 3.0])
    gamma.value, beta.value = g, b
    running_mean, running_var = np.zeros(3), np.ones(3)
    for _ in range(3):  # torch.nn.BatchNorm1d, re-written: biased var to normalize, unbiased in the average
        x = RNG.normal(loc=2.0, scale=3.0, size=(7, 3))
        x_node.value = x
        norm.forward()
        expected = g * (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) + b
        np.testing.assert_allclose(norm.value, expected, rtol=1e-12)
        running_mean = 0.9 * running_mean + 0.1 * x.mean(0)
        running_var = 0.9 * running_var + 0.1 * x.var(0, ddof=1)
    np.testing.assert_allclose(norm.running_mean, running_mean, rtol=1e-12)
    np.testing.assert_allclose(norm.running_var, running_var, rtol=1e-12)
    norm.training = False
    one = RNG.normal(size=(1, 3))
    x_node.value = one
    norm.forward()
    np.testing.assert_allclose(norm.value, g * (one - running_mean) / np.sqrt(running_var + 1e-5) + b, rtol=1e-12)


def test_dropout_trains_with_scaled_masks_and_evaluates_as_identity():
    x = Input(name="x")
    x.value = np.ones((2000, 50))
    d = Dropout(x, 0.25, seed=0)
    d.forward()
    values = np.unique(d.value)
    np.testing.assert_allclose(values, [0.0, 1 / 0.75])
    assert np.mean(d.value == 0) == pytest.approx(0.25, abs=0.01)
    assert d.value.mean() == pytest.approx(1.0, abs=0.01)  # inverted dropout keeps the expectation
    d.training = False
    d.forward()
    assert d.value is x.value


def test_mlp_predict_and_evaluate_use_no_dropout_and_training_is_deterministic_from_the_seed():
    data = load_dataset("iris", seed=0)
    weights = []
    for _ in range(2):
        model = MLP([4, 16, 3], dropout=0.5, batchnorm=True, seed=4)
        Trainer(model, "adam", lr=0.01).fit(data, epochs=3, batch_size=16)
        weights.append(model.get_weights())
        first = model.predict_proba(data.x_val)
        np.testing.assert_array_equal(first, model.predict_proba(data.x_val))
        one_by_one = np.concatenate([model.predict_proba(data.x_val[i:i + 1]) for i in range(len(data.x_val))])
        np.testing.assert_allclose(one_by_one, first, rtol=1e-12)  # running statistics: no batch dependence
    for name in weights[0]:
        np.testing.assert_array_equal(weights[0][name], weights[1][name])
    assert "batch_normalization_1/moving_mean" in weights[0]
    assert not np.allclose(weights[0]["batch_normalization_1/moving_variance"], 1.0)


def test_initial_weights_do_not_depend_on_the_regularization():
    plain = MLP([4, 8, 8, 3], seed=2).get_weights()
    regularized = MLP([4, 8, 8, 3], seed=2, dropout=0.3, batchnorm=True, l2=0.1).get_weights()
    for name, value in plain.items():
        np.testing.assert_array_equal(regularized[name], value)


def test_logged_loss_is_the_data_loss_and_the_penalty_is_logged_beside_it(tmp_path):
    data = load_dataset("iris", seed=0)
    model = MLP([4, 8, 3], l2=0.05, seed=0)
    loss = model.train_step(data.x_train, data.y_train)
    assert loss == model.data_loss.value and model.loss is model.objective
    kernels = sum(np.sum(layer.kernel.value ** 2) for layer in model.layers)
    assert model.objective.value == pytest.approx(loss + 0.05 * kernels, rel=1e-12)
    trainer = Trainer(model, "sgd", lr=0.1)
    history = trainer.fit(data, epochs=2, batch_size=None)
    kernels = sum(np.sum(layer.kernel.value ** 2) for layer in model.layers)
    assert history["regularization_loss"][-1] == pytest.approx(0.05 * kernels, rel=1e-12)


def test_graph_and_model_text_show_every_regularizer():
    model = MLP([4, 8, 3], l1=1e-4, l2=1e-3, dropout=0.2, batchnorm=True)
    model.evaluate(np.zeros((2, 4)), np.zeros(2, dtype=int))
    ops = {n.name: n.op for n in graph_def(model.graph).node}
    assert ops["dropout_1/dropout"] == "Dropout" and ops["batch_normalization_1/batchnorm"] == "BatchNorm"
    assert ops["regularization/l1"] == "L1Penalty" and ops["regularization/l2"] == "L2Penalty"
    assert ops["loss/total"] == "Add"
    text = model.summary()
    for part in ("Dropout(rate=0.2)", "BatchNorm", "L2Penalty(factor=0.001)", "L1Penalty(factor=0.0001)",
                 "training minimizes loss + regularization/l1 + regularization/l2"):
        assert part in text
    assert "dropout=0.2, batchnorm=True" in repr(model)


def test_save_and_load_keep_the_options_and_running_statistics(tmp_path):
    data = load_dataset("iris", seed=0)
    model = MLP([4, 8, 3], dropout=0.3, batchnorm=True, l2=0.01, seed=0)
    Trainer(model, "adam", lr=0.01).fit(data, epochs=2, batch_size=16)
    loaded = MLP.load(model.save(tmp_path / "m.npz"))
    assert repr(loaded) == repr(model)
    np.testing.assert_array_equal(loaded.predict_proba(data.x_val), model.predict_proba(data.x_val))


@pytest.mark.parametrize("fields,message", [
    ({"dropout": 1.0}, "dropout must be a number in [0, 1) (0: no dropout), got dropout=1.0"),
    ({"l2": -0.1}, "l2 must be a number >= 0 (0: no L2 penalty), got l2=-0.1"),
    ({"l1": "x"}, "l1 must be a number >= 0 (0: no L1 penalty), got l1='x'"),
    ({"batchnorm": "maybe"}, "batchnorm must be on or off (true/false), got batchnorm='maybe'"),
    ({"batchnorm": True, "batch_size": 1}, "batchnorm needs batches of 2 or more examples"),
])
def test_bad_regularization_settings_are_named(fields, message):
    with pytest.raises(ValueError) as info:
        RunConfig(**fields).validated()
    assert message in str(info.value)


# --- as sweep axes ---------------------------------------------------------------------------------


def test_l2_dropout_and_batchnorm_axes(tmp_path):
    exp = Experiment("regularization", logdir=tmp_path, dataset="iris", hidden=[16], epochs=8, batch_size=16,
                     workers=1, optimizer="sgd", learning_rate=0.1)
    results = exp.sweep(l2=[0.0, 0.01], dropout=[0.0, 0.5], batchnorm=[False, True])
    assert len(results) == 8 and all(r.status == "completed" for r in results)
    assert "l2=0.01,dropout=0.5,bn=True" in {r.name for r in results}
    with open(results.sweep_dir / "results.csv", newline="") as f:
        rows = {row["name"]: row for row in csv.DictReader(f)}
    data = load_dataset("iris", seed=0)
    norms = {}
    for r in results:
        run_dir = results.sweep_dir / r.name
        c = r.config
        assert (float(rows[r.name]["l2"]), float(rows[r.name]["dropout"]), rows[r.name]["batchnorm"]) == \
            (c["l2"], c["dropout"], str(c["batchnorm"]))
        hp = hparams_of(run_dir)
        assert (hp["l2"], hp["dropout"], hp["batchnorm"], hp["l1"]) == (c["l2"], c["dropout"], c["batchnorm"], 0.0)
        model = MLP.load(run_dir / "model.npz")
        # The final validation numbers are an evaluation without dropout, with the running statistics:
        # recomputed from model.npz alone, they agree, and predictions repeat exactly.
        val_loss, val_accuracy = model.evaluate(data.x_val, data.y_val)
        assert val_loss == pytest.approx(r["val_loss"], rel=1e-12) and val_accuracy == r["val_accuracy"]
        np.testing.assert_array_equal(model.predict_proba(data.x_val), model.predict_proba(data.x_val))
        norms[(c["l2"], c["dropout"], c["batchnorm"])] = np.sqrt(sum(
            np.sum(layer.kernel.value ** 2) for layer in model.layers))
        train = EventAccumulator(str(run_dir / "train"), size_guidance=STORE_EVERYTHING_SIZE_GUIDANCE).Reload()
        assert ("epoch_regularization_loss" in train.Tags()["scalars"]) == (c["l2"] > 0)
        ops = {n.op for n in train.Graph().node}
        assert ("Dropout" in ops) == (c["dropout"] > 0) and ("BatchNorm" in ops) == c["batchnorm"]
        assert ("L2Penalty" in ops) == (c["l2"] > 0)
    for dropout in (0.0, 0.5):
        for bn in (False, True):
            assert norms[(0.01, dropout, bn)] < norms[(0.0, dropout, bn)]  # L2 shrinks the weights


def test_cli_regularization_flags(tmp_path, capsys):
    code = main(["sweep", "--dataset", "iris", "--hidden", "8", "--epochs", "1", "--l2", "0", "0.001",
                 "--dropout", "0.2", "--batchnorm", "--optimizer", "adam", "--logdir", str(tmp_path),
                 "--workers", "1", "--no-progress", "--no-histograms"])
    assert code == 0, capsys.readouterr().err
    sweep_dir = next(tmp_path.iterdir())
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and p.name != ".flowlab") == ["l2=0", "l2=0.001"]
    hp = hparams_of(sweep_dir / "l2=0.001")
    assert hp["dropout"] == pytest.approx(0.2) and hp["batchnorm"] is True
    model_text = text_summary(sweep_dir / "l2=0.001", "model")
    assert "dropout=0.2, batchnorm=True" in model_text and "batch_normalization_1/gamma" in model_text


def test_l1_axis_shrinks_the_kernels_l1_norm(tmp_path):
    exp = Experiment("l1", logdir=tmp_path, dataset="iris", hidden=[16], epochs=10, batch_size=16, workers=1,
                     histograms=False, optimizer="sgd", learning_rate=0.1)
    results = exp.sweep(l1=[0.0, 0.01])
    assert [r.name for r in results] == ["l1=0", "l1=0.01"]
    with open(results.sweep_dir / "results.csv", newline="") as f:
        assert [float(row["l1"]) for row in csv.DictReader(f)] == [0.0, 0.01]
    sums = []
    for r in results:
        assert hparams_of(results.sweep_dir / r.name)["l1"] == r.config["l1"]
        model = MLP.load(results.sweep_dir / r.name / "model.npz")
        sums.append(sum(np.abs(layer.kernel.value).sum() for layer in model.layers))
        train = EventAccumulator(str(results.sweep_dir / r.name / "train")).Reload()
        if r.config["l1"]:
            logged = train.Scalars("epoch_regularization_loss")[-1].value
            assert logged == pytest.approx(0.01 * sums[-1], rel=1e-6)  # float32 in the event file
            assert "L1Penalty" in {n.op for n in train.Graph().node}
    assert sums[1] < sums[0]


def test_batchnorm_writes_into_the_plans_buffers_with_backprops_numbers():
    data = load_dataset("iris", seed=0)
    model = MLP([4, 8, 3], batchnorm=True, seed=0)
    trainer = Trainer(model, "adam", lr=0.01)
    trainer.fit(data, epochs=1, batch_size=16)
    assert trainer.optimizer._flat is not None  # every gradient tiles the model's flat gradient array
    norm = model.layers[0].norm
    grad = RNG.normal(size=norm.value.shape)
    buffers = (None, np.empty(8), np.empty(8))
    fast, generic = norm.vjp(grad, buffers), norm.backprop(grad, *(n.value for n in norm.inbound_nodes))
    assert fast[1] is buffers[1] and fast[2] is buffers[2]
    for a, b in zip(fast, generic):
        np.testing.assert_array_equal(a, b)


def test_a_users_model_with_dropout_and_batchnorm_trains_and_evaluates_in_the_right_mode():
    from flowlab.model import Model

    X, y = Input(name="X"), Input(name="y")
    W1, b1, gamma, beta, W2, b2 = (Input(name=n) for n in ("W1", "b1", "gamma", "beta", "W2", "b2"))
    W1.value, b1.value = RNG.normal(size=(4, 8)), np.zeros(8)
    gamma.value, beta.value = np.ones(8), np.zeros(8)
    W2.value, b2.value = RNG.normal(size=(8, 3)), np.zeros(3)
    norm = BatchNorm(Linear(X, W1, b1), gamma, beta, name="bn")
    drop = Dropout(Tanh(norm), 0.5, seed=0, name="drop")
    out = Linear(drop, W2, b2)
    model = Model(X, y, out, SoftmaxCrossEntropy(out, y), params=[W1, b1, gamma, beta, W2, b2])
    data = load_dataset("iris", seed=0)
    Trainer(model, "adam", lr=0.01).fit(data, epochs=2, batch_size=16)
    assert norm.training is False and drop.training is False  # the last thing fit did was evaluate
    x = data.x_val
    hidden = np.tanh((x @ W1.value + b1.value - norm.running_mean) / np.sqrt(norm.running_var + norm.eps)
                     * gamma.value + beta.value)
    np.testing.assert_allclose(model.forward(x), hidden @ W2.value + b2.value, rtol=1e-12)  # no dropout
    model.train_step(data.x_train[:16], data.y_train[:16])
    assert drop.training is True and np.count_nonzero(drop.mask == 0) > 0
