"""flowlab.tensorslow: the series' worked values, every operation against numeric gradients, training."""

import numpy as np
import pytest

from flowlab import tensorslow as ts
from flowlab.gradcheck import numeric_array_gradient

rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def fresh_graph():
    """Each test builds in its own graph, as the series starts each example with Graph().as_default()."""
    with ts.Graph().as_default() as graph:
        yield graph


def assert_gradients_match(loss, variables, rtol=1e-6):
    """compute_gradients(loss) against central differences, for every Variable in ``variables``."""
    session = ts.Session()
    session.run(loss)
    grads = ts.compute_gradients(loss)
    for v in variables:
        numeric = numeric_array_gradient(lambda: float(np.sum(session.run(loss))), v.value, h=1e-6)
        assert grads[v].shape == np.shape(v.value), v.name
        np.testing.assert_allclose(grads[v], numeric, rtol=rtol, atol=1e-8, err_msg=v.name)


def var(*shape, positive=False):
    value = rng.normal(size=shape)
    return ts.Variable(np.abs(value) + 0.5 if positive else value)


# --- the series' worked values -----------------------------------------------------------------


def test_affine_example():
    A = ts.Variable([[1, 0], [0, -1]])
    b = ts.Variable([1, 1])
    x = ts.placeholder()
    z = ts.add(ts.matmul(A, x), b)
    np.testing.assert_array_equal(ts.Session().run(z, {x: [1, 2]}), [2, -1])


def test_perceptron_point():
    x = ts.placeholder()
    w = ts.Variable([1, 1])
    b = ts.Variable(0)
    p = ts.sigmoid(ts.add(ts.matmul(w, x), b))
    assert ts.Session().run(p, {x: [3, 2]}) == pytest.approx(0.993307149076, abs=1e-12)


def test_softmax_perceptron_with_the_series_weights():
    X = ts.placeholder()
    W = ts.Variable([[1, -1], [1, -1]])
    b = ts.Variable([0, 0])
    p = ts.softmax(ts.add(ts.matmul(X, W), b))
    blue, red = rng.normal(size=(5, 2)) + 2, rng.normal(size=(5, 2)) - 2
    probabilities = ts.Session().run(p, {X: np.concatenate((blue, red))})
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert (probabilities[:5, 0] > 0.5).all() and (probabilities[5:, 1] > 0.5).all()


# --- every operation against numeric gradients -------------------------------------------------


def weighted_sum(out):
    """A scalar loss that gives every element of ``out`` its own upstream gradient."""
    shape = np.shape(ts.Session().run(out))
    return ts.reduce_sum(ts.multiply(out, ts.Variable(rng.normal(size=shape), trainable=False)))


CASES = {
    "add": lambda a, b: ts.add(a, b),
    "multiply": lambda a, b: ts.multiply(a, b),
}
SHAPES = [((3, 4), (3, 4)), ((4, 3), (3,)), ((4, 3), (1, 3)), ((2, 3), ())]


@pytest.mark.parametrize("op", CASES)
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_elementwise_binary_gradients(op, shapes):
    a, b = var(*shapes[0]), var(*shapes[1])
    assert_gradients_match(weighted_sum(CASES[op](a, b)), [a, b])


@pytest.mark.parametrize("shapes", [((4, 3), (3, 2)), ((2, 2), (2,)), ((3,), (3,)), ((3,), (3, 2))], ids=str)
def test_matmul_gradients(shapes):
    a, b = var(*shapes[0]), var(*shapes[1])
    assert_gradients_match(weighted_sum(ts.matmul(a, b)), [a, b])


@pytest.mark.parametrize("op, shape", [(op, shape) for op in ["negative", "log", "sigmoid", "softmax"]
                                       for shape in [(), (5,), (4, 3)] if (op, shape) != ("softmax", ())])
def test_unary_gradients(op, shape):
    x = var(*shape, positive=(op == "log"))
    assert_gradients_match(weighted_sum(getattr(ts, op)(x)), [x])


def test_softmax_along_the_first_axis():
    x = var(4, 3)
    out = ts.softmax(x, axis=0)
    np.testing.assert_allclose(ts.Session().run(out).sum(axis=0), 1.0)
    assert_gradients_match(weighted_sum(out), [x])


