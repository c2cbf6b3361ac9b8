"""No torch at start-up, even where torch is installed: flowlab writes TensorBoard files without tensorboardX.

A ``torch`` package that records its import and then raises stands in for a real torch on sys.path
(importing any part of tensorboardX imports torch when it is installed: a second in every process).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def fake_torch(tmp_path):
    site = tmp_path / "site"
    (site / "torch").mkdir(parents=True)
    marker = tmp_path / "torch-imported"
    (site / "torch" / "__init__.py").write_text(
        "import os, traceback\n"
        f"with open({str(marker)!r}, 'a') as f:\n"
        "    f.write(f'pid {os.getpid()}\\n' + ''.join(traceback.format_stack()))\n"
        "raise ImportError('this test forbids importing torch')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return env, marker


def test_the_fake_torch_is_the_one_python_finds(tmp_path):
    env, marker = fake_torch(tmp_path)
    proc = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True, text=True)
    assert proc.returncode != 0 and "forbids importing torch" in proc.stderr
    assert marker.exists()  # so the tests below would notice an import


def test_sweep_and_its_workers_never_import_torch(tmp_path):
    env, marker = fake_torch(tmp_path)
    logdir = tmp_path / "logs"
    proc = subprocess.run([sys.executable, "-m", "flowlab", "sweep", "--dataset", "blobs", "--hidden", "8",
                           "--epochs", "2", "--lr", "0.01", "0.1", "--workers", "2", "--no-progress",
                           "--logdir", str(logdir)], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists(), marker.read_text()
    [sweep] = [p for p in logdir.iterdir() if p.is_dir()]
    for run in ("lr=0.01", "lr=0.1"):
        assert json.loads((sweep / run / "run.json").read_text())["status"] == "completed"
        # every kind of record was written: scalars, histograms, graph, images (PNG), text, HParams
        assert any((sweep / run / "train").glob("events.out.tfevents.*"))


def test_train_never_imports_torch(tmp_path):
    env, marker = fake_torch(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "flowlab", "train", "--dataset", "moons", "--hidden", "8",
                           "--epochs", "1", "--workers", "1", "--no-progress", "--logdir", str(tmp_path / "logs")],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists(), marker.read_text()
