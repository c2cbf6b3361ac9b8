"""TensorSlow's built-in operations: flowlab's nodes under the series' names."""

from __future__ import annotations

import numpy as np

from ..nodes import Add, Log, MatMul, Mul, Negative, ReduceSum, Sigmoid, Softmax
from .graph import Operation


class add(Add, Operation):
    """Returns ``x + y`` elementwise, with numpy broadcasting (a bias row is added to every row)."""

    def __init__(self, x, y, name=None):
        super().__init__(x, y, name=name)


class multiply(Mul, Operation):
    """Returns ``x * y`` elementwise, with numpy broadcasting."""

    def __init__(self, x, y, name=None):
        super().__init__(x, y, name=name)


class matmul(MatMul, Operation):
    """Returns the matrix product ``a @ b`` of 1-D or 2-D values."""

    def __init__(self, a, b, name=None):
        super().__init__(a, b, name=name)


class sigmoid(Sigmoid, Operation):
    """Returns 1 / (1 + exp(-a)) elementwise, without overflow for any a."""

    def __init__(self, a, name=None):
        super().__init__(a, name=name)

    def compute(self, a):
        # A bare number (a user operation's output) as a float64 array, as the series computes it: given the
        # number itself, nodes.Sigmoid would compute in float32 (numpy's rule for a Python float).
        if np.ndim(a) == 0:
            return super().compute(np.reshape(a, 1)).reshape(())
        return super().compute(a)


class softmax(Softmax, Operation):
    """Returns the softmax of ``a`` along ``axis`` (default the last: each row of a batch sums to 1)."""

    def __init__(self, a, axis=-1, name=None):
        super().__init__(a, axis=axis, name=name)


class negative(Negative, Operation):
    """Returns ``-x`` elementwise."""

    def __init__(self, x, name=None):
        super().__init__(x, name=name)


class log(Log, Operation):
    """Returns the natural logarithm of ``x`` elementwise."""

    def __init__(self, x, name=None):
        super().__init__(x, name=name)


class reduce_sum(ReduceSum, Operation):
    """Returns the sum of ``A`` over ``axis`` (``None``: all elements), as TensorFlow's ``reduce_sum``."""

    def __init__(self, A, axis=None, keepdims=False, name=None):
        super().__init__(A, axis=axis, keepdims=keepdims, name=name)


_BUILTIN_OPS = {cls.__name__: cls for cls in (add, multiply, matmul, sigmoid, softmax, negative, log, reduce_sum)}
