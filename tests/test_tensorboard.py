"""TensorBoardLogger: what it writes, read back with TensorBoard's own loaders."""

import os
import subprocess
import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import STORE_EVERYTHING_SIZE_GUIDANCE
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

from flowlab.graph import Input, Node
from flowlab.models import MLP
from flowlab.nodes import Linear, Sigmoid
from flowlab.tensorboard import EventFile, TensorBoardLogger, graph_def, render_decision_boundary
from flowlab.train import Callback, EarlyStopping, Trainer
from tbread import event_files
from tbread import events as load
from tbread import hparams_session as session
from tbread import text_summary as text

HPARAMS = {"learning_rate": 0.05, "optimizer": "adam", "activation": "relu", "hidden": [8], "batch_size": 16,
           "epochs": 3, "dataset": "blobs", "seed": 0, "standardize": True}
PARAMS = ["dense_1/kernel", "dense_1/bias", "dense_2/kernel", "dense_2/bias"]


def blobs(n=90, seed=0):
    """Three 2-D Gaussian blobs, split 2:1 into train and validation."""
    rng = np.random.default_rng(seed)
    centers = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])
    y = np.arange(n) % 3
    x = centers[y] + 0.6 * rng.standard_normal((n, 2))
    cut = 2 * n // 3
    return x[:cut], y[:cut], x[cut:], y[cut:]


