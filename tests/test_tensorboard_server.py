"""The real TensorBoard server reads what TensorBoardLogger writes: runs, scalars, histograms, graph, HParams."""

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest

from flowlab.models import MLP
from flowlab.tensorboard import TensorBoardLogger
from flowlab.train import Callback, Trainer
from processes import stop

# The server of this interpreter's tensorboard package, whatever is on PATH.
TENSORBOARD = [sys.executable, "-m", "tensorboard.main"]

STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


class Fail(Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("boom")


def write_runs(logdir):
    """Two completed runs that differ in learning rate, and one that fails after two epochs."""
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    x = np.column_stack([2.0 * y - 1.0, np.zeros(60)]) + 0.7 * rng.standard_normal((60, 2))
    for name, lr, callbacks in (("lr=0.1", 0.1, []), ("lr=0.01", 0.01, []), ("lr=0.1,failed", 0.1, [Fail()])):
        hparams = {"learning_rate": lr, "optimizer": "adam", "activation": "tanh", "hidden": [6]}
        logger = TensorBoardLogger(logdir / name, hparams=hparams, boundary_freq=1)
        trainer = Trainer(MLP([2, 6, 2], activation="tanh", seed=0), "adam", lr=lr, callbacks=[logger, *callbacks])
        try:
            trainer.fit(x[:40], y[:40], validation_data=(x[40:], y[40:]), epochs=3, batch_size=10)
        except RuntimeError:
            pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, base):
        self.base = base

    def get(self, path, **params):
        url = f"{self.base}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read()
        return json.loads(body) if response.headers.get_content_type() == "application/json" else body.decode()

    def post(self, path, body):
        request = urllib.request.Request(f"{self.base}{path}", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def session_groups(self):
        return self.post("/data/plugin/hparams/session_groups", {
            "experimentName": "", "allowedStatuses": STATUSES, "startIndex": 0, "sliceSize": 1000,
            "colParams": [{"hparam": "learning_rate"}, {"hparam": "status"},
                          {"metric": {"group": "validation", "tag": "epoch_accuracy"}, "order": "ORDER_DESC"}]})


RUNS = ["lr=0.1", "lr=0.01", "lr=0.1,failed"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("logs")
    write_runs(logdir)
    port = free_port()
    log = open(logdir.parent / "tensorboard.log", "wb")
    process = subprocess.Popen([*TENSORBOARD, "--logdir", str(logdir), "--host", "127.0.0.1", "--port", str(port),
                                "--reload_interval", "1"], stdout=log, stderr=subprocess.STDOUT)
    try:
        server = Server(f"http://127.0.0.1:{port}")
        wanted = {run + sub for run in RUNS for sub in ("", "/train", "/validation")}
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"tensorboard exited with {process.returncode}: "
                            + (logdir.parent / "tensorboard.log").read_text()[-2000:])
            try:
                # Ready when every run is listed and the HParams plugin sees one session per run.
                if wanted <= set(server.get("/data/runs")) and len(server.session_groups()["sessionGroups"]) == 3:
                    break
            except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail("tensorboard did not serve the runs within 60 s: "
                            + (logdir.parent / "tensorboard.log").read_text()[-2000:])
            time.sleep(0.5)
        yield server
    finally:
        stop(process, timeout=10)  # terminate() is SIGTERM
        log.close()


def test_runs_are_the_keras_layout_without_stray_runs(server):
    runs = set(server.get("/data/runs"))
    assert runs == {run + sub for run in RUNS for sub in ("", "/train", "/validation")}


def test_scalar_curves_are_served_per_epoch(server):
    tags = server.get("/data/plugin/scalars/tags")
    assert {"epoch_loss", "epoch_accuracy", "learning_rate", "gradient_norm/dense_1",
            "update_ratio/dense_2"} <= set(tags["lr=0.1/train"])
    assert set(tags["lr=0.1/validation"]) == {"epoch_loss", "epoch_accuracy", "evaluation_loss_vs_iterations",
                                              "evaluation_accuracy_vs_iterations"}
    curve = server.get("/data/plugin/scalars/scalars", run="lr=0.01/validation", tag="epoch_loss")
    assert [step for _, step, _ in curve] == [0, 1, 2]
    failed = server.get("/data/plugin/scalars/scalars", run="lr=0.1,failed/train", tag="epoch_accuracy")
    assert [step for _, step, _ in failed] == [0, 1]


def test_histograms_are_served(server):
    tags = server.get("/data/plugin/histograms/tags")["lr=0.1/train"]
    assert {"weights/dense_1/kernel", "gradients/dense_1/kernel", "weights/dense_2/bias",
            "gradients/dense_2/bias"} <= set(tags)
    series = server.get("/data/plugin/histograms/histograms", run="lr=0.1/train", tag="weights/dense_1/kernel")
    assert [step for _, step, _ in series] == [0, 1, 2]
    buckets = series[-1][2]
    assert sum(count for _, _, count in buckets) == pytest.approx(12)  # a 2x6 kernel
    assert all(left <= right for left, right, _ in buckets)


def test_graph_is_served(server):
    info = server.get("/data/plugin/graphs/info")
    assert info["lr=0.1/train"]["run_graph"] is True
    graph = server.get("/data/plugin/graphs/graph", run="lr=0.1/train")
    for name in ("input/features", "dense_1/kernel", "dense_1/linear", "dense_1/tanh", "loss/softmax_cross_entropy"):
        assert f'name: "{name}"' in graph
    assert 'op: "Linear"' in graph and 'op: "SoftmaxCrossEntropy"' in graph


def test_text_and_images_are_served(server):
    assert "config/text_summary" in server.get("/data/plugin/text/tags")["lr=0.1"]
    images = server.get("/data/plugin/images/images", run="lr=0.1/train", tag="predictions/decision_boundary")
    assert [i["step"] for i in images] == [0, 1, 2]


def test_hparams_show_one_row_per_run_with_status_and_metrics(server):
    groups = {g["name"]: g for g in server.session_groups()["sessionGroups"]}
    assert set(groups) == set(RUNS)
    for name, group in groups.items():
        assert group["hparams"]["status"] == ("failed" if "failed" in name else "completed")
        assert group["hparams"]["optimizer"] == "adam" and group["hparams"]["hidden"] == "6"
        (session,) = group["sessions"]
        assert session["status"] == ("STATUS_FAILURE" if "failed" in name else "STATUS_SUCCESS")
        metrics = {(m["name"].get("group", ""), m["name"]["tag"]): m for m in group["metricValues"]}
        assert {("train", "epoch_loss"), ("train", "epoch_accuracy"), ("validation", "epoch_loss"),
                ("validation", "epoch_accuracy")} <= set(metrics)
        assert metrics[("validation", "epoch_loss")]["trainingStep"] == (1 if "failed" in name else 2)
    assert groups["lr=0.01"]["hparams"]["learning_rate"] == pytest.approx(0.01)
    experiment = server.post("/data/plugin/hparams/experiment", {"experimentName": ""})
    columns = {h["name"]: h for h in experiment["hparamInfos"]}
    assert {"learning_rate", "optimizer", "activation", "hidden", "status"} <= set(columns)
    assert sorted(columns["status"]["domainDiscrete"]) == ["completed", "failed"]
    metrics = {(m["name"].get("group", ""), m["name"]["tag"]) for m in experiment["metricInfos"]}
    assert ("validation", "epoch_accuracy") in metrics


if __name__ == "__main__":  # pragma: no cover - for looking at the dashboards by hand
    sys.exit(pytest.main([__file__, "-q"]))
