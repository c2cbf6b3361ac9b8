"""Sweeps of regression models and of the learner's own network: Experiment(model=build) and user-defined axes."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import user_nodes
from flowlab import Experiment
from flowlab.data import load_dataset
from tbread import events, session_hparams

ROOT = Path(__file__).parent.parent


def csv_rows(sweep_dir):
    with open(sweep_dir / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def saved_weights(run_dir):
    with np.load(run_dir / "model.npz", allow_pickle=False) as data:
        return {k: data[k] for k in data.files if k != "__config__"}


def test_regression_sweep_on_diabetes_logs_the_mse_of_its_saved_model(tmp_path):
    exp = Experiment("reg", logdir=tmp_path, workers=1, dataset="diabetes", hidden=[8], activation="relu",
                     optimizer="adam", epochs=3, batch_size=32)
    results = exp.sweep(learning_rate=[0.001, 0.03])
    data = load_dataset("diabetes", seed=0)
    for r in results:
        assert r.status == "completed", r.error
        assert set(r.metrics) >= {"loss", "mae", "val_loss", "val_mae"} and "val_accuracy" not in r.metrics
        w = saved_weights(Path(r.logdir))
        pred = (np.maximum(data.x_val @ w["dense_1/kernel"] + w["dense_1/bias"], 0) @ w["dense_2/kernel"]
                + w["dense_2/bias"])[:, 0]
        logged = events(Path(r.logdir) / "validation")
        assert logged.Scalars("epoch_loss")[-1].value == pytest.approx(np.mean((data.y_val - pred) ** 2), rel=1e-6)
        assert logged.Scalars("epoch_mae")[-1].value == pytest.approx(np.mean(np.abs(data.y_val - pred)), rel=1e-6)
        assert "epoch_accuracy" not in logged.Tags()["scalars"]
    # The leaderboard ranks by validation loss, lowest first, and shows no accuracy.
    assert [r.name for r in results.ranked()] == sorted((r.name for r in results), key=lambda n: results_by(results, n))
    header = results.table().splitlines()[0].split()
    assert header[3:7] == ["val_loss", "val_mae", "train_loss", "train_mae"] and "val_acc" not in header
    assert results.best().metrics["val_loss"] == min(r.metrics["val_loss"] for r in results)
    rows = csv_rows(results.sweep_dir)
    assert "val_accuracy" not in rows[0] and "accuracy" not in rows[0]  # no accuracy column for a regression
    assert all(float(row["val_mae"]) > 0 and float(row["val_loss"]) > 0 for row in rows)


def results_by(results, name):
    return next(r.metrics["val_loss"] for r in results if r.name == name)


def test_user_network_sweeps_in_worker_processes_with_a_custom_axis(tmp_path):
    exp = Experiment("mine", logdir=tmp_path, workers=2, model=user_nodes.build, dataset="diabetes",
                     optimizer="sgd", learning_rate=0.05, epochs=2, batch_size=16, width=4)
    results = exp.sweep(width=[3, 5], seed=[0, 1])
    assert sorted(r.name for r in results) == ["width=3,seed=0", "width=3,seed=1", "width=5,seed=0", "width=5,seed=1"]
    rows = {row["name"]: row for row in csv_rows(results.sweep_dir)}
    for r in results:
        assert r.status == "completed", r.error
        run_dir = Path(r.logdir)
        width = int(r.name.split(",")[0].split("=")[1])
        assert rows[r.name]["width"] == str(width)                      # a CSV column
        assert session_hparams(run_dir)["width"] == width               # an HParams column
        assert json.loads((run_dir / "run.json").read_text())["config"]["extra"] == {"width": width}
        w = saved_weights(run_dir)
        assert w["W1"].shape == (10, width)
        data = load_dataset("diabetes", seed=r.config["seed"])  # the seed fixes the split too
        pred = user_nodes.forward_numpy(w, data.x_val)[:, 0]
        val = events(run_dir / "validation").Scalars("epoch_loss")
        assert val[-1].value == pytest.approx(np.mean((data.y_val - pred) ** 2), rel=1e-6)
        train = events(run_dir / "train")
        assert {"weights/W1", "weights/b1", "weights/W2", "weights/b2"} <= set(train.Tags()["histograms"])
        assert {"MyLinear", "MySigmoid", "MyMSE"} <= {n.op for n in train.Graph().node}
    # Runs differing only in seed start from different weights, the same width from the same.
    inits = {r.name: r.initial_weights for r in results}
    assert inits["width=3,seed=0"] != inits["width=3,seed=1"]


def test_a_builder_that_cannot_reach_the_workers_fails_before_anything_is_written(tmp_path):
    logdir = tmp_path / "logs"
    exp = Experiment("x", logdir=logdir, workers=2, model=lambda config, shape: user_nodes.build(config, shape),
                     dataset="diabetes", epochs=1, width=3)
    with pytest.raises(ValueError, match=r"model=<lambda> cannot be sent to the worker processes.*top level"):
        exp.sweep()
    assert not logdir.exists()
    # In this process anything callable works.
    assert Experiment("x", logdir=logdir, workers=1, model=lambda c, s: user_nodes.build(c, s),
                      dataset="diabetes", epochs=1, width=3).sweep()[0].status == "completed"


def test_user_axes_need_a_builder_and_a_plain_name(tmp_path):
    with pytest.raises(ValueError, match="unknown config field 'width'"):
        Experiment("x", logdir=tmp_path, width=3)
    with pytest.raises(ValueError, match="unknown sweep axis 'width'"):
        Experiment("x", logdir=tmp_path).grid(width=[1, 2])
    with pytest.raises(ValueError, match="needs a plain name"):
        Experiment("x", logdir=tmp_path, model=user_nodes.build).grid(**{"bad-name": [1, 2]})
    with pytest.raises(ValueError, match="model must be a function build"):
        Experiment("x", logdir=tmp_path, model="mlp")


def build_raises(config, shape):
    return user_nodes.build({**config, "width": config["widthh"]}, shape)


def build_returns_object(config, shape):
    return object()


def build_classifier_only(config, shape):  # a regression network whatever the data
    return user_nodes.build(config, shape)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("build, dataset, says", [
    (build_returns_object, "diabetes", r"returned <object .*return a flowlab.Model"),
    (build_raises, "diabetes", r"model=build_raises fails to build the model of run 'width=3': KeyError: 'widthh' "
                               r"at .*test_model_sweep.py:\d+ "),
    (build_classifier_only, "digits", r"returned a regression model \(loss MyMSE\) for the classification dataset "
                                      r"'digits'.*SoftmaxCrossEntropy.*task='classification'"),
])
def test_a_builder_that_fails_for_every_run_is_found_in_the_driver_before_anything_is_written(
        tmp_path, workers, build, dataset, says):
    logdir = tmp_path / "logs"
    exp = Experiment("x", logdir=logdir, workers=workers, model=build, dataset=dataset, epochs=1, width=3)
    with pytest.raises(ValueError, match=says) as info:
        exp.sweep(width=[3, 4])
    assert "nothing was written" in str(info.value)
    assert not logdir.exists()


def test_a_sweep_whose_runs_all_failed_reads_as_its_datasets_task(tmp_path):
    calls = []

    def fails_in_training(config, shape):  # builds in the driver, then every run fails
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("out of luck")
        return user_nodes.build(config, shape)

    results = Experiment("x", logdir=tmp_path, workers=1, model=fails_in_training, dataset="diabetes",
                         epochs=1, width=3).sweep(width=[3, 4])
    assert [r.status for r in results] == ["failed", "failed"]
    assert results.default_metric() == "val_loss"
    assert results.table().splitlines()[0].split()[3:5] == ["val_loss", "val_mae"]
    header = (results.sweep_dir / "results.csv").read_text().splitlines()[0].split(",")
    assert "val_mae" in header and "val_accuracy" not in header


SCRIPT = '''
import threading
import numpy as np
from flowlab import Experiment, Model
from flowlab.miniflow import Input, Node


class Doubler(Node):  # a node class defined in the script: Dask gets it by value with the builder
    def __init__(self, x):
        Node.__init__(self, [x])

    def forward(self):
        self.value = 2 * self.inbound_nodes[0].value

    def backward(self):
        self.gradients = {{self.inbound_nodes[0]: 2 * self.outbound_nodes[0].gradients[self]}}


def build(config, shape):
    from flowlab.nodes import Linear
    from flowlab.losses import MSE
    rng = np.random.default_rng(config["seed"])
    X, y, W, b = Input(), Input(), Input(name="W"), Input(name="b")
    W.value, b.value = rng.normal(size=(shape.num_features, 1)) * config["scale"], np.zeros(1)
    out = Doubler(Linear(X, W, b))
    return Model(X, y, out, MSE(y, out), params=[W, b])


if __name__ == "__main__":
    lock = threading.Lock()
    def unsendable(config, shape):
        with lock:
            return build(config, shape)
    try:
        Experiment("bad", logdir={logdir!r}, executor={address!r}, model=unsendable, dataset="diabetes").sweep()
    except ValueError as exc:
        print("REFUSED:", exc)
    results = Experiment("dask", logdir={logdir!r}, executor={address!r}, model=build, dataset="diabetes",
                         optimizer="sgd", learning_rate=0.01, epochs=2, scale=0.1).sweep(scale=[0.1, 0.5])
    print("RESULTS:", sorted((r.name, r.status, r.error) for r in results))
'''


def test_a_script_builder_runs_on_dask_by_value_and_an_unpicklable_one_is_refused(tmp_path):
    pytest.importorskip("distributed")
    from flowlab.executors import local_cluster

    logdir = tmp_path / "logs"
    with local_cluster(1) as cluster:
        script = tmp_path / "sweep.py"
        script.write_text(SCRIPT.format(logdir=str(logdir), address=cluster.scheduler_address))
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                              env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "REFUSED: model=main.<locals>.unsendable" not in proc.stdout  # defined at the top level here
    assert "REFUSED: model=unsendable cannot be sent to the Dask workers: cloudpickle fails" in proc.stdout
    assert "RESULTS: [('scale=0.1', 'completed', None), ('scale=0.5', 'completed', None)]" in proc.stdout
    [sweep] = [p for p in logdir.iterdir()]
    assert sweep.name.startswith("dask-")  # the refused sweep wrote nothing
    train = events(sweep / "scale=0.5" / "train")
    assert "Doubler" in {n.op for n in train.Graph().node} and "weights/W" in train.Tags()["histograms"]


def test_a_builders_hparams_leave_out_the_mlp_only_settings(tmp_path):
    [r] = Experiment("x", logdir=tmp_path, workers=1, model=user_nodes.build, dataset="diabetes", epochs=1,
                     width=3).sweep()
    hp = session_hparams(Path(r.logdir))
    assert hp["width"] == 3 and hp["dataset"] == "diabetes"
    assert not {"hidden", "activation", "init"} & set(hp)
    header = csv_rows(Path(r.logdir).parent)[0]
    assert header["width"] == "3" and not {"hidden", "activation", "init"} & set(header)


def test_resume_keeps_finished_runs_of_user_axes(tmp_path):
    exp = Experiment("r", logdir=tmp_path, workers=1, model=user_nodes.build, dataset="diabetes", epochs=1, width=3)
    first = exp.sweep(width=[3, 4])
    again = exp.sweep(resume=first.sweep_dir, width=[3, 4])
    assert [r.seconds for r in again] == [r.seconds for r in first]  # kept, not redone
    # A resume adds runs and never drops one: leaving width=4 out is refused, naming the full axis.
    with pytest.raises(ValueError, match=r"leaves out 1 of the 2 runs .*\(runs 'width=4'\).*\(width=3 4 5\)"):
        exp.sweep(resume=first.sweep_dir, width=[3, 5])
    grown = exp.sweep(resume=first.sweep_dir, width=[3, 4, 5])
    assert [r.name for r in grown] == ["width=3", "width=4", "width=5"]
    assert [r.seconds for r in grown][:2] == [r.seconds for r in first]  # the finished two kept


@pytest.mark.parametrize("where", ["axis", "setting"])
@pytest.mark.parametrize("name, says", [
    ("lr", "short form of 'learning_rate'; write learning_rate="),
    ("batch", "short form of 'batch_size'"),
    ("learning_rat", "did you mean 'learning_rate'"),
    ("epoch", "did you mean 'epochs'"),
    ("loss", "column of results.csv"), ("mae", "column of results.csv"), ("val_loss", "column of results.csv"),
    ("accuracy", "column of results.csv"), ("epochs_run", "column of results.csv"),
    ("seconds", "column of results.csv"), ("best_val_loss", "column of results.csv"),
])
def test_a_user_axis_that_means_a_field_or_a_results_column_is_refused_before_anything_is_written(
        tmp_path, where, name, says):
    logdir = tmp_path / "logs"
    values = [0.001, 0.5]
    with pytest.raises(ValueError, match=rf"{name}=.*{says}") as info:
        if where == "axis":
            Experiment("b", logdir=logdir, workers=1, model=user_nodes.build, dataset="diabetes", epochs=1,
                       width=3).sweep(**{name: values})
        else:
            Experiment("b", logdir=logdir, workers=1, model=user_nodes.build, dataset="diabetes", epochs=1,
                       width=3, **{name: 0.5}).sweep(width=[2, 3])
    assert ("sweep axis" if where == "axis" else "Experiment setting") in str(info.value)
    assert not logdir.exists()


def test_a_user_axis_keeps_its_values_in_results_csv(tmp_path):
    # The oracle: the values given to the sweep, read back from the CSV a spreadsheet opens.
    results = Experiment("b", logdir=tmp_path, workers=1, model=user_nodes.build, dataset="diabetes", epochs=1,
                         width=3, my_loss="a").sweep(my_loss=["a", "b"])
    assert [row["my_loss"] for row in csv_rows(results.sweep_dir)] == ["a", "b"]


GUARDED = '''
import numpy as np
from flowlab import Experiment, Model
from flowlab.miniflow import Input, Linear, MSE

if __name__ == "__main__":
    def build(config, shape):
        X, y, W, b = Input(), Input(), Input(), Input()
        W.value, b.value = np.zeros((shape.num_features, 1)), np.zeros(1)
        o = Linear(X, W, b)
        return Model(X, y, o, MSE(y, o))
    try:
        Experiment("g", model=build, dataset="diabetes", epochs=1, workers=2, logdir={logdir!r}).sweep()
    except ValueError as exc:
        print("REFUSED:", exc)
'''


def test_a_builder_defined_under_the_main_guard_is_refused_before_anything_is_written(tmp_path):
    logdir = tmp_path / "logs"
    script = tmp_path / "guarded.py"
    script.write_text(GUARDED.format(logdir=str(logdir)))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert f'REFUSED: model=build is defined under `if __name__ == "__main__":` in {script}' in proc.stdout
    assert "Move `def build(config, shape):` above the guard" in proc.stdout
    assert not logdir.exists()
    # Moved above the guard, the same builder runs in the worker processes.
    lines = GUARDED.format(logdir=str(logdir)).splitlines()
    guard, builder = lines.index('if __name__ == "__main__":'), lines.index("    try:")
    moved = lines[:guard] + [line[4:] for line in lines[guard + 1:builder]] + [lines[guard]] + lines[builder:]
    script.write_text("\n".join(moved) + "\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=120)
    assert proc.returncode == 0 and "REFUSED" not in proc.stdout, proc.stdout + proc.stderr
    [sweep] = logdir.iterdir()
    assert json.loads((sweep / "run" / "run.json").read_text())["status"] == "completed"


def build_small_mlp(config, shape):
    from flowlab.models import MLP

    return MLP([shape.num_features, 8, shape.num_outputs], activation="relu", seed=config["seed"])


def test_a_builders_runs_train_on_the_dataset_their_config_names(tmp_path):
    # n_samples and noise shape the data: the driver's check of the builder must load the same set the
    # runs then train on, not the dataset's default one under the config's name.
    results = Experiment("sized", logdir=tmp_path, workers=1, model=build_small_mlp, dataset="moons", n_samples=200,
                         noise=0.3, epochs=2, optimizer="adam").sweep(learning_rate=[0.01, 0.05])
    data = load_dataset("moons", seed=0, n_samples=200, noise=0.3)
    assert len(data.x_val) == 40
    for r in results:
        assert r.status == "completed", r.error
        w = saved_weights(Path(r.logdir))
        z = np.maximum(data.x_val @ w["dense_1/kernel"] + w["dense_1/bias"], 0) @ w["dense_2/kernel"] + w["dense_2/bias"]
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        assert r.metrics["val_loss"] == pytest.approx(-log_p[np.arange(len(data.y_val)), data.y_val].mean(), rel=1e-9)
        assert r.metrics["val_accuracy"] == np.mean(z.argmax(axis=1) == data.y_val)


def test_resume_inherits_a_user_defined_setting_and_refuses_a_changed_one(tmp_path):
    # Found in review: a constant user-defined setting was not inherited (the resume was refused), and one
    # given on the Experiment was silently ignored.
    first = Experiment("r", logdir=tmp_path, workers=1, model=user_nodes.build, dataset="diabetes", epochs=1,
                       width=3).sweep(learning_rate=[0.01, 0.02])
    grown = Experiment("r", logdir=tmp_path, workers=1, model=user_nodes.build).sweep(
        resume=first.sweep_dir, learning_rate=[0.01, 0.02, 0.03])
    assert [r.name for r in grown] == ["lr=0.01", "lr=0.02", "lr=0.03"]
    assert [r.seconds for r in grown][:2] == [r.seconds for r in first]
    assert grown[2].config["extra"] == {"width": 3} and grown[2].config["dataset"] == "diabetes"
    with pytest.raises(ValueError, match=r"differ from the ones .* was started with: extra"):
        Experiment("r", logdir=tmp_path, workers=1, model=user_nodes.build, width=9).sweep(
            resume=first.sweep_dir, learning_rate=[0.01, 0.02, 0.03])
