"""The HParams config a sweep writes, as TensorBoard's own server serves it: for one sweep, and for a
logdir holding two (TensorBoard reads only the first config it finds, in no fixed order)."""

import subprocess
import time
import urllib.error

import pytest
from test_tensorboard_server import STATUSES, TENSORBOARD, Server, free_port

from flowlab import Experiment

METRICS = [("validation", "epoch_accuracy"), ("validation", "epoch_loss"), ("train", "epoch_accuracy"),
           ("train", "epoch_loss")]


def sweeps(logdir):
    """A 2x2 grid (lr x activation) and a learning-rate sweep of plain SGD whose largest rate
    diverges in the first epoch, into one logdir."""
    first = Experiment("grid", logdir=logdir, workers=1, dataset="blobs", hidden=[8], epochs=2).sweep(
        learning_rate=[0.001, 0.1], activation=["sigmoid", "relu"])
    second = Experiment("rates", logdir=logdir, workers=1, dataset="blobs", hidden=[8], epochs=2, optimizer="sgd",
                        batch_size=16).sweep(learning_rate=[0.01, 1.0, 1000.0])
    assert [r.status for r in second] == ["completed", "completed", "diverged"]
    assert second[2].metrics["epochs_run"] == 0  # nothing to show but what the logger adds
    return first.sweep_dir, second.sweep_dir


class Served:
    def __init__(self, logdir, tmp_path, rows, fast="auto"):
        port = free_port()
        self.log = open(tmp_path / f"tensorboard-{port}.log", "wb")
        self.process = subprocess.Popen([*TENSORBOARD, "--logdir", str(logdir), "--host", "127.0.0.1", "--port",
                                         str(port), "--reload_interval", "1", f"--load_fast={fast}"],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.server = Server(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while True:
            try:
                if len(self.groups()) == rows:
                    time.sleep(1.5)  # let every run's metrics load too
                    return
            except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                pytest.fail(f"tensorboard did not serve {rows} sessions: " + self.log.name)
            time.sleep(0.5)

    def experiment(self):
        return self.server.post("/data/plugin/hparams/experiment", {"experimentName": ""})

    def groups(self):
        """The rows, asked for as the web UI asks: every discrete value ticked, every status allowed."""
        infos = self.experiment()["hparamInfos"]
        cols = [{"hparam": h["name"], **({"filterDiscrete": h["domainDiscrete"]} if "domainDiscrete" in h else {})}
                for h in infos]
        cols.append({"metric": {"group": "validation", "tag": "epoch_accuracy"}, "order": "ORDER_DESC"})
        return self.server.post("/data/plugin/hparams/session_groups", {
            "experimentName": "", "allowedStatuses": STATUSES, "colParams": cols, "startIndex": 0,
            "sliceSize": 1000})["sessionGroups"]

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("logs")
    return logdir, *sweeps(logdir)


def metrics(group):
    return {(m["name"]["group"], m["name"]["tag"]): m["value"] for m in group["metricValues"]}


def test_one_sweep_opens_on_what_it_varied_and_the_four_metrics(logdir, tmp_path):
    _, grid, rates = logdir
    assert not list(grid.glob('events.out.tfevents.*'))  # no extra TensorBoard run: the runs carry the config
    served = Served(grid, tmp_path, rows=4)
    try:
        experiment = served.experiment()
        columns = [(h["name"], h["type"], h.get("differs", False)) for h in experiment["hparamInfos"]]
        # activation decides the init (He for relu, Glorot for sigmoid): it varies too
        assert columns == [("activation", "DATA_TYPE_STRING", True), ("init", "DATA_TYPE_STRING", True),
                           ("learning_rate", "DATA_TYPE_STRING", True), ("status", "DATA_TYPE_STRING", True)]
        assert [(m["name"]["group"], m["name"]["tag"]) for m in experiment["metricInfos"]] == METRICS
        domains = {h["name"]: h.get("domainDiscrete") for h in experiment["hparamInfos"]}
        assert domains["learning_rate"] is None  # open-ended: no check boxes that could hide a run
        assert {"sigmoid", "relu"} <= set(domains["activation"])
        assert set(domains["status"]) == {"completed", "early_stopped", "diverged", "failed", "interrupted"}
        groups = served.groups()
        assert sorted(g["hparams"]["learning_rate"] for g in groups) == ["0.001", "0.001", "0.1", "0.1"]
        assert all(set(metrics(g)) == set(METRICS) for g in groups)
    finally:
        served.close()


@pytest.mark.parametrize("fast", ["true", "false"])
def test_two_sweeps_in_one_logdir_keep_every_row_typed_and_the_diverged_one(logdir, tmp_path, fast):
    root, _, _ = logdir
    served = Served(root, tmp_path, rows=7, fast=fast)
    try:
        groups = served.groups()
        assert len(groups) == 7
        for name in ("learning_rate", "batch_size", "activation", "epochs"):
            kinds = {type(g["hparams"][name]) for g in groups}
            assert len(kinds) == 1, (name, kinds)  # never "full" or "default" among numbers
        diverged = [g for g in groups if g["hparams"]["status"] == "diverged"]
        assert [g["hparams"]["learning_rate"] for g in diverged] == ["1000"]
        values = metrics(diverged[0])
        assert set(values) == set(METRICS)  # so the parallel-coordinates plot draws it
        assert values[("train", "epoch_loss")] > 1e6  # the explosion
        # The columns are one sweep's (TensorBoard reads one config): the grid's or the rates'.
        names = {h["name"] for h in served.experiment()["hparamInfos"]}
        assert names in ({"activation", "init", "learning_rate", "status"}, {"learning_rate", "status"})
    finally:
        served.close()
