"""What TensorBoard shows checked against numbers the logger did not compute: the saved model, plain
numpy, numeric gradients and the clock."""

import time

import numpy as np
import pytest
from tensorboard.plugins.distribution.compressor import compress_histogram_proto

from flowlab import Experiment
from flowlab.data import load_dataset
from flowlab.gradcheck import numeric_array_gradient
from flowlab.models import MLP
from flowlab.tensorboard import TensorBoardLogger
from flowlab.train import Callback, Trainer
from tbread import events as load

CONFIG = {"dataset": "blobs", "hidden": [8], "activation": "tanh", "optimizer": "adam", "learning_rate": 0.05,
          "batch_size": 16, "seed": 0}


def numpy_loss_and_accuracy(weights, x, y, activation=np.tanh):
    """Mean softmax cross-entropy and accuracy of a dense network, in plain numpy."""
    h, n = x, len([k for k in weights if k.endswith("/kernel")])
    for i in range(1, n + 1):
        h = h @ weights[f"dense_{i}/kernel"] + weights[f"dense_{i}/bias"]
        if i < n:
            h = activation(h)
    shifted = h - h.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean()), float((h.argmax(axis=1) == y).mean())


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """Two runs that differ only in epochs (3 and 4), trained full-batch, in this process."""
    logdir = tmp_path_factory.mktemp("logs")
    results = Experiment("oracle", logdir=logdir, workers=1, **{**CONFIG, "batch_size": None}).sweep(epochs=[3, 4])
    assert [r.status for r in results] == ["completed", "completed"]
    return results.sweep_dir


def test_last_histogram_of_every_parameter_is_numpys_histogram_of_the_saved_model(sweep):
    run = sweep / "epochs=4"
    ea = load(run / "train")
    with np.load(run / "model.npz") as saved:
        weights = {k: saved[k] for k in saved.files if k != "__config__"}
    assert set(weights) == {"dense_1/kernel", "dense_1/bias", "dense_2/kernel", "dense_2/bias"}
    for name, values in weights.items():
        events = ea.Histograms(f"weights/{name}")
        assert events[-1].step == 3
        h = events[-1].histogram_value
        edges = np.array([h.min, *h.bucket_limit])
        # The edges are numpy's 30 equal-width buckets from min to max ...
        np.testing.assert_allclose(edges, np.histogram_bin_edges(values, bins=30), rtol=1e-12, atol=1e-15)
        # ... and every bucket holds what numpy counts in it.
        np.testing.assert_array_equal(h.bucket, np.histogram(values, bins=edges)[0])


def test_a_he_normal_kernel_reads_as_centred_in_distributions(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 64)), np.arange(64) % 10
    model = MLP([64, 256, 10], activation="relu", seed=0)
    logger = TensorBoardLogger(tmp_path / "run", hparams={})
    Trainer(model, "sgd", lr=1e-6, callbacks=[logger]).fit(x, y, epochs=1, batch_size=64)
    h = load(tmp_path / "run" / "train").Histograms("weights/dense_1/kernel")[-1].histogram_value
    percentiles = dict(compress_histogram_proto(h))
    kernel = model.params[0].value
    assert abs(percentiles[5000]) < 0.01  # std sqrt(2/64) = 0.18: the median is about 0
    for bp, q in ((1587, 15.87), (8413, 84.13)):
        assert percentiles[bp] == pytest.approx(np.percentile(kernel, q), abs=(h.max - h.min) / 30)


def test_epoch_scalars_are_the_loss_and_accuracy_of_the_saved_model(sweep):
    data = load_dataset("blobs", seed=0)
    for epochs in (3, 4):
        run = sweep / f"epochs={epochs}"
        with np.load(run / "model.npz") as saved:
            weights = {k: saved[k] for k in saved.files if k != "__config__"}
        val_loss, val_acc = numpy_loss_and_accuracy(weights, data.x_val, data.y_val)
        validation = load(run / "validation")
        assert validation.Scalars("epoch_loss")[-1].step == epochs - 1
        assert validation.Scalars("epoch_loss")[-1].value == pytest.approx(val_loss, rel=1e-6)
        assert validation.Scalars("epoch_accuracy")[-1].value == pytest.approx(val_acc, rel=1e-6)
    # Full-batch training: epoch 3's training loss is measured on the weights epoch 2 ended with,
    # which the 3-epoch run saved.
    with np.load(sweep / "epochs=3" / "model.npz") as saved:
        weights = {k: saved[k] for k in saved.files if k != "__config__"}
    train_loss, train_acc = numpy_loss_and_accuracy(weights, data.x_train, data.y_train)
    train = load(sweep / "epochs=4" / "train")
    assert train.Scalars("epoch_loss")[3].value == pytest.approx(train_loss, rel=1e-6)
    assert train.Scalars("epoch_accuracy")[3].value == pytest.approx(train_acc, rel=1e-6)


def test_gradient_norms_are_the_norms_of_numeric_gradients(tmp_path):
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((12, 3)), np.arange(12) % 3
    model = MLP([3, 4, 5, 3], activation="tanh", seed=1)
    weights = {p.name: p.value.copy() for p in model.params}  # where the only step starts
    logger = TensorBoardLogger(tmp_path / "run", hparams={})
    Trainer(model, "sgd", lr=0.1, callbacks=[logger]).fit(x, y, epochs=1, batch_size=None)
    ea = load(tmp_path / "run" / "train")
    for layer in ("dense_1", "dense_2", "dense_3"):
        squares = 0.0
        for part in ("kernel", "bias"):
            array = weights[f"{layer}/{part}"]
            grad = numeric_array_gradient(lambda: numpy_loss_and_accuracy(weights, x, y)[0], array, h=1e-6)
            squares += float((grad ** 2).sum())
        assert ea.Scalars(f"gradient_norm/{layer}")[-1].value == pytest.approx(np.sqrt(squares), rel=1e-5)


