"""flowlab.Model: any graph (the learner's own MiniFlow-style nodes included) under Trainer, TensorBoard and save."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from tensorboard.backend.event_processing.event_accumulator import STORE_EVERYTHING_SIZE_GUIDANCE, EventAccumulator

import flowlab.miniflow as mf
import user_nodes
from flowlab import MLP, Model, TensorBoardLogger, Trainer
from flowlab.data import epoch_batches, load_dataset


@pytest.fixture(scope="module")
def diabetes():
    return load_dataset("diabetes", seed=0)


def plain_loop(params, graph, X, y, data, lr, epochs, batch_size):
    """The MiniFlow lesson's loop: forward_and_backward and sgd_update over the Trainer's batches."""
    for epoch in range(epochs):
        for xb, yb in epoch_batches(data.x_train, data.y_train, batch_size, seed=0, epoch=epoch):
            X.value, y.value = xb, yb
            mf.forward_and_backward(graph)
            mf.sgd_update(params, learning_rate=lr)


def test_user_nodes_train_under_trainer_as_the_lessons_loop_does(diabetes):
    X, y, out, cost, params = user_nodes.network(diabetes.num_features, 6, seed=1)
    model = Model(X, y, out, cost, params=params)
    history = Trainer(model, "sgd", lr=0.05).fit(diabetes, epochs=3, batch_size=16)
    assert model.fast is False  # hand-written backward methods: the generic passes
    assert model.task == "regression" and set(history) >= {"loss", "mae", "val_loss", "val_mae"}
    assert "accuracy" not in history and "val_accuracy" not in history

    X2, y2, out2, cost2, params2 = user_nodes.network(diabetes.num_features, 6, seed=1)
    graph = mf.topological_sort({X2: diabetes.x_train[:1], y2: diabetes.y_train[:1]})
    plain_loop(params2, graph, X2, y2, diabetes, 0.05, 3, 16)
    for p, q in zip(model.params, params2):
        assert_array_equal(p.value, q.value)
    weights = model.get_weights()
    pred = user_nodes.forward_numpy(weights, diabetes.x_val)[:, 0]
    assert history["val_loss"][-1] == pytest.approx(np.mean((diabetes.y_val - pred) ** 2), rel=1e-12)
    assert history["val_mae"][-1] == pytest.approx(np.mean(np.abs(diabetes.y_val - pred)), rel=1e-12)
    np.testing.assert_allclose(model.predict(diabetes.x_val)[:, 0], pred, rtol=1e-12)


def test_flowlab_nodes_take_the_fast_path_with_the_loops_numbers(diabetes):
    def lesson(seed):
        rng = np.random.default_rng(seed)
        X, y, W1, b1, W2, b2 = (mf.Input() for _ in range(6))
        W1.value, b1.value = rng.normal(size=(10, 5)), np.zeros(5)
        W2.value, b2.value = rng.normal(size=(5, 1)), np.zeros(1)
        out = mf.Linear(mf.Sigmoid(mf.Linear(X, W1, b1)), W2, b2)
        return X, y, out, mf.MSE(y, out), [W1, b1, W2, b2]

    X, y, out, cost, params = lesson(2)
    W1, b1, W2, b2 = params
    model = Model(X, y, out, cost, params=[W1, b1, W2, b2])
    assert [p.name for p in model.params] == ["W1", "b1", "W2", "b2"]  # the variables' names
    Trainer(model, "sgd", lr=0.02).fit(diabetes, epochs=2, batch_size=32)
    assert model.fast is True
    X2, y2, out2, cost2, params2 = lesson(2)
    graph = mf.topological_sort({X2: diabetes.x_train[:1], y2: diabetes.y_train[:1]})
    plain_loop(params2, graph, X2, y2, diabetes, 0.02, 2, 32)
    for p, q in zip(model.params, params2):
        assert_array_equal(p.value, q.value)


def test_params_default_to_every_input_the_loss_reads_and_names_must_be_unique():
    X, y, out, cost, params = user_nodes.network(3, 2, seed=0)
    assert Model(X, y, out, cost).params == params
    a, b = mf.Input(name="w"), mf.Input(name="w")
    a.value = b.value = np.ones((3, 1))
    with pytest.raises(ValueError, match="several parameters are named 'w'"):
        Model(X, y, out, cost, params=[a, b])
    unset = mf.Input(name="v")
    with pytest.raises(ValueError, match="Input 'v' has no value"):
        Model(X, y, out, cost, params=[unset])


def test_save_and_load_weights_without_pickle(tmp_path, diabetes):
    X, y, out, cost, params = user_nodes.network(diabetes.num_features, 4, seed=0)
    model = Model(X, y, out, cost, params=params)
    Trainer(model, "adam", lr=0.01).fit(diabetes, epochs=1)
    path = model.save(tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as saved:
        assert sorted(saved.files) == ["W1", "W2", "__config__", "b1", "b2"]
    fresh = Model(*user_nodes.network(diabetes.num_features, 4, seed=5)[:4])
    fresh.load_weights(path)
    assert_array_equal(fresh.predict(diabetes.x_val), model.predict(diabetes.x_val))


def test_tensorboard_logs_any_model_by_param_name_and_user_class(tmp_path, diabetes):
    X, y, out, cost, params = user_nodes.network(diabetes.num_features, 4, seed=0)
    model = Model(X, y, out, cost, params=params)
    Trainer(model, "sgd", lr=0.05, callbacks=[TensorBoardLogger(tmp_path / "run", flush_secs=0)]).fit(
        diabetes, epochs=2)
    ea = EventAccumulator(str(tmp_path / "run" / "train"), size_guidance=STORE_EVERYTHING_SIZE_GUIDANCE).Reload()
    tags = ea.Tags()
    assert {"weights/W1", "weights/b1", "weights/W2", "weights/b2", "gradients/W1"} <= set(tags["histograms"])
    assert {"epoch_loss", "epoch_mae"} <= set(tags["scalars"]) and "epoch_accuracy" not in tags["scalars"]
    last = ea.Histograms("weights/W1")[-1]
    assert last.step == 1 and last.histogram_value.num == model.params[0].value.size
    assert last.histogram_value.min == pytest.approx(model.params[0].value.min())
    ops = {n.op for n in ea.Graph().node}
    assert {"MyLinear", "MySigmoid", "MyMSE", "Input"} <= ops
    val = EventAccumulator(str(tmp_path / "run" / "validation")).Reload()
    pred = user_nodes.forward_numpy(model.get_weights(), diabetes.x_val)[:, 0]
    assert val.Scalars("epoch_loss")[-1].value == pytest.approx(np.mean((diabetes.y_val - pred) ** 2), rel=1e-6)


def test_mlp_regression_with_mse(diabetes):
    model = MLP([10, 8, 1], activation="tanh", loss="mse", seed=0)
    assert model.task == "regression" and model.metric == "mae"
    history = Trainer(model, "adam", lr=0.01).fit(diabetes, epochs=3)
    w = model.get_weights()
    pred = (np.tanh(diabetes.x_val @ w["dense_1/kernel"] + w["dense_1/bias"]) @ w["dense_2/kernel"]
            + w["dense_2/bias"])[:, 0]
    assert history["val_loss"][-1] == pytest.approx(np.mean((diabetes.y_val - pred) ** 2), rel=1e-12)
    with pytest.raises(ValueError, match="no class probabilities"):
        model.predict_proba(diabetes.x_val)
    with pytest.raises(ValueError, match="loss must be one of cross_entropy, mse"):
        MLP([2, 2], loss="hinge")


def test_mlp_is_a_model_with_unchanged_numbers():
    """The classifier's weights after training equal a plain forward_and_backward + Adam-by-hand loop."""
    data = load_dataset("iris", seed=0)
    model = MLP([4, 8, 3], activation="relu", seed=0)
    assert isinstance(model, Model) and model.fast and model.task == "classification"
    ref = MLP([4, 8, 3], activation="relu", seed=0)
    Trainer(model, "sgd", lr=0.1).fit(data, epochs=2, batch_size=16)
    for epoch in range(2):
        for xb, yb in epoch_batches(data.x_train, data.y_train, 16, seed=0, epoch=epoch):
            ref.features.value, ref.labels.value = xb, yb
            mf.forward_and_backward(ref.graph)
            for p in ref.params:
                p.value -= 0.1 * p.gradients[p]
    for p, q in zip(model.params, ref.params):
        assert_array_equal(p.value, q.value)


