"""Regularization nodes: L1 and L2 weight penalties, Dropout, and batch normalization with running statistics.

Dropout and BatchNorm behave differently while training and while evaluating, as in Keras and
torch: ``node.training`` says which (``flowlab.models.MLP`` sets it: training in ``train_step``,
evaluation in ``forward``, ``predict`` and ``evaluate``).
"""

from __future__ import annotations

import numpy as np

from .graph import Node, describe

__all__ = ["L1Penalty", "L2Penalty", "Dropout", "BatchNorm"]


def _factor(owner, factor):
    if isinstance(factor, bool) or not isinstance(factor, (int, float, np.floating)) or not factor >= 0 \
            or not np.isfinite(factor):
        raise ValueError(f"{owner}: factor must be a number >= 0, got factor={factor!r}")
    return float(factor)


class L2Penalty(Node):
    """``factor * sum(w**2)`` over every element of every input: Keras' ``regularizers.L2(factor)``, summed.

    Its gradient is ``2 * factor * w``: with SGD that is weight decay of ``2 * factor`` on these
    weights only (``weight_decay`` in the optimizers applies to every parameter, biases included).
    """

    def __init__(self, *weights, factor, name=None):
        if not weights:
            raise ValueError("L2Penalty needs at least one weight node")
        super().__init__(weights, name=name)
        self.factor = _factor(type(self).__name__, factor)

    def compute(self, *values):
        return self.factor * sum(np.vdot(v, v) for v in values)

    def backprop(self, grad, *values):
        scale = 2.0 * self.factor * grad
        return tuple(scale * v for v in values)


class L1Penalty(Node):
    """``factor * sum(|w|)`` over every element of every input: Keras' ``regularizers.L1(factor)``, summed.

    Its gradient is ``factor * sign(w)`` (0 at exactly 0, as torch's and TensorFlow's sign).
    """

    def __init__(self, *weights, factor, name=None):
        if not weights:
            raise ValueError("L1Penalty needs at least one weight node")
        super().__init__(weights, name=name)
        self.factor = _factor(type(self).__name__, factor)

    def compute(self, *values):
        return self.factor * sum(np.abs(v).sum() for v in values)

    def backprop(self, grad, *values):
        scale = self.factor * grad
        return tuple(scale * np.sign(v) for v in values)


class Dropout(Node):
    """Inverted dropout: in training, zeroes each element with probability ``rate``, scales the rest by 1/(1-rate).

    Evaluating (``training = False``) passes the input through unchanged, so predictions are
    deterministic and need no rescaling (Keras' and torch's convention). The masks come from
    ``numpy.random.default_rng(seed)``: the same seed gives the same masks batch after batch.
    Set ``keep_mask = True`` to reuse the last mask (a numeric gradient check needs one fixed mask).

    Args:
        x: the node to drop from.
        rate: the fraction of elements dropped, in [0, 1).
        seed: seeds the masks.
    """

    def __init__(self, x, rate, seed=0, name=None):
        super().__init__([x], name=name)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) or not 0 <= rate < 1:
            raise ValueError(f"{describe(self)}: rate must be in [0, 1), got rate={rate!r}")
        self.rate = float(rate)
        self.rng = np.random.default_rng(seed)
        self.training = True
        self.keep_mask = False
        self.mask = None

    def compute(self, x):
        if not self.training or self.rate == 0:
            self.mask = None
            return x
        if not (self.keep_mask and self.mask is not None and self.mask.shape == np.shape(x)):
            keep = self.rng.random(np.shape(x)) >= self.rate
            self.mask = keep.astype(x.dtype) / np.asarray(1.0 - self.rate, dtype=x.dtype)
        return x * self.mask

    def backprop(self, grad, x):
        return (grad if self.mask is None else grad * self.mask,)


class BatchNorm(Node):
    """Batch normalization of each feature: ``gamma * (x - mean) / sqrt(var + eps) + beta``.

    Training uses the batch's mean and (biased) variance and updates the running statistics as
    torch.nn.BatchNorm1d does: ``running = (1 - momentum) * running + momentum * batch``, with the
    unbiased variance. Evaluating (``training = False``) normalizes with the running statistics, so
    an example's output does not depend on the rest of its batch. (Keras' ``momentum=0.99`` is
    torch's ``momentum=0.01``.)

    Args:
        x: a node of shape (batch, features).
        gamma, beta: Inputs of shape (features,), the learned scale (start at 1) and shift (start at 0).
        momentum: weight of each batch in the running statistics, in (0, 1].
        eps: added to the variance.
    """

    def __init__(self, x, gamma, beta, momentum=0.1, eps=1e-5, name=None):
        super().__init__([x, gamma, beta], name=name)
        if not 0 < momentum <= 1:
            raise ValueError(f"{describe(self)}: momentum must be in (0, 1], got momentum={momentum!r}")
        if not eps > 0:
            raise ValueError(f"{describe(self)}: eps must be > 0, got eps={eps!r}")
        self.momentum, self.eps = float(momentum), float(eps)
        self.training = True
        self.running_mean = self.running_var = None

    def compute(self, x, gamma, beta):
        if np.ndim(x) != 2:
            raise ValueError(f"{describe(self)}: expects (batch, features), got shape {np.shape(x)}")
        if self.running_mean is None or self.running_mean.shape != x.shape[1:]:
            self.running_mean = np.zeros(x.shape[1], dtype=x.dtype)
            self.running_var = np.ones(x.shape[1], dtype=x.dtype)
        if self.training:
            n = len(x)
            mean = x.mean(axis=0)
            centered = x - mean
            var = np.mean(centered * centered, axis=0)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            # torch divides by n - 1 here; one example has no spread to estimate (TensorFlow keeps it biased)
            self.running_var = (1 - m) * self.running_var + m * (var * (n / (n - 1)) if n > 1 else var)
        else:
            centered = x - self.running_mean
            var = self.running_var
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self._xhat = centered * self._inv_std
        return gamma * self._xhat + beta

    def vjp(self, grad, out=None):
        # backprop's numbers, with gamma's and beta's gradients written into the arrays a Plan offers
        # (so a model's gradients stay one flat array and its optimizer takes the flat path).
        _, gamma, beta = (n.value for n in self.inbound_nodes)
        targets = [None, None]
        if out is not None:
            for k, (buffer, param) in enumerate(zip(out[1:], (gamma, beta))):
                if buffer is not None and buffer.shape == np.shape(param) and buffer.dtype == grad.dtype:
                    targets[k] = buffer
        return self._grads(grad, gamma, *targets)

    def backprop(self, grad, x, gamma, beta):
        return self._grads(grad, gamma, None, None)

    def _grads(self, grad, gamma, dgamma_out, dbeta_out):
        xhat, inv_std = self._xhat, self._inv_std
        dgamma = np.add.reduce(grad * xhat, axis=0, out=dgamma_out)
        dbeta = np.add.reduce(grad, axis=0, out=dbeta_out)
        dxhat = grad * gamma
        if self.training:  # the batch's mean and variance depend on x too
            n = len(grad)
            dx = inv_std / n * (n * dxhat - dxhat.sum(axis=0) - xhat * np.sum(dxhat * xhat, axis=0))
        else:
            dx = dxhat * inv_std
        return dx, dgamma, dbeta
