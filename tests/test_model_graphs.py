"""Model on graphs with more than one sink: the loss is what training runs, the output what predicting runs."""

import numpy as np
import pytest

import user_nodes
from flowlab import Model, Trainer
from flowlab.data import load_dataset
from flowlab.gradcheck import numeric_array_gradient
from flowlab.miniflow import MSE, Input, Linear, Sigmoid
from flowlab.losses import SoftmaxCrossEntropy
from flowlab.nodes import Softmax, softmax


def linear_params(rng, n_in, n_out):
    W, b = Input(), Input()
    W.value, b.value = rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)
    return W, b


def mse_of(W, b, x, t):  # the oracle: numpy alone
    return np.mean((t.reshape(-1, 1) - (x @ W.value + b.value)) ** 2)


@pytest.mark.parametrize("node", ["flowlab", "miniflow-style"])
def test_an_output_the_loss_does_not_read_leaves_the_loss_and_its_gradients_alone(node):
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(8, 3)), rng.normal(size=8)
    X, y = Input(), Input()
    W, b = linear_params(rng, 3, 1)
    o = Linear(X, W, b)
    squash = Sigmoid(o) if node == "flowlab" else user_nodes.MySigmoid(o)
    m = Model(X, y, squash, MSE(y, o), params=[W, b])
    loss = m.train_step(x, t)
    assert loss == pytest.approx(mse_of(W, b, x, t), rel=1e-12)
    for p in (W, b):
        numeric = numeric_array_gradient(lambda: mse_of(W, b, x, t), p.value, h=1e-6)
        np.testing.assert_allclose(p.gradients[p], numeric, rtol=1e-6, atol=1e-9)
    # The output is the sigmoid, for the batch just trained and for predictions.
    np.testing.assert_allclose(squash.value, 1 / (1 + np.exp(-(x @ W.value + b.value))))
    np.testing.assert_allclose(m.predict(x), 1 / (1 + np.exp(-(x @ W.value + b.value))))
    val_loss, _ = m.evaluate(x, t)
    assert val_loss == pytest.approx(mse_of(W, b, x, t), rel=1e-12)


def test_keras_style_softmax_output_with_the_loss_on_the_logits_trains_under_trainer():
    ds = load_dataset("iris", seed=0)

    def net():
        X, y = Input(), Input()
        W, b = linear_params(np.random.default_rng(0), 4, 3)
        logits = Linear(X, W, b)
        return X, y, W, b, logits, SoftmaxCrossEntropy(logits, y)

    X, y, W, b, logits, loss = net()
    keras = Model(X, y, Softmax(logits), loss, params=[W, b])
    X2, y2, W2, b2, logits2, loss2 = net()
    plain = Model(X2, y2, logits2, loss2, params=[W2, b2])
    xb, tb = ds.x_train[:16], ds.y_train[:16]

    def oracle():
        z = xb @ W.value + b.value
        z = z - z.max(axis=1, keepdims=True)
        return -np.mean(z[np.arange(len(tb)), tb] - np.log(np.exp(z).sum(axis=1)))

    assert keras.train_step(xb, tb) == pytest.approx(oracle(), rel=1e-12)
    np.testing.assert_allclose(W.gradients[W], numeric_array_gradient(oracle, W.value, h=1e-6), atol=1e-8)
    np.testing.assert_allclose(keras.predict_proba(ds.x_val), softmax(ds.x_val @ W.value + b.value))
    hk = Trainer(keras, "sgd", lr=0.1, seed=0).fit(ds, epochs=3, batch_size=16)
    hp = Trainer(plain, "sgd", lr=0.1, seed=0).fit(ds, epochs=3, batch_size=16)
    assert hk["loss"] == hp["loss"] and hk["val_accuracy"] == hp["val_accuracy"]
    np.testing.assert_array_equal(W.value, W2.value)


def test_disconnected_graphs_get_errors_that_say_what_to_pass():
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(4, 3)), rng.normal(size=4)
    X, y, y2 = Input(), Input(), Input()
    W, b = linear_params(rng, 3, 1)
    o = Linear(X, W, b)
    with pytest.raises(ValueError, match=r"the loss MSE .* does not read the labels Input 'y2'"):
        Model(X, y2, o, MSE(y, o), params=[W, b]).train_step(x, t)
    with pytest.raises(ValueError, match=r"output Sigmoid .* reads none of the parameters"):
        Model(X, y, Sigmoid(X), MSE(y, o), params=[W, b]).train_step(x, t)
    Z = Input()
    Z.value = np.zeros((4, 1))
    with pytest.raises(ValueError, match=r"output Sigmoid .* does not read the features"):
        Model(X, y, Sigmoid(Z), MSE(y, o), params=[W, b]).train_step(x, t)
    V, _ = linear_params(rng, 3, 1)
    with pytest.raises(ValueError, match=r"does not read the parameter\(s\) Input 'V'"):
        Model(X, y, o, MSE(y, o), params=[W, b, V]).train_step(x, t)


def test_a_standardized_regression_keeps_what_turns_predictions_back_into_the_datas_units():
    from sklearn.datasets import load_diabetes

    raw = load_diabetes().target  # the oracle: scikit-learn's targets, in their own units
    ds = load_dataset("diabetes", seed=0)
    back = np.concatenate([ds.y_train, ds.y_val]) * ds.target_std + ds.target_mean
    np.testing.assert_allclose(np.sort(back), np.sort(raw), rtol=1e-12)
    assert ds.target_mean == pytest.approx(np.mean(ds.y_train * ds.target_std + ds.target_mean))
    assert load_dataset("diabetes", standardize=False).target_mean is None
    assert load_dataset("iris").target_std is None


def test_a_classifier_on_a_regression_dataset_is_told_the_dataset_is_a_regression():
    from flowlab import MLP

    with pytest.raises(ValueError, match=r"'diabetes' is a regression dataset .*target numbers.*loss=\"mse\""):
        Trainer(MLP([10, 8, 1]), "sgd").fit(load_dataset("diabetes"), epochs=1)
    with pytest.raises(ValueError, match=r"'iris' is a classification dataset .*cross-entropy"):
        Trainer(MLP([4, 8, 1], loss="mse"), "sgd").fit(load_dataset("iris"), epochs=1)
