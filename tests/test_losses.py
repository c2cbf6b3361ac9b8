"""Loss values, numerical stability at extreme logits, and label errors."""

import numpy as np
import pytest

from flowlab import Input, MSE, SoftmaxCrossEntropy, forward_and_backward, topological_sort


def run(node, feed):
    graph = topological_sort(feed)
    forward_and_backward(graph)
    return node.value


def test_cross_entropy_matches_the_definition():
    z, y = Input(), Input()
    loss = SoftmaxCrossEntropy(z, y)
    logits = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -(np.log(p[0, 2]) + np.log(p[1, 0])) / 2
    assert run(loss, {z: logits, y: np.array([2, 0])}) == pytest.approx(expected)
    onehot = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    z2, y2 = Input(), Input()
    loss2 = SoftmaxCrossEntropy(z2, y2)
    assert run(loss2, {z2: logits, y2: onehot}) == pytest.approx(expected)
    assert np.allclose(z.gradients[z], z2.gradients[z2])


def test_cross_entropy_at_extreme_logits_is_finite():
    z, y = Input(), Input()
    loss = SoftmaxCrossEntropy(z, y)
    value = run(loss, {z: np.array([[-1000.0, 0.0], [1000.0, -1000.0]]), y: np.array([0, 1])})
    assert np.isfinite(value) and value == pytest.approx((1000.0 + 2000.0) / 2)
    assert np.all(np.isfinite(z.gradients[z]))
    assert np.allclose(z.gradients[z], [[-0.5, 0.5], [0.5, -0.5]])


def test_labels_outside_the_classes_are_rejected():
    z, y = Input(name="logits"), Input(name="labels")
    SoftmaxCrossEntropy(z, y, name="loss")
    for bad in ([0, 3], [-1, 0]):
        with pytest.raises(ValueError, match=r"SoftmaxCrossEntropy 'loss': label -?\d in Input 'labels' is outside \[0, 3\)"):
            run(None, {z: np.zeros((2, 3)), y: np.array(bad)})
    with pytest.raises(ValueError, match="whole class ids"):
        run(None, {z: np.zeros((2, 3)), y: np.array([0.5, 1.0])})
    with pytest.raises(ValueError, match=r"fit neither class ids \(2,\) nor one-hot \(2, 3\)"):
        run(None, {z: np.zeros((2, 3)), y: np.zeros((2, 4))})


def test_mse_compares_column_output_with_flat_labels_elementwise():
    y, a = Input(), Input()
    cost = MSE(y, a)
    value = run(cost, {y: np.array([1.0, 2.0, 3.0]), a: np.array([[1.0], [2.0], [5.0]])})
    assert value == pytest.approx(4.0 / 3)                 # not broadcast to (3, 3)
    assert a.gradients[a].shape == (3, 1) and y.gradients[y].shape == (3,)


def test_mse_rejects_different_sizes():
    y, a = Input(name="y"), Input(name="a")
    MSE(y, a, name="cost")
    with pytest.raises(ValueError, match=r"MSE 'cost': labels Input 'y' of shape \(3,\) do not match predictions Input 'a' of shape \(2, 1\)"):
        run(None, {y: np.ones(3), a: np.ones((2, 1))})
