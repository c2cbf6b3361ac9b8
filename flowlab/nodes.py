# Size: just over 400 lines: every core operation node (each a screen or less) in the one module a new node goes to.
"""Operation nodes: Add, Mul, MatMul, Linear, the activations (with their registry), Negative, Log, ReduceSum."""

from __future__ import annotations

import numpy as np

from ._checks import choice, is_whole
from .graph import Node, describe

__all__ = [
    "Add",
    "Mul",
    "MatMul",
    "Linear",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "Softmax",
    "Negative",
    "Log",
    "ReduceSum",
    "ACTIVATIONS",
    "register_activation",
    "get_activation",
    "softmax",
]

ACTIVATIONS: dict[str, type] = {}


def register_activation(name):
    """Class decorator: makes an activation node selectable by ``name`` in configs and the CLI."""

    def register(cls):
        ACTIVATIONS[name] = cls
        return cls

    return register


def get_activation(name):
    """Returns the activation node class registered under ``name``.

    Raises:
        ValueError: the name is unknown; the message lists the known names.
    """
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(choice("activation", name, ACTIVATIONS)) from None


# The did-you-mean message lives in _checks; the old name stays importable.
unknown_choice = choice


class Add(Node):
    """Elementwise sum of any number of inputs, with numpy broadcasting."""

    def __init__(self, *inputs, name=None):
        if not inputs:
            raise ValueError("Add needs at least one input")
        super().__init__(inputs, name=name)

    def compute(self, *values):
        total = values[0]
        for v in values[1:]:
            total = total + v
        return total

    def backprop(self, grad, *values):
        return (grad,) * len(values)


class Mul(Node):
    """Elementwise product of any number of inputs, with numpy broadcasting."""

    def __init__(self, *inputs, name=None):
        if not inputs:
            raise ValueError("Mul needs at least one input")
        super().__init__(inputs, name=name)

    def compute(self, *values):
        product = values[0]
        for v in values[1:]:
            product = product * v
        return product

    def backprop(self, grad, *values):
        grads = []
        for i in range(len(values)):
            g = grad
            for j, v in enumerate(values):
                if j != i:
                    g = g * v
            grads.append(g)
        return grads


def _matmul_grads(grad, a, b, need_a=True, need_b=True):
    """Gradients of ``a @ b`` for 1-D and 2-D operands, as numpy's matmul promotes them."""
    a2 = a if a.ndim == 2 else a.reshape(1, -1)
    b2 = b if b.ndim == 2 else b.reshape(-1, 1)
    g2 = np.reshape(grad, (a2.shape[0], b2.shape[1]))
    ga = gb = None
    if need_a:
        ga = (g2 @ b2.T).reshape(a.shape)
    if need_b:
        if a2.shape[0] == 1:
            # An outer product: numpy's matmul is very slow on (n, 1) @ (1, k).
            gb = a2.T * g2
        else:
            gb = a2.T @ g2
        gb = gb.reshape(b.shape)
    return ga, gb


class MatMul(Node):
    """Matrix product ``a @ b`` of 1-D or 2-D inputs."""

    def __init__(self, a, b, name=None):
        super().__init__([a, b], name=name)

    def compute(self, a, b):
        return np.matmul(a, b)

    def forward(self):
        a, b = self.inbound_nodes
        try:
            self.value = np.matmul(a.value, b.value)
        except (ValueError, TypeError) as exc:
            raise self._shape_error(a.value, b.value, exc) from exc

    def _shape_error(self, a, b, exc):
        if a is None or b is None:
            return self._input_error([a, b], exc)
        return ValueError(
            f"{describe(self)}: cannot multiply {describe(self.inbound_nodes[0])} of shape "
            f"{np.shape(a)} by {describe(self.inbound_nodes[1])} of shape {np.shape(b)}: "
            "the last axis of the first must match the first axis of the second"
        )

    def backprop(self, grad, a, b):
        na, nb = (n.requires_grad for n in self.inbound_nodes)
        return _matmul_grads(grad, np.asarray(a), np.asarray(b), na, nb)


