"""Every node and loss against numeric gradients (flowlab.gradcheck), in float64."""

import numpy as np
import pytest

from flowlab import (ACTIVATIONS, Add, Input, LeakyReLU, Linear, MatMul, MSE, Mul, ReLU, Sigmoid, Softmax,
                     SoftmaxCrossEntropy, Tanh)
from flowlab.gradcheck import check_gradients, numeric_array_gradient
from flowlab.graph import Plan, _fast_vjp_of, topological_sort
from flowlab.nodes import get_activation, softmax

rng = np.random.default_rng(0)


def away_from_zero(shape):
    """Random values kept away from ReLU's kink so central differences are exact enough."""
    v = rng.normal(size=shape)
    return np.where(np.abs(v) < 0.05, 0.3, v)


def build_linear():
    X, W, b = Input(name="X"), Input(name="W"), Input(name="b")
    return Linear(X, W, b), {X: rng.normal(size=(5, 3)), W: rng.normal(size=(3, 4)), b: rng.normal(size=4)}


def build_linear_one_sample():
    X, W, b = Input(name="X"), Input(name="W"), Input(name="b")
    return Linear(X, W, b), {X: rng.normal(size=(1, 6)), W: rng.normal(size=(6, 3)), b: rng.normal(size=3)}


def build_matmul():
    a, b = Input(name="a"), Input(name="b")
    return MatMul(a, b), {a: rng.normal(size=(4, 3)), b: rng.normal(size=(3, 2))}


def build_matmul_vector():
    a, b = Input(name="a"), Input(name="b")
    return MatMul(a, b), {a: rng.normal(size=3), b: rng.normal(size=(3, 2))}


def build_add_broadcast():
    a, b, c = Input(name="a"), Input(name="bias_row"), Input(name="scalar")
    return Add(a, b, c), {a: rng.normal(size=(4, 3)), b: rng.normal(size=(1, 3)), c: np.array(0.5)}


def build_add_bias_vector():
    a, b = Input(name="a"), Input(name="bias")
    return Add(a, b), {a: rng.normal(size=(4, 3)), b: rng.normal(size=3)}


def build_mul_three():
    a, b, c = Input(name="a"), Input(name="b"), Input(name="c")
    return Mul(a, b, c), {a: rng.normal(size=(2, 3)), b: rng.normal(size=(2, 3)), c: rng.normal(size=3)}


def build_mul_repeated():
    x = Input(name="x")
    return Mul(x, x, x), {x: rng.normal(size=(3, 2))}


def build_fan_out():
    x, W, b = Input(name="x"), Input(name="W"), Input(name="b")
    h = Linear(x, W, b)
    return Add(Mul(Sigmoid(h), Tanh(h)), h, Mul(x, x)), {x: rng.normal(size=(4, 4)), W: rng.normal(size=(4, 4)),
                                                        b: rng.normal(size=4)}


def unary(cls, **kw):
    def build():
        x = Input(name="x")
        return cls(x, **kw), {x: away_from_zero((4, 5))}
    build.__name__ = f"build_{cls.__name__}"
    return build


def build_softmax_weighted():
    # The plain sum of a softmax is constant, so weight the outputs to get a real gradient.
    x, w = Input(name="x"), Input(name="w")
    return Mul(Softmax(x), w), {x: rng.normal(size=(4, 5)), w: rng.normal(size=(4, 5))}


def build_mse():
    y, a = Input(name="y"), Input(name="a")
    return MSE(y, a), {y: rng.normal(size=6), a: rng.normal(size=(6, 1))}


def build_mse_matrix():
    y, a = Input(name="y"), Input(name="a")
    return MSE(y, a), {y: rng.normal(size=(4, 3)), a: rng.normal(size=(4, 3))}


def build_sce_ids():
    z, y = Input(name="logits"), Input(name="labels", requires_grad=False)
    return SoftmaxCrossEntropy(z, y), {z: rng.normal(size=(6, 4)) * 3, y: np.array([0, 3, 1, 2, 2, 0])}


def build_sce_onehot():
    z, y = Input(name="logits"), Input(name="onehot")
    return SoftmaxCrossEntropy(z, y), {z: rng.normal(size=(5, 3)), y: np.eye(3)[[0, 2, 1, 1, 0]]}


def build_network():
    X, W1, b1, W2, b2, y = (Input(name=n) for n in ["X", "W1", "b1", "W2", "b2", "y"])
    X.requires_grad = y.requires_grad = False
    h = ReLU(Linear(X, W1, b1))
    cost = SoftmaxCrossEntropy(Linear(h, W2, b2), y)
    return cost, {X: away_from_zero((8, 5)), W1: rng.normal(size=(5, 6)), b1: rng.normal(size=6) * 0.1,
                  W2: rng.normal(size=(6, 3)), b2: np.zeros(3), y: rng.integers(0, 3, size=8)}