@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, False), (-1, False), ((0, 2), False),
                                            (1, True), (None, True)])
def test_reduce_sum_gradients(axis, keepdims):
    x = var(2, 3, 4)
    out = ts.reduce_sum(x, axis=axis, keepdims=keepdims)
    assert np.shape(ts.Session().run(out)) == np.shape(np.sum(x.value, axis=axis, keepdims=keepdims))
    assert_gradients_match(weighted_sum(out), [x])


def test_series_losses_gradients():
    X = ts.placeholder()
    c = ts.placeholder()
    W_hidden, b_hidden, W_output, b_output = var(2, 3), var(3), var(3, 2), var(2)
    p_hidden = ts.sigmoid(ts.add(ts.matmul(X, W_hidden), b_hidden))
    p = ts.softmax(ts.add(ts.matmul(p_hidden, W_output), b_output))
    J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p)), axis=1)))
    feed = {X: rng.normal(size=(6, 2)), c: np.eye(2)[rng.integers(0, 2, size=6)]}
    session = ts.Session()
    session.run(J, feed)
    grads = ts.compute_gradients(J)
    for v in (W_hidden, b_hidden, W_output, b_output):
        numeric = numeric_array_gradient(lambda: float(session.run(J, feed)), v.value, h=1e-6)
        np.testing.assert_allclose(grads[v], numeric, rtol=1e-6, atol=1e-8, err_msg=v.name)


# --- what the original got wrong ---------------------------------------------------------------


def test_node_reached_along_paths_of_different_lengths():
    a, b = ts.Variable(np.array([1.0, -2.0, 3.0])), ts.Variable(np.array([4.0, 5.0, -6.0]))
    y = ts.add(a, ts.multiply(a, b))  # the series' breadth-first walk visits a before multiply
    ts.Session().run(y)
    grads = ts.compute_gradients(y)
    np.testing.assert_allclose(grads[a], 1 + b.value)
    np.testing.assert_allclose(grads[b], a.value)
    assert_gradients_match(weighted_sum(ts.negative(ts.add(ts.log(ts.sigmoid(a)), ts.multiply(a, b)))), [a, b])


@pytest.mark.parametrize("bias_shape", [(2,), (1, 2)])
def test_bias_gradient_comes_back_in_the_bias_shape(bias_shape):
    X = ts.placeholder()
    W, b = var(3, 2), var(*bias_shape)
    out = ts.add(ts.matmul(X, W), b)
    ts.Session().run(out, {X: rng.normal(size=(5, 3))})
    grads = ts.compute_gradients(out)
    assert grads[b].shape == bias_shape
    np.testing.assert_allclose(np.ravel(grads[b]), [5.0, 5.0])  # ones summed over the 5 rows


def test_gradients_with_respect_to_a_placeholder():
    x = ts.placeholder()
    w = ts.Variable(np.array([2.0, -3.0]))
    y = ts.reduce_sum(ts.multiply(w, x))
    ts.Session().run(y, {x: [1.0, 1.0]})
    assert x not in ts.compute_gradients(y)  # by default: the Variables
    np.testing.assert_allclose(ts.compute_gradients(y, [x])[x], [2.0, -3.0])


def test_compute_gradients_needs_a_run_first():
    w = ts.Variable(1.0)
    y = ts.negative(w)
    with pytest.raises(ValueError, match="run the loss first"):
        ts.compute_gradients(y)
    assert ts.train.compute_gradients is ts.compute_gradients


# --- training ----------------------------------------------------------------------------------


def perceptron(seed=0):
    """The series' softmax perceptron and its feed_dict, on two clusters from a seeded rng."""
    data = np.random.default_rng(seed)
    red_points = data.normal(size=(50, 2)) - 2 * np.ones((50, 2))
    blue_points = data.normal(size=(50, 2)) + 2 * np.ones((50, 2))
    X, c = ts.placeholder(), ts.placeholder()
    W = ts.Variable(data.normal(size=(2, 2)))
    b = ts.Variable(data.normal(size=2))
    p = ts.softmax(ts.add(ts.matmul(X, W), b))
    J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p)), axis=1)))
    feed_dict = {X: np.concatenate((blue_points, red_points)),
                 c: [[1, 0]] * len(blue_points) + [[0, 1]] * len(red_points)}
    return J, W, b, feed_dict


