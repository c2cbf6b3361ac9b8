"""Stacked training: several runs of one MLP architecture trained as one batched computation.

Runs that differ only in learning rate, optimizer (and its settings) or seed do the same matrix
products on differently valued arrays. ``fit_stacked`` gives their weights a leading runs axis and
does each layer's product for all runs in one ``np.matmul`` call, which pays where a step is mostly
Python overhead (small networks, small batches) and not where it is mostly BLAS time.

The numbers are those of separate runs, bit for bit (``tests/test_stacked.py`` compares weights,
gradients, losses, histories and what every callback saw with ``Trainer.fit``): every elementwise
operation is the one the single-run nodes do, reductions run along the same axes in the same
order, each run's slice of a stacked ``np.matmul`` gives the numbers of the 2-D product the
single-run ``Linear`` computes (numpy hands each 2-D slice to BLAS; the tests are what show it
holds for the numpy and BLAS in use), and each run's optimizer is its own instance, updating its
own row of the stacked parameters with its own rule. The runner stacks only where ``exact_here``
finds, on the numpy and BLAS in use, that the stacked products round as the lone ones do; other
callers of ``fit_stacked`` can ask it too.

Each run keeps its own ``Trainer`` (its model, optimizer, callbacks, history, status and error):
callbacks such as ``flowlab.tensorboard.TensorBoardLogger`` see the run alone. A run that diverges or
stops early ends there (its callbacks' ``on_train_end`` is called at once) and its weights stay as
they were; the others go on.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from .data import epoch_batches
from .graph import Input
from .losses import _precise_floor
from .models import MLP
from .nodes import get_activation
from .status import INTERRUPTED_MESSAGE, RunStatus
from .train import DIVERGED_LOSS, Callback, _blas_threads, _Progress, fit_arguments

__all__ = ["fit_stacked", "stackable", "stack_key", "exact_here"]


def stack_key(trainer):
    """What runs must share to be stacked (None: this trainer cannot be stacked)."""
    model, optimizer = trainer.model, trainer.optimizer
    if type(model) is not MLP or model.loss_name != "cross_entropy" or not getattr(optimizer, "elementwise", False):
        return None
    if any(getattr(model, name, 0) for name in ("l1", "l2", "dropout", "batchnorm")):
        return None  # penalties, dropout and batchnorm are nodes the stacked step does not have
    if not model._plan or not model._plan.fast:
        return None
    if optimizer.t or len(optimizer.params) != len(model.params) or any(
            a is not b for a, b in zip(optimizer.params, model.params)):
        return None  # an optimizer that has stepped already, or one over other parameters
    return (tuple(model.sizes), model.activation, model.dtype.str, trainer.threads)


def exact_here(runs, sizes, batch_rows, dtype):
    """Whether, with this numpy and BLAS, each run's slice of the stacked products equals the product one
    run alone computes, bit for bit, for a network of ``sizes`` trained on batches of ``batch_rows`` rows.

    A stacked ``np.matmul`` hands each 2-D slice to BLAS, and on the builds this was tested on the
    kernel rounds it as it rounds the lone product; another build may choose another kernel for the
    3-D call. So this is checked on random values of exactly the shapes a stacked fit uses (once per
    shape: a few small products), and where it does not hold, runs are not stacked.
    """
    rows = tuple(sorted({int(m) for m in batch_rows if m}))
    return _exact(int(runs), tuple(int(n) for n in sizes), rows, np.dtype(dtype).str)


@functools.lru_cache(maxsize=256)
def _exact(runs, sizes, rows, dtype):
    rng = np.random.default_rng(0)
    dtype = np.dtype(dtype)

    def rand(*shape):
        return rng.standard_normal(shape).astype(dtype)

    for m in rows:
        for i, (n, k) in enumerate(zip(sizes[:-1], sizes[1:])):
            x, w, g = rand(m, n) if i == 0 else rand(runs, m, n), rand(runs, n, k), rand(runs, m, k)
            out, gw, gx = np.matmul(x, w), np.matmul(x.swapaxes(-1, -2), g), g @ w.swapaxes(-1, -2)
            for r in range(runs):  # what Linear's forward and vjp compute for run r alone
                xr = x if i == 0 else x[r]
                lone_gw = np.multiply(xr.T, g[r]) if m == 1 else np.matmul(xr.T, g[r])
                if not (np.array_equal(out[r], np.matmul(xr, w[r])) and np.array_equal(gw[r], lone_gw)
                        and (i == 0 or np.array_equal(gx[r], g[r] @ w[r].T))):
                    return False
        e, ones = np.exp(rand(runs, m, sizes[-1])), np.ones((sizes[-1], 1), dtype=dtype)
        total = np.matmul(e, ones)  # the cross-entropy's row sums, as SoftmaxCrossEntropy takes them
        if not all(np.array_equal(total[r], np.dot(e[r], ones)) for r in range(runs)):
            return False
    return True


def stackable(trainers):
    """Whether ``trainers`` can train together (same architecture, dtype and threads; built-in rules)."""
    keys = {stack_key(t) for t in trainers}
    return len(keys) == 1 and None not in keys


class _StackedMLP:
    """The runs' parameters as rows of one (runs, params) array, the layers as views of it."""

    def __init__(self, models):
        first = models[0]
        self.runs, self.dtype = len(models), first.dtype
        size = first._flat_params.size
        self.params = np.stack([m._flat_params for m in models])  # (R, P): run r's flat layout in row r
        self.grads = np.zeros_like(self.params)
        self.kernels, self.biases, self.kernel_grads, self.bias_grads = [], [], [], []
        offset = 0
        for layer in first.layers:
            n, k = layer.kernel.value.shape
            self.kernels.append(self.params[:, offset:offset + n * k].reshape(self.runs, n, k))
            self.kernel_grads.append(self.grads[:, offset:offset + n * k].reshape(self.runs, n, k))
            offset += n * k
            self.biases.append(self.params[:, offset:offset + k].reshape(self.runs, 1, k))
            self.bias_grads.append(self.grads[:, offset:offset + k].reshape(self.runs, 1, k))
            offset += k
        assert offset == size
        # Each run's model reads and writes its row: its callbacks, evaluate and save see the run alone.
        for r, model in enumerate(models):
            model._flat_params = self.params[r]
            offset = 0
            for p in model.params:
                end = offset + p.value.size
                p.value = self.params[r, offset:end].reshape(p.value.shape)
                p.gradients = {p: self.grads[r, offset:end].reshape(p.value.shape)}
                offset = end
        act = get_activation(first.activation)
        self.activations = [act(Input()) for _ in first.layers[:-1]]  # elementwise rules, used on 3-D arrays
        self.inputs = [None] * len(first.layers)
        self._ones = np.ones((first.sizes[-1], 1), dtype=self.dtype)
        self._rows = None

    def train_step(self, x, y):
        """Forward and backward for every run; x is (m, n) shared or (R, m, n), y is (R, m). Returns (R,) losses."""
        h = x
        last = len(self.kernels) - 1
        for i, (w, b) in enumerate(zip(self.kernels, self.biases)):
            self.inputs[i] = h
            out = np.matmul(h, w)
            out += b
            if i < last:
                act = self.activations[i]
                act.inbound_nodes[0].value = out
                act.value = h = act.compute(out)
            else:
                h = out
        self.logits = h
        loss, grad = self._cross_entropy(h, y)
        for i in range(last, -1, -1):
            if i < last:
                act = self.activations[i]
                (grad,) = act.backprop(grad, act.inbound_nodes[0].value)
            xin = self.inputs[i]
            np.matmul(xin.swapaxes(-1, -2), grad, out=self.kernel_grads[i])
            np.add.reduce(grad, axis=1, keepdims=True, out=self.bias_grads[i])
            if i:
                grad = grad @ self.kernels[i].swapaxes(-1, -2)
        return loss

    def _cross_entropy(self, z, ids):
        """Per-run mean softmax cross-entropy and its gradient, as ``SoftmaxCrossEntropy`` computes them."""
        R, m, k = z.shape
        if self._rows is None or self._rows.shape[1] != m:
            self._rows = (np.arange(R)[:, None] * m + np.arange(m)) * k
        flat = self._rows + ids
        e, total, picked = self._shifted_exp(z, z.max(axis=(1, 2), keepdims=True), flat)
        low = total.min(axis=(1, 2)) < _precise_floor(e.dtype)
        for r in np.flatnonzero(low):  # a run with a row far below its batch's max: a max per row
            local = flat[r:r + 1] - r * m * k
            er, tr, pr = self._shifted_exp(z[r:r + 1], z[r:r + 1].max(axis=2, keepdims=True), local)
            e[r], total[r], picked[r] = er[0], tr[0], pr[0]
        loss = np.add.reduce(np.log(total[:, :, 0]) - picked, axis=1) / m
        gz = e / total
        gz.reshape(-1)[flat.reshape(-1)] -= 1.0
        gz *= 1.0 / m
        return loss, gz

    def _shifted_exp(self, z, shift, flat):
        shifted = z - shift
        picked = shifted.reshape(-1).take(flat)
        e = np.exp(shifted, out=shifted)
        return e, np.matmul(e, self._ones), picked


