"""MLP: names, initial weights, prediction, save/load, and gradients checked numerically."""

import numpy as np
import pytest

from flowlab.gradcheck import check_gradients
from flowlab.models import MLP


def test_layer_and_parameter_names_follow_keras():
    model = MLP([4, 8, 6, 3], activation="tanh")
    assert model.layer_names == ["dense_1", "dense_2", "dense_3"]
    assert [p.name for p in model.params] == ["dense_1/kernel", "dense_1/bias", "dense_2/kernel", "dense_2/bias",
                                              "dense_3/kernel", "dense_3/bias"]
    assert [p.value.shape for p in model.params] == [(4, 8), (8,), (8, 6), (6,), (6, 3), (3,)]
    assert model.graph[-1] is model.loss
    assert model.layers[-1].activation is None and model.logits is model.layers[-1].linear
    assert all(np.all(layer.bias.value == 0) for layer in model.layers)


def test_same_seed_same_weights_different_seed_different():
    a, b, c = MLP([64, 32, 10], seed=3), MLP([64, 32, 10], seed=3), MLP([64, 32, 10], seed=4)
    for pa, pb, pc in zip(a.params[::2], b.params[::2], c.params[::2]):
        np.testing.assert_array_equal(pa.value, pb.value)
        assert not np.array_equal(pa.value, pc.value)


def test_default_init_follows_the_activation():
    assert MLP([3, 4, 2], activation="relu").init == "he_normal"
    assert MLP([3, 4, 2], activation="sigmoid").init == "glorot_uniform"


def test_float32_model_stays_float32():
    model = MLP([5, 7, 3], dtype=np.float32)
    rng = np.random.default_rng(0)
    model.train_step(rng.normal(size=(4, 5)), np.array([0, 1, 2, 0]))
    assert all(p.value.dtype == np.float32 and p.gradients[p].dtype == np.float32 for p in model.params)
    assert model.logits.value.dtype == np.float32


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu"])
def test_whole_network_gradients_match_numeric(activation):
    model = MLP([5, 6, 4, 3], activation=activation, seed=1)
    rng = np.random.default_rng(2)
    feed = {model.features: rng.normal(size=(7, 5)), model.labels: rng.integers(0, 3, size=7)}
    feed.update({p: p.value for p in model.params})
    result = check_gradients(model.loss, feed)
    assert set(result.errors) == {p.name for p in model.params}
    assert result.ok, str(result)


def test_predict_evaluate_and_bad_shapes():
    model = MLP([3, 5, 2], seed=0)
    x = np.random.default_rng(0).normal(size=(10, 3))
    probs = model.predict_proba(x)
    assert probs.shape == (10, 2) and np.allclose(probs.sum(axis=1), 1)
    np.testing.assert_array_equal(model.predict(x), probs.argmax(axis=1))
    loss, acc = model.evaluate(x, model.predict(x), batch_size=3)
    assert acc == 1.0 and loss > 0
    with pytest.raises(ValueError, match=r"expected features of shape \(batch, 3\), got \(10, 4\)"):
        model.predict(np.zeros((10, 4)))


def test_save_and_load_round_trip_without_pickle(tmp_path):
    model = MLP([4, 6, 3], activation="tanh", init="glorot_normal", seed=5)
    model.params[0].value += 1.0
    path = model.save(tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as data:
        assert "dense_1/kernel" in data.files
    loaded = MLP.load(path)
    assert loaded.config == model.config
    for p, q in zip(model.params, loaded.params):
        np.testing.assert_array_equal(p.value, q.value)


@pytest.mark.parametrize("sizes", [[4], [], [4, 0, 2], "64"])
def test_bad_sizes_are_explained(sizes):
    with pytest.raises(ValueError, match="sizes must list at least two positive widths"):
        MLP(sizes)


def test_unknown_activation_lists_choices():
    with pytest.raises(ValueError, match=r"unknown activation 'sigmod'.*did you mean 'sigmoid'"):
        MLP([2, 2], activation="sigmod")