class Linear(Node):
    """Affine transform ``X @ W + b``: X is (m, n) (or one sample (n,)), W is (n, k), b is (k,)."""

    def __init__(self, X, W, b, name=None):
        super().__init__([X, W, b], name=name)

    def forward(self):
        X_node, W_node, b_node = self.inbound_nodes
        X, W, b = X_node.value, W_node.value, b_node.value
        try:
            out = np.matmul(X, W)
            try:
                out += b  # in place: matmul's result is ours to reuse
            except (ValueError, TypeError):
                out = out + b
        except (ValueError, TypeError) as exc:
            raise self._shape_error(X, W, b, exc) from exc
        self.value = out

    def _shape_error(self, X, W, b, exc):
        if X is None or W is None or b is None:
            return self._input_error([X, W, b], exc)
        xs, ws, bs = np.shape(X), np.shape(W), np.shape(b)
        features = xs[-1] if xs else None
        if len(ws) and features != ws[0]:
            return ValueError(
                f"{describe(self)}: input has {features} features but weights have shape {ws}; "
                f"the weights need shape ({features}, units)"
            )
        return ValueError(
            f"{describe(self)}: bias of shape {bs} does not fit the output of shape "
            f"{np.shape(np.matmul(X, W))} (input {xs}, weights {ws}); the bias needs shape ({ws[-1] if ws else ''},)"
        )

    def backprop(self, grad, X, W, b):
        nx, nw, nb = (n.requires_grad for n in self.inbound_nodes)
        gx, gw = _matmul_grads(grad, np.asarray(X), np.asarray(W), nx, nw)
        return gx, gw, (grad if nb else None)

    def fast_vjp(self, grad, out=None):
        """backprop's numbers for 2-D arrays, writing W's and b's gradients into ``out`` when offered.

        Returns None (so ``vjp`` uses ``backprop``) for 1-D inputs, a broadcast bias and the like.
        """
        X_node, W_node, b_node = self.inbound_nodes
        X, W, b = X_node.value, W_node.value, b_node.value
        if not (type(grad) is np.ndarray and type(X) is np.ndarray and type(b) is np.ndarray
                and grad.ndim == X.ndim == W.ndim == 2 and b.ndim == 1):
            return None
        gx = gw = gb = None
        gw_out = gb_out = None
        if out is not None:
            gw_out, gb_out = out[1], out[2]
            dtype = grad.dtype
            if gw_out is not None and (gw_out.dtype != dtype or X.dtype != dtype or gw_out.shape != W.shape):
                gw_out = None
            if gb_out is not None and (gb_out.dtype != dtype or gb_out.shape != b.shape):
                gb_out = None
        if X_node.requires_grad:
            gx = grad @ W.T
        if W_node.requires_grad:
            if X.shape[0] == 1:
                # An outer product: numpy's matmul is very slow on (n, 1) @ (1, k).
                gw = np.multiply(X.T, grad, out=gw_out)
            else:
                gw = np.matmul(X.T, grad, out=gw_out)
        if b_node.requires_grad:
            gb = np.add.reduce(grad, axis=0, out=gb_out)
        return gx, gw, gb


class _Unary(Node):
    """A node of one input whose gradient has that input's shape: forward and vjp without the generic loops."""

    def forward(self):
        x = self.inbound_nodes[0].value
        try:
            self.value = self.compute(x)
        except (ValueError, TypeError, IndexError) as exc:
            raise self._input_error([x], exc) from exc

    def vjp(self, grad, out=None):
        x = self.inbound_nodes[0].value
        g = self.backprop(grad, x)
        if len(g) == 1 and type(g[0]) is np.ndarray and type(x) is np.ndarray and g[0].shape == x.shape:
            return g
        return Node.vjp(self, grad)