def fit_stacked(trainers, x, y=None, *, validation_data=None, epochs=10, batch_size=32):
    """Runs ``trainer.fit(x, y, ...)`` for every trainer, as one stacked computation; returns the trainers.

    Afterwards each trainer's ``history``, ``status``, ``error`` and model weights are what its own
    ``fit`` would have left, and its callbacks were called as in its own ``fit`` (a run's
    ``on_train_end`` comes when that run ends). The trainers must be ``stackable``. An exception
    from a callback ends every run still training (``failed``) and is raised.

    Example:
        >>> from flowlab.data import load_dataset
        >>> from flowlab.models import MLP
        >>> from flowlab.stacked import fit_stacked
        >>> from flowlab.train import Trainer
        >>> data = load_dataset("digits", seed=0)
        >>> grid = [("sgd", 0.1), ("momentum", 0.01), ("adam", 0.001)]
        >>> trainers = [Trainer(MLP([64, 64, 10], seed=0), opt, lr=lr) for opt, lr in grid]
        >>> fit_stacked(trainers, data, epochs=5, batch_size=32)  # doctest: +ELLIPSIS
        [<flowlab.train.Trainer object at ...>, ...]
        >>> [str(t.status) for t in trainers]
        ['completed', 'completed', 'completed']
    """
    trainers = list(trainers)
    if not trainers or not stackable(trainers):
        raise ValueError("fit_stacked: the trainers must train MLPs of one architecture, dtype and loss "
                         "(cross-entropy), each with a built-in optimizer over its model's parameters that "
                         "has not stepped yet; train the others with Trainer.fit")
    x, y, validation_data, epochs, batch_size = fit_arguments("fit_stacked", x, y, validation_data, epochs,
                                                               batch_size)
    dtype, classes = trainers[0].model.dtype, trainers[0].model.sizes[-1]
    if len(y) and np.max(y) >= classes:  # the single-run loss names it per batch; here once, before training
        raise ValueError(f"fit_stacked: label {np.max(y)} is outside [0, {classes}); class ids must be "
                         f"0..{classes - 1} for {classes} logits per row")
    for t in trainers:
        t.x_train, t.y_train, t.epochs = x, y, epochs
        t.x_val, t.y_val = validation_data if validation_data is not None else (None, None)
        t.stop, t.status, t.error, t.history = False, "running", None, {}
        t._cbs = list(t.callbacks) + ([_Progress(epochs)] if t.progress else [])
        for cb in t._cbs:
            cb.trainer = t
        t._on_batch = [cb for cb in t._cbs if type(cb).on_batch_end is not Callback.on_batch_end]
        t._logs, t._stack_error = {}, None
    net = _StackedMLP([t.model for t in trainers])
    seeds = [t.seed for t in trainers]
    distinct = list(dict.fromkeys(seeds))
    active = list(range(len(trainers)))
    try:
        with _blas_threads(trainers[0].threads), np.errstate(over="ignore", invalid="ignore", divide="ignore",
                                                             under="ignore"):
            for t in trainers:
                _guarded(t, _call, t, "on_train_begin", t._logs)
            active = _running(trainers, active)
            for epoch in range(epochs):
                for r in active:
                    trainers[r].epoch = epoch
                    _guarded(trainers[r], _call, trainers[r], "on_epoch_begin", epoch, trainers[r]._logs)
                active = _running(trainers, active)
                active = _epoch(net, trainers, active, x, y, batch_size, epoch, seeds, distinct, dtype)
                if not active:
                    break
            for r in active:
                trainers[r].status = RunStatus.COMPLETED
                _guarded(trainers[r], _end, trainers[r])
    except BaseException as exc:
        interrupted = isinstance(exc, KeyboardInterrupt)
        for t in trainers:
            if t.status == "running":
                t.status = RunStatus.INTERRUPTED if interrupted else RunStatus.FAILED
                t.error = (INTERRUPTED_MESSAGE if interrupted
                           else f"{type(exc).__name__}: {exc}")
                _end(t, quiet=True)
        raise
    errors = [t._stack_error for t in trainers if t._stack_error is not None]
    if errors:
        raise errors[0]
    return trainers


