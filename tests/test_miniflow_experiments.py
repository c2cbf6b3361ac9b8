"""experiments/miniflow_sgd.py (the lesson's own loop, logged) and miniflow_sweep.py (the same network swept)."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tbread import events

ROOT = Path(__file__).parent.parent
EXPERIMENTS = ROOT / "experiments"


def run(script, logdir, *args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(EXPERIMENTS / script), "--quick", "--logdir", str(logdir), *args],
                          capture_output=True, text=True, env=env, cwd=logdir.parent, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_loop_and_the_sweep_write_comparable_runs_into_one_logdir(tmp_path):
    logdir = tmp_path / "logs"
    loop_out = run("miniflow_sgd.py", logdir)
    assert "Epoch: 1, Loss:" in loop_out
    out = run("miniflow_sweep.py", logdir, "--workers", "1")
    assert "val_mae" in out and "val_acc" not in out

    [loop] = (logdir / "miniflow-sgd").iterdir()
    assert loop.name.startswith("width=10,lr=0.01,batch=11-") and str(loop) in loop_out
    [sweep] = logdir.glob("miniflow-sweep-*")
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir() and p.name != ".flowlab") == sorted(
        f"width={w},lr={lr}" for w in (2, 10, 50) for lr in (0.01, 0.1))
    train = events(loop / "train")
    assert {"weights/W1", "weights/b1", "weights/W2", "weights/b2", "gradients/W1"} <= set(train.Tags()["histograms"])
    assert {"Linear", "Sigmoid", "MSE"} <= {n.op for n in train.Graph().node}
    assert [e.step for e in train.Scalars("epoch_loss")] == [0, 1]
    # The same network, data, batches and initial weights: the loop's curves are the sweep run's.
    same = sweep / "width=10,lr=0.01"
    for part in ("train", "validation"):
        ours, theirs = events(loop / part).Scalars("epoch_loss"), events(same / part).Scalars("epoch_loss")
        assert [e.value for e in ours] == pytest.approx([e.value for e in theirs], rel=1e-6)
    assert "_hparams_/session_start_info" in events(loop).PluginTagToContent("hparams")


@pytest.mark.parametrize("script", ["miniflow_sgd.py", "miniflow_sweep.py"])
def test_script_states_question_hypothesis_and_what_to_look_at(script):
    source = (EXPERIMENTS / script).read_text()
    doc = ast.get_docstring(ast.parse(source))
    assert doc and doc.startswith("HW3 experiment:")
    for part in ("Question:", "Hypothesis:", "In TensorBoard:"):
        assert part in doc
    assert 'if __name__ == "__main__":' in source


def test_running_the_loop_twice_makes_two_runs_each_with_its_own_steps_and_graph(tmp_path):
    logdir = tmp_path / "logs"
    run("miniflow_sgd.py", logdir)
    run("miniflow_sgd.py", logdir)
    runs = sorted((logdir / "miniflow-sgd").iterdir())
    assert len(runs) == 2
    for loop in runs:  # read with TensorBoard's loader: 2 epochs each, one graph, one HParams session
        train = events(loop / "train")
        assert [e.step for e in train.Scalars("epoch_loss")] == [0, 1]
        assert len(list((loop / "train").glob("events.out.tfevents.*"))) == 1
        assert len(list(loop.glob("events.out.tfevents.*"))) == 1