def train(run_dir, epochs=3, callbacks=(), validation=True, sizes=(2, 8, 3), lr=0.05, optimizer="adam",
          data=None, **logger_kwargs):
    """Trains a small MLP with a logger; returns (trainer, logger, model)."""
    x, y, xv, yv = data or blobs()
    model = MLP(list(sizes), activation="relu", seed=0)
    logger_kwargs.setdefault("hparams", HPARAMS)
    logger = TensorBoardLogger(run_dir, **logger_kwargs)
    trainer = Trainer(model, optimizer, lr=lr, callbacks=[logger, *callbacks])
    trainer.fit(x, y, validation_data=(xv, yv) if validation else None, epochs=epochs, batch_size=16)
    return trainer, logger, model


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One 3-epoch run on 2-D blobs with every feature on, shared by the read-back tests."""
    logdir = tmp_path_factory.mktemp("logs")
    trainer, logger, model = train(logdir / "run", boundary_freq=2)
    return logdir, logdir / "run", trainer, model


def test_layout_is_keras_and_holds_no_stray_runs(run):
    logdir, run_dir, _, _ = run
    with_events = {os.path.relpath(d, logdir) for d, _, files in os.walk(logdir) if event_files(d)}
    assert with_events == {"run", os.path.join("run", "train"), os.path.join("run", "validation")}
    assert all(len(event_files(logdir / d)) == 1 for d in with_events)
    runs = EventMultiplexer(size_guidance=STORE_EVERYTHING_SIZE_GUIDANCE).AddRunsFromDirectory(str(logdir)).Reload()
    assert set(runs.Runs()) == {"run", "run/train", "run/validation"}


def test_epoch_scalars_have_keras_names_and_one_step_per_epoch(run):
    _, run_dir, trainer, _ = run
    train_ea, val_ea = load(run_dir / "train"), load(run_dir / "validation")
    wanted = {"epoch_loss", "epoch_accuracy", "learning_rate", "epoch_steps_per_second"}
    assert wanted <= set(train_ea.Tags()["scalars"])
    assert set(val_ea.Tags()["scalars"]) == {"epoch_loss", "epoch_accuracy", "evaluation_loss_vs_iterations",
                                             "evaluation_accuracy_vs_iterations"}
    history = trainer.history
    for ea, prefix in ((train_ea, ""), (val_ea, "val_")):
        for name in ("loss", "accuracy"):
            events = ea.Scalars(f"epoch_{name}")
            assert [e.step for e in events] == [0, 1, 2]
            np.testing.assert_allclose([e.value for e in events], history[prefix + name], rtol=1e-6)
    assert [e.value for e in train_ea.Scalars("learning_rate")] == pytest.approx([0.05] * 3)
    assert "epoch_seconds" not in train_ea.Tags()["scalars"]


def test_histograms_of_every_parameter_and_gradient(run):
    _, run_dir, _, model = run
    ea = load(run_dir / "train")
    assert set(ea.Tags()["histograms"]) == {"weights/" + p for p in PARAMS} | {"gradients/" + p for p in PARAMS}
    for p in model.params:
        for tag, array in (("weights/" + p.name, p.value), ("gradients/" + p.name, p.gradients[p])):
            events = ea.Histograms(tag)
            assert [e.step for e in events] == [0, 1, 2]
            h = events[-1].histogram_value  # the last epoch: the final weights, the last batch's gradient
            assert h.num == array.size
            assert sum(h.bucket) == array.size
            assert h.min == pytest.approx(array.min()) and h.max == pytest.approx(array.max())
            assert h.sum == pytest.approx(array.sum(), abs=1e-9)
            assert h.sum_squares == pytest.approx((array ** 2).sum())
            if array.min() < array.max():
                assert len(h.bucket) == 30 and h.bucket_limit[-1] == pytest.approx(array.max())
                np.testing.assert_array_equal(h.bucket, np.histogram(array, bins=30)[0])


def test_histograms_of_odd_arrays_match_numpy_and_leave_the_others_alone():
    from flowlab.summaries import Summary

    from flowlab.tensorboard import _add_histograms, _Layout

    rng = np.random.default_rng(0)
    segments = [rng.standard_normal(50), np.zeros(4), np.array([1.0, np.nan, 2.0, np.inf, 3.0]),
                np.full(3, np.nan), np.array([-np.inf, 5.0, np.inf]), rng.standard_normal(7) * 1e-300,
                0.1 + np.arange(6) * 1e-17]  # values a few ulps apart
    layout = _Layout([len(s) for s in segments], 30)
    rows = np.stack([np.concatenate(segments)] * 2)  # two epochs
    summaries = [Summary(), Summary()]
    with np.errstate(all="ignore"):
        sumsq = np.add.reduceat(rows * rows, layout.starts, axis=1)
        _add_histograms(summaries, [f"s{i}" for i in range(len(segments))], rows, layout, sumsq)
    for summary in summaries:
        histos = {v.tag: v.histo for v in summary.value}
        assert set(histos) == {"s0", "s1", "s2", "s4", "s5", "s6"}  # all-NaN s3 has nothing to show
        for i in (0, 2, 4, 5, 6):
            finite = segments[i][np.isfinite(segments[i])]
            h = histos[f"s{i}"]
            assert h.num == finite.size == sum(h.bucket) and (h.min, h.max) == (finite.min(), finite.max())
            if finite.min() == finite.max():
                assert list(h.bucket) == [finite.size]
            elif i != 6:  # numpy cannot make 30 buckets of a few ulps
                np.testing.assert_array_equal(h.bucket, np.histogram(finite, bins=30)[0])
        assert list(histos["s1"].bucket) == [4] and histos["s1"].bucket_limit[-1] == 0


def test_histogram_frequency_and_switch(tmp_path):
    train(tmp_path / "every2", epochs=3, histogram_freq=2)
    assert [e.step for e in load(tmp_path / "every2" / "train").Histograms("weights/dense_1/kernel")] == [0, 2]
    train(tmp_path / "off", epochs=2, histograms=False)
    tags = load(tmp_path / "off" / "train").Tags()
    assert tags["histograms"] == [] and "epoch_loss" in tags["scalars"]


def test_graph_is_the_flowlab_graph_with_ops_edges_and_shapes(run):
    _, run_dir, _, model = run
    ea = load(run_dir / "train")
    assert ea.Tags()["graph"]
    nodes = {n.name: n for n in ea.Graph().node}
    assert set(nodes) == {n.name for n in model.graph}
    assert {"input/features", "input/labels", "dense_1/kernel", "dense_1/linear", "dense_1/relu",
            "dense_2/linear", "loss/softmax_cross_entropy"} <= set(nodes)
    for node in model.graph:
        assert nodes[node.name].op == type(node).__name__
        assert list(nodes[node.name].input) == [n.name for n in node.inbound_nodes]

    def shape(name):
        (s,) = nodes[name].attr["_output_shapes"].list.shape
        return [d.size for d in s.dim]

    assert shape("dense_1/kernel") == [2, 8] and shape("dense_2/bias") == [3]
    # The batch dimension is unknown (-1, drawn "?"), as in TensorFlow's graphs.
    assert shape("input/features") == [-1, 2] and shape("input/labels") == [-1]
    assert shape("dense_1/linear") == [-1, 8] and shape("dense_2/linear") == [-1, 3]
    assert shape("loss/softmax_cross_entropy") == []
    assert nodes["dense_1/linear"].attr["dtype"].type == 2  # DT_DOUBLE
    assert nodes["dense_1/kernel"].attr["trainable"].b and not nodes["input/features"].attr["trainable"].b
    (path,) = [run_dir / "train" / f for f in event_files(run_dir / "train")]
    graphs = [e for e in EventFileLoader(str(path)).Load() if e.HasField("graph_def")]
    assert len(graphs) == 1 and graphs[0].step == 0


def test_graph_def_names_unnamed_duplicate_and_scope_clashing_nodes():
    x, w, b = Input(name="input/x"), Input(name="dense_1"), Input()
    first = Linear(x, w, b, name="dense_1/linear")
    second = Sigmoid(first, name="dense_1/linear")  # duplicate name
    odd = Sigmoid(second, name="weird name:0")

    class Custom(Node):  # a MiniFlow-style node without a name
        def __init__(self, node):
            Node.__init__(self, [node])

    custom = Custom(odd)
    gd = graph_def([x, w, b, first, second, odd, custom])
    names = [n.name for n in gd.node]
    assert len(set(names)) == len(names)
    assert names[0] == "input/x"
    assert names[1] == "dense_1/Input"  # "dense_1" is also a scope
    assert names[2] == "Input_2" and names[6] == "Custom_6"
    assert names[3] == "dense_1/linear" and names[4] == "dense_1/linear_1"
    assert names[5] == "weird_name_0"
    assert list(gd.node[3].input) == ["input/x", "dense_1/Input", "Input_2"]
    assert list(gd.node[6].input) == ["weird_name_0"]
    assert not gd.node[3].attr["_output_shapes"].list.shape  # no value yet, no shape


def test_hparams_session_holds_every_hparam_and_the_status(run):
    _, run_dir, _, _ = run
    hparams, group, status = session(run_dir)
    assert hparams == {"learning_rate": 0.05, "optimizer": "adam", "activation": "relu", "hidden": "8",
                       "batch_size": 16.0, "epochs": 3.0, "dataset": "blobs", "seed": 0.0, "standardize": True,
                       "status": "completed"}
    assert group == "" and status == "STATUS_SUCCESS"
    # The session sits in the run directory itself, so its metrics are train/* and validation/*.
    assert load(run_dir).Tags()["scalars"] == []


def test_hparams_default_to_the_trainers_settings_and_group_name_is_kept(tmp_path):
    train(tmp_path / "run", epochs=1, hparams=None, group_name="lr=0.05,seedless")
    hparams, group, _ = session(tmp_path / "run")
    assert hparams["optimizer"] == "adam" and hparams["lr"] == pytest.approx(0.05)
    assert hparams["sizes"] == "2,8,3" and hparams["activation"] == "relu" and hparams["status"] == "completed"
    assert group == "lr=0.05,seedless"


def test_config_model_and_status_text(run):
    _, run_dir, _, _ = run
    config = text(run_dir, "config")
    assert config.startswith("| Setting | Value |")
    for key, value in (("learning_rate", "0.05"), ("hidden", "8"), ("batch_size", "16"), ("standardize", "True")):
        assert f"| {key} | {value} |" in config
    model = text(run_dir, "model")
    assert "| dense_1/kernel | 2×8 | 16 |" in model and "**51**" in model
    assert text(run_dir, "status").startswith("**completed** after 3 epoch(s)")


class WeightRecorder(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.before = [p.value.copy() for p in self.trainer.model.params]


def test_gradient_norm_and_update_ratio_per_layer(tmp_path):
    recorder = WeightRecorder()
    trainer, _, model = train(tmp_path / "run", callbacks=[recorder])
    ea = load(tmp_path / "run" / "train")
    for layer in ("dense_1", "dense_2"):
        for name in ("gradient_norm", "update_ratio"):
            events = ea.Scalars(f"{name}/{layer}")
            assert [e.step for e in events] == [0, 1, 2]
            assert all(np.isfinite(e.value) and e.value > 0 for e in events)
        params = [(p, w) for p, w in zip(model.params, recorder.before) if p.name.startswith(layer + "/")]
        grad = np.sqrt(sum((p.gradients[p] ** 2).sum() for p, _ in params))
        update = np.sqrt(sum(((p.value - w) ** 2).sum() for p, w in params))
        weight = np.sqrt(sum((w ** 2).sum() for _, w in params))
        assert ea.Scalars(f"gradient_norm/{layer}")[-1].value == pytest.approx(grad, rel=1e-6)
        assert ea.Scalars(f"update_ratio/{layer}")[-1].value == pytest.approx(update / weight, rel=1e-6)


def test_decision_boundary_images_on_two_feature_data(tmp_path, run):
    _, run_dir, _, _ = run
    images = load(run_dir / "train").Images("predictions/decision_boundary")
    assert [i.step for i in images] == [0, 2]
    assert (images[0].width, images[0].height) == (192, 192)
    assert images[0].encoded_image_string.startswith(b"\x89PNG")
    train(tmp_path / "four", epochs=4, boundary_freq=2, boundary_size=64)
    images = load(tmp_path / "four" / "train").Images("predictions/decision_boundary")
    assert [i.step for i in images] == [0, 2, 3]  # every 2 epochs, and after the last one
    assert images[-1].width == 64
    rng = np.random.default_rng(1)
    data = (rng.standard_normal((30, 4)), np.arange(30) % 3, rng.standard_normal((9, 4)), np.arange(9) % 3)
    train(tmp_path / "wide", epochs=1, sizes=(4, 5, 3), data=data)
    assert load(tmp_path / "wide" / "train").Tags()["images"] == []


class Threshold:
    """A model predicting class 1 right of x = 0 and class 0 left of it."""

    def predict(self, x):
        return (x[:, 0] > 0).astype(int)


def test_render_decision_boundary_colors_regions_and_points():
    x = np.array([[-1.0, -1.0], [1.0, 1.0]])
    image = render_decision_boundary(Threshold(), x, np.array([0, 1]), size=100)
    assert image.shape == (100, 100, 3) and image.dtype == np.uint8
    left, right = image[50, 5].astype(int), image[50, 94].astype(int)
    assert left[2] > left[0] and right[0] > right[2]  # class 0 is blue, class 1 orange
    # The points sit 8% inside the borders, bottom left and top right, in full class color.
    assert tuple(image[92, 7]) == (31, 119, 180) and tuple(image[7, 92]) == (255, 127, 14)
    with pytest.raises(ValueError, match=r"shape \(n, 2\), got \(2, 3\)"):
        render_decision_boundary(Threshold(), np.zeros((2, 3)), np.array([0, 1]))


def test_importing_the_module_does_not_import_tensorboardX():
    code = "import sys, flowlab.tensorboard; sys.exit('tensorboardX' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_two_loggers_in_one_directory_do_not_clobber(tmp_path):
    run_dir = tmp_path / "run"
    train(run_dir, epochs=2)
    train(run_dir, epochs=3)  # within the same second: tensorboardX's names would collide
    for sub in ("train", "validation"):
        files = event_files(run_dir / sub)
        assert len(files) == 2
        steps = sorted(len(load(run_dir / sub / f).Scalars("epoch_loss")) for f in files)
        assert steps == [2, 3]
    a, b = EventFile(tmp_path / "same"), EventFile(tmp_path / "same")
    assert a.path != b.path
    a.close(), b.close()
    assert a.closed and len(event_files(tmp_path / "same")) == 2


class Bomb(Callback):
    def __init__(self, epoch, exc):
        self.epoch, self.exc = epoch, exc

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise self.exc


@pytest.mark.parametrize("exc, status", [(RuntimeError("boom"), "failed"), (KeyboardInterrupt(), "interrupted")])
def test_a_run_stopped_by_an_exception_keeps_its_epochs_and_fails(tmp_path, exc, status):
    with pytest.raises(type(exc)):
        train(tmp_path / "run", epochs=5, callbacks=[Bomb(1, exc)])
    for sub in ("train", "validation"):
        assert [e.step for e in load(tmp_path / "run" / sub).Scalars("epoch_loss")] == [0, 1]
    hparams, _, end = session(tmp_path / "run")
    assert hparams["status"] == status and end == "STATUS_FAILURE"
    assert text(tmp_path / "run", "status").startswith(f"**{status}** after 2 epoch(s)")
    if status == "failed":
        assert "RuntimeError: boom" in text(tmp_path / "run", "status")


def test_an_early_stopped_run_shows_as_a_success(tmp_path):
    stopper = EarlyStopping(monitor="val_loss", patience=0, min_delta=100.0)
    trainer, _, _ = train(tmp_path / "run", epochs=5, callbacks=[stopper])
    assert trainer.status == "early_stopped"
    hparams, _, end = session(tmp_path / "run")
    assert hparams["status"] == "early_stopped" and end == "STATUS_SUCCESS"
    assert [e.step for e in load(tmp_path / "run" / "validation").Scalars("epoch_loss")] == [0, 1]


def test_a_diverged_run_shows_as_failed(tmp_path):
    trainer, _, _ = train(tmp_path / "run", epochs=12, lr=100.0, optimizer="sgd")
    assert trainer.status == "diverged" and 0 < len(trainer.history["loss"]) < 12
    hparams, _, end = session(tmp_path / "run")
    assert hparams["status"] == "diverged" and end == "STATUS_FAILURE"
    logged = len(trainer.history["loss"])
    # The epoch it diverged in shows too, as the loss of its batches up to the last finite one.
    train_loss = load(tmp_path / "run" / "train").Scalars("epoch_loss")
    assert [e.step for e in train_loss] == list(range(logged + 1))
    assert train_loss[-1].value > max(trainer.history["loss"])
    val = load(tmp_path / "run" / "validation").Scalars("epoch_loss")
    assert [e.step for e in val] == list(range(logged + 1)) and val[-1].value > max(trainer.history["val_loss"])


def test_a_run_that_diverges_in_its_first_epoch_shows_the_explosion(tmp_path):
    trainer, _, _ = train(tmp_path / "run", epochs=3, lr=1e3, optimizer="sgd", data=blobs(600))
    assert trainer.status == "diverged" and trainer.history == {}
    ea = load(tmp_path / "run" / "train")
    batches = ea.Scalars("epoch_loss/per_batch")
    assert [e.step for e in batches] == list(range(len(batches))) and len(batches) >= 2
    assert batches[-1].value > 1e3 * batches[0].value  # the loss exploding within epoch 0
    assert [e.step for e in ea.Scalars("epoch_loss")] == [0]
    for name in ("epoch_loss", "epoch_accuracy"):  # so its HParams row has every metric
        assert [e.step for e in load(tmp_path / "run" / "validation").Scalars(name)] == [0]


@pytest.mark.parametrize("update_freq, steps", [("first_epoch", list(range(4))), ("batch", list(range(12))),
                                                (5, [4, 9]), ("epoch", None)])
def test_per_batch_loss_as_keras_update_freq(tmp_path, update_freq, steps):
    recorder = BatchRecorder()
    train(tmp_path / "run", epochs=3, update_freq=update_freq, callbacks=[recorder])  # 60 examples: 4 batches
    tags = load(tmp_path / "run" / "train").Tags()["scalars"]
    if steps is None:
        assert "epoch_loss/per_batch" not in tags
        return
    events = load(tmp_path / "run" / "train").Scalars("epoch_loss/per_batch")
    assert [e.step for e in events] == steps
    np.testing.assert_allclose([e.value for e in events], [recorder.losses[s] for s in steps], rtol=1e-6)
    val = load(tmp_path / "run" / "validation")
    assert [e.step for e in val.Scalars("evaluation_loss_vs_iterations")] == [4, 8, 12]  # Keras: optimizer.iterations
    np.testing.assert_allclose([e.value for e in val.Scalars("evaluation_accuracy_vs_iterations")],
                               [e.value for e in val.Scalars("epoch_accuracy")])
    speed = load(tmp_path / "run" / "train").Scalars("epoch_steps_per_second")
    assert len(speed) == 3 and all(e.value > 0 for e in speed)


class BatchRecorder(Callback):
    def __init__(self):
        self.losses = []

    def on_batch_end(self, batch, logs=None):
        self.losses.append(logs["loss"])


def test_without_validation_data_there_is_no_validation_run(tmp_path):
    train(tmp_path / "run", epochs=2, validation=False)
    assert not (tmp_path / "run" / "validation").exists()
    assert [e.step for e in load(tmp_path / "run" / "train").Scalars("epoch_accuracy")] == [0, 1]


class Peek(Callback):
    """Reads the train event file while training runs."""

    def __init__(self, run_dir):
        self.run_dir, self.seen = run_dir, []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append([e.step for e in load(self.run_dir / "train").Scalars("epoch_loss")])


def test_epochs_are_readable_while_the_run_goes_on(tmp_path):
    peek = Peek(tmp_path / "run")
    train(tmp_path / "run", epochs=3, callbacks=[peek], flush_secs=0)
    assert peek.seen == [[0], [0, 1], [0, 1, 2]]


@pytest.mark.parametrize("kwargs, message", [
    ({"histogram_freq": -1}, "histogram_freq=-1"),
    ({"boundary_freq": 1.5}, "boundary_freq=1.5"),
    ({"histogram_bins": 0}, "histogram_bins=0"),
    ({"flush_secs": -2}, "flush_secs=-2"),
    ({"update_freq": "batches"}, "update_freq='batches'"),
    ({"update_freq": 0}, "update_freq=0"),
    ({"run_dir": ""}, "run_dir=''"),
])
def test_bad_arguments_name_the_argument_and_value(kwargs, message):
    kwargs = {"run_dir": "logs/run", **kwargs}
    with pytest.raises(ValueError, match=message):
        TensorBoardLogger(**kwargs)
    with pytest.raises(TypeError, match="hparams must be a dict, got list"):
        TensorBoardLogger("logs/run", hparams=[("lr", 0.1)])


def test_a_misspelt_update_freq_gets_a_did_you_mean_and_counts_are_checked_by_the_shared_checks():
    with pytest.raises(ValueError, match=r"got update_freq='batches' \(did you mean 'batch'\?\)$"):
        TensorBoardLogger("logs/run", update_freq="batches")
    with pytest.raises(ValueError, match=r"got update_freq='zzz'$"):
        TensorBoardLogger("logs/run", update_freq="zzz")
    with pytest.raises(ValueError, match=r"^TensorBoardLogger: histogram_freq must be an int >= 0, got histogram_freq=True$"):
        TensorBoardLogger("logs/run", histogram_freq=True)
    with pytest.raises(TypeError, match=r"^TensorBoardLogger: flush_secs must be a number, got flush_secs='5'$"):
        TensorBoardLogger("logs/run", flush_secs="5")
    assert TensorBoardLogger("logs/run", update_freq=np.int64(3), boundary_size=np.int32(64)).update_freq == 3