def _epoch(net, trainers, active, x, y, batch_size, epoch, seeds, distinct, dtype):
    """One pass for the active runs; returns the runs still active after it."""
    start = time.perf_counter()
    stats = {r: [0.0, 0, 0] for r in active}  # loss sum, correct, seen
    streams = [epoch_batches(x, y, batch_size, s, epoch) for s in distinct]
    where = [distinct.index(s) for s in seeds]
    count_nonzero = np.count_nonzero
    for b, batches in enumerate(zip(*streams)):
        if len(distinct) == 1:
            xb, yb = batches[0]
            xs = xb if xb.dtype == dtype else xb.astype(dtype)
            ys = np.broadcast_to(yb, (net.runs, len(yb)))
            labels = [yb] * net.runs
        else:
            labels = [batches[w][1] for w in where]
            xs = np.stack([batches[w][0] for w in where]).astype(dtype, copy=False)
            ys = np.stack(labels)
        losses = net.train_step(xs, ys).tolist()
        right = count_nonzero(net.logits.argmax(axis=2) == ys, axis=1).tolist()
        still = []
        for r in active:
            t, loss = trainers[r], losses[r]
            if not loss < DIVERGED_LOSS:
                t.error = (f"loss became {loss:g} at epoch {epoch}, batch {b} "
                           f"(learning rate {t.optimizer.lr:g}); a smaller learning rate may train")
                t.status, t._logs = RunStatus.DIVERGED, None
                _show(t, xs, ys, r)
                _guarded(t, _end, t)
                continue
            _step(t.optimizer, net.params[r], net.grads[r])
            n = len(labels[r])
            s = stats[r]
            s[0] += loss * n
            s[1] += right[r]
            s[2] += n
            if t._on_batch:
                batch_logs = {"loss": loss, "accuracy": right[r] / n, "size": n}
                if not _guarded(t, _batch_end, t, b, batch_logs):
                    continue
            still.append(r)
        active = still
        if not active:
            return active
    seconds = time.perf_counter() - start
    for r in active:
        _guarded(trainers[r], _epoch_end, trainers[r], epoch, stats[r], seconds, xs, ys, r)
    return _running(trainers, active)