@register_activation("sigmoid")
class Sigmoid(_Unary):
    """Logistic sigmoid 1 / (1 + exp(-x)), computed without overflow for any x."""

    def __init__(self, node, name=None):
        super().__init__([node], name=name)

    def _sigmoid(self, x):
        if x.dtype == np.float64:
            # numpy's float64 exp is faster than its tanh; exp(-x) = inf for x < -709 gives 0.
            out = np.empty_like(x)  # an array even for a 0-d x (a ufunc would return a scalar)
            with np.errstate(over="ignore"):
                np.negative(x, out=out)
                np.exp(out, out=out)
            out += 1.0
            return np.divide(1.0, out, out=out)
        # 0.5 * (1 + tanh(x / 2)) equals 1 / (1 + exp(-x)), never overflows, and is the faster in float32.
        out = np.multiply(x, 0.5, out=np.empty_like(x))
        np.tanh(out, out=out)
        out *= 0.5
        out += 0.5
        return out

    def compute(self, x):
        if not (type(x) is np.ndarray and x.dtype.kind == "f" and x.dtype.itemsize >= 4):
            x = np.asarray(x, dtype=np.result_type(x, np.float32))
        return self._sigmoid(x)

    def backprop(self, grad, x):
        s = self.value
        g = np.subtract(1.0, s)  # s * (1 - s) * grad, in one fresh array
        g *= s
        g *= grad
        return (g,)


@register_activation("tanh")
class Tanh(_Unary):
    """Hyperbolic tangent."""

    def __init__(self, node, name=None):
        super().__init__([node], name=name)

    def compute(self, x):
        return np.tanh(x)

    def backprop(self, grad, x):
        t = self.value
        g = t * t  # (1 - t * t) * grad, in one fresh array
        g = np.subtract(1.0, g, out=g if g.ndim else None)
        g *= grad
        return (g,)


@register_activation("relu")
class ReLU(_Unary):
    """Rectified linear unit max(0, x); its gradient at 0 is 0, as in PyTorch."""

    def __init__(self, node, name=None):
        super().__init__([node], name=name)

    def compute(self, x):
        if type(x) is np.ndarray and x.dtype.kind == "f" and x.ndim and x.flags.c_contiguous:
            return np.maximum(x, _zeros_like(x))
        return np.maximum(x, 0.0 if type(x) is np.ndarray and x.dtype.kind == "f" else 0)  # a float: no int cast per call

    def backprop(self, grad, x):
        return (grad * (x > 0),)


#: Up to this many elements, _zeros_like gives zeros of the input's own shape; beyond, one row of them.
_FULL_ZEROS = 1 << 16
_ZEROS = {}  # (shape, dtype) -> read-only zeros, shared by every ReLU of the process


def _zeros_like(x):
    """Read-only zeros for np.maximum(x, zeros), x a C-contiguous float array: np.maximum(x, 0.0)'s
    bits and layout, 3 to 4 times faster on numpy 2.4 (2.9 against 10.9 us on a 128x256 float32
    batch: a scalar operand takes a slower loop than two arrays). A large input (an evaluation) is
    compared with one broadcast row; at most 8 arrays of 65,536 elements are kept, for every node.
    """
    shape = x.shape if x.size <= _FULL_ZEROS else x.shape[-1:]
    key = (shape, x.dtype)
    zeros = _ZEROS.get(key)
    if zeros is None:
        zeros = np.zeros(shape, dtype=x.dtype)
        zeros.flags.writeable = False
        if len(_ZEROS) >= 8:
            _ZEROS.clear()
        _ZEROS[key] = zeros
    return zeros


