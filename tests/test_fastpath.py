"""The fast paths give the numbers of the plain ones: Plan vs forward_and_backward, MLP.train_step vs the
generic passes, the flat (all-parameters-at-once) optimizer vs one parameter at a time, batch size 1."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from flowlab import (
    MSE,
    Add,
    Input,
    Linear,
    MatMul,
    Mul,
    Node,
    ReLU,
    Sigmoid,
    Softmax,
    SoftmaxCrossEntropy,
    Tanh,
    forward_and_backward,
    topological_sort,
)
from flowlab.graph import Plan
from flowlab.models import MLP
from flowlab.optim import OPTIMIZERS, Optimizer, get_optimizer


def plain_step(model, opt, x, y):
    """The generic path: every node's forward, every node's backward (fresh arrays), then the optimizer."""
    model.features.value = np.asarray(x, dtype=model.dtype)
    model.labels.value = y
    loss = forward_and_backward(model.graph)
    opt.step()
    return loss


def unflatten(model):
    """Gives each parameter its own array, so an optimizer on it goes one parameter at a time."""
    for p in model.params:
        p.value = p.value.copy()


def batches(sizes, sizes_of_batches, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(m, sizes[0])).astype(dtype), rng.integers(0, sizes[-1], size=m))
            for m in sizes_of_batches]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "leaky_relu"])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_mlp_train_step_matches_the_generic_path_bit_for_bit(optimizer, activation, dtype):
    sizes = [6, 8, 7, 3]
    fast, plain = MLP(sizes, activation=activation, seed=3, dtype=dtype), MLP(sizes, activation=activation, seed=3, dtype=dtype)
    unflatten(plain)
    fast_opt = get_optimizer(optimizer, fast.params, weight_decay=0.01)
    plain_opt = get_optimizer(optimizer, plain.params, weight_decay=0.01)
    # mini-batches, a partial one, and batch size 1 (the outer-product path)
    for x, y in batches(sizes, [5, 5, 1, 3, 1, 5, 2], dtype=dtype) * 2:
        loss = fast.train_step(x, y)
        fast_opt.step()
        assert loss == plain_step(plain, plain_opt, x, y)
        for p, q in zip(fast.params, plain.params):
            assert_array_equal(p.gradients[p], q.gradients[q])
            assert_array_equal(p.value, q.value)
            assert p.value.dtype == dtype and p.gradients[p].dtype == dtype
    assert fast_opt._flat is not None and plain_opt._flat is None  # each took the path it should
    fast_state, plain_state = fast_opt.state, plain_opt.state
    for p, q in zip(fast.params, plain.params):
        assert fast_state[p].keys() == plain_state[q].keys()
        for key, value in plain_state[q].items():
            if isinstance(value, np.ndarray):
                assert_array_equal(fast_state[p][key], value)
            else:
                assert fast_state[p][key] == value


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_float32_steps_stay_float32_in_every_node(activation):
    model = MLP([5, 6, 3], activation=activation, dtype=np.float32)
    opt = get_optimizer("adam", model.params)
    for x, y in batches([5, 6, 3], [4, 1]):  # float64 features: cast once at the door
        model.train_step(x, y)
        opt.step()
        for node in model.graph:
            if node is not model.labels:
                assert np.asarray(node.value).dtype == np.float32, node
            for g in node.gradients.values():
                assert g.dtype == np.float32, node
    assert all(a.dtype == np.float32 for s in opt.state.values() for a in s.values() if isinstance(a, np.ndarray))


def test_gradient_arrays_are_reused_and_parameters_share_one_buffer():
    model = MLP([4, 5, 3])
    (x, y), (x2, y2) = batches([4, 5, 3], [2, 2])
    model.train_step(x, y)
    grads = [p.gradients[p] for p in model.params]
    first = [g.copy() for g in grads]
    model.train_step(x2, y2)
    assert all(p.gradients[p] is g for p, g in zip(model.params, grads))
    assert not all(np.array_equal(g, f) for g, f in zip(grads, first))
    assert all(np.shares_memory(p.value, model.params[0].value.base) for p in model.params)


def test_optimizer_leaves_the_flat_path_when_a_parameter_is_replaced():
    sizes = [4, 6, 3]
    fast, plain = MLP(sizes, seed=1), MLP(sizes, seed=1)
    unflatten(plain)
    fast_opt, plain_opt = get_optimizer("nadam", fast.params), get_optimizer("nadam", plain.params)
    data = batches(sizes, [3] * 6)
    for i, (x, y) in enumerate(data):
        if i == 3:
            kernel = fast.params[0]
            kernel.value = kernel.value.copy()  # breaks the flat layout
        fast.train_step(x, y)
        fast_opt.step()
        plain_step(plain, plain_opt, x, y)
        assert (fast_opt._flat is not None) == (i < 3)
        for p, q in zip(fast.params, plain.params):
            assert_array_equal(p.value, q.value)


def test_a_custom_optimizer_is_not_run_on_the_flat_arrays():
    class Normalized(Optimizer):
        """p <- p - lr * g / |g| per parameter: not elementwise."""

        def __init__(self, params, lr=0.1):
            super().__init__(params, lr)

        def update(self, value, grad, state):
            value -= self.lr * grad / np.linalg.norm(grad)

    model = MLP([4, 5, 3])
    opt = Normalized(model.params)
    x, y = batches([4, 5, 3], [3])[0]
    model.train_step(x, y)
    before = [p.value.copy() for p in model.params]
    grads = [p.gradients[p].copy() for p in model.params]
    opt.step()
    assert opt._flat is None
    for p, b, g in zip(model.params, before, grads):
        np.testing.assert_allclose(p.value, b - 0.1 * g / np.linalg.norm(g), rtol=1e-12)


def mixed_graph():
    """A graph with fan-out, a repeated input, broadcasting and every kind of flowlab node."""
    x, w, b, c, y = Input(name="x"), Input(name="w"), Input(name="b"), Input(name="c"), Input(name="y", requires_grad=False)
    h = Linear(x, w, b)
    s = Sigmoid(h)
    t = Tanh(MatMul(s, Input(name="v")))
    r = ReLU(Add(t, c, Mul(t, t)))
    out = SoftmaxCrossEntropy(Add(r, Softmax(r)), y)
    rng = np.random.default_rng(0)
    feed = {x: rng.normal(size=(4, 3)), w: rng.normal(size=(3, 5)), b: rng.normal(size=5), c: rng.normal(size=(1, 2)),
            y: rng.integers(0, 2, size=4)}
    v = out.inbound_nodes[0].inbound_nodes[0].inbound_nodes[0].inbound_nodes[0].inbound_nodes[0].inbound_nodes[1]
    feed[v] = rng.normal(size=(5, 2))
    return out, feed


def snapshot(graph):
    return [(n.value, {id(k): g for k, g in n.gradients.items()}) for n in graph]


def assert_same(a, b):
    assert len(a) == len(b)
    for (va, ga), (vb, gb) in zip(a, b):
        assert_array_equal(va, vb)
        assert ga.keys() == gb.keys()
        for k in ga:
            assert_array_equal(ga[k], gb[k])


def test_plan_matches_forward_and_backward_on_a_mixed_graph():
    out, feed = mixed_graph()
    graph = topological_sort(feed)
    forward_and_backward(graph)
    plain = snapshot(graph)
    plan = Plan(graph)
    assert plan.fast
    for node in graph:
        if not isinstance(node, Input):
            node.gradients = {}
    assert plan.run() == out.value
    assert_same(snapshot(graph), plain)


def test_plan_with_mse_and_a_repeated_input():
    a, y = Input(name="a"), Input(name="y")
    cost = MSE(y, Mul(a, a))
    feed = {a: np.array([[0.5], [-1.5], [2.0]]), y: np.array([1.0, 0.0, 2.0])}
    graph = topological_sort(feed)
    forward_and_backward(graph)
    plain = snapshot(graph)
    assert Plan(graph).run() == cost.value
    assert_same(snapshot(graph), plain)


class Double(Node):
    """Written the MiniFlow way: its own forward and backward."""

    def __init__(self, node):
        Node.__init__(self, [node])

    def forward(self):
        self.value = 2 * self.inbound_nodes[0].value

    def backward(self):
        self.gradients = {n: np.zeros_like(n.value) for n in self.inbound_nodes}
        for n in self.outbound_nodes:
            self.gradients[self.inbound_nodes[0]] += 2 * n.gradients[self]


def test_plan_falls_back_to_the_generic_passes_for_a_miniflow_node():
    x, w, b, y = Input(name="x"), Input(name="w"), Input(name="b"), Input(name="y")
    cost = MSE(y, Double(Sigmoid(Linear(x, w, b))))
    rng = np.random.default_rng(1)
    feed = {x: rng.normal(size=(3, 2)), w: rng.normal(size=(2, 1)), b: np.zeros(1), y: rng.normal(size=3)}
    graph = topological_sort(feed)
    forward_and_backward(graph)
    plain = snapshot(graph)
    plan = Plan(graph, grad_buffers={w: np.zeros((2, 1))})
    assert not plan.fast
    assert plan.run() == cost.value
    assert_same(snapshot(graph), plain)


def test_a_subclass_with_its_own_backprop_is_honoured():
    class HalfGradLinear(Linear):
        def backprop(self, grad, X, W, b):
            return None, 0.5 * (np.asarray(X).T @ grad), None

    x, w, b = Input(name="x"), Input(name="w"), Input(name="b")
    out = HalfGradLinear(x, w, b)
    feed = {x: np.ones((2, 3)), w: np.ones((3, 1)), b: np.zeros(1)}
    for run in (lambda g: forward_and_backward(g), lambda g: Plan(g, {w: np.zeros((3, 1))}).run()):
        graph = topological_sort(feed)
        run(graph)
        assert_array_equal(w.gradients[w], np.full((3, 1), 1.0))
        assert b not in out.gradients and x not in out.gradients


def test_batch_of_one_uses_the_outer_product_and_matches_matmul():
    rng = np.random.default_rng(2)
    x, w, b = Input(name="x", requires_grad=False), Input(name="w"), Input(name="b")
    out = Linear(x, w, b)
    X, W = rng.normal(size=(1, 784)), rng.normal(size=(784, 16))
    graph = topological_sort({x: X, w: W, b: np.zeros(16)})
    grad_out = np.zeros((784, 16))
    Plan(graph, {w: grad_out}).run()
    assert w.gradients[w] is grad_out
    assert_array_equal(grad_out, X.T @ np.ones((1, 16)))
    forward_and_backward(graph)
    assert_array_equal(w.gradients[w], grad_out)
    assert out.value.shape == (1, 16)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_shifts_row_by_row_when_rows_are_far_apart(dtype):
    # One shift for the batch would underflow the second row's exps; the loss must not notice.
    logits = np.array([[0.0, 1.0, 3.0], [-1000.0, -1001.0, -999.5], [50.0, 52.0, 51.0]], dtype=dtype)
    labels = np.array([2, 0, 1])
    z, y = Input(name="z"), Input(name="y", requires_grad=False)
    loss = SoftmaxCrossEntropy(z, y)
    graph = topological_sort({z: logits, y: labels})
    value = Plan(graph).run()
    z64 = logits.astype(np.float64)
    logp = z64 - z64.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
    expected_grad = (np.exp(logp) - np.eye(3)[labels]) / 3
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert value.dtype == dtype and loss.value == pytest.approx(-logp[[0, 1, 2], labels].mean(), rel=tol)
    np.testing.assert_allclose(z.gradients[z], expected_grad, rtol=tol, atol=tol * 1e-3)


# --- the fast path against an independent computation ---------------------------------------------
# The numpy below is written out by hand in the order of operations flowlab's nodes and optimizers
# promise (matmul then bias, the batch-max shift, BLAS row sums, torch's update rules), so a change
# in the hot path that moves a single bit shows here, not only against flowlab's own generic passes.


def _reference_grads(params, x, y, activation):
    (W1, b1), (W2, b2) = params
    m, k = len(y), W2.shape[1]
    h = x @ W1
    h += b1
    if activation == "relu":
        a = np.maximum(h, 0.0)
    elif activation == "tanh":
        a = np.tanh(h)
    else:
        a = 1.0 / (1.0 + np.exp(-h)) if h.dtype == np.float64 else (np.tanh(h * 0.5) * 0.5 + 0.5)
    z = a @ W2
    z += b2
    shifted = z - z.max()
    picked = shifted[np.arange(m), y]
    e = np.exp(shifted)
    total = e @ np.ones((k, 1), dtype=e.dtype)
    assert total.min() >= np.finfo(e.dtype).tiny / np.finfo(e.dtype).eps  # the one-shift case
    loss = np.add.reduce(np.log(total[:, 0]) - picked) / m
    gz = e / total
    gz[np.arange(m), y] -= 1.0
    gz *= 1.0 / m
    gW2, gb2 = a.T @ gz, np.add.reduce(gz, axis=0)
    ga = gz @ W2.T
    if activation == "relu":
        gh = ga * (h > 0)
    elif activation == "tanh":
        gh = (1.0 - a * a) * ga
    else:
        gh = (1.0 - a) * a * ga
    return loss, z, [(x.T @ gh, np.add.reduce(gh, axis=0)), (gW2, gb2)]


def _reference_update(name, value, grad, state, t, lr):
    if name == "sgd":
        value -= grad * lr
    elif name == "momentum":
        if "buf" not in state:
            state["buf"] = grad.copy()
        else:
            state["buf"] *= 0.9
            state["buf"] += grad
        value -= state["buf"] * lr
    else:  # adam, torch's formula: lerp for the first moment, eps after the bias-corrected sqrt
        m1 = state.setdefault("m", np.zeros_like(value))
        v = state.setdefault("v", np.zeros_like(value))
        m1 += (grad - m1) * (1 - 0.9)
        v *= 0.999
        v += grad * (1 - 0.999) * grad
        denom = np.sqrt(v) / (1 - 0.999**t) ** 0.5 + 1e-8
        value -= (m1 / denom) * (lr / (1 - 0.9**t))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_64_64_10_steps_equal_an_independent_numpy_computation(optimizer, activation, dtype):
    model = MLP([64, 64, 10], activation=activation, seed=1, dtype=dtype)
    lr = 0.05 if optimizer != "adam" else 0.01
    opt = get_optimizer(optimizer, model.params, lr=lr)
    params = [(layer.kernel.value.copy(), layer.bias.value.copy()) for layer in model.layers]
    states = [[{}, {}] for _ in params]
    for t, (x, y) in enumerate(batches([64, 64, 10], [32, 32, 32, 7, 32, 1], seed=2, dtype=dtype), start=1):
        loss = model.train_step(x, y)
        ref_loss, ref_logits, ref_grads = _reference_grads(params, x, y, activation)
        assert loss == ref_loss
        assert_array_equal(model.logits.value, ref_logits)
        for layer, (gW, gb) in zip(model.layers, ref_grads):
            assert_array_equal(layer.kernel.gradients[layer.kernel], gW)
            assert_array_equal(layer.bias.gradients[layer.bias], gb)
        opt.step()
        for pair, grads, state in zip(params, ref_grads, states):
            for value, grad, s in zip(pair, grads, state):
                _reference_update(optimizer, value, grad, s, t, lr)
        for layer, (W, b) in zip(model.layers, params):
            assert_array_equal(layer.kernel.value, W)
            assert_array_equal(layer.bias.value, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_on_logits_laid_out_column_first(dtype):
    """Logits in a Fortran-ordered array (a transposed view, say) get their label entries right.

    (BLAS may sum the rows of either layout in another order: equal to rounding, not bit for bit.)"""
    rng = np.random.default_rng(5)
    z = rng.normal(size=(9, 4)).astype(dtype)
    labels = rng.integers(0, 4, size=9)
    results = []
    for logits in (np.ascontiguousarray(z), np.asfortranarray(z)):
        Z, Y = Input(name="z"), Input(name="y", requires_grad=False)
        cost = SoftmaxCrossEntropy(Z, Y)
        graph = topological_sort({Z: logits, Y: labels})
        results.append((Plan(graph).run(), Z.gradients[Z].copy()))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=tol)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=tol, atol=tol)
    expected = np.exp(z - z.max()) / np.exp(z - z.max()).sum(axis=1, keepdims=True)
    expected[np.arange(9), labels] -= 1
    for _, gradient in results:
        np.testing.assert_allclose(gradient, expected / 9, rtol=tol, atol=tol)


def test_elementwise_holds_for_the_update_it_was_stated_beside():
    class NormalizedSGD(OPTIMIZERS["sgd"]):
        """SGD on g / |g| per parameter: not elementwise, and does not say so."""

        def update(self, value, grad, state):
            super().update(value, grad / np.linalg.norm(grad), state)

    class SignSGD(OPTIMIZERS["sgd"]):
        """SGD on sign(g): elementwise, and says so."""

        elementwise = True

        def update(self, value, grad, state):
            super().update(value, np.sign(grad), state)

    class QuietNesterov(OPTIMIZERS["nesterov"]):
        """Nesterov under another name: it keeps Momentum's update, so Momentum's statement holds."""

    model = MLP([4, 5, 3])
    assert NormalizedSGD.elementwise  # the class attribute is SGD's statement...
    assert not NormalizedSGD(model.params).elementwise  # ...which does not cover the new update
    assert SignSGD(model.params).elementwise and QuietNesterov(model.params).elementwise
    assert all(cls(model.params).elementwise for cls in OPTIMIZERS.values())

    x, y = batches([4, 5, 3], [3])[0]
    model.train_step(x, y)
    before = [p.value.copy() for p in model.params]
    grads = [p.gradients[p].copy() for p in model.params]
    normalized = NormalizedSGD(model.params, lr=0.1)
    normalized.step()
    assert normalized._flat is None  # one parameter at a time: each gets its own norm
    for p, b, g in zip(model.params, before, grads):
        np.testing.assert_allclose(p.value, b - 0.1 * g / np.linalg.norm(g), rtol=1e-12)

    signed = SignSGD(model.params, lr=0.1)
    for p in model.params:
        p.value[...] = before[model.params.index(p)]
    signed.step()
    assert signed._flat is not None  # stated elementwise: one update on the flat arrays
    for p, b, g in zip(model.params, before, grads):
        assert_array_equal(p.value, b - 0.1 * np.sign(g))