def test_gradient_descent_decreases_the_perceptron_loss():
    J, W, b, feed_dict = perceptron()
    minimization_op = ts.train.GradientDescentOptimizer(learning_rate=0.01).minimize(J)
    session = ts.Session()
    losses = []
    for _ in range(30):
        losses.append(session.run(J, feed_dict))
        session.run(minimization_op, feed_dict)
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))
    assert losses[-1] < 0.01 * losses[0]


def test_one_step_is_w_minus_learning_rate_times_gradient():
    J, W, b, feed_dict = perceptron(seed=1)
    step = ts.train.GradientDescentOptimizer(0.05).minimize(J)
    session = ts.Session()
    session.run(J, feed_dict)
    grads = ts.compute_gradients(J)
    expected_W, expected_b = W.value - 0.05 * grads[W], b.value - 0.05 * grads[b]
    assert session.run(step, feed_dict) is None
    np.testing.assert_allclose(W.value, expected_W)
    np.testing.assert_allclose(b.value, expected_b)


def test_running_only_the_minimization_op_trains_as_the_series_loop_does():
    session = ts.Session()
    J, W, b, feed_dict = perceptron(seed=2)
    step = ts.train.GradientDescentOptimizer(0.01).minimize(J)
    J2, W2, b2, feed_dict2 = perceptron(seed=2)
    step2 = ts.train.GradientDescentOptimizer(0.01).minimize(J2)
    before = session.run(J2, feed_dict2)
    for _ in range(10):
        session.run(J, feed_dict)  # the series' loop: the loss, then the step from its values
        session.run(step, feed_dict)
        session.run(step2, feed_dict2)  # the step alone evaluates the loss itself
    np.testing.assert_allclose(W2.value, W.value)
    np.testing.assert_allclose(b2.value, b.value)
    assert session.run(J2, feed_dict2) < before


def test_non_trainable_variables_and_the_callers_array_stay_put():
    init = np.array([1.0, 2.0])
    w = ts.Variable(init)
    frozen = ts.Variable(np.array([3.0, 4.0]), trainable=False)
    J = ts.reduce_sum(ts.multiply(ts.multiply(w, w), frozen))
    step = ts.train.GradientDescentOptimizer(0.1).minimize(J)
    ts.Session().run(step)
    np.testing.assert_array_equal(init, [1.0, 2.0])
    np.testing.assert_array_equal(frozen.value, [3.0, 4.0])
    np.testing.assert_allclose(w.value, [1.0 - 0.1 * 6.0, 2.0 - 0.1 * 16.0])


def test_optimizer_rejects_bad_settings():
    with pytest.raises(ValueError, match="learning_rate=-0.1"):
        ts.train.GradientDescentOptimizer(-0.1)
    x = ts.placeholder()
    with pytest.raises(ValueError, match="no trainable Variable"):
        ts.train.GradientDescentOptimizer(0.1).minimize(ts.negative(x))


# --- user-defined operations -------------------------------------------------------------------


class square(ts.Operation):
    """The series' way to add an operation: inputs to __init__, values to compute."""

    def __init__(self, x):
        super().__init__([x])

    def compute(self, x_value):
        self.inputs = [x_value]  # as the series' operations do
        return x_value ** 2


class divide(ts.Operation):
    def __init__(self, x, y):
        super().__init__([x, y])

    def compute(self, x_value, y_value):
        return x_value / y_value


@ts.RegisterGradient("square")
def _square_gradient(op, grad):
    return 2 * op.inputs[0] * grad  # one input: a bare gradient, as in the series


@ts.RegisterGradient("divide")
def _divide_gradient(op, grad):
    x, y = op.inputs
    return [grad / y, -grad * x / y ** 2]


def test_register_gradient_for_user_operations():
    x, y = var(4, 3), var(3, positive=True)
    out = ts.add(square(x), divide(x, y))
    assert_gradients_match(weighted_sum(out), [x, y])  # divide's y gradient is summed to shape (3,)
    assert isinstance(out.input_nodes[0], square) and out.input_nodes[0].consumers == [out]