BUILDERS = [build_linear, build_linear_one_sample, build_matmul, build_matmul_vector, build_add_broadcast,
            build_add_bias_vector, build_mul_three, build_mul_repeated, build_fan_out, unary(Sigmoid), unary(Tanh),
            unary(ReLU), unary(LeakyReLU), unary(LeakyReLU, alpha=0.2), build_softmax_weighted, build_mse,
            build_mse_matrix, build_sce_ids, build_sce_onehot, build_network]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__.removeprefix("build_"))
def test_backprop_matches_numeric_gradients(build):
    out, feed = build()
    result = check_gradients(out, feed)
    assert result.errors, "no Input was checked"
    name, err = result.worst
    assert result.ok, f"{type(out).__name__}: gradient for {name!r} off by relative error {err:.2e}\n{result}"


@pytest.mark.parametrize("build", [build_add_broadcast, build_add_bias_vector, build_mul_three, build_linear])
def test_broadcast_gradients_have_each_inputs_shape(build):
    out, feed = build()
    from flowlab import forward_and_backward, topological_sort
    forward_and_backward(topological_sort(feed))
    for node, value in feed.items():
        assert node.gradients[node].shape == np.shape(value), node.name


def test_activation_registry():
    assert set(ACTIVATIONS) >= {"sigmoid", "tanh", "relu", "leaky_relu"}
    assert get_activation("relu") is ReLU
    with pytest.raises(ValueError, match=r"unknown activation 'rleu'; choose from .*relu.* \(did you mean 'relu'\?\)"):
        get_activation("rleu")


def test_extreme_activations_are_finite_without_warnings():
    x = Input()
    for cls in (Sigmoid, Tanh, Softmax):
        node = cls(x)
        from flowlab import forward_and_backward, topological_sort
        graph = topological_sort({x: np.array([[-1000.0, 0.0, 1000.0]])})
        forward_and_backward(graph)
        assert np.all(np.isfinite(node.value)) and np.all(np.isfinite(x.gradients[x]))
    s = Sigmoid(x)
    forward_and_backward(topological_sort({x: np.array([-1000.0, 0.0, 1000.0])}))
    assert np.allclose(s.value, [0.0, 0.5, 1.0])


def test_softmax_is_stable():
    assert np.array_equal(softmax(np.array([1000.0, 1000.0])), [0.5, 0.5])
    assert np.allclose(softmax(np.array([-1000.0, -10.0, -8.0])), [0.0, 0.11920292, 0.88079708])
    assert np.allclose(softmax(np.array([[1.0, 2.0, 3.0]])).sum(axis=1), 1.0)


# --- a subclass's own backprop wins over its parent's fast path --------------------------------------


class DoubledLinear(Linear):
    """2 * (X @ W + b): Linear's forward doubled, with the backprop to match (and no fast_vjp of its own)."""

    def forward(self):
        super().forward()
        self.value = 2 * self.value

    def backprop(self, grad, X, W, b):
        return super().backprop(2 * grad, X, W, b)


class QuarterMSE(MSE):
    """MSE / 4, written with a backprop: MSE's fast path must not be used for it."""

    def forward(self):
        super().forward()
        self.value = self.value / 4

    def backprop(self, grad, y, a):
        g = (y - a) * (grad / (2 * np.size(y)))
        return g, -g


def test_a_linear_subclass_overriding_backprop_gets_its_own_gradient():
    X, W, b = Input(name="X"), Input(name="W"), Input(name="b")
    node = DoubledLinear(X, W, b)
    feed = {X: rng.normal(size=(5, 3)), W: rng.normal(size=(3, 4)), b: rng.normal(size=4)}
    check_gradients(node, feed, raise_on_failure=True)
    # Linear's own fast path stays in use for Linear (its numbers equal its backprop's).
    assert Linear.fast_vjp is not None
    plain = Linear(X, W, b)
    for node, value in feed.items():
        node.value = value
    plain.forward()
    grad = rng.normal(size=(5, 4))
    gx, gw, gb = plain.backprop(grad, X.value, W.value, b.value)
    for fast, slow in zip(plain.vjp(grad), (gx, gw, gb.sum(axis=0))):
        np.testing.assert_array_equal(fast, slow)
    # Which vjp each class runs: Linear's fast path for Linear, the subclass's backprop for the subclass.
    assert _fast_vjp_of(Linear) == Linear.fast_vjp
    assert _fast_vjp_of(DoubledLinear) is None