def test_a_tensorslow_graph_is_a_model_too():
    """The series' softmax classifier (one-hot labels, a summed cross-entropy) under Trainer."""
    from flowlab import tensorslow as ts

    data = load_dataset("blobs", seed=0)
    onehot = np.eye(3)[data.y_train]
    with ts.Graph().as_default():
        X, c = ts.placeholder(name="X"), ts.placeholder(name="c")
        rng = np.random.default_rng(0)
        W, b = ts.Variable(rng.normal(size=(2, 3)), name="W"), ts.Variable(np.zeros(3), name="b")
        p = ts.softmax(ts.add(ts.matmul(X, W), b))
        J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p)), axis=1)))
        model = Model(X, c, p, J, params=[W, b], task="classification")
        history = Trainer(model, "sgd", lr=0.01).fit(data.x_train, onehot, validation_data=(data.x_val,
                                                                                              np.eye(3)[data.y_val]),
                                                     epochs=5, batch_size=16)
    assert list(model.named_params) == ["W", "b"]
    assert history["val_accuracy"][-1] > 0.9 and history["loss"][-1] < history["loss"][0]
    assert_array_equal(model.predict(data.x_val), np.argmax(data.x_val @ W.value + b.value, axis=1))


def test_a_two_feature_regression_logs_no_decision_boundary(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2))
    y = x[:, 0] - 2 * x[:, 1]
    model = MLP([2, 4, 1], loss="mse")
    Trainer(model, "adam", lr=0.01, callbacks=[TensorBoardLogger(tmp_path / "run", boundary_freq=1)]).fit(
        x, y, validation_data=(x, y), epochs=2)
    tags = EventAccumulator(str(tmp_path / "run" / "train")).Reload().Tags()
    assert "epoch_mae" in tags["scalars"] and not tags["images"]