def _epoch_end(t, epoch, stats, seconds, xs, ys, r):
    """A run's epoch end, as Trainer.fit's: its logs, history and callbacks; its end if it stops."""
    total, correct, seen = stats
    logs = {"loss": total / seen, "accuracy": correct / seen}
    if t.x_val is not None and len(t.x_val):
        val_loss, val_metric = t.model.evaluate(t.x_val, t.y_val)
        if not val_loss < DIVERGED_LOSS:
            t.error = (f"validation loss became {val_loss:g} after epoch {epoch} "
                       f"(learning rate {t.optimizer.lr:g}); a smaller learning rate may train")
            t.status, t._logs = RunStatus.DIVERGED, None
            _end(t)
            return
        logs["val_loss"], logs["val_accuracy"] = val_loss, val_metric
    elif epoch == 0:
        _show(t, xs, ys, r)
    logs["learning_rate"] = float(t.optimizer.lr)
    logs["seconds"] = seconds
    for key, value in logs.items():
        t.history.setdefault(key, []).append(value)
    t._logs = logs
    _call(t, "on_epoch_end", epoch, logs)
    if t.stop:
        if t.status == "running":
            t.status = RunStatus.COMPLETED
        _end(t)


def _batch_end(t, b, batch_logs):
    for cb in t._on_batch:
        cb.on_batch_end(b, batch_logs)


def _running(trainers, active):
    return [r for r in active if trainers[r].status == "running"]


def _guarded(trainer, fn, *args):
    """``fn(*args)`` for one run; an exception fails that run alone (as it would fail its own fit),
    and ``fit_stacked`` raises the first one after the others have finished."""
    try:
        fn(*args)
        return True
    except Exception as exc:  # noqa: BLE001 - recorded on the run, raised at the end
        trainer._stack_error = trainer._stack_error or exc
        if trainer.status == "running":
            trainer.status, trainer.error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
            _end(trainer, quiet=True)
        return False


def _show(trainer, xs, ys, r):
    """Leaves a batch's values in the run's own nodes, as its own training step would have: a graph
    written now (TensorBoard's, at the first epoch's end or a run's end) shows the same shapes."""
    x = xs if xs.ndim == 2 else xs[r]
    trainer.model.evaluate(x, ys[r], batch_size=len(x))


def _step(optimizer, value, grad):
    """``optimizer.step()`` on one run's flat parameters and gradients, as its flat path does."""
    if optimizer.t == 0:
        optimizer._flat_state = optimizer.init_state(value)
        if optimizer.weight_decay:
            optimizer._flat_state["decayed_grad"] = np.empty_like(value)
    optimizer.t += 1
    optimizer._update(value, grad, optimizer._flat_state)


def _call(trainer, hook, *args):
    for cb in trainer._cbs:
        getattr(cb, hook)(*args)


def _end(trainer, quiet=False):
    """A run's end: its callbacks' on_train_end, as Trainer.fit's finally block calls them (each one
    runs whatever the others do; the first error is raised after, unless the run failed anyway)."""
    end_logs = dict(trainer._logs or {}, status=trainer.status)
    error = None
    for cb in trainer._cbs:
        try:
            cb.on_train_end(end_logs)
        except Exception as exc:
            error = error or exc
    if error is not None and not quiet and trainer.status not in (RunStatus.FAILED, RunStatus.INTERRUPTED):
        raise error