def test_a_subclass_overriding_backprop_gets_its_own_gradient_through_a_plan():
    X, W, b, y = Input(name="X"), Input(name="W"), Input(name="b"), Input(name="y", requires_grad=False)
    cost = QuarterMSE(y, Tanh(DoubledLinear(X, W, b)))
    feed = {X: rng.normal(size=(6, 3)), W: rng.normal(size=(3, 2)), b: rng.normal(size=2), y: rng.normal(size=(6, 2))}
    check_gradients(cost, feed, raise_on_failure=True)
    a, t = Input(name="a"), Input(name="t")
    check_gradients(QuarterMSE(t, a), {a: rng.normal(size=(6, 2)), t: rng.normal(size=(6, 2))}, raise_on_failure=True)
    graph = topological_sort(feed)
    plan = Plan(graph, grad_buffers={W: np.zeros((3, 2)), b: np.zeros(2)})
    assert plan.fast
    plan.run()
    analytic = {node: node.gradients[node].copy() for node in (X, W, b)}

    def cost_now():
        for n in graph:
            n.forward()
        return cost.value

    for node in (X, W, b):
        numeric = numeric_array_gradient(cost_now, node.value, h=1e-6)
        np.testing.assert_allclose(analytic[node], numeric, rtol=1e-6, atol=1e-9)


def _awkward(shape, dtype):
    """Random values with every edge case the activations' fast forms must match np.where/np.maximum on:
    signed zeros, infinities, NaN (a quiet one and a signaling one), subnormals, the largest finite numbers."""
    info = np.finfo(dtype)
    v = rng.normal(size=shape).astype(dtype).reshape(-1)
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, info.smallest_subnormal, -info.smallest_subnormal,
                      info.tiny, -info.tiny, info.max, -info.max, 1.0, -1.0], dtype=dtype)
    v[:edges.size] = edges
    bits = v.view(f"u{v.itemsize}")
    exponent = ((1 << info.nexp) - 1) << info.nmant
    bits[edges.size] = exponent | 1  # a signaling NaN: all-ones exponent, quiet bit clear, payload 1
    bits[edges.size + 1] = (1 << (8 * v.itemsize - 1)) | exponent | 3  # a negative one
    return v.reshape(shape)


def _same_bits(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.flags.c_contiguous == want.flags.c_contiguous and got.flags.f_contiguous == want.flags.f_contiguous
    assert np.array_equal(got.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}"))


def _views(x):
    return (x, x[..., ::-1], x.T, np.asfortranarray(x), x[::2])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(17,), (32, 64), (128, 256), (300, 257), (2, 3, 50)])
def test_relu_forward_is_np_maximum_with_zero_bit_for_bit(dtype, shape):
    # The fast form (against an array of zeros; one broadcast row past 65,536 elements) against the
    # plain np.maximum(x, 0.0): the same bits (signed zeros, NaN payloads) and layout, on contiguous
    # inputs and on views.
    node = ReLU(Input())
    x = _awkward(shape, dtype)
    with np.errstate(invalid="ignore"):
        for value in _views(x):
            _same_bits(node.compute(value), np.maximum(value, 0.0))
        node.compute(x)[...] = 7.0  # the result is a fresh array: writing it leaves the zeros alone
    assert np.array_equal(node.compute(np.zeros(shape, dtype) - 1.0), np.zeros(shape, dtype))


def test_relu_keeps_its_other_inputs_as_before():
    node = ReLU(Input())
    assert node.compute(np.float64(-2.0)) == 0.0 and node.compute(np.array(3.0)) == 3.0  # 0-d
    ints = node.compute(np.array([-2, 0, 5]))
    assert ints.dtype.kind == "i" and ints.tolist() == [0, 0, 5]
    assert node.compute([-1.5, 2.5]).tolist() == [0.0, 2.5]
    assert node.compute(np.zeros((0, 4))).shape == (0, 4)


def test_relu_zeros_are_shared_bounded_and_not_pickled():
    import pickle

    from flowlab import nodes

    node = ReLU(Input())
    for rows in range(1, 20):  # many batch shapes: the kept zeros stay few
        node.compute(np.ones((rows, 8)))
    assert len(nodes._ZEROS) <= 8 and all(not z.flags.writeable for z in nodes._ZEROS.values())
    assert len(pickle.dumps(node)) < 2000  # nothing of the kept zeros travels with the node


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("alpha", [0.0, 1e-50, 1e-30, 1e-8, 0.01, 0.2, 0.5, 0.9999999])
def test_leaky_relu_forward_is_np_where_bit_for_bit(dtype, alpha):
    # An alpha that rounds to 0 in the input's dtype (1e-50 in float32, 1e-8 in float16) must keep
    # np.where's inf; a signaling NaN comes out quieted, as alpha * x gives it.
    node = LeakyReLU(Input(), alpha=alpha)
    x = _awkward((64, 129), dtype)
    with np.errstate(invalid="ignore", under="ignore", over="ignore"):
        for value in _views(x):
            _same_bits(node.compute(value), np.where(value > 0, value, alpha * value))
    assert node.compute(np.array(-2.0)) == -2.0 * alpha  # 0-d