class Slow(Callback):
    """Makes every epoch last at least 20 ms, so that the epochs' times are far apart."""

    def on_epoch_end(self, epoch, logs=None):
        time.sleep(0.02)


def test_epoch_wall_times_increase_and_span_the_run(tmp_path):
    start = time.time()
    model = MLP([2, 8, 3], activation="relu", seed=0)
    data = load_dataset("blobs", seed=0)
    logger = TensorBoardLogger(tmp_path / "run", hparams={}, flush_secs=60)  # every epoch written at the end
    trainer = Trainer(model, "adam", lr=0.01, callbacks=[logger, Slow()])
    trainer.fit(data, epochs=6, batch_size=16)
    end = time.time()
    for sub in ("train", "validation"):
        times = [e.wall_time for e in load(tmp_path / "run" / sub).Scalars("epoch_loss")]
        assert len(times) == 6
        assert start <= times[0] and times[-1] <= end
        assert all(a < b for a, b in zip(times, times[1:]))
        # Between the first epoch's end and the last's lie five whole epochs, as the trainer timed
        # them, each followed by the 20 ms pause.
        assert times[-1] - times[0] >= sum(trainer.history["seconds"][1:]) + 5 * 0.02


class Record(Callback):
    """Copies of every parameter and its last gradient at each epoch's end, and the weights training starts from."""

    def on_train_begin(self, logs=None):
        self.start = {p.name: p.value.copy() for p in self.trainer.model.params}
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append({p.name: (p.value.copy(), p.gradients[p].copy()) for p in self.trainer.model.params})


@pytest.mark.parametrize("flush", ["every epoch", "at the end", "blocks of two rows"])
def test_every_epochs_histograms_and_update_ratios_are_numpys_of_the_weights_it_ended_with(tmp_path, monkeypatch, flush):
    import flowlab.tensorboard.logger as logger_module

    model = MLP([4, 6, 3], activation="tanh", seed=2, dtype="float32")
    sizes = 2 * sum(p.value.size for p in model.params)
    if flush == "blocks of two rows":  # pending epochs are written two at a time, each pair from a new block
        monkeypatch.setattr(logger_module, "_MAX_PENDING", 2 * sizes)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((40, 4)), np.arange(40) % 3
    logger = TensorBoardLogger(tmp_path / "run", hparams={}, flush_secs=0 if flush == "every epoch" else 600)
    record = Record()
    Trainer(model, "adam", lr=0.05, callbacks=[logger, record]).fit(x, y, epochs=5, batch_size=8)
    ea = load(tmp_path / "run" / "train")
    for name in record.start:
        for kind, k in (("weights", 0), ("gradients", 1)):
            events = ea.Histograms(f"{kind}/{name}")
            assert [e.step for e in events] == [0, 1, 2, 3, 4]
            for event, arrays in zip(events, record.epochs):
                values = arrays[name][k].astype(np.float64)
                h = event.histogram_value
                edges = np.array([h.min, *h.bucket_limit])
                np.testing.assert_allclose(edges, np.histogram_bin_edges(values, bins=30), rtol=1e-12, atol=1e-15)
                np.testing.assert_array_equal(h.bucket, np.histogram(values, bins=edges)[0])
    for layer in ("dense_1", "dense_2"):
        names = [f"{layer}/kernel", f"{layer}/bias"]
        ratios = [e.value for e in ea.Scalars(f"update_ratio/{layer}")]
        previous = [{n: record.start[n] for n in names}] + [{n: e[n][0] for n in names} for e in record.epochs[:-1]]
        expected = []
        for before, after in zip(previous, record.epochs):
            change = sum(float(np.sum((after[n][0].astype(np.float64) - before[n].astype(np.float64)) ** 2)) for n in names)
            weight = sum(float(np.sum(before[n].astype(np.float64) ** 2)) for n in names)
            expected.append(np.sqrt(change / weight))
        np.testing.assert_allclose(ratios, expected, rtol=1e-6)


def _statistics(run):
    """Every histogram and every scalar but the clock's, exactly as written, by tag."""
    ea = load(run)
    out = {t: [(e.step, repr(e.histogram_value)) for e in ea.Histograms(t)] for t in ea.Tags()["histograms"]}
    out.update({t: [(e.step, e.value) for e in ea.Scalars(t)] for t in ea.Tags()["scalars"]
                if "per_second" not in t})
    return out


def test_statistics_are_the_same_numbers_whether_epochs_are_written_one_by_one_or_together(tmp_path, monkeypatch):
    import flowlab.tensorboard.logger as logger_module

    written = {}
    for how in ("one by one", "together"):
        monkeypatch.setattr(logger_module, "_MAX_PENDING", 1 if how == "one by one" else 1 << 20)
        model = MLP([6, 16, 4], activation="relu", seed=3, dtype="float32")
        rng = np.random.default_rng(4)
        x, y = rng.standard_normal((64, 6)), np.arange(64) % 4
        logger = TensorBoardLogger(tmp_path / how, hparams={}, flush_secs=600)
        Trainer(model, "momentum", lr=0.05, callbacks=[logger]).fit(x, y, epochs=6, batch_size=16)
        written[how] = _statistics(tmp_path / how / "train")
    # 8 histograms, 2 gradient norms, 2 update ratios, the loss per epoch and per batch, accuracy, learning rate
    assert len(written["together"]) == 16
    assert written["one by one"] == written["together"]