def test_user_operation_errors():
    class cube(ts.Operation):
        def __init__(self, x):
            super().__init__([x])

        def compute(self, x_value):
            return x_value ** 3

    x = ts.Variable(np.array([1.0, 2.0]))
    y = cube(x)
    ts.Session().run(y)
    with pytest.raises(LookupError, match=r"RegisterGradient\('cube'\)"):
        ts.compute_gradients(y)
    ts.RegisterGradient("cube")(lambda op, grad: [grad, grad])
    with pytest.raises(RuntimeError, match="2 gradients for the 1 inputs"):
        ts.compute_gradients(y)
    ts.RegisterGradient("cube")(lambda op, grad: np.ones(5))
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        ts.compute_gradients(y)
    with pytest.raises(ValueError, match="built-in operation"):
        ts.RegisterGradient("add")
    with pytest.raises(TypeError, match="not a node of a ts graph"):
        ts.add(x, 1.0)


# --- graphs and sessions -----------------------------------------------------------------------


def test_graphs_are_isolated(fresh_graph):
    a = ts.Variable(1.0)
    g2 = ts.Graph()
    assert g2.as_default() is g2 and ts.get_default_graph() is g2
    x = ts.placeholder()
    b = ts.Variable(2.0)
    s = ts.add(b, x)
    assert (fresh_graph.variables, fresh_graph.placeholders, fresh_graph.operations) == ([a], [], [])
    assert (g2.variables, g2.placeholders, g2.operations) == ([b], [x], [s])
    with pytest.raises(ValueError, match="another Graph"):
        ts.add(a, b)
    with ts.Graph().as_default() as g3:
        ts.negative(ts.Variable(3.0))
        assert ts.get_default_graph() is g3
    assert ts.get_default_graph() is g2 and len(g3.operations) == 1
    assert ts.Session().run(s, {x: 3.0}) == 5.0


def test_session_run_fetches_and_errors():
    x = ts.placeholder(name="x")
    w = ts.Variable(np.array([1.0, 2.0]), name="w")
    y = ts.multiply(w, x)
    session = ts.Session()
    assert [v.tolist() for v in session.run([y, w], {x: 2.0})] == [[2.0, 4.0], [1.0, 2.0]]
    assert isinstance(session.run((y, w), {x: 2.0}), tuple)
    with pytest.raises(ValueError, match="placeholder 'x' needs a value"):
        session.run(y)
    with pytest.raises(TypeError, match="Variable 'w'"):
        session.run(y, {w: [0.0, 0.0]})
    assert y.name == "multiply" and ts.multiply(w, x).name == "multiply_1"
    assert y.inputs[0].tolist() == [1.0, 2.0] and y.output.tolist() == [2.0, 4.0]


def test_reduce_sum_axis_errors():
    x = ts.Variable(np.ones((2, 3)))
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        ts.Session().run(ts.reduce_sum(x, axis=2))
    with pytest.raises(TypeError, match="axis must be"):
        ts.reduce_sum(x, axis="rows")


def test_export_dot(tmp_path):
    x = ts.placeholder(name="X")
    y = ts.sigmoid(ts.matmul(x, ts.Variable(np.ones((2, 2)), name="W")))
    text = ts.get_default_graph().export_dot(str(tmp_path / "mlp_"))
    assert (tmp_path / "mlp_1var_2op.dot").read_text() == text
    assert '"X" -> "matmul";' in text and f'"matmul" -> "{y.name}";' in text


@pytest.mark.parametrize("script", ["tensorslow_perceptron.py", "tensorslow_mlp.py"])
def test_series_examples_run_and_log_their_loss(tmp_path, script):
    import subprocess
    import sys
    from pathlib import Path

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root = Path(__file__).parent.parent
    out = subprocess.run([sys.executable, str(root / "experiments" / script), "--steps", "20", "--logdir",
                          str(tmp_path)], capture_output=True, text=True, check=True, cwd=root).stdout
    assert "Final loss:" in out
    tags = EventAccumulator(str(tmp_path / "train")).Reload()
    assert tags.Tags()["scalars"] == ["tensorslow/loss"]  # steps are not epochs: not epoch_loss
    losses = [e.value for e in tags.Scalars("tensorslow/loss")]
    assert len(losses) == 20 and losses[-1] < losses[0]
    assert out.rstrip().endswith(f"next: tensorboard --logdir {tmp_path}")
