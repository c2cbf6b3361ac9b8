"""The HW3 scripts in experiments/: each runs its sweep end to end (in --quick mode) and says what to look at."""

import ast
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowlab.optim import OPTIMIZERS

ROOT = Path(__file__).parent.parent
EXPERIMENTS = ROOT / "experiments"

# script -> (sweep name, the run directories it must write)
SCRIPTS = {
    "learning_rates.py": ("learning-rates", [f"lr={v}" for v in ("0.0001", "0.001", "0.01", "0.1", "1", "10")]),
    "activations.py": ("activations", [f"activation={a}" for a in ("sigmoid", "tanh", "relu", "leaky_relu")]),
    "optimizers.py": ("optimizers", [f"optimizer={name}" for name in OPTIMIZERS]),
    "batch_sizes.py": ("batch-sizes", ["batch=full", "batch=1", "batch=32"]),
    "initializers.py": ("initializers", [f"init={i}" for i in ("he_normal", "glorot_uniform", "normal", "zeros")]),
    "schedules.py": ("schedules", ["schedule=constant", "schedule=step_10_0.5", "schedule=exponential_0.9",
                                   "schedule=cosine", "schedule=warmup", "schedule=plateau_3_0.5"]),
    "regularization.py": ("regularization", [f"l2={l2},dropout={d},bn={bn}" for l2 in ("0", "0.001", "0.01")
                                             for d in ("0", "0.5") for bn in ("False", "True")]),
    "input_scaling.py": ("input-scaling", [f"standardize={s},optimizer={o}" for s in (True, False)
                                           for o in ("sgd", "adam")]),
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_runs_its_sweep_and_prints_the_leaderboard(tmp_path, script):
    name, runs = SCRIPTS[script]
    logdir = tmp_path / "logs"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(EXPERIMENTS / script), "--quick", "--workers", "1",
                           "--logdir", str(logdir)], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr

    [sweep_dir] = list(logdir.iterdir())
    assert sweep_dir.name.startswith(f"{name}-")
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and p.name != ".flowlab") == sorted(runs)
    with open(sweep_dir / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(row["name"] for row in rows) == sorted(runs)
    for run in runs:
        record = json.loads((sweep_dir / run / "run.json").read_text())
        assert record["status"] in ("completed", "diverged"), (run, record.get("error"))
        assert record["config"]["epochs"] == 1  # --quick
        assert any((sweep_dir / run / "train").glob("events.out.tfevents.*"))

    out = proc.stdout
    assert "val_acc" in out and "train_loss" in out
    assert all(run in out for run in runs)
    assert f"tensorboard --logdir {sweep_dir}" in out


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_states_question_hypothesis_and_what_to_look_at(script):
    source = (EXPERIMENTS / script).read_text()
    tree = ast.parse(source)
    doc = ast.get_docstring(tree)
    assert doc and doc.startswith("HW3 experiment:")
    for part in ("Question:", "Hypothesis:", "In TensorBoard:"):
        assert part in doc, f"{script}: the docstring has no {part!r} section"
    assert 'if __name__ == "__main__":' in source
    for flag in ("--logdir", "--epochs", "--workers", "--quick"):
        assert f'"{flag}"' in source


def _run_main(script, tmp_path):
    import runpy

    module = runpy.run_path(str(EXPERIMENTS / script), run_name="experiment_under_test")
    results = module["main"](["--workers", "1", "--logdir", str(tmp_path)])
    return {r.name: r for r in results}


def test_schedules_docstring_numbers_hold(tmp_path):
    runs = _run_main("schedules.py", tmp_path)
    assert runs["schedule=constant"]["loss"] > 1e6 and runs["schedule=constant"]["val_accuracy"] < 0.93
    for name in ("schedule=step_10_0.5", "schedule=exponential_0.9", "schedule=cosine", "schedule=plateau_3_0.5"):
        assert runs[name]["loss"] < 0.01 and 0.95 <= runs[name]["val_accuracy"] <= 0.975, name
    assert runs["schedule=warmup"]["loss"] > 1000
    val_losses = {n: r["val_loss"] for n, r in runs.items()}
    assert min(val_losses, key=val_losses.get) == "schedule=exponential_0.9"
    assert max(val_losses, key=val_losses.get) == "schedule=constant"


def test_regularization_docstring_numbers_hold(tmp_path):
    # The runs the docstring's numbers are about; each run depends only on its own config, so these
    # equal the script's full sweep, run by run.
    import runpy

    from flowlab import Experiment

    module = runpy.run_path(str(EXPERIMENTS / "regularization.py"), run_name="experiment_under_test")
    exp = Experiment("regularization", logdir=tmp_path, workers=2, histograms=False, epochs=300,
                     **module["SETTINGS"])
    runs = {r.name: r for r in exp.sweep(l2=[0.0, 0.001, 0.01], dropout=[0.0, 0.5], batchnorm=[False])}
    gap = {n: r["val_loss"] - r["loss"] for n, r in runs.items()}
    plain, l2 = runs["l2=0,dropout=0"], runs["l2=0.001,dropout=0"]
    assert plain["loss"] < 0.002 and plain["accuracy"] == 1.0 and 0.35 < plain["val_loss"] < 0.45
    assert max(gap, key=gap.get) == "l2=0,dropout=0"
    assert all(g < 0.08 for n, g in gap.items() if n != "l2=0,dropout=0")
    assert abs(gap["l2=0.001,dropout=0"]) < 0.01 and l2["val_accuracy"] == pytest.approx(0.987, abs=0.001)
    assert min(runs.values(), key=lambda r: r["val_loss"]) is l2
    assert 0.06 < gap["l2=0,dropout=0.5"] < 0.08
    assert all(r["loss"] > 0.15 for n, r in runs.items() if n.startswith("l2=0.01,"))
    [bn] = Experiment("bn", logdir=tmp_path, workers=1, histograms=False, epochs=300, batchnorm=True,
                      **module["SETTINGS"]).sweep()
    assert 0.03 < bn["val_loss"] - bn["loss"] < 0.05
