"""The flat parameter layout is stated by whoever allocated it, and an optimizer uses it only when told."""

import numpy as np
from numpy.testing import assert_array_equal

from flowlab.graph import Input, Plan, topological_sort
from flowlab.losses import MSE
from flowlab.models import MLP
from flowlab.nodes import Linear
from flowlab.optim import get_optimizer
from flowlab.params import FlatLayout, Parameters


def _regression(seed=0):
    rng = np.random.default_rng(seed)
    X, y, W, b = Input(name="X", requires_grad=False), Input(name="y", requires_grad=False), Input(name="W"), Input(name="b")
    W.value, b.value = rng.normal(size=(3, 2)), rng.normal(size=2)
    cost = MSE(y, Linear(X, W, b))
    feed = {X: rng.normal(size=(5, 3)), y: rng.normal(size=(5, 2))}
    return [W, b], cost, feed


def test_the_layout_moves_values_into_one_array_and_offers_gradient_views():
    params, _, _ = _regression()
    before = [p.value.copy() for p in params]
    layout = FlatLayout(params, np.float64)
    assert layout.value.shape == (8,) and layout.grad.shape == (8,)
    for p, b, view, grad in zip(params, before, layout.values, layout.grads):
        assert p.value is view and np.shares_memory(view, layout.value) and np.shares_memory(grad, layout.grad)
        assert_array_equal(p.value, b)
    assert not layout.holds(params)  # no gradient written into the views yet
    assert not layout.holds(params[::-1])


def test_an_optimizer_takes_the_flat_path_only_when_told():
    results = []
    for told in (False, True):
        params, cost, feed = _regression()
        layout = FlatLayout(params, np.float64)  # views of one buffer: a plain list of them is not told
        graph = topological_sort(feed)
        plan = Plan(graph, grad_buffers=dict(zip(layout.params, layout.grads)))
        opt = get_optimizer("adam", Parameters(params, flat=layout) if told else list(params), lr=0.1)
        for _ in range(3):
            plan.run()
            opt.step()
        assert (opt._flat is not None) is told
        results.append([p.value.copy() for p in params])
    for a, b in zip(*results):
        assert_array_equal(a, b)


def test_a_models_params_state_its_layout_and_a_copy_does_not():
    model = MLP([4, 5, 3])
    assert isinstance(model.params, Parameters) and model.params.flat.params == list(model.params)
    assert type(model.params[:2]) is list and type(list(model.params)) is list
    x, y = np.random.default_rng(0).normal(size=(6, 4)), np.arange(6) % 3
    told, copied = get_optimizer("sgd", model.params, lr=0.1), get_optimizer("sgd", list(model.params), lr=0.1)
    model.train_step(x, y)
    told.step()
    copied.step()
    assert told._flat is not None and copied._flat is None


def _losses(model, steps=4):
    x, y = np.random.default_rng(1).normal(size=(16, 4)), np.arange(16) % 3
    opt = get_optimizer("adam", model.params, lr=0.05)
    out = []
    for _ in range(steps):
        out.append(float(model.train_step(x, y)))
        opt.step()
    return out, {p.name: p.value.copy() for p in model.params}


def test_a_copied_or_unpickled_model_trains_as_the_original():
    import copy
    import pickle

    template = MLP([4, 8, 3], seed=0)
    copies = [copy.deepcopy(template), pickle.loads(pickle.dumps(template))]
    losses, weights = _losses(template)
    assert losses[-1] < losses[0]
    for model in copies:
        # Its views and flat arrays were copied apart: the optimizer goes parameter by parameter.
        got, got_weights = _losses(model)
        assert got == losses
        for name in weights:
            assert_array_equal(got_weights[name], weights[name])


def test_a_model_whose_params_are_set_to_a_list_of_ones_own_trains_those():
    from flowlab.model import Model
    from flowlab.train import Trainer

    rng = np.random.default_rng(0)
    X, y, W, b = Input(name="X"), Input(name="y"), Input(name="W"), Input(name="b")
    W.value, b.value = rng.normal(size=(3, 1)), np.zeros(1)
    out = Linear(X, W, b)
    model = Model(X, y, out, MSE(y, out), task="regression")
    model.params = [W]  # the bias stays as it is
    x = rng.normal(size=(32, 3))
    history = Trainer(model, "sgd", lr=0.1).fit(x, x @ np.ones((3, 1)), epochs=3, batch_size=8)
    assert history["loss"][-1] < history["loss"][0]
    assert_array_equal(b.value, np.zeros(1))
