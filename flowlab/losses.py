"""Loss nodes: mean squared error and softmax cross-entropy computed stably from logits."""

from __future__ import annotations

import numpy as np

from .graph import Node, describe

__all__ = ["MSE", "SoftmaxCrossEntropy", "log_softmax"]


class MSE(Node):
    """Mean squared error, the mean over all elements of (y - a)**2.

    Labels fed as (m,) against an output of shape (m, 1) are compared elementwise, as MiniFlow
    does, never broadcast to (m, m). Gradients come back in each input's own shape.
    """

    def __init__(self, y, a, name=None):
        super().__init__([y, a], name=name)

    def forward(self):
        y_node, a_node = self.inbound_nodes
        y, a = y_node.value, a_node.value
        if y is None or a is None:
            raise self._input_error([y, a], ValueError("missing value"))
        ys, as_ = np.shape(y), np.shape(a)
        if ys != as_:
            if np.size(y) != np.size(a):
                raise ValueError(
                    f"{describe(self)}: labels {describe(y_node)} of shape {ys} do not match "
                    f"predictions {describe(a_node)} of shape {as_}; they need the same number "
                    "of elements"
                )
            y = np.reshape(y, as_)
        self.diff = y - a
        self.m = np.shape(y_node.value)[0] if ys else 1
        self.value = np.mean(self.diff * self.diff)

    def fast_vjp(self, grad, out=None):
        y_node, a_node = self.inbound_nodes
        g = self.diff * ((2.0 / max(self.diff.size, 1)) * grad)
        gy = np.reshape(g, np.shape(y_node.value)) if y_node.requires_grad else None
        ga = np.negative(g) if a_node.requires_grad else None
        return gy, ga


def _precise_floor(dtype, _floors={}):
    """The smallest row sum of exps whose terms that matter (>= sum * eps) are normal floats."""
    floor = _floors.get(dtype)
    if floor is None:
        info = np.finfo(dtype)
        floor = _floors[dtype] = info.tiny / info.eps
    return floor


def log_softmax(z, axis=-1):
    """log(softmax(z)), computed with the log-sum-exp trick so it is finite for any finite z."""
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


class SoftmaxCrossEntropy(Node):
    """Mean cross-entropy of softmax(logits) against labels, computed from the logits.

    Args:
        logits: a node of shape (m, k), unnormalized class scores.
        labels: a node holding class ids of shape (m,) (integers in [0, k)) or one-hot / soft
            targets of shape (m, k).

    The value is the batch mean of ``logsumexp(z) - z[label]``; the gradient with respect to the
    logits is ``(softmax(z) - onehot) / m``. Both stay finite at extreme logits.
    """

    def __init__(self, logits, labels, name=None):
        super().__init__([logits, labels], name=name)

    def forward(self):
        z_node, y_node = self.inbound_nodes
        z, y = z_node.value, y_node.value
        if z is None or y is None:
            raise self._input_error([z, y], ValueError("missing value"))
        if np.ndim(z) != 2:
            raise ValueError(
                f"{describe(self)}: logits {describe(z_node)} must have shape (batch, classes), "
                f"got {np.shape(z)}"
            )
        m, k = z.shape
        if np.ndim(y) == 1:
            if y.shape[0] != m:
                raise ValueError(
                    f"{describe(self)}: {m} rows of logits but {y.shape[0]} labels in "
                    f"{describe(y_node)}; feed one class id per row"
                )
            ids = y if y.dtype.kind in "iu" else y.astype(np.intp)
            # One pass for both bounds: a negative id read as unsigned is huge.
            if m and (ids.view(f"u{ids.itemsize}") if ids.dtype.kind == "i" else ids).max() >= k:
                bad = ids[(ids < 0) | (ids >= k)][0]
                raise ValueError(
                    f"{describe(self)}: label {bad} in {describe(y_node)} is outside [0, {k}); "
                    f"class ids must be 0..{k - 1} for {k} logits per row"
                )
            if ids is not y and not np.array_equal(ids, y):
                raise ValueError(
                    f"{describe(self)}: labels in {describe(y_node)} must be whole class ids, "
                    f"got {y[ids != y][0]}"
                )
            rows = self._rows
            if rows is None or rows.shape[0] != m or self._k != k:
                rows, self._k = np.arange(m) * k, k  # where each row starts in the flattened logits
                self._rows = rows
            if not m:
                self.ids, self.logp, self._exp, self._total = ids, None, np.zeros((0, k)), np.ones((0, 1))
                self._flat = rows
                self.value = 0.0
                return
            # log-sum-exp with the max subtracted; exp(shifted) is kept: the gradient is softmax.
            # One shift for the whole batch (a max per row is several times slower on narrow rows)
            # unless a row lies so far below the batch's max that its exps would lose precision.
            e, total, picked = self._shifted_exp(z, z.max(), rows, ids)
            if total.min() < _precise_floor(e.dtype):
                e, total, picked = self._shifted_exp(z, z.max(axis=1, keepdims=True), rows, ids)
            self.ids, self.logp, self._exp, self._total = ids, None, e, total
            self.value = np.add.reduce(np.log(total[:, 0]) - picked) / m  # the mean
        elif np.shape(y) == (m, k):
            self.ids, self._exp, self._total = None, None, None
            self.logp = logp = log_softmax(z)
            self.value = -np.sum(y * logp) / max(m, 1)
        else:
            raise ValueError(
                f"{describe(self)}: labels {describe(y_node)} of shape {np.shape(y)} fit neither "
                f"class ids ({m},) nor one-hot ({m}, {k}) for logits of shape {z.shape}"
            )

    def _shifted_exp(self, z, shift, rows, ids):
        """exp(z - shift), its row sums (m, 1), and (z - shift)[row, label]."""
        shifted = z - shift
        if shifted.dtype.kind != "f":
            shifted = shifted.astype(np.float64)
        flat = rows + ids  # the label's position in the flattened logits: one take, not 2-D fancy indexing
        picked = shifted.reshape(-1).take(flat)
        e = np.exp(shifted, out=shifted)
        self._flat = flat
        ones = self._ones
        if ones is None or ones.shape[0] != e.shape[1] or ones.dtype != e.dtype:
            ones = self._ones = np.ones((e.shape[1], 1), dtype=e.dtype)
        return e, np.dot(e, ones), picked  # row sums by BLAS: faster than sum(axis=1) on narrow rows

    _rows = None  # np.arange(batch) * classes, kept from step to step
    _k = None  # the classes _rows was made for
    _flat = None  # this batch's label positions in the flattened logits
    _ones = None  # a column of ones for the row sums

    def fast_vjp(self, grad, out=None):
        z_node, y_node = self.inbound_nodes
        gz = gy = None
        if self.ids is not None:
            if z_node.requires_grad:
                m = self._exp.shape[0]
                gz = self._exp / self._total  # softmax(z)
                if gz.flags.c_contiguous:
                    gz.reshape(-1)[self._flat] -= 1.0  # a view of gz: its label entries
                else:  # logits laid out in another order (a view): index by row instead
                    gz[np.arange(m), self.ids] -= 1.0
                gz *= grad / max(m, 1)
            return gz, gy
        m = max(self.logp.shape[0], 1)
        if z_node.requires_grad:
            y = y_node.value
            gz = np.exp(self.logp) * np.sum(y, axis=1, keepdims=True) - y
            gz *= grad / m
        if y_node.requires_grad:
            gy = self.logp * (-grad / m)
        return gz, gy
