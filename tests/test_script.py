"""flowlab.script: the flags, printing and TensorSlow loop that the experiments/ scripts share."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flowlab import tensorslow as ts
from flowlab.script import (STANDARD_FLAGS, positive_number, print_results, script_parser, train_tensorslow,
                            whole_number)
from tbread import scalars

ROOT = Path(__file__).parent.parent
EXPERIMENTS = ROOT / "experiments"
SCRIPTS = sorted(p.name for p in EXPERIMENTS.glob("*.py"))


def run(argv, cwd, timeout=60):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def test_quick_replaces_epochs_wherever_it_stands():
    parser = script_parser("a sweep", *STANDARD_FLAGS, epochs=20)
    assert parser.parse_args([]).epochs == 20 and parser.parse_args([]).logdir == "tensorboard-logs"
    assert parser.parse_args(["--epochs", "5"]).epochs == 5
    assert parser.parse_args(["--quick", "--epochs", "5"]).epochs == 1
    assert parser.parse_args(["--epochs", "5", "--quick"]).epochs == 1
    assert script_parser("loop", "--epochs", "--quick", epochs=100, quick=2).parse_args(["--quick"]).epochs == 2
    assert parser.parse_args([]).workers is None and parser.parse_args(["--workers", "3"]).workers == 3


def test_a_script_gets_only_the_flags_it_names(capsys):
    parser = script_parser("a loop", "--logdir", "--epochs", epochs=10)
    with pytest.raises(SystemExit):
        parser.parse_args(["--workers", "2"])
    assert "unrecognized arguments: --workers 2" in capsys.readouterr().err
    help_text = parser.format_help()
    assert "epochs per run (default 10)" in help_text and "--quick" not in help_text


def test_unknown_standard_flag_and_missing_default_are_the_script_authors_errors():
    with pytest.raises(ValueError, match=r"unknown flag '--epoch'; choose from --logdir, --epochs, --workers, --quick"):
        script_parser("x", "--epoch")
    with pytest.raises(ValueError, match=r"--epochs needs its default"):
        script_parser("x", "--epochs")


@pytest.mark.parametrize("flag, value", [("--epochs", "0"), ("--epochs", "2.5"), ("--workers", "0"),
                                         ("--workers", "many")])
def test_a_bad_flag_value_is_a_usage_error_naming_it(capsys, flag, value):
    with pytest.raises(SystemExit) as exit_info:
        script_parser("x", *STANDARD_FLAGS, epochs=20).parse_args([flag, value])
    assert exit_info.value.code == 2
    assert f"argument {flag}: must be a whole number >= 1, got {value!r}" in capsys.readouterr().err


def test_flag_types_accept_what_they_say():
    assert whole_number(0)("0") == 0 and whole_number(1)("12") == 12
    assert positive_number("0.5") == 0.5 and positive_number("1e-3") == 1e-3
    for bad in ("0", "-1", "nan", "inf", "x"):
        with pytest.raises(Exception, match="must be a finite number > 0"):
            positive_number(bad)


def test_print_results_prints_the_leaderboard_then_where_to_look(tmp_path, capsys):
    from flowlab import Experiment

    exp = Experiment("tiny", logdir=tmp_path, workers=1, histograms=False, dataset="blobs", hidden=[4], epochs=2)
    results = exp.sweep(learning_rate=[0.1, 0.01])
    assert print_results(results) is results
    out = capsys.readouterr().out
    assert out == results.table() + f"\n\nnext: tensorboard --logdir {results.sweep_dir}\n"
    print_results(results, metric="val_loss", logdir=tmp_path)
    assert capsys.readouterr().out == results.table(metric="val_loss") + f"\n\nnext: tensorboard --logdir {tmp_path}\n"


def test_train_tensorslow_logs_the_loss_the_session_computes_at_every_step(tmp_path, capsys):
    rng = np.random.default_rng(0)
    points = np.concatenate((rng.normal(size=(10, 2)) - 2, rng.normal(size=(10, 2)) + 2))
    ts.Graph().as_default()
    X, c = ts.placeholder(name="X"), ts.placeholder(name="c")
    W, b = ts.Variable(np.zeros((2, 2)), name="W"), ts.Variable(np.zeros(2), name="b")
    p = ts.softmax(ts.add(ts.matmul(X, W), b))
    J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p)), axis=1)))
    step = ts.train.GradientDescentOptimizer(learning_rate=0.01).minimize(J)
    feed = {X: points, c: [[1, 0]] * 10 + [[0, 1]] * 10}
    session = ts.Session()

    accuracy = train_tensorslow(session, J, step, feed, p, c, steps=5, print_every=2, logdir=str(tmp_path))
    # The oracle: the same updates by hand, W <- W - lr * dJ/dW, with J's gradient for softmax cross-entropy.
    w, bias, y = np.zeros((2, 2)), np.zeros(2), np.asarray(feed[c], dtype=float)
    expected = []
    for _ in range(5):
        z = points @ w + bias
        q = np.exp(z - z.max(axis=1, keepdims=True))
        q /= q.sum(axis=1, keepdims=True)
        expected.append(-np.sum(y * np.log(q)))
        w, bias = w - 0.01 * points.T @ (q - y), bias - 0.01 * (q - y).sum(axis=0)
    logged = [value for _, value in scalars(tmp_path / "train", "tensorslow/loss")]
    assert logged == pytest.approx(expected, rel=1e-6)
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in out[:-1]] == ["0", "2", "4"] and out[-1].startswith("Final loss: ")
    z = points @ w + bias
    assert accuracy == np.mean(z.argmax(axis=1) == y.argmax(axis=1))


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_starts_from_any_folder(tmp_path, script):
    proc = run([str(EXPERIMENTS / script), "--help"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: {script}") and "--logdir" in proc.stdout


def test_a_copy_of_a_script_runs_outside_the_repository(tmp_path):
    # What a student does: copy a script next to their homework and change the sweep.
    shutil.copy(EXPERIMENTS / "input_scaling.py", tmp_path / "my_experiment.py")
    proc = run([str(tmp_path / "my_experiment.py"), "--quick", "--workers", "1", "--logdir", "logs"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [sweep] = (tmp_path / "logs").iterdir()
    assert proc.stdout.rstrip().endswith(f"next: tensorboard --logdir {Path('logs') / sweep.name}")


def test_a_bad_flag_stops_a_script_before_it_writes_anything(tmp_path):
    proc = run([str(EXPERIMENTS / "learning_rates.py"), "--epochs", "0", "--logdir", "logs"], cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "learning_rates.py: error: argument --epochs: must be a whole number >= 1, got '0'" in proc.stderr
    assert not (tmp_path / "logs").exists()