@register_activation("leaky_relu")
class LeakyReLU(_Unary):
    """Leaky ReLU: x for x > 0, alpha * x otherwise (alpha=0.01 as in PyTorch)."""

    def __init__(self, node, alpha=0.01, name=None):
        if not 0 <= alpha < 1:
            raise ValueError(f"LeakyReLU: alpha must be in [0, 1), got alpha={alpha}")
        super().__init__([node], name=name)
        self.alpha = alpha

    def compute(self, x):
        scaled = self.alpha * x
        if (type(x) is np.ndarray and x.dtype.kind == "f" and type(scaled) is np.ndarray
                and scaled.dtype == x.dtype and x.dtype.type(self.alpha) > 0):
            # With 0 < alpha < 1 in x's dtype, alpha * x is the larger exactly where x <= 0 (equal to x at
            # 0 and -inf), so the maximum picks what np.where(x > 0, x, alpha * x) picks; with alpha * x
            # first, a NaN comes out as np.where gives it (alpha * x's, quiet). numpy's two-array SIMD
            # loop: about 8x faster than np.where (5.1 against 42.5 us on a 128x256 float32 batch). An
            # alpha that is 0 in x's dtype (0, or 1e-50 in float32) would make alpha * inf NaN where
            # np.where keeps inf: those take np.where.
            return np.maximum(scaled, x)
        return np.where(x > 0, x, scaled)

    def backprop(self, grad, x):
        return (np.where(x > 0, grad, self.alpha * grad),)


def softmax(x, axis=-1):
    """Numerically stable softmax: the max is subtracted first, so large inputs do not overflow."""
    x = np.asarray(x, dtype=np.result_type(x, np.float32))
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


class Softmax(_Unary):
    """Softmax over the last axis (each row sums to 1), stable for any input size."""

    def __init__(self, node, axis=-1, name=None):
        super().__init__([node], name=name)
        self.axis = axis

    def compute(self, x):
        return softmax(x, self.axis)

    def backprop(self, grad, x):
        s = self.value
        return (s * (grad - np.sum(grad * s, axis=self.axis, keepdims=True)),)


class Negative(Node):
    """Elementwise negation ``-x``."""

    def __init__(self, node, name=None):
        super().__init__([node], name=name)

    def compute(self, x):
        return np.negative(x)

    def backprop(self, grad, x):
        return (np.negative(grad),)


class Log(Node):
    """Elementwise natural logarithm; as in numpy, log(0) is -inf (with numpy's RuntimeWarning)."""

    def __init__(self, node, name=None):
        super().__init__([node], name=name)

    def compute(self, x):
        return np.log(x)

    def backprop(self, grad, x):
        return (grad / x,)


class ReduceSum(Node):
    """Sum over ``axis`` as ``np.sum`` does: ``None`` sums everything, an int or a tuple of ints some axes.

    Args:
        node: the node to sum.
        axis: ``None``, an axis or a tuple of axes (negative axes count from the end).
        keepdims: keep the summed axes with length 1.
        name: label for messages.
    """

    def __init__(self, node, axis=None, keepdims=False, name=None):
        if not (axis is None or is_whole(axis) or (isinstance(axis, (tuple, list)) and all(map(is_whole, axis)))):
            raise TypeError(
                f"{type(self).__name__}: axis must be None, an int or a tuple of ints, got axis={axis!r}"
            )
        super().__init__([node], name=name)
        self.axis = tuple(axis) if isinstance(axis, list) else axis
        self.keepdims = bool(keepdims)

    def _axes(self, ndim):
        axes = (self.axis,) if is_whole(self.axis) else self.axis
        for a in axes:
            if not -ndim <= a < ndim:
                raise ValueError(
                    f"{describe(self)}: axis {a} is out of range for an input with {ndim} dimensions; "
                    f"use an axis in [{-ndim}, {ndim - 1}] or None to sum everything"
                )
        return tuple(sorted({a % ndim for a in axes}))

    def compute(self, x):
        axis = None if self.axis is None else self._axes(np.ndim(x))
        return np.sum(x, axis=axis, keepdims=self.keepdims)

    def backprop(self, grad, x):
        shape = np.shape(x)
        if self.axis is not None and not self.keepdims:
            grad = np.expand_dims(grad, self._axes(len(shape)))
        # A writable copy: gradients handed to users must not be read-only broadcast views.
        return (np.array(np.broadcast_to(grad, shape)),)
